//! `--format html` (issue 7): one self-contained page. Styles, script and data are inline and
//! a Content-Security-Policy forbids every fetch, so the file opens offline, from a CI
//! artifact or an email attachment, and can never phone home.
//!
//! The page is data plus a hand-written script (`assets/report.js`): Rust decides *what* is
//! shown ([`Page`]: cards, the report, the file table, optional gate, recommendations,
//! Dockerfile and extra tables), the script decides *how*, rendering lazily so that an image
//! with 200k files stays responsive. `analyze` fills the report and the file table; `check`
//! adds a [`GateView`], `simulate` a [`DockerfileView`] with the steps a change rebuilds, and
//! `diff` can bring its own cards and [`TableSection`]s.
//!
//! The file table is compact: every path that exists in any layer is one node (parent, name
//! index into a string table), and each view (the final image, then each layer's changes) is
//! a set of parallel integer columns. The script rebuilds the tree as it stands after any
//! layer by folding the layers' changes, so no view is stored twice.

use super::{grouped, human, instruction, percent};
use anyhow::Result;
use layerscope_core::{Analysis, ChangeKind, EntryKind, FileRecord, Report};
use serde::Serialize;
use std::collections::HashMap;

const TEMPLATE: &str = include_str!("assets/report.html");
const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Everything one page shows. Every section but the header is optional: the script draws
/// what is present.
#[derive(Debug, Serialize)]
pub struct Page {
    /// The command that made the page (`analyze`, `check`, `simulate`, `diff`).
    command: String,
    /// Shown in the header and the browser tab.
    title: String,
    /// Producing tool and version.
    generator: String,
    /// Summary cards, in order.
    cards: Vec<Card>,
    /// The analysis report (`--format json`'s shape, minus per-item instruction copies,
    /// which the script looks up in `layers`).
    report: Option<serde_json::Value>,
    /// Each layer's instruction, made readable as in the terminal tables.
    instructions: Vec<String>,
    /// The explorer's and the treemap's data.
    files: Option<FileTable>,
    /// A gate verdict (`check`).
    gate: Option<GateView>,
    /// Recommendations, when computed (`None`: the section is not shown).
    recommendations: Option<Vec<RecommendationView>>,
    /// What all recommendations save together, each byte counted once.
    recommendations_total_bytes: Option<u64>,
    /// The Dockerfile with per-step figures (`simulate`, or `analyze` with a Dockerfile).
    dockerfile: Option<DockerfileView>,
    /// Further sortable tables (e.g. `diff`'s file changes).
    sections: Vec<TableSection>,
}

/// One summary card: a headline figure and a line of detail.
#[derive(Debug, Clone, Serialize)]
pub struct Card {
    /// Stable id (`data-testid="card-<id>"` in the page).
    pub id: String,
    /// Label above the figure.
    pub label: String,
    /// The figure, formatted (human units).
    pub value: String,
    /// Exact bytes behind `value`, shown in its tooltip.
    pub exact_bytes: Option<u64>,
    /// A line under the figure.
    pub detail: String,
    /// How the figure reads.
    pub tone: Tone,
    /// A 0..1 ratio drawn as a meter under the figure.
    pub meter: Option<f64>,
}

/// How a card's figure reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Tone {
    /// Just a figure.
    Neutral,
    /// Good news.
    Good,
    /// Worth a look.
    Warn,
    /// A problem.
    Bad,
}

/// A gate verdict (`check`): the outcome and each rule.
#[derive(Debug, Clone, Serialize)]
pub struct GateView {
    /// True when every rule passed.
    pub passed: bool,
    /// One sentence, e.g. `2 of 3 rules passed`.
    pub summary: String,
    /// The rules in evaluation order.
    pub rules: Vec<GateRuleView>,
}

/// One gate rule's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct GateRuleView {
    /// The rule, e.g. `lowestEfficiency`.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// The measured value against the limit, e.g. `65.8% < 90.0%`.
    pub detail: String,
}

