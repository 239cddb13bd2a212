//! COPY/ADD source selection (BuildKit `dockerfile2llb` + `cache/contenthash`) and the
//! checksum of what a step selected.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pattern::{
    Pattern, PatternList, contains_wildcards, is_within, prefixes, rel_clean, relative_to,
};
use super::{BuildContext, ContextChange, ContextChangeKind, ContextEntryKind};
use crate::digest::sha256_string;
use crate::{Error, Result};

/// What one COPY/ADD step takes from the build context.
///
/// `sources` are the step's source arguments after ARG/ENV expansion (the caller expands
/// them), as written: relative to the context, a leading `/` or `../` is ignored, wildcards
/// follow Go `filepath.Match` (`*` and `?` never cross `/`), a directory is copied
/// recursively. `excludes` are the `--exclude` patterns (`.dockerignore` syntax, matched
/// below each source). `parents` is `--parents`: each source is then a `.dockerignore`-style
/// pattern (so `**` works), optionally pivoted with `/./` (`./src/./**/*.go`).
///
/// Only context sources belong here: leave out URLs, git sources, heredocs and
/// `COPY --from` steps, which do not read the build context.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Selection {
    /// Source paths or patterns, variable-expanded.
    pub sources: Vec<String>,
    /// `--exclude` patterns.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// `--parents`.
    #[serde(default)]
    pub parents: bool,
}

/// One entry a step selected, as [`BuildContext::select`] returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SelectedFile {
    /// Path as the step sees it, relative to the context. It differs from the entry's own
    /// path only below a source that is (or goes through) a symlink, which COPY follows.
    pub path: String,
    /// Kind of the entry whose data is used.
    pub kind: ContextEntryKind,
    /// Its permission bits.
    pub mode: u32,
    /// Its size (see [`crate::ContextEntry::size_bytes`]).
    pub size_bytes: u64,
    #[serde(skip)]
    entry: u32,
    #[serde(skip)]
    mode_counts: bool,
    #[serde(skip)]
    context: u64,
}

impl SelectedFile {
    /// Whether this entry's permission bits are part of the step's checksum. Always true for
    /// files and symlinks; for directories only in a filtered selection (wildcard source,
    /// `--exclude` or `--parents`), where BuildKit hashes directory headers. A plain
    /// directory source hashes only the names and contents below it, so `chmod` on a
    /// subdirectory does not invalidate `COPY . .`.
    pub fn mode_counts(&self) -> bool {
        self.mode_counts
    }
}

/// One source argument, compiled.
#[derive(Debug)]
struct Source {
    raw: String,
    /// The literal directory before the first wildcard component (`""` = the root); the
    /// whole source when it has no wildcard.
    base: String,
    /// The whole cleaned source as a `filepath.Match` pattern, when it has wildcards.
    glob: Option<Pattern>,
    /// The components after `base`, one `filepath.Match` pattern each, to expand level by
    /// level (`*` and `?` never match `/`). `None` when a bracket class or an escaped `/`
    /// could match across components: then every entry is tested against `glob`.
    levels: Option<Vec<Pattern>>,
    /// The `--parents` pattern, matched below the base.
    include: Option<PatternList>,
}

impl Source {
    fn compile(raw: &str, parents: bool) -> std::result::Result<Source, String> {
        // dockerfile2llb: with --parents, "a/./b/**" pivots at "/./"; without a pivot the
        // whole source is the include pattern below the root.
        let (parent, include_raw) = if parents {
            match raw.split_once("/./") {
                Some((parent, pattern)) => (parent, Some(pattern)),
                None => ("/", Some(raw)),
            }
        } else {
            (raw, None)
        };
        let include = match include_raw.map(rel_clean) {
            Some(p) if !p.is_empty() => Some(PatternList::new(&[p])?),
            _ => None,
        };
        let full = rel_clean(parent);
        let comps: Vec<&str> = if full.is_empty() {
            Vec::new()
        } else {
            full.split('/').collect()
        };
        let literal = comps.iter().take_while(|c| !contains_wildcards(c)).count();
        let glob = if literal < comps.len() {
            Some(Pattern::glob(&full)?)
        } else {
            None
        };
        let levels = if glob.is_some() && !full.contains('[') && !full.contains("\\/") {
            comps
                .get(literal..)
                .unwrap_or_default()
                .iter()
                .map(|c| Pattern::glob(c))
                .collect::<std::result::Result<Vec<_>, _>>()
                .ok()
        } else {
            None
        };
        Ok(Source {
            raw: raw.to_owned(),
            base: comps.get(..literal).unwrap_or_default().join("/"),
            glob,
            levels,
            include: include.filter(|l| !l.is_empty()),
        })
    }
}

/// Per-path pattern results handed from a directory to its children.
#[derive(Debug, Clone, Default)]
struct FilterInfo {
    include: Option<Vec<bool>>,
    exclude: Option<Vec<bool>>,
}

