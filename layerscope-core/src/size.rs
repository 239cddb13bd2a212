//! Byte sizes as users write them: `20MB` (SI, 10^6, as dive reads it), `20MiB` (2^20),
//! `1.5GB`, `512k`, or plain bytes.

use crate::error::{Error, Result};

/// Parse a byte size. Units are case-insensitive: `B`, `k`/`kB`/`KB` (10^3), `M`/`MB`,
/// `G`/`GB`, `T`/`TB`, and the binary `KiB`, `MiB`, `GiB`, `TiB`.
///
/// # Errors
/// Anything that is not a non-negative number with one of those units.
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = |reason: &str| Error::Config {
        source_name: format!("size {text:?}"),
        reason: reason.to_string(),
        source: None,
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    if num.is_empty() {
        return Err(bad("expected a number, e.g. 20MB, 20MiB or 1048576"));
    }
    let value: f64 = num.parse().map_err(|_| bad("not a number"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "ki" | "kib" => 1024.0,
        "mi" | "mib" => 1024.0 * 1024.0,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "ti" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(bad(
                "unknown unit (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)",
            ));
        }
    };
    let bytes = value * mult;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(bad("out of range"));
    }
    Ok(bytes.round() as u64)
}

/// `1.5 MB`-style size in SI units (as `docker images` prints them); exact bytes belong in
/// JSON.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    match UNITS.get(u) {
        Some(unit) if u > 0 => format!("{v:.1} {unit}"),
        _ => format!("{bytes} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_size("20MB").unwrap(), 20_000_000);
        assert_eq!(parse_size("20MiB").unwrap(), 20 * 1024 * 1024);
        assert_eq!(parse_size("1.5GB").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("512k").unwrap(), 512_000);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size(" 7 kib ").unwrap(), 7168);
        assert!(parse_size("MB").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("1.2.3MB").is_err());
    }
}
