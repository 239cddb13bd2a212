//! `layerscope fleet IMAGE... [--from FILE]`: arguments -> validated options -> the core's
//! fleet view -> render.

use crate::render;
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use layerscope_core::{Fleet, FleetMember, FleetOptions, Image, SummarySource};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Output formats of `fleet`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FleetFormat {
    /// Tables for a terminal.
    Table,
    /// The versioned JSON report.
    Json,
    /// Markdown, for a pull-request comment or a CI job summary.
    Markdown,
    /// One self-contained HTML page (no network): cards and sortable tables.
    Html,
}

#[derive(clap::Args, Debug)]
pub struct FleetArgs {
    /// The images (any name the other commands accept).
    images: Vec<PathBuf>,
    /// Also read image names from FILE, one per line (blank lines and `#` comments skipped).
    #[arg(long, value_name = "FILE")]
    from: Option<PathBuf>,
    /// Platform to pick from multi-platform images: os/arch[/variant], or `all` for every
    /// platform of each image.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]|all")]
    platform: Option<String>,
    /// Keep layer summaries in DIR (default: the user's cache directory, e.g.
    /// ~/.cache/layerscope/fleet).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["no_cache", "summaries"])]
    cache: Option<PathBuf>,
    /// Read every distinct layer; keep no summary after the run.
    #[arg(long, conflicts_with = "summaries")]
    no_cache: bool,
    /// Merge summaries made elsewhere (a directory of `<diff_id hex>.lsum` files, or a
    /// --cache directory): no layer is read; a missing summary is an error.
    #[arg(long, value_name = "DIR")]
    summaries: Option<PathBuf>,
    /// K of the common-base proposal: files held by at least K images (default: half the
    /// images, at least 2).
    #[arg(long, value_name = "K")]
    min_images: Option<usize>,
    /// List this many layers, duplicates and common-base files (table default 10, else 20).
    #[arg(long, value_name = "N")]
    top: Option<usize>,
    /// Report blob digest mismatches as warnings instead of failing (a DiffID mismatch is
    /// always an error: summaries are filed under DiffIDs).
    #[arg(long)]
    allow_digest_mismatch: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FleetFormat::Table)]
    format: FleetFormat,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// One image name and where it was given (for error messages).
struct Named {
    name: PathBuf,
    origin: String,
}

/// Names from the command line, then from `--from` (one per line).
fn names(args: &FleetArgs) -> Result<Vec<Named>> {
    let mut out: Vec<Named> = args
        .images
        .iter()
        .enumerate()
        .map(|(i, n)| Named {
            name: n.clone(),
            origin: format!("argument {}", i + 1),
        })
        .collect();
    if let Some(list) = &args.from {
        let text = if list == Path::new("-") {
            std::io::read_to_string(std::io::stdin())
                .context("--from -: cannot read standard input")?
        } else {
            std::fs::read_to_string(list)
                .with_context(|| format!("--from {}: cannot read it", list.display()))?
        };
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(Named {
                name: PathBuf::from(line),
                origin: format!("{}:{}", list.display(), i + 1),
            });
        }
    }
    Ok(out)
}

fn default_cache() -> Result<PathBuf> {
    match dirs::cache_dir() {
        Some(d) => Ok(d.join("layerscope").join("fleet")),
        None => bail!(
            "no user cache directory (neither $XDG_CACHE_HOME nor $HOME is set): give --cache DIR or --no-cache"
        ),
    }
}

pub fn run(args: FleetArgs) -> Result<ExitCode> {
    // Everything that can be checked before an image is opened.
    if args.top == Some(0) {
        bail!("--top must be at least 1");
    }
    if args.min_images == Some(0) {
        bail!("--min-images must be at least 1");
    }
    if args.format == FleetFormat::Html && args.output.is_none() && std::io::stdout().is_terminal()
    {
        bail!("--format html writes a web page: give --output FILE (or redirect standard output)");
    }
    let source = match (&args.cache, args.no_cache, &args.summaries) {
        (_, _, Some(dir)) => SummarySource::Summaries(dir.clone()),
        (_, true, None) => SummarySource::NoCache,
        (Some(dir), false, None) => SummarySource::Cache(dir.clone()),
        (None, false, None) => SummarySource::Cache(default_cache()?),
    };
    let names = names(&args)?;
    if names.is_empty() {
        bail!("no images: give IMAGE arguments or --from FILE");
    }
    if let Some(k) = args.min_images
        && k > names.len()
    {
        bail!(
            "--min-images {k}: only {} images are given, so no file could qualify",
            names.len()
        );
    }
    let top = args.top.unwrap_or(match args.format {
        FleetFormat::Table | FleetFormat::Markdown => 10,
        FleetFormat::Json | FleetFormat::Html => 20,
    });

    let members = open_members(&names, args.platform.as_deref())?;
    let mut options = FleetOptions::default()
        .summaries(source)
        .top(top)
        .allow_digest_mismatch(args.allow_digest_mismatch);
    if let Some(k) = args.min_images {
        options = options.min_images(k);
    }
    render_report(
        &members,
        options,
        args.format,
        args.output.as_deref(),
        top,
        args.no_progress,
    )
}

