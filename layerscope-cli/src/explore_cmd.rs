//! `layerscope explore`: arguments -> inputs -> the interactive explorer (layerscope_cli::explore).

use crate::{ImageArgs, load_dockerfile, open_and_analyze, parse_kv};
use anyhow::Result;
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
    let (dockerfile, context) = match &args.dockerfile {
        Some(path) => {
            let (df, text, ctx) = load_dockerfile(path, args.context.as_deref())?;
            (Some((df, text)), Some(ctx))
        }
        None => (None, None),
    };
    let (image, analysis) = open_and_analyze(&args.image)?;
    let inputs = layerscope_cli::explore::Inputs {
        image,
        analysis,
        dockerfile,
        context,
        build_args: args.with_build_args.into_iter().collect(),
        extract_dir: std::env::current_dir()?,
    };
    layerscope_cli::explore::run(inputs)?;
    Ok(ExitCode::SUCCESS)
}
