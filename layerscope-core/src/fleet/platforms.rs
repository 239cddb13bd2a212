//! What differs between the platforms of one multi-platform image (an OCI image index,
//! image-spec image-index.md): each platform's final filesystem is rebuilt from the layer
//! summaries alone (their entry records replay whiteouts, opaque directories and links
//! through the same merge as `analyze`), then the platforms are compared path by path.

use super::cache::{Lookup, SummaryStore};
use super::report::{PathDifference, PathState, PlatformDifference, PlatformFiles};
use super::summary::LayerSummary;
use super::{FleetMember, Slot};
use crate::analysis::symlink_targets;
use crate::digest::sha256_string;
use crate::error::{Error, Result};
use crate::layer::{EntryKind, LayerContents};
use crate::tree::Tree;
use std::collections::{BTreeMap, HashMap};

/// The members given as platforms of one image, grouped by that image, in order.
fn groups(members: &[FleetMember]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (m, member) in members.iter().enumerate() {
        let Some(index) = &member.index else { continue };
        match out.iter_mut().find(|(name, _)| name == index) {
            Some((_, v)) => v.push(m),
            None => out.push((index.clone(), vec![m])),
        }
    }
    out.retain(|(_, v)| v.len() > 1);
    out
}

/// One comparison per multi-platform image with at least two platforms.
pub(super) fn compare(
    members: &[FleetMember],
    slots: &[Slot],
    image_layers: &[Vec<usize>],
    store: &SummaryStore,
    top: usize,
) -> Result<Vec<PlatformDifference>> {
    groups(members)
        .into_iter()
        .map(|(reference, images)| {
            // Each distinct layer of the group is rebuilt once.
            let mut layers: HashMap<usize, LayerContents> = HashMap::new();
            let mut views = Vec::with_capacity(images.len());
            for &m in &images {
                let mut stack = Vec::with_capacity(image_layers[m].len());
                for &slot in &image_layers[m] {
                    let contents = match layers.entry(slot) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => {
                            e.insert(load(&slots[slot], store)?)
                        }
                    };
                    stack.push(contents.clone());
                }
                views.push(final_view(&stack));
            }
            let platforms: Vec<String> = images
                .iter()
                .map(|&m| members[m].image.platform())
                .collect();
            Ok(diff(reference, images, &platforms, &views, top))
        })
        .collect()
}

fn load(slot: &Slot, store: &SummaryStore) -> Result<LayerContents> {
    let bad = |reason: String| Error::Config {
        source_name: format!("summary of layer {}", slot.diff_id),
        reason,
        source: None,
    };
    let bytes = match store.get(&slot.diff_id)? {
        Lookup::Hit(b) => b,
        Lookup::Miss | Lookup::Corrupt(_) => {
            return Err(bad(
                "the layer summary disappeared from the cache during the run".into(),
            ));
        }
    };
    let summary = LayerSummary::decode(&bytes).map_err(|d| bad(d.0))?;
    summary
        .to_contents()
        .ok_or_else(|| bad("its names exceed 4 GiB".into()))
}

/// A platform's final filesystem: every visible non-directory by path.
fn final_view(layers: &[LayerContents]) -> BTreeMap<String, PathState> {
    let tree = Tree::merge(layers);
    let mut links = symlink_targets(layers, &tree);
    tree.visible(layers)
        .into_iter()
        .map(|v| {
            let content =
                v.inode.is_some() && matches!(v.kind, EntryKind::File | EntryKind::Hardlink);
            let state = PathState {
                kind: v.kind,
                size_bytes: if v.kind == EntryKind::File { v.size } else { 0 },
                sha256: content
                    .then(|| sha256_string(&crate::layer::kept_sha256(layers, v.source))),
                link_target: links.remove(&v.path),
            };
            (v.path, state)
        })
        .collect()
}

/// Regular files and hardlinks to them are the same thing to a reader of the filesystem.
fn class(k: EntryKind) -> EntryKind {
    match k {
        EntryKind::Hardlink => EntryKind::File,
        k => k,
    }
}

/// How the platforms' entries of one path differ, `None` when they are the same everywhere.
fn change(entries: &[Option<&PathState>]) -> Option<&'static str> {
    let present: Vec<&PathState> = entries.iter().flatten().copied().collect();
    if present.len() < entries.len() {
        return Some("missing");
    }
    let first = present.first()?;
    if present.iter().any(|p| class(p.kind) != class(first.kind)) {
        Some("type")
    } else if present.iter().any(|p| p.sha256 != first.sha256) {
        Some("content")
    } else if present.iter().any(|p| p.link_target != first.link_target) {
        Some("link")
    } else {
        None
    }
}

fn diff(
    reference: String,
    images: Vec<usize>,
    platforms: &[String],
    views: &[BTreeMap<String, PathState>],
    top: usize,
) -> PlatformDifference {
    let mut per: Vec<PlatformFiles> = platforms
        .iter()
        .zip(views)
        .map(|(p, v)| PlatformFiles {
            platform: p.clone(),
            files: v.len() as u64,
            size_bytes: v.values().map(|s| s.size_bytes).sum(),
            partial_paths: 0,
            partial_bytes: 0,
            differing_bytes: 0,
        })
        .collect();
    let mut all: BTreeMap<&str, Vec<Option<&PathState>>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        for (path, state) in v {
            all.entry(path.as_str())
                .or_insert_with(|| vec![None; views.len()])[i] = Some(state);
        }
    }
    let (mut identical, mut partial, mut differing) = (0u64, 0u64, 0u64);
    let mut listed: Vec<(u64, PathDifference)> = Vec::new();
    for (path, entries) in &all {
        let Some(what) = change(entries) else {
            identical += 1;
            continue;
        };
        for (p, e) in per.iter_mut().zip(entries) {
            let Some(e) = e else { continue };
            if what == "missing" {
                p.partial_paths += 1;
                p.partial_bytes += e.size_bytes;
            } else {
                p.differing_bytes += e.size_bytes;
            }
        }
        if what == "missing" {
            partial += 1;
        } else {
            differing += 1;
        }
        let largest = entries.iter().flatten().map(|e| e.size_bytes).max();
        listed.push((
            largest.unwrap_or(0),
            PathDifference {
                path: path.to_string(),
                change: what.to_string(),
                entries: entries.iter().map(|e| e.cloned()).collect(),
            },
        ));
    }
    // Largest first, then by path: `all` is in path order and the sort is stable.
    listed.sort_by_key(|(largest, _)| std::cmp::Reverse(*largest));
    listed.truncate(top);
    PlatformDifference {
        reference,
        images,
        platforms: per,
        paths: all.len() as u64,
        identical_paths: identical,
        partial_paths: partial,
        differing_paths: differing,
        differences: listed.into_iter().map(|(_, d)| d).collect(),
    }
}
