//! Data for the HTML page's optional sections, built from the core's results: the
//! recommendations, the Dockerfile with bytes per step (and the steps a change rebuilds),
//! the gate verdict, and `diff`'s tables.

use super::grid::{Grid, Val};
use super::html::{
    Card, ColumnKind, DockerfileView, GateRuleView, GateView, Page, RecommendationView, StepView,
    TableSection, Tone,
};
use super::human;
use layerscope_core::{
    Attribution, ChangeOutcome, Dockerfile, Finding, GateOutcome, ImageDiff, RuleStatus,
    format_signed_size,
};

/// Recommendation rows.
pub fn recommendations(findings: &[Finding]) -> Vec<RecommendationView> {
    findings
        .iter()
        .map(|f| RecommendationView {
            code: f.code.to_string(),
            message: format!("{} Fix: {}", f.message, f.fix),
            line: f.line,
            layer: f.layer,
            saving_bytes: (f.bytes_saved > 0).then_some(f.bytes_saved),
            overlaps: super::overlap_notes(f.bytes_saved, &f.overlaps),
        })
        .collect()
}

/// The Dockerfile with the layers each instruction made and, for a simulated change, the
/// steps it rebuilds.
pub fn dockerfile(
    df: &Dockerfile,
    attribution: Option<&Attribution>,
    change: Option<&ChangeOutcome>,
) -> DockerfileView {
    let mut steps = Vec::new();
    for stage in df.stages() {
        for (i, ins) in stage.instructions().iter().enumerate() {
            let layers = attribution
                .and_then(|a| {
                    a.instructions
                        .iter()
                        .find(|c| c.stage == stage.index() && c.index == i)
                })
                .map(|c| c.layers.clone())
                .unwrap_or_default();
            let rebuilt = change.and_then(|c| {
                c.rebuilt_steps
                    .iter()
                    .find(|s| s.stage == stage.index() && s.line == ins.span.first_line)
            });
            steps.push(StepView {
                first_line: ins.span.first_line,
                last_line: ins.span.last_line,
                layers,
                rebuilds: rebuilt.is_some(),
                reason: rebuilt.map(|s| {
                    let why = serde_json::to_value(s.reason)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    if s.conditional {
                        format!("{why} (if the output differs)")
                    } else {
                        why
                    }
                }),
            });
        }
    }
    DockerfileView {
        name: df.file_name().to_string(),
        lines: df.lines().to_vec(),
        steps,
        change: change.map(|c| match (&c.build_arg, &c.path) {
            (Some(a), _) => format!("build arg {a}"),
            (None, Some(p)) => p.clone(),
            _ => "change".into(),
        }),
        rebuild_bytes: change.map(|c| c.rebuilt_bytes),
        conditional_rebuild_bytes: change.map(|c| c.conditional_rebuilt_bytes),
    }
}

/// The gate verdict.
pub fn gate(o: &GateOutcome) -> GateView {
    GateView {
        passed: o.passed(),
        summary: super::gate::summary(o),
        rules: o
            .rules
            .iter()
            .filter(|r| r.status != RuleStatus::Skip)
            .map(|r| GateRuleView {
                name: r.id.to_string(),
                passed: r.status == RuleStatus::Pass,
                detail: r.message.clone(),
            })
            .collect(),
    }
}

/// Every simulated change as a table.
pub fn changes_table(changes: &[ChangeOutcome]) -> TableSection {
    Grid::new("changes", "Simulated changes")
        .note("Steps that lose their cache for each change, and what they rebuild and push again.")
        .column("change", "Change", ColumnKind::Path)
        .column("steps", "Steps rebuilt", ColumnKind::Number)
        .column("lines", "Lines", ColumnKind::Text)
        .column("rebuilt", "Rebuilt", ColumnKind::Bytes)
        .column("pushed", "Pushed again", ColumnKind::Bytes)
        .rows(changes.iter().map(|c| {
            let lines: Vec<String> = c.rebuilt_steps.iter().map(|s| s.line.to_string()).collect();
            vec![
                Val::Text(
                    c.build_arg
                        .clone()
                        .map(|a| format!("build arg {a}"))
                        .or_else(|| c.path.clone())
                        .unwrap_or_default(),
                ),
                Val::count(c.rebuilt_steps.len()),
                Val::Text(lines.join(", ")),
                Val::Bytes(c.rebuilt_bytes),
                Val::Bytes(c.repushed_bytes),
            ]
        }))
        .section()
}