/// Open every name; with `--platform all`, every platform of each (named `NAME [os/arch]`).
fn open_members(names: &[Named], platform: Option<&str>) -> Result<Vec<FleetMember>> {
    let mut members = Vec::with_capacity(names.len());
    for n in names {
        let what = || format!("{} ({})", n.name.display(), n.origin);
        if platform == Some("all") {
            for p in Image::platforms(&n.name).with_context(what)? {
                let image = Image::open_with(&n.name, &crate::open_options().platform(p.clone()))
                    .with_context(what)?;
                members.push(
                    FleetMember::new(format!("{} [{p}]", n.name.display()), image)
                        .platform_of(n.name.display().to_string()),
                );
            }
        } else {
            let mut open = crate::open_options();
            if let Some(p) = platform {
                open = open.platform(p);
            }
            let image = Image::open_with(&n.name, &open).with_context(what)?;
            members.push(FleetMember::new(n.name.display().to_string(), image));
        }
    }
    Ok(members)
}

/// `analyze IMAGE --platform all`: every platform of the index as a fleet (sizes per
/// platform, the layers they share and those only one has). No summary is kept.
pub fn analyze_all_platforms(
    image: &Path,
    allow_digest_mismatch: bool,
    format: FleetFormat,
    output: Option<&Path>,
    top: Option<usize>,
    no_progress: bool,
) -> Result<ExitCode> {
    let names = [Named {
        name: image.to_path_buf(),
        origin: "the image argument".into(),
    }];
    let members = open_members(&names, Some("all"))?;
    let top = top.unwrap_or(match format {
        FleetFormat::Table | FleetFormat::Markdown => 10,
        FleetFormat::Json | FleetFormat::Html => 20,
    });
    let options = FleetOptions::default()
        .summaries(SummarySource::NoCache)
        .top(top)
        .allow_digest_mismatch(allow_digest_mismatch);
    render_report(&members, options, format, output, top, no_progress)
}

fn render_report(
    members: &[FleetMember],
    options: FleetOptions,
    format: FleetFormat,
    output: Option<&Path>,
    top: usize,
    no_progress: bool,
) -> Result<ExitCode> {
    let mut options = options;
    let total: u64 = members
        .iter()
        .flat_map(|m| m.image.layers().iter().filter_map(|l| l.size))
        .sum();
    let show_progress = !no_progress && std::io::stderr().is_terminal() && total > 64 * 1024 * 1024;
    let counter = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let bar = show_progress.then(|| {
        options = options.clone().progress(counter.clone());
        let (counter, done) = (counter.clone(), done.clone());
        std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} reading distinct layers {bytes} {bytes_per_sec}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            while !done.load(Ordering::Relaxed) {
                bar.set_position(counter.load(Ordering::Relaxed));
                bar.tick();
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            bar.finish_and_clear();
        })
    });
    let result = Fleet::run(members, &options);
    done.store(true, Ordering::Relaxed);
    if let Some(t) = bar {
        let _ = t.join();
    }
    let report = result?;

    let text = match format {
        FleetFormat::Json => render::json::to_string(&report)?,
        FleetFormat::Markdown => render::fleet::markdown(&report, top),
        FleetFormat::Html => render::fleet::page(&report).render()?,
        FleetFormat::Table => {
            render::fleet::table_text(&report, top, render::term_for(output.is_some()))
        }
    };
    crate::options::write_output(output, &text)?;
    Ok(ExitCode::SUCCESS)
}
