//! Context changes from git (`--git REV`) and per-file churn over recent commits.
//!
//! Only the `git` command is used (no library), with `-z` output so that any file name
//! survives. Paths are returned relative to the context directory even when the repository
//! root is above it; paths outside the context are dropped.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::pattern::path_cmp;
use super::{ContextChange, ContextChangeKind};
use crate::{Error, Result};

/// How often files changed over the last commits (`git log -n N`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Churn {
    /// Number of commits examined (at most the `n` asked for).
    pub commits: usize,
    /// For each context path, the number of examined commits that touched it.
    pub per_file: BTreeMap<String, usize>,
    /// For each examined commit, newest first, the context paths it touched (empty when it
    /// touched nothing in the context, or is a merge). `per_commit.len() == commits`.
    pub per_commit: Vec<Vec<String>>,
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // Read-only commands: do not take the index lock while others may be using git.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .output()
        .map_err(|e| Error::Context {
            path: dir.to_path_buf(),
            reason: "cannot run git".into(),
            source: Some(e.into()),
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::Context {
            path: dir.to_path_buf(),
            reason: format!("git {} failed: {}", args.join(" "), stderr.trim()),
            source: None,
        });
    }
    Ok(output.stdout)
}

/// The context directory's path below the repository root, with a trailing `/` (or `""`).
fn prefix(dir: &Path) -> Result<String> {
    let out = git(dir, &["rev-parse", "--show-prefix"])?;
    Ok(String::from_utf8_lossy(&out)
        .trim_end_matches('\n')
        .to_owned())
}

fn strip<'a>(prefix: &str, path: &'a str) -> Option<&'a str> {
    path.strip_prefix(prefix).filter(|p| !p.is_empty())
}

fn check_rev(dir: &Path, rev: &str) -> Result<()> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(Error::Context {
            path: dir.to_path_buf(),
            reason: format!("invalid git revision {rev:?}"),
            source: None,
        });
    }
    Ok(())
}

/// The changes between revision `rev` and the working tree of the context directory `dir`:
/// `git diff REV --` (committed, staged and unstaged changes) plus untracked files that are
/// not git-ignored (`git ls-files --others --exclude-standard`), in tree order.
///
/// Kinds: a path added or untracked is [`ContextChangeKind::Added`], deleted is
/// [`ContextChangeKind::Removed`], a change of content or type is
/// [`ContextChangeKind::ContentChanged`], and a change of the executable bit alone (git
/// records 644/755 only) is [`ContextChangeKind::ModeChanged`]. The paths are not filtered by `.dockerignore`: use
/// [`crate::BuildContext::selection_contains`], which does.
///
/// # Errors
///
/// [`Error::Context`] naming `dir` when git is missing, `dir` is not in a repository, or
/// `rev` is unknown.
pub fn git_changes(dir: &Path, rev: &str) -> Result<Vec<ContextChange>> {
    check_rev(dir, rev)?;
    let prefix = prefix(dir)?;
    let raw = git(
        dir,
        &[
            "diff",
            "--raw",
            "-z",
            "--no-renames",
            "--no-abbrev",
            "--no-ext-diff",
            rev,
            "--",
            ".",
        ],
    )?;
    let mut changes = Vec::new();
    let mut mode_only_candidates: Vec<(String, String)> = Vec::new();
    let mut fields = raw.split(|b| *b == 0);
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = fields.next() else { break };
        let path = String::from_utf8_lossy(path);
        let Some(rel) = strip(&prefix, &path) else {
            continue;
        };
        // ":<old mode> <new mode> <old sha> <new sha> <status>"
        let meta = String::from_utf8_lossy(meta);
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let [old_mode, new_mode, old_sha, new_sha, status] = parts.as_slice() else {
            continue;
        };
        let kind = match status.chars().next() {
            Some('A') => ContextChangeKind::Added,
            Some('D') => ContextChangeKind::Removed,
            Some('M') if old_mode != new_mode => {
                if new_sha.bytes().all(|b| b == b'0') {
                    // The working-tree side is not hashed by `git diff`; decide below.
                    mode_only_candidates.push((rel.to_owned(), (*old_sha).to_owned()));
                    continue;
                }
                if old_sha == new_sha {
                    ContextChangeKind::ModeChanged
                } else {
                    ContextChangeKind::ContentChanged
                }
            }
            _ => ContextChangeKind::ContentChanged,
        };
        changes.push(ContextChange {
            path: rel.to_owned(),
            kind,
        });
    }
    if !mode_only_candidates.is_empty() {
        let mut args = vec!["hash-object", "--"];
        args.extend(mode_only_candidates.iter().map(|(p, _)| p.as_str()));
        let out = git(dir, &args)?;
        let hashes = String::from_utf8_lossy(&out);
        let mut hashes = hashes.lines();
        for (path, old_sha) in mode_only_candidates {
            let same = hashes.next().is_some_and(|h| h.trim() == old_sha);
            changes.push(ContextChange {
                path,
                kind: if same {
                    ContextChangeKind::ModeChanged
                } else {
                    ContextChangeKind::ContentChanged
                },
            });
        }
    }
    let untracked = git(
        dir,
        &[
            "ls-files",
            "-z",
            "--others",
            "--exclude-standard",
            "--full-name",
            "--",
            ".",
        ],
    )?;
    for path in untracked.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path);
        if let Some(rel) = strip(&prefix, &path) {
            changes.push(ContextChange {
                path: rel.to_owned(),
                kind: ContextChangeKind::Added,
            });
        }
    }
    changes.sort_by(|a, b| path_cmp(&a.path, &b.path).then(a.kind.cmp(&b.kind)));
    changes.dedup_by(|later, kept| later.path == kept.path);
    Ok(changes)
}

