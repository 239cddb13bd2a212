//! Every supported layout, built in memory by the test kit, gives the same figures.

use layerscope_core::testkit::{Blob, ImageBuilder, LayerBuilder, Layout, gzip_bytes};
use layerscope_core::{Analysis, AnalysisOptions, Error, Image, OpenOptions, Report};
use std::path::Path;

fn sample() -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            LayerBuilder::new()
                .dir("etc")
                .file("etc/a", b"aaaa")
                .file("etc/b", b"bb")
                .hardlink("etc/c", "etc/a"),
        )
        .layer(
            LayerBuilder::new()
                .whiteout("etc/b")
                .file("etc/a", b"AAAAAA")
                .symlink("s", "etc/a"),
        )
}

fn analyze_path(p: &Path) -> Report {
    let image = Image::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Analysis::run(&image, &AnalysisOptions::default())
        .unwrap()
        .report()
}

fn check(r: &Report) {
    // Layer 0: a (4) + b (2) + hardlink c (0) = 6 bytes. Layer 1: new a (6).
    assert_eq!(
        r.layers.iter().map(|l| l.size_bytes).collect::<Vec<_>>(),
        vec![6, 6]
    );
    // Old `a` stays visible through hardlink `c`; only `b` is waste.
    assert_eq!(r.totals.final_size_bytes, 10);
    assert_eq!(r.totals.wasted_bytes, 2);
    assert_eq!(r.totals.final_files, 3); // etc/a, etc/c, s
    assert_eq!(
        (
            r.layers[1].files_added,
            r.layers[1].files_modified,
            r.layers[1].files_deleted
        ),
        (1, 1, 1)
    );
}

#[test]
fn every_layout_as_archive() {
    let dir = tempfile::tempdir().unwrap();
    for layout in [
        Layout::DockerClassic,
        Layout::Podman,
        Layout::Docker25,
        Layout::OciArchive,
    ] {
        let p = dir.path().join(format!("{layout:?}.tar"));
        std::fs::write(&p, sample().archive(layout)).unwrap();
        check(&analyze_path(&p));
        // `docker save | gzip`
        let gz = dir.path().join(format!("{layout:?}.tar.gz"));
        std::fs::write(&gz, gzip_bytes(&sample().archive(layout))).unwrap();
        check(&analyze_path(&gz));
    }
}

#[test]
fn every_layout_as_directory() {
    for layout in [
        Layout::DockerClassic,
        Layout::Podman,
        Layout::Docker25,
        Layout::OciArchive,
    ] {
        let dir = tempfile::tempdir().unwrap();
        sample().write_dir(layout, dir.path());
        check(&analyze_path(dir.path()));
    }
}

#[test]
fn mixed_layer_compressions_are_sniffed() {
    let img = ImageBuilder::new()
        .layer_as(LayerBuilder::new().file("a", b"1"), Blob::Zstd)
        .layer_as(LayerBuilder::new().file("b", b"22"), Blob::Tar)
        .layer_as(LayerBuilder::new().file("c", b"333"), Blob::Gzip);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("oci.tar");
    std::fs::write(&p, img.archive(Layout::OciArchive)).unwrap();
    let r = analyze_path(&p);
    let c: Vec<_> = r
        .layers
        .iter()
        .map(|l| serde_json::to_string(&l.compression).unwrap())
        .collect();
    assert_eq!(c, vec!["\"zstd\"", "\"none\"", "\"gzip\""]);
    assert_eq!(r.totals.final_size_bytes, 6);
}

/// Rewrite `index.json` of an OCI layout directory.
fn with_index(dir: &Path, f: impl FnOnce(serde_json::Value) -> serde_json::Value) {
    let p = dir.join("index.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    std::fs::write(p, serde_json::to_vec(&f(v)).unwrap()).unwrap();
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    use sha2::Digest;
    let hex: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
    format!("sha256:{hex}")
}

fn multi_platform(dir: &Path, platforms: &[(&str, &str)], nested: bool) {
    sample().write_dir(Layout::OciArchive, dir);
    with_index(dir, |mut v| {
        let m = v["manifests"][0].clone();
        let mut list = Vec::new();
        for (os, arch) in platforms {
            let mut d = m.clone();
            d["platform"] = serde_json::json!({"os": os, "architecture": arch});
            list.push(d);
        }
        // A BuildKit attestation manifest: must be skipped.
        let mut att = m.clone();
        att["platform"] = serde_json::json!({"os": "unknown", "architecture": "unknown"});
        att["annotations"] =
            serde_json::json!({"vnd.docker.reference.type": "attestation-manifest"});
        list.push(att);
        if nested {
            let inner = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list})).unwrap();
            let digest = put_blob(dir, &inner);
            v["manifests"] = serde_json::json!([{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": digest, "size": inner.len()}]);
        } else {
            v["manifests"] = serde_json::Value::Array(list);
        }
        v
    });
}

#[test]
fn platform_selection() {
    for nested in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        multi_platform(
            dir.path(),
            &[("linux", "arm64"), ("linux", "amd64")],
            nested,
        );
        // Default: linux/amd64 when present.
        let img = Image::open(dir.path()).unwrap();
        assert_eq!(img.layers().len(), 2);
        // Asking for arm64 finds the manifest; its config says amd64 (one config serves all
        // entries here), which is reported as a mismatch rather than silently accepted.
        let err = Image::open_with(dir.path(), &OpenOptions::default().platform("linux/arm64"))
            .unwrap_err();
        assert!(matches!(err, Error::Platform { .. }), "{err}");
        let err = Image::open_with(
            dir.path(),
            &OpenOptions::default().platform("windows/amd64"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("linux/amd64") && msg.contains("linux/arm64") && !msg.contains("unknown"),
            "{msg}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    multi_platform(dir.path(), &[("linux", "arm64"), ("linux", "s390x")], false);
    let err = Image::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::PlatformNotChosen { available, .. }
            if available.contains("linux/arm64") && available.contains("linux/s390x")),
        "{err}"
    );
    assert!(Image::open_with(dir.path(), &OpenOptions::default().platform("linux")).is_err());
}

#[test]
fn absent_non_distributable_layer_is_reported_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    sample().write_dir(Layout::OciArchive, dir.path());
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mpath = dir.path().join("blobs/sha256").join(&mdigest[7..]);
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&mpath).unwrap()).unwrap();
    let layer0 = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    manifest["layers"][0]["mediaType"] =
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip".into();
    std::fs::remove_file(dir.path().join("blobs/sha256").join(&layer0[7..])).unwrap();
    let bytes = serde_json::to_vec(&manifest).unwrap();
    let nd = put_blob(dir.path(), &bytes);
    with_index(dir.path(), |mut v| {
        v["manifests"][0]["digest"] = nd.clone().into();
        v["manifests"][0]["size"] = bytes.len().into();
        v
    });
    let r = analyze_path(dir.path());
    assert!(!r.layers[0].available);
    assert!(
        r.warnings.iter().any(|w| w.contains("non-distributable")),
        "{:?}",
        r.warnings
    );
    assert_eq!(r.layers[1].size_bytes, 6);
}
