//! Terminal tables (comfy-table): fit the terminal width, colour only on a terminal.

use super::{
    Term, grouped, human, instruction, overlap_notes, percent, savings_total, short_digest,
};
use comfy_table::{
    Cell, CellAlignment, Color, ColumnConstraint, ContentArrangement, Table, presets,
};
use layerscope_core::{
    ChurnReport, ImageDiff, Recommendations, Report, SimulationReport, format_signed_size,
};
use std::fmt::Write as _;

pub(super) fn table(term: Term) -> Table {
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
pub(super) fn keep_whole(t: &mut Table, term: Term, columns: &[usize]) {
    if term.width < 80 {
        return;
    }
    for &i in columns {
        if let Some(c) = t.column_mut(i) {
            c.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
}

pub(super) fn right(s: impl ToString) -> Cell {
    Cell::new(s).set_alignment(CellAlignment::Right)
}

pub(super) fn bold(s: impl ToString, color: bool) -> Cell {
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
    // A docker-archive stores its layers as plain tars: the stored size is then no
    // compressed size, and not what a push sends (`--push-size` measures that).
    let stored_plain = !r.layers.is_empty()
        && r.layers
            .iter()
            .all(|l| l.compression == Some(layerscope_core::Compression::None));
    let _ = writeln!(
        out,
        "Size        {} uncompressed ({} bytes), {} {}",
        human(t.size_bytes),
        grouped(t.size_bytes),
        human(t.compressed_size_bytes),
        if stored_plain {
            "stored as plain tars"
        } else {
            "compressed"
        }
    );
    match t.push_size_bytes {
        Some(p) => {
            let _ = writeln!(
                out,
                "Push        {} ({} bytes; plain layers gzipped at docker push's level 6)",
                human(p),
                grouped(p)
            );
        }
        None if stored_plain => {
            let _ = writeln!(
                out,
                "Push        not measured: a push gzips these plain tars (--push-size)"
            );
        }
        None => {}
    }
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

    // On a narrow terminal the digest column gives way to the instruction.
    let with_digest = term.width >= 110;
    let mut lt = table(term);
    let mut header = vec![
        bold("#", color),
        bold("Digest", color),
        bold(if stored_plain { "Stored" } else { "Compressed" }, color),
        bold("Size", color),
        bold("Added", color),
        bold("Modified", color),
        bold("Deleted", color),
        bold("Wasted", color),
        bold("Instruction", color),
    ];
    let with_push = t.push_size_bytes.is_some();
    if with_push {
        header.insert(3, bold("Push", color));
    }
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
        if with_push {
            row.insert(3, right(l.push_size_bytes.map_or("-".into(), human)));
        }
        if !with_digest {
            row.remove(1);
        }
        lt.add_row(row);
    }
    let last = usize::from(with_digest) + usize::from(with_push) + 7;
    keep_whole(&mut lt, term, &(0..last).collect::<Vec<_>>());
    let _ = writeln!(out, "{lt}");
    if r.base.base_layers > 0 {
        let _ = writeln!(
            out,
            "  (\"b\" marks base-image layers, from {})",
            r.base.source
        );
    }

    if let Some(a) = &r.attribution {
        let _ = writeln!(out, "\nBy Dockerfile instruction ({}):", a.dockerfile);
        let mut it = table(term);
        it.set_header(vec![
            bold("Line", color),
            bold("Layers", color),
            bold("Size", color),
            bold("Compressed", color),
            bold("Wasted", color),
            bold("Instruction", color),
        ]);
        for c in a.instructions.iter().filter(|c| !c.layers.is_empty()) {
            let layers = c
                .layers
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join(",");
            let line = if c.last_line > c.line {
                format!("{}-{}", c.line, c.last_line)
            } else {
                c.line.to_string()
            };
            let ins = if c.squashed {
                format!(
                    "{} (squashed: lines {:?})",
                    ellipsize(&c.instruction, 50),
                    c.squashed_lines
                )
            } else {
                ellipsize(&c.instruction, 60)
            };
            it.add_row(vec![
                right(line),
                right(layers),
                right(human(c.size_bytes)),
                right(human(c.compressed_size_bytes)),
                right(if c.wasted_bytes_introduced > 0 {
                    human(c.wasted_bytes_introduced)
                } else {
                    "-".into()
                }),
                Cell::new(ins),
            ]);
        }
        let _ = writeln!(out, "{it}");
        for n in &a.notes {
            let _ = writeln!(out, "note: {n}");
        }
    }
    if !r.waste.is_empty() && top > 0 {
        // `r.waste` is already filtered and cut to `--top`; the total is the image's, as the
        // README's rule says: filters apply to the lists, never to the totals.
        let _ = writeln!(
            out,
            "\nLargest waste ({} of {} items):",
            top.min(r.waste.len()),
            r.totals.waste_items
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
            "\nLargest duplicate groups (identical visible content; {} of {} groups):",
            top.min(r.duplicates.len()),
            r.totals.duplicate_groups
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
    if !r.recommendations.is_empty() {
        let _ = writeln!(
            out,
            "\nRecommendations (layerscope recommend for details and the proposed Dockerfile):"
        );
        let mut rt = table(term);
        rt.set_header(vec![
            bold("Saves", color),
            bold("Code", color),
            bold("Where", color),
            bold("Finding", color),
        ]);
        for f in &r.recommendations {
            let place = match (f.line, f.layer) {
                (Some(l), _) => format!("line {l}"),
                (None, Some(l)) => format!("layer {l}"),
                _ => "image".into(),
            };
            let mut text = ellipsize(&f.message, 90);
            for note in overlap_notes(f.bytes_saved, &f.overlaps) {
                let _ = write!(text, "\n{note}");
            }
            rt.add_row(vec![
                right(if f.bytes_saved > 0 {
                    human(f.bytes_saved)
                } else {
                    "-".into()
                }),
                Cell::new(f.code),
                Cell::new(place),
                Cell::new(text),
            ]);
        }
        let _ = writeln!(out, "{rt}");
        if let Some(total) = savings_total(r.total_bytes_saved, &r.recommendations) {
            let _ = writeln!(out, "{total}");
        }
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
pub(super) fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
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
        format_signed_size(d.size_delta_bytes),
        d.size_delta_bytes
    );
    let _ = writeln!(
        out,
        "Compressed        {}",
        format_signed_size(d.compressed_size_delta_bytes)
    );
    let _ = writeln!(
        out,
        "Final filesystem  {}",
        format_signed_size(d.final_size_delta_bytes)
    );
    let _ = writeln!(
        out,
        "Waste             {}",
        format_signed_size(d.wasted_delta_bytes)
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
                right(format_signed_size(f.delta_bytes)),
                Cell::new(detail),
                Cell::new(&f.path),
            ]);
        }
        let _ = writeln!(out, "{ft}");
    }
    out
}

/// The `simulate` table output: one block per change.
pub fn simulate(r: &SimulationReport, with_image: bool, term: Term) -> String {
    let color = term.color;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dockerfile {} (target stage {}; stages built: {:?})",
        r.dockerfile, r.target_stage, r.needed_stages
    );
    if let Some(a) = &r.attribution {
        for n in &a.notes {
            let _ = writeln!(out, "note: {n}");
        }
    }
    for c in &r.changes {
        let what = match (&c.build_arg, &c.path) {
            (Some(a), _) => format!("build arg {a}"),
            (None, Some(p)) if c.paths.len() > 1 => format!("{p} ({} paths)", c.paths.len()),
            (None, Some(p)) => p.clone(),
            _ => "change".into(),
        };
        out.push('\n');
        if c.rebuilt_steps.is_empty() {
            let _ = writeln!(out, "{what}: every step stays cached");
            continue;
        }
        // What rebuilds for sure, and what only if a re-run step's output differs (a
        // builder that gets identical bytes keeps its cache for what reads them).
        let conditional_steps = c.rebuilt_steps.iter().filter(|s| s.conditional).count();
        let certain_steps = c.rebuilt_steps.len() - conditional_steps;
        if with_image && conditional_steps == 0 {
            let _ = writeln!(
                out,
                "{what}: {certain_steps} steps rebuild for sure, {} layers: {} rebuilt ({} bytes), {} pushed again",
                c.layers_rebuilt.len(),
                human(c.rebuilt_bytes),
                grouped(c.rebuilt_bytes),
                human(c.repushed_bytes)
            );
        } else if with_image {
            let certain_bytes = c.rebuilt_bytes - c.conditional_rebuilt_bytes;
            let certain_pushed = c.repushed_bytes - c.conditional_repushed_bytes;
            let _ = writeln!(
                out,
                "{what}: {certain_steps} steps rebuild for sure: {} rebuilt ({} bytes), {} pushed again",
                human(certain_bytes),
                grouped(certain_bytes),
                human(certain_pushed)
            );
            let _ = writeln!(
                out,
                "  and {conditional_steps} more if a re-run step's output differs: {} more rebuilt ({} bytes), {} more pushed again (at most {} layers, {} rebuilt, {} pushed again)",
                human(c.conditional_rebuilt_bytes),
                grouped(c.conditional_rebuilt_bytes),
                human(c.conditional_repushed_bytes),
                c.layers_rebuilt.len(),
                human(c.rebuilt_bytes),
                human(c.repushed_bytes)
            );
        } else {
            let _ = writeln!(
                out,
                "{what}: {certain_steps} steps rebuild for sure, {conditional_steps} more if a re-run step's output differs (give the image for bytes)"
            );
        }
        let mut t = table(term);
        t.set_header(vec![
            bold("Line", color),
            bold("Stage", color),
            bold("Why", color),
            bold("Layers", color),
            bold("Instruction", color),
        ]);
        for s in &c.rebuilt_steps {
            let why = serde_json::to_value(s.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let why = if s.conditional {
                format!("{why} (if output differs)")
            } else {
                why
            };
            let stage = s.stage_name.clone().unwrap_or_else(|| s.stage.to_string());
            let layers = if s.layers.is_empty() {
                "-".to_string()
            } else {
                s.layers
                    .iter()
                    .map(|l| l.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            t.add_row(vec![
                right(s.line),
                Cell::new(stage),
                Cell::new(why),
                right(layers),
                Cell::new(ellipsize(&s.instruction, 70)),
            ]);
        }
        let _ = writeln!(out, "{t}");
    }
    out
}

/// The `churn` table output.
pub fn churn(r: &ChurnReport, with_image: bool, term: Term) -> String {
    let color = term.color;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} commits replayed, {} touched the build context",
        r.commits, r.commits_touching_context
    );
    if with_image {
        let _ = writeln!(
            out,
            "Expected per commit: {} rebuilt, {} pushed again",
            human(r.expected_rebuilt_bytes_per_commit),
            human(r.expected_repushed_bytes_per_commit)
        );
    }
    out.push('\n');
    let mut t = table(term);
    t.set_header(vec![
        bold("Line", color),
        bold("Rebuilds", color),
        bold("Layer bytes", color),
        bold("Per commit", color),
        bold("Instruction", color),
    ]);
    for i in &r.instructions {
        t.add_row(vec![
            right(i.line),
            right(format!(
                "{} ({:.0}%)",
                i.rebuild_commits,
                i.rebuild_ratio * 100.0
            )),
            right(human(i.layer_bytes)),
            right(human(i.expected_rebuilt_bytes_per_commit)),
            Cell::new(ellipsize(&i.instruction, 60)),
        ]);
    }
    let _ = writeln!(out, "{t}");
    if let Some(top) = r.instructions.iter().find(|i| i.layer_bytes > 0) {
        let _ = writeln!(
            out,
            "line {} costs {} on {:.0}% of commits",
            top.line,
            human(top.layer_bytes),
            top.rebuild_ratio * 100.0
        );
    }
    out
}

/// `recommend --list-codes`.
pub fn codes(term: Term) -> String {
    let color = term.color;
    let mut t = table(term);
    t.set_header(vec![
        bold("Code", color),
        bold("Severity", color),
        bold("Meaning", color),
    ]);
    for c in layerscope_core::CODES {
        let sev = serde_json::to_value(c.severity)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        t.add_row(vec![
            Cell::new(c.code),
            Cell::new(sev),
            Cell::new(c.summary),
        ]);
    }
    format!("{t}\n")
}

/// The findings, then the proposed Dockerfile as a unified diff.
pub fn recommendations(
    r: &Recommendations,
    dockerfile: Option<&std::path::Path>,
    term: Term,
) -> String {
    let color = term.color;
    let mut out = String::new();
    if r.recommendations.is_empty() {
        let _ = writeln!(out, "No recommendations: nothing with evidence to improve.");
    } else {
        let mut t = table(term);
        t.set_header(vec![
            bold("Saves", color),
            bold("Code", color),
            bold("Where", color),
            bold("Finding", color),
        ]);
        for f in &r.recommendations {
            let sev = serde_json::to_value(f.severity)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let place = match (f.line, f.layer) {
                (Some(l), _) => format!("line {l}"),
                (None, Some(l)) => format!("layer {l}"),
                _ => "image".into(),
            };
            let saves = if f.bytes_saved > 0 {
                human(f.bytes_saved)
            } else {
                "-".into()
            };
            let review = if f.needs_review {
                " (needs review)"
            } else {
                ""
            };
            let mut text = format!("{}{review}\nfix: {}", f.message, f.fix);
            for note in overlap_notes(f.bytes_saved, &f.overlaps) {
                let _ = write!(text, "\n{note}");
            }
            t.add_row(vec![
                right(saves),
                Cell::new(format!("{}\n{sev}", f.code)),
                Cell::new(place),
                Cell::new(text),
            ]);
        }
        let _ = writeln!(out, "{t}");
        if let Some(total) = savings_total(r.total_bytes_saved, &r.recommendations) {
            let _ = writeln!(out, "{total}");
        }
    }
    if let (Some(old), Some(new)) = (&r.original_dockerfile, &r.proposed_dockerfile) {
        let name = dockerfile.map_or("Dockerfile".to_string(), |p| p.display().to_string());
        let diff = similar::TextDiff::from_lines(old.as_str(), new.as_str());
        let _ = writeln!(out, "\nProposed Dockerfile:");
        let _ = write!(
            out,
            "{}",
            diff.unified_diff()
                .context_radius(3)
                .header(&name, &format!("{name} (proposed)"))
        );
    }
    out
}