/// contenthash `shouldIncludePath`: the include pattern first (a miss stops there, leaving
/// no exclude results for the children), then the excludes.
fn should_include(
    include: Option<&PatternList>,
    exclude: Option<&PatternList>,
    candidate: &str,
    parent: Option<&FilterInfo>,
) -> (bool, FilterInfo) {
    let mut info = FilterInfo::default();
    if let Some(list) = include {
        let mut bits = Vec::new();
        let m = list.matches_with_parent(
            candidate,
            parent.and_then(|p| p.include.as_deref()),
            &mut bits,
        );
        info.include = Some(bits);
        if !m {
            return (false, info);
        }
    }
    if let Some(list) = exclude {
        let mut bits = Vec::new();
        let m = list.matches_with_parent(
            candidate,
            parent.and_then(|p| p.exclude.as_deref()),
            &mut bits,
        );
        info.exclude = Some(bits);
        if m {
            return (false, info);
        }
    }
    (true, info)
}

#[derive(Debug, Clone, Copy)]
struct Item {
    entry: u32,
    /// Index into `Resolved::aliases` when reached through a symlink.
    alias: Option<u32>,
    mode_counts: bool,
}

/// A selection resolved against one context (cached per [`Selection`]).
#[derive(Debug, Default)]
pub(crate) struct Resolved {
    sources: Vec<Source>,
    excludes: Option<PatternList>,
    items: Vec<Item>,
    /// (real prefix, prefix as named by the source).
    aliases: Vec<(String, String)>,
    /// Entry indices selected, sorted, with whether their mode counts.
    members: Vec<(u32, bool)>,
    /// Symlink entries followed while resolving sources, sorted.
    through_links: Vec<u32>,
    /// Sources that name nothing in the context.
    missing: Vec<String>,
}

impl Resolved {
    fn compile(selection: &Selection) -> std::result::Result<Resolved, String> {
        let sources = selection
            .sources
            .iter()
            .map(|s| {
                Source::compile(s, selection.parents).map_err(|e| format!("source {s:?}: {e}"))
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let excludes =
            PatternList::new(&selection.excludes).map_err(|e| format!("--exclude {e}"))?;
        Ok(Resolved {
            sources,
            excludes: (!excludes.is_empty()).then_some(excludes),
            ..Resolved::default()
        })
    }

    fn item_path<'a>(&self, ctx: &'a BuildContext, item: &Item) -> Cow<'a, str> {
        let path = ctx.entry(item.entry).map_or("", |e| e.path());
        match item.alias.and_then(|a| self.aliases.get(a as usize)) {
            None => Cow::Borrowed(path),
            Some((real, named)) => {
                let rest = relative_to(path, real).unwrap_or(path);
                Cow::Owned(join(named, rest))
            }
        }
    }

    fn member(&self, entry: u32) -> Option<bool> {
        self.members
            .binary_search_by_key(&entry, |m| m.0)
            .ok()
            .and_then(|i| self.members.get(i))
            .map(|m| m.1)
    }

