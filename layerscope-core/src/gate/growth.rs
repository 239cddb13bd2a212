//! The image against a baseline report: [`Comparison`] (totals, layers by position,
//! Dockerfile instructions, waste at new paths) and the rules over it (`max-growth-*`,
//! `max-compressed-growth-*`, `max-layer-growth-*`, `max-instruction-growth-*`,
//! `max-new-waste-*`), skipped with a reason when the baseline or Dockerfile is missing.

use super::evaluate::{Evaluation, clamp_i64, cut, kind_name, result, skipped, with_setting};
use super::locate;
use super::outcome::{
    Amount, Comparison, Delta, Offender, RuleResult, SizeChange, SkipReason, Unit,
};
use super::rule::RuleId;
use super::{Baseline, ByteSize, Percent, Setting};
use crate::dockerfile::Dockerfile;
use crate::units::{
    format_number, format_signed_percent, format_signed_size, format_size, signed_difference,
};
use std::collections::{BTreeMap, HashSet};

impl Evaluation<'_, '_> {
    pub(super) fn compare(&self, baseline: &Baseline) -> Comparison {
        let b = &baseline.report;
        let r = self.input.report;
        let n = b.layers.len().max(r.layers.len());
        let layer_changes = (0..n)
            .filter_map(|i| {
                let before = b.layers.get(i).map(|l| l.size_bytes);
                let after = r.layers.get(i).map(|l| l.size_bytes);
                let change = signed_difference(before.unwrap_or(0), after.unwrap_or(0));
                (change != 0 || before.is_none() != after.is_none()).then(|| SizeChange {
                    layer: Some(i),
                    line: self.line_of(i),
                    instruction: r
                        .layers
                        .get(i)
                        .and_then(|l| l.created_by.clone())
                        .or_else(|| b.layers.get(i).and_then(|l| l.created_by.clone())),
                    before,
                    after,
                    change,
                })
            })
            .collect();
        let instruction_changes = match self.input.dockerfile {
            Some(df) => self
                .instruction_sizes(baseline, df)
                .into_iter()
                .filter(|c| c.change != 0 || c.before.is_none() != c.after.is_none())
                .collect(),
            None => Vec::new(),
        };
        let had_waste: HashSet<&str> = b.waste.iter().map(|w| w.path.as_str()).collect();
        let new_waste = self
            .waste
            .iter()
            .filter(|w| !had_waste.contains(w.path.as_str()))
            .map(|w| self.waste_entry(w))
            .collect();
        Comparison {
            baseline: baseline.source.clone(),
            baseline_image: baseline.image().to_string(),
            size_bytes: Delta::new(b.totals.size_bytes, r.totals.size_bytes),
            compressed_size_bytes: Delta::new(
                b.totals.compressed_size_bytes,
                r.totals.compressed_size_bytes,
            ),
            final_size_bytes: Delta::new(b.totals.final_size_bytes, r.totals.final_size_bytes),
            wasted_bytes: Delta::new(b.totals.wasted_bytes, r.totals.wasted_bytes),
            layers: Delta::new(b.layers.len() as u64, r.layers.len() as u64),
            efficiency_before: b.totals.efficiency,
            efficiency_after: r.totals.efficiency,
            layer_changes,
            instruction_changes,
            new_waste,
        }
    }

    /// Bytes per Dockerfile line, before and after; layers placed on no line are left out.
    pub(super) fn instruction_sizes(
        &self,
        baseline: &Baseline,
        df: &Dockerfile,
    ) -> Vec<SizeChange> {
        let before_layers: Vec<(Option<&str>, bool)> = baseline
            .report
            .layers
            .iter()
            .map(|l| (l.created_by.as_deref(), l.base))
            .collect();
        let before_lines = locate::locate_layers(&before_layers, df);
        let mut by_line: BTreeMap<usize, (Option<u64>, Option<u64>)> = BTreeMap::new();
        for (l, line) in baseline.report.layers.iter().zip(&before_lines) {
            if let Some(line) = line {
                let e = by_line.entry(*line).or_default();
                e.0 = Some(e.0.unwrap_or(0) + l.size_bytes);
            }
        }
        for (l, line) in self.input.report.layers.iter().zip(&self.lines) {
            if let Some(line) = line {
                let e = by_line.entry(*line).or_default();
                e.1 = Some(e.1.unwrap_or(0) + l.size_bytes);
            }
        }
        by_line
            .into_iter()
            .map(|(line, (before, after))| SizeChange {
                layer: None,
                line: Some(line),
                instruction: df
                    .lines()
                    .get(line.saturating_sub(1))
                    .map(|s| s.trim().to_string()),
                before,
                after,
                change: signed_difference(before.unwrap_or(0), after.unwrap_or(0)),
            })
            .collect()
    }

