//! `layerscope simulate IMAGE -f Dockerfile --changed PATH`: which steps lose their cache
//! when a path or a build argument changes, and the bytes rebuilt and pushed again.

use crate::options::{
    BuildArgs, ReportFormat, check_html_destination, parse_kv, run_pipeline, write_output,
};
use crate::render;
use anyhow::Result;
use layerscope_core::{BuildContext, Change, ContentSha256};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct SimulateArgs {
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

pub(crate) fn run(args: SimulateArgs) -> Result<ExitCode> {
    if args.changed.is_empty()
        && args.baseline_context.is_none()
        && args.git.is_none()
        && args.build_args.is_empty()
    {
        anyhow::bail!(
            "nothing to simulate: give --changed PATH, --baseline-context DIR, --git REV or --build-arg NAME=VALUE"
        );
    }
    check_html_destination(args.format == ReportFormat::Html, args.output.as_deref())?;
    let mut options = args.build.options();
    // Content digests only where an output shows them: the HTML page lists every file; the
    // table and the JSON show none.
    options.analysis = options.analysis.content_sha256(match args.format {
        ReportFormat::Html => ContentSha256::Streamed,
        ReportFormat::Table | ReportFormat::Json => ContentSha256::Omitted,
    });
    let pipeline = run_pipeline(options, false)?;
    let (Some(dockerfile), Some(context)) = (pipeline.dockerfile(), pipeline.context()) else {
        anyhow::bail!("internal error: the Dockerfile was not read");
    };
    let old_context = match &args.baseline_context {
        Some(dir) => Some(BuildContext::open(
            dir,
            args.build.dockerfile.file_name().and_then(|n| n.to_str()),
        )?),
        None => None,
    };
    let sim = pipeline.simulator(old_context.as_ref())?;
    let mut changes: Vec<Change> = args.changed.iter().map(Change::path).collect();
    if let Some(old) = &old_context {
        let diff = BuildContext::diff(old, context)?;
        changes.push(Change::Paths {
            label: format!("{} -> {}", old.dir().display(), context.dir().display()),
            changes: diff,
        });
    }
    if let Some(rev) = &args.git {
        let diff = layerscope_core::git_changes(context.dir(), rev)?;
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
    let report = sim.report(&changes)?;
    let text = match args.format {
        ReportFormat::Json => render::json::to_string(&report)?,
        ReportFormat::Html => {
            // The page shows the first change on the Dockerfile, every change in a table,
            // and, with the image, the usual analysis.
            let view = render::html_views::dockerfile(
                dockerfile,
                report.attribution.as_ref(),
                report.changes.first(),
            );
            let mut page = match pipeline.analysis() {
                Some(a) => render::html::Page::analysis(&a.report(), a)?.command("simulate"),
                None => render::html::Page::new("simulate", dockerfile.file_name()),
            };
            page = page
                .dockerfile(view)
                .section(render::html_views::changes_table(&report.changes));
            page.render()?
        }
        ReportFormat::Table => render::table::simulate(
            &report,
            pipeline.analysis().is_some(),
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
