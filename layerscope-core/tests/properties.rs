//! Properties of the core over generated images (proptest): the accounting invariants, the
//! same report from every layout and compression, and the merged view and waste list against
//! a reference model of OCI image-spec layer.md ("Changesets", "Whiteouts", "Opaque
//! Whiteout") written here, independently of `tree.rs`.
//!
//! The model keeps the filesystem as a map from path to (kind, content, layer), the content
//! of regular files shared by hardlinks (same-layer links, as tar writes them). For each
//! layer, whiteouts and opaque markers first remove paths of the layers below (wherever they
//! sit in the tar); then the layer's entries apply in order: a directory over a directory
//! changes nothing the model tracks, anything else replaces the path and its subtree. A
//! file's content that no path shows any more is one hidden copy, of kind `deleted`
//! (whiteout), `hidden-by-opaque`, `metadata-copy-up` (replaced by a file with the same
//! bytes) or `overwritten` (anything else); with hardlinks it is listed under one of the
//! names it lost in the layer that hid it (which one is the implementation's choice).

use layerscope_core::testkit::{Blob, ImageBuilder, LayerBuilder, Layout};
use layerscope_core::{
    Analysis, AnalysisOptions, ContentSha256, EntryKind, Image, Report, ReportOptions, WasteKind,
};
use proptest::prelude::*;
use sha2::Digest as _;
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
    /// A hardlink to a regular file written earlier in the same layer (tar hardlinks name
    /// an entry of their own archive); the plan drops it when there is none.
    Hardlink {
        path: usize,
        target: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let p = 0..PATHS.len();
    prop_oneof![
        4 => (p.clone(), 0u8..3, 1usize..40).prop_map(|(path, seed, len)| Op::File { path, seed, len }),
        1 => p.clone().prop_map(|path| Op::Dir { path }),
        1 => p.clone().prop_map(|path| Op::Symlink { path }),
        2 => p.clone().prop_map(|path| Op::Whiteout { path }),
        1 => p.clone().prop_map(|dir| Op::Opaque { dir }),
        2 => (p.clone(), p).prop_map(|(path, target)| Op::Hardlink { path, target }),
    ]
}

fn image_ops() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 0..6), 1..5).prop_map(plan)
}

/// Keep a hardlink only where its target is, at that point of the layer, a regular file this
/// layer wrote, and neither path lies under the other.
fn plan(layers: Vec<Vec<Op>>) -> Vec<Vec<Op>> {
    let mut kept: Vec<Vec<Op>> = Vec::new();
    for ops in layers {
        let mut layer = Vec::new();
        for op in ops {
            if let Op::Hardlink { path, target } = op {
                let (p, t) = (PATHS[path], PATHS[target]);
                let mut trial = kept.clone();
                trial.push(layer.clone());
                let m = Model::apply(&trial);
                let i = trial.len() - 1;
                let ok = p != t
                    && !under(p, t)
                    && !under(t, p)
                    && matches!(m.view.get(t), Some((Node::File { .. }, l)) if *l == i);
                if !ok {
                    continue;
                }
            }
            layer.push(op);
        }
        kept.push(layer);
    }
    kept
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
            Op::Hardlink { target, .. } => l.hardlink(p, PATHS[*target]),
        };
    }
    l
}

fn op_path(op: &Op) -> &'static str {
    match op {
        Op::File { path, .. }
        | Op::Dir { path }
        | Op::Symlink { path }
        | Op::Whiteout { path }
        | Op::Hardlink { path, .. } => PATHS[*path],
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
    /// A regular file's content (an index into `Model::inodes`), reached through a file
    /// entry or, with `link`, through a hardlink entry.
    File {
        inode: usize,
        link: bool,
    },
}

#[derive(Debug, Default, Clone)]
struct Model {
    /// path -> (node, layer that wrote the entry)
    view: BTreeMap<String, (Node, usize)>,
    /// (content, layer that shipped it)
    inodes: Vec<(Vec<u8>, usize)>,
    /// (names, bytes, added_by, hidden_by, kind): the copy may be listed under any of the
    /// names its content lost in the layer that hid it (one name unless hardlinked).
    hidden: Vec<(Vec<String>, u64, usize, usize, WasteKind)>,
    /// (inode, name, layer) of every name a file's content lost.
    removed: Vec<(usize, String, usize)>,
}

fn under(path: &str, dir: &str) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

