//! JSON output: the versioned report, pretty-printed with a trailing newline.

use anyhow::Result;

/// Serialize any report.
pub fn to_string<T: serde::Serialize>(value: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(value)?;
    s.push('\n');
    Ok(s)
}

/// Serialize straight to a file or standard output, without building the text first.
pub fn write<T: serde::Serialize>(path: Option<&std::path::Path>, value: &T) -> Result<()> {
    use anyhow::Context;
    use std::io::Write;
    let sink: Box<dyn Write> = match path {
        Some(p) => Box::new(
            std::fs::File::create(p).with_context(|| format!("cannot write {}", p.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, sink);
    serde_json::to_writer_pretty(&mut out, value)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}
