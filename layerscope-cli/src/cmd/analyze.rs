//! `layerscope analyze IMAGE [-f Dockerfile]`: the image's figures, bytes by Dockerfile line,
//! the lists, the recommendations; as tables, JSON or one HTML page.

use crate::options::{
    ImageArgs, ListArgs, ReportFormat, check_html_destination, parse_kv, run_pipeline,
    with_build_inputs, write_output,
};
use crate::render;
use anyhow::Result;
use clap::ValueEnum;
use layerscope_core::{ContentSha256, ReportOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct AnalyzeArgs {
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
    /// Also measure what a registry push sends per layer: layers stored uncompressed are
    /// gzip-compressed at `docker push`'s level (6), in parallel; compressed blobs count as
    /// stored. Reads every layer once more.
    #[arg(long)]
    push_size: bool,
}

/// Tools whose figures `--compat` reproduces.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
enum Compat {
    /// dive 0.13.1.
    Dive,
}

pub(crate) fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    // Options first: nothing is read before every argument is known to be usable.
    let filter = args.lists.filter()?;
    check_html_destination(args.format == ReportFormat::Html, args.output.as_deref())?;
    if args.image.platform.as_deref() == Some("all") {
        // Every platform of the index, compared as a fleet.
        let format = match args.format {
            ReportFormat::Table => super::fleet::FleetFormat::Table,
            ReportFormat::Json => super::fleet::FleetFormat::Json,
            ReportFormat::Html => super::fleet::FleetFormat::Html,
        };
        return super::fleet::analyze_all_platforms(
            &args.image.image,
            args.image.allow_digest_mismatch,
            format,
            args.output.as_deref(),
            args.lists.top,
            args.image.no_progress,
        );
    }
    let top = match args.format {
        ReportFormat::Json | ReportFormat::Html => args.lists.top,
        ReportFormat::Table => Some(args.lists.top.unwrap_or(10)),
    };
    let mut report_options = ReportOptions::default().filter(filter);
    if let Some(n) = top {
        report_options = report_options.top(n);
    }
    let mut options = with_build_inputs(
        args.image.options(),
        &args.with_build_args,
        args.dockerfile.as_deref(),
        args.context.as_deref(),
    );
    // The table shows no content digest: none is computed. The JSON shows the sha256 of a
    // few files (waste, duplicates, largest): they are read again for it rather than hashing
    // every file twice. The HTML page lists every file of every layer, which the stream
    // hashes best.
    options.analysis = options.analysis.content_sha256(match args.format {
        ReportFormat::Table => ContentSha256::Omitted,
        ReportFormat::Json => ContentSha256::OnDemand,
        ReportFormat::Html => ContentSha256::Streamed,
    });

    let pipeline = run_pipeline(options, args.image.no_progress)?;
    let findings = pipeline.recommendations(None)?.recommendations;
    let Some(analysis) = pipeline.analysis() else {
        anyhow::bail!("internal error: the image was not analysed");
    };
    let compat_dive = (args.compat == Some(Compat::Dive)).then(|| analysis.dive_compat());
    let push_sizes = match pipeline.image() {
        Some(image) if args.push_size => Some(layerscope_core::push_sizes(image)?),
        _ => None,
    };
    let complete = |report: &mut layerscope_core::Report| {
        report.compat_dive = compat_dive;
        if let Some(sizes) = &push_sizes {
            report.set_push_sizes(sizes);
        }
    };

    let text = match args.format {
        ReportFormat::Json | ReportFormat::Table => {
            // The report takes the analysis's lists over rather than copying them: a report
            // of a 200k-file image need not exist twice in memory. A file read again for its
            // sha256 that failed (the image changed meanwhile) fails here, before anything is
            // written.
            let Some(mut report) = pipeline.into_report(&report_options, findings)? else {
                anyhow::bail!("internal error: the image was not analysed");
            };
            complete(&mut report);
            if args.format == ReportFormat::Json {
                // Streamed, without building the text first.
                render::json::write(args.output.as_deref(), &report)?;
                return Ok(ExitCode::SUCCESS);
            }
            render::table::analyze(
                &report,
                top.unwrap_or(10),
                render::term_for(args.output.is_some()),
            )
        }
        ReportFormat::Html => {
            let Some(mut report) = pipeline.report(&report_options, &findings) else {
                anyhow::bail!("internal error: the image was not analysed");
            };
            complete(&mut report);
            analysis.content_digest_error()?;
            let mut page = render::html::Page::analysis(&report, analysis)?.recommendations(
                render::html_views::recommendations(&report.recommendations),
                report.total_bytes_saved,
            );
            if let Some(df) = pipeline.dockerfile() {
                page = page.dockerfile(render::html_views::dockerfile(
                    df,
                    report.attribution.as_ref(),
                    None,
                ));
            }
            page.render()?
        }
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
