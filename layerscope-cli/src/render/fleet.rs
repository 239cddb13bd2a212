//! `fleet` output: terminal tables, a Markdown comment, and the HTML page (the same cards
//! and sortable tables as `diff`'s page). Each table is declared once as a [`Grid`] and
//! written in every format.

use super::grid::{Grid, Val};
use super::html::{Card, ColumnKind, Page, Tone};
use super::markdown::text;
use super::{Term, grouped, human, percent, short_digest};
use layerscope_core::{EntryKind, FleetReport, PathState, PlatformDifference};
use std::fmt::Write as _;

/// `saved / total` as a ratio, 0 when there is nothing.
fn ratio(part: u64, whole: u64) -> f64 {
    layerscope_core::ratio(part, whole).unwrap_or(0.0)
}

fn image_name(r: &FleetReport, i: usize) -> String {
    r.images
        .get(i)
        .map(|img| img.reference.clone())
        .unwrap_or_default()
}

/// One platform's side of a differing path: its size, its link target, or absent.
fn path_cell(e: Option<&PathState>) -> String {
    match e {
        None => "-".into(),
        Some(e) => match &e.link_target {
            Some(t) => format!("-> {t}"),
            None if e.kind == EntryKind::File => human(e.size_bytes),
            None => format!("{:?}", e.kind).to_lowercase(),
        },
    }
}

/// The sentence heading one multi-platform image's comparison.
fn difference_line(d: &PlatformDifference) -> String {
    format!(
        "{} paths: {} identical, {} missing from a platform, {} differ",
        grouped(d.paths),
        grouped(d.identical_paths),
        grouped(d.partial_paths),
        grouped(d.differing_paths)
    )
}

/// The headline lines, shared by the table and Markdown outputs.
fn headline(r: &FleetReport) -> Vec<(String, String)> {
    let t = &r.totals;
    vec![
        (
            "Images".into(),
            format!(
                "{} images, {} layers, {} distinct",
                t.images, t.layers, t.unique_layers
            ),
        ),
        (
            "Sum of image sizes".into(),
            format!(
                "{} ({} bytes), {} compressed",
                human(t.size_bytes),
                grouped(t.size_bytes),
                human(t.compressed_size_bytes)
            ),
        ),
        (
            "Each layer once".into(),
            format!(
                "{} ({} bytes), {} compressed: what the registry stores and one node pulls",
                human(t.unique_size_bytes),
                grouped(t.unique_size_bytes),
                human(t.unique_compressed_size_bytes)
            ),
        ),
        (
            "Shared layers save".into(),
            format!(
                "{} ({} of the sum)",
                human(t.size_bytes - t.unique_size_bytes.min(t.size_bytes)),
                percent(1.0 - ratio(t.unique_size_bytes, t.size_bytes))
            ),
        ),
        (
            "Same files, other layers".into(),
            format!(
                "{} ({} bytes) in {} contents shipped by more than one layer",
                human(t.cross_layer_duplicate_bytes),
                grouped(t.cross_layer_duplicate_bytes),
                t.cross_layer_duplicate_contents
            ),
        ),
        (
            "Common base".into(),
            format!(
                "{} files in at least {} images, {}; moving them into one layer saves {}",
                grouped(r.common_base.files),
                r.common_base.min_images,
                human(r.common_base.size_bytes),
                human(r.common_base.saving_bytes)
            ),
        ),
    ]
}

