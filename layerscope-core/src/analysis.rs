//! `Analysis::run`: read every layer in parallel (the one rayon seam), verify digests, merge
//! the filesystem view, and derive the figures of the report.

use crate::attribution::{HistoryAlignment, align_history};
use crate::compat::DiveFigures;
use crate::digest::to_hex;
use crate::error::{Error, Result};
use crate::layer::{EntryKind, LayerContents, LayerOptions, read_layer_with};
use crate::report::{
    BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageInfo, LayerReport, Report,
    SCHEMA_VERSION, ToolInfo, Totals, WasteItem,
};
use crate::source::{Image, LayerAvailability};
use crate::tree::{ChangeKind, Tree, WasteKind};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// How many largest files a report lists when no `top` is given.
const DEFAULT_LARGEST_FILES: usize = 20;

/// What a report lists: the figures in `totals` and `layers` are never filtered.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Keep only this many waste items, duplicate groups and largest files (all waste items
    /// and groups, and 20 files, when `None`).
    pub top: Option<usize>,
    /// Which paths and sizes the lists keep.
    pub filter: crate::filter::FileFilter,
}

impl ReportOptions {
    /// Cut the lists to `n` entries.
    pub fn top(mut self, n: usize) -> Self {
        self.top = Some(n);
        self
    }
    /// Filter the lists.
    pub fn filter(mut self, filter: crate::filter::FileFilter) -> Self {
        self.filter = filter;
        self
    }
}

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
    let read_one = |l: &crate::source::LayerRef| -> Result<LayerContents> {
        let Some((reader, _)) = image.open_layer(l)? else {
            return Ok(LayerContents::missing(l.digest.as_deref()));
        };
        let layer_options = LayerOptions {
            progress: options.progress.clone(),
            zstd_window_log_max: log_max,
            threads: hint(l).is_none_or(|s| s >= INLINE_HASH_BELOW),
        };
        read_layer_with(reader, &layer_options).map_err(|f| Error::Layer {
            image: image.path().to_path_buf(),
            index: l.index,
            digest: l
                .digest
                .clone()
                .or_else(|| l.diff_id.clone())
                .unwrap_or_default(),
            entry: f
                .entry
                .map(|e| format!(", entry {e:?}"))
                .unwrap_or_default(),
            reason: f.reason,
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
                    })
                })
        })
        .collect())
}

/// The result of analysing one image: per-layer contents, the merged view, and its figures.
#[derive(Debug)]
pub struct Analysis {
    info: ImageInfo,
    layers: Vec<LayerContents>,
    layer_meta: Vec<LayerMeta>,
    tree: Tree,
    alignment: HistoryAlignment,
    history: Vec<crate::source::HistoryEntry>,
    base: (usize, &'static str),
    /// Index of the first history entry of this build, when the history says (buildah).
    first_own_history: Option<usize>,
    warnings: Vec<String>,
}

#[derive(Debug, Clone)]
struct LayerMeta {
    media_type: String,
    available: bool,
    diff_id: String,
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
        Ok(Analysis {
            info,
            layers,
            layer_meta,
            tree,
            alignment,
            history: config.history.clone(),
            base,
            first_own_history,
            warnings,
        })
    }