/// One recommendation row.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendationView {
    /// Stable kebab-case code.
    pub code: String,
    /// What to do, in one sentence.
    pub message: String,
    /// Dockerfile line, when known.
    pub line: Option<usize>,
    /// Layer concerned, when known.
    pub layer: Option<usize>,
    /// Bytes the change would save.
    pub saving_bytes: Option<u64>,
    /// The findings whose saved bytes this one shares, one sentence each.
    pub overlaps: Vec<String>,
}

/// A Dockerfile shown line by line, with its steps' figures and, for `simulate`, the steps a
/// change rebuilds highlighted.
#[derive(Debug, Clone, Serialize)]
pub struct DockerfileView {
    /// File name as given.
    pub name: String,
    /// The text, one entry per line.
    pub lines: Vec<String>,
    /// Instructions in order.
    pub steps: Vec<StepView>,
    /// What changed (`simulate`), e.g. `src/main.rs`.
    pub change: Option<String>,
    /// Bytes of the layers the change rebuilds (`simulate`), the conditional part included.
    pub rebuild_bytes: Option<u64>,
    /// The part of `rebuild_bytes` rebuilt only if a re-run step's output differs.
    pub conditional_rebuild_bytes: Option<u64>,
}

/// One Dockerfile instruction.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    /// First line (1-based).
    pub first_line: usize,
    /// Last line (continuations and heredocs included).
    pub last_line: usize,
    /// Image layers the step made (none for metadata-only steps).
    pub layers: Vec<usize>,
    /// The step rebuilds after the simulated change.
    pub rebuilds: bool,
    /// Why, in a few words (e.g. `COPY source changed`, `below a rebuilt step`).
    pub reason: Option<String>,
}

/// An extra sortable table.
#[derive(Debug, Clone, Serialize)]
pub struct TableSection {
    /// Anchor id.
    pub id: String,
    /// Heading.
    pub title: String,
    /// A line under the heading.
    pub note: Option<String>,
    /// Columns; each row is an object keyed by the columns' keys.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<serde_json::Value>,
}

/// A column of a [`TableSection`].
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    /// Key in each row.
    pub key: String,
    /// Header.
    pub label: String,
    /// How values are shown and sorted.
    pub kind: ColumnKind,
}

/// How a [`Column`]'s values are shown and sorted.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnKind {
    /// Plain text.
    Text,
    /// A path (monospace).
    Path,
    /// A count.
    Number,
    /// Bytes (human units, exact in the tooltip).
    Bytes,
    /// Signed bytes (a delta).
    SignedBytes,
    /// A layer index (coloured swatch).
    Layer,
}

impl Page {
    /// An empty page for `command`.
    pub fn new(command: &str, title: impl Into<String>) -> Page {
        Page {
            command: command.to_string(),
            title: title.into(),
            generator: format!("layerscope {}", env!("CARGO_PKG_VERSION")),
            cards: Vec::new(),
            report: None,
            instructions: Vec::new(),
            files: None,
            gate: None,
            recommendations: None,
            recommendations_total_bytes: None,
            dockerfile: None,
            sections: Vec::new(),
        }
    }

    /// The `analyze` page: cards, layers, treemap, explorer, waste, duplicates, largest files.
    ///
    /// # Errors
    /// Only if the report cannot be serialised (never for a well-formed report).
    pub fn analysis(report: &Report, analysis: &Analysis) -> Result<Page> {
        let name = report
            .image
            .reference
            .clone()
            .unwrap_or_else(|| report.image.source.clone());
        let mut page = Page::new("analyze", name);
        page.cards = analysis_cards(report);
        page.instructions = report
            .layers
            .iter()
            .map(|l| instruction(l.created_by.as_deref()))
            .collect();
        let mut value = serde_json::to_value(report)?;
        // Each waste item repeats its layers' instructions; on an image where one `chmod -R`
        // copied 200k files that alone would be hundreds of MB. The script reads them from
        // `layers` instead; content digests are not shown (the JSON report has them).
        if let Some(items) = value.get_mut("waste").and_then(|w| w.as_array_mut()) {
            for item in items.iter_mut().filter_map(|i| i.as_object_mut()) {
                item.remove("added_by");
                item.remove("hidden_by");
                item.remove("sha256");
            }
        }
        page.report = Some(value);
        page.files = Some(FileTable::from_analysis(analysis, report.layers.len()));
        Ok(page)
    }

