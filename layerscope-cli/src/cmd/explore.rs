//! `layerscope explore`: arguments -> inputs -> the interactive explorer (layerscope_cli::explore).

use crate::options::{ImageArgs, parse_kv, run_pipeline, with_build_inputs};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct ExploreArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// The Dockerfile the image was built from: Dockerfile lines for layers, the Dockerfile
    /// pane, cache recommendations.
    #[arg(long, short = 'f', value_name = "FILE")]
    dockerfile: Option<PathBuf>,
    /// The build context (default: the Dockerfile's directory): the context pane shows what a
    /// change to each file rebuilds.
    #[arg(long, value_name = "DIR", requires = "dockerfile")]
    context: Option<PathBuf>,
    /// A build argument the image was built with (repeatable).
    #[arg(long = "with-build-arg", value_name = "NAME=VALUE", value_parser = parse_kv)]
    with_build_args: Vec<(String, String)>,
}

pub(crate) fn run(args: ExploreArgs) -> Result<ExitCode> {
    // Refuse before reading anything: a pipe or a file cannot show an interactive screen.
    layerscope_cli::explore::require_terminal()?;
    let mut options = with_build_inputs(
        args.image.options(),
        &args.with_build_args,
        args.dockerfile.as_deref(),
        args.context.as_deref(),
    );
    options.analysis = layerscope_cli::explore::analysis_options(options.analysis);
    let pipeline = run_pipeline(options, args.image.no_progress)?;
    let extract_dir = std::env::current_dir().context("cannot read the current directory")?;
    layerscope_cli::explore::run(pipeline, extract_dir)?;
    Ok(ExitCode::SUCCESS)
}
