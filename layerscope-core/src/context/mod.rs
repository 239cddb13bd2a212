//! Build-context model: `.dockerignore`, COPY/ADD source selection, BuildKit-style
//! checksums, and the changes between two contexts or between a git revision and the tree.
//!
//! Data flow: [`BuildContext::open`] reads the `.dockerignore` that applies and walks the
//! context directory once, keeping one compact record per entry that would be sent to the
//! builder (path, kind, size, permission bits, symlink target). [`BuildContext::select`]
//! resolves a COPY/ADD step's sources against those records; [`BuildContext::checksum`] hashes
//! what a step selected, reading (and caching) only those files.
//! [`BuildContext::selection_contains`] answers "does this changed path feed that step?", and
//! the changed paths come from [`BuildContext::diff`] (two trees), [`git_changes`] or
//! [`git_churn`].
//!
//! The rules are BuildKit's (the content hash of `cache/contenthash/filehash.go` and
//! `tarsum.go`, and `resetUIDAndGID` in `client/solve.go`; checked against real builds in
//! tests/buildah.rs and tests/buildkit.rs): excluded files never
//! reach the builder; content, permission bits and symlink targets count; mtime and ownership
//! do not (the client resets uid/gid of context files). Not modelled: xattrs (std cannot read
//! them), hardlink identity, and the BuildKit quirk of following symlinks nested inside a
//! filtered (`--exclude`/`--parents`/wildcard) selection; only a source's own symlinks
//! (its path components and the source itself) are followed.
//!
//! Paths are relative to the context, `/`-separated and cleaned; lists come back in tree order
//! (byte order with `/` first, so a directory's contents directly follow it).

mod diff;
mod dockerignore;
mod git;
mod pattern;
mod selection;

use std::collections::HashMap;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

pub use diff::{ContextChange, ContextChangeKind};
pub use dockerignore::DockerIgnore;
pub use git::{Churn, git_changes, git_churn};
pub use selection::{SelectedFile, Selection};

use pattern::{path_cmp, rel_clean};

use crate::digest::HashingReader;
use crate::{Error, Result};

/// Linux `MAXSYMLINKS`-style bound on symlinks followed while resolving one source path.
const MAX_SYMLINKS: usize = 255;

static NEXT_CONTEXT_ID: AtomicU64 = AtomicU64::new(1);

/// What kind of filesystem object an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ContextEntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed by the walk).
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// One entry of the build context, as the builder would receive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    path: Box<str>,
    link_target: Option<Box<str>>,
    size_bytes: u64,
    mode: u32,
    kind: ContextEntryKind,
}

impl ContextEntry {
    /// Path relative to the context root, `/`-separated.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The entry's kind.
    pub fn kind(&self) -> ContextEntryKind {
        self.kind
    }

    /// Permission bits, including setuid/setgid/sticky (`mode & 0o7777`).
    pub fn mode(&self) -> u32 {
        self.mode
    }

    /// Size of a regular file, length of a symlink's target, 0 otherwise.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// A symlink's target, exactly as stored in the link.
    pub fn link_target(&self) -> Option<&str> {
        self.link_target.as_deref()
    }
}

/// A build context directory after `.dockerignore`: walked once at [`BuildContext::open`];
/// file contents are read lazily, only for what a step selects, and their hashes are cached.
#[derive(Debug)]
pub struct BuildContext {
    id: u64,
    dir: PathBuf,
    ignore: DockerIgnore,
    ignore_path: Option<PathBuf>,
    /// Sorted in tree order (`pattern::path_cmp`).
    entries: Vec<ContextEntry>,
    /// SHA-256 of file contents, by entry index.
    hashes: Mutex<HashMap<u32, [u8; 32]>>,
    /// Resolved selections, so that repeated `selection_contains` calls stay cheap.
    resolved: Mutex<HashMap<Selection, Arc<selection::Resolved>>>,
}

struct Frame {
    rel: String,
    /// Whether `rel` is the exact UTF-8 name (no lossy conversion on the way down).
    exact: bool,
    /// Per-pattern results of this directory, passed to its children.
    info: Option<Vec<bool>>,
    children: std::vec::IntoIter<fs::DirEntry>,
    /// An excluded directory walked only because an exception may re-include something below
    /// it; recorded only once something below it is included (as BuildKit sends it).
    pending: Option<ContextEntry>,
}

