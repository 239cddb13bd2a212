//! The pipeline: one run of every stage, each stage computed once and handed down.
//!
//! [`Pipeline::open`] reads the inputs (the Dockerfile and its build context, the image's
//! metadata, a base image's metadata); [`Pipeline::analyze`] reads the layers once, measures
//! the figures once and matches the history to the Dockerfile once. Simulation,
//! recommendations, the gate and the serialisable [`Report`] then all start from those
//! results; none of them reads a report back.

use crate::analysis::{Analysis, AnalysisOptions};
use crate::attribution::Attribution;
use crate::context::{BuildContext, Churn};
use crate::dockerfile::Dockerfile;
use crate::error::{Error, OptionName, Result};
use crate::gate::{Baseline, Gate, GateInput, GateOutcome};
use crate::recommend::{Finding, RecommendInput, Recommendations, recommend};
use crate::report::{Report, ReportOptions};
use crate::simulate::Simulator;
use crate::source::{Image, OpenOptions};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a [`Pipeline`] reads. Every part is optional: without an image only the Dockerfile
/// is looked at, without a Dockerfile only the image.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct PipelineOptions {
    /// The image (any supported format, `-` for standard input).
    pub image: Option<PathBuf>,
    /// How to open it (platform).
    pub open: OpenOptions,
    /// How to analyse it (digest checks, base layers, progress counter).
    pub analysis: AnalysisOptions,
    /// A base image whose layers must be the bottom of the image's: they are counted as the
    /// base (overrides [`AnalysisOptions::base_layers`]).
    pub base_image: Option<PathBuf>,
    /// The Dockerfile the image was built from.
    pub dockerfile: Option<PathBuf>,
    /// The build context (default: the Dockerfile's directory).
    pub context: Option<PathBuf>,
    /// Build arguments the image was built with.
    pub build_args: BTreeMap<String, String>,
}

impl PipelineOptions {
    /// Read this image.
    pub fn image(mut self, path: impl Into<PathBuf>) -> Self {
        self.image = Some(path.into());
        self
    }
    /// Open the image with these options.
    pub fn open_options(mut self, open: OpenOptions) -> Self {
        self.open = open;
        self
    }
    /// Analyse the image with these options.
    pub fn analysis_options(mut self, analysis: AnalysisOptions) -> Self {
        self.analysis = analysis;
        self
    }
    /// Count this image's layers (a prefix of the image's) as the base.
    pub fn base_image(mut self, path: impl Into<PathBuf>) -> Self {
        self.base_image = Some(path.into());
        self
    }
    /// Attribute the image to this Dockerfile.
    pub fn dockerfile(mut self, path: impl Into<PathBuf>) -> Self {
        self.dockerfile = Some(path.into());
        self
    }
    /// Use this build context instead of the Dockerfile's directory.
    pub fn context(mut self, dir: impl Into<PathBuf>) -> Self {
        self.context = Some(dir.into());
        self
    }
    /// The build arguments of the build.
    pub fn build_args(mut self, args: BTreeMap<String, String>) -> Self {
        self.build_args = args;
        self
    }
}

/// What a [`Pipeline`] read and computed, owned ([`Pipeline::into_parts`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct PipelineParts {
    /// The image, when one was given.
    pub image: Option<Image>,
    /// Its analysis, when it was analysed.
    pub analysis: Option<Analysis>,
    /// The image's layers matched to the Dockerfile.
    pub attribution: Option<Attribution>,
    /// The Dockerfile and its text.
    pub dockerfile: Option<(Dockerfile, String)>,
    /// The build context.
    pub context: Option<BuildContext>,
    /// The build arguments.
    pub build_args: BTreeMap<String, String>,
}

/// A Dockerfile, its text and its build context, read once.
#[derive(Debug)]
struct Build {
    path: PathBuf,
    dockerfile: Dockerfile,
    text: String,
    context: BuildContext,
}

