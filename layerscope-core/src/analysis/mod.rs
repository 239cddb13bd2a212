//! `Analysis::run`: read every layer in parallel (the one rayon seam), verify digests, merge
//! the filesystem view, and derive the figures of the report.

use crate::compat::DiveFigures;
use crate::digest::to_hex;
use crate::error::{Error, Result};
use crate::filter::FileFilter;
use crate::history::{HistoryAlignment, align_history};
use crate::layer::{
    ContentId, EntryKind, LayerContents, LayerFailure, LayerOptions, RangeReader, Reread,
    read_layer_with,
};
use crate::source::{Image, LayerAvailability};
use crate::tree::{ChangeKind, Tree};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

mod figures;

pub use figures::{
    BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageFigures, ImageInfo, LayerReport,
    Totals, WasteItem,
};

/// Options for [`Analysis::run`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AnalysisOptions {
    /// Report digest and DiffID mismatches as warnings instead of errors.
    pub allow_digest_mismatch: bool,
    /// Bottom layers to treat as the base image (overrides detection from history).
    pub base_layers: Option<usize>,
    /// Receives the count of blob bytes read so far, for a progress display.
    pub progress: Option<Arc<AtomicU64>>,
    /// The largest zstd window accepted, as a power of two (RFC 8878 section 3.1.1.1.2):
    /// from 10 to 31; `None` means 31, the largest any zstd decoder accepts on a 64-bit
    /// machine (what `zstd --long=31` writes). A decoder holds up to this many bytes (no more
    /// than the layer's size) while it reads a layer.
    pub zstd_window_log_max: Option<u32>,
    /// Which files get a content sha256, and when (see [`ContentSha256`]). Contents are
    /// compared by a 128-bit identity in every mode (see `layer.rs`); layer digests are
    /// verified in every mode.
    pub content_sha256: ContentSha256,
}

/// Which files get a content sha256 (the digest the JSON and HTML reports show for waste
/// items, duplicate groups and file listings), and when it is computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentSha256 {
    /// Every file's sha256, while the layers stream: for outputs that list every file with
    /// its digest. [`Analysis::content_digest_error`] is always `Ok`.
    #[default]
    Streamed,
    /// Only the files an output shows, by reading their bytes again, for layers stored as
    /// plain tars in a file (docker-archive, oci-archive, OCI directory); other layers get
    /// every file's sha256 as they stream. Check [`Analysis::content_digest_error`] before
    /// writing an output.
    OnDemand,
    /// None at all, for outputs that show no content digest: the `sha256` of waste items and
    /// duplicate groups is empty and that of file records `None`. Saves a sha256 pass over
    /// every file (or over the files shown).
    Omitted,
}

impl AnalysisOptions {
    /// Downgrade digest mismatches to warnings.
    pub fn allow_digest_mismatch(mut self, yes: bool) -> Self {
        self.allow_digest_mismatch = yes;
        self
    }
    /// Count the bottom `n` layers as the base image.
    pub fn base_layers(mut self, n: usize) -> Self {
        self.base_layers = Some(n);
        self
    }
    /// Count blob bytes read into `counter`.
    pub fn progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }
    /// Accept zstd windows up to 2^`log` bytes (10 to 31, checked by [`Analysis::run`]).
    pub fn zstd_window_log_max(mut self, log: u32) -> Self {
        self.zstd_window_log_max = Some(log);
        self
    }
    /// Which files get a content sha256, and when (see [`ContentSha256`]).
    pub fn content_sha256(mut self, mode: ContentSha256) -> Self {
        self.content_sha256 = mode;
        self
    }
}

/// Layers smaller than this are hashed on the thread that reads them: for them, starting
/// helper threads costs more than it saves.
const INLINE_HASH_BELOW: u64 = 4 << 20;

