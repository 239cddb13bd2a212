//! `layerscope diff A B`: two analysed images compared: shared layers by DiffID, per-layer
//! and per-file deltas, size deltas, and the push cost of B given A.

use crate::analysis::ImageInfo;
use crate::analysis::{Analysis, tree_order};
use crate::layer::{ContentId, EntryKind};
use crate::units::signed_difference;
use crate::version::SCHEMA_VERSION;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// The comparison of image A (before) with image B (after).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImageDiff {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Image A.
    pub a: ImageInfo,
    /// Image B.
    pub b: ImageInfo,
    /// Layers of B whose DiffID A also has (they need not be pushed or pulled again).
    pub shared_layers: usize,
    /// Layers at the bottom that both stacks have in the same order (the common base).
    pub common_prefix_layers: usize,
    /// `B.size_bytes - A.size_bytes`.
    pub size_delta_bytes: i64,
    /// `B.compressed_size_bytes - A.compressed_size_bytes`.
    pub compressed_size_delta_bytes: i64,
    /// `B.final_size_bytes - A.final_size_bytes`.
    pub final_size_delta_bytes: i64,
    /// `B.wasted_bytes - A.wasted_bytes`.
    pub wasted_delta_bytes: i64,
    /// Compressed bytes of B's layers whose DiffID A does not have: what a push of B costs
    /// where A is already stored.
    pub push_bytes: u64,
    /// Layers side by side, by position.
    pub layers: Vec<LayerPair>,
    /// Files of the final filesystems.
    pub files: FileDeltas,
}

/// One position of the two layer stacks.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LayerPair {
    /// Position, 0 = base.
    pub index: usize,
    /// DiffID in A, if A has this many layers.
    pub a_diff_id: Option<String>,
    /// DiffID in B.
    pub b_diff_id: Option<String>,
    /// `created_by` in A.
    pub a_created_by: Option<String>,
    /// `created_by` in B.
    pub b_created_by: Option<String>,
    /// Size in A.
    pub a_size_bytes: Option<u64>,
    /// Size in B.
    pub b_size_bytes: Option<u64>,
    /// `same` (same DiffID), `changed`, `added` (only in B), `removed` (only in A).
    pub status: String,
}

/// Per-file changes between the final filesystems.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct FileDeltas {
    /// Paths only in B.
    pub added: Vec<FileDelta>,
    /// Paths only in A.
    pub removed: Vec<FileDelta>,
    /// Paths in both whose type, content, mode or owner differ.
    pub changed: Vec<FileDelta>,
}

/// One changed path.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FileDelta {
    /// Path.
    pub path: String,
    /// Size in A (absent for added paths).
    pub a_size_bytes: Option<u64>,
    /// Size in B (absent for removed paths).
    pub b_size_bytes: Option<u64>,
    /// `b - a`.
    pub delta_bytes: i64,
    /// What changed, for changed paths: `content`, `type`, `mode`, `owner`, `link`.
    pub what: Vec<String>,
    /// For a symbolic link whose target changed (`link` in `what`): the target in A.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_link_target: Option<String>,
    /// For a symbolic link whose target changed: the target in B.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_link_target: Option<String>,
}

