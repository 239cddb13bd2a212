//! JSON output: the versioned report, pretty-printed with a trailing newline.

use anyhow::Result;

/// Serialize any report.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}
