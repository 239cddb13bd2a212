//! `fleet` output: terminal tables, a Markdown comment, and the HTML page (built from the
//! same cards and sortable tables as `diff`'s page).

use super::html::{Card, ColumnKind, Page, TableSection, Tone};
use super::html_views::col;
use super::markdown::{code, text};
use super::table::{bold, ellipsize, keep_whole, right, table};
use super::{Term, grouped, human, percent, short_digest};
use comfy_table::Cell;
use layerscope_core::{EntryKind, FleetReport, PathState, PlatformDifference};
use std::fmt::Write as _;

/// `saved / total` as a ratio, 0 when there is nothing.
fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
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

/// The terminal output.
pub fn table_text(r: &FleetReport, top: usize, term: Term) -> String {
    let color = term.color;
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
    out.push('\n');

    let mut it = table(term);
    it.set_header(vec![
        bold("#", color),
        bold("Image", color),
        bold("Platform", color),
        bold("Layers", color),
        bold("Size", color),
        bold("Compressed", color),
        bold("Only here", color),
        bold("Family", color),
    ]);
    for (i, img) in r.images.iter().enumerate() {
        it.add_row(vec![
            right(i),
            Cell::new(&img.reference),
            Cell::new(&img.platform),
            right(img.layers.len()),
            right(human(img.size_bytes)),
            right(human(img.compressed_size_bytes)),
            right(human(img.unique_size_bytes)),
            right(img.family),
        ]);
    }
    keep_whole(&mut it, term, &[0, 3, 4, 5, 6, 7]);
    let _ = writeln!(out, "{it}");

    let mut lt = table(term);
    lt.set_header(vec![
        bold("Layer", color),
        bold("Size", color),
        bold("Compressed", color),
        bold("Files", color),
        bold("Images", color),
    ]);
    let mut shown: Vec<usize> = (0..r.layers.len()).collect();
    shown.sort_by(|&a, &b| {
        let (la, lb) = (&r.layers[a], &r.layers[b]);
        lb.images
            .len()
            .cmp(&la.images.len())
            .then(lb.size_bytes.cmp(&la.size_bytes))
            .then(a.cmp(&b))
    });
    let _ = writeln!(
        out,
        "\nLayers ({} of {}, most shared first):",
        top.min(shown.len()),
        shown.len()
    );
    for &i in shown.iter().take(top) {
        let l = &r.layers[i];
        let holders: Vec<String> = l.images.iter().map(|i| i.to_string()).collect();
        lt.add_row(vec![
            Cell::new(short_digest(&l.diff_id)),
            right(human(l.size_bytes)),
            right(human(l.compressed_size_bytes)),
            right(grouped(l.files)),
            Cell::new(ellipsize(&holders.join(" "), 60)),
        ]);
    }
    keep_whole(&mut lt, term, &[0, 1, 2, 3]);
    let _ = writeln!(out, "{lt}");

    let _ = writeln!(out, "\nBase families (by bottom layer):");
    let mut ft = table(term);
    ft.set_header(vec![
        bold("#", color),
        bold("Bottom layer", color),
        bold("Common layers", color),
        bold("Base size", color),
        bold("Images", color),
    ]);
    for (i, f) in r.families.iter().enumerate() {
        let names: Vec<String> = f.images.iter().map(|&m| image_name(r, m)).collect();
        ft.add_row(vec![
            right(i),
            Cell::new(short_digest(&f.bottom_layer)),
            right(f.base_layers),
            right(human(f.base_size_bytes)),
            Cell::new(ellipsize(&names.join(", "), 80)),
        ]);
    }
    keep_whole(&mut ft, term, &[0, 1, 2, 3]);
    let _ = writeln!(out, "{ft}");
    for d in &r.drift {
        let _ = writeln!(
            out,
            "Drift: families {} and {} start from the same base at different digests: {} of {} \
             shared paths differ ({} only in {}, {} only in {})",
            d.families[0],
            d.families[1],
            d.changed_paths,
            d.shared_paths,
            d.only_first,
            d.families[0],
            d.only_second,
            d.families[1]
        );
    }

    if !r.duplicates.is_empty() {
        let _ = writeln!(
            out,
            "\nSame content in different layers ({} of {}):",
            r.duplicates.len().min(top),
            r.totals.cross_layer_duplicate_contents
        );
        let mut dt = table(term);
        dt.set_header(vec![
            bold("Saving", color),
            bold("Size", color),
            bold("Layers", color),
            bold("Images", color),
            bold("Paths", color),
        ]);
        for d in r.duplicates.iter().take(top) {
            dt.add_row(vec![
                right(human(d.saving_bytes)),
                right(human(d.size_bytes)),
                right(d.layers.len()),
                right(d.images),
                Cell::new(d.paths.join(", ")),
            ]);
        }
        keep_whole(&mut dt, term, &[0, 1, 2, 3]);
        let _ = writeln!(out, "{dt}");
    }

    let cb = &r.common_base;
    if !cb.top.is_empty() {
        let _ = writeln!(
            out,
            "\nProposed common base: files in at least {} images ({} of {}):",
            cb.min_images,
            cb.top.len().min(top),
            grouped(cb.files)
        );
        let mut ct = table(term);
        ct.set_header(vec![
            bold("Saving", color),
            bold("Size", color),
            bold("Images", color),
            bold("Layers", color),
            bold("Path", color),
        ]);
        for f in cb.top.iter().take(top) {
            ct.add_row(vec![
                right(human(f.saving_bytes)),
                right(human(f.size_bytes)),
                right(f.images),
                right(f.layers),
                Cell::new(&f.path),
            ]);
        }
        keep_whole(&mut ct, term, &[0, 1, 2, 3]);
        let _ = writeln!(out, "{ct}");
    }

    if !r.platforms.is_empty() {
        let _ = writeln!(out, "\nPlatforms:");
        let mut pt = table(term);
        pt.set_header(vec![
            bold("Platform", color),
            bold("Images", color),
            bold("Size", color),
            bold("Compressed", color),
            bold("Own layers", color),
            bold("Own size", color),
            bold("Shared layers", color),
        ]);
        for p in &r.platforms {
            pt.add_row(vec![
                Cell::new(&p.platform),
                right(p.images.len()),
                right(human(p.size_bytes)),
                right(human(p.compressed_size_bytes)),
                right(p.own_layers),
                right(human(p.own_size_bytes)),
                right(p.shared_layers),
            ]);
        }
        let _ = writeln!(out, "{pt}");
    }
    for d in &r.platform_differences {
        let names: Vec<&str> = d.platforms.iter().map(|p| p.platform.as_str()).collect();
        let _ = writeln!(
            out,
            "\nWhat differs between the platforms of {} ({}): {}",
            d.reference,
            names.join(", "),
            difference_line(d)
        );
        let mut pt = table(term);
        pt.set_header(vec![
            bold("Platform", color),
            bold("Files", color),
            bold("Size", color),
            bold("Missing elsewhere", color),
            bold("Their size", color),
            bold("Differing size", color),
        ]);
        for p in &d.platforms {
            pt.add_row(vec![
                Cell::new(&p.platform),
                right(grouped(p.files)),
                right(human(p.size_bytes)),
                right(grouped(p.partial_paths)),
                right(human(p.partial_bytes)),
                right(human(p.differing_bytes)),
            ]);
        }
        let _ = writeln!(out, "{pt}");
        if !d.differences.is_empty() {
            let mut header = vec![bold("Path", color), bold("Change", color)];
            header.extend(names.iter().map(|n| bold(n, color)));
            let mut dt = table(term);
            dt.set_header(header);
            for x in d.differences.iter().take(top) {
                let mut row = vec![Cell::new(&x.path), Cell::new(&x.change)];
                row.extend(x.entries.iter().map(|e| right(path_cell(e.as_ref()))));
                dt.add_row(row);
            }
            let _ = writeln!(out, "{dt}");
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
    s.push_str(
        "\n### Images\n\n| # | Image | Platform | Layers | Size | Compressed | Only here | Family |\n\
         |---:|---|---|---:|---:|---:|---:|---:|\n",
    );
    for (i, img) in r.images.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {i} | {} | {} | {} | {} | {} | {} | {} |",
            code(&img.reference, 80),
            text(&img.platform, 40),
            img.layers.len(),
            human(img.size_bytes),
            human(img.compressed_size_bytes),
            human(img.unique_size_bytes),
            img.family
        );
    }
    s.push_str("\n### Base families\n\n| # | Bottom layer | Common layers | Base size | Images |\n|---:|---|---:|---:|---|\n");
    for (i, f) in r.families.iter().enumerate() {
        let names: Vec<String> = f.images.iter().map(|&m| image_name(r, m)).collect();
        let _ = writeln!(
            s,
            "| {i} | {} | {} | {} | {} |",
            code(&short_digest(&f.bottom_layer), 20),
            f.base_layers,
            human(f.base_size_bytes),
            text(&names.join(", "), 300)
        );
    }
    for d in &r.drift {
        let _ = writeln!(
            s,
            "\n**Drift:** families {} and {} start from the same base at different digests \
             ({} of {} shared paths differ).",
            d.families[0], d.families[1], d.changed_paths, d.shared_paths
        );
    }
    if !r.duplicates.is_empty() {
        s.push_str("\n### Same content in different layers\n\n| Saving | Size | Layers | Images | Paths |\n|---:|---:|---:|---:|---|\n");
        for d in r.duplicates.iter().take(top) {
            let paths: Vec<String> = d.paths.iter().map(|p| code(p, 120)).collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                human(d.saving_bytes),
                human(d.size_bytes),
                d.layers.len(),
                d.images,
                paths.join(" ")
            );
        }
    }
    if !r.common_base.top.is_empty() {
        let _ = write!(
            s,
            "\n### Proposed common base (files in at least {} images)\n\n| Saving | Size | Images | Layers | Path |\n|---:|---:|---:|---:|---|\n",
            r.common_base.min_images
        );
        for f in r.common_base.top.iter().take(top) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} |",
                human(f.saving_bytes),
                human(f.size_bytes),
                f.images,
                f.layers,
                code(&f.path, 160)
            );
        }
    }
    if !r.platforms.is_empty() {
        s.push_str("\n### Platforms\n\n| Platform | Images | Size | Compressed | Own layers | Own size | Shared layers |\n|---|---:|---:|---:|---:|---:|---:|\n");
        for p in &r.platforms {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                text(&p.platform, 40),
                p.images.len(),
                human(p.size_bytes),
                human(p.compressed_size_bytes),
                p.own_layers,
                human(p.own_size_bytes),
                p.shared_layers
            );
        }
    }
    for d in &r.platform_differences {
        let names: Vec<&str> = d.platforms.iter().map(|p| p.platform.as_str()).collect();
        let _ = write!(
            s,
            "\n### What differs between the platforms of {}\n\n{}\n\n\
             | Platform | Files | Size | Missing elsewhere | Their size | Differing size |\n\
             |---|---:|---:|---:|---:|---:|\n",
            code(&d.reference, 120),
            difference_line(d)
        );
        for p in &d.platforms {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                text(&p.platform, 40),
                grouped(p.files),
                human(p.size_bytes),
                grouped(p.partial_paths),
                human(p.partial_bytes),
                human(p.differing_bytes)
            );
        }
        if !d.differences.is_empty() {
            let heads: Vec<String> = names.iter().map(|n| text(n, 40)).collect();
            let _ = write!(
                s,
                "\n| Path | Change | {} |\n|---|---|{}\n",
                heads.join(" | "),
                "---:|".repeat(names.len())
            );
            for x in d.differences.iter().take(top) {
                let cells: Vec<String> = x
                    .entries
                    .iter()
                    .map(|e| text(&path_cell(e.as_ref()), 120))
                    .collect();
                let _ = writeln!(
                    s,
                    "| {} | {} | {} |",
                    code(&x.path, 160),
                    x.change,
                    cells.join(" | ")
                );
            }
        }
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
    let images = TableSection {
        id: "images".into(),
        title: "Images".into(),
        note: None,
        columns: vec![
            col("index", "#", ColumnKind::Number),
            col("reference", "Image", ColumnKind::Path),
            col("platform", "Platform", ColumnKind::Text),
            col("layers", "Layers", ColumnKind::Number),
            col("size", "Size", ColumnKind::Bytes),
            col("compressed", "Compressed", ColumnKind::Bytes),
            col("unique", "Only here", ColumnKind::Bytes),
            col("family", "Family", ColumnKind::Number),
        ],
        rows: r
            .images
            .iter()
            .enumerate()
            .map(|(i, img)| {
                serde_json::json!({
                    "index": i, "reference": img.reference, "platform": img.platform,
                    "layers": img.layers.len(), "size": img.size_bytes,
                    "compressed": img.compressed_size_bytes, "unique": img.unique_size_bytes,
                    "family": img.family,
                })
            })
            .collect(),
    };
    let layers = TableSection {
        id: "layers".into(),
        title: "Layers".into(),
        note: Some("each distinct layer once, with the images that hold it".into()),
        columns: vec![
            col("diff_id", "DiffID", ColumnKind::Path),
            col("size", "Size", ColumnKind::Bytes),
            col("compressed", "Compressed", ColumnKind::Bytes),
            col("files", "Files", ColumnKind::Number),
            col("count", "Images", ColumnKind::Number),
            col("images", "Held by", ColumnKind::Text),
        ],
        rows: r
            .layers
            .iter()
            .map(|l| {
                let names: Vec<String> = l.images.iter().map(|&m| image_name(r, m)).collect();
                serde_json::json!({
                    "diff_id": short_digest(&l.diff_id), "size": l.size_bytes,
                    "compressed": l.compressed_size_bytes, "files": l.files,
                    "count": l.images.len(), "images": names.join(", "),
                })
            })
            .collect(),
    };
    let families = TableSection {
        id: "families".into(),
        title: "Base families".into(),
        note: Some(if r.drift.is_empty() {
            "images grouped by their bottom layer; no drift found".into()
        } else {
            let d: Vec<String> = r
                .drift
                .iter()
                .map(|d| {
                    format!(
                        "families {} and {}: {} of {} shared paths differ",
                        d.families[0], d.families[1], d.changed_paths, d.shared_paths
                    )
                })
                .collect();
            format!("drift (same base, other digest): {}", d.join("; "))
        }),
        columns: vec![
            col("index", "#", ColumnKind::Number),
            col("bottom", "Bottom layer", ColumnKind::Path),
            col("common", "Common layers", ColumnKind::Number),
            col("base", "Base size", ColumnKind::Bytes),
            col("images", "Images", ColumnKind::Text),
        ],
        rows: r
            .families
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let names: Vec<String> = f.images.iter().map(|&m| image_name(r, m)).collect();
                serde_json::json!({
                    "index": i, "bottom": short_digest(&f.bottom_layer), "common": f.base_layers,
                    "base": f.base_size_bytes, "images": names.join(", "),
                })
            })
            .collect(),
    };
    let duplicates = TableSection {
        id: "duplicates".into(),
        title: "Same content in different layers".into(),
        note: Some(format!(
            "{} contents, {} extra bytes in total",
            t.cross_layer_duplicate_contents,
            grouped(t.cross_layer_duplicate_bytes)
        )),
        columns: vec![
            col("saving", "Saving", ColumnKind::Bytes),
            col("size", "Size", ColumnKind::Bytes),
            col("layers", "Layers", ColumnKind::Number),
            col("images", "Images", ColumnKind::Number),
            col("paths", "Paths", ColumnKind::Path),
        ],
        rows: r
            .duplicates
            .iter()
            .map(|d| {
                serde_json::json!({
                    "saving": d.saving_bytes, "size": d.size_bytes, "layers": d.layers.len(),
                    "images": d.images, "paths": d.paths.join(", "),
                })
            })
            .collect(),
    };
    let base = TableSection {
        id: "common-base".into(),
        title: "Proposed common base".into(),
        note: Some(format!(
            "{} files in at least {} images, {}; saving {}",
            grouped(r.common_base.files),
            r.common_base.min_images,
            human(r.common_base.size_bytes),
            human(r.common_base.saving_bytes)
        )),
        columns: vec![
            col("saving", "Saving", ColumnKind::Bytes),
            col("size", "Size", ColumnKind::Bytes),
            col("images", "Images", ColumnKind::Number),
            col("layers", "Layers", ColumnKind::Number),
            col("path", "Path", ColumnKind::Path),
        ],
        rows: r
            .common_base
            .top
            .iter()
            .map(|f| {
                serde_json::json!({
                    "saving": f.saving_bytes, "size": f.size_bytes, "images": f.images,
                    "layers": f.layers, "path": f.path,
                })
            })
            .collect(),
    };
    let mut page = Page::new("fleet", format!("{} images", t.images))
        .cards(cards)
        .section(images)
        .section(layers)
        .section(families)
        .section(duplicates)
        .section(base);
    if !r.platforms.is_empty() {
        page = page.section(TableSection {
            id: "platforms".into(),
            title: "Platforms".into(),
            note: None,
            columns: vec![
                col("platform", "Platform", ColumnKind::Text),
                col("images", "Images", ColumnKind::Number),
                col("size", "Size", ColumnKind::Bytes),
                col("compressed", "Compressed", ColumnKind::Bytes),
                col("own_layers", "Own layers", ColumnKind::Number),
                col("own_size", "Own size", ColumnKind::Bytes),
                col("shared", "Shared layers", ColumnKind::Number),
            ],
            rows: r
                .platforms
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "platform": p.platform, "images": p.images.len(), "size": p.size_bytes,
                        "compressed": p.compressed_size_bytes, "own_layers": p.own_layers,
                        "own_size": p.own_size_bytes, "shared": p.shared_layers,
                    })
                })
                .collect(),
        });
    }
    for (i, d) in r.platform_differences.iter().enumerate() {
        let names: Vec<&str> = d.platforms.iter().map(|p| p.platform.as_str()).collect();
        page = page.section(TableSection {
            id: format!("platform-files-{i}"),
            title: format!("Platforms of {}", d.reference),
            note: Some(difference_line(d)),
            columns: vec![
                col("platform", "Platform", ColumnKind::Text),
                col("files", "Files", ColumnKind::Number),
                col("size", "Size", ColumnKind::Bytes),
                col("partial", "Missing elsewhere", ColumnKind::Number),
                col("partial_size", "Their size", ColumnKind::Bytes),
                col("differing_size", "Differing size", ColumnKind::Bytes),
            ],
            rows: d
                .platforms
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "platform": p.platform, "files": p.files, "size": p.size_bytes,
                        "partial": p.partial_paths, "partial_size": p.partial_bytes,
                        "differing_size": p.differing_bytes,
                    })
                })
                .collect(),
        });
        let mut columns = vec![
            col("path", "Path", ColumnKind::Path),
            col("change", "Change", ColumnKind::Text),
        ];
        for (k, n) in names.iter().enumerate() {
            columns.push(col(&format!("p{k}"), n, ColumnKind::Text));
        }
        page = page.section(TableSection {
            id: format!("platform-paths-{i}"),
            title: format!("What differs between the platforms of {}", d.reference),
            note: Some(format!(
                "{} of {} differing paths, the largest first",
                d.differences.len(),
                grouped(d.partial_paths + d.differing_paths)
            )),
            columns,
            rows: d
                .differences
                .iter()
                .map(|x| {
                    let mut row = serde_json::Map::new();
                    row.insert("path".into(), x.path.clone().into());
                    row.insert("change".into(), x.change.clone().into());
                    for (k, e) in x.entries.iter().enumerate() {
                        row.insert(format!("p{k}"), path_cell(e.as_ref()).into());
                    }
                    serde_json::Value::Object(row)
                })
                .collect(),
        });
    }
    page
}
