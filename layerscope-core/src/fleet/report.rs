//! The serialisable, versioned fleet report. Field names are a contract read by other tools:
//! add fields, never rename or remove them without bumping [`FLEET_SCHEMA_VERSION`].

use crate::report::ToolInfo;
use serde::Serialize;

/// Version of the fleet JSON layout.
pub const FLEET_SCHEMA_VERSION: u32 = 1;

/// What `layerscope fleet` reports about a set of images.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FleetReport {
    /// [`FLEET_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The producing tool and version.
    pub tool: ToolInfo,
    /// The images, in the order given.
    pub images: Vec<FleetImage>,
    /// Each distinct layer (by DiffID) once, in the order first met (image order, then
    /// bottom to top).
    pub layers: Vec<FleetLayer>,
    /// Figures over the whole set.
    pub totals: FleetTotals,
    /// Images grouped by their bottom layer, largest family first.
    pub families: Vec<BaseFamily>,
    /// Families whose bottom layers are the same base at different digests.
    pub drift: Vec<BaseDrift>,
    /// Contents shipped by more than one distinct layer, largest saving first.
    pub duplicates: Vec<CrossLayerDuplicate>,
    /// Files (path and content) present in at least `min_images` images.
    pub common_base: CommonBase,
    /// Sizes per platform, when images were expanded by platform (`--platform all`).
    pub platforms: Vec<PlatformSummary>,
    /// For each multi-platform image expanded by platform: what differs between its
    /// platforms, path by path.
    pub platform_differences: Vec<PlatformDifference>,
    /// How the layers were obtained in this run (cache hits, layers read). Not a property of
    /// the images: a second run over the same images differs here only.
    pub read: ReadStats,
    /// Things tolerated while reading.
    pub warnings: Vec<String>,
}

/// One image of the fleet.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FleetImage {
    /// The name the image was given by.
    pub reference: String,
    /// `os/arch[/variant]` from the config.
    pub platform: String,
    /// Digest of the config blob (the image ID).
    pub config_digest: String,
    /// Sum of its layers' `size_bytes` (regular-file content, as `analyze` counts it).
    pub size_bytes: u64,
    /// Sum of its layer blobs' sizes as stored.
    pub compressed_size_bytes: u64,
    /// DiffIDs, bottom first.
    pub layers: Vec<String>,
    /// `size_bytes` of the layers no other image of the set has (each counted once).
    pub unique_size_bytes: u64,
    /// Compressed size of those layers.
    pub unique_compressed_size_bytes: u64,
    /// Index in `families`.
    pub family: usize,
}

/// One distinct layer.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FleetLayer {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Regular-file content bytes.
    pub size_bytes: u64,
    /// Blob size of the first image (in the order given) that holds it.
    pub compressed_size_bytes: u64,
    /// Bytes of the uncompressed tar.
    pub tar_size_bytes: u64,
    /// Regular files (one per path).
    pub files: u64,
    /// Indexes in `images` of the images that hold it, ascending.
    pub images: Vec<usize>,
    /// Distinct blob digests seen for it (one per compression), when the manifest names them.
    pub blob_digests: Vec<String>,
}

/// Figures over the whole set.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FleetTotals {
    /// Images.
    pub images: usize,
    /// Layers over all images (a layer held by 3 images counts 3).
    pub layers: usize,
    /// Distinct layers.
    pub unique_layers: usize,
    /// Sum of the images' `size_bytes`.
    pub size_bytes: u64,
    /// Sum of the images' compressed sizes.
    pub compressed_size_bytes: u64,
    /// Each distinct layer's `size_bytes` once: what one node extracts to hold every image.
    pub unique_size_bytes: u64,
    /// Each distinct layer's compressed size once: what a registry stores and one node
    /// pulls for the whole set.
    pub unique_compressed_size_bytes: u64,
    /// Regular files over the distinct layers.
    pub files: u64,
    /// For each content (sha256) found in more than one distinct layer: its size times the
    /// number of extra layers that ship it. What one shared layer holding these contents
    /// would save, in the registry (uncompressed) and in one node's pull of the set.
    pub cross_layer_duplicate_bytes: u64,
    /// Contents found in more than one distinct layer.
    pub cross_layer_duplicate_contents: u64,
}

/// Images that share a bottom layer.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BaseFamily {
    /// DiffID of the bottom layer.
    pub bottom_layer: String,
    /// Indexes in `images`.
    pub images: Vec<usize>,
    /// Layers every member has at the bottom (the longest common prefix).
    pub base_layers: usize,
    /// `size_bytes` of those layers.
    pub base_size_bytes: u64,
    /// DiffID of the top layer of that common prefix.
    pub base_top_layer: String,
}