/// Read every layer, largest first: each worker takes the largest layer not yet started
/// (longest-processing-time-first scheduling), so that one big layer starts at once and
/// the small ones fill the other core around it, and inside a layer the hashing runs on
/// helper threads (see layer.rs). Results come back in stack order.
fn read_layers(image: &Image, options: &AnalysisOptions) -> Result<Vec<Result<LayerContents>>> {
    let log_max = options
        .zstd_window_log_max
        .unwrap_or(crate::layer::ZSTD_WINDOW_LOG_LIMIT);
    if !(crate::layer::ZSTD_WINDOW_LOG_MIN..=crate::layer::ZSTD_WINDOW_LOG_LIMIT).contains(&log_max)
    {
        return Err(Error::Config {
            source_name: "the zstd_window_log_max option".into(),
            reason: format!(
                "the zstd window limit must be from {} to {} (a power of two exponent), not {log_max}",
                crate::layer::ZSTD_WINDOW_LOG_MIN,
                crate::layer::ZSTD_WINDOW_LOG_LIMIT
            ),
            source: None,
        });
    }
    let refs = image.layers();
    let hint = |l: &crate::source::LayerRef| l.size.or_else(|| image.layer_size(l));
    let mut order: Vec<usize> = (0..refs.len()).collect();
    // Unknown sizes first (they may be large), then by size, largest first; ties in stack
    // order so that runs are repeatable.
    order.sort_by_key(|&i| {
        (
            std::cmp::Reverse(refs.get(i).and_then(hint).unwrap_or(u64::MAX)),
            i,
        )
    });
    // Layers known from a table of contents are compared by sha256 (see `Analysis::run`): the
    // layers read in full beside them need every file's sha256 then, whatever the outputs show.
    let listed = refs.iter().any(|l| {
        image
            .prefetched_layer(l.index)
            .is_some_and(LayerContents::has_sha256_identity)
    });
    let read_one = |l: &crate::source::LayerRef| -> Result<LayerContents> {
        // A layer read while its stream passed (docker-daemon) is not read again.
        if let Some(c) = image.prefetched_layer(l.index) {
            return Ok(c.clone());
        }
        // A layer stored in a file is read through one open handle that is kept, so that
        // the files an output shows can be read again for their sha256.
        let stored = (options.content_sha256 == ContentSha256::OnDemand)
            .then(|| image.layer_file_range(l))
            .flatten()
            .and_then(|(path, offset, size)| {
                let file = Arc::new(std::fs::File::open(&path).ok()?);
                Some((path, offset, size, file))
            });
        let (reader, reread): (Box<dyn std::io::Read + Send>, _) = match stored {
            Some((path, offset, size, file)) => (
                Box::new(RangeReader::new(Arc::clone(&file), offset, size)),
                Some(Reread {
                    file,
                    start: offset,
                    path,
                }),
            ),
            None => {
                let Some((reader, _)) = image.open_layer(l)? else {
                    return Ok(LayerContents::missing(l.digest.as_deref()));
                };
                (reader, None)
            }
        };
        let layer_options = LayerOptions {
            progress: options.progress.clone(),
            zstd_window_log_max: log_max,
            threads: hint(l).is_none_or(|s| s >= INLINE_HASH_BELOW),
            reread,
            content_sha256: options.content_sha256 != ContentSha256::Omitted || listed,
        };
        read_layer_with(reader, &layer_options).map_err(|f| {
            let digest = l.digest.clone().or_else(|| l.diff_id.clone());
            layer_failure(image.path(), l.index, digest.unwrap_or_default(), f)
        })
    };
    let slots: Vec<Mutex<Option<Result<LayerContents>>>> =
        refs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = rayon::current_num_threads().clamp(1, refs.len().max(1));
    (0..workers).into_par_iter().for_each(|_| {
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            let Some(&i) = order.get(k) else { break };
            let (Some(l), Some(slot)) = (refs.get(i), slots.get(i)) else {
                continue;
            };
            let result = read_one(l);
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
        }
    });
    Ok(slots
        .into_iter()
        .zip(refs)
        .map(|(slot, l)| {
            slot.into_inner()
                .unwrap_or_else(PoisonError::into_inner)
                .unwrap_or_else(|| {
                    Err(Error::Layer {
                        image: image.path().to_path_buf(),
                        index: l.index,
                        digest: l.digest.clone().unwrap_or_default(),
                        entry: String::new(),
                        reason: "no worker read this layer".into(),
                        source: None,
                    })
                })
        })
        .collect())
}

