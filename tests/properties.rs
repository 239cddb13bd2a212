//! Properties of the core over generated images (proptest): the accounting invariants, the
//! same report from every layout and compression, and the merged view and waste list against
//! a reference model of OCI image-spec layer.md ("Changesets", "Whiteouts", "Opaque
//! Whiteout") written here, independently of `tree.rs`.
//!
//! The model keeps the filesystem as a map from path to (kind, content, layer). For each
//! layer, whiteouts and opaque markers first remove paths of the layers below (wherever they
//! sit in the tar); then the layer's entries apply in order: a directory over a directory
//! changes nothing the model tracks, anything else replaces the path and its subtree. Every
//! regular file that leaves the view is one hidden copy, of kind `deleted` (whiteout),
//! `hidden-by-opaque`, `metadata-copy-up` (replaced by a file with the same bytes) or
//! `overwritten` (anything else).

use layerscope::testkit::{Blob, ImageBuilder, LayerBuilder, Layout};
use layerscope::{Analysis, AnalysisOptions, EntryKind, Image, Report, WasteKind};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// The paths the generator draws from: a small tree, so that layers collide often.
const PATHS: &[&str] = &["a", "b", "a/x", "a/y", "a/c", "a/c/x", "b/x", "b/c/y"];

#[derive(Debug, Clone)]
enum Op {
    /// A regular file: content is `len` bytes of `seed` (few seeds: equal content is common).
    File {
        path: usize,
        seed: u8,
        len: usize,
    },
    Dir {
        path: usize,
    },
    Symlink {
        path: usize,
    },
    Whiteout {
        path: usize,
    },
    Opaque {
        dir: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PATHS.len();
    prop_oneof![
        4 => (p.clone(), 0u8..3, 1usize..40).prop_map(|(path, seed, len)| Op::File { path, seed, len }),
        1 => p.clone().prop_map(|path| Op::Dir { path }),
        1 => p.clone().prop_map(|path| Op::Symlink { path }),
        2 => p.clone().prop_map(|path| Op::Whiteout { path }),
        1 => p.prop_map(|dir| Op::Opaque { dir }),
    ]
}

fn image_ops() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 0..6), 1..5)
}

fn ancestors(path: &str) -> Vec<&str> {
    path.match_indices('/').map(|(i, _)| &path[..i]).collect()
}

fn content(seed: u8, len: usize) -> Vec<u8> {
    vec![b'a' + seed; len]
}

/// One layer tar: every entry is preceded by directory entries for its ancestors, so no
/// parent is ever implicit.
fn layer_of(ops: &[Op]) -> LayerBuilder {
    let mut l = LayerBuilder::new();
    for op in ops {
        let p = op_path(op);
        for a in ancestors(p) {
            l = l.dir(a);
        }
        l = match op {
            Op::File { seed, len, .. } => l.file(p, &content(*seed, *len)),
            Op::Dir { .. } => l.dir(p),
            Op::Symlink { .. } => l.symlink(p, "target"),
            Op::Whiteout { .. } => l.whiteout(p),
            Op::Opaque { .. } => l.dir(p).opaque(p),
        };
    }
    l
}

fn op_path(op: &Op) -> &'static str {
    match op {
        Op::File { path, .. } | Op::Dir { path } | Op::Symlink { path } | Op::Whiteout { path } => {
            PATHS[*path]
        }
        Op::Opaque { dir } => PATHS[*dir],
    }
}

fn build(layers: &[Vec<Op>], blob: Option<Blob>) -> ImageBuilder {
    layers
        .iter()
        .fold(ImageBuilder::new(), |img, ops| match blob {
            Some(b) => img.layer_as(layer_of(ops), b),
            None => img.layer(layer_of(ops)),
        })
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Dir,
    Symlink,
    File(Vec<u8>),
}

#[derive(Debug, Default)]
struct Model {
    /// path -> (node, layer that added it)
    view: BTreeMap<String, (Node, usize)>,
    /// (path, bytes, added_by, hidden_by, kind)
    hidden: Vec<(String, u64, usize, usize, WasteKind)>,
}

fn under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

