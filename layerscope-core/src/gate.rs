//! The CI gate: rules from a config file, measured on an image's figures (and, against a
//! baseline report, on what changed) -> a [`GateOutcome`]. Threshold breaches are data, never errors:
//! every configured rule comes back with its status, threshold, measured value, message and,
//! where it applies, the offending paths, layers and Dockerfile lines.
//!
//! ```
//! use layerscope_core::{Analysis, AnalysisOptions, Gate, GateConfig, GateInput, Image};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! let image = Image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/image.tar"))?;
//! let analysis = Analysis::run(&image, &AnalysisOptions::default())?;
//! let config = GateConfig::from_toml(
//!     "[rules]\nmax-size = \"10MB\"\nlowest-efficiency = 0.9\n",
//!     ".layerscope.toml",
//! )?;
//! let outcome = Gate::new(config)?.evaluate(&GateInput::new(analysis.figures()));
//! assert!(!outcome.passed()); // 65.8 % efficient
//! assert_eq!(outcome.rules[0].id, "lowest-efficiency");
//! # Ok(())
//! # }
//! ```
//!
//! Which figures the rules read: the dive-named rules (`lowest-efficiency`,
//! `highest-wasted-bytes`, `highest-user-wasted-percent`) keep dive's names, thresholds and
//! comparisons but measure layerscope's figures (README, "What the numbers mean"), which count
//! waste that dive misses (opaque directories, deleted directories) and never the copy still
//! in use.

mod baseline;
mod config;
mod locate;
#[cfg(test)]
mod tests;

pub use baseline::Baseline;
pub use config::{
    ByteSize, ConfigFormat, Count, GateConfig, MaxWaste, Percent, Ratio, RecommendationAction,
    Rules, Setting,
};

use crate::analysis::{FileRecord, ImageFigures, WasteItem};
use crate::attribution::Attribution;
use crate::dockerfile::Dockerfile;
use crate::error::{Error, Result};
use crate::recommend::{Finding, FindingCode, Severity};
use crate::tree::WasteKind;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// How many offenders a rule lists (the rest are counted in `offenders_omitted`).
const MAX_OFFENDERS: usize = 20;
/// How many waste items the outcome lists for a summary.
const TOP_WASTE: usize = 10;

/// Compile globs the way listings do (`*` within a component, `**` across, leading `/`
/// ignored, since image paths are relative to the root).
pub(crate) fn glob_set(globs: &[String]) -> std::result::Result<globset::GlobSet, String> {
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        let glob = globset::GlobBuilder::new(g.trim_start_matches('/'))
            .literal_separator(true)
            .build()
            .map_err(|e| format!("{g:?}: {e}"))?;
        set.add(glob);
    }
    set.build().map_err(|e| e.to_string())
}

/// The gate's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No rule failed.
    Pass,
    /// At least one rule failed.
    Fail,
}

/// One rule's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleStatus {
    /// Measured within the threshold.
    Pass,
    /// Measured beyond the threshold.
    Fail,
    /// Not evaluated: turned off, or its input (baseline, Dockerfile) is missing.
    Skip,
}

/// The unit of a rule's threshold and measured value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Bytes.
    Bytes,
    /// A ratio, 0 to 1.
    Ratio,
    /// A percentage (5 = 5 %).
    Percent,
    /// A count.
    Count,
}

/// A threshold or a measured value: a plain JSON number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Amount {
    /// Bytes or a count.
    Unsigned(u64),
    /// A change in bytes (negative = shrank).
    Signed(i64),
    /// A ratio or a percentage.
    Float(f64),
}

/// What made a rule fail: a path, a layer, a Dockerfile line, a waste item, a finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Offender {
    /// The path in the image.
    pub path: Option<String>,
    /// The layer (0 = base).
    pub layer: Option<usize>,
    /// That layer's history instruction.
    pub instruction: Option<String>,
    /// The Dockerfile line (1-based) that made the layer, when known.
    pub line: Option<usize>,
    /// The bytes involved.
    pub bytes: Option<u64>,
    /// One sentence.
    pub message: String,
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleResult {
    /// The rule's key in the config, e.g. `max-size`, `max-waste.deleted`.
    pub id: String,
    /// Pass, fail or skip.
    pub status: RuleStatus,
    /// Unit of `threshold` and `measured`.
    pub unit: Unit,
    /// The configured limit (`null` when turned off).
    pub threshold: Option<Amount>,
    /// The value measured (`null` when not measured).
    pub measured: Option<Amount>,
    /// One sentence saying what was measured against what.
    pub message: String,
    /// What made it fail (also listed for a pass when the figure is below the byte floor).
    pub offenders: Vec<Offender>,
    /// Offenders beyond those listed.
    pub offenders_omitted: usize,
}