/// One run over an image and the Dockerfile it was built from.
///
/// The image of this example (built by hidden lines) has three layers made by
/// `COPY data.bin /app/`, `COPY app.conf /etc/` and `RUN rm /app/data.bin`: 1,000 bytes are
/// shipped and then deleted.
///
/// ```
/// use layerscope_core::{Pipeline, PipelineOptions, ReportOptions};
///
/// # fn main() -> layerscope_core::Result<()> {
/// # let tmp = tempfile::tempdir().unwrap();
/// # let dir = demo(tmp.path());
/// let options = PipelineOptions::default()
///     .image(dir.join("image.tar"))
///     .dockerfile(dir.join("Dockerfile"));
/// let pipeline = Pipeline::run(&options)?;
/// let findings = pipeline.recommendations(None)?.recommendations;
/// let report = pipeline.report(&ReportOptions::default(), &findings).expect("analysed");
/// assert_eq!(report.totals.wasted_bytes, 1_000);
/// assert_eq!(report.recommendations.len(), findings.len());
/// # Ok(())
/// # }
/// # fn demo(dir: &std::path::Path) -> std::path::PathBuf {
/// #     // A three-step image as `docker save` (before Docker 25) writes it, with the
/// #     // Dockerfile and context it was built from. (Test builds use the same layout.)
/// #     let hex = |b: &[u8]| -> String {
/// #         use sha2::Digest;
/// #         sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
/// #     };
/// #     let tar_of = |files: &[(&str, &[u8])]| -> Vec<u8> {
/// #         let mut b = tar::Builder::new(Vec::new());
/// #         for (path, data) in files {
/// #             let mut h = tar::Header::new_ustar();
/// #             h.set_size(data.len() as u64);
/// #             h.set_mode(0o644);
/// #             h.set_cksum();
/// #             b.append_data(&mut h, path, *data).unwrap();
/// #         }
/// #         b.into_inner().unwrap()
/// #     };
/// #     let layers = [
/// #         tar_of(&[("app/data.bin", &[7u8; 1000])]),
/// #         tar_of(&[("etc/app.conf", b"v1")]),
/// #         tar_of(&[("app/.wh.data.bin", b"")]),
/// #     ];
/// #     let steps = ["COPY data.bin /app/", "COPY app.conf /etc/", "RUN rm /app/data.bin"];
/// #     let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", hex(l))).collect();
/// #     let history: Vec<_> = steps
/// #         .iter()
/// #         .map(|s| serde_json::json!({ "created_by": format!("{s} # buildkit") }))
/// #         .collect();
/// #     let config = serde_json::to_vec(&serde_json::json!({
/// #         "architecture": "amd64", "os": "linux", "config": {},
/// #         "rootfs": { "type": "layers", "diff_ids": diff_ids }, "history": history,
/// #     })).unwrap();
/// #     let names: Vec<String> = (0..layers.len()).map(|i| format!("l{i}/layer.tar")).collect();
/// #     let manifest = serde_json::to_vec(&serde_json::json!([
/// #         { "Config": "config.json", "RepoTags": ["demo:latest"], "Layers": names }
/// #     ])).unwrap();
/// #     let mut files: Vec<(&str, &[u8])> = vec![("manifest.json", &manifest), ("config.json", &config)];
/// #     for (name, layer) in names.iter().zip(&layers) {
/// #         files.push((name, layer));
/// #     }
/// #     std::fs::write(dir.join("image.tar"), tar_of(&files)).unwrap();
/// #     std::fs::write(dir.join("Dockerfile"), format!("FROM scratch\n{}\n", steps.join("\n"))).unwrap();
/// #     std::fs::write(dir.join("data.bin"), [7u8; 1000]).unwrap();
/// #     std::fs::write(dir.join("app.conf"), "v1").unwrap();
/// #     dir.to_path_buf()
/// # }
/// ```
#[derive(Debug)]
pub struct Pipeline {
    image: Option<Image>,
    analysis_options: AnalysisOptions,
    build: Option<Build>,
    build_args: BTreeMap<String, String>,
    analysis: Option<Analysis>,
    attribution: Option<Attribution>,
}

impl Pipeline {
    /// Read the inputs: the Dockerfile and its context first (they are small and fail fast),
    /// then the image's metadata and the base image's. No layer is read yet.
    ///
    /// # Errors
    /// The Dockerfile cannot be read or parsed, the context cannot be read, the image or the
    /// base image cannot be opened, or the base image is not the bottom of the image.
    pub fn open(options: &PipelineOptions) -> Result<Pipeline> {
        let build = match &options.dockerfile {
            Some(path) => Some(read_build(path, options.context.as_deref())?),
            None => None,
        };
        let mut analysis_options = options.analysis.clone();
        let image = match &options.image {
            Some(path) => {
                let image = Image::open_with(path, &options.open)?;
                let layers = image.layers().len();
                if let Some(n) = analysis_options.base_layers
                    && n > layers
                {
                    return Err(Error::InvalidOption {
                        option: OptionName::BaseLayers(n),
                        reason: format!("{} has only {layers} layers", path.display()),
                        source: None,
                    });
                }
                if let Some(base) = &options.base_image {
                    let base = Image::open_with(base, &options.open)?;
                    analysis_options.base_layers = Some(base_prefix(&base, &image)?);
                }
                Some(image)
            }
            None => None,
        };
        Ok(Pipeline {
            image,
            analysis_options,
            build,
            build_args: options.build_args.clone(),
            analysis: None,
            attribution: None,
        })
    }

