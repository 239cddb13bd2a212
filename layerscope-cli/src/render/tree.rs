//! `layerscope tree`: an indented listing with change markers and sizes, or JSON.

use super::{Term, human};
use layerscope_core::{ChangeKind, EntryKind, FileRecord, ImageFigures, ImageInfo, SCHEMA_VERSION};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt::Write as _;

/// The JSON form of a tree listing.
#[derive(Serialize)]
pub struct TreeJson<'a> {
    schema_version: u32,
    image: &'a ImageInfo,
    /// The layer shown (`null`: the final image).
    layer: Option<usize>,
    created_by: Option<&'a str>,
    entries: &'a [FileRecord],
}

impl<'a> TreeJson<'a> {
    pub fn new(report: &'a ImageFigures, layer: Option<usize>, entries: &'a [FileRecord]) -> Self {
        let created_by = layer
            .and_then(|n| report.layers.get(n))
            .and_then(|l| l.created_by.as_deref());
        TreeJson {
            schema_version: SCHEMA_VERSION,
            image: &report.image,
            layer,
            created_by,
            entries,
        }
    }
}

fn marker(c: Option<ChangeKind>) -> &'static str {
    match c {
        Some(ChangeKind::Added) => "+",
        Some(ChangeKind::Modified) => "~",
        Some(ChangeKind::MetadataOnly) => "m",
        Some(ChangeKind::Deleted) => "-",
        _ => " ",
    }
}

/// Indented text: marker, size (directories: the bytes below them), layer, name.
pub fn text(entries: &[FileRecord], layer: Option<usize>, term: Term) -> String {
    let color = term.color;
    let mut dir_sizes: HashMap<&str, u64> = HashMap::new();
    for e in entries
        .iter()
        .filter(|e| e.kind != EntryKind::Dir && e.change != Some(ChangeKind::Deleted))
    {
        let mut p = e.path.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            *dir_sizes.entry(p).or_default() += e.size_bytes;
        }
    }
    let mut out = String::new();
    if layer.is_some() {
        let _ = writeln!(
            out,
            "markers: + added  ~ modified  m metadata only  - deleted (size = bytes removed)"
        );
    }
    let _ = writeln!(out, "  {:>9}  {:>5}  PATH", "SIZE", "LAYER");
    for e in entries {
        let depth = e.path.matches('/').count();
        let name = e.path.rsplit('/').next().unwrap_or(&e.path);
        let size = if e.kind == EntryKind::Dir && e.change != Some(ChangeKind::Deleted) {
            dir_sizes.get(e.path.as_str()).copied().unwrap_or(0)
        } else {
            e.size_bytes
        };
        let suffix = if e.kind == EntryKind::Dir { "/" } else { "" };
        let layer_col = e.layer.map_or("-".to_string(), |l| l.to_string());
        let m = marker(e.change);
        let line = format!(
            "{m} {:>9}  {layer_col:>5}  {}{name}{suffix}",
            human(size),
            "  ".repeat(depth)
        );
        if color {
            let code = match e.change {
                Some(ChangeKind::Added) => "32",
                Some(ChangeKind::Modified) => "33",
                Some(ChangeKind::MetadataOnly) => "36",
                Some(ChangeKind::Deleted) => "31",
                _ => "",
            };
            if code.is_empty() {
                let _ = writeln!(out, "{line}");
            } else {
                let _ = writeln!(out, "\u{1b}[{code}m{line}\u{1b}[0m");
            }
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}