/// A recommendation after the `[recommendations]` table was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RecommendationResult {
    /// The code.
    pub code: FindingCode,
    /// `warn` or `deny` (allowed codes are left out).
    pub action: RecommendationAction,
    /// The producer's severity.
    pub severity: Severity,
    /// Dockerfile line.
    pub line: Option<usize>,
    /// Bytes the fix would save.
    pub bytes_saved: u64,
    /// What to do.
    pub message: String,
}

/// Which config was applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ConfigInfo {
    /// `toml`, `dive-ci`, `defaults` (no file) or `api` (built in code).
    pub format: ConfigFormat,
    /// The file, if any.
    pub source: Option<String>,
    /// What the reader should know about it (defaults applied, dive's figures).
    pub note: Option<String>,
}

/// The figures the rules measured (after `ignore-waste-paths`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Figures {
    /// Number of layers.
    pub layers: usize,
    /// Sum of the layers' sizes.
    pub size_bytes: u64,
    /// Sum of the compressed blob sizes.
    pub compressed_size_bytes: u64,
    /// Bytes visible in the final filesystem.
    pub final_size_bytes: u64,
    /// Wasted bytes, ignored waste left out.
    pub wasted_bytes: u64,
    /// Waste at `ignore-waste-paths`.
    pub ignored_waste_bytes: u64,
    /// `final_size_bytes / (size_bytes - ignored_waste_bytes)` (1.0 for no bytes).
    pub efficiency: f64,
    /// Bytes of the layers above the base image.
    pub user_size_bytes: u64,
    /// Waste hidden by user layers, ignored waste left out.
    pub user_wasted_bytes: u64,
    /// `user_wasted_bytes / user_size_bytes`; `null` with no user bytes.
    pub user_wasted_ratio: Option<f64>,
}

/// A figure before and after.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Delta {
    /// In the baseline.
    pub before: u64,
    /// Now.
    pub after: u64,
    /// `after - before`.
    pub change: i64,
    /// `change / before` in percent; `null` when `before` is 0.
    pub percent: Option<f64>,
}

impl Delta {
    fn new(before: u64, after: u64) -> Delta {
        let change = signed_change(before, after);
        Delta {
            before,
            after,
            change,
            percent: (before > 0).then(|| change as f64 * 100.0 / before as f64),
        }
    }
}

fn signed_change(before: u64, after: u64) -> i64 {
    let d = i128::from(after) - i128::from(before);
    i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
}

/// One layer (by position) or one Dockerfile instruction, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SizeChange {
    /// The layer index (for per-layer changes).
    pub layer: Option<usize>,
    /// The Dockerfile line (per-instruction changes, or the line of the layer).
    pub line: Option<usize>,
    /// The instruction: the Dockerfile text, or the layer's history entry.
    pub instruction: Option<String>,
    /// Bytes in the baseline (`null`: not there).
    pub before: Option<u64>,
    /// Bytes now (`null`: gone).
    pub after: Option<u64>,
    /// `after - before` (missing counts 0).
    pub change: i64,
}

/// A waste item as the outcome lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WasteEntry {
    /// Path of the hidden copy.
    pub path: String,
    /// Its bytes.
    pub bytes: u64,
    /// Why it is hidden.
    pub kind: WasteKind,
    /// Layer that shipped it.
    pub added_by_layer: usize,
    /// Layer that hid it.
    pub hidden_by_layer: usize,
    /// Dockerfile line of the layer that shipped it.
    pub line: Option<usize>,
    /// Dockerfile line of the layer that hid it.
    pub hidden_by_line: Option<usize>,
}