impl Model {
    /// Remove `path`; its content is a hidden copy unless another path still shows it
    /// (README "What the numbers mean": content still visible through another hardlink is
    /// not waste).
    fn hide(&mut self, path: &str, by: usize, kind: WasteKind) {
        if let Some((Node::File { inode, .. }, _)) = self.view.remove(path) {
            self.lost(inode, path, by, kind);
        }
    }
    /// `inode` lost the name `path` in layer `by`: a hidden copy when no name is left.
    fn lost(&mut self, inode: usize, path: &str, by: usize, kind: WasteKind) {
        self.removed.push((inode, path.to_string(), by));
        let still_visible = self
            .view
            .values()
            .any(|(n, _)| matches!(n, Node::File { inode: j, .. } if *j == inode));
        if !still_visible {
            let names = self
                .removed
                .iter()
                .filter(|(j, _, l)| *j == inode && *l == by)
                .map(|(_, p, _)| p.clone())
                .collect();
            let (content, added) = &self.inodes[inode];
            self.hidden
                .push((names, content.len() as u64, *added, by, kind));
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
    fn content_of(&self, n: &Node) -> Option<&[u8]> {
        match n {
            Node::File { inode, .. } => Some(&self.inodes[*inode].0),
            _ => None,
        }
    }
    /// Put `node` at `path` from layer `i`, replacing what is there.
    fn put(&mut self, path: &str, node: Node, i: usize) {
        if let Some((old, _)) = self.view.get(path) {
            if *old == Node::Dir && node == Node::Dir {
                return; // attributes only
            }
            let kind = match (self.content_of(old), self.content_of(&node)) {
                (Some(a), Some(b)) if a == b => WasteKind::MetadataCopyUp,
                _ => WasteKind::Overwritten,
            };
            self.hide_subtree(path, false, i, WasteKind::Overwritten);
            // The new entry is in place before the old one goes, so that a hardlink over
            // its own target's other name keeps the content visible.
            let old = self.view.insert(path.to_string(), (node, i));
            if let Some((Node::File { inode, .. }, _)) = old {
                self.lost(inode, path, i, kind);
            }
            return;
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
                    Op::File { seed, len, .. } => {
                        m.inodes.push((content(*seed, *len), i));
                        let inode = m.inodes.len() - 1;
                        m.put(p, Node::File { inode, link: false }, i)
                    }
                    Op::Dir { .. } | Op::Opaque { .. } => m.put(p, Node::Dir, i),
                    Op::Symlink { .. } => m.put(p, Node::Symlink, i),
                    Op::Hardlink { target, .. } => {
                        if let Some((Node::File { inode, .. }, _)) = m.view.get(PATHS[*target]) {
                            let inode = *inode;
                            m.put(p, Node::File { inode, link: true }, i)
                        }
                    }
                    Op::Whiteout { .. } => {}
                }
            }
        }
        m
    }
}