    pub(super) fn growth_rules(&self, out: &mut Vec<RuleResult>, comparison: Option<&Comparison>) {
        let rules = &self.gate.config.rules;
        let floor = self.floor;
        let skip_all = |out: &mut Vec<RuleResult>, reason, ids: &[(RuleId, Unit, bool)]| {
            for (id, unit, configured) in ids {
                if *configured {
                    out.push(skipped(*id, *unit, reason));
                }
            }
        };
        let Some(cmp) = comparison else {
            skip_all(
                out,
                SkipReason::NoBaseline,
                &[
                    (
                        RuleId::MaxGrowthBytes,
                        Unit::Bytes,
                        rules.max_growth_bytes.is_some(),
                    ),
                    (
                        RuleId::MaxGrowthPercent,
                        Unit::Percent,
                        rules.max_growth_percent.is_some(),
                    ),
                    (
                        RuleId::MaxCompressedGrowthBytes,
                        Unit::Bytes,
                        rules.max_compressed_growth_bytes.is_some(),
                    ),
                    (
                        RuleId::MaxCompressedGrowthPercent,
                        Unit::Percent,
                        rules.max_compressed_growth_percent.is_some(),
                    ),
                    (
                        RuleId::MaxLayerGrowthBytes,
                        Unit::Bytes,
                        rules.max_layer_growth_bytes.is_some(),
                    ),
                    (
                        RuleId::MaxLayerGrowthPercent,
                        Unit::Percent,
                        rules.max_layer_growth_percent.is_some(),
                    ),
                    (
                        RuleId::MaxInstructionGrowthBytes,
                        Unit::Bytes,
                        rules.max_instruction_growth_bytes.is_some(),
                    ),
                    (
                        RuleId::MaxInstructionGrowthPercent,
                        Unit::Percent,
                        rules.max_instruction_growth_percent.is_some(),
                    ),
                    (
                        RuleId::MaxNewWasteItems,
                        Unit::Count,
                        rules.max_new_waste_items.is_some(),
                    ),
                    (
                        RuleId::MaxNewWasteBytes,
                        Unit::Bytes,
                        rules.max_new_waste_bytes.is_some(),
                    ),
                ],
            );
            return;
        };
        let grew_layers = |limit: i64| -> Vec<Offender> {
            let mut grew: Vec<&SizeChange> = cmp
                .layer_changes
                .iter()
                .filter(|c| c.change > limit)
                .collect();
            grew.sort_by(|a, b| b.change.cmp(&a.change).then(a.layer.cmp(&b.layer)));
            grew.into_iter().map(|c| self.change_offender(c)).collect()
        };
        for (id, pid, delta, bytes_setting, pct_setting, what) in [
            (
                RuleId::MaxGrowthBytes,
                RuleId::MaxGrowthPercent,
                cmp.size_bytes,
                &rules.max_growth_bytes,
                &rules.max_growth_percent,
                "image size",
            ),
            (
                RuleId::MaxCompressedGrowthBytes,
                RuleId::MaxCompressedGrowthPercent,
                cmp.compressed_size_bytes,
                &rules.max_compressed_growth_bytes,
                &rules.max_compressed_growth_percent,
                "compressed size",
            ),
        ] {
            let compressed = id == RuleId::MaxCompressedGrowthBytes;
            with_setting(out, id, Unit::Bytes, bytes_setting, |t| {
                let failed = delta.change > clamp_i64(t.0);
                // Which layers grew is known for uncompressed sizes only.
                let (offenders, omitted) = if failed && !compressed {
                    cut(grew_layers(0))
                } else {
                    (Vec::new(), 0)
                };
                result(
                    id,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Signed(delta.change)),
                    failed,
                    format!(
                        "{what} {} -> {} ({}; at most +{})",
                        format_size(delta.before),
                        format_size(delta.after),
                        format_signed_size(delta.change),
                        format_size(t.0)
                    ),
                    offenders,
                    omitted,
                )
            });
            with_setting(out, pid, Unit::Percent, pct_setting, |t| {
                let Some(p) = delta.percent else {
                    return result(
                        pid,
                        Unit::Percent,
                        Amount::Float(t.0),
                        None,
                        false,
                        format!("the baseline's {what} is 0: no percentage to measure"),
                        Vec::new(),
                        0,
                    );
                };
                let above = p > t.0;
                let failed = above && delta.change >= clamp_i64(floor);
                let mut message = format!(
                    "{what} {} -> {} ({}; at most +{}%)",
                    format_size(delta.before),
                    format_size(delta.after),
                    format_signed_percent(p),
                    format_number(t.0)
                );
                if above && !failed {
                    message.push_str(&format!(
                        "; passes: {} is under percent-floor {}",
                        format_signed_size(delta.change),
                        format_size(floor)
                    ));
                }
                let (offenders, omitted) = if failed && !compressed {
                    cut(grew_layers(0))
                } else {
                    (Vec::new(), 0)
                };
                result(
                    pid,
                    Unit::Percent,
                    Amount::Float(t.0),
                    Some(Amount::Float(p)),
                    failed,
                    message,
                    offenders,
                    omitted,
                )
            });
        }
        self.change_rules(
            out,
            RuleId::MaxLayerGrowthBytes,
            RuleId::MaxLayerGrowthPercent,
            &rules.max_layer_growth_bytes,
            &rules.max_layer_growth_percent,
            &cmp.layer_changes,
            "layer",
        );
        if self.input.dockerfile.is_some() {
            self.change_rules(
                out,
                RuleId::MaxInstructionGrowthBytes,
                RuleId::MaxInstructionGrowthPercent,
                &rules.max_instruction_growth_bytes,
                &rules.max_instruction_growth_percent,
                &cmp.instruction_changes,
                "instruction",
            );
        } else {
            skip_all(
                out,
                SkipReason::NoDockerfile,
                &[
                    (
                        RuleId::MaxInstructionGrowthBytes,
                        Unit::Bytes,
                        rules.max_instruction_growth_bytes.is_some(),
                    ),
                    (
                        RuleId::MaxInstructionGrowthPercent,
                        Unit::Percent,
                        rules.max_instruction_growth_percent.is_some(),
                    ),
                ],
            );
        }
        let new_bytes: u64 = cmp.new_waste.iter().map(|w| w.bytes).sum();
        let new_offenders = || {
            cut(cmp
                .new_waste
                .iter()
                .map(|w| Offender {
                    path: Some(w.path.clone()),
                    layer: Some(w.added_by_layer),
                    instruction: self.instruction_of(w.added_by_layer),
                    line: w.line,
                    bytes: Some(w.bytes),
                    message: format!(
                        "new waste: {} ({}, {}) shipped by layer {}, hidden by layer {}",
                        w.path,
                        format_size(w.bytes),
                        kind_name(w.kind),
                        w.added_by_layer,
                        w.hidden_by_layer
                    ),
                })
                .collect())
        };
        let partial = self.input.baseline.is_some_and(|b| b.waste_list_partial());
        let partial_note = if partial {
            " (the baseline's waste list is partial: some may not be new)"
        } else {
            ""
        };
        with_setting(
            out,
            RuleId::MaxNewWasteItems,
            Unit::Count,
            &rules.max_new_waste_items,
            |t| {
                let count = cmp.new_waste.len() as u64;
                let failed = count > t.0;
                let (offenders, omitted) = if failed {
                    new_offenders()
                } else {
                    (Vec::new(), 0)
                };
                result(
                    RuleId::MaxNewWasteItems,
                    Unit::Count,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(count)),
                    failed,
                    format!(
                        "{count} new waste item(s), {} (at most {}){partial_note}",
                        format_size(new_bytes),
                        t.0
                    ),
                    offenders,
                    omitted,
                )
            },
        );
        with_setting(
            out,
            RuleId::MaxNewWasteBytes,
            Unit::Bytes,
            &rules.max_new_waste_bytes,
            |t| {
                let failed = new_bytes > t.0;
                let (offenders, omitted) = if failed {
                    new_offenders()
                } else {
                    (Vec::new(), 0)
                };
                result(
                    RuleId::MaxNewWasteBytes,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(new_bytes)),
                    failed,
                    format!(
                        "{} of new waste in {} item(s) (at most {}){partial_note}",
                        format_size(new_bytes),
                        cmp.new_waste.len(),
                        format_size(t.0)
                    ),
                    offenders,
                    omitted,
                )
            },
        );
    }

    pub(super) fn change_offender(&self, c: &SizeChange) -> Offender {
        let what = match (c.layer, c.line, &c.instruction) {
            (Some(l), _, _) => format!("layer {l}"),
            (None, _, Some(text)) => text.chars().take(80).collect(),
            (None, Some(line), None) => format!("line {line}"),
            (None, None, None) => "an instruction".to_string(),
        };
        let message = match (c.before, c.after) {
            (Some(b), Some(a)) => format!(
                "{what} grew by {} ({} -> {})",
                format_signed_size(c.change),
                format_size(b),
                format_size(a)
            ),
            (None, Some(a)) => format!("{what} is new: {}", format_size(a)),
            (Some(b), None) => format!("{what} is gone (was {})", format_size(b)),
            (None, None) => what,
        };
        Offender {
            path: None,
            layer: c.layer,
            instruction: c.instruction.clone(),
            line: c.line,
            bytes: c.after,
            message,
        }
    }

    /// Growth rules over per-layer or per-instruction changes. A layer or instruction new
    /// since the baseline has no percentage: the bytes rule and the totals cover it.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn change_rules(
        &self,
        out: &mut Vec<RuleResult>,
        id: RuleId,
        pid: RuleId,
        bytes_setting: &Option<Setting<ByteSize>>,
        pct_setting: &Option<Setting<Percent>>,
        changes: &[SizeChange],
        what: &str,
    ) {
        let mut sorted: Vec<&SizeChange> = changes.iter().collect();
        sorted.sort_by(|a, b| {
            b.change
                .cmp(&a.change)
                .then(a.layer.cmp(&b.layer))
                .then(a.line.cmp(&b.line))
        });
        with_setting(out, id, Unit::Bytes, bytes_setting, |t| {
            let largest = sorted.first().map_or(0, |c| c.change.max(0));
            let over: Vec<Offender> = sorted
                .iter()
                .filter(|c| c.change > clamp_i64(t.0))
                .map(|c| self.change_offender(c))
                .collect();
            let count = over.len();
            let (offenders, omitted) = cut(over);
            result(
                id,
                Unit::Bytes,
                Amount::Unsigned(t.0),
                Some(Amount::Signed(largest)),
                count > 0,
                if count > 0 {
                    format!("{count} {what}(s) grew by more than {}", format_size(t.0))
                } else {
                    format!(
                        "no {what} grew by more than {} (largest growth {})",
                        format_size(t.0),
                        format_signed_size(largest)
                    )
                },
                offenders,
                omitted,
            )
        });
        with_setting(out, pid, Unit::Percent, pct_setting, |t| {
            let mut largest: Option<f64> = None;
            let mut over = Vec::new();
            for c in &sorted {
                let (Some(before), Some(_)) = (c.before, c.after) else {
                    continue;
                };
                if before == 0 {
                    continue;
                }
                let p = c.change as f64 * 100.0 / before as f64;
                largest = Some(largest.map_or(p, |l: f64| l.max(p)));
                if p > t.0 && c.change >= clamp_i64(self.floor) {
                    let mut o = self.change_offender(c);
                    o.message
                        .push_str(&format!(", {}", format_signed_percent(p)));
                    over.push(o);
                }
            }
            let count = over.len();
            let (offenders, omitted) = cut(over);
            let floor_note = if self.floor > 0 {
                format!(" and by at least {}", format_size(self.floor))
            } else {
                String::new()
            };
            result(
                pid,
                Unit::Percent,
                Amount::Float(t.0),
                largest.map(Amount::Float),
                count > 0,
                if count > 0 {
                    format!(
                        "{count} {what}(s) grew by more than {}%{floor_note}",
                        format_number(t.0)
                    )
                } else {
                    format!(
                        "no {what} grew by more than {}%{floor_note} (largest {})",
                        format_number(t.0),
                        largest.map_or("-".to_string(), format_signed_percent)
                    )
                },
                offenders,
                omitted,
            )
        });
    }
}