/// The image against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Comparison {
    /// The baseline file.
    pub baseline: String,
    /// The baseline image (`repository:tag` or path).
    pub baseline_image: String,
    /// Sum of layer sizes.
    pub size_bytes: Delta,
    /// Sum of compressed sizes.
    pub compressed_size_bytes: Delta,
    /// Visible bytes.
    pub final_size_bytes: Delta,
    /// Wasted bytes (as reported, before `ignore-waste-paths`).
    pub wasted_bytes: Delta,
    /// Layer count.
    pub layers: Delta,
    /// Efficiency in the baseline.
    pub efficiency_before: f64,
    /// Efficiency now (as reported).
    pub efficiency_after: f64,
    /// Layers by position whose size changed.
    pub layer_changes: Vec<SizeChange>,
    /// Dockerfile instructions whose layers' size changed (with a Dockerfile).
    pub instruction_changes: Vec<SizeChange>,
    /// Waste at paths where the baseline had none, largest first.
    pub new_waste: Vec<WasteEntry>,
}

/// The result of a gate run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct GateOutcome {
    /// Pass or fail.
    pub verdict: Verdict,
    /// The config applied.
    pub config: ConfigInfo,
    /// The Dockerfile used for lines, if any.
    pub dockerfile: Option<String>,
    /// The Dockerfile line image-wide results are placed on (the target stage's `FROM`).
    pub image_line: Option<usize>,
    /// Each configured rule, in a fixed order.
    pub rules: Vec<RuleResult>,
    /// Recommendations shown (warn and deny), deny first, then by bytes saved.
    pub recommendations: Vec<RecommendationResult>,
    /// The figures measured.
    pub figures: Figures,
    /// Against the baseline, if one was given.
    pub comparison: Option<Comparison>,
    /// The largest waste items (ignored paths left out).
    pub top_waste: Vec<WasteEntry>,
    /// Caveats about the inputs.
    pub notes: Vec<String>,
}

impl GateOutcome {
    /// True when no rule failed.
    pub fn passed(&self) -> bool {
        self.verdict == Verdict::Pass
    }

    /// The rules that failed.
    pub fn failed(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.status == RuleStatus::Fail)
    }
}

/// What a gate run looks at. Only the image's figures are required.
#[derive(Debug, Clone, Copy)]
pub struct GateInput<'a> {
    report: &'a ImageFigures,
    attribution: Option<&'a Attribution>,
    final_files: &'a [FileRecord],
    baseline: Option<&'a Baseline>,
    dockerfile: Option<&'a Dockerfile>,
    findings: &'a [Finding],
}