    fn resolve(&mut self, ctx: &BuildContext) {
        let sources = std::mem::take(&mut self.sources);
        for source in &sources {
            let roots = self.roots(ctx, source);
            for (real, named) in roots {
                self.add_root(ctx, source, &real, &named);
            }
        }
        self.sources = sources;
        let mut keyed: Vec<(Cow<'_, str>, Item)> = self
            .items
            .iter()
            .map(|it| (self.item_path(ctx, it), *it))
            .collect();
        let order = |a: &(Cow<'_, str>, Item), b: &(Cow<'_, str>, Item)| {
            super::pattern::path_cmp(&a.0, &b.0).then(a.1.entry.cmp(&b.1.entry))
        };
        // One plain source yields tree order already; only mixed sources need the sort.
        if !keyed.is_sorted_by(|a, b| order(a, b).is_le()) {
            keyed.sort_by(order);
        }
        keyed.dedup_by(|later, kept| {
            let same = kept.0 == later.0 && kept.1.entry == later.1.entry;
            if same {
                // The union of the sources: the mode counts if any source hashes it.
                kept.1.mode_counts |= later.1.mode_counts;
            }
            same
        });
        let items: Vec<Item> = keyed.into_iter().map(|(_, it)| it).collect();
        let mut members: Vec<(u32, bool)> =
            items.iter().map(|i| (i.entry, i.mode_counts)).collect();
        members.sort_unstable();
        // Keep one row per entry; `true` sorts last, so keep the last of each run.
        members.reverse();
        members.dedup_by_key(|m| m.0);
        members.reverse();
        self.items = items;
        self.members = members;
        self.through_links.sort_unstable();
        self.through_links.dedup();
    }

    /// The paths a source names: (resolved real path, path as named).
    fn roots(&mut self, ctx: &BuildContext, source: &Source) -> Vec<(String, String)> {
        let mut traversed = Vec::new();
        let resolved_base = ctx.resolve_links(&source.base, true, &mut traversed);
        self.through_links.append(&mut traversed);
        let Some(glob) = &source.glob else {
            return match resolved_base {
                Some(real) if real.is_empty() || ctx.index_of(&real).is_some() => {
                    vec![(real, source.base.clone())]
                }
                _ => {
                    self.missing.push(source.raw.clone());
                    Vec::new()
                }
            };
        };
        // BuildKit scans below the resolved literal prefix, or everything when it does not
        // resolve to a directory; an empty match is not an error (AllowEmptyWildcard).
        let (scan, named_scan, base_found) = match resolved_base {
            Some(real)
                if real.is_empty()
                    || ctx
                        .index_of(&real)
                        .and_then(|i| ctx.entries.get(i))
                        .is_some_and(|e| e.kind == ContextEntryKind::Dir) =>
            {
                (real, source.base.clone(), true)
            }
            _ => (String::new(), String::new(), false),
        };
        // The matches, in tree order: (entry index, path as named).
        let mut matches: Vec<(usize, String)> = Vec::new();
        match &source.levels {
            Some(levels) if base_found => {
                // Expand one component at a time, visiting only the directories on the way.
                let mut frontier: Vec<(String, String)> = vec![(scan, named_scan)];
                for (depth, level) in levels.iter().enumerate() {
                    let last_level = depth + 1 == levels.len();
                    let mut next = Vec::new();
                    for (real, named) in &frontier {
                        for i in ctx.children(real) {
                            let Some(e) = ctx.entries.get(i) else {
                                continue;
                            };
                            let name = e.path().rsplit('/').next().unwrap_or(e.path());
                            if !level.matches(name) {
                                continue;
                            }
                            let child = join(named, name);
                            if last_level {
                                matches.push((i, child));
                            } else if e.kind == ContextEntryKind::Dir {
                                next.push((e.path().to_owned(), child));
                            }
                        }
                    }
                    frontier = next;
                }
            }
            _ => {
                let mut last: Option<String> = None;
                for i in ctx.subtree(&scan) {
                    let Some(e) = ctx.entries.get(i) else { break };
                    let rest = relative_to(e.path(), &scan).unwrap_or(e.path());
                    let named = join(&named_scan, rest);
                    if last.as_deref().is_some_and(|l| is_within(&named, l)) {
                        continue;
                    }
                    if glob.matches(&named) {
                        last = Some(named.clone());
                        matches.push((i, named));
                    }
                }
            }
        }
        let mut roots = Vec::new();
        for (i, named) in matches {
            let Some(e) = ctx.entries.get(i) else {
                continue;
            };
            if e.kind == ContextEntryKind::Symlink {
                // COPY follows a source that is a symlink.
                if let Ok(index) = u32::try_from(i) {
                    self.through_links.push(index);
                }
                match ctx.resolve_links(e.path(), true, &mut traversed) {
                    Some(real) if real.is_empty() || ctx.index_of(&real).is_some() => {
                        roots.push((real, named));
                    }
                    _ => self.missing.push(named),
                }
                self.through_links.append(&mut traversed);
            } else {
                roots.push((e.path().to_owned(), named));
            }
        }
        roots
    }

    fn add_root(&mut self, ctx: &BuildContext, source: &Source, real: &str, named: &str) {
        let alias = if real == named {
            None
        } else {
            let Ok(a) = u32::try_from(self.aliases.len()) else {
                return;
            };
            self.aliases.push((real.to_owned(), named.to_owned()));
            Some(a)
        };
        let root_entry = ctx.index_of(real).and_then(|i| u32::try_from(i).ok());
        let root_is_dir = real.is_empty()
            || root_entry
                .and_then(|i| ctx.entry(i))
                .is_some_and(|e| e.kind == ContextEntryKind::Dir);
        let filtered = source.glob.is_some() || source.include.is_some() || self.excludes.is_some();
        let include = source.include.as_ref();
        let exclude = self.excludes.as_ref();
        if !root_is_dir {
            if let Some(entry) = root_entry
                && (!filtered || should_include(include, exclude, "", None).0)
            {
                self.items.push(Item {
                    entry,
                    alias,
                    mode_counts: true,
                });
            }
            return;
        }
        if !filtered {
            // contenthash lazyChecksum of a directory: names and contents below it, no
            // directory headers.
            for i in ctx.subtree(real) {
                let (Ok(entry), Some(e)) = (u32::try_from(i), ctx.entries.get(i)) else {
                    continue;
                };
                self.items.push(Item {
                    entry,
                    alias,
                    mode_counts: e.kind != ContextEntryKind::Dir,
                });
            }
            return;
        }
        // contenthash includedPaths: every candidate is filtered with its parent directory's
        // results; an included entry brings its not-yet-included parent directory headers.
        struct Open {
            rel: String,
            info: FilterInfo,
            entry: Option<u32>,
            emitted: bool,
        }
        let (root_ok, root_info) = should_include(include, exclude, "", None);
        let mut stack = vec![Open {
            rel: String::new(),
            info: root_info,
            entry: root_entry,
            emitted: root_ok,
        }];
        if root_ok && let Some(entry) = root_entry {
            self.items.push(Item {
                entry,
                alias,
                mode_counts: true,
            });
        }
        for i in ctx.subtree(real) {
            let (Ok(index), Some(e)) = (u32::try_from(i), ctx.entries.get(i)) else {
                continue;
            };
            let rel = relative_to(e.path(), real).unwrap_or(e.path());
            while stack.len() > 1 && stack.last().is_some_and(|o| !is_within(rel, &o.rel)) {
                stack.pop();
            }
            let (ok, info) = should_include(include, exclude, rel, stack.last().map(|o| &o.info));
            if ok {
                for open in stack.iter_mut().filter(|o| !o.emitted) {
                    open.emitted = true;
                    if let Some(entry) = open.entry {
                        self.items.push(Item {
                            entry,
                            alias,
                            mode_counts: true,
                        });
                    }
                }
                self.items.push(Item {
                    entry: index,
                    alias,
                    mode_counts: true,
                });
            }
            if e.kind == ContextEntryKind::Dir {
                stack.push(Open {
                    rel: rel.to_owned(),
                    info,
                    entry: Some(index),
                    emitted: ok,
                });
            }
        }
    }

    /// By-name test for a path that is not in the context (deleted, or never there).
    fn matches_name(&self, ctx: &BuildContext, path: &str) -> bool {
        for source in &self.sources {
            // A path above a source (a removed directory or symlink on the way) breaks it.
            if !source.base.is_empty()
                && relative_to(&source.base, path).is_some_and(|r| !r.is_empty())
            {
                return true;
            }
            let mut bases = vec![source.base.clone()];
            let mut traversed = Vec::new();
            if let Some(real) = ctx.resolve_links(&source.base, true, &mut traversed)
                && real != source.base
            {
                bases.push(real);
            }
            let filtered =
                source.glob.is_some() || source.include.is_some() || self.excludes.is_some();
            for base in &bases {
                let Some(rest) = relative_to(path, base) else {
                    continue;
                };
                let named = join(&source.base, rest);
                let rel = match &source.glob {
                    None => Some(rest.to_owned()),
                    Some(glob) => prefixes(&named).find(|p| glob.matches(p)).map(|p| {
                        named
                            .get(p.len()..)
                            .unwrap_or("")
                            .trim_start_matches('/')
                            .to_owned()
                    }),
                };
                let Some(rel) = rel else {
                    continue;
                };
                if !filtered || self.filter_chain(source, &rel) {
                    return true;
                }
            }
        }
        false
    }

    /// [`should_include`] applied from the source root down to `rel`, as the selection walk
    /// would reach it.
    fn filter_chain(&self, source: &Source, rel: &str) -> bool {
        let include = source.include.as_ref();
        let exclude = self.excludes.as_ref();
        let (mut ok, mut info) = should_include(include, exclude, "", None);
        if rel.is_empty() {
            return ok;
        }
        for prefix in prefixes(rel) {
            (ok, info) = should_include(include, exclude, prefix, Some(&info));
        }
        ok
    }
}

fn join(dir: &str, rest: &str) -> String {
    match (dir.is_empty(), rest.is_empty()) {
        (true, _) => rest.to_owned(),
        (false, true) => dir.to_owned(),
        (false, false) => format!("{dir}/{rest}"),
    }
}

fn kind_code(kind: ContextEntryKind) -> u8 {
    match kind {
        ContextEntryKind::File => b'f',
        ContextEntryKind::Dir => b'd',
        ContextEntryKind::Symlink => b'l',
        ContextEntryKind::Other => b'o',
    }
}

impl BuildContext {
    fn lock_resolved(&self) -> std::sync::MutexGuard<'_, HashMap<Selection, Arc<Resolved>>> {
        self.resolved.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn resolved(&self, selection: &Selection) -> Result<Arc<Resolved>> {
        if let Some(r) = self.lock_resolved().get(selection) {
            return Ok(Arc::clone(r));
        }
        let mut resolved = Resolved::compile(selection).map_err(|reason| Error::Context {
            path: self.dir.clone(),
            reason,
            source: None,
        })?;
        resolved.resolve(self);
        let resolved = Arc::new(resolved);
        self.lock_resolved()
            .insert(selection.clone(), Arc::clone(&resolved));
        Ok(resolved)
    }

