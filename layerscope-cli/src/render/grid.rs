//! One table, three outputs: a [`Grid`] is declared once (columns and typed cells) and
//! written as a terminal table, a Markdown table or a section of the HTML page, so a
//! command's tables are not written again for each format.

use super::html::{Column, ColumnKind, TableSection};
use super::markdown::{code, text};
use super::table::{bold, keep_whole, right, table};
use super::{Term, grouped, human};
use comfy_table::{Cell, Table};
use std::fmt::Write as _;

/// One cell.
#[derive(Debug, Clone)]
pub enum Val {
    /// Free text.
    Text(String),
    /// A path, a digest or a name (monospace in Markdown and HTML).
    Path(String),
    /// A count or an index.
    Count(u64),
    /// Bytes (human units in text; exact in HTML, human in its cell).
    Bytes(u64),
    /// Signed bytes (a delta).
    Signed(i64),
    /// No value (`-` in text, `null` in HTML).
    Missing,
}

impl Val {
    /// A count from a `usize`.
    pub fn count(n: usize) -> Val {
        Val::Count(n as u64)
    }

    /// Bytes when known.
    pub fn bytes(b: Option<u64>) -> Val {
        b.map_or(Val::Missing, Val::Bytes)
    }

    fn plain(&self) -> String {
        match self {
            Val::Text(s) | Val::Path(s) => s.clone(),
            Val::Count(n) => grouped(*n),
            Val::Bytes(b) => human(*b),
            Val::Signed(v) => {
                let sign = if *v < 0 { "-" } else { "+" };
                format!("{sign}{}", human(v.unsigned_abs()))
            }
            Val::Missing => "-".into(),
        }
    }

    fn json(&self) -> serde_json::Value {
        match self {
            Val::Text(s) | Val::Path(s) => s.clone().into(),
            Val::Count(n) => (*n).into(),
            Val::Bytes(b) => (*b).into(),
            Val::Signed(v) => (*v).into(),
            Val::Missing => serde_json::Value::Null,
        }
    }
}

/// A titled table: columns (key, label, kind) and rows of cells, one per column.
#[derive(Debug, Clone)]
pub struct Grid {
    id: String,
    title: String,
    note: Option<String>,
    columns: Vec<Column>,
    rows: Vec<Vec<Val>>,
}

fn numeric(kind: ColumnKind) -> bool {
    matches!(
        kind,
        ColumnKind::Number | ColumnKind::Bytes | ColumnKind::SignedBytes | ColumnKind::Layer
    )
}

impl Grid {
    /// An empty table; `id` anchors its HTML section.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Grid {
        Grid {
            id: id.into(),
            title: title.into(),
            note: None,
            columns: Vec::new(),
            rows: Vec::new(),
        }
    }

    /// A line under the title.
    pub fn note(mut self, note: impl Into<String>) -> Grid {
        self.note = Some(note.into());
        self
    }

    /// Add a column; `key` names it in the HTML page's data.
    pub fn column(mut self, key: &str, label: &str, kind: ColumnKind) -> Grid {
        self.columns.push(Column {
            key: key.into(),
            label: label.into(),
            kind,
        });
        self
    }

    /// Add rows, one cell per column.
    pub fn rows(mut self, rows: impl IntoIterator<Item = Vec<Val>>) -> Grid {
        self.rows.extend(rows);
        self
    }

    /// Whether it has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The title and its note on one line (the heading of the text outputs).
    pub fn heading(&self) -> String {
        match &self.note {
            Some(n) => format!("{} ({n}):", self.title),
            None => format!("{}:", self.title),
        }
    }

    /// A terminal table: numbers right-aligned and kept on one line.
    pub fn table(&self, term: Term) -> Table {
        let mut t = table(term);
        t.set_header(
            self.columns
                .iter()
                .map(|c| bold(&c.label, term.color))
                .collect::<Vec<_>>(),
        );
        for row in &self.rows {
            t.add_row(
                row.iter()
                    .zip(&self.columns)
                    .map(|(v, c)| {
                        if numeric(c.kind) {
                            right(v.plain())
                        } else {
                            Cell::new(v.plain())
                        }
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let whole: Vec<usize> = (0..self.columns.len())
            .filter(|&i| numeric(self.columns[i].kind))
            .collect();
        keep_whole(&mut t, term, &whole);
        t
    }

    /// A Markdown table under a `###` heading.
    pub fn markdown(&self) -> String {
        let mut s = format!("\n### {}\n\n", text(&self.title, 200));
        if let Some(n) = &self.note {
            let _ = write!(s, "{}\n\n", text(n, 400));
        }
        let labels: Vec<String> = self.columns.iter().map(|c| text(&c.label, 60)).collect();
        let aligns: Vec<&str> = self
            .columns
            .iter()
            .map(|c| if numeric(c.kind) { "---:" } else { "---" })
            .collect();
        let _ = writeln!(s, "| {} |\n|{}|", labels.join(" | "), aligns.join("|"));
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|v| match v {
                    Val::Path(p) => code(p, 160),
                    v => text(&v.plain(), 300),
                })
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s
    }

    /// The HTML page's sortable table.
    pub fn section(self) -> TableSection {
        let rows = self
            .rows
            .iter()
            .map(|row| {
                serde_json::Value::Object(
                    self.columns
                        .iter()
                        .zip(row)
                        .map(|(c, v)| (c.key.clone(), v.json()))
                        .collect(),
                )
            })
            .collect();
        TableSection {
            id: self.id,
            title: self.title,
            note: self.note,
            columns: self.columns,
            rows,
        }
    }
}
