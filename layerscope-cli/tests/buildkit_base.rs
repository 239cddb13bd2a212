//! The base image of a BuildKit build as `analyze` reports it (tests/fixtures/buildkit: the
//! images are built on a three-layer base whose end the history does not mark): with `-f`
//! the layers below the build's first instruction; without it none; a flag always wins.

use assert_cmd::Command;
use std::path::PathBuf;

fn fixture(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/buildkit")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

/// `(base_layers, source, user_size_bytes)` of `layerscope analyze --format json ARGS`.
fn base(args: &[&str]) -> (u64, String, u64) {
    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .arg("analyze")
        .arg(fixture("single-stage/image.docker.tar"))
        .args(["--format", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let b = &v["base"];
    (
        b["base_layers"].as_u64().unwrap(),
        b["source"].as_str().unwrap().to_string(),
        b["user_size_bytes"].as_u64().unwrap(),
    )
}

#[test]
fn analyze_takes_the_base_from_the_dockerfile() {
    let dockerfile = fixture("single-stage/Dockerfile");
    // Layers 3-5 are WORKDIR (0 bytes), COPY . . (847) and the install (131,142): see
    // tests/buildkit_fixtures.rs for the files.
    assert_eq!(
        base(&["-f", &dockerfile]),
        (3, "dockerfile".into(), 847 + 131_142)
    );
    assert_eq!(base(&[]).0, 0);
    assert_eq!(base(&[]).1, "none");
    assert_eq!(
        base(&["-f", &dockerfile, "--base-layers", "1"]),
        (1, "flag".into(), 7 + 34 + 847 + 131_142)
    );
    let base_image = fixture("base/image.docker.tar");
    assert_eq!(
        base(&["-f", &dockerfile, "--base", &base_image]),
        (3, "flag".into(), 847 + 131_142)
    );
}
