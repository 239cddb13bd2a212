//! The serialisable, versioned report. These names are a contract read by other tools and
//! CI scripts: add fields, never rename or remove them without bumping [`SCHEMA_VERSION`].

use crate::analysis::{
    Analysis, BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageFigures, ImageInfo,
    LayerReport, Totals, WasteItem,
};
use crate::filter::FileFilter;
use crate::version::SCHEMA_VERSION;
use serde::Serialize;

/// How many largest files a report lists when no `top` is given.
const DEFAULT_LARGEST_FILES: usize = 20;

/// What a report lists: the figures in `totals` and `layers` are never filtered.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ReportOptions {
    /// Keep only this many waste items, duplicate groups and largest files (all waste items
    /// and groups, and 20 files, when `None`).
    pub top: Option<usize>,
    /// Which paths and sizes the lists keep.
    pub filter: FileFilter,
}

impl ReportOptions {
    /// Cut the lists to `n` entries.
    pub fn top(mut self, n: usize) -> Self {
        self.top = Some(n);
        self
    }
    /// Filter the lists.
    pub fn filter(mut self, filter: FileFilter) -> Self {
        self.filter = filter;
        self
    }
}

/// The JSON of `check --format json`: the outcome, and the full analyze report so that the
/// file can serve as the next run's baseline.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CheckReport<'a> {
    /// [`crate::version::CHECK_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The gate's outcome.
    pub gate: &'a crate::gate::GateOutcome,
    /// The analyze report.
    pub report: &'a Report,
}

impl<'a> CheckReport<'a> {
    /// Pair an outcome with its report.
    pub fn new(gate: &'a crate::gate::GateOutcome, report: &'a Report) -> CheckReport<'a> {
        CheckReport {
            schema_version: crate::version::CHECK_SCHEMA_VERSION,
            gate,
            report,
        }
    }
}

/// The full `analyze` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The producing tool and version.
    pub tool: ToolInfo,
    /// Which image.
    pub image: ImageInfo,
    /// Layers in stack order (base first).
    pub layers: Vec<LayerReport>,
    /// Image totals.
    pub totals: Totals,
    /// Base image / user layers split.
    pub base: BaseSplit,
    /// How history lined up with layers.
    pub history: HistoryInfo,
    /// Every hidden copy of file content, largest first.
    pub waste: Vec<WasteItem>,
    /// Groups of visible files with identical content, largest waste first.
    pub duplicates: Vec<DuplicateGroup>,
    /// The largest visible files (as many as asked for), largest first, then by path.
    pub largest_files: Vec<FileRecord>,
    /// The filter applied to `waste`, `duplicates` and `largest_files` (totals are never
    /// filtered), if any.
    pub filter: Option<String>,
    /// Layers and bytes by Dockerfile instruction (when the Dockerfile is given).
    pub attribution: Option<crate::attribution::Attribution>,
    /// Findings with the bytes they save (see `layerscope recommend --list-codes`).
    pub recommendations: Vec<crate::recommend::Finding>,
    /// What applying every recommendation removes from the image, each byte counted once
    /// ([`crate::total_bytes_saved`]).
    pub total_bytes_saved: u64,
    /// Things tolerated while reading.
    pub warnings: Vec<String>,
    /// dive 0.13.1's figures for the same image (`--compat dive`), `null` unless asked for.
    pub compat_dive: Option<crate::compat::DiveFigures>,
}

/// Tool name and version.
#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    /// `layerscope`.
    pub name: String,
    /// Crate version.
    pub version: String,
}

impl Analysis {
    /// The serialisable report with every waste item and duplicate group (no attribution
    /// or recommendations: [`crate::Pipeline::report`] adds those).
    pub fn report(&self) -> Report {
        self.report_with(&ReportOptions::default())
    }

