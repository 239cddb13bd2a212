//! From the layers' compact records to the fleet report: per image and per layer figures,
//! base families and drift, duplicates across layers and the common-base proposal.

use super::Slot;
use super::cache::{Lookup, SummaryStore};
use super::report::*;
use super::summary::{SummaryDefect, SummaryView};
use crate::digest::sha256_string;
use crate::error::{Error, Result};
use crate::report::ToolInfo;
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

/// Families beyond this many are not compared pairwise for drift.
const DRIFT_FAMILY_LIMIT: usize = 256;
/// A pair of bottom layers is the same base when at least this share of their paths is
/// common to both.
const DRIFT_MIN_OVERLAP: f64 = 0.5;
/// Example paths listed per duplicate content.
const PATHS_PER_DUPLICATE: usize = 5;

/// One non-empty regular file of a distinct layer, compactly (40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Rec {
    content: [u8; 16],
    path: u64,
    layer: u32,
    size: u64,
}

/// What the fleet keeps of one distinct layer's summary.
#[derive(Debug)]
pub(super) struct LayerDigest {
    tar_size: u64,
    size_bytes: u64,
    files: u64,
    recs: Vec<Rec>,
}

fn path_hash(path: &str) -> u64 {
    // SipHash with fixed keys: the same in every run of one build; only compared within a run.
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

fn prefix(sha: &[u8; 32]) -> [u8; 16] {
    let mut p = [0u8; 16];
    p.copy_from_slice(&sha[..16]);
    p
}

impl LayerDigest {
    pub(super) fn from_view(
        layer: u32,
        view: &SummaryView<'_>,
    ) -> Result<LayerDigest, SummaryDefect> {
        let mut recs = Vec::with_capacity(view.len());
        let mut sum = 0u64;
        for i in 0..view.len() {
            let (sha, size, path) = view.record(i)?;
            sum = sum.saturating_add(size);
            if size > 0 {
                recs.push(Rec {
                    content: prefix(&sha),
                    path: path_hash(path),
                    layer,
                    size,
                });
            }
        }
        if sum > view.size_bytes {
            return Err(SummaryDefect(format!(
                "its files hold {sum} bytes but its header says the layer ships {}",
                view.size_bytes
            )));
        }
        Ok(LayerDigest {
            tar_size: view.tar_size,
            size_bytes: view.size_bytes,
            files: view.len() as u64,
            recs,
        })
    }
}

pub(super) struct Input<'a> {
    pub(super) members: &'a [super::FleetMember],
    pub(super) slots: &'a [Slot],
    pub(super) image_layers: &'a [Vec<usize>],
    pub(super) image_compressed: &'a [Vec<u64>],
    pub(super) min_images: Option<usize>,
    pub(super) top: usize,
}

/// Keeps the `n` largest keys seen.
struct TopN<K: Ord> {
    n: usize,
    heap: BinaryHeap<Reverse<K>>,
}

impl<K: Ord> TopN<K> {
    fn new(n: usize) -> Self {
        TopN {
            n,
            heap: BinaryHeap::new(),
        }
    }
    fn push(&mut self, k: K) {
        if self.n == 0 {
            return;
        }
        if self.heap.len() < self.n {
            self.heap.push(Reverse(k));
        } else if self.heap.peek().is_some_and(|Reverse(min)| k > *min) {
            self.heap.pop();
            self.heap.push(Reverse(k));
        }
    }
    /// Largest first.
    fn into_sorted(self) -> Vec<K> {
        let mut v: Vec<K> = self.heap.into_iter().map(|Reverse(k)| k).collect();
        v.sort_unstable_by(|a, b| b.cmp(a));
        v
    }
}

/// Ranking of a duplicate content: saving, then size, then the smallest content prefix first.
type DupKey = (u64, u64, Reverse<[u8; 16]>, Vec<u32>);
/// Ranking of a common-base file: saving, size, then content and path hash, ascending.
type BaseKey = (u64, u64, Reverse<([u8; 16], u64)>, usize, Vec<u32>);

