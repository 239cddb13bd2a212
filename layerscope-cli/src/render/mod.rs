//! The only place that formats output.

pub mod fleet;
pub mod gate;
pub mod grid;
pub mod html;
pub mod html_views;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod table;
pub mod tree;

use std::io::IsTerminal;

/// Where text output goes: whether to colour it and how wide tables may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// ANSI colours and bold.
    pub color: bool,
    /// Columns tables fit into.
    pub width: u16,
}

/// Tables written to a file or a pipe get this width, so output does not depend on
/// whoever ran the command.
const FIXED_WIDTH: u16 = 120;

/// Colour on a terminal, never when writing a file or when `NO_COLOR` is set
/// (<https://no-color.org>); tables fit the terminal, or [`FIXED_WIDTH`] off a terminal.
/// Colour and width are decided apart: `NO_COLOR` on a narrow terminal still fits it.
pub fn term_for(to_file: bool) -> Term {
    let tty = !to_file && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let width = if tty {
        // comfy-table asks the terminal (crossterm) when stdout is one.
        comfy_table::Table::new()
            .width()
            .filter(|w| *w > 0)
            .unwrap_or(FIXED_WIDTH)
    } else {
        FIXED_WIDTH
    };
    Term {
        color: tty && !no_color,
        width: width.max(60),
    }
}

/// Sizes and percentages as every output prints them (the core's one units module):
/// `human` = `1.5 MB` (SI, as `docker images` prints), `percent` = a ratio as `65.8%`.
pub use layerscope_core::{format_percent as percent, format_size as human};

/// `12,345,678`.
pub fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first 12 hex digits of a digest.
pub fn short_digest(d: &str) -> String {
    let hex = d.split_once(':').map_or(d, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// A history instruction made readable: builder prefixes and suffixes stripped.
pub fn instruction(created_by: Option<&str>) -> String {
    let Some(s) = created_by else {
        return String::from("-");
    };
    let mut s = s.trim();
    if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop) ") {
        s = rest.trim();
    } else if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        return format!("RUN {}", rest.trim().trim_end_matches(" # buildkit"));
    }
    shorten_content_hashes(s.trim_end_matches(" # buildkit"))
}

/// `COPY dir:<64 hex> in /x` -> `COPY dir:<12 hex> in /x`: the classic builder and buildah
/// hide sources behind content hashes; 12 digits identify them well enough on screen.
fn shorten_content_hashes(s: &str) -> String {
    s.split(' ')
        .map(|w| match w.split_once(':') {
            Some((kind @ ("dir" | "file" | "multi"), hex))
                if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                format!("{kind}:{}", &hex[..12])
            }
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a finding points: `line N`, `layer N` or `image`.
pub fn finding_place(line: Option<usize>, layer: Option<usize>) -> String {
    match (line, layer) {
        (Some(l), _) => format!("line {l}"),
        (None, Some(l)) => format!("layer {l}"),
        _ => "image".into(),
    }
}

/// One sentence per finding whose saved bytes a finding shares (`bytes_saved`: the
/// finding's own saving): `alternative to use-cache-mount (line 4): the same 93.0 kB`,
/// `overlaps deleted-in-later-layer (layer 3): 50 B counted in both`.
pub fn overlap_notes(bytes_saved: u64, overlaps: &[layerscope_core::Overlap]) -> Vec<String> {
    overlaps
        .iter()
        .map(|o| {
            let place = finding_place(o.line, o.layer);
            let shared = if o.shared_bytes == bytes_saved {
                format!("the same {}", human(o.shared_bytes))
            } else {
                format!("{} of it", human(o.shared_bytes))
            };
            match o.relation {
                layerscope_core::Relation::Alternative => {
                    format!("alternative to {} ({place}): {shared}", o.code)
                }
                _ => format!(
                    "overlaps {} ({place}): {} counted in both",
                    o.code,
                    human(o.shared_bytes)
                ),
            }
        })
        .collect()
}

/// The line under a list of findings: what all fixes save together, each byte counted once,
/// and the plain sum of the rows when they overlap. `None` when nothing saves image bytes.
pub fn savings_total(total: u64, findings: &[layerscope_core::Finding]) -> Option<String> {
    if total == 0 {
        return None;
    }
    let image_rows: u64 = findings
        .iter()
        .filter(|f| !f.saved_items().is_empty())
        .map(|f| f.bytes_saved)
        .sum();
    let mut line = if image_rows > total {
        format!(
            "All fixes together remove {} from the image, each byte counted once (the rows add up to {}: some findings overlap or are alternatives).",
            human(total),
            human(image_rows)
        )
    } else {
        format!("All fixes together remove {} from the image.", human(total))
    };
    if findings
        .iter()
        .any(|f| f.per.is_some() && f.bytes_saved > 0)
    {
        line.push_str(" Savings per change (rebuilt bytes) are not part of it.");
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1_500_000), "1.5 MB");
        assert_eq!(grouped(1234567), "1,234,567");
        assert_eq!(grouped(12), "12");
        assert_eq!(short_digest("sha256:0123456789abcdef"), "0123456789ab");
        assert_eq!(
            instruction(Some("/bin/sh -c #(nop) COPY dir:ab in . ")),
            "COPY dir:ab in ."
        );
        assert_eq!(instruction(Some("/bin/sh -c echo hi")), "RUN echo hi");
    }
}