/// The result of analysing one image: per-layer contents, the merged view, and its figures.
#[derive(Debug)]
pub struct Analysis {
    figures: ImageFigures,
    layers: Vec<LayerContents>,
    layer_meta: Vec<LayerMeta>,
    tree: Tree,
    alignment: HistoryAlignment,
    history: Vec<crate::source::HistoryEntry>,
    base: (usize, &'static str),
    /// Index of the first history entry of this build, when the history says (buildah).
    first_own_history: Option<usize>,
    /// The image, for messages.
    image_path: std::path::PathBuf,
    /// Content sha256 values read again on demand, by (layer, entry).
    sha_cache: Mutex<HashMap<(u32, u32), [u8; 32]>>,
    /// Which content digests exist (none with [`ContentSha256::Omitted`]).
    content_sha256: ContentSha256,
    /// The first failure to read a file's content again after `run` (on demand only).
    content_error: Mutex<Option<Error>>,
}

#[derive(Debug, Clone)]
struct LayerMeta {
    media_type: String,
    available: bool,
    diff_id: String,
    toc: Option<crate::source::TocRead>,
}

impl Analysis {
    /// Read and analyse every layer of `image`.
    ///
    /// # Errors
    /// A layer that cannot be read (corrupt or truncated tar, bad gzip/zstd), a missing blob,
    /// or a digest/DiffID mismatch (unless `allow_digest_mismatch`).
    pub fn run(image: &Image, options: &AnalysisOptions) -> Result<Analysis> {
        let refs = image.layers();
        let results = read_layers(image, options)?;
        let mut layers = Vec::with_capacity(results.len());
        for r in results {
            layers.push(r?);
        }
        // A layer known from a table of contents has sha256 values, not bytes: then every
        // layer's contents are compared by their sha256 (layer.rs, `use_sha256_identity`).
        if layers.iter().any(LayerContents::has_sha256_identity) {
            for (i, c) in layers.iter_mut().enumerate() {
                if !c.has_sha256_identity() {
                    c.use_sha256_identity().map_err(|f| Error::Layer {
                        image: image.path().to_path_buf(),
                        index: i,
                        digest: c.blob_digest.clone(),
                        entry: f
                            .entry
                            .map(|e| format!(", entry {e:?}"))
                            .unwrap_or_default(),
                        reason: f.reason,
                        source: f.source,
                    })?;
                }
            }
        }
        let mut warnings: Vec<String> = image.warnings().to_vec();
        let mut layer_meta = Vec::with_capacity(refs.len());
        for (l, c) in refs.iter().zip(&layers) {
            let available = l.availability == LayerAvailability::Present;
            if available {
                let checks = [
                    ("blob", l.digest.as_deref(), c.blob_digest.as_str()),
                    ("diff_id", l.diff_id.as_deref(), c.diff_id.as_str()),
                ];
                for (what, expected, actual) in checks {
                    let Some(expected) = expected else { continue };
                    if !expected.starts_with("sha256:") {
                        warnings.push(format!("layer {}: {what} {expected} uses an algorithm layerscope does not verify", l.index));
                        continue;
                    }
                    if expected != actual {
                        let err = Error::DigestMismatch {
                            image: image.path().to_path_buf(),
                            what: format!("layer {} {what}", l.index),
                            expected: expected.to_string(),
                            actual: actual.to_string(),
                        };
                        if options.allow_digest_mismatch {
                            warnings.push(err.to_string());
                        } else {
                            return Err(err);
                        }
                    }
                }
                if let Some(size) = l.size
                    && size != c.blob_size
                {
                    let msg = format!(
                        "layer {}: the manifest says {size} bytes, the blob has {}",
                        l.index, c.blob_size
                    );
                    if options.allow_digest_mismatch {
                        warnings.push(msg);
                    } else {
                        return Err(Error::DigestMismatch {
                            image: image.path().to_path_buf(),
                            what: format!("layer {} size", l.index),
                            expected: size.to_string(),
                            actual: c.blob_size.to_string(),
                        });
                    }
                }
                if c.clamped_paths > 0 {
                    warnings.push(format!("layer {}: {} entries had paths climbing above the root (`../`); they were confined to it", l.index, c.clamped_paths));
                }
            }
            layer_meta.push(LayerMeta {
                media_type: l.media_type.clone(),
                available,
                diff_id: if available {
                    c.diff_id.clone()
                } else {
                    l.diff_id.clone().unwrap_or_default()
                },
                toc: image.toc_read(l.index).cloned(),
            });
        }
        let tree = Tree::merge(&layers);
        for (i, lc) in tree.layers.iter().enumerate() {
            if lc.dangling_hardlinks > 0 {
                warnings.push(format!(
                    "layer {i}: {} hardlinks point at paths that do not exist",
                    lc.dangling_hardlinks
                ));
            }
        }
        let config = image.config();
        let alignment = align_history(&config.history, layers.len());
        if let Some(note) = &alignment.note {
            warnings.push(format!("history: {note}"));
        }
        let first_own_history = first_own_history_entry(&config.history);
        let base = match options.base_layers {
            Some(n) => (n.min(layers.len()), "flag"),
            None => match first_own_history {
                Some(first) => (
                    alignment
                        .layer_entries
                        .iter()
                        .filter(|e| e.is_some_and(|i| i < first))
                        .count(),
                    "history",
                ),
                None => (0, "none"),
            },
        };
        let info = ImageInfo {
            source: image.path().display().to_string(),
            transport: image.transport(),
            format: image.format(),
            reference: image.reference().map(str::to_string),
            platform: image.platform(),
            config_digest: image.config_digest().to_string(),
            manifest_digest: image.manifest_digest().map(str::to_string),
            created: config.created.clone(),
            user: config.config.user.clone(),
            exposed_ports: config.config.exposed_ports.keys().cloned().collect(),
        };
        // Compressed sizes of absent layers come from the manifest.
        for (l, c) in refs.iter().zip(layers.iter_mut()) {
            if l.availability != LayerAvailability::Present {
                c.blob_size = l.size.unwrap_or(0);
            }
        }
        let history = config.history.clone();
        let (figures, sources) = figures::measure(
            figures::Parts {
                layers: &layers,
                layer_meta: &layer_meta,
                tree: &tree,
                alignment: &alignment,
                history: &history,
                base,
            },
            info,
            warnings,
        );
        let mut analysis = Analysis {
            figures,
            layers,
            layer_meta,
            tree,
            alignment,
            history,
            base,
            first_own_history,
            image_path: image.path().to_path_buf(),
            sha_cache: Mutex::new(HashMap::new()),
            content_sha256: options.content_sha256,
            content_error: Mutex::new(None),
        };
        if options.content_sha256 == ContentSha256::Omitted {
            return Ok(analysis);
        }
        analysis.resolve_sha256(sources.waste.iter().chain(&sources.duplicates).copied())?;
        let sha = |list: &[(u32, u32)]| -> Vec<[u8; 32]> {
            list.iter().map(|s| analysis.sha256_of(*s)).collect()
        };
        let (waste_sha, duplicate_sha) = (sha(&sources.waste), sha(&sources.duplicates));
        figures::fill_sha256(&mut analysis.figures, &waste_sha, &duplicate_sha);
        analysis.content_digest_error()?;
        Ok(analysis)
    }

