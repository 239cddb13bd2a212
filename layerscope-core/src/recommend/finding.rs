//! [`Finding`]: one recommendation, as every family of findings reports it and every output
//! (table, JSON, HTML, the gate) reads it.

use super::code::{FindingCode, Severity};
use super::savings::{Overlap, SavedItem};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

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
    /// The other findings whose saved bytes intersect this one's (overlapping fixes, or
    /// alternatives for the same bytes), in list order; empty when its bytes are its own.
    #[serde(default)]
    pub overlaps: Vec<Overlap>,
    /// The bytes the fix removes from the image, file by file (empty for findings that save
    /// no image bytes). Not serialised: [`Finding::evidence`] names the first paths.
    #[serde(skip)]
    saved: Arc<[SavedItem]>,
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
            overlaps: Vec::new(),
            saved: Arc::from(Vec::new()),
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
    /// Removing these bytes from the image (what [`super::total_bytes_saved`] and the
    /// overlap marks are computed from).
    pub fn with_saved_items(mut self, items: Vec<SavedItem>) -> Finding {
        self.saved = Arc::from(items);
        self
    }
    /// Saving the same bytes as `other` (an alternative fix for them).
    pub(super) fn with_saved_items_of(mut self, other: &Finding) -> Finding {
        self.saved = Arc::clone(&other.saved);
        self
    }
    /// The bytes the fix removes from the image, file by file: their sum is
    /// [`Finding::bytes_saved`] for findings about image bytes, and empty for the others
    /// (cache findings save bytes rebuilt per change, not bytes of the image).
    pub fn saved_items(&self) -> &[SavedItem] {
        &self.saved
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
