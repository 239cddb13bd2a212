//! `check --format markdown`: a pull-request comment. Verdict first, then the rules, what
//! failed and where, sizes (with deltas against the baseline), the biggest waste, and the
//! recommendations. The first line is an HTML comment that CI jobs use to find and update
//! their earlier comment instead of adding a new one.

use super::gate::{measured, signed_bytes, signed_percent, threshold};
use super::{human, instruction, overlap_notes, percent};
use layerscope_core::{
    GateOutcome, RecommendationAction, Report, RuleStatus, SizeChange, WasteEntry,
};
use std::fmt::Write;

/// The marker on the first line of every comment.
pub const MARKER: &str = "<!-- layerscope-check -->";

/// How many changed layers / instructions and waste items the comment lists.
const ROWS: usize = 10;

/// One line of at most `max` characters, control characters blanked.
fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut t: String = flat.chars().take(max).collect();
    if flat.chars().count() > max {
        t.push('…');
    }
    t
}

/// Free text (messages with paths and globs such as `**/*.pem`) safe in a table cell: the
/// Markdown punctuation that would turn into emphasis, links or HTML is backslash-escaped
/// (CommonMark allows it before any ASCII punctuation), and pipes never end the cell.
pub(super) fn text(s: &str, max: usize) -> String {
    let mut out = String::new();
    for c in one_line(s, max).chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '|' | '~' | '#'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A path or instruction in a code span: no escapes work there except GFM's `\|` in
/// tables, and a backtick in it would end the span early.
pub(super) fn code(s: &str, max: usize) -> String {
    format!(
        "`{}`",
        one_line(&s.replace('`', "'"), max).replace('|', "\\|")
    )
}

fn status_icon(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Pass => "✅",
        RuleStatus::Fail => "❌",
        RuleStatus::Skip => "⏭️",
    }
}

/// The comment.
pub fn check(o: &GateOutcome, r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MARKER}");
    let failed = o.failed().count();
    let skipped = o.skipped().count();
    let evaluated = o.rules.len() - skipped;
    if failed > 0 {
        let _ = writeln!(
            s,
            "## ❌ layerscope check failed: {failed} of {evaluated} rule(s)\n"
        );
    } else {
        let _ = writeln!(s, "## ✅ layerscope check passed: {evaluated} rule(s)\n");
    }
    let name = r.image.reference.as_deref().unwrap_or(&r.image.source);
    let _ = writeln!(
        s,
        "**Image** {} ({}, {} layers)  ",
        code(name, 120),
        r.image.platform,
        r.totals.layers
    );
    match &o.config.source {
        Some(src) => {
            let _ = writeln!(s, "**Config** {}  ", code(src, 120));
        }
        None => {
            let _ = writeln!(s, "**Config** none (dive's defaults)  ");
        }
    }
    if let Some(c) = &o.comparison {
        let _ = writeln!(
            s,
            "**Baseline** {} from {}  ",
            code(&c.baseline_image, 120),
            code(&c.baseline, 120)
        );
    }
    if let Some(df) = &o.dockerfile {
        let _ = writeln!(s, "**Dockerfile** {}  ", code(df, 120));
    }
    s.push('\n');
    if let Some(note) = &o.config.note {
        let _ = writeln!(s, "> **Note:** {note}.\n");
    }

    if o.rules.is_empty() {
        let _ = writeln!(s, "No rules are configured.\n");
    } else {
        let _ = writeln!(s, "| | Rule | Threshold | Measured | |");
        let _ = writeln!(s, "|---|---|--:|--:|---|");
        for rule in &o.rules {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} | {} |",
                status_icon(rule.status),
                rule.id,
                threshold(rule),
                measured(rule),
                text(&rule.message, 200)
            );
        }
        s.push('\n');
    }

    for rule in o.failed().filter(|r| !r.offenders.is_empty()) {
        let _ = writeln!(
            s,
            "<details><summary>❌ <code>{}</code>: what failed</summary>\n",
            rule.id
        );
        for off in &rule.offenders {
            // Offender messages name their layer; the line is what a reviewer looks for.
            let at = off
                .line
                .map_or(String::new(), |n| format!(" (Dockerfile line {n})"));
            let _ = writeln!(s, "- {}{at}", text(&off.message, 300));
        }
        if rule.offenders_omitted > 0 {
            let _ = writeln!(s, "- … and {} more", rule.offenders_omitted);
        }
        let _ = writeln!(s, "\n</details>\n");
    }

    sizes(&mut s, o);
    if let Some(c) = &o.comparison {
        changes(&mut s, "Layers that changed", "Layer", &c.layer_changes);
        changes(
            &mut s,
            "Dockerfile instructions that changed",
            "Line",
            &c.instruction_changes,
        );
    }
    waste(&mut s, o);
    recommendations(&mut s, o);

    for note in &o.notes {
        let _ = writeln!(s, "> {}.\n", text(note, 300));
    }
    let _ = writeln!(
        s,
        "<sub>layerscope check: exact figures in `--format json`; sizes in SI units (1 MB = 10^6 bytes).</sub>"
    );
    s
}