    /// A layer failure as the crate's error.
    fn layer_error(&self, layer: u32, f: LayerFailure) -> Error {
        let digest = self
            .layers
            .get(layer as usize)
            .map(|c| c.blob_digest.clone());
        layer_failure(
            &self.image_path,
            layer as usize,
            digest.unwrap_or_default(),
            f,
        )
    }

    /// Read again, in parallel, the contents of these (layer, entry) sources whose sha256 the
    /// layers did not keep, into the cache. In file order, so that reads move forward.
    fn resolve_sha256(&self, sources: impl Iterator<Item = (u32, u32)>) -> Result<()> {
        if self.content_sha256 == ContentSha256::Omitted {
            return Ok(());
        }
        let mut todo: Vec<(u32, u32)> = sources
            .filter(|(l, _)| {
                self.layers
                    .get(*l as usize)
                    .is_some_and(|c| !c.has_inline_sha256())
            })
            .collect();
        todo.sort_unstable();
        todo.dedup();
        {
            let cache = self
                .sha_cache
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            todo.retain(|s| !cache.contains_key(s));
        }
        if todo.is_empty() {
            return Ok(());
        }
        let got = todo
            .par_iter()
            .map(|&(l, e)| {
                let layer = self.layers.get(l as usize);
                layer
                    .map_or(Ok([0; 32]), |c| c.content_sha256(e))
                    .map(|sha| ((l, e), sha))
                    .map_err(|f| self.layer_error(l, f))
            })
            .collect::<Result<Vec<_>>>()?;
        self.sha_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(got);
        Ok(())
    }

    /// As [`Analysis::resolve_sha256`], for listings: a failure is kept for
    /// [`Analysis::content_digest_error`].
    fn prefetch_sha256(&self, sources: impl Iterator<Item = (u32, u32)>) {
        if let Err(e) = self.resolve_sha256(sources) {
            self.note_content_error(e);
        }
    }

    fn note_content_error(&self, e: Error) {
        let mut slot = self
            .content_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if slot.is_none() {
            *slot = Some(e);
        }
    }

    /// The content sha256 of a (layer, entry) source (zero for entries without content).
    fn sha256_of(&self, (l, e): (u32, u32)) -> [u8; 32] {
        if self.content_sha256 == ContentSha256::Omitted {
            return [0; 32];
        }
        let Some(c) = self.layers.get(l as usize) else {
            return [0; 32];
        };
        if c.has_inline_sha256() {
            // Kept from the stream: no read, no failure.
            return c.content_sha256(e).unwrap_or([0; 32]);
        }
        if let Some(s) = self
            .sha_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(l, e))
        {
            return *s;
        }
        match c.content_sha256(e) {
            Ok(s) => {
                self.sha_cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert((l, e), s);
                s
            }
            Err(f) => {
                self.note_content_error(self.layer_error(l, f));
                [0; 32]
            }
        }
    }

