//! Gate values as every `check` format writes them (thresholds, measured values, verdict).

use super::{human, percent};
pub use layerscope_core::format_signed_percent as signed_percent;
use layerscope_core::{Amount, GateOutcome, RuleId, RuleResult, SkipReason, Unit};
use layerscope_core::{format_number, format_signed_size};

/// A change in bytes: `+1.2 MB`, `-3 B`; no change reads `0 B` (no sign) in every `check`
/// format.
pub fn signed_bytes(change: i64) -> String {
    if change == 0 {
        human(0)
    } else {
        format_signed_size(change)
    }
}

/// The outcome in the CLI's terms: a rule skipped for want of an input says which flag
/// gives it. Every `check` format (JSON included) writes the message phrased here.
pub fn in_cli_terms(mut outcome: GateOutcome) -> GateOutcome {
    for rule in &mut outcome.rules {
        if let Some(reason) = rule.skip_reason {
            rule.message = skip_reason(reason);
        }
    }
    outcome
}

/// Why a rule was skipped, naming the flag that supplies what it needs.
fn skip_reason(reason: SkipReason) -> String {
    match reason {
        SkipReason::NoBaseline => "needs a baseline report (--baseline)".to_string(),
        SkipReason::NoDockerfile => {
            "needs the Dockerfile (`dockerfile` in the config, or --dockerfile)".to_string()
        }
        other => other.to_string(),
    }
}

/// A percentage as the user wrote it: `5%`, `2.5%`.
fn written_percent(p: f64) -> String {
    format!("{}%", format_number(p))
}

/// The configured limit, with its direction: `≥ 90.0%`, `≤ 20.0 MB`, `-` when off.
pub fn threshold(r: &RuleResult) -> String {
    let op = if r.id == RuleId::LowestEfficiency {
        "≥"
    } else {
        "≤"
    };
    let value = match (r.unit, r.threshold) {
        (_, None) => return "-".to_string(),
        (Unit::Bytes, Some(Amount::Unsigned(b))) if r.id.is_growth() => {
            format!("+{}", human(b))
        }
        (Unit::Percent, Some(Amount::Float(p))) if r.id.is_growth() => {
            format!("+{}", written_percent(p))
        }
        (unit, Some(a)) => value(unit, a),
    };
    format!("{op} {value}")
}

/// The measured value, `-` when nothing was measured.
pub fn measured(r: &RuleResult) -> String {
    match (r.unit, r.measured) {
        (_, None) => "-".to_string(),
        (Unit::Percent, Some(Amount::Float(p))) => signed_percent(p),
        (unit, Some(a)) => value(unit, a),
    }
}

fn value(unit: Unit, a: Amount) -> String {
    match (unit, a) {
        (Unit::Bytes, Amount::Unsigned(b)) => human(b),
        (Unit::Bytes, Amount::Signed(c)) => signed_bytes(c),
        (Unit::Ratio, Amount::Float(r)) => percent(r),
        (Unit::Percent, Amount::Float(p)) => written_percent(p),
        (_, Amount::Unsigned(n)) => n.to_string(),
        (_, Amount::Signed(n)) => n.to_string(),
        (_, Amount::Float(f)) => f.to_string(),
    }
}

/// One line: `FAIL: 2 of 3 rules failed (a, b)` or `pass: 3 rules passed, 1 skipped`.
pub fn summary(o: &GateOutcome) -> String {
    let failed: Vec<&str> = o.failed().map(|r| r.id.as_str()).collect();
    let skipped = o.skipped().count();
    let evaluated = o.rules.len() - skipped;
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    if failed.is_empty() {
        format!("pass: {evaluated} rule(s) passed{skipped}")
    } else {
        format!(
            "FAIL: {} of {evaluated} rule(s) failed ({}){skipped}",
            failed.len(),
            failed.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs() {
        assert_eq!(signed_bytes(1_500_000), "+1.5 MB");
        assert_eq!(signed_bytes(-3), "-3 B");
        assert_eq!(signed_bytes(0), "0 B");
        assert_eq!(signed_percent(20.94), "+20.9%");
        assert_eq!(signed_percent(-0.04), "-0.0%");
        assert_eq!(written_percent(5.0), "5%");
        assert_eq!(written_percent(2.5), "2.5%");
    }
}
