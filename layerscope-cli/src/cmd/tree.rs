//! `layerscope tree IMAGE [--layer N]`: the final filesystem, or the one after layer N with
//! that layer's changes marked.

use crate::options::{Format, ImageArgs, filter, open_pipeline, parse_size, write_output};
use crate::render;
use anyhow::Result;
use layerscope_core::ContentSha256;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub(crate) struct TreeArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Show the filesystem as it stands after this layer (0 = base), with its changes marked.
    #[arg(long, value_name = "N")]
    layer: Option<usize>,
    /// Only entries the layer changed (needs --layer).
    #[arg(long, requires = "layer")]
    changes_only: bool,
    /// Only paths matching this glob.
    #[arg(long, value_name = "GLOB")]
    path: Option<String>,
    /// Only files of at least this size.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    min_size: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Write the output to FILE.
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

pub(crate) fn run(args: TreeArgs) -> Result<ExitCode> {
    let filter = filter(args.path.as_deref(), args.min_size)?;
    let mut options = args.image.options();
    // The text tree shows no content digest; the JSON lists every file with its sha256.
    if args.format == Format::Table {
        options.analysis = options.analysis.content_sha256(ContentSha256::Omitted);
    }
    let opened = open_pipeline(options)?;
    // The layer count is in the metadata: a bad --layer is refused before reading layers.
    let layers = opened.pipeline.image().map_or(0, |i| i.layers().len());
    if let Some(n) = args.layer
        && n >= layers
    {
        anyhow::bail!(
            "--layer {n}: the image has {layers} layers (0 to {})",
            layers.saturating_sub(1)
        );
    }
    let pipeline = opened.analyze(args.image.no_progress)?;
    let Some(analysis) = pipeline.analysis() else {
        anyhow::bail!("internal error: the image was not analysed");
    };
    let entries = filter.prune_tree(analysis.tree_view(args.layer, args.changes_only));
    let text = match args.format {
        Format::Json => render::json::to_string(&render::tree::TreeJson::new(
            analysis.figures(),
            args.layer,
            &entries,
        ))?,
        Format::Table => render::tree::text(
            &entries,
            args.layer,
            render::term_for(args.output.is_some()),
        ),
    };
    write_output(args.output.as_deref(), &text)?;
    Ok(ExitCode::SUCCESS)
}