    /// With [`ContentSha256::OnDemand`], the listings and reports made
    /// after [`Analysis::run`] read the files they show again for their sha256; a read that
    /// failed (the image file changed or became unreadable meanwhile) left a zero digest in
    /// that output and is reported here, once. Check it before writing such an output.
    ///
    /// # Errors
    /// The first such failure, naming the layer and entry.
    pub fn content_digest_error(&self) -> Result<()> {
        match self
            .content_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The image's figures: per layer, totals, base split, every waste item and duplicate
    /// group, measured once by [`Analysis::run`].
    pub fn figures(&self) -> &ImageFigures {
        &self.figures
    }

    /// The figures, the rest of the analysis dropped.
    pub(crate) fn into_figures(self) -> ImageFigures {
        self.figures
    }

    /// Take the base-image boundary from a Dockerfile attribution: the layers below the first
    /// instruction of the target's stage chain that made a layer are the base image's. BuildKit
    /// copies the base image's history into the image without marking where it ends (no
    /// `FROM <image>` comment as buildah writes), so without a Dockerfile there is no base.
    /// Kept as is when `--base` / `--base-layers` set it (source `flag`) or when no history
    /// entry matched an instruction (the Dockerfile is not this image's).
    pub fn adopt_dockerfile_base(&mut self, attribution: &crate::attribution::Attribution) {
        let matched = attribution
            .instructions
            .iter()
            .any(|c| c.history_index.is_some() || !c.layers.is_empty());
        if self.base.1 == "flag" || !matched {
            return;
        }
        let n = attribution
            .base_layers
            .iter()
            .enumerate()
            .take_while(|(i, l)| i == *l)
            .count();
        self.set_base_layers(n, "dockerfile");
    }

    /// Set the base-image boundary after the fact (e.g. from a base image's diff_ids).
    pub fn set_base_layers(&mut self, n: usize, source: &'static str) {
        self.base = (n.min(self.layers.len()), source);
        figures::apply_base(&mut self.figures, self.base);
    }

    /// The DiffIDs of the layers, base first.
    pub fn diff_ids(&self) -> Vec<String> {
        self.layer_meta.iter().map(|m| m.diff_id.clone()).collect()
    }

    /// The instruction (history `created_by`) of a layer.
    pub fn created_by(&self, layer: usize) -> Option<&str> {
        created_by(&self.alignment, &self.history, layer)
    }

    /// Visit every visible non-directory of the final image (path, content bytes, layer)
    /// without building a list.
    pub fn for_each_final_file(&self, mut f: impl FnMut(&str, u64, Option<usize>)) {
        self.tree.for_each_visible(&self.layers, false, |path, v| {
            let size = if v.kind == EntryKind::File { v.size } else { 0 };
            f(path, size, v.layer);
        });
    }

    /// The target of every symbolic link of the final image, by path.
    pub(crate) fn final_symlink_targets(&self) -> HashMap<String, String> {
        symlink_targets(&self.layers, &self.tree)
    }

    /// Every visible non-directory of the final image, in tree order.
    pub fn final_files(&self) -> Vec<FileRecord> {
        self.final_files_with_identity()
            .into_iter()
            .map(|(f, _)| f)
            .collect()
    }

    /// As [`Analysis::final_files`], each with the identity of its content (zero for entries
    /// without content): what [`crate::ImageDiff`] compares, so that two images can be
    /// compared without any content sha256.
    pub(crate) fn final_files_with_identity(&self) -> Vec<(FileRecord, ContentId)> {
        let visible = self.tree.visible(&self.layers);
        self.prefetch_sha256(visible.iter().filter_map(|v| v.source));
        visible
            .into_iter()
            .map(|v| {
                let id = v
                    .source
                    .and_then(|(l, e)| self.layers.get(l as usize)?.entries.get(e as usize))
                    .map(|e| e.id)
                    .unwrap_or_default();
                (self.file_record(v, None), id)
            })
            .collect()
    }

    /// Are contents identified by sha256 prefixes (layers known from a table of contents)
    /// rather than XXH3-128? Two analyses' identities compare only when this agrees.
    pub(crate) fn identifies_by_sha256(&self) -> bool {
        self.layers.iter().any(LayerContents::has_sha256_identity)
    }

    /// Visit the filesystem as it stands after `layer`, directories included, in tree order,
    /// with that layer's changes marked and the paths it removed listed as `Deleted` with the
    /// bytes they held: the entries of [`Analysis::tree_view`]`(Some(layer), false)`, without
    /// formatting a content hash or allocating a path per entry (the path is a reused
    /// buffer). A deletion comes just before an entry the same layer put at the same path,
    /// so that a folder's children always follow the folder. A `layer` past the top is the
    /// top layer.
    pub fn for_each_entry(&self, layer: usize, mut f: impl FnMut(TreeEntry<'_>)) {
        let n = layer.min(self.layers.len().saturating_sub(1));
        self.with_layer_tree(n, |tree, changes, marks| {
            let mut deleted: Vec<(String, EntryKind, u64)> = changes
                .iter()
                .filter(|c| c.kind == ChangeKind::Deleted)
                .map(|c| (tree.path_of(c.node), c.entry_kind, c.removed_bytes))
                .collect();
            deleted.sort_by(|a, b| tree_order(&a.0, &b.0));
            let mut pending = deleted.iter().peekable();
            fn deletion(d: &(String, EntryKind, u64), layer: usize) -> TreeEntry<'_> {
                TreeEntry {
                    path: &d.0,
                    kind: d.1,
                    size_bytes: d.2,
                    layer: Some(layer),
                    mode: 0,
                    uid: 0,
                    gid: 0,
                    mtime: 0,
                    has_xattrs: false,
                    change: Some(ChangeKind::Deleted),
                }
            }
            tree.for_each_visible(&self.layers, true, |path, v| {
                while let Some(d) = pending.next_if(|d| tree_order(&d.0, path).is_le()) {
                    f(deletion(d, n));
                }
                f(TreeEntry {
                    path,
                    kind: v.kind,
                    size_bytes: if v.kind == EntryKind::File { v.size } else { 0 },
                    layer: v.layer,
                    mode: v.mode,
                    uid: v.uid,
                    gid: v.gid,
                    mtime: v.mtime,
                    has_xattrs: v.has_xattrs,
                    change: marks.get(&v.node).copied(),
                });
            });
            for d in pending {
                f(deletion(d, n));
            }
        })
    }

    /// The filesystem as it stands after `layer` (the final image when `None`), directories
    /// included, in tree order. For a layer, entries that layer changed carry their change
    /// marker (added, modified, metadata-only) and the paths it removed are listed as
    /// `deleted` with the bytes they held; `changes_only` keeps just those.
    pub fn tree_view(&self, layer: Option<usize>, changes_only: bool) -> Vec<FileRecord> {
        let n = match layer {
            Some(n) => n.min(self.layers.len().saturating_sub(1)),
            None => {
                let listing = self.tree.listing(&self.layers, true);
                self.prefetch_sha256(listing.iter().filter_map(|v| v.source));
                let mut v: Vec<FileRecord> = listing
                    .into_iter()
                    .map(|v| self.file_record(v, None))
                    .collect();
                v.sort_by(|a, b| tree_order(&a.path, &b.path));
                return v;
            }
        };
        self.with_layer_tree(n, |tree, changes, marks| {
            let listing: Vec<(crate::tree::Visible, Option<ChangeKind>)> = tree
                .listing(&self.layers, true)
                .into_iter()
                .filter_map(|v| {
                    let mark = marks.get(&v.node).copied();
                    (!changes_only || mark.is_some()).then_some((v, mark))
                })
                .collect();
            self.prefetch_sha256(listing.iter().filter_map(|(v, _)| v.source));
            let mut out: Vec<FileRecord> = listing
                .into_iter()
                .map(|(v, mark)| self.file_record(v, mark))
                .collect();
            out.extend(
                changes
                    .iter()
                    .filter(|c| c.kind == ChangeKind::Deleted)
                    .map(|c| FileRecord {
                        path: tree.path_of(c.node),
                        kind: c.entry_kind,
                        size_bytes: c.removed_bytes,
                        layer: Some(n),
                        sha256: None,
                        mode: 0,
                        uid: 0,
                        gid: 0,
                        mtime: 0,
                        has_xattrs: false,
                        change: Some(ChangeKind::Deleted),
                    }),
            );
            out.sort_by(|a, b| tree_order(&a.path, &b.path).then(a.change.cmp(&b.change)));
            out
        })
    }

    /// The filesystem after layer `n` (the analysis's own tree for the top layer, a merge of
    /// the layers up to `n` otherwise), that layer's changes, and the change marker of each
    /// node it added or modified (deletions excluded), handed to `f`.
    fn with_layer_tree<R>(
        &self,
        n: usize,
        f: impl FnOnce(&Tree, &[crate::tree::Change], HashMap<u32, ChangeKind>) -> R,
    ) -> R {
        let partial;
        let tree = if n + 1 == self.layers.len() {
            &self.tree
        } else {
            partial = Tree::merge(self.layers.get(..=n).unwrap_or(&[]));
            &partial
        };
        let changes = tree
            .layers
            .get(n)
            .map(|l| l.changes.as_slice())
            .unwrap_or(&[]);
        let marks: HashMap<u32, ChangeKind> = changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Deleted)
            .map(|c| (c.node, c.kind))
            .collect();
        f(tree, changes, marks)
    }

