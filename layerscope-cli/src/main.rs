//! `layerscope`: a thin binary. It turns arguments into options, calls `layerscope-core`, and
//! renders the result. Exit codes: 0 ok, 1 a gate failed, 2 could not run.

mod check;
mod render;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use layerscope_core::{
    Analysis, AnalysisOptions, FileFilter, Image, ImageDiff, OpenOptions, ReportOptions,
};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[derive(Parser, Debug)]
#[command(
    name = "layerscope",
    version,
    about = "See where a container image's bytes go, and what a rebuild costs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyze an image: layers, sizes, files added/modified/deleted, waste.
    Analyze(AnalyzeArgs),
    /// The file tree of the final image or of one layer, with change markers and sizes.
    Tree(TreeArgs),
    /// Compare two images: shared layers, size deltas, push cost, file changes.
    Diff(DiffArgs),
    /// CI gate: rules from .layerscope.toml (or dive's .dive-ci), optionally against a
    /// baseline report. Exit 0 pass, 1 a rule failed, 2 could not run.
    Check(check::CheckArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Options shared by every command that opens an image.
#[derive(clap::Args, Debug)]
struct ImageArgs {
    /// The image: a docker save / docker-archive tar, an oci-archive tar, an OCI layout
    /// directory, any of them gzip-compressed, or `-` for standard input.
    image: PathBuf,
    /// Platform to pick from a multi-platform image: os/arch[/variant].
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Report digest and DiffID mismatches as warnings instead of failing.
    #[arg(long)]
    allow_digest_mismatch: bool,
    /// Count the bottom N layers as the base image (default: detected from history).
    #[arg(long, value_name = "N", conflicts_with = "base")]
    base_layers: Option<usize>,
    /// The base image (any supported format): its layers, a prefix of this image's, are
    /// counted as the base.
    #[arg(long, value_name = "IMAGE")]
    base: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    lists: ListArgs,
}

/// Options for the lists of a report.
#[derive(clap::Args, Debug)]
struct ListArgs {
    /// List this many of the largest files, waste items and duplicate groups (table default:
    /// 10; JSON default: every waste item and group, 20 files).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Only list paths matching this glob (`*` within a directory, `**` across).
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Only list entries of at least this size (e.g. 1MB, 512KiB, 100).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    min_size: Option<u64>,
}

impl ListArgs {
    fn filter(&self) -> Result<FileFilter> {
        let mut f = FileFilter::default();
        if let Some(p) = &self.path {
            f = f.path_glob(p)?;
        }
        if let Some(m) = self.min_size {
            f = f.min_size(m);
        }
        Ok(f)
    }
}

#[derive(clap::Args, Debug)]
struct TreeArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Show the filesystem as it stands after this layer (0 = base), with its changes marked.
    #[arg(long, value_name = "N")]
    layer: Option<usize>,
    /// Only entries the layer changed (needs --layer).
    #[arg(long, requires = "layer")]
    changes_only: bool,
    /// Only paths matching this glob.
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Only files of at least this size.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    min_size: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct DiffArgs {
    /// The image before.
    a: PathBuf,
    /// The image after.
    b: PathBuf,
    /// Platform to pick from multi-platform images.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Report digest mismatches as warnings.
    #[arg(long)]
    allow_digest_mismatch: bool,
    /// How many changed files to list in the table output.
    #[arg(long, default_value_t = 20, value_name = "N")]
    top: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// `20MB` (10^6), `20MiB` (2^20), `512k`, or plain bytes.
fn parse_size(s: &str) -> Result<u64, String> {
    layerscope_core::parse_size(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    // Parsed via ArgMatches so that `check` can pair each --output with the --format before it.
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    match run(cli, &matches) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("layerscope: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
        Command::Tree(args) => tree(args),
        Command::Diff(args) => diff(args),
        Command::Check(args) => check::run(args, matches.subcommand_matches("check")),
    }
}

/// Open and analyze an image with a progress bar on a terminal for big images.
fn open_and_analyze(args: &ImageArgs) -> Result<(Image, Analysis)> {
    let mut open = OpenOptions::default();
    if let Some(p) = &args.platform {
        open = open.platform(p.clone());
    }
    let image = Image::open_with(&args.image, &open)?;
    let mut options = AnalysisOptions::default().allow_digest_mismatch(args.allow_digest_mismatch);
    if let Some(n) = args.base_layers {
        options = options.base_layers(n);
    }
    if let Some(base) = &args.base {
        let base_image =
            Image::open_with(base, &open).with_context(|| format!("--base {}", base.display()))?;
        options = options.base_layers(base_prefix(&base_image, &image)?);
    }
    let total: u64 = image.layers().iter().filter_map(|l| l.size).sum();
    let show_progress =
        !args.no_progress && std::io::stderr().is_terminal() && total > 64 * 1024 * 1024;
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let bar_thread = show_progress.then(|| {
        options = options.clone().progress(counter.clone());
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
    let result = Analysis::run(&image, &options);
    done.store(true, Ordering::Relaxed);
    if let Some(t) = bar_thread {
        let _ = t.join();
    }
    Ok((image, result?))
}

/// The base image's DiffIDs must be a prefix of the image's.
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
        anyhow::bail!(
            "--base {}: its {} layers are not the bottom of {} (only {common} match)",
            base.path().display(),
            b.len(),
            image.path().display()
        )
    }
}

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let filter = args.lists.filter()?;
    let (_image, analysis) = open_and_analyze(&args.image)?;
    let text = match args.format {
        Format::Json => {
            let mut options = ReportOptions::default().filter(filter);
            if let Some(n) = args.lists.top {
                options = options.top(n);
            }
            render::json::to_string(&analysis.report_with(&options))?
        }
        Format::Table => {
            let top = args.lists.top.unwrap_or(10);
            let report = analysis.report_with(&ReportOptions::default().filter(filter).top(top));
            render::table::analyze(&report, top, render::color_for(args.output.is_some()))
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn tree(args: TreeArgs) -> Result<ExitCode> {
    let mut filter = FileFilter::default();
    if let Some(p) = &args.path {
        filter = filter.path_glob(p)?;
    }
    if let Some(m) = args.min_size {
        filter = filter.min_size(m);
    }
    let (image, analysis) = open_and_analyze(&args.image)?;
    if let Some(n) = args.layer
        && n >= image.layers().len()
    {
        anyhow::bail!(
            "--layer {n}: the image has {} layers (0 to {})",
            image.layers().len(),
            image.layers().len().saturating_sub(1)
        );
    }
    let entries = filter.prune_tree(analysis.tree_view(args.layer, args.changes_only));
    let report = analysis.report();
    let text = match args.format {
        Format::Json => {
            render::json::to_string(&render::tree::TreeJson::new(&report, args.layer, &entries))?
        }
        Format::Table => render::tree::text(
            &entries,
            args.layer,
            render::color_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let make = |p: &PathBuf| ImageArgs {
        image: p.clone(),
        platform: args.platform.clone(),
        allow_digest_mismatch: args.allow_digest_mismatch,
        base_layers: None,
        base: None,
        no_progress: false,
    };
    let (_, a) = open_and_analyze(&make(&args.a))
        .with_context(|| format!("image A {}", args.a.display()))?;
    let (_, b) = open_and_analyze(&make(&args.b))
        .with_context(|| format!("image B {}", args.b.display()))?;
    let d = ImageDiff::compute(&a, &b);
    let text = match args.format {
        Format::Json => render::json::to_string(&d)?,
        Format::Table => {
            render::table::diff(&d, args.top, render::color_for(args.output.is_some()))
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn write_output(path: Option<&Path>, text: &str) -> Result<()> {
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