/// Every table of the report, in the order shown. `limit` caps the long lists (layers,
/// differing paths) in the text outputs; the page lists them all (the core already cut
/// duplicates and common-base files to `--top`).
fn grids(r: &FleetReport, limit: Option<usize>) -> Vec<Grid> {
    use ColumnKind::{Bytes, Number, Path, Text};
    let cap = limit.unwrap_or(usize::MAX);
    let t = &r.totals;
    let names = |images: &[usize]| -> String {
        let n: Vec<String> = images.iter().map(|&m| image_name(r, m)).collect();
        n.join(", ")
    };
    let mut out = Vec::new();
    out.push(
        Grid::new("images", "Images")
            .column("index", "#", Number)
            .column("reference", "Image", Path)
            .column("platform", "Platform", Text)
            .column("layers", "Layers", Number)
            .column("size", "Size", Bytes)
            .column("compressed", "Compressed", Bytes)
            .column("unique", "Only here", Bytes)
            .column("family", "Family", Number)
            .rows(r.images.iter().enumerate().map(|(i, img)| {
                vec![
                    Val::count(i),
                    Val::Path(img.reference.clone()),
                    Val::Text(img.platform.clone()),
                    Val::count(img.layers.len()),
                    Val::Bytes(img.size_bytes),
                    Val::Bytes(img.compressed_size_bytes),
                    Val::Bytes(img.unique_size_bytes),
                    Val::count(img.family),
                ]
            })),
    );
    // Most shared first, then largest.
    let mut shown: Vec<usize> = (0..r.layers.len()).collect();
    shown.sort_by(|&a, &b| {
        let (la, lb) = (&r.layers[a], &r.layers[b]);
        lb.images
            .len()
            .cmp(&la.images.len())
            .then(lb.size_bytes.cmp(&la.size_bytes))
            .then(a.cmp(&b))
    });
    out.push(
        Grid::new("layers", "Layers")
            .note(format!(
                "{} of {}, most shared first",
                cap.min(shown.len()),
                shown.len()
            ))
            .column("diff_id", "DiffID", Path)
            .column("size", "Size", Bytes)
            .column("compressed", "Compressed", Bytes)
            .column("files", "Files", Number)
            .column("count", "Images", Number)
            .column("images", "Held by", Text)
            .rows(shown.iter().take(cap).map(|&i| {
                let l = &r.layers[i];
                vec![
                    Val::Path(short_digest(&l.diff_id)),
                    Val::Bytes(l.size_bytes),
                    Val::Bytes(l.compressed_size_bytes),
                    Val::Count(l.files),
                    Val::count(l.images.len()),
                    Val::Text(names(&l.images)),
                ]
            })),
    );
    let drift: Vec<String> = r
        .drift
        .iter()
        .map(|d| {
            format!(
                "families {} and {} start from the same base at different digests: {} of {} \
                 shared paths differ ({} only in {}, {} only in {})",
                d.families[0],
                d.families[1],
                d.changed_paths,
                d.shared_paths,
                d.only_first,
                d.families[0],
                d.only_second,
                d.families[1]
            )
        })
        .collect();
    out.push(
        Grid::new("families", "Base families")
            .note(if drift.is_empty() {
                "by bottom layer; no drift found".to_string()
            } else {
                format!("by bottom layer; drift: {}", drift.join("; "))
            })
            .column("index", "#", Number)
            .column("bottom", "Bottom layer", Path)
            .column("common", "Common layers", Number)
            .column("base", "Base size", Bytes)
            .column("images", "Images", Text)
            .rows(r.families.iter().enumerate().map(|(i, f)| {
                vec![
                    Val::count(i),
                    Val::Path(short_digest(&f.bottom_layer)),
                    Val::count(f.base_layers),
                    Val::Bytes(f.base_size_bytes),
                    Val::Text(names(&f.images)),
                ]
            })),
    );
    out.push(
        Grid::new("duplicates", "Same content in different layers")
            .note(format!(
                "{} of {} contents, {} extra bytes in total",
                r.duplicates.len().min(cap),
                t.cross_layer_duplicate_contents,
                grouped(t.cross_layer_duplicate_bytes)
            ))
            .column("saving", "Saving", Bytes)
            .column("size", "Size", Bytes)
            .column("layers", "Layers", Number)
            .column("images", "Images", Number)
            .column("paths", "Paths", Path)
            .rows(r.duplicates.iter().take(cap).map(|d| {
                vec![
                    Val::Bytes(d.saving_bytes),
                    Val::Bytes(d.size_bytes),
                    Val::count(d.layers.len()),
                    Val::count(d.images),
                    Val::Path(d.paths.join(", ")),
                ]
            })),
    );
    let cb = &r.common_base;
    out.push(
        Grid::new("common-base", "Proposed common base")
            .note(format!(
                "{} files in at least {} images, {}; saving {}",
                grouped(cb.files),
                cb.min_images,
                human(cb.size_bytes),
                human(cb.saving_bytes)
            ))
            .column("saving", "Saving", Bytes)
            .column("size", "Size", Bytes)
            .column("images", "Images", Number)
            .column("layers", "Layers", Number)
            .column("path", "Path", Path)
            .rows(cb.top.iter().take(cap).map(|f| {
                vec![
                    Val::Bytes(f.saving_bytes),
                    Val::Bytes(f.size_bytes),
                    Val::count(f.images),
                    Val::count(f.layers),
                    Val::Path(f.path.clone()),
                ]
            })),
    );
    if !r.platforms.is_empty() {
        out.push(
            Grid::new("platforms", "Platforms")
                .column("platform", "Platform", Text)
                .column("images", "Images", Number)
                .column("size", "Size", Bytes)
                .column("compressed", "Compressed", Bytes)
                .column("own_layers", "Own layers", Number)
                .column("own_size", "Own size", Bytes)
                .column("shared", "Shared layers", Number)
                .rows(r.platforms.iter().map(|p| {
                    vec![
                        Val::Text(p.platform.clone()),
                        Val::count(p.images.len()),
                        Val::Bytes(p.size_bytes),
                        Val::Bytes(p.compressed_size_bytes),
                        Val::count(p.own_layers),
                        Val::Bytes(p.own_size_bytes),
                        Val::count(p.shared_layers),
                    ]
                })),
        );
    }
    for (i, d) in r.platform_differences.iter().enumerate() {
        out.push(
            Grid::new(
                format!("platform-files-{i}"),
                format!("Final filesystems of the platforms of {}", d.reference),
            )
            .note(difference_line(d))
            .column("platform", "Platform", Text)
            .column("files", "Files", Number)
            .column("size", "Size", Bytes)
            .column("partial", "Missing elsewhere", Number)
            .column("partial_size", "Their size", Bytes)
            .column("differing_size", "Differing size", Bytes)
            .rows(d.platforms.iter().map(|p| {
                vec![
                    Val::Text(p.platform.clone()),
                    Val::Count(p.files),
                    Val::Bytes(p.size_bytes),
                    Val::Count(p.partial_paths),
                    Val::Bytes(p.partial_bytes),
                    Val::Bytes(p.differing_bytes),
                ]
            })),
        );
        let mut paths = Grid::new(
            format!("platform-paths-{i}"),
            format!("What differs between the platforms of {}", d.reference),
        )
        .note(format!(
            "{} of {} paths, the largest first",
            d.differences.len().min(cap),
            grouped(d.partial_paths + d.differing_paths)
        ))
        .column("path", "Path", Path)
        .column("change", "Change", Text);
        for (k, p) in d.platforms.iter().enumerate() {
            paths = paths.column(&format!("p{k}"), &p.platform, Text);
        }
        out.push(paths.rows(d.differences.iter().take(cap).map(|x| {
            let mut row = vec![Val::Path(x.path.clone()), Val::Text(x.change.clone())];
            row.extend(x.entries.iter().map(|e| Val::Text(path_cell(e.as_ref()))));
            row
        })));
    }
    out
}

