//! The rules measured on the image alone: dive's three (`lowest-efficiency`,
//! `highest-wasted-bytes`, `highest-user-wasted-percent`), the absolute limits (size,
//! compressed size, layers, layer size, waste per kind), `deny-paths`, and the
//! `[recommendations]` table applied to the findings.

use super::RecommendationAction;
use super::evaluate::{Evaluation, cut, ignored_note, kind_name, result, with_setting};
use super::outcome::{Amount, Offender, RecommendationResult, RuleResult, Unit};
use super::rule::RuleId;
use crate::tree::WasteKind;
use crate::units::{format_percent, format_size};
use std::collections::HashSet;

impl Evaluation<'_, '_> {
    pub(super) fn dive_rules(&self, out: &mut Vec<RuleResult>) {
        let rules = &self.gate.config.rules;
        let f = &self.figures;
        let floor = self.floor;
        with_setting(
            out,
            RuleId::LowestEfficiency,
            Unit::Ratio,
            &rules.lowest_efficiency,
            |t| {
                let below = f.efficiency < t.0;
                let failed = below && f.wasted_bytes >= floor;
                let message = if failed {
                    format!(
                        "efficiency {} is below {}: {} of {} shipped is hidden",
                        format_percent(f.efficiency),
                        format_percent(t.0),
                        format_size(f.wasted_bytes),
                        format_size(f.size_bytes)
                    )
                } else if below {
                    format!(
                        "efficiency {} is below {}, but only {} is wasted, under percent-floor {}",
                        format_percent(f.efficiency),
                        format_percent(t.0),
                        format_size(f.wasted_bytes),
                        format_size(floor)
                    )
                } else {
                    format!(
                        "efficiency {} (at least {})",
                        format_percent(f.efficiency),
                        format_percent(t.0)
                    )
                };
                let (offenders, omitted) = if failed {
                    self.waste_offenders(self.waste.iter().copied())
                } else {
                    (Vec::new(), 0)
                };
                result(
                    RuleId::LowestEfficiency,
                    Unit::Ratio,
                    Amount::Float(t.0),
                    Some(Amount::Float(f.efficiency)),
                    failed,
                    message,
                    offenders,
                    omitted,
                )
            },
        );
        with_setting(
            out,
            RuleId::HighestWastedBytes,
            Unit::Bytes,
            &rules.highest_wasted_bytes,
            |t| {
                let failed = f.wasted_bytes > t.0;
                let (offenders, omitted) = if failed {
                    self.waste_offenders(self.waste.iter().copied())
                } else {
                    (Vec::new(), 0)
                };
                result(
                    RuleId::HighestWastedBytes,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(f.wasted_bytes)),
                    failed,
                    format!(
                        "{} wasted ({}at most {})",
                        format_size(f.wasted_bytes),
                        ignored_note(f.ignored_waste_bytes),
                        format_size(t.0)
                    ),
                    offenders,
                    omitted,
                )
            },
        );
        with_setting(
            out,
            RuleId::HighestUserWastedPercent,
            Unit::Ratio,
            &rules.highest_user_wasted_percent,
            |t| {
                let id = RuleId::HighestUserWastedPercent;
                let Some(r) = f.user_wasted_ratio else {
                    return result(
                        id,
                        Unit::Ratio,
                        Amount::Float(t.0),
                        None,
                        false,
                        "no bytes in user layers: nothing to measure".into(),
                        Vec::new(),
                        0,
                    );
                };
                let above = r > t.0;
                let failed = above && f.user_wasted_bytes >= floor;
                let message = if above && !failed {
                    format!(
                        "user layers waste {} of their bytes (more than {}), but only {}, under percent-floor {}",
                        format_percent(r),
                        format_percent(t.0),
                        format_size(f.user_wasted_bytes),
                        format_size(floor)
                    )
                } else {
                    format!(
                        "user layers waste {} of their {} ({}; at most {})",
                        format_size(f.user_wasted_bytes),
                        format_size(f.user_size_bytes),
                        format_percent(r),
                        format_percent(t.0)
                    )
                };
                let base = self.input.report.base.base_layers;
                let (offenders, omitted) = if failed {
                    self.waste_offenders(
                        self.waste
                            .iter()
                            .copied()
                            .filter(|w| w.hidden_by_layer >= base),
                    )
                } else {
                    (Vec::new(), 0)
                };
                result(
                    id,
                    Unit::Ratio,
                    Amount::Float(t.0),
                    Some(Amount::Float(r)),
                    failed,
                    message,
                    offenders,
                    omitted,
                )
            },
        );
    }

    /// The largest layers by `size`, as offenders.
    pub(super) fn largest_layers(&self, size: impl Fn(usize) -> u64, what: &str) -> Vec<Offender> {
        let mut idx: Vec<usize> = (0..self.input.report.layers.len()).collect();
        idx.sort_by(|a, b| size(*b).cmp(&size(*a)).then(a.cmp(b)));
        idx.into_iter()
            .take(5)
            .filter(|i| size(*i) > 0)
            .map(|i| {
                self.layer_offender(
                    i,
                    size(i),
                    format!("layer {i}: {}{what}", format_size(size(i))),
                )
            })
            .collect()
    }

    pub(super) fn absolute_rules(&self, out: &mut Vec<RuleResult>) {
        let rules = &self.gate.config.rules;
        let f = &self.figures;
        let layers = &self.input.report.layers;
        with_setting(out, RuleId::MaxSize, Unit::Bytes, &rules.max_size, |t| {
            let failed = f.size_bytes > t.0;
            result(
                RuleId::MaxSize,
                Unit::Bytes,
                Amount::Unsigned(t.0),
                Some(Amount::Unsigned(f.size_bytes)),
                failed,
                format!(
                    "image size {} (at most {})",
                    format_size(f.size_bytes),
                    format_size(t.0)
                ),
                if failed {
                    self.largest_layers(|i| layers.get(i).map_or(0, |l| l.size_bytes), "")
                } else {
                    Vec::new()
                },
                0,
            )
        });
        with_setting(
            out,
            RuleId::MaxCompressedSize,
            Unit::Bytes,
            &rules.max_compressed_size,
            |t| {
                let failed = f.compressed_size_bytes > t.0;
                result(
                    RuleId::MaxCompressedSize,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(f.compressed_size_bytes)),
                    failed,
                    format!(
                        "compressed size {} (at most {})",
                        format_size(f.compressed_size_bytes),
                        format_size(t.0)
                    ),
                    if failed {
                        self.largest_layers(
                            |i| layers.get(i).map_or(0, |l| l.compressed_size_bytes),
                            " compressed",
                        )
                    } else {
                        Vec::new()
                    },
                    0,
                )
            },
        );
        with_setting(
            out,
            RuleId::MaxLayers,
            Unit::Count,
            &rules.max_layers,
            |t| {
                result(
                    RuleId::MaxLayers,
                    Unit::Count,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(f.layers as u64)),
                    f.layers as u64 > t.0,
                    format!("{} layers (at most {})", f.layers, t.0),
                    Vec::new(),
                    0,
                )
            },
        );
        with_setting(
            out,
            RuleId::MaxLayerSize,
            Unit::Bytes,
            &rules.max_layer_size,
            |t| {
                let largest = layers.iter().map(|l| l.size_bytes).max().unwrap_or(0);
                let over: Vec<Offender> = layers
                    .iter()
                    .filter(|l| l.size_bytes > t.0)
                    .map(|l| {
                        self.layer_offender(
                            l.index,
                            l.size_bytes,
                            format!(
                                "layer {}: {} (at most {})",
                                l.index,
                                format_size(l.size_bytes),
                                format_size(t.0)
                            ),
                        )
                    })
                    .collect();
                let count = over.len();
                let (offenders, omitted) = cut(over);
                result(
                    RuleId::MaxLayerSize,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(largest)),
                    count > 0,
                    if count > 0 {
                        format!(
                            "{count} layer(s) larger than {}; the largest has {}",
                            format_size(t.0),
                            format_size(largest)
                        )
                    } else {
                        format!(
                            "the largest layer has {} (at most {})",
                            format_size(largest),
                            format_size(t.0)
                        )
                    },
                    offenders,
                    omitted,
                )
            },
        );
        let mw = &rules.max_waste;
        for (kind, setting) in [
            (WasteKind::Overwritten, &mw.overwritten),
            (WasteKind::MetadataCopyUp, &mw.metadata_copy_up),
            (WasteKind::Deleted, &mw.deleted),
            (WasteKind::HiddenByOpaque, &mw.hidden_by_opaque),
        ] {
            let id = RuleId::max_waste(kind);
            with_setting(out, id, Unit::Bytes, setting, |t| {
                let reported = self
                    .input
                    .report
                    .totals
                    .waste_by_kind
                    .get(&kind)
                    .copied()
                    .unwrap_or(0);
                let ignored = self.ignored_by_kind.get(&kind).copied().unwrap_or(0);
                let measured = reported.saturating_sub(ignored);
                let failed = measured > t.0;
                let (offenders, omitted) = if failed {
                    self.waste_offenders(self.waste.iter().copied().filter(|w| w.kind == kind))
                } else {
                    (Vec::new(), 0)
                };
                result(
                    id,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(measured)),
                    failed,
                    format!(
                        "{} of {} waste ({}at most {})",
                        format_size(measured),
                        kind_name(kind),
                        ignored_note(ignored),
                        format_size(t.0)
                    ),
                    offenders,
                    omitted,
                )
            });
        }
    }

    pub(super) fn path_rules(&self, out: &mut Vec<RuleResult>) {
        if self.gate.config.rules.deny_paths.is_empty() {
            return;
        }
        // A path counts wherever a layer ships it: deleting it in a later layer leaves it
        // in the image, readable by anyone who pulls the layer.
        let mut seen: HashSet<(String, Option<usize>)> = HashSet::new();
        let mut found: Vec<Offender> = Vec::new();
        for f in self.input.final_files {
            if self.gate.deny.is_match(&f.path) && seen.insert((f.path.clone(), f.layer)) {
                let mut o = match f.layer {
                    Some(l) => self.layer_offender(l, f.size_bytes, String::new()),
                    None => Offender {
                        path: None,
                        layer: None,
                        instruction: None,
                        line: None,
                        bytes: Some(f.size_bytes),
                        message: String::new(),
                    },
                };
                o.path = Some(f.path.clone());
                o.message = match f.layer {
                    Some(l) => format!("{} is in the image (layer {l})", f.path),
                    None => format!("{} is in the image", f.path),
                };
                found.push(o);
            }
        }
        for w in &self.input.report.waste {
            if self.gate.deny.is_match(&w.path)
                && seen.insert((w.path.clone(), Some(w.added_by_layer)))
            {
                let mut o = self.waste_offender(w);
                o.message = format!(
                    "{} is in layer {} (hidden by layer {}, but still shipped)",
                    w.path, w.added_by_layer, w.hidden_by_layer
                );
                found.push(o);
            }
        }
        found.sort_by(|a, b| a.path.cmp(&b.path).then(a.layer.cmp(&b.layer)));
        let count = found.len();
        let (offenders, omitted) = cut(found);
        let globs = self.gate.config.rules.deny_paths.join(", ");
        out.push(result(
            RuleId::DenyPaths,
            Unit::Count,
            Amount::Unsigned(0),
            Some(Amount::Unsigned(count as u64)),
            count > 0,
            if count > 0 {
                format!("{count} denied path(s) in the image ({globs})")
            } else {
                format!("no path matches {globs}")
            },
            offenders,
            omitted,
        ));
    }

    pub(super) fn recommendations(&self, out: &mut Vec<RuleResult>) -> Vec<RecommendationResult> {
        let table = &self.gate.config.recommendations;
        let findings = self.input.findings;
        let mut shown: Vec<RecommendationResult> = findings
            .iter()
            .filter_map(|f| {
                let action = table
                    .get(&f.code)
                    .copied()
                    .unwrap_or(RecommendationAction::Warn);
                (action != RecommendationAction::Allow).then(|| RecommendationResult {
                    code: f.code,
                    action,
                    severity: f.severity,
                    line: f.line,
                    bytes_saved: f.bytes_saved,
                    message: f.message.clone(),
                    overlaps: f.overlaps.clone(),
                })
            })
            .collect();
        shown.sort_by(|a, b| {
            b.action
                .cmp(&a.action)
                .then(b.bytes_saved.cmp(&a.bytes_saved))
                .then(a.code.cmp(&b.code))
                .then(a.line.cmp(&b.line))
        });
        if table.is_empty() && findings.is_empty() {
            return shown;
        }
        let denied: Vec<Offender> = shown
            .iter()
            .filter(|r| r.action == RecommendationAction::Deny)
            .map(|r| Offender {
                path: None,
                layer: None,
                instruction: None,
                line: r.line,
                bytes: Some(r.bytes_saved),
                message: format!("{}: {}", r.code, r.message),
            })
            .collect();
        let count = denied.len();
        let warned = shown.len() - count;
        let (offenders, omitted) = cut(denied);
        out.push(result(
            RuleId::Recommendations,
            Unit::Count,
            Amount::Unsigned(0),
            Some(Amount::Unsigned(count as u64)),
            count > 0,
            format!("{count} denied recommendation(s), {warned} warning(s)"),
            offenders,
            omitted,
        ));
        shown
    }
}