/// Whether the reported items and the model's pair up one to one (same bytes, layers and
/// kind, the reported path one of the model's names): a bipartite matching by augmenting
/// paths (Kuhn's algorithm).
fn one_to_one(
    got: &[(String, u64, usize, usize, WasteKind)],
    want: &[(Vec<String>, u64, usize, usize, WasteKind)],
) -> bool {
    fn fits(
        g: &(String, u64, usize, usize, WasteKind),
        w: &(Vec<String>, u64, usize, usize, WasteKind),
    ) -> bool {
        (g.1, g.2, g.3, g.4) == (w.1, w.2, w.3, w.4) && w.0.contains(&g.0)
    }
    fn augment(
        gi: usize,
        got: &[(String, u64, usize, usize, WasteKind)],
        want: &[(Vec<String>, u64, usize, usize, WasteKind)],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for wi in 0..want.len() {
            if !seen[wi] && fits(&got[gi], &want[wi]) {
                seen[wi] = true;
                if owner[wi].is_none_or(|o| augment(o, got, want, seen, owner)) {
                    owner[wi] = Some(gi);
                    return true;
                }
            }
        }
        false
    }
    if got.len() != want.len() {
        return false;
    }
    let mut owner = vec![None; want.len()];
    (0..got.len()).all(|gi| augment(gi, got, want, &mut vec![false; want.len()], &mut owner))
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
                    // A hardlink's record carries its tar entry's size (0); its content is
                    // counted once, at the inode (final_size_bytes below).
                    Node::File { link: true, .. } => (EntryKind::Hardlink, 0),
                    Node::File { inode, .. } => {
                        (EntryKind::File, model.inodes[*inode].0.len() as u64)
                    }
                };
                Some((p.clone(), k))
            })
            .collect();
        prop_assert_eq!(&got, &want);

        let r = a.report();
        check_invariants(&r)?;
        let got_hidden: Vec<(String, u64, usize, usize, WasteKind)> = r
            .waste
            .iter()
            .map(|w| (w.path.clone(), w.bytes, w.added_by_layer, w.hidden_by_layer, w.kind))
            .collect();
        prop_assert!(
            one_to_one(&got_hidden, &model.hidden),
            "waste items {:?}\nmodel {:?}",
            got_hidden,
            model.hidden
        );
        // Content bytes in view, each inode once however many names it has.
        let mut inodes: Vec<usize> = model
            .view
            .values()
            .filter_map(|(n, _)| match n {
                Node::File { inode, .. } => Some(*inode),
                _ => None,
            })
            .collect();
        inodes.sort_unstable();
        inodes.dedup();
        let visible: u64 = inodes.iter().map(|i| model.inodes[*i].0.len() as u64).sum();
        prop_assert_eq!(r.totals.final_size_bytes, visible);
        prop_assert_eq!(
            r.totals.final_files,
            want.len() as u64
        );

        // Every content sha256 shown equals sha256 computed directly over the model's bytes.
        for f in a.final_files() {
            if let Some((Node::File { inode, .. }, _)) = model.view.get(&f.path) {
                let direct = sha2::Sha256::digest(&model.inodes[*inode].0);
                let hex: String = direct.iter().map(|b| format!("{b:02x}")).collect();
                let want = format!("sha256:{hex}");
                prop_assert_eq!(f.sha256.as_deref(), Some(want.as_str()));
            }
        }
        // Content sha256 read again on demand gives the same report and listings, byte for
        // byte, as every file hashed in the stream.
        let image = Image::open(&p).unwrap();
        let lazy = Analysis::run(&image, &AnalysisOptions::default().content_sha256(ContentSha256::OnDemand))
            .unwrap();
        let json = |r: &Report| serde_json::to_string(r).unwrap();
        prop_assert_eq!(json(&lazy.report()), json(&r));
        let records = |a: &Analysis, layer: Option<usize>| {
            serde_json::to_string(&a.tree_view(layer, false)).unwrap()
        };
        prop_assert_eq!(records(&lazy, None), records(&a, None));
        for n in 0..layers.len() {
            prop_assert_eq!(records(&lazy, Some(n)), records(&a, Some(n)));
        }
        prop_assert!(lazy.content_digest_error().is_ok());
        // Without content digests the report is the same figure for figure: only the sha256
        // fields are empty (waste items, duplicate groups) or null (file records).
        let none = Analysis::run(&image, &AnalysisOptions::default().content_sha256(ContentSha256::Omitted))
            .unwrap();
        let mut with = serde_json::to_value(a.report()).unwrap();
        let mut without = serde_json::to_value(none.report()).unwrap();
        let mut blank = 0usize;
        strip_sha256(&mut without, &mut |v| {
            assert!(v.is_null() || v.as_str() == Some(""), "a digest was computed: {v}");
            blank += 1;
        });
        let mut shown = 0usize;
        strip_sha256(&mut with, &mut |_| shown += 1);
        prop_assert_eq!(blank, shown);
        prop_assert_eq!(with, without);
        let listing = none.tree_view(None, false);
        prop_assert!(listing.iter().all(|f| f.sha256.is_none()));
        prop_assert_eq!(listing.len(), a.tree_view(None, false).len());
        prop_assert!(none.content_digest_error().is_ok());
        // The consuming report moves the lists the borrowing one copies: the same report,
        // whole and cut to one item per list.
        let top = ReportOptions::default().top(1);
        let cut = json(&a.report_with(&top));
        prop_assert_eq!(json(&a.into_report_with(&ReportOptions::default()).unwrap()), json(&r));
        prop_assert_eq!(json(&lazy.into_report_with(&top).unwrap()), cut);
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
        std::fs::write(&p, layerscope_core::testkit::gzip_bytes(&img.archive(Layout::DockerClassic))).unwrap();
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

/// Remove every `sha256` field of a JSON document, handing each removed value to `seen`.
fn strip_sha256(v: &mut serde_json::Value, seen: &mut dyn FnMut(&serde_json::Value)) {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(s) = map.remove("sha256") {
                seen(&s);
            }
            for child in map.values_mut() {
                strip_sha256(child, seen);
            }
        }
        serde_json::Value::Array(items) => {
            for child in items {
                strip_sha256(child, seen);
            }
        }
        _ => {}
    }
}
