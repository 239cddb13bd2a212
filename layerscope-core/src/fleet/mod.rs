//! Many images at once: every distinct layer (by DiffID) is read and summarised once,
//! however many images hold it, then the set is described from the summaries alone.
//!
//! 1. Each image's layers are listed from its manifest and config (no blob is opened).
//! 2. Each distinct DiffID is looked up in the summary store; on a miss, or an entry that
//!    fails verification, the layer is streamed once from the first image that holds it
//!    (the reader of `analyze`, digests verified) and its summary is stored. Distinct layers
//!    are read in parallel.
//! 3. From each summary only a compact record per file is kept in memory (a 16-byte prefix
//!    of the content sha256, a 64-bit hash of the path, the size and the layer: 40 bytes),
//!    never the paths, so memory grows with files, not with path lengths. One in-place sort
//!    of these records groups them by content and path; duplicates across layers and the
//!    common-base proposal are read off the sorted run. The few paths a report lists are
//!    fetched afterwards from the summaries of the layers concerned.
//!
//! Collision argument for the 16-byte prefix: sha256 output is uniform, so with n distinct
//! contents the chance that two share a 128-bit prefix is below n^2 / 2^129; for n = 2 x
//! 10^7 that is 6 x 10^-25. The path hash only separates paths *within one content group*
//! (files of identical content), where two different paths share a 64-bit hash with a chance
//! below m^2 / 2^65 for m paths of that content.

mod aggregate;
mod cache;
mod platforms;
mod report;
mod summary;

pub use report::{
    BaseDrift, BaseFamily, CommonBase, CommonFile, CrossLayerDuplicate, FLEET_SCHEMA_VERSION,
    FleetImage, FleetLayer, FleetReport, FleetTotals, PathDifference, PathState,
    PlatformDifference, PlatformFiles, PlatformSummary, ReadStats,
};
pub use summary::{EntrySummary, FileSummary, LayerSummary, SUMMARY_VERSION, SummaryDefect};

use crate::error::{Cause, Error, Result};
use crate::layer::read_layer;
use crate::source::{Image, LayerAvailability};
use cache::{Lookup, SummaryStore};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where layer summaries come from and go to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SummarySource {
    /// A cache directory: entries are used when they verify, written after every read.
    Cache(PathBuf),
    /// No cache: every distinct layer is read; summaries live in a temporary directory for
    /// the run only.
    NoCache,
    /// Summaries made elsewhere (a directory of `<diff_id hex>.lsum` files, or a cache
    /// directory): no layer is read; a missing or corrupt summary is an error.
    Summaries(PathBuf),
}

/// Options for [`Fleet::run`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FleetOptions {
    /// Where summaries come from.
    pub summaries: SummarySource,
    /// K of the common-base proposal (default: half the images, rounded up, at least 2).
    pub min_images: Option<usize>,
    /// How many duplicates and common-base files to list.
    pub top: usize,
    /// Report digest and DiffID mismatches as warnings instead of errors.
    pub allow_digest_mismatch: bool,
    /// Receives the count of blob bytes read so far, for a progress display.
    pub progress: Option<Arc<AtomicU64>>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        FleetOptions {
            summaries: SummarySource::NoCache,
            min_images: None,
            top: 20,
            allow_digest_mismatch: false,
            progress: None,
        }
    }
}

impl FleetOptions {
    /// Take summaries from (and keep them in) this source.
    pub fn summaries(mut self, source: SummarySource) -> Self {
        self.summaries = source;
        self
    }
    /// K of the common-base proposal.
    pub fn min_images(mut self, k: usize) -> Self {
        self.min_images = Some(k);
        self
    }
    /// List this many duplicates and common-base files.
    pub fn top(mut self, n: usize) -> Self {
        self.top = n;
        self
    }
    /// Downgrade digest mismatches to warnings.
    pub fn allow_digest_mismatch(mut self, yes: bool) -> Self {
        self.allow_digest_mismatch = yes;
        self
    }
    /// Count blob bytes read into `counter`.
    pub fn progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.progress = Some(counter);
        self
    }
}