pub(super) fn build(
    input: &Input<'_>,
    digests: Vec<LayerDigest>,
    store: &SummaryStore,
) -> Result<FleetReport> {
    let slots = input.slots;
    let n_images = input.members.len();
    let k = input
        .min_images
        .unwrap_or_else(|| n_images.div_ceil(2).max(2))
        .max(1);

    // Per layer and per image figures.
    let layers: Vec<FleetLayer> = slots
        .iter()
        .zip(&digests)
        .map(|(s, d)| FleetLayer {
            diff_id: s.diff_id.clone(),
            size_bytes: d.size_bytes,
            compressed_size_bytes: s.compressed_size,
            tar_size_bytes: d.tar_size,
            files: d.files,
            images: s.images.clone(),
            blob_digests: s.blob_digests.clone(),
        })
        .collect();
    let mut images: Vec<FleetImage> = Vec::with_capacity(n_images);
    for (m, member) in input.members.iter().enumerate() {
        let ids = &input.image_layers[m];
        let size_bytes = ids.iter().map(|&i| layers[i].size_bytes).sum();
        let compressed_size_bytes = input.image_compressed[m].iter().sum();
        let mut own: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&i| slots[i].images.len() == 1)
            .collect();
        own.sort_unstable();
        own.dedup();
        images.push(FleetImage {
            reference: member.reference.clone(),
            platform: member.image.platform(),
            config_digest: member.image.config_digest().to_string(),
            size_bytes,
            compressed_size_bytes,
            layers: ids.iter().map(|&i| slots[i].diff_id.clone()).collect(),
            unique_size_bytes: own.iter().map(|&i| layers[i].size_bytes).sum(),
            unique_compressed_size_bytes: own
                .iter()
                .map(|&i| layers[i].compressed_size_bytes)
                .sum(),
            family: 0,
        });
    }

    // All records in one vector (each layer's vector freed as soon as it is copied), then one
    // in-place sort by (content, path, layer).
    let total: usize = digests.iter().map(|d| d.recs.len()).sum();
    let mut recs: Vec<Rec> = Vec::with_capacity(total);
    for d in digests {
        recs.extend_from_slice(&d.recs);
    }
    recs.par_sort_unstable();

    let mut dup_bytes = 0u64;
    let mut dup_contents = 0u64;
    let mut top_dups: TopN<DupKey> = TopN::new(input.top);
    let mut base = CommonBase {
        min_images: k,
        files: 0,
        size_bytes: 0,
        saving_bytes: 0,
        top: Vec::new(),
    };
    let mut top_base: TopN<BaseKey> = TopN::new(input.top);
    let mut scratch_layers: Vec<u32> = Vec::new();
    let mut scratch_images: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < recs.len() {
        let content = recs[i].content;
        let size = recs[i].size;
        let mut j = i;
        while j < recs.len() && recs[j].content == content {
            j += 1;
        }
        let group = &recs[i..j];
        scratch_layers.clear();
        scratch_layers.extend(group.iter().map(|r| r.layer));
        scratch_layers.sort_unstable();
        scratch_layers.dedup();
        if scratch_layers.len() > 1 {
            let saving = size * (scratch_layers.len() as u64 - 1);
            dup_bytes += saving;
            dup_contents += 1;
            top_dups.push((saving, size, Reverse(content), scratch_layers.clone()));
        }
        // Within the content group, each path: the images that hold it.
        let mut a = 0;
        while a < group.len() {
            let path = group[a].path;
            let mut b = a;
            while b < group.len() && group[b].path == path {
                b += 1;
            }
            let file_layers: Vec<u32> = {
                let mut v: Vec<u32> = group[a..b].iter().map(|r| r.layer).collect();
                v.dedup();
                v
            };
            let holders = match file_layers.as_slice() {
                [one] => slots[*one as usize].images.len(),
                many => {
                    scratch_images.clear();
                    for l in many {
                        scratch_images.extend_from_slice(&slots[*l as usize].images);
                    }
                    scratch_images.sort_unstable();
                    scratch_images.dedup();
                    scratch_images.len()
                }
            };
            if holders >= k {
                let saving = size * (file_layers.len() as u64 - 1);
                base.files += 1;
                base.size_bytes += size;
                base.saving_bytes += saving;
                top_base.push((saving, size, Reverse((content, path)), holders, file_layers));
            }
            a = b;
        }
        i = j;
    }

    // Families: images by bottom layer, largest first.
    let mut by_bottom: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
    for (m, ids) in input.image_layers.iter().enumerate() {
        by_bottom.entry(ids.first().copied()).or_default().push(m);
    }
    let mut groups: Vec<(Option<usize>, Vec<usize>)> = by_bottom.into_iter().collect();
    groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.1[0].cmp(&b.1[0])));
    let mut families = Vec::with_capacity(groups.len());
    for (f, (bottom, members)) in groups.iter().enumerate() {
        let first = &input.image_layers[members[0]];
        // One image alone has no "common" part beyond the bottom layer that names the family.
        let start = if members.len() == 1 {
            first.len().min(1)
        } else {
            first.len()
        };
        let common = members.iter().fold(start, |n, &m| {
            first
                .iter()
                .zip(&input.image_layers[m])
                .take(n)
                .take_while(|(x, y)| x == y)
                .count()
        });
        for &m in members {
            images[m].family = f;
        }
        families.push(BaseFamily {
            bottom_layer: bottom.map(|b| slots[b].diff_id.clone()).unwrap_or_default(),
            images: members.clone(),
            base_layers: common,
            base_size_bytes: first[..common].iter().map(|&l| layers[l].size_bytes).sum(),
            base_top_layer: common
                .checked_sub(1)
                .map(|t| slots[first[t]].diff_id.clone())
                .unwrap_or_default(),
        });
    }
    let drift = drift(&groups, &recs);

    let platforms = platforms(&images, &layers);

    // The paths and full digests of the listed items, from the summaries of their layers.
    let top_dups = top_dups.into_sorted();
    let top_base = top_base.into_sorted();
    let mut wanted: HashMap<u32, Vec<[u8; 16]>> = HashMap::new();
    for (_, _, Reverse(c), ls) in &top_dups {
        for l in ls {
            wanted.entry(*l).or_default().push(*c);
        }
    }
    for (_, _, Reverse((c, _)), _, ls) in &top_base {
        for l in ls {
            wanted.entry(*l).or_default().push(*c);
        }
    }
    let found = lookup_paths(wanted, slots, store)?;
    let duplicates = top_dups
        .into_iter()
        .map(|(saving, size, Reverse(c), ls)| {
            let mut paths: Vec<String> = Vec::new();
            let mut full = None;
            for l in &ls {
                if let Some(hits) = found.get(&(*l, c)) {
                    for (sha, p) in hits {
                        full.get_or_insert(*sha);
                        paths.push(p.clone());
                    }
                }
            }
            paths.sort();
            paths.dedup();
            paths.truncate(PATHS_PER_DUPLICATE);
            let mut holders: Vec<usize> = ls
                .iter()
                .flat_map(|l| slots[*l as usize].images.iter().copied())
                .collect();
            holders.sort_unstable();
            holders.dedup();
            CrossLayerDuplicate {
                sha256: full.map(|s| sha256_string(&s)).unwrap_or_default(),
                size_bytes: size,
                layers: ls.iter().map(|l| *l as usize).collect(),
                images: holders.len(),
                saving_bytes: saving,
                paths,
            }
        })
        .collect();
    base.top = top_base
        .into_iter()
        .map(|(saving, size, Reverse((c, ph)), holders, ls)| {
            let hit = ls.iter().find_map(|l| {
                found
                    .get(&(*l, c))
                    .and_then(|v| v.iter().find(|(_, p)| path_hash(p) == ph))
            });
            CommonFile {
                path: hit.map(|(_, p)| p.clone()).unwrap_or_default(),
                sha256: hit.map(|(s, _)| sha256_string(s)).unwrap_or_default(),
                size_bytes: size,
                images: holders,
                layers: ls.len(),
                saving_bytes: saving,
            }
        })
        .collect();
    // Ties in saving and size are listed by path (the hashes above only made them stable).
    base.top.sort_by(|a, b| {
        b.saving_bytes
            .cmp(&a.saving_bytes)
            .then(b.size_bytes.cmp(&a.size_bytes))
            .then(a.path.cmp(&b.path))
            .then(a.sha256.cmp(&b.sha256))
    });

    let totals = FleetTotals {
        images: n_images,
        layers: input.image_layers.iter().map(Vec::len).sum(),
        unique_layers: slots.len(),
        size_bytes: images.iter().map(|i| i.size_bytes).sum(),
        compressed_size_bytes: images.iter().map(|i| i.compressed_size_bytes).sum(),
        unique_size_bytes: layers.iter().map(|l| l.size_bytes).sum(),
        unique_compressed_size_bytes: layers.iter().map(|l| l.compressed_size_bytes).sum(),
        files: layers.iter().map(|l| l.files).sum(),
        cross_layer_duplicate_bytes: dup_bytes,
        cross_layer_duplicate_contents: dup_contents,
    };
    Ok(FleetReport {
        schema_version: FLEET_SCHEMA_VERSION,
        tool: ToolInfo {
            name: "layerscope".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        images,
        layers,
        totals,
        families,
        drift,
        duplicates,
        common_base: base,
        platforms,
        platform_differences: Vec::new(),
        read: ReadStats::default(),
        warnings: Vec::new(),
    })
}