    /// Resolves a COPY/ADD step's sources against the context: wildcards, directories
    /// (recursively), symlinked sources (followed), `--exclude` and `--parents`, all after
    /// `.dockerignore`. The result is in tree order, without duplicates.
    ///
    /// # Errors
    ///
    /// [`Error::Context`] naming the context directory when a pattern is malformed, and
    /// naming the source when a source without wildcards matches nothing (it is missing or
    /// excluded by `.dockerignore`: BuildKit fails such a step with "not found"). A wildcard
    /// that matches nothing selects nothing.
    pub fn select(&self, selection: &Selection) -> Result<Vec<SelectedFile>> {
        let resolved = self.resolved(selection)?;
        if let Some(missing) = resolved.missing.first() {
            return Err(Error::Context {
                path: self.dir.join(rel_clean(missing)),
                reason: format!(
                    "COPY/ADD source {missing:?} is not in the build context \
                     (missing, or excluded by .dockerignore)"
                ),
                source: None,
            });
        }
        Ok(resolved
            .items
            .iter()
            .filter_map(|item| {
                let e = self.entry(item.entry)?;
                Some(SelectedFile {
                    path: resolved.item_path(self, item).into_owned(),
                    kind: e.kind(),
                    mode: e.mode(),
                    size_bytes: e.size_bytes(),
                    entry: item.entry,
                    mode_counts: item.mode_counts,
                    context: self.id,
                })
            })
            .collect())
    }