impl ImageDiff {
    /// Compare image `a` (before) with image `b` (after). File contents are compared by
    /// their identity, which needs no content sha256 ([`crate::ContentSha256::Omitted`] is
    /// enough), except when only one of the images was read from tables of contents (its
    /// contents are known by sha256 only): then by sha256, which both analyses must have
    /// kept (any mode but `Omitted`).
    pub fn compute(a: &Analysis, b: &Analysis) -> ImageDiff {
        let ra = a.figures();
        let rb = b.figures();
        let a_ids: HashSet<&str> = ra.layers.iter().map(|l| l.diff_id.as_str()).collect();
        let shared_layers = rb
            .layers
            .iter()
            .filter(|l| a_ids.contains(l.diff_id.as_str()))
            .count();
        let common_prefix_layers = ra
            .layers
            .iter()
            .zip(&rb.layers)
            .take_while(|(x, y)| x.diff_id == y.diff_id)
            .count();
        let push_bytes = rb
            .layers
            .iter()
            .filter(|l| !a_ids.contains(l.diff_id.as_str()))
            .map(|l| l.compressed_size_bytes)
            .sum();
        let n = ra.layers.len().max(rb.layers.len());
        let layers = (0..n)
            .map(|i| {
                let la = ra.layers.get(i);
                let lb = rb.layers.get(i);
                let status = match (la, lb) {
                    (Some(x), Some(y)) if x.diff_id == y.diff_id => "same",
                    (Some(_), Some(_)) => "changed",
                    (None, Some(_)) => "added",
                    _ => "removed",
                };
                LayerPair {
                    index: i,
                    a_diff_id: la.map(|l| l.diff_id.clone()),
                    b_diff_id: lb.map(|l| l.diff_id.clone()),
                    a_created_by: la.and_then(|l| l.created_by.clone()),
                    b_created_by: lb.and_then(|l| l.created_by.clone()),
                    a_size_bytes: la.map(|l| l.size_bytes),
                    b_size_bytes: lb.map(|l| l.size_bytes),
                    status: status.into(),
                }
            })
            .collect();
        // Contents compare by their identity when both images identify them the same way
        // (XXH3-128 of the bytes, or the sha256 prefix of layers known from a table of
        // contents), otherwise by sha256.
        let by_identity = a.identifies_by_sha256() == b.identifies_by_sha256();
        let files_of = |x: &Analysis| -> BTreeMap<String, (crate::FileRecord, ContentId)> {
            x.final_files_with_identity()
                .into_iter()
                .map(|(f, id)| (f.path.clone(), (f, id)))
                .collect()
        };
        let (fa, fb) = (files_of(a), files_of(b));
        let (la, lb) = (a.final_symlink_targets(), b.final_symlink_targets());
        let mut files = FileDeltas::default();
        for (path, (x, x_id)) in &fa {
            match fb.get(path) {
                None => files.removed.push(FileDelta {
                    path: path.clone(),
                    a_size_bytes: Some(x.size_bytes),
                    b_size_bytes: None,
                    delta_bytes: signed_difference(x.size_bytes, 0),
                    what: Vec::new(),
                    a_link_target: None,
                    b_link_target: None,
                }),
                Some((y, y_id)) => {
                    let mut what = Vec::new();
                    let same_content = if by_identity {
                        x_id == y_id
                    } else {
                        x.sha256 == y.sha256
                    };
                    if x.kind != y.kind {
                        what.push("type".to_string());
                    } else if matches!(x.kind, EntryKind::File | EntryKind::Hardlink)
                        && !same_content
                    {
                        what.push("content".to_string());
                    }
                    // The symlink target is a file attribute (image-spec layer.md, "File
                    // Attributes"), and a changed attribute is a modification ("Determining
                    // Changes").
                    let mut link = None;
                    if x.kind == EntryKind::Symlink && y.kind == EntryKind::Symlink {
                        let (ta, tb) = (la.get(path), lb.get(path));
                        if ta != tb {
                            what.push("link".to_string());
                            link = Some((ta.cloned(), tb.cloned()));
                        }
                    }
                    if x.mode != y.mode {
                        what.push("mode".to_string());
                    }
                    if (x.uid, x.gid) != (y.uid, y.gid) {
                        what.push("owner".to_string());
                    }
                    if !what.is_empty() {
                        files.changed.push(FileDelta {
                            path: path.clone(),
                            a_size_bytes: Some(x.size_bytes),
                            b_size_bytes: Some(y.size_bytes),
                            delta_bytes: signed_difference(x.size_bytes, y.size_bytes),
                            what,
                            a_link_target: link.as_ref().and_then(|l| l.0.clone()),
                            b_link_target: link.and_then(|l| l.1),
                        });
                    }
                }
            }
        }
        for (path, (y, _)) in &fb {
            if !fa.contains_key(path) {
                files.added.push(FileDelta {
                    path: path.clone(),
                    a_size_bytes: None,
                    b_size_bytes: Some(y.size_bytes),
                    delta_bytes: signed_difference(0, y.size_bytes),
                    what: Vec::new(),
                    a_link_target: None,
                    b_link_target: None,
                });
            }
        }
        for list in [&mut files.added, &mut files.removed, &mut files.changed] {
            list.sort_by(|p, q| tree_order(&p.path, &q.path));
        }
        let (ta, tb) = (&ra.totals, &rb.totals);
        ImageDiff {
            schema_version: SCHEMA_VERSION,
            a: ra.image.clone(),
            b: rb.image.clone(),
            shared_layers,
            common_prefix_layers,
            size_delta_bytes: signed_difference(ta.size_bytes, tb.size_bytes),
            compressed_size_delta_bytes: signed_difference(
                ta.compressed_size_bytes,
                tb.compressed_size_bytes,
            ),
            final_size_delta_bytes: signed_difference(ta.final_size_bytes, tb.final_size_bytes),
            wasted_delta_bytes: signed_difference(ta.wasted_bytes, tb.wasted_bytes),
            push_bytes,
            layers,
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{ImageBuilder, LayerBuilder, Layout};
    use crate::{AnalysisOptions, ContentSha256, Image};

    fn analysed(
        dir: &std::path::Path,
        name: &str,
        layer: LayerBuilder,
        mode: ContentSha256,
    ) -> Analysis {
        let path = dir.join(name);
        std::fs::write(
            &path,
            ImageBuilder::new()
                .layer(layer)
                .archive(Layout::DockerClassic),
        )
        .unwrap();
        let image = Image::open(&path).unwrap();
        Analysis::run(&image, &AnalysisOptions::default().content_sha256(mode)).unwrap()
    }

    /// Contents compared by identity (no content sha256 computed) give the diff that sha256
    /// gives: a same-size content change is seen, an unchanged file is not.
    #[test]
    fn identities_find_the_changes_sha256_finds() {
        let dir = tempfile::tempdir().unwrap();
        let before = || {
            LayerBuilder::new()
                .dir("etc")
                .file("etc/same", b"unchanged")
                .file("etc/edited", b"aaaa")
                .file("etc/gone", b"x")
        };
        let after = || {
            LayerBuilder::new()
                .dir("etc")
                .file("etc/same", b"unchanged")
                .file("etc/edited", b"bbbb")
                .file("etc/new", b"y")
        };
        let diff = |mode| {
            let a = analysed(dir.path(), "a.tar", before(), mode);
            let b = analysed(dir.path(), "b.tar", after(), mode);
            let mut d = serde_json::to_value(ImageDiff::compute(&a, &b)).unwrap();
            // The image paths are the same; nothing else may differ.
            d.as_object_mut().unwrap().remove("a");
            d.as_object_mut().unwrap().remove("b");
            d
        };
        let by_identity = diff(ContentSha256::Omitted);
        assert_eq!(by_identity, diff(ContentSha256::Streamed));
        let changed = &by_identity["files"]["changed"];
        assert_eq!(changed.as_array().unwrap().len(), 1, "{changed}");
        assert_eq!(changed[0]["path"], "etc/edited");
        assert_eq!(changed[0]["what"][0], "content");
        assert_eq!(by_identity["files"]["added"][0]["path"], "etc/new");
        assert_eq!(by_identity["files"]["removed"][0]["path"], "etc/gone");
    }
}