    /// Name the command that made the page (`check`, `simulate`, `diff`).
    pub fn command(mut self, command: &str) -> Page {
        self.command = command.to_string();
        self
    }

    /// Add a gate verdict (and its card).
    pub fn gate(mut self, gate: GateView) -> Page {
        self.cards.push(Card {
            id: "gate".into(),
            label: "Gate".into(),
            value: if gate.passed { "Passed" } else { "Failed" }.into(),
            exact_bytes: None,
            detail: gate.summary.clone(),
            tone: if gate.passed { Tone::Good } else { Tone::Bad },
            meter: None,
        });
        self.gate = Some(gate);
        self
    }

    /// Add recommendations (an empty list shows "none") and what their fixes remove from the
    /// image together, each byte counted once ([`layerscope_core::total_bytes_saved`]).
    pub fn recommendations(
        mut self,
        recs: Vec<RecommendationView>,
        total_bytes_saved: u64,
    ) -> Page {
        self.recommendations = Some(recs);
        self.recommendations_total_bytes = Some(total_bytes_saved);
        self
    }

    /// Add a Dockerfile view (and, for `simulate`, a rebuild-cost card).
    pub fn dockerfile(mut self, view: DockerfileView) -> Page {
        if let Some(bytes) = view.rebuild_bytes {
            let steps = view.steps.iter().filter(|s| s.rebuilds).count();
            let conditional = view.conditional_rebuild_bytes.unwrap_or(0);
            self.cards.push(Card {
                id: "rebuild".into(),
                label: "Rebuild cost".into(),
                value: human(bytes),
                exact_bytes: Some(bytes),
                detail: format!(
                    "{steps} of {} steps rebuild{}{}",
                    view.steps.len(),
                    view.change
                        .as_deref()
                        .map(|c| format!(" after a change to {c}"))
                        .unwrap_or_default(),
                    if conditional > 0 {
                        format!(
                            "; {} for sure, {} more only if a re-run step's output differs",
                            human(bytes - conditional),
                            human(conditional)
                        )
                    } else {
                        String::new()
                    }
                ),
                tone: if steps == 0 { Tone::Good } else { Tone::Warn },
                meter: None,
            });
        }
        self.dockerfile = Some(view);
        self
    }

    /// Add cards (e.g. `diff`'s deltas).
    pub fn cards(mut self, cards: Vec<Card>) -> Page {
        self.cards.extend(cards);
        self
    }

    /// Add a table section.
    pub fn section(mut self, section: TableSection) -> Page {
        self.sections.push(section);
        self
    }

    /// The complete HTML document.
    ///
    /// # Errors
    /// Only if the data cannot be serialised.
    pub fn render(&self) -> Result<String> {
        let data = script_safe_json(&serde_json::to_string(self)?);
        let title = format!("{} · layerscope {}", self.title, self.command);
        Ok(fill(
            TEMPLATE,
            &[
                ("{{TITLE}}", &escape_html(&title)),
                ("/*{{CSS}}*/", CSS),
                ("{{DATA}}", &data),
                ("/*{{JS}}*/", JS),
            ],
        ))
    }
}