    /// The figures dive 0.13.1 prints for this image (efficiency, wastedBytes,
    /// userWastedPercent, inefficient files), reproduced with its bugs, for `--compat dive`.
    /// They are not layerscope's figures: see [`DiveFigures`] for dive's rules.
    pub fn dive_compat(&self) -> DiveFigures {
        crate::compat::dive_figures(&self.layers)
    }

    /// The largest visible files (at most `want`) that `filter` keeps, largest first, then
    /// by path.
    pub(crate) fn largest_files(&self, want: usize, filter: &FileFilter) -> Vec<FileRecord> {
        let mut largest: Vec<crate::tree::Visible> = Vec::new();
        if want == 0 {
            return Vec::new();
        }
        let mut floor = 0u64;
        self.tree.for_each_visible(&self.layers, false, |path, v| {
            if v.kind == EntryKind::File
                && (largest.len() < want || v.size >= floor)
                && filter.matches(path, v.size)
            {
                largest.push(crate::tree::Visible {
                    path: path.to_string(),
                    ..v
                });
                if largest.len() >= 2 * want.max(16) {
                    largest.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
                    largest.truncate(want);
                    floor = largest.last().map_or(0, |f| f.size);
                }
            }
        });
        largest.sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
        largest.truncate(want);
        self.prefetch_sha256(largest.iter().filter_map(|v| v.source));
        largest
            .into_iter()
            .map(|v| self.file_record(v, None))
            .collect()
    }