/// One image of a fleet: the name it was given by, and the opened image.
#[derive(Debug)]
pub struct FleetMember {
    /// The name shown in the report.
    pub reference: String,
    /// The image.
    pub image: Image,
    /// The multi-platform image this member is one platform of: members naming the same
    /// one are compared path by path (`platform_differences`).
    pub index: Option<String>,
}

impl FleetMember {
    /// A member named `reference`.
    pub fn new(reference: impl Into<String>, image: Image) -> FleetMember {
        FleetMember {
            reference: reference.into(),
            image,
            index: None,
        }
    }

    /// Mark this member as one platform of the multi-platform image `index`.
    pub fn platform_of(mut self, index: impl Into<String>) -> FleetMember {
        self.index = Some(index.into());
        self
    }
}

/// The fleet view of a set of images.
#[derive(Debug)]
pub struct Fleet;

/// One distinct layer while the fleet is being read.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) diff_id: String,
    /// (member, layer index) of the first image that holds it.
    pub(crate) first: (usize, usize),
    /// Members that hold it, ascending.
    pub(crate) images: Vec<usize>,
    pub(crate) compressed_size: u64,
    pub(crate) blob_digests: Vec<String>,
}

impl Fleet {
    /// Summarise every distinct layer of `members` once and describe the set.
    ///
    /// # Errors
    /// An image with no DiffID for a layer, a layer that cannot be read or does not match
    /// its digests (unless `allow_digest_mismatch`), a cache directory that cannot be
    /// written, or, with [`SummarySource::Summaries`], a missing or corrupt summary.
    pub fn run(members: &[FleetMember], options: &FleetOptions) -> Result<FleetReport> {
        if members.is_empty() {
            return Err(Error::Config {
                source_name: "fleet".into(),
                reason: "no images given".into(),
                source: None,
            });
        }
        let mut slots: Vec<Slot> = Vec::new();
        let mut by_diff: HashMap<String, usize> = HashMap::new();
        let mut image_layers: Vec<Vec<usize>> = Vec::with_capacity(members.len());
        let mut image_compressed: Vec<Vec<u64>> = Vec::with_capacity(members.len());
        for (m, member) in members.iter().enumerate() {
            let image = &member.image;
            let mut ids = Vec::new();
            let mut sizes = Vec::new();
            for l in image.layers() {
                let diff_id = l.diff_id.clone().ok_or_else(|| Error::InvalidMetadata {
                    image: image.path().to_path_buf(),
                    document: "config".into(),
                    reason: format!("layer {} has no DiffID in rootfs.diff_ids", l.index),
                    source: None,
                })?;
                if summary::decode_digest(&diff_id).is_none() {
                    return Err(Error::InvalidMetadata {
                        image: image.path().to_path_buf(),
                        document: "config".into(),
                        reason: format!(
                            "layer {}: DiffID {diff_id:?} is not sha256:<64 hex>; the fleet \
                             keys layers by sha256 DiffIDs",
                            l.index
                        ),
                        source: None,
                    });
                }
                let compressed = match l.size {
                    Some(s) => s,
                    // docker-archive: the manifest records no size; the member's size is known
                    // without reading it.
                    None => match image.prefetched_layer(l.index) {
                        Some(c) => c.blob_size,
                        None => match image.open_layer(l)? {
                            Some((_, size)) => size,
                            None => 0,
                        },
                    },
                };
                let slot = *by_diff.entry(diff_id.clone()).or_insert_with(|| {
                    slots.push(Slot {
                        diff_id: diff_id.clone(),
                        first: (m, l.index),
                        images: Vec::new(),
                        compressed_size: compressed,
                        blob_digests: Vec::new(),
                    });
                    slots.len() - 1
                });
                let s = &mut slots[slot];
                if s.images.last() != Some(&m) {
                    s.images.push(m);
                }
                if let Some(d) = &l.digest
                    && !s.blob_digests.contains(d)
                {
                    s.blob_digests.push(d.clone());
                }
                ids.push(slot);
                sizes.push(compressed);
            }
            image_layers.push(ids);
            image_compressed.push(sizes);
        }

        let temp;
        let store = match &options.summaries {
            SummarySource::Cache(dir) => SummaryStore::new(dir, true),
            SummarySource::NoCache => {
                temp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
                SummaryStore::new(temp.path(), true)
            }
            SummarySource::Summaries(dir) => {
                let nested = dir.join(format!("v{SUMMARY_VERSION}")).join("sha256");
                if nested.is_dir() {
                    SummaryStore::new(dir, false)
                } else if dir.is_dir() {
                    SummaryStore::flat(dir)
                } else {
                    return Err(Error::io(
                        dir,
                        std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                    ));
                }
            }
        };
        let read_only = matches!(options.summaries, SummarySource::Summaries(_));
        let blob_bytes = AtomicU64::new(0);

        // Step 2: one summary per distinct layer, in parallel; each is reduced to compact
        // records at once and its bytes dropped.
        let results: Vec<Result<(aggregate::LayerDigest, Outcome)>> = slots
            .par_iter()
            .enumerate()
            .map(|(i, slot)| {
                let member = &members[slot.first.0];
                let (bytes, outcome) =
                    obtain(&store, read_only, member, slot, options, &blob_bytes)?;
                let view =
                    summary::SummaryView::parse(&bytes).map_err(|d| Error::InvalidMetadata {
                        image: member.image.path().to_path_buf(),
                        document: format!("summary of layer {}", slot.diff_id),
                        reason: d.0,
                        source: None,
                    })?;
                let digest = aggregate::LayerDigest::from_view(i as u32, &view).map_err(|d| {
                    Error::InvalidMetadata {
                        image: member.image.path().to_path_buf(),
                        document: format!("summary of layer {}", slot.diff_id),
                        reason: d.0,
                        source: None,
                    }
                })?;
                Ok((digest, outcome))
            })
            .collect();
        let mut digests = Vec::with_capacity(results.len());
        let mut read = ReadStats::default();
        let mut warnings = Vec::new();
        for r in results {
            let (d, outcome) = r?;
            match outcome {
                Outcome::Hit => read.cache_hits += 1,
                Outcome::Read => read.layers_read += 1,
                Outcome::Corrupt(why) => {
                    read.layers_read += 1;
                    read.corrupt_entries += 1;
                    warnings.push(format!(
                        "cache entry ignored and the layer read again: {why}"
                    ));
                }
                Outcome::Warned(w) => {
                    read.layers_read += 1;
                    warnings.extend(w);
                }
            }
            digests.push(d);
        }
        read.blob_bytes_read = blob_bytes.load(Ordering::Relaxed);

        let input = aggregate::Input {
            members,
            slots: &slots,
            image_layers: &image_layers,
            image_compressed: &image_compressed,
            min_images: options.min_images,
            top: options.top,
        };
        let mut report = aggregate::build(&input, digests, &store)?;
        report.platform_differences =
            platforms::compare(members, &slots, &image_layers, &store, options.top)?;
        report.read = read;
        report.warnings = warnings;
        Ok(report)
    }
}