/// Bottom layers of different families that ship mostly the same paths.
fn drift(groups: &[(Option<usize>, Vec<usize>)], recs: &[Rec]) -> Vec<BaseDrift> {
    let considered: Vec<(usize, usize)> = groups
        .iter()
        .enumerate()
        .take(DRIFT_FAMILY_LIMIT)
        .filter_map(|(f, (b, _))| b.map(|b| (f, b)))
        .collect();
    if considered.len() < 2 {
        return Vec::new();
    }
    let mut want: HashMap<u32, usize> = HashMap::new();
    for (n, (_, b)) in considered.iter().enumerate() {
        want.insert(*b as u32, n);
    }
    let mut sets: Vec<Vec<(u64, [u8; 16])>> = vec![Vec::new(); considered.len()];
    for r in recs {
        if let Some(&n) = want.get(&r.layer) {
            sets[n].push((r.path, r.content));
        }
    }
    for s in &mut sets {
        s.sort_unstable();
        s.dedup_by_key(|(p, _)| *p);
    }
    let mut out = Vec::new();
    for x in 0..considered.len() {
        for y in x + 1..considered.len() {
            let (a, b) = (&sets[x], &sets[y]);
            let (mut i, mut j) = (0, 0);
            let (mut shared, mut changed) = (0u64, 0u64);
            while i < a.len() && j < b.len() {
                match a[i].0.cmp(&b[j].0) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        shared += 1;
                        if a[i].1 != b[j].1 {
                            changed += 1;
                        }
                        i += 1;
                        j += 1;
                    }
                }
            }
            let only_first = a.len() as u64 - shared;
            let only_second = b.len() as u64 - shared;
            let union = shared + only_first + only_second;
            if union == 0 {
                continue;
            }
            let overlap = shared as f64 / union as f64;
            if overlap >= DRIFT_MIN_OVERLAP {
                let (fa, fb) = (considered[x].0, considered[y].0);
                out.push(BaseDrift {
                    families: [fa.min(fb), fa.max(fb)],
                    shared_paths: shared,
                    changed_paths: changed,
                    only_first,
                    only_second,
                    path_overlap: overlap,
                });
            }
        }
    }
    out.sort_by_key(|d| d.families);
    out
}

