//! `analyze --push-size` on the demo image (a docker-archive: plain layer tars). Each layer's
//! push size is worked out here independently: the layer tar is taken from the archive with
//! the `tar` crate and gzipped at level 6 with flate2.

use assert_cmd::Command;
use std::io::{Read, Write};
use std::path::PathBuf;

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/image.tar")
}

#[test]
fn push_size_is_each_layer_gzipped_at_level_6() {
    // manifest.json's layer order, and each layer's gzip size at level 6.
    let mut members = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(std::fs::File::open(demo()).unwrap());
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        members.insert(name, data);
    }
    let manifest: serde_json::Value = serde_json::from_slice(&members["manifest.json"]).unwrap();
    let expected: Vec<u64> = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            gz.write_all(&members[l.as_str().unwrap()]).unwrap();
            gz.finish().unwrap().len() as u64
        })
        .collect();

    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .args(["analyze", "--push-size", "--format", "json"])
        .arg(demo())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<u64> = report["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["push_size_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(got, expected);
    assert_eq!(
        report["totals"]["push_size_bytes"].as_u64(),
        Some(expected.iter().sum())
    );

    // Without the flag the figure is absent, and the table says what the stored size is.
    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .args(["analyze", "--format", "json"])
        .arg(demo())
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["totals"].get("push_size_bytes").is_none());
    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .arg("analyze")
        .arg(demo())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("stored as plain tars"), "{text}");
    assert!(
        text.contains("Push        not measured: a push gzips these plain tars (--push-size)"),
        "{text}"
    );
}