impl<'a> GateInput<'a> {
    /// The image's figures ([`crate::Analysis::figures`]).
    pub fn new(figures: &'a ImageFigures) -> GateInput<'a> {
        GateInput {
            report: figures,
            attribution: None,
            final_files: &[],
            baseline: None,
            dockerfile: None,
            findings: &[],
        }
    }
    /// The final image's files ([`crate::Analysis::final_files`]), for `deny-paths`.
    pub fn final_files(mut self, files: &'a [FileRecord]) -> Self {
        self.final_files = files;
        self
    }
    /// The earlier report, for the growth and new-waste rules.
    pub fn baseline(mut self, baseline: &'a Baseline) -> Self {
        self.baseline = Some(baseline);
        self
    }
    /// The Dockerfile (its [`Dockerfile::file_name`] is what results name), for lines and
    /// per-instruction rules.
    pub fn dockerfile(mut self, dockerfile: &'a Dockerfile) -> Self {
        self.dockerfile = Some(dockerfile);
        self
    }
    /// The image's layers matched to the Dockerfile ([`crate::Analysis::attribute`]): places
    /// layers on lines (without it, layers are placed by searching the Dockerfile's text).
    pub fn attribution(mut self, attribution: &'a Attribution) -> Self {
        self.attribution = Some(attribution);
        self
    }
    /// Recommendations to apply the `[recommendations]` table to.
    pub fn findings(mut self, findings: &'a [Finding]) -> Self {
        self.findings = findings;
        self
    }
}

/// A configured gate, ready to evaluate reports.
#[derive(Debug, Clone)]
pub struct Gate {
    config: GateConfig,
    deny: globset::GlobSet,
    ignore: globset::GlobSet,
}

/// A short description of a rule, for tool metadata (SARIF, JUnit).
pub fn describe_rule(id: &str) -> &'static str {
    match id {
        "lowest-efficiency" => {
            "Image efficiency (visible bytes / shipped bytes) must not fall below the threshold"
        }
        "highest-wasted-bytes" => {
            "Bytes shipped but hidden in the final image must not exceed the threshold"
        }
        "highest-user-wasted-percent" => {
            "Waste hidden by the user's layers, as a share of their bytes, must not exceed the threshold"
        }
        "max-size" => "The image (sum of uncompressed layer sizes) must not exceed the threshold",
        "max-compressed-size" => {
            "The compressed image (sum of layer blobs) must not exceed the threshold"
        }
        "max-layers" => "The image must not have more layers than the threshold",
        "max-layer-size" => "No layer may exceed the threshold",
        "max-waste.overwritten" => {
            "Copies replaced by different content must not exceed the threshold"
        }
        "max-waste.metadata-copy-up" => {
            "Copies re-shipped only for a metadata change must not exceed the threshold"
        }
        "max-waste.deleted" => "Copies removed by a later layer must not exceed the threshold",
        "max-waste.hidden-by-opaque" => {
            "Copies hidden by an opaque directory must not exceed the threshold"
        }
        "deny-paths" => "Denied paths must not be in any layer of the image",
        "max-growth-bytes" => {
            "The image must not grow by more bytes than the threshold against the baseline"
        }
        "max-growth-percent" => {
            "The image must not grow by more percent than the threshold against the baseline"
        }
        "max-compressed-growth-bytes" => {
            "The compressed image must not grow by more bytes than the threshold"
        }
        "max-compressed-growth-percent" => {
            "The compressed image must not grow by more percent than the threshold"
        }
        "max-layer-growth-bytes" => {
            "No layer may grow by more bytes than the threshold against the baseline"
        }
        "max-layer-growth-percent" => {
            "No layer may grow by more percent than the threshold against the baseline"
        }
        "max-instruction-growth-bytes" => {
            "No Dockerfile instruction's layers may grow by more bytes than the threshold"
        }
        "max-instruction-growth-percent" => {
            "No Dockerfile instruction's layers may grow by more percent than the threshold"
        }
        "max-new-waste-items" => "No more new waste items than the threshold against the baseline",
        "max-new-waste-bytes" => {
            "No more bytes of new waste than the threshold against the baseline"
        }
        "recommendations" => "Recommendations whose code is set to deny fail the gate",
        _ => "layerscope gate rule",
    }
}

