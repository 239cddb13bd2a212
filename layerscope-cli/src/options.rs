//! Arguments shared by several commands, turned into the core's options before any I/O, and
//! the two things every command does at the end: run the pipeline (with a progress bar on a
//! terminal) and write its output.

use anyhow::{Context, Result};
use clap::ValueEnum;
use layerscope_core::{AnalysisOptions, FileFilter, Pipeline, PipelineOptions};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Text or JSON.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
}

/// Formats of a full report (`analyze`; `simulate` and `diff` share it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// Tables for a terminal.
    Table,
    /// The versioned JSON report.
    Json,
    /// One self-contained HTML page (no network): cards, layer bars, treemap, file explorer.
    Html,
}

/// `NAME=VALUE`.
pub(crate) fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

/// `20MB` (10^6), `20MiB` (2^20), `512k`, or plain bytes.
pub(crate) fn parse_size(s: &str) -> Result<u64, String> {
    layerscope_core::parse_size(s).map_err(|e| e.to_string())
}

/// Options shared by every command that opens an image.
#[derive(clap::Args, Debug)]
pub(crate) struct ImageArgs {
    /// The image: a docker save / docker-archive tar, an oci-archive tar, an OCI layout
    /// directory, any of them gzip-compressed, `-` for standard input, or a name
    /// (docker://, docker-daemon:, containers-storage:, ...; see `layerscope --help`).
    pub image: PathBuf,
    /// Platform to pick from a multi-platform image: os/arch[/variant].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Report digest and DiffID mismatches as warnings instead of failing.
    #[arg(long)]
    pub allow_digest_mismatch: bool,
    /// Count the bottom N layers as the base image (default: detected from history).
    #[arg(long, value_name = "N", conflicts_with = "base")]
    pub base_layers: Option<usize>,
    /// The base image (any supported format): its layers, a prefix of this image's, are
    /// counted as the base.
    #[arg(long, value_name = "IMAGE")]
    pub base: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// The largest zstd window a layer may ask for, as a power of two: 10 to 31 (default
    /// 31, 2 GiB, what `zstd --long=31` writes; reading such a layer can hold that much memory).
    #[arg(long, value_name = "LOG", value_parser = clap::value_parser!(u32).range(10..=31))]
    pub zstd_window_log_max: Option<u32>,
}

impl ImageArgs {
    /// The pipeline's options for this image (no I/O).
    pub fn options(&self) -> PipelineOptions {
        let mut options = image_options(&self.image, self.platform.as_deref()).analysis_options(
            AnalysisOptions::default().allow_digest_mismatch(self.allow_digest_mismatch),
        );
        if let Some(n) = self.base_layers {
            options.analysis.base_layers = Some(n);
        }
        if let Some(log) = self.zstd_window_log_max {
            options.analysis.zstd_window_log_max = Some(log);
        }
        if let Some(base) = &self.base {
            options = options.base_image(base);
        }
        options
    }
}

/// The options of an image named by a command without [`ImageArgs`] (diff, simulate,
/// recommend): a platform, nothing else.
pub(crate) fn image_options(image: &Path, platform: Option<&str>) -> PipelineOptions {
    let mut open = crate::open_options();
    if let Some(p) = platform {
        open = open.platform(p);
    }
    PipelineOptions::default().image(image).open_options(open)
}

/// Options for the lists of a report.
#[derive(clap::Args, Debug)]
pub(crate) struct ListArgs {
    /// List this many of the largest files, waste items and duplicate groups (table default:
    /// 10; JSON default: every waste item and group, 20 files).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Only list paths matching this glob (`*` within a directory, `**` across).
    #[arg(long, value_name = "GLOB")]
    pub path: Option<String>,
    /// Only list entries of at least this size (e.g. 1MB, 512KiB, 100).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_size: Option<u64>,
}

impl ListArgs {
    /// The filter (a bad glob is refused here, before any I/O).
    pub fn filter(&self) -> Result<FileFilter> {
        filter(self.path.as_deref(), self.min_size)
    }
}

/// A filter of paths and sizes for lists.
pub(crate) fn filter(path: Option<&str>, min_size: Option<u64>) -> Result<FileFilter> {
    let mut f = FileFilter::default();
    if let Some(p) = path {
        f = f.path_glob(p)?;
    }
    if let Some(m) = min_size {
        f = f.min_size(m);
    }
    Ok(f)
}

