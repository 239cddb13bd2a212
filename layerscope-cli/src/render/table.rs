//! Terminal tables (comfy-table): fit the terminal width, colour only on a terminal.

use super::{grouped, human, instruction, percent, short_digest};
use comfy_table::{Cell, CellAlignment, Color, ContentArrangement, Table, presets};
use layerscope_core::Report;
use std::fmt::Write as _;

fn table(color: bool) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !color {
        t.force_no_tty();
    } else {
        t.enforce_styling();
    }
    // Fit the terminal; when output is not a terminal, a fixed width keeps it deterministic.
    let width = t.width().unwrap_or(120).max(60);
    t.set_width(width);
    t
}

fn right(s: impl ToString) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

fn bold(s: impl ToString, color: bool) -> Cell {
    let c = Cell::new(s);
    if color {
        c.add_attribute(comfy_table::Attribute::Bold)
    } else {
        c
    }
}

/// The `analyze` table output.
pub fn analyze(r: &Report, top: usize, color: bool) -> String {
    let mut out = String::new();
    let t = &r.totals;
    let _ = writeln!(
        out,
        "Image       {}",
        r.image.reference.as_deref().unwrap_or("(untagged)")
    );
    let _ = writeln!(
        out,
        "Source      {} ({})",
        r.image.source,
        serde_json::to_value(r.image.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    let _ = writeln!(out, "Platform    {}", r.image.platform);
    let _ = writeln!(out, "Config      {}", r.image.config_digest);
    let _ = writeln!(out, "Layers      {}", t.layers);
    let _ = writeln!(
        out,
        "Size        {} uncompressed ({} bytes), {} compressed",
        human(t.size_bytes),
        grouped(t.size_bytes),
        human(t.compressed_size_bytes)
    );
    let _ = writeln!(
        out,
        "Final       {} in {} files ({} bytes)",
        human(t.final_size_bytes),
        grouped(t.final_files),
        grouped(t.final_size_bytes)
    );
    let _ = writeln!(
        out,
        "Waste       {} ({} bytes), efficiency {}",
        human(t.wasted_bytes),
        grouped(t.wasted_bytes),
        percent(t.efficiency)
    );
    if let Some(d) = &r.compat_dive {
        dive_line(&mut out, d);
    }
    if t.duplicate_bytes > 0 {
        let _ = writeln!(
            out,
            "Duplicates  {} in identical visible files",
            human(t.duplicate_bytes)
        );
    }
    if r.base.base_layers > 0 {
        let ratio = r.base.user_wasted_ratio.map_or("n/a".to_string(), percent);
        let _ = writeln!(
            out,
            "User layers {} of {} ({}), user waste {} ({})",
            t.layers - r.base.base_layers,
            t.layers,
            human(r.base.user_size_bytes),
            human(r.base.user_wasted_bytes),
            ratio
        );
    }
    out.push('\n');

    let mut lt = table(color);
    lt.set_header(vec![
        bold("#", color),
        bold("Digest", color),
        bold("Compressed", color),
        bold("Size", color),
        bold("Added", color),
        bold("Modified", color),
        bold("Deleted", color),
        bold("Wasted", color),
        bold("Instruction", color),
    ]);
    for l in &r.layers {
        let wasted = if l.wasted_bytes_introduced > 0 {
            human(l.wasted_bytes_introduced)
        } else {
            "-".into()
        };
        let mut wasted_cell = right(wasted);
        if color && l.wasted_bytes_introduced > 0 {
            wasted_cell = wasted_cell.fg(Color::Yellow);
        }
        let idx = if l.base {
            format!("{}b", l.index)
        } else {
            l.index.to_string()
        };
        let digest = if l.available {
            short_digest(&l.digest)
        } else {
            "(absent)".into()
        };
        lt.add_row(vec![
            right(idx),
            Cell::new(digest),
            right(human(l.compressed_size_bytes)),
            right(human(l.size_bytes)),
            right(l.files_added),
            right(if l.files_metadata_only > 0 {
                format!("{} ({}m)", l.files_modified, l.files_metadata_only)
            } else {
                l.files_modified.to_string()
            }),
            right(l.files_deleted),
            wasted_cell,
            Cell::new(ellipsize(&instruction(l.created_by.as_deref()), 72)),
        ]);
    }
    let _ = writeln!(out, "{lt}");
    if r.base.base_layers > 0 {
        let _ = writeln!(
            out,
            "  (\"b\" marks base-image layers, from {})",
            r.base.source
        );
    }

    if !r.waste.is_empty() && top > 0 {
        let _ = writeln!(
            out,
            "\nLargest waste ({} of {} items):",
            top.min(r.waste.len()),
            r.waste.len()
        );
        let mut wt = table(color);
        wt.set_header(vec![
            bold("Bytes", color),
            bold("Kind", color),
            bold("Path", color),
            bold("Added by", color),
            bold("Hidden by", color),
        ]);
        for w in r.waste.iter().take(top) {
            wt.add_row(vec![
                right(human(w.bytes)),
                Cell::new(
                    serde_json::to_value(w.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
                Cell::new(&w.path),
                Cell::new(format!("layer {}", w.added_by_layer)),
                Cell::new(format!("layer {}", w.hidden_by_layer)),
            ]);
        }
        let _ = writeln!(out, "{wt}");
    }
    if !r.warnings.is_empty() {
        out.push('\n');
        for w in &r.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    out
}

/// dive's three figures, printed as dive prints them (`%2.4f %%`, Go's NaN and +Inf
/// included), next to layerscope's own.
fn dive_line(out: &mut String, d: &layerscope_core::DiveFigures) {
    let user = match d.user_wasted_percent {
        Some(p) => format!("{:.4} %", p * 100.0),
        None if d.wasted_bytes == 0 => "NaN %".to_string(),
        None => "+Inf %".to_string(),
    };
    let _ = writeln!(
        out,
        "dive 0.13.1 efficiency {:.4} %, wastedBytes {} ({} bytes), userWastedPercent {} (--compat dive: dive's rules, not layerscope's)",
        d.efficiency * 100.0,
        human(d.wasted_bytes),
        grouped(d.wasted_bytes),
        user
    );
}

/// Cut a long text to `max` characters with an ellipsis (full text stays in JSON).
fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}
