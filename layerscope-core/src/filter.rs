//! Path and size filters for listings (`--path GLOB`, `--min-size`).

use crate::error::{Error, OptionName, Result};

/// Which files a listing keeps. The default keeps everything.
#[derive(Debug, Clone, Default)]
pub struct FileFilter {
    glob: Option<(String, globset::GlobMatcher)>,
    min_size: u64,
}

impl FileFilter {
    /// Keep paths matching `pattern` (`*` stays within one path component, `**` crosses
    /// them; a leading `/` is ignored, since image paths are relative to the root).
    ///
    /// # Errors
    /// An invalid glob.
    pub fn path_glob(mut self, pattern: &str) -> Result<Self> {
        let trimmed = pattern.trim_start_matches('/');
        let glob = globset::GlobBuilder::new(trimmed)
            .literal_separator(true)
            .build()
            .map_err(|e| Error::InvalidOption {
                option: OptionName::PathGlob,
                reason: format!("{pattern:?}"),
                source: Some(e.into()),
            })?;
        self.glob = Some((pattern.to_string(), glob.compile_matcher()));
        Ok(self)
    }

    /// Keep entries of at least `bytes`.
    pub fn min_size(mut self, bytes: u64) -> Self {
        self.min_size = bytes;
        self
    }

    /// Does an entry pass?
    pub fn matches(&self, path: &str, size: u64) -> bool {
        size >= self.min_size && self.glob.as_ref().is_none_or(|(_, g)| g.is_match(path))
    }

    /// True when the filter keeps everything.
    pub fn is_empty(&self) -> bool {
        self.glob.is_none() && self.min_size == 0
    }

    /// A description for reports, e.g. `path "usr/**", min 1000 bytes`.
    pub fn describe(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some((p, _)) = &self.glob {
            parts.push(format!("path {p:?}"));
        }
        if self.min_size > 0 {
            parts.push(format!("at least {} bytes", self.min_size));
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }
}

impl FileFilter {
    /// Filter a tree listing: keep the non-directories that match, and the directories
    /// above them so the tree still reads as a tree.
    pub fn prune_tree(&self, entries: Vec<crate::FileRecord>) -> Vec<crate::FileRecord> {
        if self.is_empty() {
            return entries;
        }
        let mut keep_dirs: std::collections::HashSet<String> = std::collections::HashSet::new();
        for e in &entries {
            if e.kind != crate::EntryKind::Dir && self.matches(&e.path, e.size_bytes) {
                let mut p = e.path.as_str();
                while let Some(i) = p.rfind('/') {
                    p = &p[..i];
                    if !keep_dirs.insert(p.to_string()) {
                        break;
                    }
                }
            }
        }
        entries
            .into_iter()
            .filter(|e| {
                if e.kind == crate::EntryKind::Dir {
                    keep_dirs.contains(&e.path)
                } else {
                    self.matches(&e.path, e.size_bytes)
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_sizes() {
        let f = FileFilter::default()
            .path_glob("/usr/**/*.so")
            .unwrap()
            .min_size(10);
        assert!(f.matches("usr/lib/x/a.so", 10));
        assert!(!f.matches("usr/lib/x/a.so", 9));
        assert!(!f.matches("etc/a.so", 100));
        let star = FileFilter::default().path_glob("*.pem").unwrap();
        assert!(star.matches("key.pem", 0));
        assert!(!star.matches("etc/key.pem", 0));
        assert!(FileFilter::default().path_glob("a[").is_err());
        assert!(FileFilter::default().is_empty());
    }
}