impl BuildContext {
    /// Opens the context directory `dir`: picks the ignore file (`<Dockerfile>.dockerignore`
    /// next to the Dockerfile when present, else `<dir>/.dockerignore`), then walks the
    /// directory once without following symlinks.
    ///
    /// `dockerfile_name` is the Dockerfile path as given to `-f` (relative to `dir` unless
    /// absolute); `None` means `Dockerfile`. The Dockerfile and `.dockerignore` are ordinary
    /// context files: they are sent (and can change `COPY . .`) unless `.dockerignore`
    /// excludes them.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when `dir`, the ignore file or an included directory cannot be read;
    /// [`Error::Context`] when `dir` is not a directory, the ignore file has a malformed
    /// pattern, or an included file name is not UTF-8.
    pub fn open(dir: &Path, dockerfile_name: Option<&str>) -> Result<BuildContext> {
        let meta = fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
        if !meta.is_dir() {
            return Err(Error::Context {
                path: dir.to_path_buf(),
                reason: "the build context is not a directory".to_owned(),
                source: None,
            });
        }
        let dockerfile = dir.join(dockerfile_name.unwrap_or("Dockerfile"));
        let mut specific = dockerfile.into_os_string();
        specific.push(".dockerignore");
        let mut ignore = DockerIgnore::default();
        let mut ignore_path = None;
        for candidate in [PathBuf::from(specific), dir.join(".dockerignore")] {
            match fs::read(&candidate) {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    ignore = DockerIgnore::parse_named(&text, &candidate)?;
                    ignore_path = Some(candidate);
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(candidate, e)),
            }
        }
        let entries = walk(dir, &ignore)?;
        if u32::try_from(entries.len()).is_err() {
            return Err(Error::Context {
                path: dir.to_path_buf(),
                reason: format!("too many entries ({})", entries.len()),
                source: None,
            });
        }
        Ok(BuildContext {
            id: NEXT_CONTEXT_ID.fetch_add(1, AtomicOrdering::Relaxed),
            dir: dir.to_path_buf(),
            ignore,
            ignore_path,
            entries,
            hashes: Mutex::new(HashMap::new()),
            resolved: Mutex::new(HashMap::new()),
        })
    }

    /// The context directory as given to [`BuildContext::open`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The ignore rules in force (empty when there is no ignore file).
    pub fn dockerignore(&self) -> &DockerIgnore {
        &self.ignore
    }

    /// The ignore file that was applied, if any.
    pub fn dockerignore_path(&self) -> Option<&Path> {
        self.ignore_path.as_deref()
    }

    /// Every entry sent to the builder, in tree order. Directories that are excluded
    /// themselves but hold re-included (`!`) files are listed too, as BuildKit sends them.
    pub fn files(&self) -> &[ContextEntry] {
        &self.entries
    }

    /// The entry at `rel_path` (cleaned first), if it is part of the context.
    pub fn file(&self, rel_path: &str) -> Option<&ContextEntry> {
        self.index_of(&rel_clean(rel_path))
            .and_then(|i| self.entries.get(i))
    }

    /// Whether `.dockerignore` excludes `rel_path`, decided by name, so it also answers for
    /// paths that do not exist (any more).
    pub fn is_ignored(&self, rel_path: &str) -> bool {
        self.ignore.matches(rel_path)
    }

    pub(crate) fn index_of(&self, rel: &str) -> Option<usize> {
        if rel.is_empty() {
            return None;
        }
        self.entries
            .binary_search_by(|e| path_cmp(&e.path, rel))
            .ok()
    }

    /// Indices of the entries strictly below `dir` (`""`: every entry).
    pub(crate) fn subtree(&self, dir: &str) -> Range<usize> {
        if dir.is_empty() {
            return 0..self.entries.len();
        }
        let start = self
            .entries
            .partition_point(|e| path_cmp(&e.path, dir).is_le());
        let below = format!("{dir}/");
        let len = self.entries.get(start..).map_or(0, |rest| {
            rest.partition_point(|e| e.path.starts_with(&below))
        });
        start..start + len
    }

    /// Indices of the direct children of `dir` (`""`: the top level), skipping over each
    /// child directory's subtree.
    pub(crate) fn children(&self, dir: &str) -> Vec<usize> {
        let range = self.subtree(dir);
        let mut out = Vec::new();
        let mut i = range.start;
        while i < range.end {
            out.push(i);
            i = match self.entries.get(i) {
                Some(e) if e.kind == ContextEntryKind::Dir => self.subtree(e.path()).end.max(i + 1),
                _ => i + 1,
            };
        }
        out
    }

    pub(crate) fn entry(&self, index: u32) -> Option<&ContextEntry> {
        self.entries.get(index as usize)
    }

    /// Resolves `path` inside the context the way BuildKit's `getFollowLinks` does: symlinks
    /// in every component (and the last one when `follow_trailing`) are followed, absolute
    /// targets are taken relative to the context root, and `..` cannot leave the root.
    /// Returns the resolved path (`""` = the root) and the symlinks traversed, or `None` after
    /// too many links.
    pub(crate) fn resolve_links(
        &self,
        path: &str,
        follow_trailing: bool,
        traversed: &mut Vec<u32>,
    ) -> Option<String> {
        let mut current: Vec<String> = Vec::new();
        let mut remaining: Vec<String> = path.rsplit('/').map(str::to_owned).collect();
        let mut links = 0usize;
        while let Some(part) = remaining.pop() {
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(part);
            let joined = current.join("/");
            let Some(index) = self.index_of(&joined) else {
                continue;
            };
            let Some(target) = self.entries.get(index).and_then(|e| e.link_target()) else {
                continue;
            };
            if remaining.is_empty() && !follow_trailing {
                break;
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return None;
            }
            traversed.push(u32::try_from(index).ok()?);
            current.pop();
            if target.starts_with('/') {
                current.clear();
            }
            remaining.extend(target.rsplit('/').map(str::to_owned));
        }
        Some(current.join("/"))
    }

    fn lock_hashes(&self) -> MutexGuard<'_, HashMap<u32, [u8; 32]>> {
        self.hashes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached content hash of a regular file, if it was computed already.
    pub(crate) fn cached_hash(&self, index: u32) -> Option<[u8; 32]> {
        self.lock_hashes().get(&index).copied()
    }

    /// Hashes the contents of the given regular files that are not cached yet (in parallel:
    /// this is the one place where many files are read).
    pub(crate) fn ensure_hashed(&self, indices: &[u32]) -> Result<()> {
        use rayon::prelude::*;
        let missing: Vec<u32> = {
            let cache = self.lock_hashes();
            let mut v: Vec<u32> = indices
                .iter()
                .copied()
                .filter(|i| !cache.contains_key(i))
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        let hashed: Vec<(u32, [u8; 32])> = missing
            .par_iter()
            .map(|&i| {
                let path = self.abs_path(i);
                hash_file(&path).map(|h| (i, h))
            })
            .collect::<Result<_>>()?;
        self.lock_hashes().extend(hashed);
        Ok(())
    }

    pub(crate) fn abs_path(&self, index: u32) -> PathBuf {
        match self.entry(index) {
            Some(e) => self.dir.join(e.path()),
            None => self.dir.clone(),
        }
    }
}

