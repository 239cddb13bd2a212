//! One small synthetic image per layer rule, with the figures worked out by hand.

use layerscope_core::testkit::{ImageBuilder, LayerBuilder, Layout, waste_rows};
use layerscope_core::{Analysis, AnalysisOptions, Image, Report, WasteKind};

fn report(layers: Vec<LayerBuilder>) -> Report {
    let mut b = ImageBuilder::new();
    for l in layers {
        b = b.layer(l);
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("i.tar");
    std::fs::write(&p, b.archive(Layout::DockerClassic)).unwrap();
    Analysis::run(&Image::open(&p).unwrap(), &AnalysisOptions::default())
        .unwrap()
        .report()
}

const K: usize = 1000;

#[test]
fn overwrite() {
    // 100 bytes replaced by 40 different bytes: 100 wasted; efficiency 40/140.
    let r = report(vec![
        LayerBuilder::new().file("a", &[1; 100]),
        LayerBuilder::new().file("a", &[2; 40]),
    ]);
    assert_eq!(
        (
            r.totals.size_bytes,
            r.totals.final_size_bytes,
            r.totals.wasted_bytes
        ),
        (140, 40, 100)
    );
    assert_eq!(
        waste_rows(&r),
        vec![("a", 100, WasteKind::Overwritten, 0, 1)]
    );
    assert!((r.totals.efficiency - 40.0 / 140.0).abs() < 1e-12);
    assert_eq!(
        (r.layers[0].wasted_bytes_introduced, r.layers[1].hides_bytes),
        (100, 100)
    );
}

#[test]
fn chmod_readd() {
    // chmod +x re-ships the same 400 bytes: 1 hidden copy (400), not 800 as dive counts.
    let r = report(vec![
        LayerBuilder::new().file("bin/tool", &[7; 400]),
        LayerBuilder::new().file_meta("bin/tool", &[7; 400], 0o755, 0, 0, 1_700_000_000),
    ]);
    assert_eq!(r.totals.wasted_bytes, 400);
    assert_eq!(
        waste_rows(&r),
        vec![("bin/tool", 400, WasteKind::MetadataCopyUp, 0, 1)]
    );
    assert_eq!(
        (r.layers[1].files_modified, r.layers[1].files_metadata_only),
        (1, 1)
    );
}

#[test]
fn file_whiteout() {
    let r = report(vec![
        LayerBuilder::new().file("a", &[1; K]).file("b", &[2; 10]),
        LayerBuilder::new().whiteout("a"),
    ]);
    assert_eq!((r.totals.wasted_bytes, r.totals.final_files), (K as u64, 1));
    assert_eq!(
        waste_rows(&r),
        vec![("a", K as u64, WasteKind::Deleted, 0, 1)]
    );
    assert_eq!(r.layers[1].files_deleted, 1);
}

#[test]
fn directory_whiteout() {
    // One `.wh.d` deletes d and everything below it: 3 files, 600 bytes (dive counts 0).
    let r = report(vec![
        LayerBuilder::new()
            .dir("d")
            .file("d/x", &[1; 100])
            .file("d/sub/y", &[2; 200])
            .file("d/sub/z", &[3; 300]),
        LayerBuilder::new().whiteout("d"),
    ]);
    assert_eq!(r.totals.wasted_bytes, 600);
    assert_eq!(r.layers[1].files_deleted, 3);
    assert!(
        r.waste
            .iter()
            .all(|w| w.kind == WasteKind::Deleted && w.hidden_by_layer == 1)
    );
    assert_eq!(r.totals.final_files, 0);
}

#[test]
fn opaque_directory() {
    // Opaque `etc/app`: lower children hidden (30 bytes), the layer's own child kept.
    let r = report(vec![
        LayerBuilder::new()
            .file("etc/app/old1", &[1; 10])
            .file("etc/app/old2", &[2; 20])
            .file("etc/keep", b"k"),
        LayerBuilder::new()
            .file("etc/app/new", &[3; 5])
            .opaque("etc/app"),
    ]);
    assert_eq!(r.totals.wasted_bytes, 30);
    assert_eq!(
        r.totals.waste_by_kind.get(&WasteKind::HiddenByOpaque),
        Some(&30)
    );
    assert_eq!(r.totals.final_files, 2);
    assert_eq!((r.layers[1].files_added, r.layers[1].files_deleted), (1, 2));
}

#[test]
fn whiteout_of_missing_path_then_overwrite_in_same_layer() {
    // dive aborts the layer's accounting at the whiteout of a missing path; the overwrite
    // after it still counts here: 50 bytes hidden.
    let r = report(vec![
        LayerBuilder::new().file("x", &[1; 50]),
        LayerBuilder::new().whiteout("ghost").file("x", &[2; 60]),
    ]);
    assert_eq!(
        waste_rows(&r),
        vec![("x", 50, WasteKind::Overwritten, 0, 1)]
    );
    assert_eq!(r.totals.final_size_bytes, 60);
}

#[test]
fn duplicates() {
    // Three visible copies of the same 300 bytes at different paths: 600 duplicate bytes,
    // no waste (all visible). A hardlink to one of them is the same inode, not a copy.
    let r = report(vec![
        LayerBuilder::new()
            .file("a", &[9; 300])
            .file("b", &[9; 300])
            .hardlink("a2", "a"),
        LayerBuilder::new().file("c", &[9; 300]),
    ]);
    assert_eq!((r.totals.wasted_bytes, r.totals.duplicate_bytes), (0, 600));
    assert_eq!(r.duplicates.len(), 1);
    assert_eq!(r.duplicates[0].paths, vec!["a", "a2", "b", "c"]);
    assert_eq!(r.totals.final_size_bytes, 900);
}

#[test]
fn hardlink_to_lower_layer_file() {
    // Hardlink in layer 1 to layer 0's file: 0 bytes of its own; the file stays visible
    // through the link after the original path is deleted in layer 2: no waste.
    let r = report(vec![
        LayerBuilder::new().file("lib/a.so", &[5; 700]),
        LayerBuilder::new().hardlink("lib/b.so", "lib/a.so"),
        LayerBuilder::new().whiteout("lib/a.so"),
    ]);
    assert_eq!(
        r.layers.iter().map(|l| l.size_bytes).collect::<Vec<_>>(),
        vec![700, 0, 0]
    );
    assert_eq!(
        (
            r.totals.final_size_bytes,
            r.totals.wasted_bytes,
            r.totals.final_files
        ),
        (700, 0, 1)
    );
}

#[test]
fn path_listed_twice_in_one_layer() {
    // The last entry wins; the first copy (80 bytes) is waste hidden by its own layer.
    let r = report(vec![
        LayerBuilder::new().file("f", &[1; 80]).file("f", &[2; 20]),
    ]);
    assert_eq!(r.layers[0].size_bytes, 100);
    assert_eq!((r.totals.final_size_bytes, r.totals.wasted_bytes), (20, 80));
    assert_eq!(
        waste_rows(&r),
        vec![("f", 80, WasteKind::Overwritten, 0, 0)]
    );
    assert_eq!(r.layers[0].files_added, 1);
}

#[test]
fn empty_image_has_efficiency_one_and_null_user_ratio() {
    let r = report(vec![LayerBuilder::new().dir("empty")]);
    assert_eq!(r.totals.efficiency, 1.0);
    assert_eq!(r.base.user_wasted_ratio, None);
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("NaN"));
}
