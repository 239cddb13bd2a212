//! The content-addressed store of layer summaries: `<dir>/v1/sha256/<diff_id hex>.lsum`.
//!
//! An entry is only ever used after its checksum, version and DiffID have been checked
//! against the name it was looked up by; anything else is reported as corrupt and the layer
//! is read again (and the entry rewritten). Entries are written to a temporary file in the
//! same directory and renamed into place, so a reader never sees half an entry and two
//! processes filling the same cache cannot interleave.

use super::summary::{LayerSummary, SummaryView, file_name};
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a lookup found.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A verified entry (its bytes).
    Hit(Vec<u8>),
    /// No entry.
    Miss,
    /// An entry that failed verification, and why.
    Corrupt(String),
}

/// A directory of summaries.
#[derive(Debug, Clone)]
pub(crate) struct SummaryStore {
    dir: PathBuf,
    /// Whether entries may be written (false for `--summaries DIR`, read only).
    writable: bool,
}

impl SummaryStore {
    pub(crate) fn new(root: &Path, writable: bool) -> SummaryStore {
        SummaryStore {
            dir: root
                .join(format!("v{}", super::summary::SUMMARY_VERSION))
                .join("sha256"),
            writable,
        }
    }

    /// A flat directory of `<hex>.lsum` files, as workers write them.
    pub(crate) fn flat(dir: &Path) -> SummaryStore {
        SummaryStore {
            dir: dir.to_path_buf(),
            writable: false,
        }
    }

    pub(crate) fn path_of(&self, diff_id: &str) -> Option<PathBuf> {
        file_name(diff_id).map(|n| self.dir.join(n))
    }

    pub(crate) fn get(&self, diff_id: &str) -> Result<Lookup> {
        let Some(path) = self.path_of(diff_id) else {
            return Ok(Lookup::Miss);
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Lookup::Miss),
            Err(e) => return Err(Error::io(&path, e)),
        };
        match SummaryView::parse(&bytes) {
            Ok(v) if v.diff_id() == diff_id => Ok(Lookup::Hit(bytes)),
            Ok(v) => Ok(Lookup::Corrupt(format!(
                "{}: holds the summary of {}, not {diff_id}",
                path.display(),
                v.diff_id()
            ))),
            Err(d) => Ok(Lookup::Corrupt(format!("{}: {d}", path.display()))),
        }
    }

    /// Store an entry atomically; returns its bytes.
    pub(crate) fn put(&self, summary: &LayerSummary) -> Result<Vec<u8>> {
        let bytes = summary.encode().map_err(|d| Error::Config {
            source_name: summary.diff_id.clone(),
            reason: d.0,
            source: None,
        })?;
        if !self.writable {
            return Ok(bytes);
        }
        let Some(path) = self.path_of(&summary.diff_id) else {
            return Ok(bytes);
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        tmp.write_all(&bytes)
            .map_err(|e| Error::io(tmp.path(), e))?;
        tmp.persist(&path).map_err(|e| Error::io(&path, e.error))?;
        Ok(bytes)
    }
}
