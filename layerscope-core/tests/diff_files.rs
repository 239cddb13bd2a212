//! `diff`'s per-file changes on in-memory images, each expected change written out by hand.

use layerscope_core::testkit::{ImageBuilder, LayerBuilder, Layout};
use layerscope_core::{Analysis, AnalysisOptions, Image, ImageDiff};

fn analysis(dir: &std::path::Path, name: &str, img: &ImageBuilder) -> Analysis {
    let p = dir.join(name);
    std::fs::write(&p, img.archive(Layout::DockerClassic)).unwrap();
    Analysis::run(&Image::open(&p).unwrap(), &AnalysisOptions::default()).unwrap()
}

/// Each kind of change to a path between A and B, and the paths only one side has.
#[test]
fn per_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let a = ImageBuilder::new().layer(
        LayerBuilder::new()
            .file("same", b"1")
            .file("content", b"abc")
            .file_meta("mode", b"m", 0o644, 0, 0, 1)
            .file_meta("owner", b"o", 0o644, 0, 0, 1)
            .file_meta("mtime", b"t", 0o644, 0, 0, 1)
            .file("type", b"was a file")
            .file("gone", b"12345"),
    );
    let b = ImageBuilder::new().layer(
        LayerBuilder::new()
            .file("same", b"1")
            .file("content", b"abcd")
            .file_meta("mode", b"m", 0o755, 0, 0, 1)
            .file_meta("owner", b"o", 0o644, 1000, 1000, 1)
            .file_meta("mtime", b"t", 0o644, 0, 0, 2)
            .symlink("type", "same")
            .file("new", b"1234567"),
    );
    let d = ImageDiff::compute(
        &analysis(dir.path(), "a.tar", &a),
        &analysis(dir.path(), "b.tar", &b),
    );
    let list = |l: &[layerscope_core::FileDelta]| -> Vec<(String, i64, Vec<String>)> {
        l.iter()
            .map(|f| (f.path.clone(), f.delta_bytes, f.what.clone()))
            .collect()
    };
    assert_eq!(list(&d.files.added), [("new".into(), 7, vec![])]);
    assert_eq!(list(&d.files.removed), [("gone".into(), -5, vec![])]);
    // mtime alone is not a change (image-spec: content, type, mode, owner and link target
    // are what a consumer sees).
    assert_eq!(
        list(&d.files.changed),
        [
            ("content".into(), 1, vec!["content".into()]),
            ("mode".into(), 0, vec!["mode".into()]),
            ("owner".into(), 0, vec!["owner".into()]),
            // A file (0644) became a symlink (0777 in the test kit): type and mode.
            ("type".into(), -10, vec!["type".into(), "mode".into()]),
        ]
    );
    assert_eq!(d.shared_layers, 0);
}

/// A symlink whose target changed is a changed path (`link`), with both targets; one whose
/// target stayed is not, even when a layer below held another target.
#[test]
fn symlink_target_change() {
    let dir = tempfile::tempdir().unwrap();
    let a = ImageBuilder::new().layer(
        LayerBuilder::new()
            .symlink("link", "target-a")
            .symlink("kept", "t"),
    );
    let b = ImageBuilder::new()
        .layer(
            LayerBuilder::new()
                .symlink("link", "target-a")
                .symlink("kept", "old"),
        )
        // The last entry for a path wins within a layer, and the upper layer over the lower.
        .layer(
            LayerBuilder::new()
                .symlink("link", "target-x")
                .symlink("link", "target-b")
                .symlink("kept", "t"),
        );
    let d = ImageDiff::compute(
        &analysis(dir.path(), "a.tar", &a),
        &analysis(dir.path(), "b.tar", &b),
    );
    let changed: Vec<(&str, &[String])> = d
        .files
        .changed
        .iter()
        .map(|f| (f.path.as_str(), f.what.as_slice()))
        .collect();
    assert_eq!(changed, [("link", &["link".to_string()][..])]);
    let f = &d.files.changed[0];
    assert_eq!(f.a_link_target.as_deref(), Some("target-a"));
    assert_eq!(f.b_link_target.as_deref(), Some("target-b"));
    assert!(d.files.added.is_empty() && d.files.removed.is_empty());
    let json = serde_json::to_value(f).unwrap();
    assert_eq!(json["a_link_target"], "target-a");
    assert_eq!(json["b_link_target"], "target-b");
}
