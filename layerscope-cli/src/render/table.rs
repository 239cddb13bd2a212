//! Terminal tables (comfy-table): fit the terminal width, colour only on a terminal.

use super::{Term, grouped, human, instruction, percent, short_digest};
use comfy_table::{
    Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, presets,
};
use layerscope_core::{ImageDiff, Report};
use std::fmt::Write as _;

fn table(term: Term) -> Table {
    let mut t = Table::new();
    t.load_preset(presets::UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if term.color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    // The terminal's width, or a fixed one off a terminal (deterministic output).
    t.set_width(term.width);
    t
}

/// Keep the given columns on one line (sizes, counts, kinds): on a narrow terminal the free
/// text columns wrap instead. Below 80 columns everything may wrap, so the table still fits.
fn keep_whole(t: &mut Table, term: Term, columns: &[usize]) {
    if term.width < 80 {
        return;
    }
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
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
pub fn analyze(r: &Report, top: usize, term: Term) -> String {
    let color = term.color;
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

    // On a narrow terminal the digest column gives way to the instruction.
    let with_digest = term.width >= 110;
    let mut lt = table(term);
    let mut header = vec![
        bold("#", color),
        bold("Digest", color),
        bold("Compressed", color),
        bold("Size", color),
        bold("Added", color),
        bold("Modified", color),
        bold("Deleted", color),
        bold("Wasted", color),
        bold("Instruction", color),
    ];
    if !with_digest {
        header.remove(1);
    }
    lt.set_header(header);
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
        let mut row = vec![
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
        ];
        if !with_digest {
            row.remove(1);
        }
        lt.add_row(row);
    }
    let last = if with_digest { 8 } else { 7 };
    keep_whole(&mut lt, term, &(0..last).collect::<Vec<_>>());
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
        let mut wt = table(term);
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
        keep_whole(&mut wt, term, &[0, 1, 3, 4]);
        let _ = writeln!(out, "{wt}");
    }
    if !r.largest_files.is_empty() && top > 0 {
        let _ = writeln!(out, "\nLargest files:");
        let mut ft = table(term);
        ft.set_header(vec![
            bold("Bytes", color),
            bold("Layer", color),
            bold("Path", color),
        ]);
        for f in r.largest_files.iter().take(top) {
            ft.add_row(vec![
                right(human(f.size_bytes)),
                right(f.layer.map_or("-".into(), |l| l.to_string())),
                Cell::new(&f.path),
            ]);
        }
        keep_whole(&mut ft, term, &[0, 1]);
        let _ = writeln!(out, "{ft}");
    }
    if !r.duplicates.is_empty() && top > 0 {
        let _ = writeln!(
            out,
            "\nLargest duplicate groups (identical visible content):"
        );
        let mut dt = table(term);
        dt.set_header(vec![
            bold("Wasted", color),
            bold("Copies", color),
            bold("Each", color),
            bold("Paths", color),
        ]);
        for g in r.duplicates.iter().take(top) {
            dt.add_row(vec![
                right(human(g.wasted_bytes)),
                right(g.paths.len()),
                right(human(g.size_bytes)),
                Cell::new(g.paths.join("\n")),
            ]);
        }
        keep_whole(&mut dt, term, &[0, 1, 2]);
        let _ = writeln!(out, "{dt}");
    }
    if let Some(f) = &r.filter {
        let _ = writeln!(out, "\n(lists filtered: {f}; totals are not)");
    }
    if !r.warnings.is_empty() {
        out.push('\n');
        for w in &r.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
    }
    out
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

fn signed_human(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "+" };
    format!("{sign}{}", human(v.unsigned_abs()))
}

/// The `diff` table output.
pub fn diff(d: &ImageDiff, top: usize, term: Term) -> String {
    let color = term.color;
    let mut out = String::new();
    let name =
        |i: &layerscope_core::ImageInfo| i.reference.clone().unwrap_or_else(|| i.source.clone());
    let _ = writeln!(out, "A  {}  {}", name(&d.a), d.a.config_digest);
    let _ = writeln!(out, "B  {}  {}", name(&d.b), d.b.config_digest);
    let _ = writeln!(
        out,
        "Shared layers     {} of B's {} ({} at the bottom in the same order)",
        d.shared_layers,
        d.layers.iter().filter(|l| l.b_diff_id.is_some()).count(),
        d.common_prefix_layers
    );
    let _ = writeln!(
        out,
        "Size              {} ({} bytes)",
        signed_human(d.size_delta_bytes),
        d.size_delta_bytes
    );
    let _ = writeln!(
        out,
        "Compressed        {}",
        signed_human(d.compressed_size_delta_bytes)
    );
    let _ = writeln!(
        out,
        "Final filesystem  {}",
        signed_human(d.final_size_delta_bytes)
    );
    let _ = writeln!(
        out,
        "Waste             {}",
        signed_human(d.wasted_delta_bytes)
    );
    let _ = writeln!(
        out,
        "Push cost of B    {} ({} bytes of layers A does not have)",
        human(d.push_bytes),
        grouped(d.push_bytes)
    );
    let _ = writeln!(
        out,
        "Files             {} added, {} removed, {} changed",
        d.files.added.len(),
        d.files.removed.len(),
        d.files.changed.len()
    );
    out.push('\n');
    let mut lt = table(term);
    lt.set_header(vec![
        bold("#", color),
        bold("Status", color),
        bold("A size", color),
        bold("B size", color),
        bold("A instruction", color),
        bold("B instruction", color),
    ]);
    for l in &d.layers {
        lt.add_row(vec![
            right(l.index),
            Cell::new(&l.status),
            right(l.a_size_bytes.map_or("-".into(), human)),
            right(l.b_size_bytes.map_or("-".into(), human)),
            Cell::new(ellipsize(&instruction(l.a_created_by.as_deref()), 40)),
            Cell::new(ellipsize(&instruction(l.b_created_by.as_deref()), 40)),
        ]);
    }
    let _ = writeln!(out, "{lt}");
    let mut all: Vec<(&str, &layerscope_core::FileDelta)> = d
        .files
        .added
        .iter()
        .map(|f| ("added", f))
        .chain(d.files.removed.iter().map(|f| ("removed", f)))
        .chain(d.files.changed.iter().map(|f| ("changed", f)))
        .collect();
    all.sort_by(|a, b| {
        b.1.delta_bytes
            .unsigned_abs()
            .cmp(&a.1.delta_bytes.unsigned_abs())
            .then_with(|| a.1.path.cmp(&b.1.path))
    });
    if !all.is_empty() && top > 0 {
        let _ = writeln!(
            out,
            "\nLargest file changes ({} of {}):",
            top.min(all.len()),
            all.len()
        );
        let mut ft = table(term);
        ft.set_header(vec![
            bold("Delta", color),
            bold("Change", color),
            bold("Path", color),
        ]);
        for (what, f) in all.into_iter().take(top) {
            let detail = if f.what.is_empty() {
                what.to_string()
            } else {
                format!("{what} ({})", f.what.join(", "))
            };
            ft.add_row(vec![
                right(signed_human(f.delta_bytes)),
                Cell::new(detail),
                Cell::new(&f.path),
            ]);
        }
        let _ = writeln!(out, "{ft}");
    }
    out
}
