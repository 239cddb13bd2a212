//! `check --format junit`: JUnit XML as CI test reports read it (GitLab, Jenkins, GitHub
//! test-report actions): one test suite for the image, one test case per rule; a failed rule
//! is a `<failure>` listing its offenders, an off or inapplicable rule is `<skipped>`.

use super::gate::{measured, threshold};
use layerscope_core::{GateOutcome, Report, RuleStatus};
use std::fmt::Write;

/// Text safe in XML 1.0 content and attribute values: the five entities escaped, line
/// breaks kept as character references in attributes, other control characters (not
/// allowed in XML 1.0) replaced.
fn escape(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || matches!(c, '\u{FFFE}' | '\u{FFFF}') => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The XML document.
pub fn check(o: &GateOutcome, r: &Report) -> String {
    let tests = o.rules.len();
    let failures = o.failed().count();
    let skipped = o.skipped().count();
    let counts = format!(r#"tests="{tests}" failures="{failures}" errors="0" skipped="{skipped}""#);
    let name = r.image.reference.as_deref().unwrap_or(&r.image.source);
    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(s, r#"<testsuites name="layerscope check" {counts}>"#);
    let _ = writeln!(
        s,
        r#"  <testsuite name="{}" {counts}>"#,
        escape(&format!("layerscope check {name}"), true)
    );
    let _ = writeln!(s, "    <properties>");
    let mut props: Vec<(&str, String)> = vec![
        ("image", r.image.source.clone()),
        (
            "config",
            o.config
                .source
                .clone()
                .unwrap_or_else(|| "dive defaults".into()),
        ),
    ];
    if let Some(c) = &o.comparison {
        props.push(("baseline", c.baseline.clone()));
    }
    if let Some(df) = &o.dockerfile {
        props.push(("dockerfile", df.clone()));
    }
    for (k, v) in props {
        let _ = writeln!(
            s,
            r#"      <property name="{k}" value="{}"/>"#,
            escape(&v, true)
        );
    }
    let _ = writeln!(s, "    </properties>");
    for rule in &o.rules {
        let _ = write!(
            s,
            r#"    <testcase classname="layerscope.check" name="{}">"#,
            escape(rule.id.as_str(), true)
        );
        match rule.status {
            RuleStatus::Pass => {
                let _ = write!(
                    s,
                    "\n      <system-out>{}</system-out>\n    ",
                    escape(&rule.message, false)
                );
            }
            RuleStatus::Skip => {
                let _ = write!(
                    s,
                    "\n      <skipped message=\"{}\"/>\n    ",
                    escape(&rule.message, true)
                );
            }
            RuleStatus::Fail => {
                let mut body = format!(
                    "threshold: {}\nmeasured: {}\n",
                    threshold(rule),
                    measured(rule)
                );
                for off in &rule.offenders {
                    let at = off
                        .line
                        .map_or(String::new(), |n| format!(" (Dockerfile line {n})"));
                    let _ = writeln!(body, "- {}{at}", off.message);
                }
                if rule.offenders_omitted > 0 {
                    let _ = writeln!(body, "- ... and {} more", rule.offenders_omitted);
                }
                let _ = write!(
                    s,
                    "\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    ",
                    escape(rule.id.as_str(), true),
                    escape(&rule.message, true),
                    escape(&body, false)
                );
            }
        }
        let _ = writeln!(s, "</testcase>");
    }
    let _ = writeln!(s, "  </testsuite>");
    let _ = writeln!(s, "</testsuites>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            escape("a<b & \"c\"\n\u{1}", true),
            "a&lt;b &amp; &quot;c&quot;&#10;\u{FFFD}"
        );
        assert_eq!(escape("x\ny", false), "x\ny");
    }
}