    /// The checksum of what a step selected (`sha256:<hex>`), computed like BuildKit's
    /// content cache key: the selected names, kinds, permission bits (see
    /// [`SelectedFile::mode_counts`]), file contents and symlink targets count; mtime and
    /// ownership do not. Only the selected files are read, each at most once per context.
    ///
    /// The value is layerscope's own (it is not byte-compatible with BuildKit's digest), so
    /// compare checksums from the same version of layerscope only.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file that could not be read; [`Error::Context`] when
    /// `selected` came from another [`BuildContext`].
    pub fn checksum(&self, selected: &[SelectedFile]) -> Result<String> {
        if selected.iter().any(|s| s.context != self.id) {
            return Err(Error::Context {
                path: self.dir.clone(),
                reason: "the selection was made on another build context".to_owned(),
                source: None,
            });
        }
        let files: Vec<u32> = selected
            .iter()
            .filter(|s| s.kind == ContextEntryKind::File)
            .map(|s| s.entry)
            .collect();
        self.ensure_hashed(&files)?;
        let mut h = Sha256::new();
        for s in selected {
            let Some(e) = self.entry(s.entry) else {
                continue;
            };
            h.update((s.path.len() as u64).to_le_bytes());
            h.update(s.path.as_bytes());
            h.update([kind_code(e.kind())]);
            if s.mode_counts {
                h.update(e.mode().to_le_bytes());
            }
            match e.kind() {
                ContextEntryKind::File => {
                    let content = self.cached_hash(s.entry).ok_or_else(|| Error::Context {
                        path: self.abs_path(s.entry),
                        reason: "file content was not hashed".to_owned(),
                        source: None,
                    })?;
                    h.update(e.size_bytes().to_le_bytes());
                    h.update(content);
                }
                ContextEntryKind::Symlink => {
                    let target = e.link_target().unwrap_or("");
                    h.update((target.len() as u64).to_le_bytes());
                    h.update(target.as_bytes());
                }
                ContextEntryKind::Dir | ContextEntryKind::Other => {}
            }
        }
        Ok(sha256_string(&h.finalize().into()))
    }

    /// Whether a change at `rel_path` feeds the step: true when the path is selected now, or
    /// is a symlink the step's sources go through. A path that is not in this context (it was
    /// deleted, or `.dockerignore`d) is matched by name against the sources, wildcards and
    /// filters, so deletions count; an ignored name never matches.
    ///
    /// For changes between two contexts ([`BuildContext::diff`]), ask both and combine with
    /// `||`: a file that left the context (deleted, or newly ignored) is only selected in the
    /// old one. An invalid selection contains nothing ([`BuildContext::select`] reports why).
    pub fn selection_contains(&self, selection: &Selection, rel_path: &str) -> bool {
        let path = rel_clean(rel_path);
        if path.is_empty() {
            return false;
        }
        let Ok(resolved) = self.resolved(selection) else {
            return false;
        };
        if let Some(index) = self.index_of(&path).and_then(|i| u32::try_from(i).ok()) {
            return resolved.member(index).is_some()
                || resolved.through_links.binary_search(&index).is_ok();
        }
        if self.ignore.matches(&path) {
            return false;
        }
        resolved.matches_name(self, &path)
    }