impl Gate {
    /// Prepare a gate.
    ///
    /// # Errors
    /// [`Error::Config`] naming the config file when a glob does not compile (configs from
    /// [`GateConfig::from_toml`] were checked already).
    pub fn new(config: GateConfig) -> Result<Gate> {
        let bad = |key: &str, reason: String| Error::Config {
            source_name: config.source.clone().unwrap_or_else(|| "config".into()),
            reason: format!("{key}: {reason}"),
        };
        let deny = glob_set(&config.rules.deny_paths).map_err(|e| bad("rules.deny-paths", e))?;
        let ignore = glob_set(&config.rules.ignore_waste_paths)
            .map_err(|e| bad("rules.ignore-waste-paths", e))?;
        Ok(Gate {
            config,
            deny,
            ignore,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &GateConfig {
        &self.config
    }

    /// Evaluate every configured rule.
    pub fn evaluate(&self, input: &GateInput<'_>) -> GateOutcome {
        Evaluation::new(self, input).run()
    }
}

/// Everything derived once per run.
struct Evaluation<'g, 'a> {
    gate: &'g Gate,
    input: &'g GateInput<'a>,
    /// Dockerfile line of each current layer.
    lines: Vec<Option<usize>>,
    /// Dockerfile line image-wide results are placed on.
    image_line: Option<usize>,
    /// Waste items not ignored, largest first.
    waste: Vec<&'a WasteItem>,
    figures: Figures,
    ignored_by_kind: BTreeMap<WasteKind, u64>,
    floor: u64,
    notes: Vec<String>,
}

impl<'g, 'a> Evaluation<'g, 'a> {
    fn new(gate: &'g Gate, input: &'g GateInput<'a>) -> Self {
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
            efficiency: if counted == 0 {
                1.0
            } else {
                t.final_size_bytes as f64 / counted as f64
            },
            user_size_bytes: report.base.user_size_bytes,
            user_wasted_bytes,
            user_wasted_ratio: (report.base.user_size_bytes > 0)
                .then(|| user_wasted_bytes as f64 / report.base.user_size_bytes as f64),
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

    fn line_of(&self, layer: usize) -> Option<usize> {
        self.lines.get(layer).copied().flatten()
    }

    fn instruction_of(&self, layer: usize) -> Option<String> {
        self.input
            .report
            .layers
            .get(layer)
            .and_then(|l| l.created_by.clone())
    }

    fn layer_offender(&self, layer: usize, bytes: u64, message: String) -> Offender {
        Offender {
            path: None,
            layer: Some(layer),
            instruction: self.instruction_of(layer),
            line: self.line_of(layer),
            bytes: Some(bytes),
            message,
        }
    }

    fn waste_offender(&self, w: &WasteItem) -> Offender {
        Offender {
            path: Some(w.path.clone()),
            layer: Some(w.added_by_layer),
            instruction: w.added_by.clone(),
            line: self.line_of(w.added_by_layer),
            bytes: Some(w.bytes),
            message: format!(
                "{} ({}) shipped by layer {}, hidden by layer {} ({})",
                w.path,
                human(w.bytes),
                w.added_by_layer,
                w.hidden_by_layer,
                kind_name(w.kind)
            ),
        }
    }

    fn waste_entry(&self, w: &WasteItem) -> WasteEntry {
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

    fn run(mut self) -> GateOutcome {
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
    fn waste_offenders<'w>(
        &self,
        items: impl Iterator<Item = &'w WasteItem>,
    ) -> (Vec<Offender>, usize) {
        cut(items.map(|w| self.waste_offender(w)).collect())
    }

    fn dive_rules(&self, out: &mut Vec<RuleResult>) {
        let rules = &self.gate.config.rules;
        let f = &self.figures;
        let floor = self.floor;
        with_setting(
            out,
            "lowest-efficiency",
            Unit::Ratio,
            &rules.lowest_efficiency,
            |t| {
                let below = f.efficiency < t.0;
                let failed = below && f.wasted_bytes >= floor;
                let message = if failed {
                    format!(
                        "efficiency {} is below {}: {} of {} shipped is hidden",
                        pct(f.efficiency),
                        pct(t.0),
                        human(f.wasted_bytes),
                        human(f.size_bytes)
                    )
                } else if below {
                    format!(
                        "efficiency {} is below {}, but only {} is wasted, under percent-floor {}",
                        pct(f.efficiency),
                        pct(t.0),
                        human(f.wasted_bytes),
                        human(floor)
                    )
                } else {
                    format!("efficiency {} (at least {})", pct(f.efficiency), pct(t.0))
                };
                let (offenders, omitted) = if failed {
                    self.waste_offenders(self.waste.iter().copied())
                } else {
                    (Vec::new(), 0)
                };
                result(
                    "lowest-efficiency",
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
            "highest-wasted-bytes",
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
                    "highest-wasted-bytes",
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(f.wasted_bytes)),
                    failed,
                    format!(
                        "{} wasted ({}at most {})",
                        human(f.wasted_bytes),
                        ignored_note(f.ignored_waste_bytes),
                        human(t.0)
                    ),
                    offenders,
                    omitted,
                )
            },
        );
        with_setting(
            out,
            "highest-user-wasted-percent",
            Unit::Ratio,
            &rules.highest_user_wasted_percent,
            |t| {
                let id = "highest-user-wasted-percent";
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
                        pct(r),
                        pct(t.0),
                        human(f.user_wasted_bytes),
                        human(floor)
                    )
                } else {
                    format!(
                        "user layers waste {} of their {} ({}; at most {})",
                        human(f.user_wasted_bytes),
                        human(f.user_size_bytes),
                        pct(r),
                        pct(t.0)
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
    fn largest_layers(&self, size: impl Fn(usize) -> u64, what: &str) -> Vec<Offender> {
        let mut idx: Vec<usize> = (0..self.input.report.layers.len()).collect();
        idx.sort_by(|a, b| size(*b).cmp(&size(*a)).then(a.cmp(b)));
        idx.into_iter()
            .take(5)
            .filter(|i| size(*i) > 0)
            .map(|i| {
                self.layer_offender(i, size(i), format!("layer {i}: {}{what}", human(size(i))))
            })
            .collect()
    }

    fn absolute_rules(&self, out: &mut Vec<RuleResult>) {
        let rules = &self.gate.config.rules;
        let f = &self.figures;
        let layers = &self.input.report.layers;
        with_setting(out, "max-size", Unit::Bytes, &rules.max_size, |t| {
            let failed = f.size_bytes > t.0;
            result(
                "max-size",
                Unit::Bytes,
                Amount::Unsigned(t.0),
                Some(Amount::Unsigned(f.size_bytes)),
                failed,
                format!(
                    "image size {} (at most {})",
                    human(f.size_bytes),
                    human(t.0)
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
            "max-compressed-size",
            Unit::Bytes,
            &rules.max_compressed_size,
            |t| {
                let failed = f.compressed_size_bytes > t.0;
                result(
                    "max-compressed-size",
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(f.compressed_size_bytes)),
                    failed,
                    format!(
                        "compressed size {} (at most {})",
                        human(f.compressed_size_bytes),
                        human(t.0)
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
        with_setting(out, "max-layers", Unit::Count, &rules.max_layers, |t| {
            result(
                "max-layers",
                Unit::Count,
                Amount::Unsigned(t.0),
                Some(Amount::Unsigned(f.layers as u64)),
                f.layers as u64 > t.0,
                format!("{} layers (at most {})", f.layers, t.0),
                Vec::new(),
                0,
            )
        });
        with_setting(
            out,
            "max-layer-size",
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
                                human(l.size_bytes),
                                human(t.0)
                            ),
                        )
                    })
                    .collect();
                let count = over.len();
                let (offenders, omitted) = cut(over);
                result(
                    "max-layer-size",
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(largest)),
                    count > 0,
                    if count > 0 {
                        format!(
                            "{count} layer(s) larger than {}; the largest has {}",
                            human(t.0),
                            human(largest)
                        )
                    } else {
                        format!(
                            "the largest layer has {} (at most {})",
                            human(largest),
                            human(t.0)
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
            let id = format!("max-waste.{}", kind_name(kind));
            with_setting(out, &id, Unit::Bytes, setting, |t| {
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
                    &id,
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(measured)),
                    failed,
                    format!(
                        "{} of {} waste ({}at most {})",
                        human(measured),
                        kind_name(kind),
                        ignored_note(ignored),
                        human(t.0)
                    ),
                    offenders,
                    omitted,
                )
            });
        }
    }

    fn path_rules(&self, out: &mut Vec<RuleResult>) {
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
            "deny-paths",
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

    fn compare(&self, baseline: &Baseline) -> Comparison {
        let b = &baseline.report;
        let r = self.input.report;
        let n = b.layers.len().max(r.layers.len());
        let layer_changes = (0..n)
            .filter_map(|i| {
                let before = b.layers.get(i).map(|l| l.size_bytes);
                let after = r.layers.get(i).map(|l| l.size_bytes);
                let change = signed_change(before.unwrap_or(0), after.unwrap_or(0));
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
    fn instruction_sizes(&self, baseline: &Baseline, df: &Dockerfile) -> Vec<SizeChange> {
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
                change: signed_change(before.unwrap_or(0), after.unwrap_or(0)),
            })
            .collect()
    }

    fn growth_rules(&self, out: &mut Vec<RuleResult>, comparison: Option<&Comparison>) {
        let rules = &self.gate.config.rules;
        let floor = self.floor;
        let skip_all = |out: &mut Vec<RuleResult>, reason: &str, ids: &[(&str, Unit, bool)]| {
            for (id, unit, configured) in ids {
                if *configured {
                    out.push(skipped(id, *unit, reason.to_string()));
                }
            }
        };
        let Some(cmp) = comparison else {
            skip_all(
                out,
                "needs a baseline report (--baseline)",
                &[
                    (
                        "max-growth-bytes",
                        Unit::Bytes,
                        rules.max_growth_bytes.is_some(),
                    ),
                    (
                        "max-growth-percent",
                        Unit::Percent,
                        rules.max_growth_percent.is_some(),
                    ),
                    (
                        "max-compressed-growth-bytes",
                        Unit::Bytes,
                        rules.max_compressed_growth_bytes.is_some(),
                    ),
                    (
                        "max-compressed-growth-percent",
                        Unit::Percent,
                        rules.max_compressed_growth_percent.is_some(),
                    ),
                    (
                        "max-layer-growth-bytes",
                        Unit::Bytes,
                        rules.max_layer_growth_bytes.is_some(),
                    ),
                    (
                        "max-layer-growth-percent",
                        Unit::Percent,
                        rules.max_layer_growth_percent.is_some(),
                    ),
                    (
                        "max-instruction-growth-bytes",
                        Unit::Bytes,
                        rules.max_instruction_growth_bytes.is_some(),
                    ),
                    (
                        "max-instruction-growth-percent",
                        Unit::Percent,
                        rules.max_instruction_growth_percent.is_some(),
                    ),
                    (
                        "max-new-waste-items",
                        Unit::Count,
                        rules.max_new_waste_items.is_some(),
                    ),
                    (
                        "max-new-waste-bytes",
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
                "max-growth-bytes",
                "max-growth-percent",
                cmp.size_bytes,
                &rules.max_growth_bytes,
                &rules.max_growth_percent,
                "image size",
            ),
            (
                "max-compressed-growth-bytes",
                "max-compressed-growth-percent",
                cmp.compressed_size_bytes,
                &rules.max_compressed_growth_bytes,
                &rules.max_compressed_growth_percent,
                "compressed size",
            ),
        ] {
            let compressed = id.contains("compressed");
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
                        human(delta.before),
                        human(delta.after),
                        human_signed(delta.change),
                        human(t.0)
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
                    human(delta.before),
                    human(delta.after),
                    signed_pct(p),
                    num(t.0)
                );
                if above && !failed {
                    message.push_str(&format!(
                        "; passes: {} is under percent-floor {}",
                        human_signed(delta.change),
                        human(floor)
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
            "max-layer-growth-bytes",
            "max-layer-growth-percent",
            &rules.max_layer_growth_bytes,
            &rules.max_layer_growth_percent,
            &cmp.layer_changes,
            "layer",
        );
        if self.input.dockerfile.is_some() {
            self.change_rules(
                out,
                "max-instruction-growth-bytes",
                "max-instruction-growth-percent",
                &rules.max_instruction_growth_bytes,
                &rules.max_instruction_growth_percent,
                &cmp.instruction_changes,
                "instruction",
            );
        } else {
            skip_all(
                out,
                "needs the Dockerfile (`dockerfile` in the config, or --dockerfile)",
                &[
                    (
                        "max-instruction-growth-bytes",
                        Unit::Bytes,
                        rules.max_instruction_growth_bytes.is_some(),
                    ),
                    (
                        "max-instruction-growth-percent",
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
                        human(w.bytes),
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
            "max-new-waste-items",
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
                    "max-new-waste-items",
                    Unit::Count,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(count)),
                    failed,
                    format!(
                        "{count} new waste item(s), {} (at most {}){partial_note}",
                        human(new_bytes),
                        t.0
                    ),
                    offenders,
                    omitted,
                )
            },
        );
        with_setting(
            out,
            "max-new-waste-bytes",
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
                    "max-new-waste-bytes",
                    Unit::Bytes,
                    Amount::Unsigned(t.0),
                    Some(Amount::Unsigned(new_bytes)),
                    failed,
                    format!(
                        "{} of new waste in {} item(s) (at most {}){partial_note}",
                        human(new_bytes),
                        cmp.new_waste.len(),
                        human(t.0)
                    ),
                    offenders,
                    omitted,
                )
            },
        );
    }

    fn change_offender(&self, c: &SizeChange) -> Offender {
        let what = match (c.layer, c.line, &c.instruction) {
            (Some(l), _, _) => format!("layer {l}"),
            (None, _, Some(text)) => text.chars().take(80).collect(),
            (None, Some(line), None) => format!("line {line}"),
            (None, None, None) => "an instruction".to_string(),
        };
        let message = match (c.before, c.after) {
            (Some(b), Some(a)) => format!(
                "{what} grew by {} ({} -> {})",
                human_signed(c.change),
                human(b),
                human(a)
            ),
            (None, Some(a)) => format!("{what} is new: {}", human(a)),
            (Some(b), None) => format!("{what} is gone (was {})", human(b)),
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
    fn change_rules(
        &self,
        out: &mut Vec<RuleResult>,
        id: &str,
        pid: &str,
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
                    format!("{count} {what}(s) grew by more than {}", human(t.0))
                } else {
                    format!(
                        "no {what} grew by more than {} (largest growth {})",
                        human(t.0),
                        human_signed(largest)
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
                    o.message.push_str(&format!(", {}", signed_pct(p)));
                    over.push(o);
                }
            }
            let count = over.len();
            let (offenders, omitted) = cut(over);
            let floor_note = if self.floor > 0 {
                format!(" and by at least {}", human(self.floor))
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
                        num(t.0)
                    )
                } else {
                    format!(
                        "no {what} grew by more than {}%{floor_note} (largest {})",
                        num(t.0),
                        largest.map_or("-".to_string(), signed_pct)
                    )
                },
                offenders,
                omitted,
            )
        });
    }

    fn recommendations(&self, out: &mut Vec<RuleResult>) -> Vec<RecommendationResult> {
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
            "recommendations",
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

fn with_setting<T: Copy>(
    out: &mut Vec<RuleResult>,
    id: &str,
    unit: Unit,
    setting: &Option<Setting<T>>,
    f: impl FnOnce(T) -> RuleResult,
) {
    match setting {
        None => {}
        Some(Setting::Off) => out.push(skipped(id, unit, "disabled".into())),
        Some(Setting::On(t)) => out.push(f(*t)),
    }
}

fn skipped(id: &str, unit: Unit, message: String) -> RuleResult {
    RuleResult {
        id: id.to_string(),
        status: RuleStatus::Skip,
        unit,
        threshold: None,
        measured: None,
        message,
        offenders: Vec::new(),
        offenders_omitted: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn result(
    id: &str,
    unit: Unit,
    threshold: Amount,
    measured: Option<Amount>,
    failed: bool,
    message: String,
    offenders: Vec<Offender>,
    offenders_omitted: usize,
) -> RuleResult {
    RuleResult {
        id: id.to_string(),
        status: if failed {
            RuleStatus::Fail
        } else {
            RuleStatus::Pass
        },
        unit,
        threshold: Some(threshold),
        measured,
        message,
        offenders,
        offenders_omitted,
    }
}

fn cut(mut v: Vec<Offender>) -> (Vec<Offender>, usize) {
    let omitted = v.len().saturating_sub(MAX_OFFENDERS);
    v.truncate(MAX_OFFENDERS);
    (v, omitted)
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn kind_name(kind: WasteKind) -> &'static str {
    match kind {
        WasteKind::Overwritten => "overwritten",
        WasteKind::MetadataCopyUp => "metadata-copy-up",
        WasteKind::Deleted => "deleted",
        WasteKind::HiddenByOpaque => "hidden-by-opaque",
    }
}

fn ignored_note(ignored: u64) -> String {
    if ignored > 0 {
        format!("{} at ignored paths left out; ", human(ignored))
    } else {
        String::new()
    }
}

/// `1.5 MB` (SI, as `docker images` prints); exact bytes are in `threshold`/`measured`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    match UNITS.get(u) {
        Some(unit) if u > 0 => format!("{v:.1} {unit}"),
        _ => format!("{bytes} B"),
    }
}

fn human_signed(change: i64) -> String {
    let sign = if change < 0 { "-" } else { "+" };
    format!("{sign}{}", human(change.unsigned_abs()))
}

fn pct(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

fn signed_pct(p: f64) -> String {
    format!("{}{p:.1}%", if p >= 0.0 { "+" } else { "" })
}

/// A threshold as the user wrote it: `5`, `2.5`.
fn num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}
