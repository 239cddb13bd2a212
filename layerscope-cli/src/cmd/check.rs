//! `layerscope check IMAGE`: the CI gate. Arguments -> config, baseline and Dockerfile
//! (all read and validated before the image is opened) -> `Gate::evaluate` -> one or more
//! renderings. Exit codes: 0 every rule passed, 1 a rule failed, 2 could not run.

use crate::options::{ImageArgs, run_pipeline, write_output};
use crate::render;
use anyhow::{Context, Result, bail};
use clap::{ArgMatches, ValueEnum};
use layerscope_core::{Baseline, CheckReport, ContentSha256, Gate, GateConfig, ReportOptions};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

/// Config files looked for in the current directory, in order, when `--config` is not given.
const DISCOVERED: [&str; 2] = [".layerscope.toml", ".dive-ci"];

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// A pull-request comment: verdict, rules, sizes and deltas, biggest waste.
    Markdown,
    /// Every rule's result with the full analyze report (usable as the next --baseline).
    Json,
    /// SARIF 2.1.0 for code-scanning annotations on Dockerfile lines.
    Sarif,
    /// JUnit XML, one test case per rule.
    Junit,
    /// One self-contained HTML page: the verdict with the analysis (cards, layers, treemap,
    /// explorer) and the recommendations.
    Html,
}

impl CheckFormat {
    fn name(self) -> &'static str {
        match self {
            CheckFormat::Markdown => "markdown",
            CheckFormat::Json => "json",
            CheckFormat::Sarif => "sarif",
            CheckFormat::Junit => "junit",
            CheckFormat::Html => "html",
        }
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Gate config: a `.layerscope.toml`, or dive's `.dive-ci` (YAML; also any *.yml/*.yaml).
    /// Default: ./.layerscope.toml, else ./.dive-ci, else dive's default rules.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// A report from an earlier run (`analyze --format json` or `check --format json`) for
    /// the growth and new-waste rules.
    #[arg(long, value_name = "REPORT.json")]
    baseline: Option<PathBuf>,
    /// The Dockerfile the image was built from (default: `dockerfile` in the config); places
    /// results on its lines and enables the per-instruction rules.
    #[arg(long, value_name = "FILE")]
    dockerfile: Option<PathBuf>,
    /// Output format; repeat for several, each followed by its own --output
    /// (default: markdown on standard output).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Vec<CheckFormat>,
    /// Write the --format before it to FILE (a format without one goes to standard output;
    /// at most one may).
    #[arg(long, short, value_name = "FILE")]
    output: Vec<PathBuf>,
}

/// Pair each `--output` with the `--format` before it on the command line.
fn outputs(
    args: &CheckArgs,
    matches: Option<&ArgMatches>,
) -> Result<Vec<(CheckFormat, Option<PathBuf>)>> {
    if args.format.is_empty() {
        return match args.output.as_slice() {
            [] => Ok(vec![(CheckFormat::Markdown, None)]),
            [one] => Ok(vec![(CheckFormat::Markdown, Some(one.clone()))]),
            _ => bail!(
                "--output is given {} times but --format never: write `--format FORMAT --output FILE` for each",
                args.output.len()
            ),
        };
    }
    let indices = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let (format_at, output_at) = (indices("format"), indices("output"));
    if format_at.len() != args.format.len() || output_at.len() != args.output.len() {
        bail!("internal error: cannot pair --format and --output");
    }
    let mut pairs: Vec<(CheckFormat, Option<PathBuf>)> =
        args.format.iter().map(|f| (*f, None)).collect();
    for (path, at) in args.output.iter().zip(&output_at) {
        let Some(owner) = format_at.iter().rposition(|f| f < at) else {
            bail!(
                "--output {} comes before any --format: write `--format FORMAT --output FILE`",
                path.display()
            );
        };
        let Some(pair) = pairs.get_mut(owner) else {
            bail!("internal error: cannot pair --format and --output");
        };
        if let Some(first) = &pair.1 {
            bail!(
                "--format {} has two outputs ({} and {}): give each --format one --output",
                pair.0.name(),
                first.display(),
                path.display()
            );
        }
        pair.1 = Some(path.clone());
    }
    let to_stdout: Vec<&str> = pairs
        .iter()
        .filter(|p| p.1.is_none())
        .map(|p| p.0.name())
        .collect();
    if to_stdout.len() > 1 {
        bail!(
            "--format {} would all go to standard output: give all but one an --output FILE",
            to_stdout.join(", --format ")
        );
    }
    let mut files: Vec<&PathBuf> = pairs.iter().filter_map(|p| p.1.as_ref()).collect();
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0] == w[1]) {
        bail!("--output {} is given for two formats", w[0].display());
    }
    Ok(pairs)
}

