//! The figures of one image, computed once by [`super::Analysis::run`] and kept: per layer,
//! totals, the base split, history alignment, every waste item and duplicate group. The
//! stages below the analysis (attribution, simulation, recommendations, the gate) read these;
//! the serialisable report copies them.

use super::{LayerMeta, created_by};
use crate::digest::to_hex;
use crate::history::HistoryAlignment;
use crate::layer::{Compression, ContentId, EntryKind, LayerContents};
use crate::source::HistoryEntry;
use crate::tree::{ChangeKind, Tree, WasteKind};
use crate::units::ratio;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Everything [`super::Analysis::run`] measured about an image, unfiltered. The lists of a
/// [`crate::Report`] are cut from these; the figures themselves are never filtered.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ImageFigures {
    /// Which image.
    pub image: ImageInfo,
    /// Layers in stack order (base first).
    pub layers: Vec<LayerReport>,
    /// Image totals.
    pub totals: Totals,
    /// Base image / user layers split.
    pub base: BaseSplit,
    /// How history lined up with layers.
    pub history: HistoryInfo,
    /// Every hidden copy of file content, largest first (then by path, then by layer).
    pub waste: Vec<WasteItem>,
    /// Every group of visible files with identical content, largest waste first.
    pub duplicates: Vec<DuplicateGroup>,
    /// Things tolerated while reading.
    pub warnings: Vec<String>,
}

/// Image identity.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImageInfo {
    /// Path given on the command line.
    pub source: String,
    /// Where the image was read from: `file`, `docker-archive`, `oci-archive`, `oci`,
    /// `docker` (a registry), `docker-daemon` or `containers-storage`.
    pub transport: crate::Transport,
    /// Container format read.
    pub format: crate::ImageFormat,
    /// `repository:tag` if recorded.
    pub reference: Option<String>,
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Digest of the config (the image ID).
    pub config_digest: String,
    /// Digest of the manifest (OCI layouts).
    pub manifest_digest: Option<String>,
    /// Creation time from the config.
    pub created: Option<String>,
    /// `config.User` ("" = root).
    pub user: String,
    /// Exposed ports.
    pub exposed_ports: Vec<String>,
}

/// One layer's figures.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LayerReport {
    /// 0 = base.
    pub index: usize,
    /// Blob digest (as stored, possibly compressed).
    pub digest: String,
    /// sha256 of the uncompressed tar.
    pub diff_id: String,
    /// Media type from the manifest.
    pub media_type: String,
    /// Compression found by magic bytes (`null` when the blob is absent).
    pub compression: Option<Compression>,
    /// Whether the blob was present (absent foreign/non-distributable layers are `false`).
    pub available: bool,
    /// Blob size as stored: for a layer stored uncompressed (a docker-archive) this is the
    /// tar's size, not what a push sends (see `push_size_bytes`).
    pub compressed_size_bytes: u64,
    /// With `--push-size`: what a registry push sends for this layer, measured (gzip at
    /// `docker push`'s level for an uncompressed layer, else the stored blob).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub push_size_bytes: Option<u64>,
    /// Sum of regular-file content bytes in the layer tar (hardlinks count 0).
    pub size_bytes: u64,
    /// Size of the uncompressed tar stream (headers and padding included).
    pub tar_size_bytes: u64,
    /// Tar entries in the layer (whiteouts included).
    pub entries: u64,
    /// The history instruction that made the layer.
    pub created_by: Option<String>,
    /// Index of that entry in `history`.
    pub history_index: Option<usize>,
    /// Non-directory paths new in this layer.
    pub files_added: u64,
    /// Non-directory paths that existed below and were shipped again (content, type,
    /// metadata); `files_metadata_only` of them have unchanged content.
    pub files_modified: u64,
    /// Of `files_modified`: same content, only mode/owner/xattrs/mtime differ.
    pub files_metadata_only: u64,
    /// Non-directory paths of lower layers this layer removed (whiteouts, opaque dirs).
    pub files_deleted: u64,
    /// Bytes this layer added that later layers hid (or that it hid itself).
    pub wasted_bytes_introduced: u64,
    /// Bytes of earlier layers (or of itself) that this layer hid.
    pub hides_bytes: u64,
    /// True for layers counted as the base image.
    pub base: bool,
    /// Set when the layer was read from its table of contents (`--toc`), not its blob: its
    /// DiffID and digest were then not verified. Absent from the JSON otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toc: Option<crate::source::TocRead>,
}

