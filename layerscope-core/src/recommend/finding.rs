//! [`Finding`]: one recommendation, as every family of findings reports it and every output
//! (table, JSON, HTML, the gate) reads it.

use super::code::{FindingCode, Severity};
use serde::{Deserialize, Serialize};

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// Stable code, serialised as its kebab-case name (see [`super::CODES`]).
    pub code: FindingCode,
    /// Severity.
    #[serde(default = "info")]
    pub severity: Severity,
    /// Dockerfile line, when known.
    #[serde(default)]
    pub line: Option<usize>,
    /// The layer, when the evidence is in the image.
    #[serde(default)]
    pub layer: Option<usize>,
    /// Bytes saved by the fix (0 when the finding is not about bytes).
    #[serde(default)]
    pub bytes_saved: u64,
    /// What is wrong, with the evidence.
    #[serde(default)]
    pub message: String,
    /// How to fix it.
    #[serde(default)]
    pub fix: String,
    /// Paths or facts backing the finding.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// For simulated findings: expected bytes rebuilt per change before the fix.
    #[serde(default)]
    pub before_bytes_per_change: Option<u64>,
    /// For simulated findings: expected bytes rebuilt per change after the fix.
    #[serde(default)]
    pub after_bytes_per_change: Option<u64>,
    /// For simulated findings: what "per change" means (`per changed file`, `per commit`).
    #[serde(default)]
    pub per: Option<String>,
    /// True when the rewrite could change what the build does and needs a human look.
    #[serde(default)]
    pub needs_review: bool,
}

fn info() -> Severity {
    Severity::Info
}

impl Finding {
    /// A finding with no line and no saving (for findings from other sources, e.g. a gate
    /// fed by another linter).
    pub fn new(code: FindingCode, severity: Severity, message: &str) -> Finding {
        Finding {
            code,
            severity,
            line: None,
            layer: None,
            bytes_saved: 0,
            message: message.to_string(),
            fix: String::new(),
            evidence: Vec::new(),
            before_bytes_per_change: None,
            after_bytes_per_change: None,
            per: None,
            needs_review: false,
        }
    }
    /// On Dockerfile line `line`.
    pub fn line(mut self, line: usize) -> Finding {
        self.line = Some(line);
        self
    }
    /// Saving `bytes`.
    pub fn bytes_saved(mut self, bytes: u64) -> Finding {
        self.bytes_saved = bytes;
        self
    }
}

/// A finding with the code's default severity, as the families below report them.
pub(super) fn finding(
    code: FindingCode,
    line: Option<usize>,
    layer: Option<usize>,
    bytes_saved: u64,
    message: String,
    fix: String,
) -> Finding {
    Finding {
        line,
        layer,
        bytes_saved,
        message,
        fix,
        ..Finding::new(code, code.severity(), "")
    }
}