    /// [`BuildContext::selection_contains`] refined by the kind of change: a mode-only change
    /// of a directory invalidates the step only where the directory's mode is hashed (see
    /// [`SelectedFile::mode_counts`]).
    pub fn change_affects(&self, selection: &Selection, change: &ContextChange) -> bool {
        if change.kind == ContextChangeKind::ModeChanged {
            let path = rel_clean(&change.path);
            if let Some(index) = self.index_of(&path).and_then(|i| u32::try_from(i).ok())
                && self
                    .entry(index)
                    .is_some_and(|e| e.kind() == ContextEntryKind::Dir)
            {
                return self
                    .resolved(selection)
                    .is_ok_and(|r| r.member(index) == Some(true));
            }
        }
        self.selection_contains(selection, &change.path)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use std::fs;
    use std::time::{Duration, SystemTime};

    fn sel(sources: &[&str]) -> Selection {
        Selection {
            sources: sources.iter().map(|s| s.to_string()).collect(),
            ..Selection::default()
        }
    }

    fn selected_paths(ctx: &BuildContext, s: &Selection) -> Vec<String> {
        ctx.select(s).unwrap().into_iter().map(|f| f.path).collect()
    }

    fn sample() -> (tempfile::TempDir, BuildContext) {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                ("Dockerfile", "FROM scratch"),
                ("package.json", "{}"),
                ("tsconfig.json", "{}"),
                ("README.md", "hi"),
                ("src/main.ts", "main"),
                ("src/util/str.ts", "str"),
                ("src/util/str.test.ts", "test"),
                ("docs/a.md", "a"),
                ("packages/web/package.json", "{}"),
                ("packages/web/src/index.ts", "web"),
                ("packages/api/package.json", "{}"),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        (tmp, ctx)
    }

    #[test]
    fn single_file_and_directory_sources() {
        let (_tmp, ctx) = sample();
        assert_eq!(
            selected_paths(&ctx, &sel(&["package.json"])),
            ["package.json"]
        );
        assert_eq!(
            selected_paths(&ctx, &sel(&["./src/"])),
            [
                "src/main.ts",
                "src/util",
                "src/util/str.test.ts",
                "src/util/str.ts"
            ]
        );
        // "/" and "../" are stripped: both mean the context root.
        let all = selected_paths(&ctx, &sel(&["."]));
        assert_eq!(all.len(), ctx.files().len());
        assert_eq!(selected_paths(&ctx, &sel(&["/../.."])), all);
    }

    #[test]
    fn wildcard_sources_use_filepath_match() {
        let (_tmp, ctx) = sample();
        assert_eq!(
            selected_paths(&ctx, &sel(&["*.json"])),
            ["package.json", "tsconfig.json"]
        );
        assert_eq!(
            selected_paths(&ctx, &sel(&["packages/*/package.json"])),
            ["packages/api/package.json", "packages/web/package.json"]
        );
        // A matched directory is copied recursively.
        assert_eq!(
            selected_paths(&ctx, &sel(&["packages/w?b"])),
            [
                "packages/web",
                "packages/web/package.json",
                "packages/web/src",
                "packages/web/src/index.ts"
            ]
        );
        assert_eq!(selected_paths(&ctx, &sel(&["[pt]*.json"])).len(), 2);
        // An empty wildcard match is not an error; a missing plain source is.
        assert!(ctx.select(&sel(&["*.lock"])).unwrap().is_empty());
        match ctx.select(&sel(&["yarn.lock"])) {
            Err(Error::Context { path, reason, .. }) => {
                assert!(path.ends_with("yarn.lock"));
                assert!(reason.contains("not in the build context"));
            }
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn exclude_patterns_apply_below_each_source() {
        let (_tmp, ctx) = sample();
        let s = Selection {
            sources: vec!["src".into()],
            excludes: vec!["**/*.test.ts".into()],
            parents: false,
        };
        assert_eq!(
            selected_paths(&ctx, &s),
            ["src", "src/main.ts", "src/util", "src/util/str.ts"]
        );
        let s = Selection {
            sources: vec![".".into()],
            excludes: vec!["docs".into(), "*.md".into(), "!README.md".into()],
            parents: false,
        };
        let got = selected_paths(&ctx, &s);
        assert!(got.contains(&"README.md".to_owned()));
        assert!(!got.iter().any(|p| p.starts_with("docs")));
        assert!(
            ctx.select(&Selection {
                excludes: vec!["[".into()],
                ..sel(&["."])
            })
            .is_err()
        );
    }

    #[test]
    fn parents_keep_the_path() {
        let (_tmp, ctx) = sample();
        let s = Selection {
            sources: vec!["packages/**/package.json".into()],
            parents: true,
            ..Selection::default()
        };
        assert_eq!(
            selected_paths(&ctx, &s),
            [
                "packages",
                "packages/api",
                "packages/api/package.json",
                "packages/web",
                "packages/web/package.json"
            ]
        );
        // A "/./" pivot: the pattern applies below "packages".
        let s = Selection {
            sources: vec!["./packages/./*/src".into()],
            parents: true,
            ..Selection::default()
        };
        // The pivot directory's own header is hashed once something below it is included,
        // as in contenthash includedPaths.
        assert_eq!(
            selected_paths(&ctx, &s),
            [
                "packages",
                "packages/web",
                "packages/web/src",
                "packages/web/src/index.ts"
            ]
        );
    }

    #[test]
    fn dockerignored_files_are_never_selected() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[
                (".dockerignore", "*.secret\n"),
                ("a.secret", "x"),
                ("b.txt", "y"),
            ],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(
            selected_paths(&ctx, &sel(&["*"])),
            [".dockerignore", "b.txt"]
        );
        assert!(ctx.select(&sel(&["a.secret"])).is_err());
        assert!(!ctx.selection_contains(&sel(&["."]), "a.secret"));
        assert!(ctx.selection_contains(&sel(&["."]), ".dockerignore"));
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_source_is_followed() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(tmp.path(), &[("real/a.txt", "a"), ("real/b.txt", "b")]);
        symlink(tmp.path(), "real", "link");
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(
            selected_paths(&ctx, &sel(&["link"])),
            ["link/a.txt", "link/b.txt"]
        );
        assert!(ctx.selection_contains(&sel(&["link"]), "real/a.txt"));
        assert!(ctx.selection_contains(&sel(&["link"]), "link"));
        assert!(!ctx.selection_contains(&sel(&["real/a.txt"]), "real/b.txt"));
    }

    #[cfg(unix)]
    #[test]
    fn wildcards_through_and_onto_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[("real/a.txt", "a"), ("real/b.md", "b"), ("conf/x.yml", "x")],
        );
        symlink(tmp.path(), "real", "link");
        symlink(tmp.path(), "conf/x.yml", "config.yml");
        symlink(tmp.path(), "missing", "dangling.yml");
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        // The literal prefix is resolved, the names stay as written.
        assert_eq!(selected_paths(&ctx, &sel(&["link/*.txt"])), ["link/a.txt"]);
        assert!(ctx.selection_contains(&sel(&["link/*.txt"]), "real/a.txt"));
        assert!(!ctx.selection_contains(&sel(&["link/*.txt"]), "real/b.md"));
        // A matched symlink is followed; a dangling one cannot be copied.
        assert_eq!(selected_paths(&ctx, &sel(&["conf*.yml"])), ["config.yml"]);
        assert!(ctx.selection_contains(&sel(&["conf*.yml"]), "conf/x.yml"));
        assert!(ctx.select(&sel(&["*.yml"])).is_err());
    }