impl Model {
    fn hide(&mut self, path: &str, by: usize, kind: WasteKind) {
        if let Some((node, added)) = self.view.remove(path)
            && let Node::File(c) = node
        {
            self.hidden
                .push((path.to_string(), c.len() as u64, added, by, kind));
        }
    }
    fn hide_subtree(&mut self, root: &str, with_root: bool, by: usize, kind: WasteKind) {
        let paths: Vec<String> = self
            .view
            .keys()
            .filter(|p| under(p, root) || (with_root && p.as_str() == root))
            .cloned()
            .collect();
        for p in paths {
            self.hide(&p, by, kind);
        }
    }
    /// Put `node` at `path` from layer `i`, replacing what is there.
    fn put(&mut self, path: &str, node: Node, i: usize) {
        if let Some((old, _)) = self.view.get(path) {
            if *old == Node::Dir && node == Node::Dir {
                return; // attributes only
            }
            let kind = match (old, &node) {
                (Node::File(a), Node::File(b)) if a == b => WasteKind::MetadataCopyUp,
                _ => WasteKind::Overwritten,
            };
            self.hide_subtree(path, false, i, WasteKind::Overwritten);
            self.hide(path, i, kind);
        }
        self.view.insert(path.to_string(), (node, i));
    }
    fn apply(layers: &[Vec<Op>]) -> Model {
        let mut m = Model::default();
        for (i, ops) in layers.iter().enumerate() {
            // Whiteouts and opaque markers: the layers below only.
            for op in ops {
                match op {
                    Op::Whiteout { path } => {
                        m.hide_subtree(PATHS[*path], true, i, WasteKind::Deleted)
                    }
                    Op::Opaque { dir } => {
                        m.hide_subtree(PATHS[*dir], false, i, WasteKind::HiddenByOpaque)
                    }
                    _ => {}
                }
            }
            for op in ops {
                let p = op_path(op);
                for a in ancestors(p) {
                    m.put(a, Node::Dir, i);
                }
                match op {
                    Op::File { seed, len, .. } => m.put(p, Node::File(content(*seed, *len)), i),
                    Op::Dir { .. } | Op::Opaque { .. } => m.put(p, Node::Dir, i),
                    Op::Symlink { .. } => m.put(p, Node::Symlink, i),
                    Op::Whiteout { .. } => {}
                }
            }
        }
        m
    }
}

