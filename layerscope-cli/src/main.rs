//! `layerscope`: a thin binary. It turns arguments into options, calls `layerscope-core`, and
//! renders the result. Exit codes: 0 ok, 1 a gate failed, 2 could not run.

mod check;
mod explore_cmd;
mod fleet;
mod render;

use anyhow::{Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use layerscope_core::{
    Analysis, AnalysisOptions, BuildContext, Change, Dockerfile, FileFilter, Image, ImageDiff,
    OpenOptions, ReportOptions, Simulator,
};
use std::collections::BTreeMap;
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
    /// Which build steps lose their cache when a file or build argument changes, and what
    /// that rebuilds and pushes again.
    Simulate(SimulateArgs),
    /// What each instruction costs over the last N commits of the context's git history.
    Churn(ChurnArgs),
    /// Findings with the bytes each fix saves: cache layout, waste, image practices.
    Recommend(RecommendArgs),
    /// Many images at once: each distinct layer read once; shared and unique bytes, base
    /// families, the same files shipped in different layers, a common base.
    Fleet(fleet::FleetArgs),
    /// Browse the layers and files interactively (a terminal UI with dive's keys).
    Explore(explore_cmd::ExploreArgs),
}

#[derive(clap::Args, Debug)]
struct RecommendArgs {
    /// The image (any supported format).
    #[arg(required_unless_present_any = ["list_codes", "dockerfile"])]
    image: Option<PathBuf>,
    /// The Dockerfile the image was built from (enables line numbers and cache findings).
    #[arg(long, short = 'f', value_name = "FILE")]
    dockerfile: Option<PathBuf>,
    /// The build context (default: the Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,
    /// Weigh cache findings by the last N commits of the context's git history.
    #[arg(long, value_name = "N")]
    git_history: Option<usize>,
    /// A build argument the image was built with (repeatable).
    #[arg(long = "with-build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    with_build_args: Vec<(String, String)>,
    /// Write the proposed Dockerfile to FILE.
    #[arg(long, value_name = "FILE")]
    write_dockerfile: Option<PathBuf>,
    /// List every finding code with its meaning, and exit.
    #[arg(long)]
    list_codes: bool,
    /// Platform to pick from a multi-platform image.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// The build inputs: Dockerfile, context, build arguments.
#[derive(clap::Args, Debug)]
struct BuildArgs {
    /// The image built from the Dockerfile (any supported format), for layer sizes; without
    /// it, steps are listed without bytes.
    image: Option<PathBuf>,
    /// The Dockerfile.
    #[arg(long, short = 'f', value_name = "FILE")]
    dockerfile: PathBuf,
    /// The build context directory (default: the Dockerfile's directory).
    #[arg(long, value_name = "DIR")]
    context: Option<PathBuf>,
    /// A build argument the image was built with (repeatable).
    #[arg(long = "with-build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    with_build_args: Vec<(String, String)>,
    /// Platform to pick from a multi-platform image.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
}

#[derive(clap::Args, Debug)]
struct SimulateArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// A context path whose content changes (repeatable; each is reported on its own).
    #[arg(long, value_name = "PATH")]
    changed: Vec<String>,
    /// The context as it was: the changes are what differs from --context.
    #[arg(long, value_name = "DIR")]
    baseline_context: Option<PathBuf>,
    /// The changes between this git revision and the working tree.
    #[arg(long, value_name = "REV")]
    git: Option<String>,
    /// A build argument that takes a new value (repeatable; each reported on its own).
    #[arg(long = "build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    build_args: Vec<(String, String)>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct ChurnArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// How many of the latest commits to replay.
    #[arg(long, value_name = "N", default_value_t = 100)]
    git_history: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{s:?} is not NAME=VALUE")),
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    Table,
    Json,
}

/// Formats of a full report (`analyze`; `check`, `simulate` and `diff` can share it).
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum ReportFormat {
    /// Tables for a terminal.
    Table,
    /// The versioned JSON report.
    Json,
    /// One self-contained HTML page (no network): cards, layer bars, treemap, file explorer.
    Html,
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
    /// The largest zstd window a layer may ask for, as a power of two: 10 to 31 (default
    /// 31, 2 GiB, what `zstd --long=31` writes; reading such a layer can hold that much memory).
    #[arg(long, value_name = "LOG", value_parser = clap::value_parser!(u32).range(10..=31))]
    zstd_window_log_max: Option<u32>,
}