/// The `diff` page: cards and tables (no explorer: it compares two images).
pub fn diff_page(d: &ImageDiff) -> Page {
    let name =
        |i: &layerscope_core::ImageInfo| i.reference.clone().unwrap_or_else(|| i.source.clone());
    let tone = |v: i64| {
        if v > 0 {
            Tone::Warn
        } else if v < 0 {
            Tone::Good
        } else {
            Tone::Neutral
        }
    };
    let card = |id: &str, label: &str, v: i64, detail: String| Card {
        id: id.into(),
        label: label.into(),
        value: format_signed_size(v),
        exact_bytes: Some(v.unsigned_abs()),
        detail,
        tone: tone(v),
        meter: None,
    };
    let cards = vec![
        card(
            "size",
            "Size",
            d.size_delta_bytes,
            format!("{} -> {}", name(&d.a), name(&d.b)),
        ),
        card(
            "compressed",
            "Compressed",
            d.compressed_size_delta_bytes,
            "compressed layers".into(),
        ),
        card(
            "final",
            "Final filesystem",
            d.final_size_delta_bytes,
            "bytes visible in the image".into(),
        ),
        card(
            "waste",
            "Waste",
            d.wasted_delta_bytes,
            "bytes shipped but hidden".into(),
        ),
        Card {
            id: "push".into(),
            label: "Push cost of B".into(),
            value: human(d.push_bytes),
            exact_bytes: Some(d.push_bytes),
            detail: format!(
                "{} of B's layers are already stored with A",
                d.shared_layers
            ),
            tone: Tone::Neutral,
            meter: None,
        },
    ];
    let layers = Grid::new("layers", "Layers side by side")
        .column("index", "#", ColumnKind::Layer)
        .column("status", "Status", ColumnKind::Text)
        .column("a_size", "A size", ColumnKind::Bytes)
        .column("b_size", "B size", ColumnKind::Bytes)
        .column("a", "A instruction", ColumnKind::Text)
        .column("b", "B instruction", ColumnKind::Text)
        .rows(d.layers.iter().map(|l| {
            vec![
                Val::count(l.index),
                Val::Text(l.status.clone()),
                Val::bytes(l.a_size_bytes),
                Val::bytes(l.b_size_bytes),
                Val::Text(super::instruction(l.a_created_by.as_deref())),
                Val::Text(super::instruction(l.b_created_by.as_deref())),
            ]
        }))
        .section();
    let lists = [
        ("added", &d.files.added),
        ("removed", &d.files.removed),
        ("changed", &d.files.changed),
    ];
    let files = Grid::new("files", "Files")
        .note(format!(
            "{} added, {} removed, {} changed",
            d.files.added.len(),
            d.files.removed.len(),
            d.files.changed.len()
        ))
        .column("path", "Path", ColumnKind::Path)
        .column("change", "Change", ColumnKind::Text)
        .column("delta", "Delta", ColumnKind::SignedBytes)
        .column("a", "A", ColumnKind::Bytes)
        .column("b", "B", ColumnKind::Bytes)
        .rows(lists.into_iter().flat_map(|(what, list)| {
            list.iter().map(move |f| {
                let change = if f.what.is_empty() {
                    what.to_string()
                } else {
                    format!("{what} ({})", f.what.join(", "))
                };
                vec![
                    Val::Path(f.path.clone()),
                    Val::Text(change),
                    Val::Signed(f.delta_bytes),
                    Val::bytes(f.a_size_bytes),
                    Val::bytes(f.b_size_bytes),
                ]
            })
        }))
        .section();
    Page::new("diff", format!("{} vs {}", name(&d.a), name(&d.b)))
        .cards(cards)
        .section(layers)
        .section(files)
}
