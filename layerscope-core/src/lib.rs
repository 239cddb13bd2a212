//! layerscope-core: see where a container image's bytes go, and what a rebuild costs.
//!
//! Data flow (each stage takes the previous one's output by reference):
//!
//! 1. [`Image::open`] recognises the input (classic or Docker 25+ `docker save`,
//!    podman/buildah docker-archive, OCI layout directory or oci-archive, any of them
//!    gzip-compressed, or `-` for standard input) or an image name (`docker://` registry,
//!    `docker-daemon:` Engine, `containers-storage:` store, streamed without a temporary
//!    copy), walks `index.json` and picks a manifest by platform. Nothing is decompressed
//!    yet.
//! 2. [`Analysis::run`] streams every layer once, in parallel: blob digest, compression
//!    sniffed from magic bytes, DiffID, and a compact record of each tar entry with the sha256
//!    of its content. Digests are verified against the manifest and config.
//! 3. The records are merged bottom-up into the final filesystem view with the OCI whiteout
//!    rules (`.wh.` files, opaque directories, last entry wins, hardlinks sharing an inode), in
//!    time linear in the number of entries. Every byte a layer shipped that the final view
//!    does not show becomes a waste item with its kind, the layer that added it and the layer
//!    that hid it.
//! 4. [`Analysis::report`] gives the serialisable, versioned [`Report`].
//!
//! ```
//! use layerscope_core::{Analysis, AnalysisOptions, Image};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! let image = Image::open(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/image.tar"))?;
//! let analysis = Analysis::run(&image, &AnalysisOptions::default())?;
//! let report = analysis.report();
//! // From `tar tvf` of the layers: 3 (overwritten) + 4 (opaque) + 524,288 (deleted) +
//! // 1,048,576 (re-shipped unchanged) hidden bytes, each listed once as a waste item.
//! assert_eq!(report.totals.wasted_bytes, 1_572_871);
//! assert_eq!(report.waste.iter().map(|w| w.bytes).sum::<u64>(), report.totals.wasted_bytes);
//! for item in report.waste.iter().take(3) {
//!     println!("{} bytes of {} ({:?}), added by layer {}", item.bytes, item.path, item.kind, item.added_by_layer);
//! }
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

// Modules in the order the data flows; each imports only modules listed above it.
mod analysis;
mod attribution;
mod compat;
mod context;
mod diff;
mod digest;
mod dockerfile;
mod error;
mod extract;
mod filter;
mod fleet;
mod gate;
mod history;
mod layer;
mod pipeline;
mod push_size;
mod recommend;
mod report;
mod simulate;
mod source;
#[cfg(any(test, feature = "testkit"))]
#[doc(hidden)]
pub mod testkit;
mod tree;
mod units;
mod version;

pub use analysis::{
    Analysis, AnalysisOptions, BaseSplit, DuplicateGroup, FileRecord, HistoryInfo, ImageFigures,
    ImageInfo, LayerReport, Totals, TreeEntry, WasteItem,
};
pub use attribution::{Attribution, InstructionCost};
pub use compat::{DiveFigures, DiveInefficientFile};
pub use context::{
    BuildContext, Churn, ContextChange, ContextChangeKind, ContextEntry, ContextEntryKind,
    DockerIgnore, SelectedFile, Selection, git_changes, git_churn,
};
pub use diff::{FileDelta, FileDeltas, ImageDiff, LayerPair};
pub use dockerfile::{
    BaseRef, CheckDirective, CommandForm, CopyArgs, Directives, Dockerfile, EvaluatedInstruction,
    Healthcheck, Heredoc, Instruction, InstructionKind, Keyword, Mount, MountType, RunArgs, Span,
    Stage, StageEvaluation, expand, expand_with_escape,
};
pub use error::{Error, Result};
pub use extract::FileContent;
pub use filter::FileFilter;
pub use fleet::{
    BaseDrift, BaseFamily, CommonBase, CommonFile, CrossLayerDuplicate, EntrySummary,
    FLEET_SCHEMA_VERSION, FileSummary, Fleet, FleetImage, FleetLayer, FleetMember, FleetOptions,
    FleetReport, FleetTotals, LayerSummary, PathDifference, PathState, PlatformDifference,
    PlatformFiles, PlatformSummary, ReadStats, SUMMARY_MAGIC, SUMMARY_VERSION, SummaryDefect,
    SummarySource,
};
pub use gate::{
    Amount, Baseline, ByteSize, Comparison, ConfigFormat, ConfigInfo, Count, Delta, Figures, Gate,
    GateConfig, GateInput, GateOutcome, MaxWaste, Offender, Percent, Ratio, RecommendationAction,
    RecommendationResult, RuleId, RuleResult, RuleStatus, Rules, Setting, SizeChange, Unit,
    Verdict, WasteEntry, describe_rule,
};
pub use history::{HistoryAlignment, align_history};
pub use layer::{Compression, EntryKind};
pub use pipeline::{Pipeline, PipelineOptions, PipelineParts};
pub use push_size::{DOCKER_PUSH_GZIP_LEVEL, push_sizes};
pub use recommend::{
    CODES, CodeInfo, Finding, FindingCode, Overlap, RecommendInput, Recommendations, Relation,
    SavedItem, Severity, recommend, total_bytes_saved,
};
pub use report::{CheckReport, Report, ReportOptions, ToolInfo};
pub use simulate::{
    Change, ChangeOutcome, ChurnReport, FileChurn, InstructionChurn, MissReason, RebuiltStep,
    SimulationReport, Simulator, StepCost,
};
pub use source::{
    HistoryEntry, Image, ImageConfig, ImageFormat, LayerAvailability, LayerRef, OpenOptions,
    RootFs, RuntimeConfig, TocFormat, TocRead, Transport,
};
pub use tree::{ChangeKind, WasteKind};
pub use units::{
    format_number, format_percent, format_signed_percent, format_signed_size, format_size,
    parse_size, ratio, signed_difference,
};
pub use version::{CHECK_SCHEMA_VERSION, SCHEMA_VERSION};