/// The terminal output.
pub fn table_text(r: &FleetReport, top: usize, term: Term) -> String {
    let mut out = String::new();
    for (k, v) in headline(r) {
        let _ = writeln!(out, "{k:<26}{v}");
    }
    let rd = &r.read;
    let _ = writeln!(
        out,
        "{:<26}{} layers read ({}), {} from the cache{}",
        "This run",
        rd.layers_read,
        human(rd.blob_bytes_read),
        rd.cache_hits,
        if rd.corrupt_entries > 0 {
            format!(", {} corrupt entries read again", rd.corrupt_entries)
        } else {
            String::new()
        }
    );
    for g in grids(r, Some(top)) {
        if g.is_empty() {
            let _ = writeln!(out, "\n{}", g.heading());
        } else {
            let _ = writeln!(out, "\n{}\n{}", g.heading(), g.table(term));
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// A Markdown comment for a pull request or a CI summary.
pub fn markdown(r: &FleetReport, top: usize) -> String {
    let mut s = String::from("## layerscope fleet\n\n| | |\n|---|---|\n");
    for (k, v) in headline(r) {
        let _ = writeln!(s, "| {} | {} |", text(&k, 60), text(&v, 200));
    }
    for g in grids(r, Some(top)).iter().filter(|g| !g.is_empty()) {
        s.push_str(&g.markdown());
    }
    for w in &r.warnings {
        let _ = writeln!(s, "\n**Warning:** {}", text(w, 400));
    }
    s
}

/// The HTML page: cards and sortable tables.
pub fn page(r: &FleetReport) -> Page {
    let t = &r.totals;
    let card = |id: &str, label: &str, bytes: u64, detail: String, tone: Tone| Card {
        id: id.into(),
        label: label.into(),
        value: human(bytes),
        exact_bytes: Some(bytes),
        detail,
        tone,
        meter: None,
    };
    let saved = t.size_bytes.saturating_sub(t.unique_size_bytes);
    let cards = vec![
        card(
            "sum",
            "Sum of image sizes",
            t.size_bytes,
            format!("{} images, {} layers", t.images, t.layers),
            Tone::Neutral,
        ),
        Card {
            meter: Some(ratio(t.unique_size_bytes, t.size_bytes)),
            ..card(
                "unique",
                "Each layer once",
                t.unique_size_bytes,
                format!(
                    "{} distinct layers, {} compressed: what the registry stores",
                    t.unique_layers,
                    human(t.unique_compressed_size_bytes)
                ),
                Tone::Good,
            )
        },
        card(
            "shared",
            "Saved by sharing",
            saved,
            format!("{} of the sum", percent(ratio(saved, t.size_bytes))),
            Tone::Good,
        ),
        card(
            "duplicates",
            "Same files, other layers",
            t.cross_layer_duplicate_bytes,
            format!(
                "{} contents shipped by more than one layer",
                t.cross_layer_duplicate_contents
            ),
            if t.cross_layer_duplicate_bytes > 0 {
                Tone::Warn
            } else {
                Tone::Good
            },
        ),
        card(
            "common-base",
            "Common base would save",
            r.common_base.saving_bytes,
            format!(
                "{} files in at least {} images ({})",
                grouped(r.common_base.files),
                r.common_base.min_images,
                human(r.common_base.size_bytes)
            ),
            Tone::Neutral,
        ),
    ];
    let mut page = Page::new("fleet", format!("{} images", t.images)).cards(cards);
    for g in grids(r, None) {
        page = page.section(g.section());
    }
    page
}