fn hash_file(path: &Path) -> Result<[u8; 32]> {
    let file = fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = HashingReader::new(file);
    io::copy(&mut reader, &mut io::sink()).map_err(|e| Error::io(path, e))?;
    Ok(reader.finish().0)
}

/// A directory's entries sorted by name, so that the depth-first walk yields tree order.
fn read_children(dir: &Path) -> io::Result<std::vec::IntoIter<fs::DirEntry>> {
    let mut entries = fs::read_dir(dir)?.collect::<io::Result<Vec<_>>>()?;
    entries.sort_by_cached_key(fs::DirEntry::file_name);
    Ok(entries.into_iter())
}

fn entry_from(rel: String, abs: &Path, meta: &fs::Metadata) -> Result<ContextEntry> {
    let ft = meta.file_type();
    let kind = if ft.is_file() {
        ContextEntryKind::File
    } else if ft.is_dir() {
        ContextEntryKind::Dir
    } else if ft.is_symlink() {
        ContextEntryKind::Symlink
    } else {
        ContextEntryKind::Other
    };
    let link_target: Option<Box<str>> = if kind == ContextEntryKind::Symlink {
        let target = fs::read_link(abs).map_err(|e| Error::io(abs, e))?;
        Some(target.to_string_lossy().into())
    } else {
        None
    };
    let size_bytes = match (&kind, &link_target) {
        (ContextEntryKind::File, _) => meta.len(),
        (ContextEntryKind::Symlink, Some(t)) => t.len() as u64,
        _ => 0,
    };
    Ok(ContextEntry {
        path: rel.into(),
        link_target,
        size_bytes,
        mode: permission_bits(meta, kind),
        kind,
    })
}