#[derive(clap::Args, Debug)]
struct AnalyzeArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
    /// Write the output to FILE instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    lists: ListArgs,
    /// The Dockerfile the image was built from: bytes by instruction line, and cache findings.
    #[arg(long, short = 'f', value_name = "FILE")]
    dockerfile: Option<PathBuf>,
    /// The build context (default: the Dockerfile's directory).
    #[arg(long, value_name = "DIR", requires = "dockerfile")]
    context: Option<PathBuf>,
    /// A build argument the image was built with (repeatable).
    #[arg(long = "with-build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    with_build_args: Vec<(String, String)>,
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
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
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
        Command::Simulate(args) => simulate(args),
        Command::Churn(args) => churn(args),
        Command::Recommend(args) => recommend(args),
        Command::Fleet(args) => fleet::run(args),
        Command::Explore(args) => explore_cmd::run(args),
    }
}

impl ImageArgs {
    /// Options for an image named by another command (simulate, recommend, diff).
    fn for_image(image: &Path, platform: Option<String>, allow_digest_mismatch: bool) -> ImageArgs {
        ImageArgs {
            image: image.to_path_buf(),
            platform,
            allow_digest_mismatch,
            base_layers: None,
            base: None,
            no_progress: false,
            zstd_window_log_max: None,
        }
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
        let layers = image.layers().len();
        if n > layers {
            anyhow::bail!(
                "--base-layers {n}: {} has only {layers} layers",
                args.image.display()
            );
        }
        options = options.base_layers(n);
    }
    if let Some(log) = args.zstd_window_log_max {
        options = options.zstd_window_log_max(log);
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
    check_html_destination(args.format, args.output.as_deref())?;
    let build = match &args.dockerfile {
        Some(path) => Some(load_dockerfile(path, args.context.as_deref())?),
        None => None,
    };
    let (_image, mut analysis) = open_and_analyze(&args.image)?;
    let build_args: BTreeMap<String, String> = args.with_build_args.iter().cloned().collect();
    let attribution = match &build {
        Some((df, _, _)) => Some(analysis.attribute(df, &build_args)?),
        None => None,
    };
    if let Some(a) = &attribution {
        analysis.adopt_dockerfile_base(a);
    }
    let mut options = ReportOptions::default().filter(filter);
    let top = match args.format {
        ReportFormat::Json | ReportFormat::Html => args.lists.top,
        ReportFormat::Table => Some(args.lists.top.unwrap_or(10)),
    };
    if let Some(n) = top {
        options = options.top(n);
    }
    let mut report = analysis.report_with(&options);
    if args.compat == Some(Compat::Dive) {
        report.compat_dive = Some(analysis.dive_compat());
    }
    let mut input = layerscope_core::RecommendInput::default();
    input.analysis = Some(&analysis);
    input.build_args = build_args.clone();
    if let Some((df, text, ctx)) = &build {
        report.attribution = attribution;
        input.dockerfile = Some(df);
        input.dockerfile_text = Some(text);
        input.context = Some(ctx);
    }
    report.recommendations = layerscope_core::recommend(&input)?.recommendations;
    if args.format == ReportFormat::Json {
        // Streamed: a report of a 200k-file image need not exist twice in memory.
        render::json::write(args.output.as_deref(), &report)?;
        return Ok(ExitCode::SUCCESS);
    }
    let text = match args.format {
        ReportFormat::Json => render::json::to_string(&report)?,
        ReportFormat::Html => {
            let mut page = render::html::Page::analysis(&report, &analysis)?
                .recommendations(render::html_views::recommendations(&report.recommendations));
            if let Some((df, _, _)) = &build {
                page = page.dockerfile(render::html_views::dockerfile(
                    df,
                    report.attribution.as_ref(),
                    None,
                ));
            }
            page.render()?
        }
        ReportFormat::Table => render::table::analyze(
            &report,
            top.unwrap_or(10),
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    if args.format == ReportFormat::Html
        && let Some(path) = &args.output
        && std::io::stderr().is_terminal()
    {
        eprintln!(
            "layerscope: wrote {} ({}); open it in a browser",
            path.display(),
            render::human(text.len() as u64)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Read and parse a Dockerfile and open its context.
fn load_dockerfile(
    path: &Path,
    context: Option<&Path>,
) -> Result<(Dockerfile, String, BuildContext)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let df = Dockerfile::parse_named(&text, &path.display().to_string())?;
    let dir = match context {
        Some(c) => c.to_path_buf(),
        None => path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let ctx = BuildContext::open(&dir, path.file_name().and_then(|n| n.to_str()))?;
    Ok((df, text, ctx))
}

/// A page of HTML on a terminal helps nobody: ask for a file before reading the image.
fn check_html_destination(format: ReportFormat, output: Option<&Path>) -> Result<()> {
    if format == ReportFormat::Html && output.is_none() && std::io::stdout().is_terminal() {
        anyhow::bail!(
            "--format html writes a web page: give --output FILE (or redirect standard output)"
        );
    }
    Ok(())
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
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn diff(args: DiffArgs) -> Result<ExitCode> {
    let make =
        |p: &PathBuf| ImageArgs::for_image(p, args.platform.clone(), args.allow_digest_mismatch);
    check_html_destination(args.format, args.output.as_deref())?;
    let (_, a) = open_and_analyze(&make(&args.a))
        .with_context(|| format!("image A {}", args.a.display()))?;
    let (_, b) = open_and_analyze(&make(&args.b))
        .with_context(|| format!("image B {}", args.b.display()))?;
    let d = ImageDiff::compute(&a, &b);
    let text = match args.format {
        ReportFormat::Json => render::json::to_string(&d)?,
        ReportFormat::Html => render::html_views::diff_page(&d).render()?,
        ReportFormat::Table => {
            render::table::diff(&d, args.top, render::term_for(args.output.is_some()))
        }
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

/// Everything a simulation needs, loaded.
struct Loaded {
    dockerfile: Dockerfile,
    context: BuildContext,
    analysis: Option<Analysis>,
    build_args: BTreeMap<String, String>,
}

fn load_build(b: &BuildArgs) -> Result<Loaded> {
    let text = std::fs::read_to_string(&b.dockerfile)
        .with_context(|| format!("cannot read {}", b.dockerfile.display()))?;
    let name = b.dockerfile.display().to_string();
    let dockerfile = Dockerfile::parse_named(&text, &name)?;
    let context_dir = match &b.context {
        Some(c) => c.clone(),
        None => b
            .dockerfile
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from(".")),
    };
    let df_name = b
        .dockerfile
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string);
    let context = BuildContext::open(&context_dir, df_name.as_deref())?;
    let analysis = match &b.image {
        Some(img) => {
            let args = ImageArgs::for_image(img, b.platform.clone(), false);
            Some(open_and_analyze(&args)?.1)
        }
        None => None,
    };
    Ok(Loaded {
        dockerfile,
        context,
        analysis,
        build_args: b.with_build_args.iter().cloned().collect(),
    })
}

fn simulate(args: SimulateArgs) -> Result<ExitCode> {
    if args.changed.is_empty()
        && args.baseline_context.is_none()
        && args.git.is_none()
        && args.build_args.is_empty()
    {
        anyhow::bail!(
            "nothing to simulate: give --changed PATH, --baseline-context DIR, --git REV or --build-arg NAME=VALUE"
        );
    }
    let l = load_build(&args.build)?;
    let old_context = match &args.baseline_context {
        Some(dir) => Some(BuildContext::open(
            dir,
            args.build.dockerfile.file_name().and_then(|n| n.to_str()),
        )?),
        None => None,
    };
    let sim = Simulator::new(
        &l.dockerfile,
        &l.context,
        old_context.as_ref(),
        l.analysis.as_ref(),
        l.build_args.clone(),
    )?;
    let mut changes: Vec<Change> = args.changed.iter().map(Change::path).collect();
    if let Some(old) = &old_context {
        let diff = BuildContext::diff(old, &l.context)?;
        changes.push(Change::Paths {
            label: format!("{} -> {}", old.dir().display(), l.context.dir().display()),
            changes: diff,
        });
    }
    if let Some(rev) = &args.git {
        let diff = layerscope_core::git_changes(l.context.dir(), rev)?;
        changes.push(Change::Paths {
            label: format!("{rev} -> working tree"),
            changes: diff,
        });
    }
    for (k, v) in &args.build_args {
        changes.push(Change::BuildArg {
            name: k.clone(),
            value: v.clone(),
        });
    }
    check_html_destination(args.format, args.output.as_deref())?;
    let report = sim.report(&changes)?;
    let text = match args.format {
        ReportFormat::Json => render::json::to_string(&report)?,
        ReportFormat::Html => {
            // The page shows the first change on the Dockerfile, every change in a table,
            // and, with the image, the usual analysis.
            let view = render::html_views::dockerfile(
                &l.dockerfile,
                report.attribution.as_ref(),
                report.changes.first(),
            );
            let mut page = match &l.analysis {
                Some(a) => render::html::Page::analysis(&a.report(), a)?.command("simulate"),
                None => render::html::Page::new("simulate", l.dockerfile.file_name()),
            };
            page = page
                .dockerfile(view)
                .section(render::html_views::changes_table(&report.changes));
            page.render()?
        }
        ReportFormat::Table => render::table::simulate(
            &report,
            l.analysis.is_some(),
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn churn(args: ChurnArgs) -> Result<ExitCode> {
    if args.git_history == 0 {
        anyhow::bail!("--git-history must be at least 1");
    }
    let l = load_build(&args.build)?;
    let sim = Simulator::new(
        &l.dockerfile,
        &l.context,
        None,
        l.analysis.as_ref(),
        l.build_args.clone(),
    )?;
    let history = layerscope_core::git_churn(l.context.dir(), args.git_history)?;
    let report = sim.churn(&history)?;
    let text = match args.format {
        Format::Json => render::json::to_string(&report)?,
        Format::Table => render::table::churn(
            &report,
            l.analysis.is_some(),
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}

fn recommend(args: RecommendArgs) -> Result<ExitCode> {
    if args.list_codes {
        let text = match args.format {
            Format::Json => render::json::to_string(&layerscope_core::CODES)?,
            Format::Table => render::table::codes(render::term_for(args.output.is_some())),
        };
        write_output(args.output.as_deref(), &text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let analysis = match &args.image {
        Some(img) => {
            let a = ImageArgs::for_image(img, args.platform.clone(), false);
            Some(open_and_analyze(&a)?.1)
        }
        None => None,
    };
    let (dockerfile, text, context) = match &args.dockerfile {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let df = Dockerfile::parse_named(&text, &path.display().to_string())?;
            let dir = match &args.context {
                Some(c) => c.clone(),
                None => path
                    .parent()
                    .map(Path::to_path_buf)
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or_else(|| PathBuf::from(".")),
            };
            let ctx = BuildContext::open(&dir, path.file_name().and_then(|n| n.to_str()))?;
            (Some(df), Some(text), Some(ctx))
        }
        None => (None, None, None),
    };
    let churn = match (&args.git_history, &context) {
        (Some(n), Some(ctx)) => Some(layerscope_core::git_churn(ctx.dir(), *n)?),
        (Some(_), None) => anyhow::bail!("--git-history needs --dockerfile (and its context)"),
        _ => None,
    };
    let mut input = layerscope_core::RecommendInput::default();
    input.analysis = analysis.as_ref();
    input.dockerfile = dockerfile.as_ref();
    input.dockerfile_text = text.as_deref();
    input.context = context.as_ref();
    input.churn = churn.as_ref();
    input.build_args = args.with_build_args.iter().cloned().collect();
    let recs = layerscope_core::recommend(&input)?;
    if let (Some(out), Some(proposed)) = (&args.write_dockerfile, &recs.proposed_dockerfile) {
        std::fs::write(out, proposed).with_context(|| format!("cannot write {}", out.display()))?;
    }
    let text = match args.format {
        Format::Json => render::json::to_string(&recs)?,
        Format::Table => render::table::recommendations(
            &recs,
            args.dockerfile.as_deref(),
            render::term_for(args.output.is_some()),
        ),
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
