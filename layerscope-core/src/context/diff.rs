//! Changes between two build contexts (`--baseline-context OLD_DIR`), under the checksum
//! rules: content, kind, symlink target and permission bits count; mtime and ownership do not.

use std::cmp::Ordering;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::pattern::path_cmp;
use super::{BuildContext, ContextEntry, ContextEntryKind};
use crate::{Error, Result};

/// How a context path changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextChangeKind {
    /// The path entered the context (new, or no longer `.dockerignore`d).
    Added,
    /// The path left the context (deleted, or now `.dockerignore`d).
    Removed,
    /// Different bytes, a different symlink target, or a different kind of entry. Takes
    /// precedence when the permission bits changed as well.
    ContentChanged,
    /// Only the permission bits changed.
    ModeChanged,
}

/// One changed path of the build context.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ContextChange {
    /// Path relative to the context directory, `/`-separated.
    pub path: String,
    /// What changed.
    pub kind: ContextChangeKind,
}

enum Pending {
    Done(ContextChange),
    /// Two regular files of equal size whose bytes must be compared.
    Compare {
        old: u32,
        new: u32,
        mode_differs: bool,
    },
}

impl BuildContext {
    /// The changes from `old` to `new`, in tree order, one per path: every entry added or
    /// removed (directories and each file below them), and every entry whose content, kind,
    /// symlink target or permission bits differ. A change of mtime or owner alone is not a
    /// change. Each context keeps its own `.dockerignore`, so an edit to the ignore rules
    /// shows up as the paths it lets in or keeps out.
    ///
    /// Files of equal size are compared byte for byte (in parallel), stopping at the first
    /// difference; cached hashes are used when both sides have one.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming a file that could not be read.
    pub fn diff(old: &BuildContext, new: &BuildContext) -> Result<Vec<ContextChange>> {
        use rayon::prelude::*;
        let mut pending = Vec::new();
        let (mut i, mut j) = (0usize, 0usize);
        let change = |e: &ContextEntry, kind| {
            Pending::Done(ContextChange {
                path: e.path().to_owned(),
                kind,
            })
        };
        loop {
            let (a, b) = (old.entries.get(i), new.entries.get(j));
            let order = match (a, b) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(a), Some(b)) => path_cmp(a.path(), b.path()),
            };
            match (order, a, b) {
                (Ordering::Less, Some(a), _) => {
                    pending.push(change(a, ContextChangeKind::Removed));
                    i += 1;
                }
                (Ordering::Greater, _, Some(b)) => {
                    pending.push(change(b, ContextChangeKind::Added));
                    j += 1;
                }
                (Ordering::Equal, Some(a), Some(b)) => {
                    let mode_differs = a.mode() != b.mode();
                    if a.kind() != b.kind()
                        || a.link_target() != b.link_target()
                        || (a.kind() == ContextEntryKind::File && a.size_bytes() != b.size_bytes())
                    {
                        pending.push(change(b, ContextChangeKind::ContentChanged));
                    } else if a.kind() == ContextEntryKind::File && a.size_bytes() > 0 {
                        let (Ok(old_index), Ok(new_index)) = (u32::try_from(i), u32::try_from(j))
                        else {
                            break;
                        };
                        pending.push(Pending::Compare {
                            old: old_index,
                            new: new_index,
                            mode_differs,
                        });
                    } else if mode_differs {
                        pending.push(change(b, ContextChangeKind::ModeChanged));
                    }
                    i += 1;
                    j += 1;
                }
                _ => break,
            }
        }
        let resolved: Vec<Option<ContextChange>> = pending
            .into_par_iter()
            .map(|p| match p {
                Pending::Done(c) => Ok(Some(c)),
                Pending::Compare {
                    old: o,
                    new: n,
                    mode_differs,
                } => {
                    let same = match (old.cached_hash(o), new.cached_hash(n)) {
                        (Some(x), Some(y)) => x == y,
                        _ => same_bytes(&old.abs_path(o), &new.abs_path(n))?,
                    };
                    let kind = if !same {
                        Some(ContextChangeKind::ContentChanged)
                    } else if mode_differs {
                        Some(ContextChangeKind::ModeChanged)
                    } else {
                        None
                    };
                    Ok(kind.and_then(|kind| {
                        new.entry(n).map(|e| ContextChange {
                            path: e.path().to_owned(),
                            kind,
                        })
                    }))
                }
            })
            .collect::<Result<_>>()?;
        Ok(resolved.into_iter().flatten().collect())
    }
}