fn analysis_cards(r: &Report) -> Vec<Card> {
    let t = &r.totals;
    let waste_ratio = layerscope_core::ratio(t.wasted_bytes, t.size_bytes).unwrap_or(0.0);
    let mut cards = vec![
        Card {
            id: "size".into(),
            label: "Image size".into(),
            value: human(t.size_bytes),
            exact_bytes: Some(t.size_bytes),
            detail: format!(
                "{} layer{}, uncompressed",
                t.layers,
                if t.layers == 1 { "" } else { "s" }
            ),
            tone: Tone::Neutral,
            meter: None,
        },
        Card {
            id: "compressed".into(),
            label: "Compressed".into(),
            value: human(t.compressed_size_bytes),
            exact_bytes: Some(t.compressed_size_bytes),
            detail: "layer blobs as stored and pulled".into(),
            tone: Tone::Neutral,
            meter: None,
        },
        Card {
            id: "final".into(),
            label: "Final filesystem".into(),
            value: human(t.final_size_bytes),
            exact_bytes: Some(t.final_size_bytes),
            detail: format!("{} files visible", grouped(t.final_files)),
            tone: Tone::Neutral,
            meter: None,
        },
        Card {
            id: "waste".into(),
            label: "Wasted".into(),
            value: human(t.wasted_bytes),
            exact_bytes: Some(t.wasted_bytes),
            detail: format!(
                "{} of shipped bytes hidden, {} item{}",
                percent(waste_ratio),
                grouped(r.waste.len() as u64),
                if r.waste.len() == 1 { "" } else { "s" }
            ),
            tone: if t.wasted_bytes == 0 {
                Tone::Good
            } else if waste_ratio >= 0.1 {
                Tone::Bad
            } else {
                Tone::Warn
            },
            meter: None,
        },
        Card {
            id: "efficiency".into(),
            label: "Efficiency".into(),
            value: percent(t.efficiency),
            exact_bytes: None,
            detail: "final ÷ shipped bytes".into(),
            // dive's default CI rule fails below 90%.
            tone: if t.efficiency >= 0.95 {
                Tone::Good
            } else if t.efficiency >= 0.9 {
                Tone::Warn
            } else {
                Tone::Bad
            },
            meter: Some(t.efficiency),
        },
        Card {
            id: "duplicates".into(),
            label: "Duplicates".into(),
            value: human(t.duplicate_bytes),
            exact_bytes: Some(t.duplicate_bytes),
            detail: format!(
                "{} group{} of identical visible files",
                grouped(r.duplicates.len() as u64),
                if r.duplicates.len() == 1 { "" } else { "s" }
            ),
            tone: if t.duplicate_bytes == 0 {
                Tone::Neutral
            } else {
                Tone::Warn
            },
            meter: None,
        },
    ];
    if r.base.base_layers > 0 {
        cards.push(Card {
            id: "user".into(),
            label: "Your layers".into(),
            value: human(r.base.user_size_bytes),
            exact_bytes: Some(r.base.user_size_bytes),
            detail: format!(
                "{} of {} layers above the base, {} wasted",
                t.layers.saturating_sub(r.base.base_layers),
                t.layers,
                human(r.base.user_wasted_bytes)
            ),
            tone: Tone::Neutral,
            meter: None,
        });
    }
    cards
}

/// Every path of every layer as a node, and each view as parallel integer columns.
#[derive(Debug, Default, Serialize)]
pub struct FileTable {
    /// Distinct path components.
    names: Vec<String>,
    /// Per node: parent node (`-1` for the root, node 0), delta-encoded (the difference from
    /// the previous node's parent: 0 for siblings). A parent always precedes its children,
    /// so the script can sum sizes in one backward pass.
    #[serde(serialize_with = "deltas")]
    parent: Vec<i64>,
    /// Per node: index into `names`, delta-encoded (new names come in node order: mostly 1).
    #[serde(serialize_with = "deltas")]
    name: Vec<i64>,
    /// The final image.
    #[serde(rename = "final")]
    final_view: View,
    /// Each layer's changes (deletions first: a layer's whiteouts apply before its entries,
    /// OCI image-spec layer.md).
    layers: Vec<View>,
    #[serde(skip)]
    name_ids: HashMap<String, u32>,
    #[serde(skip)]
    node_ids: HashMap<(u32, u32), u32>,
}

