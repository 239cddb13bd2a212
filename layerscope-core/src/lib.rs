//! layerscope-core: see where a container image's bytes go, and what a rebuild costs.
//!
//! Data flow (each stage takes the previous one's output by reference; the modules are laid
//! out in this order and none imports one below it):
//!
//! 1. **source**: [`Image::open`] recognises the input (classic or Docker 25+ `docker save`,
//!    podman/buildah docker-archive, OCI layout directory or oci-archive, any of them
//!    gzip-compressed, or `-` for standard input) or an image name (`docker://` registry,
//!    `docker-daemon:` Engine, `containers-storage:` store, streamed without a temporary
//!    copy), walks `index.json` and picks a manifest by platform. Nothing is decompressed
//!    yet.
//! 2. **layer, tree, analysis**: [`Analysis::run`] streams every layer once, in parallel:
//!    blob digest, compression sniffed from magic bytes, DiffID, and a compact record of each
//!    tar entry with the sha256 of its content. Digests are verified against the manifest and
//!    config. The records are merged bottom-up into the final filesystem view with the OCI
//!    whiteout rules (image-spec `layer.md`, "Whiteouts": `.wh.` files, opaque directories,
//!    last entry wins, hardlinks sharing an inode). Every byte a layer shipped that the final
//!    view does not show becomes a waste item. The figures ([`ImageFigures`]) are computed
//!    once here.
//! 3. **history, attribution**: [`Attribution`] ties layers to history entries and Dockerfile
//!    lines.
//! 4. **simulate, recommend, gate**: [`Simulator`] (which steps a change rebuilds),
//!    [`Finding`]s with the bytes each fix saves, and the CI [`Gate`]'s [`GateOutcome`].
//! 5. **report**: [`Report`] and [`CheckReport`], the versioned JSON documents, built from
//!    the stages' results and never read back by them.
//!
//! [`Pipeline`] runs the stages for a front end: it reads the Dockerfile and context once,
//! opens the image, measures the figures and the attribution once and hands them on.
//!
//! Errors are one [`Error`] enum naming the input that failed; a lower-level cause is its
//! [`source`](std::error::Error::source) ([`Error::chain_text`] prints both on one line).
//!
//! The examples build a small image in a temporary directory, three layers from this
//! Dockerfile: `COPY data.bin /app/` (1,000 bytes), `COPY app.conf /etc/` (2 bytes), and
//! `RUN rm /app/data.bin` (a whiteout), so 1,000 of the 1,002 bytes shipped are waste.
//!
//! # Open an image and read its figures
//!
//! ```
//! use layerscope_core::{Analysis, AnalysisOptions, Image};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = demo(tmp.path());
//! let image = Image::open(dir.join("image.tar"))?;
//! let analysis = Analysis::run(&image, &AnalysisOptions::default())?;
//! let figures = analysis.figures();
//! assert_eq!(figures.layers.len(), 3);
//! // app/data.bin: added by layer 0, deleted by layer 2's whiteout.
//! assert_eq!(figures.totals.wasted_bytes, 1_000);
//! let item = &figures.waste[0];
//! assert_eq!((item.path.as_str(), item.added_by_layer, item.bytes), ("app/data.bin", 0, 1_000));
//! # Ok(())
//! # }
//! # fn demo(dir: &std::path::Path) -> std::path::PathBuf {
//! #     // A three-step image as `docker save` (before Docker 25) writes it, with the
//! #     // Dockerfile and context it was built from. (Test builds use the same layout.)
//! #     let hex = |b: &[u8]| -> String {
//! #         use sha2::Digest;
//! #         sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
//! #     };
//! #     let tar_of = |files: &[(&str, &[u8])]| -> Vec<u8> {
//! #         let mut b = tar::Builder::new(Vec::new());
//! #         for (path, data) in files {
//! #             let mut h = tar::Header::new_ustar();
//! #             h.set_size(data.len() as u64);
//! #             h.set_mode(0o644);
//! #             h.set_cksum();
//! #             b.append_data(&mut h, path, *data).unwrap();
//! #         }
//! #         b.into_inner().unwrap()
//! #     };
//! #     let layers = [
//! #         tar_of(&[("app/data.bin", &[7u8; 1000])]),
//! #         tar_of(&[("etc/app.conf", b"v1")]),
//! #         tar_of(&[("app/.wh.data.bin", b"")]),
//! #     ];
//! #     let steps = ["COPY data.bin /app/", "COPY app.conf /etc/", "RUN rm /app/data.bin"];
//! #     let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", hex(l))).collect();
//! #     let history: Vec<_> = steps
//! #         .iter()
//! #         .map(|s| serde_json::json!({ "created_by": format!("{s} # buildkit") }))
//! #         .collect();
//! #     let config = serde_json::to_vec(&serde_json::json!({
//! #         "architecture": "amd64", "os": "linux", "config": {},
//! #         "rootfs": { "type": "layers", "diff_ids": diff_ids }, "history": history,
//! #     })).unwrap();
//! #     let names: Vec<String> = (0..layers.len()).map(|i| format!("l{i}/layer.tar")).collect();
//! #     let manifest = serde_json::to_vec(&serde_json::json!([
//! #         { "Config": "config.json", "RepoTags": ["demo:latest"], "Layers": names }
//! #     ])).unwrap();
//! #     let mut files: Vec<(&str, &[u8])> = vec![("manifest.json", &manifest), ("config.json", &config)];
//! #     for (name, layer) in names.iter().zip(&layers) {
//! #         files.push((name, layer));
//! #     }
//! #     std::fs::write(dir.join("image.tar"), tar_of(&files)).unwrap();
//! #     std::fs::write(dir.join("Dockerfile"), format!("FROM scratch\n{}\n", steps.join("\n"))).unwrap();
//! #     std::fs::write(dir.join("data.bin"), [7u8; 1000]).unwrap();
//! #     std::fs::write(dir.join("app.conf"), "v1").unwrap();
//! #     dir.to_path_buf()
//! # }
//! ```
//!
//! # Run the pipeline: findings and a simulated change
//!
//! ```
//! use layerscope_core::{Change, Pipeline, PipelineOptions};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = demo(tmp.path());
//! let options = PipelineOptions::default()
//!     .image(dir.join("image.tar"))
//!     .dockerfile(dir.join("Dockerfile"));
//! let pipeline = Pipeline::run(&options)?;
//! // Each layer is matched to its Dockerfile line (line 1 is `FROM scratch`).
//! let attribution = pipeline.attribution().expect("a Dockerfile was given");
//! assert!(attribution.unmatched_layers.is_empty());
//! // Deleting in a later step does not shrink the image: a finding says how much fixing it saves.
//! let findings = pipeline.recommendations(None)?.recommendations;
//! assert!(findings.iter().any(|f| f.line == Some(4) && f.bytes_saved == 1_000));
//! // Editing app.conf rebuilds its COPY (line 3) and every later step of the stage.
//! let outcome = pipeline.simulator(None)?.simulate(&Change::path("app.conf"))?;
//! let lines: Vec<usize> = outcome.rebuilt_steps.iter().map(|s| s.line).collect();
//! assert_eq!(lines, [3, 4]);
//! # Ok(())
//! # }
//! # fn demo(dir: &std::path::Path) -> std::path::PathBuf {
//! #     // A three-step image as `docker save` (before Docker 25) writes it, with the
//! #     // Dockerfile and context it was built from. (Test builds use the same layout.)
//! #     let hex = |b: &[u8]| -> String {
//! #         use sha2::Digest;
//! #         sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
//! #     };
//! #     let tar_of = |files: &[(&str, &[u8])]| -> Vec<u8> {
//! #         let mut b = tar::Builder::new(Vec::new());
//! #         for (path, data) in files {
//! #             let mut h = tar::Header::new_ustar();
//! #             h.set_size(data.len() as u64);
//! #             h.set_mode(0o644);
//! #             h.set_cksum();
//! #             b.append_data(&mut h, path, *data).unwrap();
//! #         }
//! #         b.into_inner().unwrap()
//! #     };
//! #     let layers = [
//! #         tar_of(&[("app/data.bin", &[7u8; 1000])]),
//! #         tar_of(&[("etc/app.conf", b"v1")]),
//! #         tar_of(&[("app/.wh.data.bin", b"")]),
//! #     ];
//! #     let steps = ["COPY data.bin /app/", "COPY app.conf /etc/", "RUN rm /app/data.bin"];
//! #     let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", hex(l))).collect();
//! #     let history: Vec<_> = steps
//! #         .iter()
//! #         .map(|s| serde_json::json!({ "created_by": format!("{s} # buildkit") }))
//! #         .collect();
//! #     let config = serde_json::to_vec(&serde_json::json!({
//! #         "architecture": "amd64", "os": "linux", "config": {},
//! #         "rootfs": { "type": "layers", "diff_ids": diff_ids }, "history": history,
//! #     })).unwrap();
//! #     let names: Vec<String> = (0..layers.len()).map(|i| format!("l{i}/layer.tar")).collect();
//! #     let manifest = serde_json::to_vec(&serde_json::json!([
//! #         { "Config": "config.json", "RepoTags": ["demo:latest"], "Layers": names }
//! #     ])).unwrap();
//! #     let mut files: Vec<(&str, &[u8])> = vec![("manifest.json", &manifest), ("config.json", &config)];
//! #     for (name, layer) in names.iter().zip(&layers) {
//! #         files.push((name, layer));
//! #     }
//! #     std::fs::write(dir.join("image.tar"), tar_of(&files)).unwrap();
//! #     std::fs::write(dir.join("Dockerfile"), format!("FROM scratch\n{}\n", steps.join("\n"))).unwrap();
//! #     std::fs::write(dir.join("data.bin"), [7u8; 1000]).unwrap();
//! #     std::fs::write(dir.join("app.conf"), "v1").unwrap();
//! #     dir.to_path_buf()
//! # }
//! ```
//!
//! # Gate a CI build and render the JSON report
//!
//! ```
//! use layerscope_core::{CheckReport, Gate, GateConfig, Pipeline, PipelineOptions, ReportOptions};
//!
//! # fn main() -> layerscope_core::Result<()> {
//! # let tmp = tempfile::tempdir().unwrap();
//! # let dir = demo(tmp.path());
//! let pipeline = Pipeline::run(&PipelineOptions::default().image(dir.join("image.tar")))?;
//! let config = GateConfig::from_toml("[rules]\nhighest-wasted-bytes = \"512B\"\n", "ci.toml")?;
//! let gate = Gate::new(config)?;
//! let outcome = pipeline.check(&gate, None, &[]).expect("the image was analysed");
//! assert!(!outcome.passed()); // 1,000 wasted bytes > 512
//! let report = pipeline.report(&ReportOptions::default(), &[]).expect("the image was analysed");
//! let json = serde_json::to_string_pretty(&CheckReport::new(&outcome, &report))
//!     .expect("a report serialises");
//! assert!(json.contains("\"schema_version\""));
//! # Ok(())
//! # }
//! # fn demo(dir: &std::path::Path) -> std::path::PathBuf {
//! #     // A three-step image as `docker save` (before Docker 25) writes it, with the
//! #     // Dockerfile and context it was built from. (Test builds use the same layout.)
//! #     let hex = |b: &[u8]| -> String {
//! #         use sha2::Digest;
//! #         sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
//! #     };
//! #     let tar_of = |files: &[(&str, &[u8])]| -> Vec<u8> {
//! #         let mut b = tar::Builder::new(Vec::new());
//! #         for (path, data) in files {
//! #             let mut h = tar::Header::new_ustar();
//! #             h.set_size(data.len() as u64);
//! #             h.set_mode(0o644);
//! #             h.set_cksum();
//! #             b.append_data(&mut h, path, *data).unwrap();
//! #         }
//! #         b.into_inner().unwrap()
//! #     };
//! #     let layers = [
//! #         tar_of(&[("app/data.bin", &[7u8; 1000])]),
//! #         tar_of(&[("etc/app.conf", b"v1")]),
//! #         tar_of(&[("app/.wh.data.bin", b"")]),
//! #     ];
//! #     let steps = ["COPY data.bin /app/", "COPY app.conf /etc/", "RUN rm /app/data.bin"];
//! #     let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", hex(l))).collect();
//! #     let history: Vec<_> = steps
//! #         .iter()
//! #         .map(|s| serde_json::json!({ "created_by": format!("{s} # buildkit") }))
//! #         .collect();
//! #     let config = serde_json::to_vec(&serde_json::json!({
//! #         "architecture": "amd64", "os": "linux", "config": {},
//! #         "rootfs": { "type": "layers", "diff_ids": diff_ids }, "history": history,
//! #     })).unwrap();
//! #     let names: Vec<String> = (0..layers.len()).map(|i| format!("l{i}/layer.tar")).collect();
//! #     let manifest = serde_json::to_vec(&serde_json::json!([
//! #         { "Config": "config.json", "RepoTags": ["demo:latest"], "Layers": names }
//! #     ])).unwrap();
//! #     let mut files: Vec<(&str, &[u8])> = vec![("manifest.json", &manifest), ("config.json", &config)];
//! #     for (name, layer) in names.iter().zip(&layers) {
//! #         files.push((name, layer));
//! #     }
//! #     std::fs::write(dir.join("image.tar"), tar_of(&files)).unwrap();
//! #     std::fs::write(dir.join("Dockerfile"), format!("FROM scratch\n{}\n", steps.join("\n"))).unwrap();
//! #     std::fs::write(dir.join("data.bin"), [7u8; 1000]).unwrap();
//! #     std::fs::write(dir.join("app.conf"), "v1").unwrap();
//! #     dir.to_path_buf()
//! # }
//! ```
#![deny(missing_docs)]