fn sizes(s: &mut String, o: &GateOutcome) {
    let f = &o.figures;
    let _ = writeln!(s, "### Sizes\n");
    match &o.comparison {
        Some(c) => {
            let _ = writeln!(s, "| | Baseline | This image | Change |");
            let _ = writeln!(s, "|---|--:|--:|--:|");
            for (label, d) in [
                ("Size", c.size_bytes),
                ("Compressed", c.compressed_size_bytes),
                ("Visible", c.final_size_bytes),
                ("Wasted", c.wasted_bytes),
            ] {
                let pct = d
                    .percent
                    .map_or(String::new(), |p| format!(" ({})", signed_percent(p)));
                let _ = writeln!(
                    s,
                    "| {label} | {} | {} | {}{pct} |",
                    human(d.before),
                    human(d.after),
                    signed_bytes(d.change)
                );
            }
            let points = (c.efficiency_after - c.efficiency_before) * 100.0;
            let _ = writeln!(
                s,
                "| Efficiency | {} | {} | {}{:.1} pp |",
                percent(c.efficiency_before),
                percent(c.efficiency_after),
                if points >= 0.0 { "+" } else { "" },
                points
            );
            let _ = writeln!(
                s,
                "| Layers | {} | {} | {:+} |",
                c.layers.before, c.layers.after, c.layers.change
            );
        }
        None => {
            let _ = writeln!(s, "| | This image |");
            let _ = writeln!(s, "|---|--:|");
            let _ = writeln!(s, "| Size | {} |", human(f.size_bytes));
            let _ = writeln!(s, "| Compressed | {} |", human(f.compressed_size_bytes));
            let _ = writeln!(s, "| Visible | {} |", human(f.final_size_bytes));
            let _ = writeln!(s, "| Wasted | {} |", human(f.wasted_bytes));
            let _ = writeln!(s, "| Efficiency | {} |", percent(f.efficiency));
            let _ = writeln!(s, "| Layers | {} |", f.layers);
        }
    }
    if f.ignored_waste_bytes > 0 {
        let _ = writeln!(
            s,
            "\n{} of waste at `ignore-waste-paths` is left out of the rules.",
            human(f.ignored_waste_bytes)
        );
    }
    s.push('\n');
}

fn changes(s: &mut String, title: &str, key: &str, rows: &[SizeChange]) {
    if rows.is_empty() {
        return;
    }
    let mut rows: Vec<&SizeChange> = rows.iter().collect();
    rows.sort_by(|a, b| {
        b.change
            .unsigned_abs()
            .cmp(&a.change.unsigned_abs())
            .then(a.layer.cmp(&b.layer))
            .then(a.line.cmp(&b.line))
    });
    let _ = writeln!(s, "#### {title}\n");
    let _ = writeln!(
        s,
        "| {key} | Instruction | Baseline | This image | Change |"
    );
    let _ = writeln!(s, "|--:|---|--:|--:|--:|");
    for c in rows.iter().take(ROWS) {
        let id = match (key, c.layer, c.line) {
            ("Layer", Some(l), _) => l.to_string(),
            (_, _, Some(n)) => n.to_string(),
            _ => "-".to_string(),
        };
        let text = if key == "Layer" {
            instruction(c.instruction.as_deref())
        } else {
            c.instruction.clone().unwrap_or_default()
        };
        let size = |v: Option<u64>| v.map_or("-".to_string(), human);
        let _ = writeln!(
            s,
            "| {id} | {} | {} | {} | {} |",
            code(&text, 70),
            size(c.before),
            size(c.after),
            signed_bytes(c.change)
        );
    }
    if rows.len() > ROWS {
        let _ = writeln!(s, "\n… and {} more.", rows.len() - ROWS);
    }
    s.push('\n');
}