fn read_full(file: &mut File, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match file.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(filled)
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool> {
    let mut fa = File::open(a).map_err(|e| Error::io(a, e))?;
    let mut fb = File::open(b).map_err(|e| Error::io(b, e))?;
    let mut ba = vec![0u8; 64 * 1024];
    let mut bb = vec![0u8; 64 * 1024];
    loop {
        let na = read_full(&mut fa, &mut ba, a)?;
        let nb = read_full(&mut fb, &mut bb, b)?;
        if na != nb || ba.get(..na) != bb.get(..nb) {
            return Ok(false);
        }
        if na == 0 {
            return Ok(true);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use std::fs;
    use std::time::{Duration, SystemTime};

    fn changes(old: &Path, new: &Path) -> Vec<(String, ContextChangeKind)> {
        let old = BuildContext::open(old, None).unwrap();
        let new = BuildContext::open(new, None).unwrap();
        BuildContext::diff(&old, &new)
            .unwrap()
            .into_iter()
            .map(|c| (c.path, c.kind))
            .collect()
    }

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), files);
        tmp
    }

    #[test]
    fn identical_trees_have_no_changes() {
        let files = [("a", "1"), ("d/b", "2"), ("d/e/c", "")];
        let (x, y) = (tree(&files), tree(&files));
        assert!(changes(x.path(), y.path()).is_empty());
    }

    #[test]
    fn added_removed_and_content_changes() {
        let old = tree(&[
            ("keep", "same"),
            ("gone/x", "1"),
            ("edit", "abc"),
            ("grow", "a"),
        ]);
        let new = tree(&[
            ("keep", "same"),
            ("new/y", "2"),
            ("edit", "abd"),
            ("grow", "ab"),
        ]);
        assert_eq!(
            changes(old.path(), new.path()),
            [
                ("edit".to_owned(), ContextChangeKind::ContentChanged),
                ("gone".to_owned(), ContextChangeKind::Removed),
                ("gone/x".to_owned(), ContextChangeKind::Removed),
                ("grow".to_owned(), ContextChangeKind::ContentChanged),
                ("new".to_owned(), ContextChangeKind::Added),
                ("new/y".to_owned(), ContextChangeKind::Added),
            ]
        );
    }

    #[test]
    fn mtime_only_change_is_not_a_change() {
        let files = [("a", "content"), ("b", "")];
        let (old, new) = (tree(&files), tree(&files));
        let f = fs::File::options()
            .write(true)
            .open(new.path().join("a"))
            .unwrap();
        f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000))
            .unwrap();
        assert!(changes(old.path(), new.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn mode_and_symlink_changes() {
        let (old, new) = (
            tree(&[("run.sh", "x"), ("d/f", "")]),
            tree(&[("run.sh", "x"), ("d/f", "")]),
        );
        chmod(new.path(), "run.sh", 0o755);
        chmod(old.path(), "run.sh", 0o644);
        chmod(new.path(), "d", 0o700);
        chmod(old.path(), "d", 0o755);
        symlink(old.path(), "run.sh", "link");
        symlink(new.path(), "d/f", "link");
        assert_eq!(
            changes(old.path(), new.path()),
            [
                ("d".to_owned(), ContextChangeKind::ModeChanged),
                ("link".to_owned(), ContextChangeKind::ContentChanged),
                ("run.sh".to_owned(), ContextChangeKind::ModeChanged),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn content_wins_over_mode_and_kind_change_is_content() {
        let old = tree(&[("a", "1"), ("b", "x")]);
        let new = tree(&[("a", "2")]);
        chmod(new.path(), "a", 0o755);
        chmod(old.path(), "a", 0o644);
        symlink(new.path(), "a", "b");
        assert_eq!(
            changes(old.path(), new.path()),
            [
                ("a".to_owned(), ContextChangeKind::ContentChanged),
                ("b".to_owned(), ContextChangeKind::ContentChanged),
            ]
        );
    }

    #[test]
    fn dockerignore_edit_shows_as_paths_entering_and_leaving() {
        let old = tree(&[(".dockerignore", "*.log\n"), ("a.log", "x"), ("b.txt", "y")]);
        let new = tree(&[(".dockerignore", "*.txt\n"), ("a.log", "x"), ("b.txt", "y")]);
        assert_eq!(
            changes(old.path(), new.path()),
            [
                (
                    ".dockerignore".to_owned(),
                    ContextChangeKind::ContentChanged
                ),
                ("a.log".to_owned(), ContextChangeKind::Added),
                ("b.txt".to_owned(), ContextChangeKind::Removed),
            ]
        );
    }

    #[test]
    fn cached_hashes_are_reused() {
        let files = [("a", "same")];
        let (old, new) = (tree(&files), tree(&files));
        let old = BuildContext::open(old.path(), None).unwrap();
        let new = BuildContext::open(new.path(), None).unwrap();
        let all = super::super::Selection {
            sources: vec![".".into()],
            ..Default::default()
        };
        old.checksum(&old.select(&all).unwrap()).unwrap();
        new.checksum(&new.select(&all).unwrap()).unwrap();
        assert!(BuildContext::diff(&old, &new).unwrap().is_empty());
    }
}
