//! What the fixes save together. A finding that removes bytes from the image records them as
//! [`SavedItem`]s: one file's content in one layer (the layer whose tar carries the bytes).
//! Two findings *overlap* when their item sets intersect, and are *alternatives* when their
//! codes are two ways to remove the same bytes ([`FindingCode::is_alternative_to`]); the
//! combined saving of all fixes is the size of the union of the item sets, so every byte is
//! counted once and the figure can be listed file by file.
//!
//! Findings priced per change (cache findings: bytes rebuilt per change, see
//! [`super::evaluate`]) record no items: they do not shrink the image and are not part of the
//! total.

use super::code::FindingCode;
use super::finding::Finding;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// One file's content in one layer, as a fix removes it from the image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
pub struct SavedItem {
    /// The layer whose tar carries the bytes (0 = base).
    pub layer: usize,
    /// Path in the image, without a leading `/`.
    pub path: String,
    /// Content bytes.
    pub bytes: u64,
}

impl SavedItem {
    /// `bytes` of `path` in `layer`.
    pub fn new(layer: usize, path: impl Into<String>, bytes: u64) -> SavedItem {
        SavedItem {
            layer,
            path: path.into(),
            bytes,
        }
    }
}

/// How two findings' savings relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Relation {
    /// Both fixes remove some of the same bytes: applying both saves less than their sum.
    Overlap,
    /// Two ways to remove the same bytes: apply one or the other.
    Alternative,
}

/// Another finding whose saved bytes intersect this one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Overlap {
    /// The other finding's code.
    pub code: FindingCode,
    /// The other finding's Dockerfile line.
    pub line: Option<usize>,
    /// The other finding's layer.
    pub layer: Option<usize>,
    /// Overlap or alternative.
    pub relation: Relation,
    /// Bytes both findings count.
    pub shared_bytes: u64,
}

/// The size of the union of the findings' saved items: what applying every fix removes from
/// the image, each byte counted once.
pub fn total_bytes_saved(findings: &[Finding]) -> u64 {
    let mut seen: HashMap<(usize, &str), u64> = HashMap::new();
    for f in findings {
        for i in f.saved_items() {
            seen.insert((i.layer, i.path.as_str()), i.bytes);
        }
    }
    seen.values().sum()
}

/// Fill each finding's `overlaps` with the findings (in list order) whose saved items
/// intersect its own, with the bytes they share.
pub(super) fn mark_overlaps(findings: &mut [Finding]) {
    // Every saved item with the finding that saves it, sorted so that the findings of one
    // item are adjacent: one flat list (40 bytes an item) instead of a map holding a vector
    // per item, as an image with tens of thousands of hidden files has that many items. The
    // sort is stable, so an item's bytes are those its first finding gives.
    let mut items: Vec<(usize, &str, usize, u64)> = findings
        .iter()
        .enumerate()
        .flat_map(|(n, f)| {
            f.saved_items()
                .iter()
                .map(move |i| (i.layer, i.path.as_str(), n, i.bytes))
        })
        .collect();
    items.sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
    let mut shared: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    let mut who: Vec<usize> = Vec::new();
    for group in items.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let Some(&(_, _, _, bytes)) = group.first() else {
            continue;
        };
        who.clear();
        who.extend(group.iter().map(|i| i.2));
        who.dedup();
        for (k, &a) in who.iter().enumerate() {
            for &b in who.iter().skip(k + 1) {
                *shared.entry((a, b)).or_default() += bytes;
            }
        }
    }
    let mut marks: Vec<Vec<(usize, Overlap)>> = vec![Vec::new(); findings.len()];
    for (&(a, b), &bytes) in &shared {
        let (Some(fa), Some(fb)) = (findings.get(a), findings.get(b)) else {
            continue;
        };
        let relation = if fa.code.is_alternative_to(fb.code) {
            Relation::Alternative
        } else {
            Relation::Overlap
        };
        let mark = |f: &Finding| Overlap {
            code: f.code,
            line: f.line,
            layer: f.layer,
            relation,
            shared_bytes: bytes,
        };
        let (ma, mb) = (mark(fb), mark(fa));
        if let Some(m) = marks.get_mut(a) {
            m.push((b, ma));
        }
        if let Some(m) = marks.get_mut(b) {
            m.push((a, mb));
        }
    }
    for (f, mut m) in findings.iter_mut().zip(marks) {
        m.sort_by_key(|(n, _)| *n);
        f.overlaps = m.into_iter().map(|(_, o)| o).collect();
    }
}