/// Image totals.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Totals {
    /// Number of layers.
    pub layers: usize,
    /// Sum of the layers' `size_bytes`.
    pub size_bytes: u64,
    /// Sum of the layers' compressed sizes (blobs as stored).
    pub compressed_size_bytes: u64,
    /// With `--push-size`: the sum of the layers' `push_size_bytes`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub push_size_bytes: Option<u64>,
    /// Regular-file bytes visible in the final filesystem, each hardlinked inode once.
    pub final_size_bytes: u64,
    /// Visible non-directory entries in the final filesystem.
    pub final_files: u64,
    /// `size_bytes - final_size_bytes`: bytes shipped but not visible.
    pub wasted_bytes: u64,
    /// Visible bytes beyond the first copy of each distinct content.
    pub duplicate_bytes: u64,
    /// `final_size_bytes / size_bytes` (1.0 for an empty image).
    pub efficiency: f64,
    /// `wasted_bytes` split by kind.
    pub waste_by_kind: BTreeMap<WasteKind, u64>,
    /// Hidden copies: the length of the unfiltered, uncut `waste` list.
    pub waste_items: u64,
    /// Groups of identical visible content: the length of the unfiltered, uncut `duplicates`
    /// list.
    pub duplicate_groups: u64,
}

/// Base image and user layers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BaseSplit {
    /// How many bottom layers are the base image.
    pub base_layers: usize,
    /// How it was decided: `flag` (`--base-layers`, `--base`), `history` (buildah's `FROM`
    /// comment), `dockerfile` (`-f`: the layers below the first instruction of the build),
    /// `none`.
    pub source: String,
    /// Sum of `size_bytes` of the user layers.
    pub user_size_bytes: u64,
    /// Waste introduced by user layers, or hiding base bytes from a user layer.
    pub user_wasted_bytes: u64,
    /// `user_wasted_bytes / user_size_bytes`; `null` when there are no user bytes.
    pub user_wasted_ratio: Option<f64>,
}

/// History alignment.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct HistoryInfo {
    /// Number of history entries in the config.
    pub entries: usize,
    /// Entries with `empty_layer: true`.
    pub empty_layer_entries: usize,
    /// True when each layer had exactly one non-empty history entry.
    pub regular: bool,
    /// What was irregular.
    pub note: Option<String>,
}

/// One hidden copy of content.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct WasteItem {
    /// Path of the hidden copy.
    pub path: String,
    /// Its bytes.
    pub bytes: u64,
    /// Why it is hidden.
    pub kind: WasteKind,
    /// Layer that shipped it.
    pub added_by_layer: usize,
    /// The instruction of that layer (one string per layer, shared by its items).
    pub added_by: Option<Arc<str>>,
    /// Layer that hid it.
    pub hidden_by_layer: usize,
    /// The instruction of that layer (shared as `added_by`).
    pub hidden_by: Option<Arc<str>>,
    /// sha256 of the content.
    pub sha256: String,
}

/// Visible files sharing one content.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct DuplicateGroup {
    /// sha256 of the content.
    pub sha256: String,
    /// Size of one copy.
    pub size_bytes: u64,
    /// Paths (sorted) holding the content; hardlinks to one inode count once.
    pub paths: Vec<String>,
    /// `(copies - 1) * size_bytes`.
    pub wasted_bytes: u64,
}

/// One entry of a file listing (the `tree` command and the HTML explorer).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FileRecord {
    /// Path.
    pub path: String,
    /// Entry type.
    pub kind: EntryKind,
    /// Content bytes.
    pub size_bytes: u64,
    /// Layer of the entry (for deletions: the layer that deleted it); `null` for a directory
    /// that exists only because paths below it do.
    pub layer: Option<usize>,
    /// sha256 of the content (regular files and hardlinks to them).
    pub sha256: Option<String>,
    /// Permission bits (and setuid/setgid/sticky).
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Whether the entry carries extended attributes.
    pub has_xattrs: bool,
    /// Change marker relative to the layer below, when listing one layer.
    pub change: Option<ChangeKind>,
}

/// What [`measure`] reads of an analysis.
pub(super) struct Parts<'a> {
    pub layers: &'a [LayerContents],
    pub layer_meta: &'a [LayerMeta],
    pub tree: &'a Tree,
    pub alignment: &'a HistoryAlignment,
    pub history: &'a [HistoryEntry],
    pub base: (usize, &'static str),
}

/// Where the content of each waste item and duplicate group lies, (layer, entry), in the
/// order of `ImageFigures::waste` and `duplicates`: their `sha256` is filled from these by
/// [`fill_sha256`] (read again on demand, in parallel, when the layers did not keep it).
pub(super) struct ContentSources {
    pub waste: Vec<(u32, u32)>,
    pub duplicates: Vec<(u32, u32)>,
}

