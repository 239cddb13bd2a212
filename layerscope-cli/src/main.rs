//! `layerscope`: a thin binary. It turns arguments into options, calls `layerscope-core`, and
//! renders the result. Exit codes: 0 ok, 1 a gate failed, 2 could not run.

mod cmd;
mod options;
mod render;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cmd::{analyze, check, churn, diff, explore, fleet, recommend, simulate, tree};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "layerscope",
    version,
    about = "See where a container image's bytes go, and what a rebuild costs",
    after_help = IMAGE_NAMES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Reach docker:// registries over plain HTTP instead of HTTPS (a local registry).
    #[arg(long, global = true)]
    insecure: bool,
    /// Read docker:// layers that carry an eStargz table of contents from it with Range
    /// requests, without fetching file data. Their DiffIDs and blob digests are then not
    /// verified (the report marks them); without --toc every blob is read and verified.
    #[arg(long, global = true)]
    toc: bool,
}

/// How an IMAGE argument is read (shown by --help).
const IMAGE_NAMES: &str = "\
IMAGE names (as skopeo spells them):
  docker-archive:PATH             a docker save / podman docker-archive tar
  oci-archive:PATH                an OCI layout in a tar
  oci:DIR[:REF]                   an OCI layout directory (REF: org.opencontainers.image.ref.name)
  docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST]
                                  a registry (OCI distribution API; --insecure for plain HTTP)
  docker-daemon:NAME[:TAG]        the Docker Engine on $DOCKER_HOST
  containers-storage:NAME         buildah's and podman's local store
A bare IMAGE that exists on disk (or `-`, standard input) is a file whose format is
detected; any other bare IMAGE is an image name looked up in the Docker Engine, as if
written docker-daemon:IMAGE.";

/// `--insecure`, set once from the command line before any image is opened.
pub(crate) static INSECURE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
/// `--toc`, set once from the command line before any image is opened.
pub(crate) static TOC: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// How every image named on the command line is opened: `--insecure` and `--toc`.
pub(crate) fn open_options() -> layerscope_core::OpenOptions {
    layerscope_core::OpenOptions::default()
        .insecure(INSECURE.get().copied().unwrap_or(false))
        .toc(TOC.get().copied().unwrap_or(false))
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Analyze an image: layers, sizes, files added/modified/deleted, waste.
    Analyze(analyze::AnalyzeArgs),
    /// The file tree of the final image or of one layer, with change markers and sizes.
    Tree(tree::TreeArgs),
    /// Compare two images: shared layers, size deltas, push cost, file changes.
    Diff(diff::DiffArgs),
    /// CI gate: rules from .layerscope.toml (or dive's .dive-ci), optionally against a
    /// baseline report. Exit 0 pass, 1 a rule failed, 2 could not run.
    Check(check::CheckArgs),
    /// Which build steps lose their cache when a file or build argument changes, and what
    /// that rebuilds and pushes again.
    Simulate(simulate::SimulateArgs),
    /// What each instruction costs over the last N commits of the context's git history.
    Churn(churn::ChurnArgs),
    /// Findings with the bytes each fix saves: cache layout, waste, image practices.
    Recommend(recommend::RecommendArgs),
    /// Many images at once: each distinct layer read once; shared and unique bytes, base
    /// families, the same files shipped in different layers, a common base.
    Fleet(fleet::FleetArgs),
    /// Browse the layers and files interactively (a terminal UI with dive's keys).
    Explore(explore::ExploreArgs),
}

fn main() -> ExitCode {
    // Parsed via ArgMatches so that `check` can pair each --output with the --format before it.
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(p) => p,
        Err(e) => return usage_error(&e),
    };
    match run(cli, &matches) {
        Ok(code) => code,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("layerscope: error: {}", error_text(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, joined with `": "` (as anyhow's `{:#}`), in the
/// CLI's terms: where the core names one of its options or says what to try, the flag that
/// sets it is named instead.
fn error_text(e: &anyhow::Error) -> String {
    let parts: Vec<String> = e.chain().map(link_text).collect();
    parts.join(": ")
}

/// One link of the chain, without the newline a parser's multi-line message (TOML's) ends
/// with.
fn link_text(link: &(dyn std::error::Error + 'static)) -> String {
    if let Some(core) = link.downcast_ref::<layerscope_core::Error>() {
        core_error_text(core)
    } else if let Some(hinted) = link.downcast_ref::<layerscope_core::Hinted>() {
        hinted.text_with(hint_text(hinted.hint()))
    } else if let Some(zstd) = link.downcast_ref::<layerscope_core::ZstdWindowTooLarge>() {
        zstd.text("--zstd-window-log-max")
    } else {
        link.to_string().trim_end().to_string()
    }
}

/// What to try, with the flag or command that does it.
fn hint_text(hint: layerscope_core::Hint) -> String {
    use layerscope_core::Hint;
    match hint {
        Hint::PlainHttpRegistry => "a plain-HTTP registry? use --insecure".to_string(),
        Hint::RecommendationCodes => "`layerscope recommend --list-codes` lists them".to_string(),
        other => other.to_string(),
    }
}

/// What writes a report that `check --baseline` reads.
const REPORT_COMMANDS: &str = "`analyze --format json` or `check --format json`";

/// One core error's message in the CLI's terms (its causes follow in the chain).
fn core_error_text(e: &layerscope_core::Error) -> String {
    use layerscope_core::{Error, OptionName};
    match e {
        Error::InvalidOption { option, reason, .. } => {
            let flag = match option {
                OptionName::Platform => "--platform".to_string(),
                OptionName::AllPlatforms => "--platform all".to_string(),
                OptionName::PathGlob => "--path".to_string(),
                OptionName::BaseLayers(n) => format!("--base-layers {n}"),
                other => other.to_string(),
            };
            if reason.is_empty() {
                flag
            } else {
                format!("{flag}: {reason}")
            }
        }
        Error::BaseMismatch {
            base,
            image,
            base_layers,
            matching,
        } => format!(
            "--base {}: its {base_layers} layers are not the bottom of {} (only {matching} match)",
            base.display(),
            image.display()
        ),
        Error::PlatformNotChosen { .. } => format!("{e} with --platform"),
        Error::PushSize {
            image,
            index,
            digest,
            ..
        } => format!(
            "{}: layer {index} ({digest}): compressing for --push-size",
            image.display()
        ),
        Error::Baseline {
            source_name,
            problem,
            ..
        } => format!("{source_name}: {}", problem.text(Some(REPORT_COMMANDS))),
        other => other.to_string(),
    }
}

/// `--help` and `--version` print and exit 0; any other argument error exits 2 and starts,
/// like every other error, with the one `layerscope: error: ...` line (clap's usage hint may
/// follow).
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = e.print();
        return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        };
    }
    let text = e.render().to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    eprint!("layerscope: error: {text}");
    ExitCode::from(2)
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli, matches: &clap::ArgMatches) -> Result<ExitCode> {
    let _ = INSECURE.set(cli.insecure);
    let _ = TOC.set(cli.toc);
    match cli.command {
        Command::Analyze(args) => analyze::run(args),
        Command::Tree(args) => tree::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Check(args) => check::run(args, matches.subcommand_matches("check")),
        Command::Simulate(args) => simulate::run(args),
        Command::Churn(args) => churn::run(args),
        Command::Recommend(args) => recommend::run(args),
        Command::Fleet(args) => fleet::run(args),
        Command::Explore(args) => explore::run(args),
    }
}