fn analyze(path: &Path) -> Analysis {
    let image = Image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Analysis::run(&image, &AnalysisOptions::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_invariants(r: &Report) -> Result<(), TestCaseError> {
    let t = &r.totals;
    prop_assert_eq!(r.waste.iter().map(|w| w.bytes).sum::<u64>(), t.wasted_bytes);
    let mut by_kind: BTreeMap<WasteKind, u64> = BTreeMap::new();
    for w in &r.waste {
        *by_kind.entry(w.kind).or_default() += w.bytes;
        prop_assert!(w.added_by_layer <= w.hidden_by_layer, "{:?}", w);
    }
    by_kind.retain(|_, v| *v > 0);
    let mut reported = t.waste_by_kind.clone();
    reported.retain(|_, v| *v > 0);
    prop_assert_eq!(by_kind, reported);
    prop_assert_eq!(
        r.layers
            .iter()
            .map(|l| l.wasted_bytes_introduced)
            .sum::<u64>(),
        t.wasted_bytes
    );
    prop_assert_eq!(
        r.layers.iter().map(|l| l.hides_bytes).sum::<u64>(),
        t.wasted_bytes
    );
    prop_assert_eq!(
        r.layers.iter().map(|l| l.size_bytes).sum::<u64>(),
        t.size_bytes
    );
    prop_assert_eq!(t.final_size_bytes + t.wasted_bytes, t.size_bytes);
    Ok(())
}

/// The parts of a report that do not depend on how the image is stored.
fn storage_independent(r: &Report) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v["image"] = serde_json::Value::Null;
    v["totals"]["compressed_size_bytes"] = serde_json::Value::Null;
    v["warnings"] = serde_json::Value::Null;
    for l in v["layers"].as_array_mut().unwrap() {
        for k in [
            "digest",
            "media_type",
            "compression",
            "compressed_size_bytes",
        ] {
            l[k] = serde_json::Value::Null;
        }
    }
    v
}

proptest! {
    // Failures are printed with their minimal input; nothing is written next to the tests.
    #![proptest_config(ProptestConfig {
        cases: 128,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The final view and every hidden copy match the reference model, and the report keeps
    /// its accounting invariants.
    #[test]
    fn merge_matches_the_reference_model(layers in image_ops()) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("image.tar");
        std::fs::write(&p, build(&layers, None).archive(Layout::DockerClassic)).unwrap();
        let a = analyze(&p);
        let model = Model::apply(&layers);

        let got: BTreeMap<String, (EntryKind, u64)> = a
            .final_files()
            .into_iter()
            .map(|f| (f.path, (f.kind, f.size_bytes)))
            .collect();
        let want: BTreeMap<String, (EntryKind, u64)> = model
            .view
            .iter()
            .filter_map(|(p, (n, _))| {
                let k = match n {
                    Node::Dir => return None, // final_files lists non-directories
                    Node::Symlink => (EntryKind::Symlink, 0),
                    Node::File(c) => (EntryKind::File, c.len() as u64),
                };
                Some((p.clone(), k))
            })
            .collect();
        prop_assert_eq!(&got, &want);

        let r = a.report();
        check_invariants(&r)?;
        let mut got_hidden: Vec<(String, u64, usize, usize, WasteKind)> = r
            .waste
            .iter()
            .map(|w| (w.path.clone(), w.bytes, w.added_by_layer, w.hidden_by_layer, w.kind))
            .collect();
        let mut want_hidden = model.hidden.clone();
        got_hidden.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        want_hidden.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
        prop_assert_eq!(got_hidden, want_hidden);
        let visible: u64 = want.values().map(|(_, s)| s).sum();
        prop_assert_eq!(r.totals.final_size_bytes, visible);
        prop_assert_eq!(
            r.totals.final_files,
            want.len() as u64
        );
    }

    /// docker save (classic and Docker 25+), podman's docker-archive, oci-archive with gzip
    /// or zstd layers, an OCI layout directory and a gzip-compressed docker save give the
    /// same report, apart from how the blobs are stored.
    #[test]
    fn every_layout_gives_the_same_report(layers in image_ops()) {
        let img = build(&layers, None);
        let dir = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for (name, layout) in [
            ("classic.tar", Layout::DockerClassic),
            ("podman.tar", Layout::Podman),
            ("docker25.tar", Layout::Docker25),
            ("oci-gzip.tar", Layout::OciArchive),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, img.archive(layout)).unwrap();
            paths.push(p);
        }
        let oci_dir = dir.path().join("oci-dir");
        img.write_dir(Layout::OciArchive, &oci_dir);
        paths.push(oci_dir);
        let zstd = build(&layers, Some(Blob::Zstd));
        let p = dir.path().join("oci-zstd.tar");
        std::fs::write(&p, zstd.archive(Layout::OciArchive)).unwrap();
        paths.push(p);
        let p = dir.path().join("classic.tar.gz");
        std::fs::write(&p, layerscope::testkit::gzip_bytes(&img.archive(Layout::DockerClassic))).unwrap();
        paths.push(p);

        let reports: Vec<Report> = paths.iter().map(|p| analyze(p).report()).collect();
        let first = storage_independent(&reports[0]);
        for (p, r) in paths.iter().zip(&reports).skip(1) {
            prop_assert_eq!(&storage_independent(r), &first, "{}", p.display());
            check_invariants(r)?;
        }
        // What is stored, byte for byte: each layer's compressed size is the length of the
        // blob the test kit wrote (plain tar, gzip or zstd), never a recomputation.
        let tars: Vec<u64> = layers.iter().map(|o| layer_of(o).tar().len() as u64).collect();
        let gz: Vec<u64> = layers.iter().map(|o| layer_of(o).gzip().len() as u64).collect();
        let zs: Vec<u64> = layers.iter().map(|o| layer_of(o).zstd().len() as u64).collect();
        for (p, r) in paths.iter().zip(&reports) {
            let name = p.file_name().unwrap().to_str().unwrap();
            let want = match name {
                "oci-gzip.tar" | "oci-dir" => &gz,
                "oci-zstd.tar" => &zs,
                _ => &tars,
            };
            let got: Vec<u64> = r.layers.iter().map(|l| l.compressed_size_bytes).collect();
            prop_assert_eq!(&got, want, "{}", name);
            let tar_sizes: Vec<u64> = r.layers.iter().map(|l| l.tar_size_bytes).collect();
            prop_assert_eq!(&tar_sizes, &tars, "{}", name);
            prop_assert_eq!(r.totals.compressed_size_bytes, want.iter().sum::<u64>(), "{}", name);
        }
    }
}
