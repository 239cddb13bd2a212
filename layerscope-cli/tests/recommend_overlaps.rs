//! Overlapping and alternative savings as every output shows them, on the real node-bad
//! fixture (tests/fixtures/real/node-bad, built by tests/fixtures/rebuild.sh): its RUN on
//! line 5 leaves npm's cache in layer 2 (root/.npm/_cacache/left-pad-1.3.0.tgz, 524,288
//! bytes per `tar tvf`), which cleanup-in-same-layer and use-cache-mount both remove, as
//! alternatives; split-dependency-copy saves bytes rebuilt per change, not image bytes. So
//! the fixes together remove 524,288 bytes from the image, while the rows add up to
//! 748,823 + 2 x 524,288.

use assert_cmd::Command;
use serde_json::{Value, json};
use std::path::PathBuf;

fn node_bad() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/real/node-bad")
}

fn run(args: &[&str]) -> String {
    let d = node_bad();
    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .current_dir(&d)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn marks(f: &Value) -> Value {
    f["overlaps"].clone()
}

#[test]
fn recommend_json_gives_the_total_and_the_alternatives() {
    let v: Value = serde_json::from_str(&run(&[
        "recommend",
        "image.docker.tar",
        "-f",
        "Dockerfile",
        "--context",
        "context",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(v["total_bytes_saved"], 524_288);
    let recs = v["recommendations"].as_array().unwrap();
    let by = |code: &str| recs.iter().find(|f| f["code"] == code).unwrap();
    let alt = |code: &str| json!([{"code": code, "line": 5, "layer": 2, "relation": "alternative", "shared_bytes": 524_288}]);
    assert_eq!(marks(by("cleanup-in-same-layer")), alt("use-cache-mount"));
    assert_eq!(marks(by("use-cache-mount")), alt("cleanup-in-same-layer"));
    for code in [
        "split-dependency-copy",
        "run-as-root",
        "unpinned-base-image",
    ] {
        assert_eq!(marks(by(code)), json!([]), "{code}");
    }
    let sum: u64 = recs
        .iter()
        .map(|f| f["bytes_saved"].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 748_823 + 2 * 524_288);
}

#[test]
fn tables_markdown_and_analyze_json_say_so() {
    let table = run(&[
        "recommend",
        "image.docker.tar",
        "-f",
        "Dockerfile",
        "--context",
        "context",
    ]);
    assert!(
        table.contains("alternative to use-cache-mount (line 5): the same 524.3 kB"),
        "{table}"
    );
    assert!(
        table.contains("alternative to cleanup-in-same-layer (line 5): the same 524.3 kB"),
        "{table}"
    );
    assert!(
        table.contains(
            "All fixes together remove 524.3 kB from the image, each byte counted once (the rows add up to 1.0 MB: some findings overlap or are alternatives). Savings per change (rebuilt bytes) are not part of it."
        ),
        "{table}"
    );

    let analyze = run(&["analyze", "image.docker.tar", "-f", "Dockerfile"]);
    assert!(
        analyze.contains("All fixes together remove 524.3 kB from the image"),
        "{analyze}"
    );
    let report: Value = serde_json::from_str(&run(&[
        "analyze",
        "image.docker.tar",
        "-f",
        "Dockerfile",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(report["total_bytes_saved"], 524_288);

    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    run(&[
        "analyze",
        "image.docker.tar",
        "-f",
        "Dockerfile",
        "--format",
        "html",
        "--output",
        page.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("\"recommendations_total_bytes\":524288"));
    assert!(html.contains("alternative to use-cache-mount (line 5): the same 524.3 kB"));

    let config = dir.path().join("gate.toml");
    std::fs::write(
        &config,
        "[recommendations]\ncleanup-in-same-layer = \"warn\"\n",
    )
    .unwrap();
    let md = run(&[
        "check",
        "image.docker.tar",
        "--dockerfile",
        "Dockerfile",
        "--config",
        config.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    assert!(
        md.contains("| ⚠️ warn | `cleanup-in-same-layer` | 5 | 524.3 kB | layer 2 keeps the npm cache in /root/.npm/ (524.3 kB)<br>alternative to use-cache-mount (line 5): the same 524.3 kB |"),
        "{md}"
    );
}