    /// The config history, and which entry each layer came from.
    pub(crate) fn history(&self) -> (&[crate::source::HistoryEntry], &HistoryAlignment) {
        (&self.history, &self.alignment)
    }

    /// The first history entry of this build (buildah's `FROM <image>` marker), if known.
    pub(crate) fn first_own_history(&self) -> Option<usize> {
        self.first_own_history
    }

    /// How many bottom layers are the base image.
    pub(crate) fn base_layers(&self) -> usize {
        self.base.0
    }
}

/// A layer reader's failure as the crate's error, naming the image, the layer and the entry.
fn layer_failure(image: &std::path::Path, index: usize, digest: String, f: LayerFailure) -> Error {
    Error::Layer {
        image: image.to_path_buf(),
        index,
        digest,
        entry: f
            .entry
            .map(|e| format!(", entry {e:?}"))
            .unwrap_or_default(),
        reason: f.reason,
        source: f.source,
    }
}

/// The instruction (history `created_by`) of a layer.
fn created_by<'h>(
    alignment: &HistoryAlignment,
    history: &'h [crate::source::HistoryEntry],
    layer: usize,
) -> Option<&'h str> {
    let idx = (*alignment.layer_entries.get(layer)?)?;
    history.get(idx)?.created_by.as_deref()
}

/// The target of every visible symbolic link of `tree` (merged from `layers`), by path. The
/// entry that made a visible path is the last entry for that path in its layer (image-spec
/// layer.md, "Changeset over existing files"), so each layer's symlinks are read last-wins.
pub(crate) fn symlink_targets(layers: &[LayerContents], tree: &Tree) -> HashMap<String, String> {
    let mut by_layer: HashMap<(usize, &str), &str> = HashMap::new();
    for (l, layer) in layers.iter().enumerate() {
        for e in layer
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Symlink)
        {
            by_layer.insert((l, layer.path(e)), layer.link(e).unwrap_or(""));
        }
    }
    let mut out = HashMap::new();
    if by_layer.is_empty() {
        return out;
    }
    tree.for_each_visible(layers, false, |path, v| {
        if v.kind == EntryKind::Symlink
            && let Some(l) = v.layer
            && let Some(target) = by_layer.get(&(l, path))
        {
            out.insert(path.to_string(), (*target).to_string());
        }
    });
    out
}

/// One entry of the filesystem after a layer, as [`Analysis::for_each_entry`] visits it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct TreeEntry<'a> {
    /// Path, without a leading `/`.
    pub path: &'a str,
    /// Entry type.
    pub kind: EntryKind,
    /// Content bytes (regular files); for a deletion, the bytes it removed.
    pub size_bytes: u64,
    /// Layer of the entry (for a deletion: the layer that deleted it); `None` for a
    /// directory that exists only because paths below it do.
    pub layer: Option<usize>,
    /// Permission bits (and setuid/setgid/sticky); 0 for a deletion.
    pub mode: u32,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Modification time (seconds since the epoch).
    pub mtime: u64,
    /// Whether the entry carries extended attributes.
    pub has_xattrs: bool,
    /// How the layer changed the path, if it did.
    pub change: Option<ChangeKind>,
}

impl Analysis {
    fn file_record(&self, v: crate::tree::Visible, change: Option<ChangeKind>) -> FileRecord {
        let is_content =
            v.inode.is_some() && matches!(v.kind, EntryKind::File | EntryKind::Hardlink);
        FileRecord {
            path: v.path,
            kind: v.kind,
            size_bytes: if v.kind == EntryKind::File { v.size } else { 0 },
            layer: v.layer,
            sha256: (is_content && self.content_sha256 != ContentSha256::Omitted).then(|| {
                let sha = v.source.map_or([0; 32], |s| self.sha256_of(s));
                format!("sha256:{}", to_hex(&sha))
            }),
            mode: v.mode,
            uid: v.uid,
            gid: v.gid,
            mtime: v.mtime,
            has_xattrs: v.has_xattrs,
            change,
        }
    }
}

