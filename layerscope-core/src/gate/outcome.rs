//! What a gate run returns: a [`GateOutcome`] holding every configured rule's
//! [`RuleResult`] (status, threshold, measured value, offenders), the recommendations after the
//! `[recommendations]` table, the figures measured and, against a baseline, the
//! [`Comparison`]. Plain data that serialises as the `gate` object of `check --format json`.

use super::config::{ConfigFormat, RecommendationAction};
use super::rule::RuleId;
use crate::recommend::{FindingCode, Overlap, Severity};
use crate::tree::WasteKind;
use crate::units::signed_difference;
use serde::Serialize;

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

/// Why a rule was not evaluated ([`RuleStatus::Skip`]). [`Display`](std::fmt::Display) is the
/// [`RuleResult::message`] the gate writes, in the library's terms; a front end that takes the
/// baseline or the Dockerfile from flags can phrase the reason with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// Turned off in the config (`"off"` / `"disabled"`).
    Disabled,
    /// A growth rule with no baseline report ([`GateInput::baseline`](crate::GateInput)).
    NoBaseline,
    /// A per-instruction rule with no Dockerfile (the config's `dockerfile`, or
    /// [`GateInput::dockerfile`](crate::GateInput)).
    NoDockerfile,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::Disabled => "disabled",
            SkipReason::NoBaseline => "needs a baseline report",
            SkipReason::NoDockerfile => "needs the Dockerfile (`dockerfile` in the config)",
        })
    }
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
    /// The rule (its key in the config, e.g. `max-size`, `max-waste.deleted`).
    pub id: RuleId,
    /// Pass, fail or skip.
    pub status: RuleStatus,
    /// Unit of `threshold` and `measured`.
    pub unit: Unit,
    /// The configured limit (`null` when turned off).
    pub threshold: Option<Amount>,
    /// The value measured (`null` when not measured).
    pub measured: Option<Amount>,
    /// One sentence saying what was measured against what (for a skipped rule, its
    /// [`SkipReason`]).
    pub message: String,
    /// Why the rule was skipped (`None` unless `status` is `skip`). Not serialised: the
    /// message says it.
    #[serde(skip)]
    pub skip_reason: Option<SkipReason>,
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
    /// Findings whose saved bytes intersect this one's ([`crate::Finding::overlaps`]).
    pub overlaps: Vec<Overlap>,
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
    pub(super) fn new(before: u64, after: u64) -> Delta {
        let change = signed_difference(before, after);
        Delta {
            before,
            after,
            change,
            percent: (before > 0).then(|| change as f64 * 100.0 / before as f64),
        }
    }
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

    /// The rules not evaluated (turned off, or their input is missing).
    pub fn skipped(&self) -> impl Iterator<Item = &RuleResult> {
        self.rules.iter().filter(|r| r.status == RuleStatus::Skip)
    }
}