/// How a layer's summary was obtained.
enum Outcome {
    Hit,
    Read,
    Corrupt(String),
    /// Read, with tolerated digest mismatches.
    Warned(Vec<String>),
}

/// The summary bytes of one distinct layer: from the store when it verifies, otherwise read
/// from the first image that holds it (and stored).
fn obtain(
    store: &SummaryStore,
    read_only: bool,
    member: &FleetMember,
    slot: &Slot,
    options: &FleetOptions,
    blob_bytes: &AtomicU64,
) -> Result<(Vec<u8>, Outcome)> {
    let image = &member.image;
    let path = store.path_of(&slot.diff_id).unwrap_or_default();
    let corrupt = match store.get(&slot.diff_id)? {
        Lookup::Hit(bytes) => return Ok((bytes, Outcome::Hit)),
        Lookup::Miss if read_only => {
            return Err(Error::MissingBlob {
                image: image.path().to_path_buf(),
                what: format!("summary of layer {} ({})", slot.first.1, slot.diff_id),
                member: path.display().to_string(),
            });
        }
        Lookup::Corrupt(why) if read_only => {
            return Err(Error::InvalidMetadata {
                image: image.path().to_path_buf(),
                document: format!("summary of layer {} ({})", slot.first.1, slot.diff_id),
                reason: why,
                source: None,
            });
        }
        Lookup::Miss => None,
        Lookup::Corrupt(why) => Some(why),
    };
    let Some(layer) = image.layers().get(slot.first.1) else {
        return Err(Error::Config {
            source_name: image.path().display().to_string(),
            reason: format!("layer {} out of range", slot.first.1),
            source: None,
        });
    };
    let layer_error = |entry: Option<String>, reason: String, source: Option<Cause>| Error::Layer {
        image: image.path().to_path_buf(),
        index: layer.index,
        digest: layer.digest.clone().unwrap_or_else(|| slot.diff_id.clone()),
        entry: entry.map(|e| format!(", entry {e:?}")).unwrap_or_default(),
        reason,
        source,
    };
    if layer.availability == LayerAvailability::MissingForeign {
        return Err(layer_error(
            None,
            "a foreign layer whose blob is not in the image: it cannot be summarised".into(),
            None,
        ));
    }
    // A layer already read while its image streamed by (docker-daemon, containers-storage).
    let contents = if let Some(c) = image.prefetched_layer(layer.index) {
        blob_bytes.fetch_add(c.blob_size, Ordering::Relaxed);
        c.clone()
    } else {
        let Some((reader, _)) = image.open_layer(layer)? else {
            return Err(layer_error(
                None,
                "the blob is not in the image".into(),
                None,
            ));
        };
        let counter = Arc::new(AtomicU64::new(0));
        let contents = read_layer(
            Tee {
                inner: reader,
                mine: counter.clone(),
                theirs: options.progress.clone(),
            },
            None,
        )
        .map_err(|f| layer_error(f.entry, f.reason, f.source))?;
        blob_bytes.fetch_add(counter.load(Ordering::Relaxed), Ordering::Relaxed);
        contents
    };
    let mut warned = Vec::new();
    let checks = [
        (
            "blob",
            layer.digest.as_deref(),
            contents.blob_digest.as_str(),
        ),
        (
            "diff_id",
            Some(slot.diff_id.as_str()),
            contents.diff_id.as_str(),
        ),
    ];
    for (what, expected, actual) in checks {
        let Some(expected) = expected else { continue };
        if !expected.starts_with("sha256:") || expected == actual {
            continue;
        }
        let err = Error::DigestMismatch {
            image: image.path().to_path_buf(),
            what: format!("layer {} {what}", layer.index),
            expected: expected.to_string(),
            actual: actual.to_string(),
        };
        if options.allow_digest_mismatch && what == "blob" {
            warned.push(err.to_string());
        } else {
            // A summary is filed under the config's DiffID: one of other bytes would poison
            // every image that names that DiffID, so this is never downgraded.
            return Err(err);
        }
    }
    let summary = LayerSummary::from_contents(&contents);
    drop(contents);
    let bytes = store.put(&summary)?;
    let outcome = match corrupt {
        Some(why) => Outcome::Corrupt(why),
        None if warned.is_empty() => Outcome::Read,
        None => Outcome::Warned(warned),
    };
    Ok((bytes, outcome))
}

/// Counts bytes for this run's statistics and, when asked, for a progress display.
struct Tee<R> {
    inner: R,
    mine: Arc<AtomicU64>,
    theirs: Option<Arc<AtomicU64>>,
}

impl<R: std::io::Read> std::io::Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.mine.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(t) = &self.theirs {
            t.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