#[cfg(unix)]
fn permission_bits(meta: &fs::Metadata, _kind: ContextEntryKind) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permission_bits(meta: &fs::Metadata, kind: ContextEntryKind) -> u32 {
    // What a Windows client sends: no permission bits beyond read-only.
    let base = if kind == ContextEntryKind::Dir {
        0o755
    } else {
        0o644
    };
    if meta.permissions().readonly() {
        base & !0o222
    } else {
        base
    }
}

/// The one walk: every entry not excluded by `ignore`, in tree order.
fn walk(root: &Path, ignore: &DockerIgnore) -> Result<Vec<ContextEntry>> {
    let list = ignore.list();
    let filtering = !list.is_empty();
    let mut entries = Vec::new();
    let mut bits = Vec::new();
    let mut stack = vec![Frame {
        rel: String::new(),
        exact: true,
        info: None,
        children: read_children(root).map_err(|e| Error::io(root, e))?,
        pending: None,
    }];
    while let Some(top) = stack.last_mut() {
        let Some(child) = top.children.next() else {
            stack.pop();
            continue;
        };
        let name = child.file_name();
        let (name, exact) = match name.to_str() {
            Some(s) => (s.to_owned(), top.exact),
            None => (name.to_string_lossy().into_owned(), false),
        };
        let rel = if top.rel.is_empty() {
            name
        } else {
            format!("{}/{name}", top.rel)
        };
        let ignored = filtering && list.matches_with_parent(&rel, top.info.as_deref(), &mut bits);
        let abs = child.path();
        // Excluded files need no stat; the file type usually comes with the directory entry.
        if ignored && !child.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let meta = match child.metadata() {
            Ok(m) => m,
            // Removed while we walked: it is simply not part of the context.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(abs, e)),
        };
        if ignored {
            if ignore.could_reinclude_below(&rel) {
                match read_children(&abs) {
                    Ok(children) => {
                        let pending = entry_from(rel.clone(), &abs, &meta)?;
                        stack.push(Frame {
                            rel,
                            exact,
                            info: Some(bits.clone()),
                            children,
                            pending: Some(pending),
                        });
                    }
                    // BuildKit tolerates unreadable directories that are excluded anyway.
                    Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {}
                    Err(e) => return Err(Error::io(abs, e)),
                }
            }
            continue;
        }
        if !exact {
            return Err(Error::Context {
                path: abs,
                reason: "file name is not valid UTF-8; exclude it in .dockerignore".to_owned(),
                source: None,
            });
        }
        let entry = entry_from(rel.clone(), &abs, &meta)?;
        for frame in stack.iter_mut() {
            if let Some(dir) = frame.pending.take() {
                entries.push(dir);
            }
        }
        let is_dir = entry.kind == ContextEntryKind::Dir;
        entries.push(entry);
        if is_dir {
            let children = read_children(&abs).map_err(|e| Error::io(&abs, e))?;
            stack.push(Frame {
                rel,
                exact,
                info: filtering.then(|| bits.clone()),
                children,
                pending: None,
            });
        }
    }
    // Depth-first over sorted siblings is already tree order; the check is linear.
    if !entries.is_sorted_by(|a, b| path_cmp(&a.path, &b.path).is_le()) {
        entries.sort_unstable_by(|a, b| path_cmp(&a.path, &b.path));
    }
    Ok(entries)
}

/// Helpers shared by the module's tests: write a context tree on disk.
#[cfg(test)]
pub(crate) mod testutil {
    use std::fs;
    use std::path::Path;

