//! A baseline: the report of an earlier run, read back from the JSON that
//! `layerscope analyze --format json` or `layerscope check --format json` wrote.
//!
//! Only the fields the gate compares are read, and unknown fields are ignored, so a baseline
//! written by an older or newer release of the same schema version still reads.

use crate::error::{BaselineProblem, Cause, Error, Result};
use crate::version::SCHEMA_VERSION;
use serde::Deserialize;
use std::path::Path;

/// The report of an earlier run, as far as the gate compares it.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub(crate) source: String,
    pub(crate) report: BaselineReport,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaselineReport {
    pub image: BaselineImage,
    pub layers: Vec<BaselineLayer>,
    pub totals: BaselineTotals,
    pub waste: Vec<BaselineWaste>,
    #[serde(default)]
    pub filter: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaselineImage {
    pub source: String,
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaselineLayer {
    pub size_bytes: u64,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub base: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaselineTotals {
    pub size_bytes: u64,
    pub compressed_size_bytes: u64,
    pub final_size_bytes: u64,
    pub wasted_bytes: u64,
    pub efficiency: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BaselineWaste {
    pub path: String,
    pub bytes: u64,
}

impl Baseline {
    /// Read a baseline file.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when it cannot be read; otherwise as
    /// [`Baseline::from_json`].
    pub fn load(path: &Path) -> Result<Baseline> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Baseline::from_json(&text, &path.display().to_string())
    }

    /// Parse the JSON of `analyze --format json`, or of `check --format json` (whose
    /// `report` member is that same report); `source_name` is named in errors.
    ///
    /// # Errors
    /// [`Error::Baseline`] naming `source_name`: not JSON, not a layerscope report (a required
    /// field missing), or a report of a newer schema version than this release reads.
    pub fn from_json(text: &str, source_name: &str) -> Result<Baseline> {
        let bad = |problem: BaselineProblem, source: Option<Cause>| Error::Baseline {
            source_name: source_name.to_string(),
            problem,
            source,
        };
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| bad(BaselineProblem::NotJson, Some(e.into())))?;
        // The check report embeds the analyze report under `report`, next to `gate`.
        let value = match value {
            serde_json::Value::Object(mut map)
                if map.contains_key("gate") && map.contains_key("report") =>
            {
                map.remove("report").unwrap_or_default()
            }
            other => other,
        };
        match value.get("schema_version").and_then(|v| v.as_u64()) {
            None => return Err(bad(BaselineProblem::NoSchemaVersion, None)),
            Some(version) if version > u64::from(SCHEMA_VERSION) => {
                return Err(bad(
                    BaselineProblem::NewerSchema {
                        version,
                        reads: SCHEMA_VERSION,
                    },
                    None,
                ));
            }
            Some(_) => {}
        }
        let report: BaselineReport = serde_json::from_value(value)
            .map_err(|e| bad(BaselineProblem::NotAReport, Some(e.into())))?;
        Ok(Baseline {
            source: source_name.to_string(),
            report,
        })
    }

    /// The name it was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The baseline image: its `repository:tag` if recorded, else its path.
    pub fn image(&self) -> &str {
        self.report
            .image
            .reference
            .as_deref()
            .unwrap_or(&self.report.image.source)
    }

    /// Whether its waste list may be partial (written with `--path`/`--min-size`/`--top`):
    /// then new-waste rules may count items the baseline had but did not list.
    pub(crate) fn waste_list_partial(&self) -> bool {
        let listed: u64 = self.report.waste.iter().map(|w| w.bytes).sum();
        self.report.filter.is_some() || listed < self.report.totals.wasted_bytes
    }
}
