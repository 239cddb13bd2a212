//! `layerscope fleet` as users run it: the JSON contract, --from with errors naming the line,
//! the cache across runs, every output format, exit codes. Figures are explained in
//! tests/fleet.rs (worked out from tests/fixtures/fleet/images/listing.txt).

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fleet/images")
        .join(name)
}

const IMAGES: [&str; 4] = ["app1.tar", "app2.oci.tar", "app3.tar", "app4.tar"];

fn layerscope() -> Command {
    let mut c = Command::cargo_bin("layerscope").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn json(args: &[&str], cache: &std::path::Path) -> serde_json::Value {
    let out = layerscope()
        .arg("fleet")
        .args(IMAGES.iter().map(|n| image(n)))
        .args(["--format", "json", "--cache"])
        .arg(cache)
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn json_has_the_documented_fields_and_a_warm_second_run() {
    let cache = tempfile::tempdir().unwrap();
    let v = json(&[], cache.path());
    assert_eq!(v["schema_version"], 1);
    let img = &v["images"][0];
    for key in [
        "reference",
        "size_bytes",
        "compressed_size_bytes",
        "layers",
        "unique_size_bytes",
    ] {
        assert!(img.get(key).is_some(), "images[].{key} missing: {img}");
    }
    assert_eq!(img["layers"].as_array().unwrap().len(), 2);
    assert_eq!(img["unique_size_bytes"], 18000);
    let layer = &v["layers"][0];
    for key in ["diff_id", "size_bytes", "compressed_size_bytes", "images"] {
        assert!(layer.get(key).is_some(), "layers[].{key} missing: {layer}");
    }
    assert_eq!(layer["images"], serde_json::json!([0, 1]));
    let t = &v["totals"];
    assert_eq!(t["images"], 4);
    assert_eq!(t["layers"], 8);
    assert_eq!(t["unique_layers"], 7);
    assert_eq!(t["size_bytes"], 278_536);
    assert_eq!(t["unique_size_bytes"], 228_527);
    assert_eq!(t["unique_compressed_size_bytes"], 254_891);
    assert_eq!(t["cross_layer_duplicate_bytes"], 126_000);
    assert_eq!(v["read"]["layers_read"], 7);

    let warm = json(&[], cache.path());
    assert_eq!(warm["read"]["layers_read"], 0);
    assert_eq!(warm["read"]["cache_hits"], 7);
    assert_eq!(warm["totals"], v["totals"]);
    assert_eq!(warm["common_base"], v["common_base"]);
}

#[test]
fn from_file_with_comments_equals_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("images.txt");
    let mut text = String::from("# the fleet\n\n");
    for n in &IMAGES[1..] {
        text.push_str(&format!("{}\n", image(n).display()));
    }
    std::fs::write(&list, text).unwrap();
    let out = layerscope()
        .arg("fleet")
        .arg(image(IMAGES[0]))
        .arg("--from")
        .arg(&list)
        .args(["--no-cache", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["totals"]["images"], 4);
    assert_eq!(v["totals"]["unique_size_bytes"], 228_527);

    // A bad line is named by file and line, exit 2, nothing on standard output.
    std::fs::write(&list, "# comment\n/nonexistent/image.tar\n").unwrap();
    layerscope()
        .arg("fleet")
        .arg("--from")
        .arg(&list)
        .arg("--no-cache")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(format!("{}:2", list.display())))
        .stderr(predicate::str::contains("layerscope: error:"));
}

#[test]
fn usage_errors_exit_2_before_reading_images() {
    layerscope()
        .args(["fleet", "--no-cache"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no images"));
    layerscope()
        .arg("fleet")
        .arg(image("app1.tar"))
        .args(["--no-cache", "--min-images", "3"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--min-images 3"));
    layerscope()
        .arg("fleet")
        .arg(image("app1.tar"))
        .args(["--no-cache", "--cache", "/tmp/x"])
        .assert()
        .code(2);
    // Merging summaries that are not there: an error naming the missing summary.
    let empty = tempfile::tempdir().unwrap();
    layerscope()
        .arg("fleet")
        .arg(image("app1.tar"))
        .arg("--summaries")
        .arg(empty.path())
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("summary of layer 0"));
}

#[test]
fn summaries_from_workers_merge_to_the_same_report() {
    // Two workers, each with half the images and its own cache; the merge reads no layer.
    let (w1, w2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (dir, names) in [(&w1, &IMAGES[..2]), (&w2, &IMAGES[2..])] {
        layerscope()
            .arg("fleet")
            .args(names.iter().map(|n| image(n)))
            .arg("--cache")
            .arg(dir.path())
            .args(["--format", "json", "--output", "/dev/null"])
            .assert()
            .success();
    }
    let merged = tempfile::tempdir().unwrap();
    for w in [&w1, &w2] {
        for e in std::fs::read_dir(
            w.path()
                .join(format!("v{}/sha256", layerscope_core::SUMMARY_VERSION)),
        )
        .unwrap()
        {
            let e = e.unwrap();
            std::fs::copy(e.path(), merged.path().join(e.file_name())).unwrap();
        }
    }
    let out = layerscope()
        .arg("fleet")
        .args(IMAGES.iter().map(|n| image(n)))
        .arg("--summaries")
        .arg(merged.path())
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["read"]["layers_read"], 0);
    assert_eq!(v["totals"]["cross_layer_duplicate_bytes"], 126_000);
    assert_eq!(v["totals"]["unique_size_bytes"], 228_527);
}

#[test]
fn table_markdown_and_html() {
    let cache = tempfile::tempdir().unwrap();
    let run = |format: &str| {
        let out = layerscope()
            .arg("fleet")
            .args(IMAGES.iter().map(|n| image(n)))
            .arg("--cache")
            .arg(cache.path())
            .args(["--format", format])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    let table = run("table");
    assert!(table.contains("228,527 bytes"), "{table}");
    assert!(
        table.contains("drift: families 0 and 1 start from the same base"),
        "{table}"
    );
    assert!(table.contains("lib/libc.so"), "{table}");
    let md = run("markdown");
    assert!(md.starts_with("## layerscope fleet"), "{md}");
    assert!(
        md.contains("| `lib/libc.so` |") || md.contains("`lib/libc.so` |"),
        "{md}"
    );
    let html = run("html");
    assert!(html.starts_with("<!DOCTYPE html>") || html.starts_with("<!doctype html>"));
    assert!(html.contains("\"command\":\"fleet\""));
    assert!(html.contains("common-base"));
}

/// tests/fixtures/fleet/multi: a two-platform index built by buildah (rebuild.sh), one COPY
/// layer common to both platforms and one per architecture. From multi/listing.txt:
/// common fb3aad67 (etc/app.conf 3000 bytes, 3225 as gzip), amd64 33921ebb (usr/bin/app
/// 6000, 6245 gzip), arm64 b3a4006f (usr/bin/app 5000, 5244 gzip).
#[test]
fn every_platform_of_an_index() {
    let multi = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fleet/multi/multi.oci.tar");
    let check = |v: &serde_json::Value| {
        let p = &v["platforms"];
        assert_eq!(p.as_array().unwrap().len(), 2, "{v}");
        assert_eq!(p[0]["platform"], "linux/amd64");
        assert_eq!(p[0]["size_bytes"], 9000);
        assert_eq!(p[0]["compressed_size_bytes"], 3225 + 6245);
        assert_eq!(
            (p[0]["own_layers"].clone(), p[0]["own_size_bytes"].clone()),
            (1.into(), 6000.into())
        );
        assert_eq!(p[0]["shared_layers"], 1);
        assert_eq!(p[1]["platform"], "linux/arm64");
        assert_eq!(p[1]["size_bytes"], 8000);
        assert_eq!(p[1]["own_size_bytes"], 5000);
        assert_eq!(v["totals"]["unique_size_bytes"], 14000);
        assert_eq!(
            v["totals"]["unique_compressed_size_bytes"],
            3225 + 6245 + 5244
        );
        assert_eq!(v["layers"][0]["images"], serde_json::json!([0, 1]));
    };
    for cmd in [
        vec!["analyze", "--platform", "all", "--format", "json"],
        vec![
            "fleet",
            "--platform",
            "all",
            "--no-cache",
            "--format",
            "json",
        ],
    ] {
        let out = layerscope()
            .args(&cmd[..1])
            .arg(&multi)
            .args(&cmd[1..])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        check(&serde_json::from_slice(&out).unwrap());
    }
    // One platform by name still works, and an unknown one is an error naming what exists.
    layerscope()
        .arg("fleet")
        .arg(&multi)
        .args(["--platform", "linux/s390x", "--no-cache"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("linux/amd64, linux/arm64"));
}

/// What differs between the platforms of tests/fixtures/fleet/platforms/platforms.oci.tar
/// (figures worked out from its listing.txt in tests/fleet.rs,
/// platform_differences_match_the_listing), in every output format of `fleet` and `analyze`.
#[test]
fn what_differs_between_platforms_in_every_format() {
    let index = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/fleet/platforms/platforms.oci.tar");
    let run = |cmd: &str, format: &str| -> String {
        let mut c = layerscope();
        c.arg(cmd).arg(&index).args(["--platform", "all"]);
        if cmd == "fleet" {
            c.arg("--no-cache");
        }
        let out = c
            .args(["--format", format])
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap()
    };
    for cmd in ["analyze", "fleet"] {
        let v: serde_json::Value = serde_json::from_str(&run(cmd, "json")).unwrap();
        let d = &v["platform_differences"][0];
        assert_eq!(
            [&d["paths"], &d["identical_paths"], &d["partial_paths"]],
            [9, 4, 3]
        );
        assert_eq!(d["differing_paths"], 2);
        assert_eq!(d["platforms"][0]["partial_bytes"], 5000);
        assert_eq!(d["platforms"][1]["differing_bytes"], 5006);
        let first = &d["differences"][0];
        assert_eq!(first["path"], "usr/bin/app");
        assert_eq!(first["entries"][0]["size_bytes"], 6000);
        assert_eq!(d["differences"][1]["entries"][1], serde_json::Value::Null);

        let table = run(cmd, "table");
        assert!(
            table.contains("9 paths: 4 identical, 3 missing from a platform, 2 differ"),
            "{table}"
        );
        assert!(table.contains("usr/share/doc/arm.txt"), "{table}");
    }
    // Markdown is a fleet format (`analyze` has none).
    let md = run("fleet", "markdown");
    assert!(
        md.contains("### What differs between the platforms of"),
        "{md}"
    );
    assert!(
        md.contains("| `etc/app.conf` | missing | 3.0 kB | - |"),
        "{md}"
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("p.html");
    layerscope()
        .arg("fleet")
        .arg(&index)
        .args([
            "--platform",
            "all",
            "--no-cache",
            "--format",
            "html",
            "--output",
        ])
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("platform-paths-0"), "no differences section");
    assert!(html.contains("usr/lib/libfast.so"));
}
