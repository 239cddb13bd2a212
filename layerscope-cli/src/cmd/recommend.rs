//! `layerscope recommend IMAGE [-f Dockerfile]`: findings with stable codes, their evidence
//! and the bytes each fix saves; the proposed Dockerfile.

use crate::options::{Format, image_options, parse_kv, run_pipeline, write_output};
use crate::render;
use anyhow::{Context, Result};
use layerscope_core::{ContentSha256, PipelineOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct RecommendArgs {
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

pub(crate) fn run(args: RecommendArgs) -> Result<ExitCode> {
    if args.list_codes {
        let text = match args.format {
            Format::Json => render::json::to_string(&layerscope_core::CODES)?,
            Format::Table => render::table::codes(render::term_for(args.output.is_some())),
        };
        write_output(args.output.as_deref(), &text)?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.git_history.is_some() && args.dockerfile.is_none() {
        anyhow::bail!("--git-history needs --dockerfile (and its context)");
    }
    let mut options = crate::options::with_build_inputs(
        match &args.image {
            Some(image) => image_options(image, args.platform.as_deref()),
            None => PipelineOptions::default(),
        },
        &args.with_build_args,
        args.dockerfile.as_deref(),
        args.context.as_deref(),
    );
    // Findings show sizes and paths, never a content digest.
    options.analysis = options.analysis.content_sha256(ContentSha256::Omitted);
    let pipeline = run_pipeline(options, false)?;
    let churn = match (args.git_history, pipeline.context()) {
        (Some(n), Some(ctx)) => Some(layerscope_core::git_churn(ctx.dir(), n)?),
        _ => None,
    };
    let recs = pipeline.recommendations(churn.as_ref())?;
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