    #[test]
    fn selection_contains_matches_existing_and_deleted_paths() {
        let (_tmp, ctx) = sample();
        let copy_src = sel(&["src"]);
        assert!(ctx.selection_contains(&copy_src, "src/main.ts"));
        assert!(ctx.selection_contains(&copy_src, "./src/util/str.ts"));
        assert!(!ctx.selection_contains(&copy_src, "docs/a.md"));
        // Deleted files are matched by name.
        assert!(ctx.selection_contains(&copy_src, "src/deleted.ts"));
        assert!(!ctx.selection_contains(&copy_src, "srcx/deleted.ts"));
        let json = sel(&["*.json"]);
        assert!(
            ctx.selection_contains(&json, "new.json"),
            "a new wildcard match counts"
        );
        assert!(!ctx.selection_contains(&json, "sub/new.json"));
        let excl = Selection {
            excludes: vec!["**/*.test.ts".into()],
            ..copy_src.clone()
        };
        assert!(!ctx.selection_contains(&excl, "src/util/str.test.ts"));
        assert!(!ctx.selection_contains(&excl, "src/gone.test.ts"));
        assert!(ctx.selection_contains(&excl, "src/gone.ts"));
        let parents = Selection {
            sources: vec!["packages/**/package.json".into()],
            parents: true,
            ..Selection::default()
        };
        assert!(ctx.selection_contains(&parents, "packages/new/package.json"));
        assert!(!ctx.selection_contains(&parents, "packages/web/src/index.ts"));
        // A removed parent directory of a source breaks the step; an existing one (say its
        // mode changed) does not feed it.
        assert!(ctx.selection_contains(&sel(&["vendor/lib"]), "vendor"));
        assert!(!ctx.selection_contains(&sel(&["packages/web/src"]), "packages/web"));
    }

    #[test]
    fn selection_contains_respects_dockerignore_for_deleted_paths() {
        let tmp = tempfile::tempdir().unwrap();
        write_tree(
            tmp.path(),
            &[(".dockerignore", "*.log\n!keep.log\n"), ("x", "")],
        );
        let ctx = BuildContext::open(tmp.path(), None).unwrap();
        assert!(!ctx.selection_contains(&sel(&["."]), "old.log"));
        assert!(ctx.selection_contains(&sel(&["."]), "keep.log"));
    }

    fn checksum_of(ctx: &BuildContext, s: &Selection) -> String {
        ctx.checksum(&ctx.select(s).unwrap()).unwrap()
    }

    #[test]
    fn checksum_ignores_mtime() {
        let (tmp, ctx) = sample();
        let all = sel(&["."]);
        let before = checksum_of(&ctx, &all);
        let f = fs::File::options()
            .write(true)
            .open(tmp.path().join("src/main.ts"))
            .unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(86_400 * 365))
            .unwrap();
        drop(f);
        let again = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(checksum_of(&again, &all), before);
        assert_eq!(
            checksum_of(&ctx, &all),
            before,
            "cached hashes give the same answer"
        );
    }

