//! The CI gate: rules from a config file, measured on an image's figures (and, against a
//! baseline report, on what changed) -> a [`GateOutcome`]. Threshold breaches are data, never errors:
//! every configured rule comes back with its status, threshold, measured value, message and,
//! where it applies, the offending paths, layers and Dockerfile lines.
//!
//! ```
//! use layerscope_core::{Analysis, AnalysisOptions, Gate, GateConfig, GateInput, Image, RuleId};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! // Two layers: `a` (1,000 bytes) shipped, then replaced by 10 bytes.
//! let image = Image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/overwritten.tar"))?;
//! let analysis = Analysis::run(&image, &AnalysisOptions::default())?;
//! let config = GateConfig::from_toml(
//!     "[rules]\nmax-size = \"10MB\"\nlowest-efficiency = 0.9\n",
//!     ".layerscope.toml",
//! )?;
//! let outcome = Gate::new(config)?.evaluate(&GateInput::new(analysis.figures()));
//! assert!(!outcome.passed()); // 10 of 1,010 bytes visible: about 1 % efficient
//! assert_eq!(outcome.rules[0].id, RuleId::LowestEfficiency);
//! assert_eq!((outcome.figures.size_bytes, outcome.figures.wasted_bytes), (1010, 1000));
//! # Ok(())
//! # }
//! ```
//!
//! Which figures the rules read: the dive-named rules (`lowest-efficiency`,
//! `highest-wasted-bytes`, `highest-user-wasted-percent`) keep dive's names, thresholds and
//! comparisons but measure layerscope's figures (README, "What the numbers mean"), which count
//! waste that dive misses (opaque directories, deleted directories) and never the copy still
//! in use.
//!
//! Reading order: `config.rs` (`.layerscope.toml` and dive's `.dive-ci` -> [`GateConfig`]),
//! `rule.rs` (the rule names), `outcome.rs` (what a run returns), `evaluate.rs` (one run),
//! `image_rules.rs` and `growth.rs` (the rules themselves), `baseline.rs` (reading an earlier
//! report back) and `locate.rs` (layers placed on Dockerfile lines without an attribution).

mod baseline;
mod config;
mod evaluate;
mod growth;
mod image_rules;
mod locate;
mod outcome;
mod rule;
#[cfg(test)]
mod tests;

pub use baseline::Baseline;
pub use config::{
    ByteSize, ConfigFormat, Count, GateConfig, MaxWaste, Percent, Ratio, RecommendationAction,
    Rules, Setting,
};
pub use outcome::{
    Amount, Comparison, ConfigInfo, Delta, Figures, GateOutcome, Offender, RecommendationResult,
    RuleResult, RuleStatus, SizeChange, SkipReason, Unit, Verdict, WasteEntry,
};
pub use rule::{RuleId, describe_rule};

use crate::analysis::{FileRecord, ImageFigures};
use crate::attribution::Attribution;
use crate::dockerfile::Dockerfile;
use crate::error::{Error, Result};
use crate::recommend::Finding;
use evaluate::Evaluation;

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
            source: None,
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
