//! `check --format sarif`: SARIF 2.1.0 (OASIS) for code-scanning annotations. Each failed
//! rule gives one result per offender (or one for the image), and each shown recommendation
//! one result; results sit on the Dockerfile line that made the layer when the Dockerfile is
//! known, on the final stage's `FROM` for image-wide results, and have no location without a
//! Dockerfile. Every configured rule is listed in the driver's `rules`.

use super::gate::{measured, threshold};
use anyhow::Result;
use layerscope_core::{GateOutcome, RecommendationAction, RuleStatus, describe_rule};
use serde_json::{Value, json};

/// The schema URI SARIF producers write.
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A relative path as a URI reference (SARIF 3.10.3); absolute paths become `file://` URIs.
fn uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    if path.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn location(dockerfile: Option<&str>, line: Option<usize>) -> Vec<Value> {
    let Some(df) = dockerfile else {
        return Vec::new();
    };
    let mut physical = json!({ "artifactLocation": { "uri": uri(df) } });
    if let Some(n) = line.filter(|n| *n > 0) {
        physical["region"] = json!({ "startLine": n });
    }
    vec![json!({ "physicalLocation": physical })]
}

/// The SARIF log.
pub fn check(o: &GateOutcome) -> Result<String> {
    let df = o.dockerfile.as_deref();
    let mut rules: Vec<Value> = Vec::new();
    let mut results: Vec<Value> = Vec::new();
    for (index, rule) in o.rules.iter().enumerate() {
        rules.push(json!({
            "id": rule.id,
            "name": rule.id,
            "shortDescription": { "text": describe_rule(rule.id) },
            "defaultConfiguration": { "level": "error" },
        }));
        if rule.status != RuleStatus::Fail {
            continue;
        }
        let properties = json!({
            "unit": rule.unit,
            "threshold": rule.threshold,
            "measured": rule.measured,
            "thresholdText": threshold(rule),
            "measuredText": measured(rule),
        });
        let mut push = |text: String, line: Option<usize>| {
            let mut r = json!({
                "ruleId": rule.id,
                "ruleIndex": index,
                "level": "error",
                "message": { "text": text },
                "properties": properties.clone(),
            });
            let locations = location(df, line);
            if !locations.is_empty() {
                r["locations"] = Value::Array(locations);
            }
            results.push(r);
        };
        if rule.offenders.is_empty() {
            push(rule.message.clone(), o.image_line);
        } else {
            for off in &rule.offenders {
                push(
                    format!("{}: {}", rule.message, off.message),
                    off.line.or(o.image_line),
                );
            }
            if rule.offenders_omitted > 0 {
                push(
                    format!(
                        "{}: {} more not listed",
                        rule.message, rule.offenders_omitted
                    ),
                    o.image_line,
                );
            }
        }
    }
    for rec in &o.recommendations {
        let id = format!("recommendation/{}", rec.code);
        let index = match rules.iter().position(|r| r["id"] == id.as_str()) {
            Some(i) => i,
            None => {
                rules.push(json!({
                    "id": id,
                    "name": rec.code,
                    "shortDescription": { "text": format!("layerscope recommendation {}", rec.code) },
                    "defaultConfiguration": { "level": "warning" },
                }));
                rules.len() - 1
            }
        };
        let level = match rec.action {
            RecommendationAction::Deny => "error",
            _ => "warning",
        };
        let mut r = json!({
            "ruleId": id,
            "ruleIndex": index,
            "level": level,
            "message": { "text": rec.message },
            "properties": { "bytesSaved": rec.bytes_saved, "severity": rec.severity },
        });
        let locations = location(df, rec.line.or(o.image_line));
        if !locations.is_empty() {
            r["locations"] = Value::Array(locations);
        }
        results.push(r);
    }
    // The config note (dive's defaults applied) and input caveats travel as notifications.
    let mut invocation = json!({ "executionSuccessful": true });
    if let Some(note) = &o.config.note {
        invocation["toolConfigurationNotifications"] =
            json!([{ "level": "note", "message": { "text": note } }]);
    }
    if !o.notes.is_empty() {
        let notes: Vec<Value> = o
            .notes
            .iter()
            .map(|n| json!({ "level": "note", "message": { "text": n } }))
            .collect();
        invocation["toolExecutionNotifications"] = Value::Array(notes);
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "layerscope",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "invocations": [invocation],
            "results": results,
        }],
    });
    super::json::to_string(&log)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recommendations become results too (warn -> warning, deny -> error), on their lines;
    /// the log stays valid against the SARIF 2.1.0 schema (see tests/check.rs for the
    /// erratum applied to the vendored schema).
    #[test]
    fn recommendations_are_results_and_the_log_is_valid() {
        let (outcome, _) = crate::render::markdown::tests::demo_outcome();
        let log: Value = serde_json::from_str(&check(&outcome).unwrap()).unwrap();
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/data/sarif-schema-2.1.0.json"),
        )
        .unwrap()
        .replace(
            r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#,
            r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#,
        );
        let schema: Value = serde_json::from_str(&text).unwrap();
        let validator = jsonschema::validator_for(&schema).unwrap();
        let errors: Vec<String> = validator.iter_errors(&log).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let results = log["runs"][0]["results"].as_array().unwrap();
        let rec: Vec<(&str, &str, u64)> = results
            .iter()
            .filter(|r| r["ruleId"].as_str().unwrap().starts_with("recommendation/"))
            .map(|r| {
                (
                    r["ruleId"].as_str().unwrap(),
                    r["level"].as_str().unwrap(),
                    r["locations"][0]["physicalLocation"]["region"]["startLine"]
                        .as_u64()
                        .unwrap(),
                )
            })
            .collect();
        assert_eq!(
            rec,
            [
                ("recommendation/metadata-copy-up", "error", 14),
                ("recommendation/deleted-in-later-layer", "warning", 12),
            ]
        );
        // Every result names a rule the driver lists, at its index.
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        for r in results {
            let i = r["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[i]["id"], r["ruleId"]);
            assert_eq!(
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                "examples/demo/Dockerfile"
            );
        }
    }

    #[test]
    fn uris() {
        assert_eq!(uri("docker/Dockerfile"), "docker/Dockerfile");
        assert_eq!(uri("my app/Dockerfile"), "my%20app/Dockerfile");
        assert_eq!(uri("/src/Dockerfile"), "file:///src/Dockerfile");
    }
}
