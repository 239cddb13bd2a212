//! Units, read and written in one place for the core and the CLI: byte sizes as users write
//! them (`20MB` = 20 * 10^6, as dive reads it; `20MiB` = 20 * 2^20; `1.5GB`, `512k`, plain
//! bytes), and sizes, signed changes and percentages as every output prints them. Exact
//! numbers belong in JSON; these strings are for people.

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

/// A change in bytes with its sign: `+1.5 MB`, `-3 B`, `+0 B`.
pub fn format_signed_size(change: i64) -> String {
    let sign = if change < 0 { "-" } else { "+" };
    format!("{sign}{}", format_size(change.unsigned_abs()))
}

/// A ratio (0.658) as a percentage with one decimal: `65.8%`.
pub fn format_percent(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A change already in percent (20.94) with its sign and one decimal: `+20.9%`, `-0.0%`.
pub fn format_signed_percent(percent: f64) -> String {
    if percent >= 0.0 {
        format!("+{percent:.1}%")
    } else {
        format!("{percent:.1}%")
    }
}

/// A threshold as the user wrote it: `5`, `2.5` (no trailing `.0`).
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// `part / whole`, `None` when `whole` is 0 (never NaN): efficiency, waste shares.
pub fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// `after - before` in bytes, saturated to the range of `i64` (sizes are `u64`).
pub fn signed_difference(before: u64, after: u64) -> i64 {
    let d = i128::from(after) - i128::from(before);
    i64::try_from(d).unwrap_or(if d < 0 { i64::MIN } else { i64::MAX })
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

    #[test]
    fn formats() {
        assert_eq!(format_size(999), "999 B");
        assert_eq!(format_size(1000), "1.0 kB");
        assert_eq!(format_size(1_500_000), "1.5 MB");
        assert_eq!(format_signed_size(1_500_000), "+1.5 MB");
        assert_eq!(format_signed_size(-3), "-3 B");
        assert_eq!(format_signed_size(0), "+0 B");
        assert_eq!(format_signed_size(i64::MIN), "-9223.4 PB");
        assert_eq!(format_percent(0.6578), "65.8%");
        assert_eq!(format_signed_percent(20.94), "+20.9%");
        assert_eq!(format_signed_percent(-0.04), "-0.0%");
        assert_eq!(format_number(5.0), "5");
        assert_eq!(format_number(2.5), "2.5");
        assert_eq!(ratio(10, 1010), Some(10.0 / 1010.0));
        assert_eq!(ratio(1, 0), None);
        assert_eq!(signed_difference(10, 3), -7);
        assert_eq!(signed_difference(0, u64::MAX), i64::MAX);
        assert_eq!(signed_difference(u64::MAX, 0), i64::MIN);
    }
}