/// Per-file change frequency over the last `n` commits reachable from `HEAD` (all commits of
/// the repository, so that `commits` counts builds even when the root is above the context),
/// from `git log -n N --name-only`. Renames count as a deletion plus an addition.
///
/// # Errors
///
/// [`Error::Context`] naming `dir` when git is missing, `dir` is not in a repository, or the
/// repository has no commits.
pub fn git_churn(dir: &Path, n: usize) -> Result<Churn> {
    let prefix = prefix(dir)?;
    let count = format!("-n{n}");
    let out = git(
        dir,
        &[
            "log",
            &count,
            "--no-renames",
            "--name-only",
            "-z",
            "--format=%x1e%H",
        ],
    )?;
    let mut churn = Churn::default();
    // Each commit: "\x1e<hash>\0\n<path>\0<path>\0..." (no paths for merges).
    for record in out.split(|b| *b == 0x1e).skip(1) {
        let mut fields = record.split(|b| *b == 0);
        fields.next(); // the commit hash
        let mut paths: Vec<String> = fields
            .filter_map(|p| {
                let p = String::from_utf8_lossy(p);
                let p = p.trim_start_matches('\n');
                strip(&prefix, p).map(str::to_owned)
            })
            .collect();
        paths.sort_by(|a, b| path_cmp(a, b));
        paths.dedup();
        for p in &paths {
            *churn.per_file.entry(p.clone()).or_default() += 1;
        }
        churn.per_commit.push(paths);
    }
    churn.commits = churn.per_commit.len();
    Ok(churn)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use std::fs;

    fn have_git() -> bool {
        Command::new("git")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn run(dir: &Path, args: &[&str]) {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A repository whose root is above the context directory `app/`.
    fn repo() -> Option<tempfile::TempDir> {
        if !have_git() {
            // CI (.ci/run) asks for the git tier: there a missing git is a failure.
            assert!(
                std::env::var("LAYERSCOPE_REQUIRE_GIT").as_deref() != Ok("1"),
                "LAYERSCOPE_REQUIRE_GIT=1 but git cannot run"
            );
            eprintln!("git not found: skipping");
            return None;
        }
        let tmp = tempfile::tempdir().unwrap();
        run(tmp.path(), &["init", "-q"]);
        write_tree(
            tmp.path(),
            &[
                ("outside.txt", "o"),
                ("app/Dockerfile", "FROM scratch"),
                ("app/src/a.rs", "a"),
                ("app/src/b.rs", "b"),
                ("app/run.sh", "echo"),
                ("app/.gitignore", "target/\n"),
            ],
        );
        run(tmp.path(), &["add", "-A"]);
        run(tmp.path(), &["commit", "-qm", "one"]);
        Some(tmp)
    }

    fn kinds(changes: Vec<ContextChange>) -> Vec<(String, ContextChangeKind)> {
        changes.into_iter().map(|c| (c.path, c.kind)).collect()
    }

    #[test]
    fn git_changes_relative_to_the_context() {
        let Some(tmp) = repo() else { return };
        let app = tmp.path().join("app");
        assert!(git_changes(&app, "HEAD").unwrap().is_empty());
        fs::write(app.join("src/a.rs"), "A").unwrap();
        fs::remove_file(app.join("src/b.rs")).unwrap();
        write_tree(&app, &[("new.rs", "n"), ("target/out", "ignored by git")]);
        fs::write(tmp.path().join("outside.txt"), "changed").unwrap();
        #[cfg(unix)]
        chmod(&app, "run.sh", 0o755);
        let got = kinds(git_changes(&app, "HEAD").unwrap());
        let mut want = vec![
            ("new.rs".to_owned(), ContextChangeKind::Added),
            ("src/a.rs".to_owned(), ContextChangeKind::ContentChanged),
            ("src/b.rs".to_owned(), ContextChangeKind::Removed),
        ];
        #[cfg(unix)]
        want.insert(1, ("run.sh".to_owned(), ContextChangeKind::ModeChanged));
        assert_eq!(got, want);
        // A committed change is still a change relative to the older revision.
        run(tmp.path(), &["add", "-A"]);
        run(tmp.path(), &["commit", "-qm", "two"]);
        assert!(git_changes(&app, "HEAD").unwrap().is_empty());
        assert_eq!(git_changes(&app, "HEAD~1").unwrap().len(), want.len());
    }

    #[test]
    fn git_errors_name_the_directory() {
        let Some(tmp) = repo() else { return };
        for rev in ["no-such-rev", "--output=/tmp/x", ""] {
            match git_changes(tmp.path(), rev) {
                Err(Error::Context { path, .. }) => assert_eq!(path, tmp.path()),
                other => panic!("{rev:?}: expected an error, got {other:?}"),
            }
        }
        let plain = tempfile::tempdir().unwrap();
        assert!(matches!(
            git_churn(plain.path(), 5),
            Err(Error::Context { .. })
        ));
    }

    #[test]
    fn churn_counts_commits_per_file() {
        let Some(tmp) = repo() else { return };
        let app = tmp.path().join("app");
        fs::write(app.join("src/a.rs"), "a2").unwrap();
        run(tmp.path(), &["commit", "-qam", "two"]);
        fs::write(app.join("src/a.rs"), "a3").unwrap();
        fs::write(tmp.path().join("outside.txt"), "o2").unwrap();
        run(tmp.path(), &["commit", "-qam", "three"]);
        fs::write(tmp.path().join("outside.txt"), "o3").unwrap();
        run(tmp.path(), &["commit", "-qam", "four"]);

        let churn = git_churn(&app, 3).unwrap();
        assert_eq!(churn.commits, 3);
        assert_eq!(
            churn.per_commit,
            vec![
                vec![],
                vec!["src/a.rs".to_owned()],
                vec!["src/a.rs".to_owned()]
            ]
        );
        assert_eq!(churn.per_file.get("src/a.rs"), Some(&2));
        assert_eq!(churn.per_file.len(), 1);

        let all = git_churn(&app, 100).unwrap();
        assert_eq!(all.commits, 4);
        assert_eq!(all.per_file.get("src/a.rs"), Some(&3));
        assert_eq!(all.per_file.get("Dockerfile"), Some(&1));
        assert!(!all.per_file.contains_key("outside.txt"));
        assert_eq!(git_churn(&app, 0).unwrap().commits, 0);
    }
}
