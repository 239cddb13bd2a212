//! Real images built by buildah (tests/fixtures/real, each next to its Dockerfile; rebuilt by
//! tests/fixtures/rebuild.sh), with figures worked out by hand from `tar tvf` of each layer.

use layerscope::testkit::waste_rows;
use layerscope::{Analysis, AnalysisOptions, Image, Report, WasteKind};
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn report(rel: &str) -> Report {
    let image = Image::open(fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    Analysis::run(&image, &AnalysisOptions::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
        .report()
}

/// overwrite-opaque, layer by layer (sizes from `tar tvf`):
/// 0 busybox rootfs: 271 non-directories, 1,982,365 bytes.
/// 1 RUN mkdir...: big.bin 1,048,576 + blob.bin 524,288 + old1.conf 2 + old2.conf 2 +
///   config.txt 3 + empty hostname/hosts/resolv.conf = 1,572,871 bytes, 8 files added.
/// 2 RUN echo v2 > config.txt: 22 bytes, 1 modified; hides the 3-byte copy (overwritten).
/// 3 RUN rm -rf conf.d && mkdir: opaque marker hides old1+old2 (4 bytes), adds new.conf (4).
/// 4 RUN rm blob.bin: `.wh.blob.bin` deletes 524,288 bytes.
/// 5 RUN dd ... big.bin: the same 1 MiB of zeros again: metadata copy-up of 1,048,576 bytes.
/// 6 COPY conf.d/: a.conf + b.conf = 4 bytes, 2 added.
/// Waste = 3 + 4 + 524,288 + 1,048,576 = 1,572,871 bytes; all of it shipped by layer 1.
fn check_overwrite_opaque(r: &Report) {
    let sizes: Vec<u64> = r.layers.iter().map(|l| l.size_bytes).collect();
    assert_eq!(sizes, vec![1_982_365, 1_572_871, 22, 4, 0, 1_048_576, 4]);
    let counts: Vec<(u64, u64, u64)> = r
        .layers
        .iter()
        .map(|l| (l.files_added, l.files_modified, l.files_deleted))
        .collect();
    assert_eq!(
        counts,
        vec![
            (271, 0, 0),
            (8, 0, 0),
            (0, 1, 0),
            (1, 0, 2),
            (0, 0, 1),
            (0, 1, 0),
            (2, 0, 0)
        ]
    );
    assert_eq!(r.layers[5].files_metadata_only, 1);
    let t = &r.totals;
    assert_eq!(t.size_bytes, 4_603_842);
    assert_eq!(t.final_size_bytes, 3_030_971);
    assert_eq!(t.wasted_bytes, 1_572_871);
    assert_eq!(t.final_files, 279);
    assert_eq!(
        t.waste_by_kind.get(&WasteKind::MetadataCopyUp),
        Some(&1_048_576)
    );
    assert_eq!(t.waste_by_kind.get(&WasteKind::Deleted), Some(&524_288));
    assert_eq!(t.waste_by_kind.get(&WasteKind::Overwritten), Some(&3));
    assert_eq!(t.waste_by_kind.get(&WasteKind::HiddenByOpaque), Some(&4));
    let introduced: Vec<u64> = r.layers.iter().map(|l| l.wasted_bytes_introduced).collect();
    assert_eq!(introduced, vec![0, 1_572_871, 0, 0, 0, 0, 0]);
    let hides: Vec<u64> = r.layers.iter().map(|l| l.hides_bytes).collect();
    assert_eq!(hides, vec![0, 0, 3, 4, 524_288, 1_048_576, 0]);
    assert_eq!(
        waste_rows(r),
        vec![
            ("data/big.bin", 1_048_576, WasteKind::MetadataCopyUp, 1, 5),
            ("data/blob.bin", 524_288, WasteKind::Deleted, 1, 4),
            ("etc/app/config.txt", 3, WasteKind::Overwritten, 1, 2),
            (
                "etc/app/conf.d/old1.conf",
                2,
                WasteKind::HiddenByOpaque,
                1,
                3
            ),
            (
                "etc/app/conf.d/old2.conf",
                2,
                WasteKind::HiddenByOpaque,
                1,
                3
            ),
        ]
    );
    // buildah's `FROM localhost/busybox-base:latest` comment marks the first own step.
    assert_eq!(r.base.base_layers, 1);
    assert_eq!(r.base.user_size_bytes, 4_603_842 - 1_982_365);
    assert_eq!(r.base.user_wasted_bytes, 1_572_871);
    assert!(r.history.regular);
    assert_eq!(
        r.layers[4].created_by.as_deref(),
        Some("/bin/sh -c rm /data/blob.bin")
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn overwrite_opaque_docker_archive() {
    let r = report("real/overwrite-opaque/image.docker.tar");
    check_overwrite_opaque(&r);
    assert_eq!(
        r.image.reference.as_deref(),
        Some("localhost/overwrite-opaque:latest")
    );
    // docker-archive layers are stored uncompressed: blob digest == diff_id.
    assert!(r.layers.iter().all(|l| l.digest == l.diff_id));
}

#[test]
fn overwrite_opaque_every_format_gives_the_same_figures() {
    for f in [
        "image.oci-gzip.tar",
        "image.oci-zstd.tar",
        "image.oci-layout",
    ] {
        let r = report(&format!("real/overwrite-opaque/{f}"));
        check_overwrite_opaque(&r);
        assert!(
            r.layers.iter().all(|l| l.digest != l.diff_id),
            "{f}: compressed blobs"
        );
    }
}

#[test]
fn overwrite_opaque_final_tree_lists_surviving_files() {
    let image = Image::open(fixture("real/overwrite-opaque/image.docker.tar")).unwrap();
    let a = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let files: Vec<String> = a
        .final_files()
        .into_iter()
        .filter(|f| f.path.starts_with("etc/app") || f.path.starts_with("data"))
        .map(|f| f.path)
        .collect();
    assert_eq!(
        files,
        vec![
            "data/big.bin",
            "etc/app/conf.d/a.conf",
            "etc/app/conf.d/b.conf",
            "etc/app/conf.d/new.conf",
            "etc/app/config.txt"
        ]
    );
}

#[test]
fn node_images() {
    // node-bad: base + COPY . . (8 files) + RUN install. The fake installer's greedy `sed`
    // sees only the last dependency of package.json's one-line map (left-pad): it writes
    // node_modules/left-pad/{package.json, lib/index.js (8 * 64 KiB)} and copies index.js to
    // /root/.npm/_cacache/left-pad-1.3.0.tgz: a duplicate (visible twice), not waste.
    let r = report("real/node-bad/image.docker.tar");
    assert_eq!(r.layers.len(), 3);
    assert_eq!(r.totals.wasted_bytes, 0);
    assert_eq!(r.totals.duplicate_bytes, 8 * 64 * 1024);
    assert_eq!(r.duplicates.len(), 1);
    assert_eq!(
        r.duplicates[0].paths,
        vec![
            "root/.npm/_cacache/left-pad-1.3.0.tgz",
            "usr/src/app/node_modules/left-pad/lib/index.js"
        ]
    );
    // node-good removes /root/.npm in the same RUN: no duplicates. Its final `COPY . .`
    // ships package.json (144 bytes) and tools/fake-npm-install.sh (585) again, unchanged:
    // 729 bytes of metadata copy-up (the price of copying manifests first).
    let g = report("real/node-good/image.docker.tar");
    assert_eq!(g.layers.len(), 5);
    assert_eq!(g.totals.duplicate_bytes, 0);
    assert_eq!(g.totals.wasted_bytes, 729);
    let w: Vec<(&str, u64, usize, usize)> = g
        .waste
        .iter()
        .map(|w| {
            (
                w.path.as_str(),
                w.bytes,
                w.added_by_layer,
                w.hidden_by_layer,
            )
        })
        .collect();
    assert_eq!(
        w,
        vec![
            ("usr/src/app/tools/fake-npm-install.sh", 585, 2, 4),
            ("usr/src/app/package.json", 144, 1, 4)
        ]
    );
    assert!(g.waste.iter().all(|w| w.kind == WasteKind::MetadataCopyUp));
    // Squashed: every history entry but the last is empty_layer; 2 layers, regular.
    let s = report("real/node-bad-squashed/image.docker.tar");
    assert_eq!(s.layers.len(), 2);
    assert!(s.history.regular);
    assert_eq!(s.totals.final_size_bytes, r.totals.final_size_bytes);
}

#[test]
fn nonroot_image_metadata() {
    let r = report("real/nonroot/image.docker.tar");
    assert_eq!(r.image.user, "app:app");
    assert_eq!(r.image.exposed_ports, vec!["8080/tcp", "9090/udp"]);
    assert_eq!(r.layers.len(), 5);
}

#[test]
fn dive_test_images_open_in_every_format() {
    for f in [
        "test-docker-image.tar",
        "test-kaniko-image.tar",
        "test-oci-uncompressed-image.tar",
        "test-oci-gzip-image.tar",
        "test-oci-zstd-image.tar",
        "test-oci-estargz-image.tar",
    ] {
        let r = report(&format!("dive/{f}"));
        assert!(!r.layers.is_empty(), "{f}");
        assert_accounting(&r, f);
    }
}

/// The accounting invariants that do not hold by definition: every hidden copy is listed
/// once (the waste items sum to `wasted_bytes`, per kind to `waste_by_kind`), each hidden
/// byte is introduced by one layer and hidden by one layer (both per-layer sums equal the
/// total), the layers' sizes sum to the image's, and a layer never hides bytes of a layer
/// above it.
fn assert_accounting(r: &Report, name: &str) {
    let t = &r.totals;
    assert_eq!(
        r.waste.iter().map(|w| w.bytes).sum::<u64>(),
        t.wasted_bytes,
        "{name}: waste items"
    );
    let mut by_kind = std::collections::BTreeMap::new();
    for w in &r.waste {
        *by_kind.entry(w.kind).or_insert(0u64) += w.bytes;
        assert!(
            w.added_by_layer <= w.hidden_by_layer,
            "{name}: {} hidden below the layer that added it",
            w.path
        );
    }
    by_kind.retain(|_, v| *v > 0);
    let mut reported = t.waste_by_kind.clone();
    reported.retain(|_, v| *v > 0);
    assert_eq!(by_kind, reported, "{name}: waste_by_kind");
    let introduced: u64 = r.layers.iter().map(|l| l.wasted_bytes_introduced).sum();
    let hidden: u64 = r.layers.iter().map(|l| l.hides_bytes).sum();
    assert_eq!(introduced, t.wasted_bytes, "{name}: bytes introduced");
    assert_eq!(hidden, t.wasted_bytes, "{name}: bytes hidden");
    assert_eq!(
        r.layers.iter().map(|l| l.size_bytes).sum::<u64>(),
        t.size_bytes,
        "{name}: layer sizes"
    );
    assert_eq!(
        r.layers
            .iter()
            .map(|l| l.compressed_size_bytes)
            .sum::<u64>(),
        t.compressed_size_bytes,
        "{name}: compressed sizes"
    );
}

#[test]
fn real_images_keep_the_accounting_invariants() {
    for f in [
        "real/busybox-base/image.docker.tar",
        "real/overwrite-opaque/image.docker.tar",
        "real/overwrite-opaque/image.oci-zstd.tar",
        "real/node-bad/image.docker.tar",
        "real/node-good/image.docker.tar",
        "real/node-bad-squashed/image.docker.tar",
        "real/nonroot/image.docker.tar",
    ] {
        assert_accounting(&report(f), f);
    }
}

/// Blob sizes as stored, exactly, for every compression: the sizes are those `tar tvf` of
/// each archive lists for the layer blobs, in the order of the manifest's `layers` (buildah
/// push --compression-format gzip / zstd of the same image); the uncompressed tar lengths are
/// the same in every format (`tar tvf image.docker.tar`, and `gzip -dc BLOB | wc -c`).
#[test]
fn compressed_blob_sizes_exactly() {
    let tar_sizes = vec![2_128_384, 1_583_616, 3_584, 4_608, 2_560, 1_051_136, 4_608];
    let cases: [(&str, Vec<u64>, &str); 4] = [
        (
            "real/overwrite-opaque/image.docker.tar",
            tar_sizes.clone(),
            "application/vnd.docker.image.rootfs.diff.tar",
        ),
        (
            "real/overwrite-opaque/image.oci-gzip.tar",
            vec![1_087_760, 527_560, 192, 229, 152, 1_315, 199],
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        (
            "real/overwrite-opaque/image.oci-layout",
            vec![1_087_760, 527_560, 192, 229, 152, 1_315, 199],
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
        (
            "real/overwrite-opaque/image.oci-zstd.tar",
            vec![1_092_793, 526_358, 187, 228, 149, 276, 193],
            "application/vnd.oci.image.layer.v1.tar+zstd",
        ),
    ];
    for (f, compressed, media_type) in cases {
        let r = report(f);
        let got: Vec<u64> = r.layers.iter().map(|l| l.compressed_size_bytes).collect();
        assert_eq!(got, compressed, "{f}: compressed sizes");
        assert_eq!(
            r.totals.compressed_size_bytes,
            compressed.iter().sum::<u64>(),
            "{f}"
        );
        let tars: Vec<u64> = r.layers.iter().map(|l| l.tar_size_bytes).collect();
        assert_eq!(tars, tar_sizes, "{f}: tar sizes");
        assert!(
            r.layers.iter().all(|l| l.media_type == media_type),
            "{f}: {:?}",
            r.layers.iter().map(|l| &l.media_type).collect::<Vec<_>>()
        );
    }
    // dive's one-layer OCI images: 4,132 (gzip), 4,314 (zstd), 4,496 (estargz: gzip with a
    // table of contents), 12,800 (plain tar) bytes per `tar tvf`.
    for (f, size) in [
        ("dive/test-oci-gzip-image.tar", 4_132),
        ("dive/test-oci-zstd-image.tar", 4_314),
        ("dive/test-oci-estargz-image.tar", 4_496),
        ("dive/test-oci-uncompressed-image.tar", 12_800),
    ] {
        let r = report(f);
        assert_eq!(r.layers.len(), 1, "{f}");
        assert_eq!(r.layers[0].compressed_size_bytes, size, "{f}");
        assert_eq!(r.totals.compressed_size_bytes, size, "{f}");
    }
}