/// Per platform, when the set holds more than one.
fn platforms(images: &[FleetImage], layers: &[FleetLayer]) -> Vec<PlatformSummary> {
    let mut by: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, img) in images.iter().enumerate() {
        by.entry(img.platform.as_str()).or_default().push(i);
    }
    if by.len() < 2 {
        return Vec::new();
    }
    by.into_iter()
        .map(|(platform, members)| {
            let mine = |l: &FleetLayer| l.images.iter().any(|i| images[*i].platform == platform);
            let theirs = |l: &FleetLayer| l.images.iter().any(|i| images[*i].platform != platform);
            let own: Vec<&FleetLayer> = layers.iter().filter(|l| mine(l) && !theirs(l)).collect();
            PlatformSummary {
                platform: platform.to_string(),
                size_bytes: members.iter().map(|&i| images[i].size_bytes).sum(),
                compressed_size_bytes: members
                    .iter()
                    .map(|&i| images[i].compressed_size_bytes)
                    .sum(),
                own_layers: own.len(),
                own_size_bytes: own.iter().map(|l| l.size_bytes).sum(),
                shared_layers: layers.iter().filter(|l| mine(l) && theirs(l)).count(),
                images: members,
            }
        })
        .collect()
}

/// Full digests and paths of the wanted content prefixes, per (layer, prefix).
type Found = HashMap<(u32, [u8; 16]), Vec<([u8; 32], String)>>;

fn lookup_paths(
    wanted: HashMap<u32, Vec<[u8; 16]>>,
    slots: &[Slot],
    store: &SummaryStore,
) -> Result<Found> {
    let mut wanted: Vec<(u32, Vec<[u8; 16]>)> = wanted.into_iter().collect();
    wanted.sort_unstable_by_key(|(l, _)| *l);
    let parts: Vec<Result<Found>> = wanted
        .par_iter()
        .map(|(layer, prefixes)| {
            let slot = &slots[*layer as usize];
            let bytes = match store.get(&slot.diff_id)? {
                Lookup::Hit(b) => b,
                Lookup::Miss | Lookup::Corrupt(_) => {
                    return Err(Error::Config {
                        source_name: slot.diff_id.clone(),
                        reason: "the layer summary disappeared from the cache during the run"
                            .into(),
                    });
                }
            };
            let view = SummaryView::parse(&bytes).map_err(|d| Error::Config {
                source_name: slot.diff_id.clone(),
                reason: d.0,
            })?;
            let mut out: Found = HashMap::new();
            for i in 0..view.len() {
                let (sha, _, path) = view.record(i).map_err(|d| Error::Config {
                    source_name: slot.diff_id.clone(),
                    reason: d.0,
                })?;
                let p = prefix(&sha);
                if prefixes.contains(&p) {
                    out.entry((*layer, p))
                        .or_default()
                        .push((sha, path.to_string()));
                }
            }
            Ok(out)
        })
        .collect();
    let mut found = Found::new();
    for p in parts {
        found.extend(p?);
    }
    Ok(found)
}