fn waste(s: &mut String, o: &GateOutcome) {
    let _ = writeln!(s, "### Biggest waste\n");
    if o.top_waste.is_empty() {
        let _ = writeln!(s, "No wasted bytes.\n");
        return;
    }
    let new: Vec<&WasteEntry> = o
        .comparison
        .as_ref()
        .map(|c| c.new_waste.iter().collect())
        .unwrap_or_default();
    let _ = writeln!(s, "| Bytes | Path | Kind | Shipped by | Hidden by |");
    let _ = writeln!(s, "|--:|---|---|---|---|");
    for w in o.top_waste.iter().take(ROWS) {
        let mark = if new.iter().any(|n| n.path == w.path) {
            " 🆕"
        } else {
            ""
        };
        let at = |layer: usize, line: Option<usize>| match line {
            Some(n) => format!("layer {layer} (line {n})"),
            None => format!("layer {layer}"),
        };
        let kind = serde_json::to_value(w.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | {}{mark} | {kind} | {} | {} |",
            human(w.bytes),
            code(&w.path, 120),
            at(w.added_by_layer, w.line),
            at(w.hidden_by_layer, w.hidden_by_line)
        );
    }
    s.push('\n');
}

fn recommendations(s: &mut String, o: &GateOutcome) {
    if o.recommendations.is_empty() {
        return;
    }
    let _ = writeln!(s, "### Recommendations\n");
    let _ = writeln!(s, "| | Code | Line | Saves | |");
    let _ = writeln!(s, "|---|---|--:|--:|---|");
    for rec in &o.recommendations {
        let icon = match rec.action {
            RecommendationAction::Deny => "⛔ deny",
            _ => "⚠️ warn",
        };
        let mut message = text(&rec.message, 200);
        for note in overlap_notes(rec.bytes_saved, &rec.overlaps) {
            let _ = write!(message, "<br>{}", text(&note, 200));
        }
        let _ = writeln!(
            s,
            "| {icon} | `{}` | {} | {} | {message} |",
            rec.code,
            rec.line.map_or("-".to_string(), |n| n.to_string()),
            if rec.bytes_saved > 0 {
                human(rec.bytes_saved)
            } else {
                "-".to_string()
            },
        );
    }
    s.push('\n');
}

#[cfg(test)]
pub(crate) mod tests {
    use layerscope_core::{
        Analysis, AnalysisOptions, Dockerfile, Finding, FindingCode, Gate, GateConfig, GateInput,
        GateOutcome, Image, Report, Severity,
    };
    use std::path::PathBuf;

    /// The demo image against its own Dockerfile, with hand-made recommendations (the
    /// recommendation engine is not wired into `check` yet).
    pub(crate) fn demo_outcome() -> (GateOutcome, Report) {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let image = Image::open(root.join("examples/demo/image.tar")).unwrap();
        let analysis = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
        let report = analysis.report();
        let text = std::fs::read_to_string(root.join("examples/demo/Dockerfile")).unwrap();
        let dockerfile = Dockerfile::parse_named(&text, "examples/demo/Dockerfile").unwrap();
        let config = GateConfig::from_toml(
            "[rules]\nlowest-efficiency = 0.9\nmax-layers = 10\n\
             deny-paths = [\"data/blob.bin\"]\n\
             [rules.max-waste]\nmetadata-copy-up = \"off\"\n\
             [recommendations]\nmetadata-copy-up = \"deny\"\n",
            ".layerscope.toml",
        )
        .unwrap();
        let findings = [
            Finding::new(
                FindingCode::MetadataCopyUp,
                Severity::Warning,
                "/data/big.bin is written again with the same bytes: write it once, on line 2",
            )
            .line(14)
            .bytes_saved(1_048_576),
            Finding::new(
                FindingCode::DeletedInLaterLayer,
                Severity::Info,
                "Delete /data/blob.bin in the RUN that creates it (line 2)",
            )
            .line(12)
            .bytes_saved(524_288),
        ];
        let outcome = Gate::new(config).unwrap().evaluate(
            &GateInput::new(analysis.figures())
                .final_files(&analysis.final_files())
                .dockerfile(&dockerfile)
                .findings(&findings),
        );
        (outcome, report)
    }

    #[test]
    fn comment_with_recommendations_and_lines() {
        let (outcome, report) = demo_outcome();
        insta::assert_snapshot!(super::check(&outcome, &report));
    }

    #[test]
    fn escapes() {
        assert_eq!(
            super::text("a|b **c** _d_ <e>", 100),
            "a\\|b \\*\\*c\\*\\* \\_d\\_ \\<e>"
        );
        assert_eq!(super::code("RUN a | b `x`", 100), "`RUN a \\| b 'x'`");
        assert_eq!(super::text("abcdef", 3), "abc…");
    }
}