/// One view: parallel columns, one row per entry.
#[derive(Debug, Default, Serialize)]
struct View {
    /// Node ids, delta-encoded (each the difference from the previous one; mostly 1).
    node: Vec<i64>,
    /// `kind * 5 + change`: kind 0 file, 1 dir, 2 symlink, 3 hardlink, 4 char device,
    /// 5 block device, 6 fifo, 7 other; change 0 none, 1 added, 2 modified, 3 metadata
    /// only, 4 deleted.
    code: Vec<u8>,
    /// Layer of the entry, `-1` for an implicit directory (final view only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    layer: Vec<i64>,
    /// Content bytes (for a deletion: the bytes it removed).
    size: Vec<u64>,
    #[serde(skip)]
    last: i64,
}

impl View {
    fn push(&mut self, node: u32, r: &FileRecord, with_layer: bool) {
        let node = i64::from(node);
        self.node.push(node - self.last);
        self.last = node;
        self.code
            .push(kind_code(r.kind) * 5 + change_code(r.change));
        if with_layer {
            self.layer
                .push(r.layer.and_then(|l| i64::try_from(l).ok()).unwrap_or(-1));
        }
        self.size.push(r.size_bytes);
    }
}

fn kind_code(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
        EntryKind::Hardlink => 3,
        EntryKind::CharDevice => 4,
        EntryKind::BlockDevice => 5,
        EntryKind::Fifo => 6,
        _ => 7,
    }
}

fn change_code(c: Option<ChangeKind>) -> u8 {
    match c {
        None => 0,
        Some(ChangeKind::Added) => 1,
        Some(ChangeKind::Modified) => 2,
        Some(ChangeKind::MetadataOnly) => 3,
        Some(ChangeKind::Deleted) => 4,
        Some(_) => 2,
    }
}

impl FileTable {
    fn new() -> FileTable {
        let mut t = FileTable::default();
        t.intern_name("");
        t.parent.push(-1);
        t.name.push(0);
        t
    }

    /// The final view and each of `layers` layers' changes.
    pub fn from_analysis(analysis: &Analysis, layers: usize) -> FileTable {
        let mut t = FileTable::new();
        for r in analysis.tree_view(None, false) {
            let id = t.node(&r.path);
            t.final_view.push(id, &r, true);
        }
        for n in 0..layers {
            let mut records = analysis.tree_view(Some(n), true);
            records.sort_by_key(|r| r.change != Some(ChangeKind::Deleted));
            let mut view = View::default();
            for r in &records {
                let id = t.node(&r.path);
                view.push(id, r, false);
            }
            t.layers.push(view);
        }
        t
    }

    fn intern_name(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.name_ids.get(s) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(s.to_string());
        self.name_ids.insert(s.to_string(), id);
        id
    }

    /// The node of `path`, creating it and its ancestors.
    fn node(&mut self, path: &str) -> u32 {
        let mut cur = 0u32;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let name = self.intern_name(part);
            cur = match self.node_ids.get(&(cur, name)) {
                Some(&id) => id,
                None => {
                    let id = self.parent.len() as u32;
                    self.parent.push(i64::from(cur));
                    self.name.push(i64::from(name));
                    self.node_ids.insert((cur, name), id);
                    id
                }
            };
        }
        cur
    }
}

/// `[a, b, c]` as `[a, b - a, c - b]`: runs of siblings and of new names become runs of
/// small numbers, about a third of the digits for a 200k-file image.
fn deltas<S: serde::Serializer>(v: &[i64], s: S) -> std::result::Result<S::Ok, S::Error> {
    let mut prev = 0;
    s.collect_seq(v.iter().map(|x| {
        let d = x - prev;
        prev = *x;
        d
    }))
}

