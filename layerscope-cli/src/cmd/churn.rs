//! `layerscope churn IMAGE -f Dockerfile --git-history N`: how often each instruction
//! rebuilt over the last N commits, and what that costs per commit.

use crate::options::{BuildArgs, Format, run_pipeline, write_output};
use crate::render;
use anyhow::Result;
use layerscope_core::ContentSha256;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct ChurnArgs {
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

pub(crate) fn run(args: ChurnArgs) -> Result<ExitCode> {
    if args.git_history == 0 {
        anyhow::bail!("--git-history must be at least 1");
    }
    let mut options = args.build.options();
    // Neither output shows a content digest.
    options.analysis = options.analysis.content_sha256(ContentSha256::Omitted);
    let pipeline = run_pipeline(options, false)?;
    let Some(context) = pipeline.context() else {
        anyhow::bail!("internal error: the Dockerfile was not read");
    };
    let sim = pipeline.simulator(None)?;
    let history = layerscope_core::git_churn(context.dir(), args.git_history)?;
    let report = sim.churn(&history)?;
    let text = match args.format {
        Format::Json => render::json::to_string(&report)?,
        Format::Table => render::table::churn(
            &report,
            pipeline.analysis().is_some(),
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
