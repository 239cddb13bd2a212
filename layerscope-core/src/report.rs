//! The serialisable, versioned report. These names are a contract read by other tools and
//! CI scripts: add fields, never rename or remove them without bumping [`SCHEMA_VERSION`].

use crate::layer::{Compression, EntryKind};
use crate::tree::{ChangeKind, WasteKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the JSON report layout.
pub const SCHEMA_VERSION: u32 = 1;

/// The full `analyze` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The producing tool and version.
    pub tool: ToolInfo,
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
    /// Every hidden copy of file content, largest first.
    pub waste: Vec<WasteItem>,
    /// Groups of visible files with identical content, largest waste first.
    pub duplicates: Vec<DuplicateGroup>,
    /// The largest visible files (as many as asked for), largest first, then by path.
    pub largest_files: Vec<FileRecord>,
    /// The filter applied to `waste`, `duplicates` and `largest_files` (totals are never
    /// filtered), if any.
    pub filter: Option<String>,
    /// Layers and bytes by Dockerfile instruction (when the Dockerfile is given).
    pub attribution: Option<crate::attribution::Attribution>,
    /// Findings with the bytes they save (see `layerscope recommend --list-codes`).
    pub recommendations: Vec<crate::recommend::Finding>,
    /// Things tolerated while reading.
    pub warnings: Vec<String>,
    /// dive 0.13.1's figures for the same image (`--compat dive`), `null` unless asked for.
    pub compat_dive: Option<crate::compat::DiveFigures>,
}

/// Tool name and version.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `layerscope`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

/// Image identity.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ImageInfo {
    /// Path given on the command line.
    pub source: String,
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
    /// Blob size as stored.
    pub compressed_size_bytes: u64,
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
}

/// Image totals.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Totals {
    /// Number of layers.
    pub layers: usize,
    /// Sum of the layers' `size_bytes`.
    pub size_bytes: u64,
    /// Sum of the layers' compressed sizes.
    pub compressed_size_bytes: u64,
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
    /// The instruction of that layer.
    pub added_by: Option<String>,
    /// Layer that hid it.
    pub hidden_by_layer: usize,
    /// The instruction of that layer.
    pub hidden_by: Option<String>,
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
