//! Evaluating a gate: [`Evaluation`] derives once per run what every rule reads (waste
//! after `ignore-waste-paths`, the figures, each layer's Dockerfile line), then runs the rule
//! families in a fixed order (image rules, `image_rules.rs`; baseline rules, `growth.rs`)
//! into a [`GateOutcome`]. The helpers at the bottom build one [`RuleResult`] each.

use super::locate;
use super::outcome::{
    Amount, ConfigInfo, Figures, GateOutcome, Offender, RuleResult, RuleStatus, SkipReason, Unit,
    Verdict, WasteEntry,
};
use super::rule::RuleId;
use super::{ConfigFormat, Gate, GateInput, Setting};
use crate::analysis::WasteItem;
use crate::tree::WasteKind;
use crate::units::{format_size, ratio};
use std::collections::BTreeMap;

/// How many offenders a rule lists (the rest are counted in `offenders_omitted`).
const MAX_OFFENDERS: usize = 20;
/// How many waste items the outcome lists for a summary.
const TOP_WASTE: usize = 10;

/// Everything derived once per run.
pub(super) struct Evaluation<'g, 'a> {
    pub(super) gate: &'g Gate,
    pub(super) input: &'g GateInput<'a>,
    /// Dockerfile line of each current layer.
    pub(super) lines: Vec<Option<usize>>,
    /// Dockerfile line image-wide results are placed on.
    pub(super) image_line: Option<usize>,
    /// Waste items not ignored, largest first.
    pub(super) waste: Vec<&'a WasteItem>,
    pub(super) figures: Figures,
    pub(super) ignored_by_kind: BTreeMap<WasteKind, u64>,
    pub(super) floor: u64,
    pub(super) notes: Vec<String>,
}

impl<'g, 'a> Evaluation<'g, 'a> {
    pub(super) fn new(gate: &'g Gate, input: &'g GateInput<'a>) -> Self {
        let report = input.report;
        let base_layers = report.base.base_layers;
        let mut waste = Vec::with_capacity(report.waste.len());
        let (mut ignored, mut ignored_user) = (0u64, 0u64);
        let mut ignored_by_kind: BTreeMap<WasteKind, u64> = BTreeMap::new();
        for w in &report.waste {
            if gate.ignore.is_match(&w.path) {
                ignored += w.bytes;
                if w.hidden_by_layer >= base_layers {
                    ignored_user += w.bytes;
                }
                *ignored_by_kind.entry(w.kind).or_default() += w.bytes;
            } else {
                waste.push(w);
            }
        }
        let t = &report.totals;
        let counted = t.size_bytes.saturating_sub(ignored);
        let user_wasted_bytes = report.base.user_wasted_bytes.saturating_sub(ignored_user);
        let figures = Figures {
            layers: t.layers,
            size_bytes: t.size_bytes,
            compressed_size_bytes: t.compressed_size_bytes,
            final_size_bytes: t.final_size_bytes,
            wasted_bytes: t.wasted_bytes.saturating_sub(ignored),
            ignored_waste_bytes: ignored,
            efficiency: ratio(t.final_size_bytes, counted).unwrap_or(1.0),
            user_size_bytes: report.base.user_size_bytes,
            user_wasted_bytes,
            user_wasted_ratio: ratio(user_wasted_bytes, report.base.user_size_bytes),
        };
        let mut notes = Vec::new();
        let (lines, image_line) = match input.dockerfile {
            Some(df) => {
                let layers: Vec<(Option<&str>, bool)> = report
                    .layers
                    .iter()
                    .map(|l| (l.created_by.as_deref(), l.base))
                    .collect();
                // The image's own history matched to the Dockerfile (attribution) when the
                // report carries it; the text search otherwise.
                let lines = match input.attribution {
                    Some(a) => (0..report.layers.len())
                        .map(|l| {
                            a.instructions
                                .iter()
                                .find(|c| c.layers.contains(&l))
                                .map(|c| c.line)
                        })
                        .collect(),
                    None => locate::locate_layers(&layers, df),
                };
                let user: Vec<_> = report.layers.iter().filter(|l| !l.base).collect();
                let placed = lines.iter().filter(|l| l.is_some()).count();
                if placed < user.len() {
                    notes.push(format!(
                        "{} of {} layers above the base image could not be placed on a line of {}",
                        user.len() - placed,
                        user.len(),
                        df.file_name()
                    ));
                }
                (lines, Some(locate::image_line(df)))
            }
            None => (vec![None; report.layers.len()], None),
        };
        Evaluation {
            gate,
            input,
            lines,
            image_line,
            waste,
            figures,
            ignored_by_kind,
            floor: gate.config.rules.percent_floor.map_or(0, |b| b.0),
            notes,
        }
    }

    pub(super) fn line_of(&self, layer: usize) -> Option<usize> {
        self.lines.get(layer).copied().flatten()
    }

    pub(super) fn instruction_of(&self, layer: usize) -> Option<String> {
        self.input
            .report
            .layers
            .get(layer)
            .and_then(|l| l.created_by.clone())
    }

    pub(super) fn layer_offender(&self, layer: usize, bytes: u64, message: String) -> Offender {
        Offender {
            path: None,
            layer: Some(layer),
            instruction: self.instruction_of(layer),
            line: self.line_of(layer),
            bytes: Some(bytes),
            message,
        }
    }