    /// [`Pipeline::open`], then [`Pipeline::analyze`].
    ///
    /// # Errors
    /// As [`Pipeline::open`] and [`Pipeline::analyze`].
    pub fn run(options: &PipelineOptions) -> Result<Pipeline> {
        let mut pipeline = Pipeline::open(options)?;
        pipeline.analyze()?;
        Ok(pipeline)
    }

    /// The bytes of layer blobs the analysis will read (for a progress display).
    pub fn layer_bytes(&self) -> u64 {
        self.image
            .iter()
            .flat_map(|i| i.layers())
            .filter_map(|l| l.size)
            .sum()
    }

    /// Read every layer and measure the figures, then match the history to the Dockerfile.
    /// Each happens once: a second call does nothing.
    ///
    /// # Errors
    /// As [`Analysis::run`] and [`Analysis::attribute`].
    pub fn analyze(&mut self) -> Result<()> {
        if self.analysis.is_some() {
            return Ok(());
        }
        let Some(image) = &self.image else {
            return Ok(());
        };
        let mut analysis = Analysis::run(image, &self.analysis_options)?;
        if let Some(b) = &self.build {
            let attribution = analysis.attribute(&b.dockerfile, &self.build_args)?;
            // BuildKit leaves no mark where the base image's history ends: the Dockerfile
            // tells (see `Analysis::adopt_dockerfile_base`).
            analysis.adopt_dockerfile_base(&attribution);
            self.attribution = Some(attribution);
        }
        self.analysis = Some(analysis);
        Ok(())
    }

    /// The image, when one was given.
    pub fn image(&self) -> Option<&Image> {
        self.image.as_ref()
    }

    /// The analysis, once [`Pipeline::analyze`] has run on an image.
    pub fn analysis(&self) -> Option<&Analysis> {
        self.analysis.as_ref()
    }

    /// The Dockerfile, when one was given.
    pub fn dockerfile(&self) -> Option<&Dockerfile> {
        self.build.as_ref().map(|b| &b.dockerfile)
    }

    /// The Dockerfile's path as given.
    pub fn dockerfile_path(&self) -> Option<&Path> {
        self.build.as_ref().map(|b| b.path.as_path())
    }

    /// The build context, when a Dockerfile was given.
    pub fn context(&self) -> Option<&BuildContext> {
        self.build.as_ref().map(|b| &b.context)
    }

    /// The image's layers matched to the Dockerfile's instructions (image and Dockerfile
    /// given, after [`Pipeline::analyze`]).
    pub fn attribution(&self) -> Option<&Attribution> {
        self.attribution.as_ref()
    }

    /// The build arguments.
    pub fn build_args(&self) -> &BTreeMap<String, String> {
        &self.build_args
    }

    /// Take the pipeline apart, for a front end that keeps the results (the explorer).
    pub fn into_parts(self) -> PipelineParts {
        let (dockerfile, context) = match self.build {
            Some(b) => (Some((b.dockerfile, b.text)), Some(b.context)),
            None => (None, None),
        };
        PipelineParts {
            image: self.image,
            analysis: self.analysis,
            attribution: self.attribution,
            dockerfile,
            context,
            build_args: self.build_args,
        }
    }

    /// Every finding the inputs give evidence for; `churn` weighs cache findings by the
    /// context's git history.
    ///
    /// # Errors
    /// As [`recommend`].
    pub fn recommendations(&self, churn: Option<&Churn>) -> Result<Recommendations> {
        let build = self.build.as_ref();
        recommend(&RecommendInput {
            analysis: self.analysis.as_ref(),
            attribution: self.attribution.as_ref(),
            dockerfile: build.map(|b| &b.dockerfile),
            dockerfile_text: build.map(|b| b.text.as_str()),
            context: build.map(|b| &b.context),
            churn,
            build_args: self.build_args.clone(),
        })
    }