    /// Attribute layers and bytes to the instructions of `dockerfile` (its last stage, and the
    /// stages it builds on) by matching the config history to the instructions, for every
    /// builder's history style.
    ///
    /// # Errors
    /// An expansion error while evaluating the Dockerfile with `build_args`.
    pub fn attribute(
        &self,
        dockerfile: &crate::dockerfile::Dockerfile,
        build_args: &BTreeMap<String, String>,
    ) -> Result<crate::attribution::Attribution> {
        use crate::attribution::{InstructionCost, chain_steps, match_history};
        let target = dockerfile.stages().len().saturating_sub(1);
        let steps = chain_steps(dockerfile, target, build_args)?;
        let first = self.first_own_history.unwrap_or(0);
        let matched = match_history(&self.history, first, &steps);
        let report = self.report();
        let mut costs: Vec<InstructionCost> = steps
            .iter()
            .map(|s| InstructionCost {
                stage: s.stage,
                stage_name: s.stage_name.clone(),
                index: s.index,
                line: s.span.first_line,
                last_line: s.span.last_line,
                instruction: s.original.clone(),
                history_index: None,
                layers: Vec::new(),
                size_bytes: 0,
                compressed_size_bytes: 0,
                wasted_bytes_introduced: 0,
                squashed: false,
                squashed_lines: Vec::new(),
            })
            .collect();
        for (h, m) in matched.iter().enumerate() {
            if let Some(j) = m
                && let Some(c) = costs.get_mut(*j)
            {
                c.history_index = Some(h);
            }
        }
        let first_matched = matched.iter().position(Option::is_some);
        let mut base_layers = Vec::new();
        let mut unmatched = Vec::new();
        let mut notes = Vec::new();
        let mut prev_step: Option<usize> = None;
        // A squash's layer sits on a history entry of its own (no `created_by`, see
        // `squash_kind`); it holds the output of every step, shown on the last matched one.
        let last_matched = matched.iter().flatten().max().copied();
        for (l, entry) in self.alignment.layer_entries.iter().enumerate() {
            let squash = entry
                .and_then(|h| self.history.get(h))
                .and_then(crate::attribution::squash_kind);
            let step = match entry.and_then(|h| matched.get(h).copied().flatten()) {
                None if squash.is_some() => last_matched,
                s => s,
            };
            let Some(j) = step else {
                let before_build = match (entry, first_matched) {
                    (Some(h), Some(f)) => *h < f,
                    (None, Some(_)) => prev_step.is_none(),
                    _ => l < self.base.0,
                };
                if before_build {
                    base_layers.push(l)
                } else {
                    unmatched.push(l)
                }
                continue;
            };
            let layer = report.layers.get(l);
            let squashed_lines: Vec<usize> = match steps.get(j) {
                Some(_) if squash.is_some() => steps
                    .iter()
                    .take(j)
                    .filter(|st| crate::attribution::makes_layer(&st.kind))
                    .map(|st| st.span.first_line)
                    .collect(),
                Some(s) if !crate::attribution::makes_layer(&s.kind) => steps
                    .iter()
                    .enumerate()
                    .filter(|(k, st)| {
                        prev_step.is_none_or(|p| *k > p)
                            && *k < j
                            && crate::attribution::makes_layer(&st.kind)
                    })
                    .map(|(_, st)| st.span.first_line)
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(c) = costs.get_mut(j) {
                c.layers.push(l);
                c.size_bytes += layer.map_or(0, |x| x.size_bytes);
                c.compressed_size_bytes += layer.map_or(0, |x| x.compressed_size_bytes);
                c.wasted_bytes_introduced += layer.map_or(0, |x| x.wasted_bytes_introduced);
                if squash == Some(crate::attribution::Squash::Whole) {
                    notes.push(format!(
                        "layer {l} squashes the whole image, the base image's files included: no layer is the base"
                    ));
                }
                if !squashed_lines.is_empty() {
                    notes.push(format!(
                        "layer {l} holds the output of lines {} (a squashed build); its bytes are shown on line {}",
                        squashed_lines.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "),
                        c.line
                    ));
                    c.squashed = true;
                    c.squashed_lines = squashed_lines;
                }
            }
            prev_step = Some(j);
        }
        if !unmatched.is_empty() {
            notes.push(format!(
                "layers {:?} could not be matched to an instruction of {}: is it the Dockerfile this image was built from?",
                unmatched,
                dockerfile.file_name()
            ));
        }
        costs.retain(|c| c.history_index.is_some() || !c.layers.is_empty());
        Ok(crate::attribution::Attribution {
            dockerfile: dockerfile.file_name().to_string(),
            target_stage: target,
            instructions: costs,
            base_layers,
            unmatched_layers: unmatched,
            notes,
        })
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
        self.base = (n.min(self.layers.len()), "dockerfile");
    }

    /// Set the base-image boundary after the fact (e.g. from a base image's diff_ids).
    pub fn set_base_layers(&mut self, n: usize, source: &'static str) {
        self.base = (n.min(self.layers.len()), source);
    }

    /// The DiffIDs of the layers, base first.
    pub fn diff_ids(&self) -> Vec<String> {
        self.layer_meta.iter().map(|m| m.diff_id.clone()).collect()
    }

    /// The instruction (history `created_by`) of a layer.
    pub fn created_by(&self, layer: usize) -> Option<&str> {
        let idx = (*self.alignment.layer_entries.get(layer)?)?;
        self.history.get(idx)?.created_by.as_deref()
    }

    /// Visit every visible non-directory of the final image (path, content bytes, layer)
    /// without building a list.
    pub fn for_each_final_file(&self, mut f: impl FnMut(&str, u64, Option<usize>)) {
        self.tree.for_each_visible(&self.layers, false, |path, v| {
            let size = if v.kind == EntryKind::File { v.size } else { 0 };
            f(path, size, v.layer);
        });
    }

    /// Every visible non-directory of the final image, in tree order.
    pub fn final_files(&self) -> Vec<FileRecord> {
        self.tree
            .visible(&self.layers)
            .into_iter()
            .map(|v| file_record(v, None))
            .collect()
    }

    /// The filesystem as it stands after `layer` (the final image when `None`), directories
    /// included, in tree order. For a layer, entries that layer changed carry their change
    /// marker (added, modified, metadata-only) and the paths it removed are listed as
    /// `deleted` with the bytes they held; `changes_only` keeps just those.
    pub fn tree_view(&self, layer: Option<usize>, changes_only: bool) -> Vec<FileRecord> {
        let n = match layer {
            Some(n) => n.min(self.layers.len().saturating_sub(1)),
            None => {
                let mut v: Vec<FileRecord> = self
                    .tree
                    .listing(&self.layers, true)
                    .into_iter()
                    .map(|v| file_record(v, None))
                    .collect();
                v.sort_by(|a, b| tree_order(&a.path, &b.path));
                return v;
            }
        };
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
        let mut out: Vec<FileRecord> = tree
            .listing(&self.layers, true)
            .into_iter()
            .filter_map(|v| {
                let mark = marks.get(&v.node).copied();
                (!changes_only || mark.is_some()).then(|| file_record(v, mark))
            })
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
    }

    /// The figures dive 0.13.1 prints for this image (efficiency, wastedBytes,
    /// userWastedPercent, inefficient files), reproduced with its bugs, for `--compat dive`.
    /// They are not layerscope's figures: see [`DiveFigures`] for dive's rules.
    pub fn dive_compat(&self) -> DiveFigures {
        crate::compat::dive_figures(&self.layers)
    }

    /// Build the serialisable report with every waste item and duplicate group.
    pub fn report(&self) -> Report {
        self.report_with(&ReportOptions::default())
    }

    /// Build the serialisable report, filtered and cut as `options` says.
    pub fn report_with(&self, options: &ReportOptions) -> Report {
        let base_n = self.base.0;
        let mut per_layer_introduced = vec![0u64; self.layers.len()];
        let mut per_layer_hides = vec![0u64; self.layers.len()];
        let mut by_kind: BTreeMap<WasteKind, u64> = BTreeMap::new();
        let mut user_wasted = 0u64;
        let mut waste: Vec<WasteItem> = Vec::with_capacity(self.tree.hidden.len());
        for h in &self.tree.hidden {
            if let Some(x) = per_layer_introduced.get_mut(h.added_by) {
                *x += h.bytes;
            }
            if let Some(x) = per_layer_hides.get_mut(h.hidden_by) {
                *x += h.bytes;
            }
            *by_kind.entry(h.kind).or_default() += h.bytes;
            if h.hidden_by >= base_n {
                user_wasted += h.bytes;
            }
            waste.push(WasteItem {
                path: self.tree.path_of(h.node),
                bytes: h.bytes,
                kind: h.kind,
                added_by_layer: h.added_by,
                added_by: self.created_by(h.added_by).map(str::to_string),
                hidden_by_layer: h.hidden_by,
                hidden_by: self.created_by(h.hidden_by).map(str::to_string),
                sha256: format!("sha256:{}", to_hex(&h.sha256)),
            });
        }
        waste.retain(|w| options.filter.matches(&w.path, w.bytes));
        waste.sort_by(|a, b| {
            b.bytes
                .cmp(&a.bytes)
                .then_with(|| a.path.cmp(&b.path))
                .then(a.added_by_layer.cmp(&b.added_by_layer))
        });

        let mut layers = Vec::with_capacity(self.layers.len());
        for (i, (c, m)) in self.layers.iter().zip(&self.layer_meta).enumerate() {
            let size_bytes: u64 = c
                .entries
                .iter()
                .filter(|e| e.kind == EntryKind::File)
                .map(|e| e.size)
                .sum();
            let (mut added, mut modified, mut meta_only, mut deleted) = (0, 0, 0, 0);
            if let Some(lc) = self.tree.layers.get(i) {
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
                size_bytes,
                tar_size_bytes: c.tar_size,
                entries: c.entries.len() as u64,
                created_by: self.created_by(i).map(str::to_string),
                history_index: self.alignment.layer_entries.get(i).copied().flatten(),
                files_added: added,
                files_modified: modified,
                files_metadata_only: meta_only,
                files_deleted: deleted,
                wasted_bytes_introduced: per_layer_introduced.get(i).copied().unwrap_or(0),
                hides_bytes: per_layer_hides.get(i).copied().unwrap_or(0),
                base: i < base_n,
            });
        }

        // One pass over the final view, without a path string per file: counts, content
        // groups for duplicates, and the largest files.
        let want = options.top.unwrap_or(DEFAULT_LARGEST_FILES);
        let mut final_files = 0u64;
        // (inode, node) of every visible file with content; grouped by content below.
        let mut with_content: Vec<(u32, u32)> = Vec::new();
        let mut largest: Vec<FileRecord> = Vec::new();
        let mut floor = 0u64;
        self.tree.for_each_visible(&self.layers, false, |path, v| {
            final_files += 1;
            if let Some(inode) = v.inode
                && v.size > 0
            {
                with_content.push((inode, v.node));
            }
            if v.kind == EntryKind::File
                && want > 0
                && (largest.len() < want || v.size >= floor)
                && options.filter.matches(path, v.size)
            {
                largest.push(file_record(
                    crate::tree::Visible {
                        path: path.to_string(),
                        ..v
                    },
                    None,
                ));
                if largest.len() >= 2 * want.max(16) {
                    largest.sort_by(|a, b| {
                        b.size_bytes
                            .cmp(&a.size_bytes)
                            .then_with(|| a.path.cmp(&b.path))
                    });
                    largest.truncate(want);
                    floor = largest.last().map_or(0, |f| f.size_bytes);
                }
            }
        });
        largest.sort_by(|a, b| {
            b.size_bytes
                .cmp(&a.size_bytes)
                .then_with(|| a.path.cmp(&b.path))
        });
        largest.truncate(want);
        let largest_files = largest;
        let final_size_bytes = self.tree.visible_bytes();
        let size_bytes: u64 = layers.iter().map(|l| l.size_bytes).sum();
        let compressed_size_bytes: u64 = layers.iter().map(|l| l.compressed_size_bytes).sum();
        let mut duplicates = duplicate_groups(with_content, &self.tree);
        let duplicate_bytes = duplicates.iter().map(|g| g.wasted_bytes).sum();
        duplicates.retain(|g| {
            g.paths
                .iter()
                .any(|p| options.filter.matches(p, g.size_bytes))
        });
        if let Some(top) = options.top {
            waste.truncate(top);
            duplicates.truncate(top);
        }
        let user_size_bytes: u64 = layers.iter().skip(base_n).map(|l| l.size_bytes).sum();
        let empty_layer_entries = self.history.iter().filter(|h| h.empty_layer).count();
        Report {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "layerscope".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            image: self.info.clone(),
            totals: Totals {
                layers: layers.len(),
                size_bytes,
                compressed_size_bytes,
                final_size_bytes,
                final_files,
                wasted_bytes: size_bytes.saturating_sub(final_size_bytes),
                duplicate_bytes,
                efficiency: ratio(final_size_bytes, size_bytes).unwrap_or(1.0),
                waste_by_kind: by_kind,
            },
            base: BaseSplit {
                base_layers: base_n,
                source: self.base.1.to_string(),
                user_size_bytes,
                user_wasted_bytes: user_wasted,
                user_wasted_ratio: ratio(user_wasted, user_size_bytes),
            },
            history: HistoryInfo {
                entries: self.history.len(),
                empty_layer_entries,
                regular: self.alignment.regular,
                note: self.alignment.note.clone(),
            },
            layers,
            waste,
            duplicates,
            largest_files,
            filter: options.filter.describe(),
            attribution: None,
            recommendations: Vec::new(),
            warnings: self.warnings.clone(),
            compat_dive: None,
        }
    }
}