/// Fill the `sha256` of waste items and duplicate groups (digests in their order).
pub(super) fn fill_sha256(f: &mut ImageFigures, waste: &[[u8; 32]], duplicates: &[[u8; 32]]) {
    for (w, s) in f.waste.iter_mut().zip(waste) {
        w.sha256 = format!("sha256:{}", to_hex(s));
    }
    for (g, s) in f.duplicates.iter_mut().zip(duplicates) {
        g.sha256 = format!("sha256:{}", to_hex(s));
    }
}

/// Measure the figures of a merged image: one pass over the hidden copies, one over the
/// layers' entries and one over the final view. Contents are compared by identity; the
/// `sha256` strings are left empty for [`fill_sha256`].
pub(super) fn measure(
    p: Parts<'_>,
    image: ImageInfo,
    warnings: Vec<String>,
) -> (ImageFigures, ContentSources) {
    let n = p.layers.len();
    let mut per_layer_introduced = vec![0u64; n];
    let mut per_layer_hides = vec![0u64; n];
    let mut by_kind: BTreeMap<WasteKind, u64> = BTreeMap::new();
    let mut waste: Vec<(WasteItem, (u32, u32))> = Vec::with_capacity(p.tree.hidden.len());
    // Each layer's instruction once: an image can have tens of thousands of waste items.
    let instructions: Vec<Option<Arc<str>>> = (0..n)
        .map(|i| created_by(p.alignment, p.history, i).map(Arc::from))
        .collect();
    let instruction = |layer: usize| instructions.get(layer).cloned().flatten();
    for h in &p.tree.hidden {
        if let Some(x) = per_layer_introduced.get_mut(h.added_by) {
            *x += h.bytes;
        }
        if let Some(x) = per_layer_hides.get_mut(h.hidden_by) {
            *x += h.bytes;
        }
        *by_kind.entry(h.kind).or_default() += h.bytes;
        waste.push((
            WasteItem {
                path: p.tree.path_of(h.node),
                bytes: h.bytes,
                kind: h.kind,
                added_by_layer: h.added_by,
                added_by: instruction(h.added_by),
                hidden_by_layer: h.hidden_by,
                hidden_by: instruction(h.hidden_by),
                sha256: String::new(),
            },
            h.source,
        ));
    }
    waste.sort_by(|(a, _), (b, _)| {
        b.bytes
            .cmp(&a.bytes)
            .then_with(|| a.path.cmp(&b.path))
            .then(a.added_by_layer.cmp(&b.added_by_layer))
    });
    let (waste, waste_sources): (Vec<WasteItem>, Vec<(u32, u32)>) = waste.into_iter().unzip();

    let mut layers = Vec::with_capacity(n);
    for (i, (c, m)) in p.layers.iter().zip(p.layer_meta).enumerate() {
        let size_bytes: u64 = c
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .map(|e| e.size)
            .sum();
        let (mut added, mut modified, mut meta_only, mut deleted) = (0, 0, 0, 0);
        if let Some(lc) = p.tree.layers.get(i) {
            for ch in lc.changes.iter().filter(|c| c.entry_kind != EntryKind::Dir) {
                match ch.kind {
                    ChangeKind::Added => added += 1,
                    ChangeKind::Modified => modified += 1,
                    ChangeKind::MetadataOnly => {
                        modified += 1;
                        meta_only += 1;
                    }
                    ChangeKind::Deleted => deleted += 1,
                }
            }
        }
        layers.push(LayerReport {
            index: i,
            digest: c.blob_digest.clone(),
            diff_id: m.diff_id.clone(),
            media_type: m.media_type.clone(),
            compression: c.compression,
            available: m.available,
            compressed_size_bytes: c.blob_size,
            push_size_bytes: None,
            size_bytes,
            tar_size_bytes: c.tar_size,
            entries: c.entries.len() as u64,
            created_by: created_by(p.alignment, p.history, i).map(str::to_string),
            history_index: p.alignment.layer_entries.get(i).copied().flatten(),
            files_added: added,
            files_modified: modified,
            files_metadata_only: meta_only,
            files_deleted: deleted,
            wasted_bytes_introduced: per_layer_introduced.get(i).copied().unwrap_or(0),
            hides_bytes: per_layer_hides.get(i).copied().unwrap_or(0),
            base: false,
            toc: m.toc.clone(),
        });
    }

    // One pass over the final view, without a path string per file: the count, and content
    // groups for duplicates.
    let mut final_files = 0u64;
    // (inode, node) of every visible file with content; grouped by content below.
    let mut with_content: Vec<(u32, u32)> = Vec::new();
    p.tree.for_each_visible(p.layers, false, |_, v| {
        final_files += 1;
        if let Some(inode) = v.inode
            && v.size > 0
        {
            with_content.push((inode, v.node));
        }
    });
    let final_size_bytes = p.tree.visible_bytes();
    let size_bytes: u64 = layers.iter().map(|l| l.size_bytes).sum();
    let compressed_size_bytes: u64 = layers.iter().map(|l| l.compressed_size_bytes).sum();
    let (duplicates, duplicate_sources): (Vec<DuplicateGroup>, Vec<(u32, u32)>) =
        duplicate_groups(with_content, p.tree).into_iter().unzip();
    let duplicate_bytes = duplicates.iter().map(|g| g.wasted_bytes).sum();
    let empty_layer_entries = p.history.iter().filter(|h| h.empty_layer).count();
    let mut figures = ImageFigures {
        image,
        totals: Totals {
            layers: layers.len(),
            size_bytes,
            compressed_size_bytes,
            push_size_bytes: None,
            final_size_bytes,
            final_files,
            wasted_bytes: size_bytes.saturating_sub(final_size_bytes),
            duplicate_bytes,
            efficiency: ratio(final_size_bytes, size_bytes).unwrap_or(1.0),
            waste_by_kind: by_kind,
            waste_items: waste.len() as u64,
            duplicate_groups: duplicates.len() as u64,
        },
        base: BaseSplit {
            base_layers: 0,
            source: String::new(),
            user_size_bytes: 0,
            user_wasted_bytes: 0,
            user_wasted_ratio: None,
        },
        history: HistoryInfo {
            entries: p.history.len(),
            empty_layer_entries,
            regular: p.alignment.regular,
            note: p.alignment.note.clone(),
        },
        layers,
        waste,
        duplicates,
        warnings,
    };
    apply_base(&mut figures, p.base);
    (
        figures,
        ContentSources {
            waste: waste_sources,
            duplicates: duplicate_sources,
        },
    )
}