    /// A simulation of rebuilding the Dockerfile, its steps costed with the image's layers
    /// when there is an image. `old_context` is the context before the change, when the
    /// changes are the difference of two trees.
    ///
    /// # Errors
    /// No Dockerfile was given, or it cannot be evaluated with the build arguments.
    pub fn simulator<'a>(&'a self, old_context: Option<&'a BuildContext>) -> Result<Simulator<'a>> {
        let Some(b) = &self.build else {
            return Err(Error::Config {
                source_name: "simulation".into(),
                reason: "a simulation needs the Dockerfile".into(),
                source: None,
            });
        };
        let sim = Simulator::new(
            &b.dockerfile,
            &b.context,
            old_context,
            self.build_args.clone(),
        )?;
        Ok(match (&self.analysis, &self.attribution) {
            (Some(a), Some(attr)) => sim.with_image(a, attr),
            _ => sim,
        })
    }

    /// The serialisable report: the analysis's figures, its lists cut as `options` says, the
    /// attribution and `findings`. `None` without an analysed image.
    pub fn report(&self, options: &ReportOptions, findings: &[Finding]) -> Option<Report> {
        let analysis = self.analysis.as_ref()?;
        let mut report = analysis.report_with(options);
        report.attribution = self.attribution.clone();
        report.recommendations = findings.to_vec();
        report.total_bytes_saved = crate::recommend::total_bytes_saved(findings);
        Some(report)
    }

    /// As [`Pipeline::report`], consuming the pipeline: the figures' lists and `findings`
    /// move into the report instead of being copied ([`Analysis::into_report_with`]).
    /// `Ok(None)` without an analysed image.
    ///
    /// # Errors
    /// As [`Analysis::into_report_with`].
    pub fn into_report(
        self,
        options: &ReportOptions,
        findings: Vec<Finding>,
    ) -> Result<Option<Report>> {
        let Some(analysis) = self.analysis else {
            return Ok(None);
        };
        let mut report = analysis.into_report_with(options)?;
        report.attribution = self.attribution;
        report.total_bytes_saved = crate::recommend::total_bytes_saved(&findings);
        report.recommendations = findings;
        Ok(Some(report))
    }

    /// Evaluate `gate` on the image's figures, the attribution and `findings`, against
    /// `baseline` when given. `None` without an analysed image.
    pub fn check(
        &self,
        gate: &Gate,
        baseline: Option<&Baseline>,
        findings: &[Finding],
    ) -> Option<GateOutcome> {
        let analysis = self.analysis.as_ref()?;
        let files = analysis.final_files();
        let mut input = GateInput::new(analysis.figures())
            .final_files(&files)
            .findings(findings);
        if let Some(a) = &self.attribution {
            input = input.attribution(a);
        }
        if let Some(b) = baseline {
            input = input.baseline(b);
        }
        if let Some(b) = &self.build {
            input = input.dockerfile(&b.dockerfile);
        }
        Some(gate.evaluate(&input))
    }
}

/// Read and parse a Dockerfile and open its context (by default the Dockerfile's directory).
fn read_build(path: &Path, context: Option<&Path>) -> Result<Build> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let dockerfile = Dockerfile::parse_named(&text, &path.display().to_string())?;
    let dir = match context {
        Some(c) => c.to_path_buf(),
        None => path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
    };
    let context = BuildContext::open(&dir, path.file_name().and_then(|n| n.to_str()))?;
    Ok(Build {
        path: path.to_path_buf(),
        dockerfile,
        text,
        context,
    })
}

/// How many bottom layers of `image` are `base`'s: its DiffIDs must be a prefix of the
/// image's (OCI image-spec, config.md, `rootfs.diff_ids`: layers in order, base first).
fn base_prefix(base: &Image, image: &Image) -> Result<usize> {
    let ids = |i: &Image| {
        i.layers()
            .iter()
            .map(|l| l.diff_id.clone())
            .collect::<Vec<_>>()
    };
    let (b, i) = (ids(base), ids(image));
    if b.len() <= i.len() && b.iter().zip(&i).all(|(x, y)| x == y) {
        Ok(b.len())
    } else {
        let common = b.iter().zip(&i).take_while(|(x, y)| x == y).count();
        Err(Error::BaseMismatch {
            base: base.path().to_path_buf(),
            image: image.path().to_path_buf(),
            base_layers: b.len(),
            matching: common,
        })
    }
}
