//! Embed layerscope: open an image, analyze it, print a short summary.
//!
//! `cargo run --example summary -- examples/demo/image.tar`

use layerscope::{Analysis, AnalysisOptions, Image};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/demo/image.tar".into());
    let image = Image::open(&path)?;
    let analysis = Analysis::run(&image, &AnalysisOptions::default())?;
    let report = analysis.report();
    let t = &report.totals;
    println!(
        "{} ({}), {} layers",
        report.image.reference.as_deref().unwrap_or("untagged"),
        report.image.platform,
        t.layers
    );
    println!(
        "shipped {} bytes, visible {} bytes, wasted {} bytes (efficiency {:.1}%)",
        t.size_bytes,
        t.final_size_bytes,
        t.wasted_bytes,
        t.efficiency * 100.0
    );
    for w in report.waste.iter().take(5) {
        println!(
            "  {:>10} bytes  {:<17} {} (layer {} -> layer {})",
            w.bytes,
            format!("{:?}", w.kind),
            w.path,
            w.added_by_layer,
            w.hidden_by_layer
        );
    }
    Ok(())
}