/// Tree order: component by component, so a directory's children follow it directly.
pub(crate) fn tree_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// buildah and the classic builder carry the base image's history into the child, and
/// buildah marks each step with a `FROM <parent>` comment; the step whose comment names an
/// image (not a bare 12-hex intermediate ID) is the first instruction of this build.
fn first_own_history_entry(history: &[crate::source::HistoryEntry]) -> Option<usize> {
    history.iter().rposition(|h| {
        h.comment
            .as_deref()
            .and_then(|c| c.strip_prefix("FROM "))
            .is_some_and(|name| {
                let name = name.trim();
                !(name.len() == 12 && name.bytes().all(|b| b.is_ascii_hexdigit()))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{ImageBuilder, LayerBuilder, Layout};

    fn analysed(layers: Vec<LayerBuilder>) -> Analysis {
        let dir = tempfile::tempdir().unwrap();
        let mut b = ImageBuilder::new();
        for l in layers {
            b = b.layer(l);
        }
        let path = dir.path().join("image.tar");
        std::fs::write(&path, b.archive(Layout::OciArchive)).unwrap();
        let image = Image::open(&path).unwrap();
        Analysis::run(&image, &AnalysisOptions::default()).unwrap()
    }

    /// `for_each_entry` lists what `tree_view(Some(n), false)` lists, in the same order (a
    /// deletion sorts before a live entry at the same path, which these layers do not have).
    #[test]
    fn for_each_entry_is_tree_view_without_hashes() {
        let a = analysed(vec![
            LayerBuilder::new()
                .dir("etc")
                .file("etc/a", b"aaaa")
                .file("etc/b", b"bb")
                .dir("d")
                .file("d/x", b"x"),
            LayerBuilder::new()
                .whiteout("etc/a")
                .file("etc/c", b"ccc")
                .opaque("d")
                .file("d/y", b"yy"),
        ]);
        for n in 0..2 {
            let mut seen = Vec::new();
            a.for_each_entry(n, |e| {
                seen.push((
                    e.path.to_string(),
                    e.kind,
                    e.size_bytes,
                    e.layer,
                    e.mode,
                    e.change,
                ))
            });
            let want: Vec<_> = a
                .tree_view(Some(n), false)
                .into_iter()
                .map(|r| (r.path, r.kind, r.size_bytes, r.layer, r.mode, r.change))
                .collect();
            assert_eq!(seen, want, "layer {n}");
        }
        // Layer 1 by hand: d/x hidden by the opaque marker (1 byte), etc/a deleted (4 bytes),
        // each listed in tree order among the live entries.
        let mut rows = Vec::new();
        a.for_each_entry(1, |e| {
            rows.push((e.path.to_string(), e.change, e.size_bytes))
        });
        let paths: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(paths, ["d", "d/x", "d/y", "etc", "etc/a", "etc/b", "etc/c"]);
        let deleted: Vec<(&str, u64)> = rows
            .iter()
            .filter(|r| r.1 == Some(ChangeKind::Deleted))
            .map(|r| (r.0.as_str(), r.2))
            .collect();
        assert_eq!(deleted, [("d/x", 1), ("etc/a", 4)]);
        let added: Vec<&str> = rows
            .iter()
            .filter(|r| r.1 == Some(ChangeKind::Added))
            .map(|r| r.0.as_str())
            .collect();
        assert_eq!(added, ["d/y", "etc/c"]);
        // A layer past the top is the top layer.
        let mut top = 0;
        a.for_each_entry(9, |_| top += 1);
        assert_eq!(top, rows.len());
    }

    /// A folder deleted and made again by the same layer: the whiteout removes the lower
    /// `app` and `app/old` below it, the layer's own `app` is new. The deletion of `app`
    /// comes first, so the new folder's children follow the folder directly (`tree_view`
    /// sorts it after the new `app`).
    #[test]
    fn a_deletion_precedes_the_new_entry_at_its_path() {
        let a = analysed(vec![
            LayerBuilder::new().dir("app").file("app/old", b"old"),
            LayerBuilder::new()
                .whiteout("app")
                .dir("app")
                .file("app/new", b"new!"),
        ]);
        let mut rows = Vec::new();
        a.for_each_entry(1, |e| {
            rows.push((e.path.to_string(), e.change, e.size_bytes))
        });
        let deleted = Some(ChangeKind::Deleted);
        let added = Some(ChangeKind::Added);
        assert_eq!(
            rows,
            [
                ("app".to_string(), deleted, 3),
                ("app".to_string(), added, 0),
                ("app/new".to_string(), added, 4),
                ("app/old".to_string(), deleted, 3),
            ]
        );
    }
}
