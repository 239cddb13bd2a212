//! Config history entries <-> layers: each history entry with `empty_layer` unset made one
//! layer, in order (OCI image-spec, config.md, "history").

use crate::source::HistoryEntry;

/// How the history lined up with the layers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HistoryAlignment {
    /// For each layer, the index of its history entry (if any).
    pub layer_entries: Vec<Option<usize>>,
    /// True when the history had as many non-empty entries as there are layers.
    pub regular: bool,
    /// A sentence describing any irregularity.
    pub note: Option<String>,
}

/// Align history to layers: each entry with `empty_layer != true` takes the next layer.
/// When the counts disagree, align from the top (BuildKit pads or marks extra entries at the
/// bottom) and flag it.
pub fn align_history(history: &[HistoryEntry], layer_count: usize) -> HistoryAlignment {
    let non_empty: Vec<usize> = history
        .iter()
        .enumerate()
        .filter(|(_, h)| !h.empty_layer)
        .map(|(i, _)| i)
        .collect();
    let mut layer_entries = vec![None; layer_count];
    if non_empty.len() == layer_count {
        for (slot, idx) in layer_entries.iter_mut().zip(&non_empty) {
            *slot = Some(*idx);
        }
        return HistoryAlignment {
            layer_entries,
            regular: true,
            note: None,
        };
    }
    for (slot, idx) in layer_entries.iter_mut().rev().zip(non_empty.iter().rev()) {
        *slot = Some(*idx);
    }
    let note = if history.is_empty() {
        "the config has no history: layers cannot be attributed to instructions".to_string()
    } else {
        format!(
            "the history has {} layer-making entries for {} layers: aligned from the top layer down",
            non_empty.len(),
            layer_count
        )
    };
    HistoryAlignment {
        layer_entries,
        regular: false,
        note: Some(note),
    }
}
