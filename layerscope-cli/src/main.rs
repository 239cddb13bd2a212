//! `layerscope`: a thin binary. It turns arguments into options, calls `layerscope-core`, and
//! renders the result. Exit codes: 0 ok, 1 a gate failed, 2 could not run.

mod render;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use layerscope_core::{Analysis, AnalysisOptions, Image, OpenOptions};
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
    #[arg(long, value_name = "N")]
    base_layers: Option<usize>,
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
    /// How many of the largest waste items to list in the table output.
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    /// Also compute another tool's figures, bugs included, for CI gates written against it
    /// (`dive`: dive 0.13.1's efficiency, wastedBytes and userWastedPercent).
    #[arg(long, value_enum, value_name = "TOOL")]
    compat: Option<Compat>,
}

/// Tools whose figures `--compat` reproduces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Compat {
    /// dive 0.13.1.
    Dive,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
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

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(args) => analyze(args),
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

fn analyze(args: AnalyzeArgs) -> Result<ExitCode> {
    let (_image, analysis) = open_and_analyze(&args.image)?;
    let mut report = analysis.report();
    if args.compat == Some(Compat::Dive) {
        report.compat_dive = Some(analysis.dive_compat());
    }
    let text = match args.format {
        Format::Json => render::json::to_string(&report)?,
        Format::Table => {
            render::table::analyze(&report, args.top, render::color_for(args.output.is_some()))
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