/// Two families whose bottom layers ship largely the same paths: the same base at
/// different digests (rebuilt, or updated, at different times).
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct BaseDrift {
    /// Indexes in `families` (ascending).
    pub families: [usize; 2],
    /// Paths both bottom layers ship.
    pub shared_paths: u64,
    /// Of those, paths whose content differs.
    pub changed_paths: u64,
    /// Paths only the first family's bottom layer ships.
    pub only_first: u64,
    /// Paths only the second family's bottom layer ships.
    pub only_second: u64,
    /// `shared_paths / (shared_paths + only_first + only_second)`.
    pub path_overlap: f64,
}

/// One content shipped by several distinct layers.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CrossLayerDuplicate {
    /// `sha256:` of the content.
    pub sha256: String,
    /// Bytes of one copy.
    pub size_bytes: u64,
    /// Indexes in `layers` of the distinct layers that ship it.
    pub layers: Vec<usize>,
    /// Images that hold at least one of those layers.
    pub images: usize,
    /// `size_bytes x (layers - 1)`.
    pub saving_bytes: u64,
    /// Up to five of the paths it is shipped at, sorted.
    pub paths: Vec<String>,
}

/// The files a common base layer would hold.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CommonBase {
    /// K: a file (path and content) qualifies when at least K images hold it.
    pub min_images: usize,
    /// Qualifying files.
    pub files: u64,
    /// Their bytes, each once: the size of the proposed base layer.
    pub size_bytes: u64,
    /// For each qualifying file, its size times the number of extra distinct layers that
    /// ship it today: what moving them into one shared layer saves in the registry and in
    /// one node's pull of the set.
    pub saving_bytes: u64,
    /// The qualifying files with the largest saving (then size, then path).
    pub top: Vec<CommonFile>,
}

/// A file of the proposed common base.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CommonFile {
    /// The path.
    pub path: String,
    /// `sha256:` of the content.
    pub sha256: String,
    /// Bytes.
    pub size_bytes: u64,
    /// Images that hold it.
    pub images: usize,
    /// Distinct layers that ship it.
    pub layers: usize,
    /// `size_bytes x (layers - 1)`.
    pub saving_bytes: u64,
}

/// One platform of a multi-platform set.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlatformSummary {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Indexes in `images`.
    pub images: Vec<usize>,
    /// Sum of those images' `size_bytes`.
    pub size_bytes: u64,
    /// Sum of their compressed sizes.
    pub compressed_size_bytes: u64,
    /// Their distinct layers that no image of another platform holds.
    pub own_layers: usize,
    /// `size_bytes` of those layers.
    pub own_size_bytes: u64,
    /// Distinct layers shared with at least one other platform.
    pub shared_layers: usize,
}

/// How the layers were obtained in this run.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct ReadStats {
    /// Layers read from their blobs (cache misses, corrupt entries, or no cache).
    pub layers_read: usize,
    /// Layers whose summary came from the cache or the summaries directory.
    pub cache_hits: usize,
    /// Cache entries that failed verification and were read again.
    pub corrupt_entries: usize,
    /// Blob bytes read.
    pub blob_bytes_read: u64,
}

/// What differs, path by path, between the platforms of one multi-platform image: their
/// final filesystems (every layer applied, whiteouts included) compared.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlatformDifference {
    /// The multi-platform image, as it was named.
    pub reference: String,
    /// Indexes in `images` of its platforms, in the order given.
    pub images: Vec<usize>,
    /// Each platform's final filesystem, in the same order.
    pub platforms: Vec<PlatformFiles>,
    /// Non-directory paths in at least one platform's final filesystem.
    pub paths: u64,
    /// Of those, paths every platform has with the same type, content and link target.
    pub identical_paths: u64,
    /// Paths missing from at least one platform.
    pub partial_paths: u64,
    /// Paths every platform has, not the same everywhere.
    pub differing_paths: u64,
    /// Partial and differing paths, the largest first (then by path), at most `top`.
    pub differences: Vec<PathDifference>,
}

/// One platform's side of a [`PlatformDifference`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PlatformFiles {
    /// `os/arch[/variant]`.
    pub platform: String,
    /// Non-directory entries of its final filesystem.
    pub files: u64,
    /// Content bytes of its visible regular files.
    pub size_bytes: u64,
    /// Its paths that at least one other platform lacks.
    pub partial_paths: u64,
    /// Content bytes of those paths.
    pub partial_bytes: u64,
    /// Content bytes of its copies of the differing paths.
    pub differing_bytes: u64,
}

/// One path that is not the same on every platform.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct PathDifference {
    /// The path.
    pub path: String,
    /// `missing` (absent from at least one platform), else `type`, `content` or `link`.
    pub change: String,
    /// The path on each platform (same order as `platforms`), `null` where absent.
    pub entries: Vec<Option<PathState>>,
}

/// A path as one platform has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PathState {
    /// Entry type.
    pub kind: crate::layer::EntryKind,
    /// Content bytes (regular files; 0 otherwise, hardlinks included, as `analyze` counts).
    pub size_bytes: u64,
    /// `sha256:` of the content (regular files and hardlinks to them).
    pub sha256: Option<String>,
    /// Symlink target.
    pub link_target: Option<String>,
}