    /// The serialisable report, its lists filtered and cut as `options` says; the figures
    /// are copied from [`Analysis::figures`], never recomputed.
    pub fn report_with(&self, options: &ReportOptions) -> Report {
        let f = self.figures();
        let top = options.top.unwrap_or(usize::MAX);
        // Only the items the report keeps are copied.
        let figures = ImageFigures {
            image: f.image.clone(),
            layers: f.layers.clone(),
            totals: f.totals.clone(),
            base: f.base.clone(),
            history: f.history.clone(),
            waste: f
                .waste
                .iter()
                .filter(|w| keep_waste(options, w))
                .take(top)
                .cloned()
                .collect(),
            duplicates: f
                .duplicates
                .iter()
                .filter(|g| keep_group(options, g))
                .take(top)
                .cloned()
                .collect(),
            warnings: f.warnings.clone(),
        };
        let want = options.top.unwrap_or(DEFAULT_LARGEST_FILES);
        assemble(figures, self.largest_files(want, &options.filter), options)
    }

    /// As [`Analysis::report_with`], consuming the analysis: the figures and their lists move
    /// into the report instead of being copied (an image of 200,000 files can have tens of
    /// thousands of waste items), and the layers and the merged view are freed on return.
    ///
    /// # Errors
    /// A file of the largest-files list whose content had to be read again for its sha256
    /// could not be (see [`Analysis::content_digest_error`]).
    pub fn into_report_with(self, options: &ReportOptions) -> crate::error::Result<Report> {
        let want = options.top.unwrap_or(DEFAULT_LARGEST_FILES);
        let largest_files = self.largest_files(want, &options.filter);
        self.content_digest_error()?;
        Ok(assemble(self.into_figures(), largest_files, options))
    }
}

/// The report of `figures`, their lists filtered and cut as `options` says (in place: the
/// items kept are moved, not copied).
fn assemble(f: ImageFigures, largest_files: Vec<FileRecord>, options: &ReportOptions) -> Report {
    let top = options.top.unwrap_or(usize::MAX);
    let mut waste = f.waste;
    waste.retain(|w| keep_waste(options, w));
    waste.truncate(top);
    let mut duplicates = f.duplicates;
    duplicates.retain(|g| keep_group(options, g));
    duplicates.truncate(top);
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo {
            name: "layerscope".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        image: f.image,
        layers: f.layers,
        totals: f.totals,
        base: f.base,
        history: f.history,
        waste,
        duplicates,
        largest_files,
        filter: options.filter.describe(),
        attribution: None,
        recommendations: Vec::new(),
        total_bytes_saved: 0,
        warnings: f.warnings,
        compat_dive: None,
    }
}

/// Does the report list this waste item?
fn keep_waste(options: &ReportOptions, w: &WasteItem) -> bool {
    options.filter.matches(&w.path, w.bytes)
}

/// Does the report list this duplicate group (any of its paths passes the filter)?
fn keep_group(options: &ReportOptions, g: &DuplicateGroup) -> bool {
    g.paths
        .iter()
        .any(|p| options.filter.matches(p, g.size_bytes))
}

impl crate::gate::Baseline {
    /// A baseline from a report in memory (two analyses compared in one process).
    ///
    /// # Errors
    /// Only if the report cannot be serialised, which does not happen for reports built by
    /// [`crate::Analysis`].
    pub fn from_report(
        report: &Report,
        source_name: &str,
    ) -> crate::error::Result<crate::gate::Baseline> {
        let text = serde_json::to_string(report).map_err(|e| crate::error::Error::Config {
            source_name: source_name.to_string(),
            reason: String::new(),
            source: Some(e.into()),
        })?;
        crate::gate::Baseline::from_json(&text, source_name)
    }
}

impl Report {
    /// Record what a registry push sends per layer ([`crate::push_sizes`], in layer order)
    /// and their total (absent layers count 0).
    pub fn set_push_sizes(&mut self, sizes: &[Option<u64>]) {
        for (layer, size) in self.layers.iter_mut().zip(sizes) {
            layer.push_size_bytes = *size;
        }
        self.totals.push_size_bytes = Some(sizes.iter().flatten().sum());
    }
}
