//! Waste findings: bytes a layer ships that a later layer hides, so the image carries them
//! and no container sees them (the whiteout and overwrite rules of the OCI image spec,
//! layer.md, "Whiteouts" and "Changeset over existing files"). Each hidden copy is one
//! waste item of [`ImageFigures::waste`], with the layer that added it and the one that hid
//! it.
//!
//! - deleted-in-later-layer: removed by a whiteout or hidden by an opaque directory;
//! - overwritten-in-later-layer: replaced by different content;
//! - metadata-copy-up: shipped again with the same content (a chmod/chown/touch, or a second
//!   COPY of the same files).

use super::FindingCode;
use super::finding::{Finding, finding};
use super::savings::SavedItem;
use crate::analysis::ImageFigures;
use crate::tree::WasteKind;
use crate::units::format_size as human;
use std::collections::BTreeMap;

/// One finding per kind of waste and layer that hid the bytes: that layer's step is what
/// the fix changes.
pub(super) fn findings(
    r: &ImageFigures,
    line_of_layer: &dyn Fn(usize) -> Option<usize>,
    out: &mut Vec<Finding>,
) {
    type Group = (u64, Vec<SavedItem>, Vec<usize>);
    let mut groups: BTreeMap<(WasteKind, usize), Group> = BTreeMap::new();
    for w in &r.waste {
        let kind = if w.kind == WasteKind::HiddenByOpaque {
            WasteKind::Deleted
        } else {
            w.kind
        };
        let g = groups.entry((kind, w.hidden_by_layer)).or_default();
        g.0 += w.bytes;
        g.1.push(SavedItem::new(w.added_by_layer, w.path.clone(), w.bytes));
        if !g.2.contains(&w.added_by_layer) {
            g.2.push(w.added_by_layer);
        }
    }
    for ((kind, hidden), (bytes, items, mut added)) in groups {
        added.sort_unstable();
        let added = added
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if bytes == 0 {
            continue;
        }
        let (code, what, fix) = match kind {
            WasteKind::MetadataCopyUp => (
                FindingCode::MetadataCopyUp,
                "ships again, with identical content,",
                if r.layers
                    .get(hidden)
                    .and_then(|l| l.created_by.as_deref())
                    .is_some_and(|c| c.contains("COPY") || c.contains("ADD"))
                {
                    "a later COPY copies the same files again: exclude them from it (COPY --exclude) or copy them once".to_string()
                } else {
                    "set modes and owners when the files are first added (COPY --chmod/--chown, or in the same RUN) instead of in a later step".to_string()
                },
            ),
            WasteKind::Deleted | WasteKind::HiddenByOpaque => (
                FindingCode::DeletedInLaterLayer,
                "deletes",
                "do not add these files, or remove them in the same RUN that creates them"
                    .to_string(),
            ),
            WasteKind::Overwritten => (
                FindingCode::OverwrittenInLaterLayer,
                "replaces",
                "write the final content once, in one step".to_string(),
            ),
        };
        let n = items.len();
        let mut f = finding(
            code,
            line_of_layer(hidden),
            Some(hidden),
            bytes,
            format!(
                "layer {hidden} {what} {n} file{} ({}) that layer(s) {added} added: {}{}",
                if n == 1 { "" } else { "s" },
                human(bytes),
                items
                    .iter()
                    .take(3)
                    .map(|i| i.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                if n > 3 { ", ..." } else { "" }
            ),
            fix,
        );
        f.evidence = items.iter().take(20).map(|i| i.path.clone()).collect();
        let f = f.with_saved_items(items);
        out.push(f);
    }
}