    /// Writes `files` (path, content) under `root`, creating parent directories.
    pub(crate) fn write_tree(root: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let p = root.join(path);
            if let Some(parent) = p.parent() {
                fs::create_dir_all(parent).unwrap();
            }
            fs::write(p, content).unwrap();
        }
    }

    #[cfg(unix)]
    pub(crate) fn chmod(root: &Path, path: &str, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(root.join(path), fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    pub(crate) fn symlink(root: &Path, target: &str, link: &str) {
        let p = root.join(link);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        std::os::unix::fs::symlink(target, p).unwrap();
    }

    pub(crate) fn paths(ctx: &super::BuildContext) -> Vec<String> {
        ctx.files().iter().map(|e| e.path().to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn walk_records_everything_in_tree_order() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                ("a.txt", "1"),
                ("a/b.txt", "22"),
                ("a/b/c", "333"),
                ("Dockerfile", "FROM x"),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(
            paths(&ctx),
            ["Dockerfile", "a", "a/b", "a/b/c", "a/b.txt", "a.txt"]
        );
        let c = ctx.file("./a/b/c").unwrap();
        assert_eq!(c.kind(), ContextEntryKind::File);
        assert_eq!(c.size_bytes(), 3);
        assert_eq!(ctx.file("a").unwrap().kind(), ContextEntryKind::Dir);
        assert!(ctx.dockerignore_path().is_none());
        assert_eq!(ctx.subtree("a").len(), 3);
        assert_eq!(ctx.subtree("a/b").len(), 1);
        assert_eq!(ctx.subtree("").len(), 6);
        assert_eq!(ctx.subtree("missing").len(), 0);
    }

    #[cfg(unix)]
    #[test]
    fn walk_records_modes_and_symlinks_without_following() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("bin/run.sh", "echo")]);
        chmod(tmp.path(), "bin/run.sh", 0o755);
        symlink(tmp.path(), "bin", "link");
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(ctx.file("bin/run.sh").unwrap().mode(), 0o755);
        let link = ctx.file("link").unwrap();
        assert_eq!(link.kind(), ContextEntryKind::Symlink);
        assert_eq!(link.link_target(), Some("bin"));
        assert!(
            ctx.file("link/run.sh").is_none(),
            "symlinks are not followed"
        );
    }

    #[test]
    fn dockerignore_is_applied_and_is_itself_context() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                (".dockerignore", "node_modules\n*.log\n!keep.log\n"),
                ("node_modules/x/index.js", ""),
                ("app.log", ""),
                ("keep.log", ""),
                ("src/main.rs", ""),
                ("Dockerfile", ""),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(
            paths(&ctx),
            [
                ".dockerignore",
                "Dockerfile",
                "keep.log",
                "src",
                "src/main.rs"
            ]
        );
        assert!(ctx.is_ignored("node_modules/y"));
        assert!(!ctx.is_ignored("src/main.rs"));
        assert_eq!(
            ctx.dockerignore_path(),
            Some(tmp.path().join(".dockerignore").as_path())
        );
    }

    #[test]
    fn dockerfile_specific_ignore_file_takes_precedence() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                (".dockerignore", "a\n"),
                ("build/app.Dockerfile", ""),
                ("build/app.Dockerfile.dockerignore", "b\nbuild\n"),
                ("a", ""),
                ("b", ""),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), Some("build/app.Dockerfile")).unwrap();
        assert_eq!(paths(&ctx), [".dockerignore", "a"]);
        let plain = BuildContext::open(tmp.path(), None).unwrap();
        assert!(plain.is_ignored("a"));
        assert!(!plain.is_ignored("b"));
        // The default Dockerfile name also gets its own ignore file.
        write_tree(tmp.path(), &[("Dockerfile.dockerignore", "*\n!b\n")]);
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(paths(&ctx), ["b"]);
    }

    #[test]
    fn excluded_directory_with_reincluded_file_is_sent_with_its_parent() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                (".dockerignore", "docs\n!docs/README.md\n"),
                ("docs/README.md", ""),
                ("docs/guide.md", ""),
                ("docs/deep/x.md", ""),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(paths(&ctx), [".dockerignore", "docs", "docs/README.md"]);
    }

    #[test]
    fn walk_agrees_with_is_ignored() {
        let tmp = tempfile::tempdir().unwrap();
        let files = [
            ("a/x.log", ""),
            ("a/keep.log", ""),
            ("a/b/c.txt", ""),
            ("build/out/bin", ""),
            ("build/out/keep/me", ""),
            ("src/gen/x.rs", ""),
            ("src/lib.rs", ""),
            ("top.md", ""),
        ];
        write_tree(tmp.path(), &files);
        write_tree(
            tmp.path(),
            &[(
                ".dockerignore",
                "**/*.log\n!a/keep.log\nbuild\n!build/out/keep\nsrc/*/\n*.md\n",
            )],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        for (path, _) in files {
            assert_eq!(ctx.file(path).is_some(), !ctx.is_ignored(path), "{path}");
        }
        assert_eq!(
            paths(&ctx),
            [
                ".dockerignore",
                "a",
                "a/b",
                "a/b/c.txt",
                "a/keep.log",
                "build",
                "build/out",
                "build/out/keep",
                "build/out/keep/me",
                "src"
            ]
        );
        // "src/*/" is cleaned to "src/*": a trailing slash does not limit it to directories.
        assert!(ctx.is_ignored("src/lib.rs"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn non_utf8_names_fail_unless_ignored() {
        use std::os::unix::ffi::OsStrExt;
        let tmp = tempfile::tempdir().unwrap();
        let bad = std::ffi::OsStr::from_bytes(b"bad\xff");
        fs::create_dir_all(tmp.path().join("vendor")).unwrap();
        fs::write(tmp.path().join("vendor").join(bad), "").unwrap();
        write_tree(tmp.path(), &[(".dockerignore", "vendor\n"), ("ok", "")]);
        // The excluded directory is not even walked.
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(paths(&ctx), [".dockerignore", "ok"]);
        fs::write(tmp.path().join(bad), "").unwrap();
        match BuildContext::open(tmp.path(), None) {
            Err(Error::Context { path, reason, .. }) => {
                assert_eq!(path, tmp.path().join(bad));
                assert!(reason.contains("UTF-8"));
            }
            other => panic!("expected a context error, got {other:?}"),
        }
    }

    #[test]
    fn dockerfile_is_excluded_only_when_dockerignore_says_so() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                (".dockerignore", "Dockerfile\n.dockerignore\n"),
                ("Dockerfile", ""),
                ("x", ""),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(paths(&ctx), ["x"]);
    }

    #[test]
    fn open_errors_name_the_path() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("nope");
        match BuildContext::open(&missing, None) {
            Err(Error::Io { path, .. }) => assert_eq!(path, missing),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        write_tree(tmp.path(), &[("file", ""), (".dockerignore", "[\n")]);
        match BuildContext::open(&tmp.path().join("file"), None) {
            Err(Error::Context { path, .. }) => assert_eq!(path, tmp.path().join("file")),
            other => panic!("expected a context error, got {other:?}"),
        }
        match BuildContext::open(tmp.path(), None) {
            Err(Error::Context { path, reason, .. }) => {
                assert_eq!(path, tmp.path().join(".dockerignore"));
                assert!(reason.contains("line 1"), "{reason}");
            }
            other => panic!("expected a context error, got {other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn resolve_links_follows_components_and_stays_inside() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("real/dir/f", "x")]);
        symlink(tmp.path(), "real/dir", "l1");
        symlink(tmp.path(), "/real", "abs");
        symlink(tmp.path(), "../../../../real", "escape");
        symlink(tmp.path(), "loop", "loop");
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        let mut seen = Vec::new();
        assert_eq!(
            ctx.resolve_links("l1/f", false, &mut seen).unwrap(),
            "real/dir/f"
        );
        assert_eq!(seen.len(), 1);
        assert_eq!(
            ctx.resolve_links("abs/dir", true, &mut seen).unwrap(),
            "real/dir"
        );
        assert_eq!(
            ctx.resolve_links("escape/dir", true, &mut seen).unwrap(),
            "real/dir"
        );
        assert_eq!(ctx.resolve_links("l1", false, &mut seen).unwrap(), "l1");
        assert!(ctx.resolve_links("loop", true, &mut seen).is_none());
    }
}