/// Split the figures at the base image's top layer: the `base` flag of each layer and the
/// user figures (waste hidden by a user layer counts as the user's, whoever shipped it).
pub(super) fn apply_base(f: &mut ImageFigures, (base_n, source): (usize, &'static str)) {
    for l in &mut f.layers {
        l.base = l.index < base_n;
    }
    let user_size_bytes: u64 = f.layers.iter().skip(base_n).map(|l| l.size_bytes).sum();
    let user_wasted: u64 = f
        .waste
        .iter()
        .filter(|w| w.hidden_by_layer >= base_n)
        .map(|w| w.bytes)
        .sum();
    f.base = BaseSplit {
        base_layers: base_n,
        source: source.to_string(),
        user_size_bytes,
        user_wasted_bytes: user_wasted,
        user_wasted_ratio: ratio(user_wasted, user_size_bytes),
    };
}

/// Visible files with identical content (size > 0), hardlinks to one inode counted once;
/// paths are spelled out only for the groups that have duplicates. `files` holds (inode,
/// node) pairs: sorting them by the inode's content identity keeps memory at 8 bytes a
/// file. Each group comes with the (layer, entry) of its first inode's content.
fn duplicate_groups(mut files: Vec<(u32, u32)>, tree: &Tree) -> Vec<(DuplicateGroup, (u32, u32))> {
    let id = |inode: u32| {
        tree.inodes
            .get(inode as usize)
            .map_or(ContentId::default(), |i| i.id)
    };
    files.sort_unstable_by(|a, b| id(a.0).cmp(&id(b.0)).then(a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for group in files.chunk_by(|a, b| id(a.0) == id(b.0)) {
        let mut inodes: Vec<u32> = group.iter().map(|m| m.0).collect();
        inodes.dedup(); // sorted by (identity, inode) above
        let Some(first) = inodes.first().and_then(|i| tree.inodes.get(*i as usize)) else {
            continue;
        };
        if inodes.len() < 2 {
            continue;
        }
        let mut paths: Vec<String> = group.iter().map(|m| tree.path_of(m.1)).collect();
        paths.sort();
        out.push((
            DuplicateGroup {
                sha256: String::new(),
                size_bytes: first.size,
                wasted_bytes: first.size * (inodes.len() as u64 - 1),
                paths,
            },
            (first.layer, first.entry),
        ));
    }
    out.sort_by(|(a, _), (b, _)| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.paths.cmp(&b.paths))
    });
    out
}