    pub(super) fn waste_offender(&self, w: &WasteItem) -> Offender {
        Offender {
            path: Some(w.path.clone()),
            layer: Some(w.added_by_layer),
            instruction: w.added_by.as_deref().map(str::to_string),
            line: self.line_of(w.added_by_layer),
            bytes: Some(w.bytes),
            message: format!(
                "{} ({}) shipped by layer {}, hidden by layer {} ({})",
                w.path,
                format_size(w.bytes),
                w.added_by_layer,
                w.hidden_by_layer,
                kind_name(w.kind)
            ),
        }
    }

    pub(super) fn waste_entry(&self, w: &WasteItem) -> WasteEntry {
        WasteEntry {
            path: w.path.clone(),
            bytes: w.bytes,
            kind: w.kind,
            added_by_layer: w.added_by_layer,
            hidden_by_layer: w.hidden_by_layer,
            line: self.line_of(w.added_by_layer),
            hidden_by_line: self.line_of(w.hidden_by_layer),
        }
    }

    pub(super) fn run(mut self) -> GateOutcome {
        let mut rules = Vec::new();
        self.dive_rules(&mut rules);
        self.absolute_rules(&mut rules);
        self.path_rules(&mut rules);
        let comparison = self.input.baseline.map(|b| self.compare(b));
        self.growth_rules(&mut rules, comparison.as_ref());
        let recommendations = self.recommendations(&mut rules);
        let verdict = if rules.iter().any(|r| r.status == RuleStatus::Fail) {
            Verdict::Fail
        } else {
            Verdict::Pass
        };
        let config = &self.gate.config;
        let note = match config.format {
            ConfigFormat::Defaults => Some(
                "no config file: dive's default rules apply (lowest-efficiency 0.9, highest-user-wasted-percent 0.1)"
                    .to_string(),
            ),
            ConfigFormat::DiveCi => Some(
                "dive .dive-ci: rules it leaves out take dive's defaults; they measure layerscope's figures"
                    .to_string(),
            ),
            ConfigFormat::Toml | ConfigFormat::Api => None,
        };
        let top_waste = self
            .waste
            .iter()
            .take(TOP_WASTE)
            .map(|w| self.waste_entry(w))
            .collect();
        GateOutcome {
            verdict,
            config: ConfigInfo {
                format: config.format,
                source: config.source.clone(),
                note,
            },
            dockerfile: self.input.dockerfile.map(|d| d.file_name().to_string()),
            image_line: self.image_line,
            rules,
            recommendations,
            figures: self.figures.clone(),
            comparison,
            top_waste,
            notes: std::mem::take(&mut self.notes),
        }
    }

    /// Offenders from waste items (largest first), cut to [`MAX_OFFENDERS`].
    pub(super) fn waste_offenders<'w>(
        &self,
        items: impl Iterator<Item = &'w WasteItem>,
    ) -> (Vec<Offender>, usize) {
        cut(items.map(|w| self.waste_offender(w)).collect())
    }
}

pub(super) fn with_setting<T: Copy>(
    out: &mut Vec<RuleResult>,
    id: RuleId,
    unit: Unit,
    setting: &Option<Setting<T>>,
    f: impl FnOnce(T) -> RuleResult,
) {
    match setting {
        None => {}
        Some(Setting::Off) => out.push(skipped(id, unit, SkipReason::Disabled)),
        Some(Setting::On(t)) => out.push(f(*t)),
    }
}

pub(super) fn skipped(id: RuleId, unit: Unit, reason: SkipReason) -> RuleResult {
    RuleResult {
        id,
        status: RuleStatus::Skip,
        unit,
        threshold: None,
        measured: None,
        message: reason.to_string(),
        skip_reason: Some(reason),
        offenders: Vec::new(),
        offenders_omitted: 0,
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn result(
    id: RuleId,
    unit: Unit,
    threshold: Amount,
    measured: Option<Amount>,
    failed: bool,
    message: String,
    offenders: Vec<Offender>,
    offenders_omitted: usize,
) -> RuleResult {
    RuleResult {
        id,
        status: if failed {
            RuleStatus::Fail
        } else {
            RuleStatus::Pass
        },
        unit,
        threshold: Some(threshold),
        measured,
        message,
        skip_reason: None,
        offenders,
        offenders_omitted,
    }
}

pub(super) fn cut(mut v: Vec<Offender>) -> (Vec<Offender>, usize) {
    let omitted = v.len().saturating_sub(MAX_OFFENDERS);
    v.truncate(MAX_OFFENDERS);
    (v, omitted)
}

pub(super) fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(super) fn kind_name(kind: WasteKind) -> &'static str {
    match kind {
        WasteKind::Overwritten => "overwritten",
        WasteKind::MetadataCopyUp => "metadata-copy-up",
        WasteKind::Deleted => "deleted",
        WasteKind::HiddenByOpaque => "hidden-by-opaque",
    }
}

pub(super) fn ignored_note(ignored: u64) -> String {
    if ignored > 0 {
        format!("{} at ignored paths left out; ", format_size(ignored))
    } else {
        String::new()
    }
}