/// JSON inside `<script type="application/json">` ends at the first `</script`; `<!--` can
/// also change how the element is parsed (HTML spec, script data states). `<` only occurs
/// inside JSON strings, where `\u003c` means the same.
fn script_safe_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Replace each placeholder of `template` once; substituted text is never scanned again, so
/// data that happens to contain a placeholder stays data.
fn fill(template: &str, parts: &[(&str, &str)]) -> String {
    let extra: usize = parts.iter().map(|(_, v)| v.len()).sum();
    let mut out = String::with_capacity(template.len() + extra);
    let mut rest = template;
    loop {
        let next = parts
            .iter()
            .filter_map(|(k, v)| rest.find(k).map(|i| (i, *k, *v)))
            .min_by_key(|(i, _, _)| *i);
        match next {
            Some((i, k, v)) => {
                out.push_str(&rest[..i]);
                out.push_str(v);
                rest = &rest[i + k.len()..];
            }
            None => {
                out.push_str(rest);
                return out;
            }
        }
    }
}

#[cfg(test)]
#[path = "../../tests/support/chromium.rs"]
mod chromium;

#[cfg(test)]
mod tests {
    use super::*;
    use layerscope_core::{AnalysisOptions, Image};
    use std::collections::BTreeMap;

    fn demo() -> (Report, Analysis) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/image.tar");
        let image = Image::open(path).unwrap();
        let analysis = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
        (analysis.report(), analysis)
    }

    /// What the script does to show the tree after layer `n`, done here over the encoded
    /// table: it must give `tree_view(Some(n), false)` (regular files: size and layer).
    fn fold(t: &FileTable, n: usize) -> BTreeMap<String, (u64, usize)> {
        let paths: Vec<String> = (0..t.parent.len())
            .map(|mut i| {
                let mut parts = Vec::new();
                while i > 0 {
                    parts.push(t.names[t.name[i] as usize].as_str());
                    i = t.parent[i] as usize;
                }
                parts.reverse();
                parts.join("/")
            })
            .collect();
        let mut state: BTreeMap<String, (u8, u64, usize)> = BTreeMap::new();
        for (l, v) in t.layers.iter().enumerate().take(n + 1) {
            let mut node = 0i64;
            for ((d, code), size) in v.node.iter().zip(&v.code).zip(&v.size) {
                node += d;
                let path = paths[node as usize].clone();
                if code % 5 == 4 {
                    state.remove(&path);
                } else {
                    state.insert(path, (code / 5, *size, l));
                }
            }
        }
        state
            .into_iter()
            .filter(|(_, (kind, _, _))| *kind == 0)
            .map(|(p, (_, size, l))| (p, (size, l)))
            .collect()
    }

    #[test]
    fn folding_layer_changes_gives_each_layers_tree() {
        let (report, analysis) = demo();
        let t = FileTable::from_analysis(&analysis, report.layers.len());
        assert_eq!(t.layers.len(), 7);
        for n in 0..report.layers.len() {
            let expected: BTreeMap<String, (u64, usize)> = analysis
                .tree_view(Some(n), false)
                .into_iter()
                .filter(|r| r.kind == EntryKind::File && r.change != Some(ChangeKind::Deleted))
                .map(|r| (r.path, (r.size_bytes, r.layer.unwrap_or(usize::MAX))))
                .collect();
            assert_eq!(fold(&t, n), expected, "layer {n}");
        }
        // The final view is stored as is.
        let final_files: u64 = t.final_view.code.iter().filter(|c| **c / 5 != 1).count() as u64;
        assert_eq!(final_files, report.totals.final_files);
        assert_eq!(
            t.final_view.size.iter().sum::<u64>(),
            report.totals.final_size_bytes
        );
        // Layer 3 (an opaque directory) lists its deletions first.
        let codes = &t.layers[3].code;
        let first_kept = codes.iter().position(|c| c % 5 != 4).unwrap();
        assert!(codes[..first_kept].len() >= 2);
        assert!(codes[first_kept..].iter().all(|c| c % 5 != 4));
    }

    #[test]
    fn analysis_page_embeds_the_report() {
        let (report, analysis) = demo();
        let html = Page::analysis(&report, &analysis)
            .unwrap()
            .render()
            .unwrap();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(
            html.contains("<title>localhost/overwrite-opaque:latest · layerscope analyze</title>")
        );
        let open = "type=\"application/json\">";
        let start = html.find(open).unwrap() + open.len();
        let end = start + html[start..].find("</script>").unwrap();
        let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
        assert_eq!(data["report"]["totals"]["wasted_bytes"], 1_572_871);
        assert_eq!(data["report"]["waste"][0]["path"], "data/big.bin");
        assert!(data["report"]["waste"][0].get("added_by").is_none());
        assert_eq!(data["cards"][3]["id"], "waste");
        assert_eq!(data["cards"][3]["exact_bytes"], 1_572_871);
        assert_eq!(data["instructions"][4], "RUN rm /data/blob.bin");
        assert!(data["gate"].is_null() && data["recommendations"].is_null());
    }

    /// The parts other commands bring (gate, Dockerfile with rebuilt steps, recommendations,
    /// extra tables), drawn by Chromium. LAYERSCOPE_CHROMIUM (see tests/html_browser.rs).
    #[test]
    fn check_and_simulate_sections_in_chromium() {
        let Some(browser) = chromium::Browser::new("check_and_simulate_sections_in_chromium")
        else {
            return;
        };
        let (report, analysis) = demo();
        let text = include_str!("../../../examples/demo/Dockerfile");
        // examples/demo/Dockerfile: line -> the layer each instruction made.
        let steps = [
            (1, 1, vec![]),
            (2, 6, vec![1]),
            (8, 8, vec![2]),
            (10, 10, vec![3]),
            (12, 12, vec![4]),
            (14, 14, vec![5]),
            (15, 15, vec![6]),
            (16, 16, vec![]),
        ];
        let view = DockerfileView {
            name: "Dockerfile".into(),
            lines: text.lines().map(str::to_string).collect(),
            steps: steps
                .into_iter()
                .map(|(first_line, last_line, layers)| StepView {
                    first_line,
                    last_line,
                    layers,
                    rebuilds: first_line >= 15,
                    reason: (first_line == 15)
                        .then(|| "COPY source changed".to_string())
                        .or_else(|| (first_line > 15).then(|| "below a rebuilt step".into())),
                })
                .collect(),
            change: Some("conf.d/a.conf".into()),
            rebuild_bytes: Some(4),
            conditional_rebuild_bytes: Some(0),
        };
        let page = Page::analysis(&report, &analysis)
            .unwrap()
            .command("simulate")
            .gate(GateView {
                passed: false,
                summary: "1 of 2 rules failed".into(),
                rules: vec![
                    GateRuleView {
                        name: "lowest-efficiency".into(),
                        passed: false,
                        detail: "65.8% is below 90.0%".into(),
                    },
                    GateRuleView {
                        name: "highest-wasted-bytes".into(),
                        passed: true,
                        detail: "1.6 MB is within 20.0 MB".into(),
                    },
                ],
            })
            .recommendations(
                vec![
                    RecommendationView {
                        code: "deleted-in-later-layer".into(),
                        message: "Remove /data/blob.bin in the RUN that creates it".into(),
                        line: Some(2),
                        layer: Some(1),
                        saving_bytes: Some(524_288),
                        overlaps: Vec::new(),
                    },
                    RecommendationView {
                        code: "metadata-copy-up".into(),
                        message: "Write /data/big.bin once".into(),
                        line: Some(14),
                        layer: Some(5),
                        saving_bytes: Some(1_048_576),
                        overlaps: Vec::new(),
                    },
                ],
                1_572_864,
            )
            .dockerfile(view)
            .section(TableSection {
                id: "changes".into(),
                title: "File changes".into(),
                note: Some("against the previous build".into()),
                columns: vec![
                    Column {
                        key: "delta".into(),
                        label: "Delta".into(),
                        kind: ColumnKind::SignedBytes,
                    },
                    Column {
                        key: "path".into(),
                        label: "Path".into(),
                        kind: ColumnKind::Path,
                    },
                ],
                rows: vec![
                    serde_json::json!({"delta": -524288, "path": "data/blob.bin"}),
                    serde_json::json!({"delta": 2, "path": "etc/app/conf.d/a.conf"}),
                ],
            });
        let file = chromium::artifacts().join("simulate.html");
        std::fs::write(&file, page.render().unwrap()).unwrap();
        let dom = browser.dump_dom(&file, "", 5000);
        let t = chromium::tags(&dom);
        let body = t.iter().find(|x| x.name == "body").unwrap();
        assert_eq!(body.get("data-error"), None);
        let verdict = t
            .iter()
            .find(|x| x.get("data-testid") == Some("gate-verdict"))
            .unwrap();
        assert_eq!(chromium::text_after(&dom, verdict), "failed");
        let at = t
            .iter()
            .position(|x| x.get("data-testid") == Some("card-rebuild"))
            .unwrap();
        let value = t[at..].iter().find(|x| x.has_class("value")).unwrap();
        assert_eq!(value.num("data-bytes"), Some(4.0));
        let rebuilt: Vec<&str> = t
            .iter()
            .filter(|x| x.get("data-rebuilds") == Some("1"))
            .filter_map(|x| x.get("data-line"))
            .collect();
        assert_eq!(rebuilt, ["15", "16"]);
        // One bar per instruction, the base image's layer first.
        let bars: Vec<&str> = t
            .iter()
            .filter(|x| x.has_class("lrow"))
            .filter_map(|x| x.get("data-layers"))
            .collect();
        assert_eq!(bars, ["0", "1", "2", "3", "4", "5", "6"]);
        for (table, n) in [
            ("recommendations-table", 2),
            ("changes-table", 2),
            ("gate-table", 2),
        ] {
            let start = t.iter().position(|x| x.get("id") == Some(table)).unwrap();
            let rows = t[start..]
                .iter()
                .skip_while(|x| x.name != "tbody")
                .take_while(|x| !x.has_class("tfoot"))
                .filter(|x| x.name == "tr")
                .count();
            assert_eq!(rows, n, "{table}");
        }
        let dir = chromium::artifacts();
        browser.screenshot(&file, "", &dir.join("simulate.png"), 1400, 1800);
        browser.screenshot(
            &file,
            "section=dockerfile",
            &dir.join("simulate-dockerfile.png"),
            1400,
            800,
        );
    }

    #[test]
    fn assets_cannot_close_their_elements() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
        for p in ["{{TITLE}}", "/*{{CSS}}*/", "{{DATA}}", "/*{{JS}}*/"] {
            assert_eq!(TEMPLATE.matches(p).count(), 1, "{p}");
        }
    }

    #[test]
    fn data_cannot_end_the_script_element() {
        let s = script_safe_json(r#"{"p":"</script><!--x"}"#);
        assert!(!s.contains('<'));
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["p"], "</script><!--x");
    }

    #[test]
    fn placeholders_in_data_stay_data() {
        let out = fill("a{{X}}b{{Y}}c", &[("{{X}}", "{{Y}}"), ("{{Y}}", "y")]);
        assert_eq!(out, "a{{Y}}byc");
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn nodes_share_parents_and_precede_children() {
        let mut t = FileTable::new();
        let a = t.node("etc/app/config.txt");
        let b = t.node("etc/app/conf.d");
        let c = t.node("etc");
        assert_eq!(c, 1);
        assert_eq!(t.parent.len(), 5);
        assert!(a > 2 && b > 2);
        for (i, p) in t.parent.iter().enumerate().skip(1) {
            assert!(*p < i as i64);
        }
        assert_eq!(t.names, ["", "etc", "app", "config.txt", "conf.d"]);
    }
}