/// The build inputs: Dockerfile, context, build arguments (simulate, churn).
#[derive(clap::Args, Debug)]
pub(crate) struct BuildArgs {
    /// The image built from the Dockerfile (any supported format), for layer sizes; without
    /// it, steps are listed without bytes.
    pub image: Option<PathBuf>,
    /// The Dockerfile.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub dockerfile: PathBuf,
    /// The build context directory (default: the Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// A build argument the image was built with (repeatable).
    #[arg(long = "with-build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    pub with_build_args: Vec<(String, String)>,
    /// Platform to pick from a multi-platform image.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
}

impl BuildArgs {
    /// The pipeline's options: the Dockerfile and context, and the image when given.
    pub fn options(&self) -> PipelineOptions {
        let mut options = match &self.image {
            Some(image) => image_options(image, self.platform.as_deref()),
            None => PipelineOptions::default(),
        };
        options = options
            .dockerfile(&self.dockerfile)
            .build_args(build_args(&self.with_build_args));
        if let Some(c) = &self.context {
            options = options.context(c);
        }
        options
    }
}

/// Repeated `NAME=VALUE` arguments, the last value of a name winning.
pub(crate) fn build_args(args: &[(String, String)]) -> BTreeMap<String, String> {
    args.iter().cloned().collect()
}

/// The build inputs shared by the commands that read a Dockerfile: `--build-arg`, `-f` and
/// `--context`, added to `options`.
pub(crate) fn with_build_inputs(
    options: PipelineOptions,
    with_build_args: &[(String, String)],
    dockerfile: Option<&Path>,
    context: Option<&Path>,
) -> PipelineOptions {
    let mut options = options.build_args(build_args(with_build_args));
    if let Some(df) = dockerfile {
        options = options.dockerfile(df);
    }
    if let Some(c) = context {
        options = options.context(c);
    }
    options
}

/// A page of HTML on a terminal helps nobody: ask for a file before reading anything.
pub(crate) fn check_html_destination(html: bool, output: Option<&Path>) -> Result<()> {
    if html && output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!(
            "--format html writes a web page: give --output FILE (or redirect standard output)"
        );
    }
    Ok(())
}

/// Open the inputs and run the pipeline (see [`Opened::analyze`]).
pub(crate) fn run_pipeline(options: PipelineOptions, no_progress: bool) -> Result<Pipeline> {
    open_pipeline(options)?.analyze(no_progress)
}

/// A pipeline whose inputs are open and whose layers are not read yet.
pub(crate) struct Opened {
    pub pipeline: Pipeline,
    counter: Arc<AtomicU64>,
}

/// Open the inputs: the Dockerfile, the context, the image's metadata.
pub(crate) fn open_pipeline(mut options: PipelineOptions) -> Result<Opened> {
    let counter = Arc::new(AtomicU64::new(0));
    options.analysis.progress = Some(counter.clone());
    let pipeline = Pipeline::open(&options)?;
    Ok(Opened { pipeline, counter })
}

impl Opened {
    /// Read the layers, with a progress bar on standard error when it is a terminal and the
    /// layers are big enough to wait for.
    pub fn analyze(self, no_progress: bool) -> Result<Pipeline> {
        let Opened {
            mut pipeline,
            counter,
        } = self;
        let total = pipeline.layer_bytes();
        let show_progress =
            !no_progress && std::io::stderr().is_terminal() && total > 64 * 1024 * 1024;
        let done = Arc::new(AtomicBool::new(false));
        let bar_thread = show_progress.then(|| {
            let (counter, done) = (counter.clone(), done.clone());
            std::thread::spawn(move || {
                let bar = indicatif::ProgressBar::new(total);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} reading layers {bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                while !done.load(Ordering::Relaxed) {
                    bar.set_position(counter.load(Ordering::Relaxed));
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                bar.finish_and_clear();
            })
        });
        let result = pipeline.analyze();
        done.store(true, Ordering::Relaxed);
        if let Some(t) = bar_thread {
            let _ = t.join();
        }
        result?;
        Ok(pipeline)
    }
}

/// Write `text` to `path`, or to standard output.
pub(crate) fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("cannot write {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}