    #[test]
    fn checksum_changes_with_content_and_names() {
        let (tmp, ctx) = sample();
        let all = sel(&["."]);
        let before = checksum_of(&ctx, &all);
        let src_only = checksum_of(&ctx, &sel(&["src"]));
        fs::write(tmp.path().join("docs/a.md"), "b").unwrap();
        let after = BuildContext::open(tmp.path(), None).unwrap();
        assert_ne!(
            checksum_of(&after, &all),
            before,
            "same size, different bytes"
        );
        assert_eq!(
            checksum_of(&after, &sel(&["src"])),
            src_only,
            "unselected files do not count"
        );
        fs::rename(tmp.path().join("docs/a.md"), tmp.path().join("docs/b.md")).unwrap();
        let renamed = BuildContext::open(tmp.path(), None).unwrap();
        assert_ne!(checksum_of(&renamed, &all), checksum_of(&after, &all));
        fs::create_dir(tmp.path().join("empty")).unwrap();
        let with_dir = BuildContext::open(tmp.path(), None).unwrap();
        assert_ne!(
            checksum_of(&with_dir, &all),
            checksum_of(&renamed, &all),
            "an empty directory is copied too"
        );
    }

    #[cfg(unix)]
    #[test]
    fn checksum_counts_mode_and_symlink_target_but_not_owner() {
        let (tmp, ctx) = sample();
        let all = sel(&["."]);
        let before = checksum_of(&ctx, &all);
        use std::os::unix::fs::PermissionsExt;
        let original = fs::metadata(tmp.path().join("src/main.ts"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        chmod(tmp.path(), "src/main.ts", original | 0o111);
        let exec = BuildContext::open(tmp.path(), None).unwrap();
        let after_chmod = checksum_of(&exec, &all);
        assert_ne!(after_chmod, before, "chmod +x invalidates");
        chmod(tmp.path(), "src/main.ts", original);
        assert_eq!(
            checksum_of(&BuildContext::open(tmp.path(), None).unwrap(), &all),
            before
        );

        symlink(tmp.path(), "src/main.ts", "current");
        let l1 = checksum_of(&BuildContext::open(tmp.path(), None).unwrap(), &all);
        fs::remove_file(tmp.path().join("current")).unwrap();
        symlink(tmp.path(), "src/util", "current");
        let l2 = checksum_of(&BuildContext::open(tmp.path(), None).unwrap(), &all);
        assert_ne!(l1, l2, "a new symlink target invalidates");

        // Ownership: chown to our own uid/gid is always permitted; the checksum never looks
        // at owners, and this proves a chown (ctime change) alone changes nothing.
        use std::os::unix::fs::MetadataExt;
        let meta = fs::metadata(tmp.path().join("src/main.ts")).unwrap();
        std::os::unix::fs::chown(
            tmp.path().join("src/main.ts"),
            Some(meta.uid()),
            Some(meta.gid()),
        )
        .unwrap();
        let owned = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(checksum_of(&owned, &all), l2);
        // Running as root we can really change the owner.
        if meta.uid() == 0 {
            std::os::unix::fs::chown(tmp.path().join("src/main.ts"), Some(4242), Some(4242))
                .unwrap();
            let chowned = BuildContext::open(tmp.path(), None).unwrap();
            assert_eq!(checksum_of(&chowned, &all), l2, "ownership does not count");
        }
    }

    #[cfg(unix)]
    #[test]
    fn directory_modes_count_only_in_filtered_selections() {
        let (tmp, ctx) = sample();
        let plain = sel(&["src"]);
        let filtered = Selection {
            excludes: vec!["*.md".into()],
            ..sel(&["src"])
        };
        let (p0, f0) = (checksum_of(&ctx, &plain), checksum_of(&ctx, &filtered));
        chmod(tmp.path(), "src/util", 0o700);
        let after = BuildContext::open(tmp.path(), None).unwrap();
        assert_eq!(checksum_of(&after, &plain), p0);
        assert_ne!(checksum_of(&after, &filtered), f0);
        let change = ContextChange {
            path: "src/util".into(),
            kind: ContextChangeKind::ModeChanged,
        };
        assert!(!after.change_affects(&plain, &change));
        assert!(after.change_affects(&filtered, &change));
        assert!(after.selection_contains(&plain, "src/util"));
    }

    #[test]
    fn checksum_rejects_a_selection_from_another_context() {
        let (_tmp, ctx) = sample();
        let (_tmp2, other) = sample();
        let picked = other.select(&sel(&["src"])).unwrap();
        assert!(matches!(ctx.checksum(&picked), Err(Error::Context { .. })));
    }

    #[test]
    fn overlapping_sources_are_deduplicated() {
        let (_tmp, ctx) = sample();
        let got = selected_paths(&ctx, &sel(&["src", "src/main.ts", "src/*"]));
        assert_eq!(
            got,
            [
                "src/main.ts",
                "src/util",
                "src/util/str.test.ts",
                "src/util/str.ts"
            ]
        );
    }
}