// The modules (rustfmt keeps them sorted); the order the data flows through them is in the
// crate docs above, and none imports a module later in that flow.
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

// The public surface, on one screen, grouped in the order the data flows (kept in that order
// by `rustfmt::skip`). Everything else is private to the crate.
#[rustfmt::skip]
pub use crate::{
    // Errors.
    error::{BaselineProblem, Cause, Error, Hint, Hinted, OptionName, Result},
    // Open an image by path or name (source), and what its layers hold.
    source::{
        HistoryEntry, Image, ImageConfig, ImageFormat, LayerAvailability, LayerRef,
        OpenOptions, RootFs, RuntimeConfig, TocFormat, TocRead, Transport,
    },
    layer::{Compression, EntryKind, ZstdWindowTooLarge},
    tree::{ChangeKind, WasteKind},
    filter::FileFilter,
    extract::FileContent,
    push_size::push_sizes,
    // Run the stages: the pipeline, or each stage by hand.
    pipeline::{Pipeline, PipelineOptions, PipelineParts},
    // The figures, measured once (analysis), and the differences between two images.
    analysis::{
        Analysis, AnalysisOptions, BaseSplit, ContentSha256, DuplicateGroup, FileRecord, HistoryInfo,
        ImageFigures, ImageInfo, LayerReport, Totals, TreeEntry, WasteItem,
    },
    compat::{DiveFigures, DiveInefficientFile},
    diff::{FileDelta, FileDeltas, ImageDiff, LayerPair},
    // The Dockerfile, its build context, and the attribution of layers to its lines.
    dockerfile::{
        BaseRef, CheckDirective, CommandForm, CopyArgs, Directives, Dockerfile,
        EvaluatedInstruction, Healthcheck, Heredoc, Instruction, InstructionKind, Keyword,
        Mount, MountType, RunArgs, Span, Stage, StageEvaluation,
    },
    context::{
        BuildContext, Churn, ContextChange, ContextChangeKind, ContextEntry, ContextEntryKind,
        DockerIgnore, SelectedFile, Selection, git_changes, git_churn,
    },
    attribution::{Attribution, InstructionCost},
    // Simulations: which steps a change rebuilds, and what that costs.
    simulate::{
        Change, ChangeOutcome, ChurnReport, FileChurn, InstructionChurn, MissReason,
        RebuiltStep, SimulationReport, Simulator, StepCost,
    },
    // Findings (recommendations).
    recommend::{
        CODES, CodeInfo, Finding, FindingCode, Overlap, RecommendInput, Recommendations,
        Relation, SavedItem, Severity, recommend, total_bytes_saved,
    },
    // The CI gate and its outcome.
    gate::{
        Amount, Baseline, ByteSize, Comparison, ConfigFormat, ConfigInfo, Count, Delta,
        Figures, Gate, GateConfig, GateInput, GateOutcome, MaxWaste, Offender,
        Percent, Ratio, RecommendationAction, RecommendationResult, RuleId, RuleResult, RuleStatus,
        Rules, Setting, SizeChange, SkipReason, Unit, Verdict, WasteEntry, describe_rule,
    },
    // Many images at once.
    fleet::{
        BaseDrift, BaseFamily, CommonBase, CommonFile, CrossLayerDuplicate, EntrySummary,
        FLEET_SCHEMA_VERSION, FileSummary, Fleet, FleetImage, FleetLayer, FleetMember,
        FleetOptions, FleetReport, FleetTotals, LayerSummary, PathDifference, PathState,
        PlatformDifference, PlatformFiles, PlatformSummary, ReadStats, SUMMARY_VERSION,
        SummaryDefect, SummarySource,
    },
    // The versioned JSON documents, and the units they are written in.
    report::{CheckReport, Report, ReportOptions, ToolInfo},
    version::{CHECK_SCHEMA_VERSION, SCHEMA_VERSION},
    units::{
        format_number, format_percent, format_signed_percent, format_signed_size, format_size,
        parse_size, ratio, signed_difference,
    },
};