fn file_record(v: crate::tree::Visible, change: Option<ChangeKind>) -> FileRecord {
    let is_content = v.inode.is_some() && matches!(v.kind, EntryKind::File | EntryKind::Hardlink);
    FileRecord {
        path: v.path,
        kind: v.kind,
        size_bytes: if v.kind == EntryKind::File { v.size } else { 0 },
        layer: v.layer,
        sha256: is_content.then(|| format!("sha256:{}", to_hex(&v.sha256))),
        mode: v.mode,
        uid: v.uid,
        gid: v.gid,
        mtime: v.mtime,
        has_xattrs: v.has_xattrs,
        change,
    }
}

/// Tree order: component by component, so a directory's children follow it directly.
pub(crate) fn tree_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

/// `a / b`, `None` when `b` is 0 (never NaN).
pub(crate) fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Visible files with identical content (size > 0), hardlinks to one inode counted once.
/// Visible files with identical content (size > 0), hardlinks to one inode counted once;
/// paths are spelled out only for the groups that have duplicates. `files` holds (inode,
/// node) pairs: sorting them by the inode's hash keeps memory at 8 bytes a file.
fn duplicate_groups(mut files: Vec<(u32, u32)>, tree: &Tree) -> Vec<DuplicateGroup> {
    let sha = |inode: u32| {
        tree.inodes
            .get(inode as usize)
            .map_or([0u8; 32], |i| i.sha256)
    };
    files.sort_unstable_by(|a, b| sha(a.0).cmp(&sha(b.0)).then(a.0.cmp(&b.0)));
    let mut out = Vec::new();
    for group in files.chunk_by(|a, b| sha(a.0) == sha(b.0)) {
        let mut inodes: Vec<u32> = group.iter().map(|m| m.0).collect();
        inodes.dedup(); // sorted by (hash, inode) above
        let Some(first) = inodes.first().and_then(|i| tree.inodes.get(*i as usize)) else {
            continue;
        };
        if inodes.len() < 2 {
            continue;
        }
        let mut paths: Vec<String> = group.iter().map(|m| tree.path_of(m.1)).collect();
        paths.sort();
        out.push(DuplicateGroup {
            sha256: format!("sha256:{}", to_hex(&first.sha256)),
            size_bytes: first.size,
            wasted_bytes: first.size * (inodes.len() as u64 - 1),
            paths,
        });
    }
    out.sort_by(|a, b| {
        b.wasted_bytes
            .cmp(&a.wasted_bytes)
            .then_with(|| a.paths.cmp(&b.paths))
    });
    out
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
