//! `layerscope diff A B`: two images' shared layers, deltas, push cost and file changes.

use crate::options::{
    ReportFormat, check_html_destination, image_options, run_pipeline, write_output,
};
use crate::render;
use anyhow::{Context, Result};
use layerscope_core::{AnalysisOptions, ContentSha256, ImageDiff, Pipeline};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct DiffArgs {
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

pub(crate) fn run(args: DiffArgs) -> Result<ExitCode> {
    check_html_destination(args.format == ReportFormat::Html, args.output.as_deref())?;
    let run = |image: &Path| -> Result<Pipeline> {
        // Contents are compared by identity and no output shows a content digest: none is
        // computed, unless layers may be known from tables of contents (`--toc`), whose
        // contents compare with the others' by sha256 only.
        let digests = if crate::TOC.get().copied().unwrap_or(false) {
            ContentSha256::Streamed
        } else {
            ContentSha256::Omitted
        };
        let options = image_options(image, args.platform.as_deref()).analysis_options(
            AnalysisOptions::default()
                .allow_digest_mismatch(args.allow_digest_mismatch)
                .content_sha256(digests),
        );
        run_pipeline(options, false)
    };
    let a = run(&args.a).with_context(|| format!("image A {}", args.a.display()))?;
    let b = run(&args.b).with_context(|| format!("image B {}", args.b.display()))?;
    let (Some(a), Some(b)) = (a.analysis(), b.analysis()) else {
        anyhow::bail!("internal error: the images were not analysed");
    };
    let d = ImageDiff::compute(a, b);
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