/// `--config`, else the first of [`DISCOVERED`] in the current directory, else dive's defaults.
fn load_config(explicit: Option<&Path>) -> Result<GateConfig> {
    if let Some(p) = explicit {
        return Ok(GateConfig::load(p)?);
    }
    for name in DISCOVERED {
        let p = Path::new(name);
        if p.is_file() {
            return Ok(GateConfig::load(p)?);
        }
    }
    Ok(GateConfig::dive_defaults())
}

/// `a/b/../c` -> `a/c`, without touching the filesystem: the Dockerfile's path is shown in
/// results and used as the SARIF artifact URI, relative to where the command runs.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                let above = out.components().next_back() == Some(Component::ParentDir);
                if above || !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// The Dockerfile: `--dockerfile`, else the config's `dockerfile` (relative to the config
/// file, as a config kept next to the Dockerfile expects).
fn dockerfile_path(explicit: Option<&Path>, config: &GateConfig) -> Option<PathBuf> {
    match (explicit, &config.dockerfile) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, Some(rel)) => {
            let dir = config
                .source()
                .and_then(|s| Path::new(s).parent())
                .unwrap_or(Path::new(""));
            Some(normalize(&dir.join(rel)))
        }
        (None, None) => None,
    }
}

pub(crate) fn run(args: CheckArgs, matches: Option<&ArgMatches>) -> Result<ExitCode> {
    let outputs = outputs(&args, matches)?;
    let config = load_config(args.config.as_deref())?;
    let baseline = args
        .baseline
        .as_deref()
        .map(|p| Baseline::load(p).with_context(|| format!("--baseline {}", p.display())))
        .transpose()?;
    let mut options = args.image.options();
    // Content digests only for the outputs that show them (the JSON report and the HTML
    // page, which list many files: hashed in the stream, cheaper here than reading each file
    // again); the Markdown, SARIF and JUnit outputs show none.
    if !outputs
        .iter()
        .any(|(f, _)| matches!(f, CheckFormat::Json | CheckFormat::Html))
    {
        options.analysis = options.analysis.content_sha256(ContentSha256::Omitted);
    }
    if let Some(df) = dockerfile_path(args.dockerfile.as_deref(), &config) {
        options = options.dockerfile(df);
    }
    let gate = Gate::new(config)?;
    let pipeline = run_pipeline(options, args.image.no_progress)?;
    // Recommendations (with the Dockerfile's directory as the context, when known): the
    // config's [recommendations] table decides which of them fail the gate.
    let findings = pipeline.recommendations(None)?.recommendations;
    let (Some(analysis), Some(report), Some(outcome)) = (
        pipeline.analysis(),
        pipeline.report(&ReportOptions::default(), &findings),
        pipeline.check(&gate, baseline.as_ref(), &findings),
    ) else {
        bail!("internal error: the image was not analysed");
    };
    let outcome = render::gate::in_cli_terms(outcome);
    for (format, path) in &outputs {
        let text = match format {
            CheckFormat::Markdown => render::markdown::check(&outcome, &report),
            CheckFormat::Json => render::json::to_string(&CheckReport::new(&outcome, &report))?,
            CheckFormat::Sarif => render::sarif::check(&outcome)?,
            CheckFormat::Junit => render::junit::check(&outcome, &report),
            CheckFormat::Html => render::html::Page::analysis(&report, analysis)?
                .command("check")
                .gate(render::html_views::gate(&outcome))
                .recommendations(
                    render::html_views::recommendations(&findings),
                    report.total_bytes_saved,
                )
                .render()?,
        };
        write_output(path.as_deref(), &text)?;
    }
    // When every format went to a file, the log still says how it went.
    if outputs.iter().all(|(_, p)| p.is_some()) {
        eprintln!("layerscope check: {}", render::gate::summary(&outcome));
    }
    Ok(if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_config_relative_paths() {
        assert_eq!(
            normalize(Path::new("ci/../Dockerfile")),
            PathBuf::from("Dockerfile")
        );
        assert_eq!(
            normalize(Path::new("./a/./Dockerfile")),
            PathBuf::from("a/Dockerfile")
        );
        assert_eq!(
            normalize(Path::new("../../x/Dockerfile")),
            PathBuf::from("../../x/Dockerfile")
        );
    }
}
