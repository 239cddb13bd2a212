//! Docker's two path-pattern dialects, implemented without a regex engine.
//!
//! - **glob**: Go `path/filepath.Match`, used for wildcards in COPY/ADD sources. `*` and `?`
//!   never match `/`; `[...]` classes (negated with `^`) match any one character; `\` escapes.
//! - **docker**: `moby/patternmatcher`, used for `.dockerignore`, `COPY --exclude` and the
//!   `--parents` include pattern. It accepts the glob syntax (it validates every pattern with
//!   `filepath.Match`) and adds `**`; it then classifies the pattern as exact, prefix (`a/**`),
//!   suffix (`**/a`) or regexp, and matches each class the way patternmatcher does. The regexp
//!   it would build is run here as a small NFA over the pattern's tokens, so matching is linear
//!   in the path length and cannot blow up on hostile patterns.
//!
//! Not reproduced: quirks of patternmatcher's regexp translation that only show up with
//! wildcards *inside* brackets (`[a*]`), a `^` outside brackets, or Perl escapes inside brackets
//! (`[\d]`); those are matched with `filepath.Match` meaning instead.

use std::cmp::Ordering;
use std::iter::Peekable;
use std::str::Chars;

/// Go `path.Clean` on a `/`-separated path: collapse separators, drop `.`, resolve `..`
/// lexically (a rooted path cannot climb above `/`), `""` becomes `"."`.
pub(crate) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for comp in path.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|c| *c != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_owned()
    } else {
        joined
    }
}

/// A path relative to the context root, cleaned the way BuildKit normalises COPY sources
/// (`path.Join("/", p)`, then the leading `/` dropped): leading `/` and `../` are stripped,
/// and the root itself is `""`.
pub(crate) fn rel_clean(path: &str) -> String {
    let mut abs = clean(&format!("/{path}"));
    abs.remove(0);
    abs
}

/// Tree order: byte order with `/` sorting before every other byte, so that a directory's
/// descendants directly follow it (`a`, `a/b`, `a.txt`), as in BuildKit's radix keys.
pub(crate) fn path_cmp(a: &str, b: &str) -> Ordering {
    let key = |c: Option<&u8>| c.map(|&c| if c == b'/' { 0 } else { c });
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(i) => key(a.get(i)).cmp(&key(b.get(i))),
        None => a.len().cmp(&b.len()),
    }
}

/// Whether `path` is `dir` or lies below it (`dir == ""` is the root and contains everything).
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    dir.is_empty()
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The part of `path` below `dir` (`""` for `dir` itself), if `path` is within `dir`.
pub(crate) fn relative_to<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    if dir.is_empty() {
        return Some(path);
    }
    let rest = path.strip_prefix(dir)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// BuildKit `containsWildcards`: `*`, `?` or `[` not preceded by `\`.
pub(crate) fn contains_wildcards(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
}

impl Class {
    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: one character other than `/`.
    One,
    Class(Class),
    /// `*`: any run of characters other than `/`.
    Star,
    /// patternmatcher `**` followed by more pattern: regexp `(.*/)?`.
    DStarSlash,
    /// patternmatcher trailing `**` after a wildcard: regexp `.*`.
    DStarEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// One compiled pattern of either dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    /// The cleaned pattern text (for an exact glob: its unescaped literal).
    text: String,
    kind: Kind,
    toks: Vec<Tok>,
    /// Literal text every match starts with / ends with (a cheap pre-check for the NFA).
    head: String,
    tail: String,
}

/// Go `filepath.Match` `getEsc`: one (possibly escaped) class character.
fn class_char(it: &mut Peekable<Chars<'_>>) -> Result<char, String> {
    let c = match it.peek() {
        None => return Err("unterminated character class".to_owned()),
        Some('-') | Some(']') => return Err("bad character class".to_owned()),
        Some(&c) => c,
    };
    it.next();
    let c = if c == '\\' {
        it.next()
            .ok_or_else(|| "unterminated character class".to_owned())?
    } else {
        c
    };
    if it.peek().is_none() {
        return Err("unterminated character class".to_owned());
    }
    Ok(c)
}

/// Parses a class after its `[` (Go `matchChunk`): optional `^`, then ranges until `]`.
fn parse_class(it: &mut Peekable<Chars<'_>>) -> Result<Class, String> {
    let negated = it.next_if_eq(&'^').is_some();
    let mut ranges = Vec::new();
    loop {
        if !ranges.is_empty() && it.next_if_eq(&']').is_some() {
            break;
        }
        let lo = class_char(it)?;
        let hi = if it.next_if_eq(&'-').is_some() {
            class_char(it)?
        } else {
            lo
        };
        ranges.push((lo, hi));
    }
    Ok(Class { negated, ranges })
}

fn glob_tokens(pattern: &str) -> Result<Vec<Tok>, String> {
    let mut it = pattern.chars().peekable();
    let mut toks = Vec::new();
    while let Some(c) = it.next() {
        toks.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            '[' => Tok::Class(parse_class(&mut it)?),
            '\\' => Tok::Lit(it.next().ok_or_else(|| "trailing backslash".to_owned())?),
            c => Tok::Lit(c),
        });
    }
    Ok(toks)
}

impl Pattern {
    /// A Go `filepath.Match` pattern.
    pub(crate) fn glob(pattern: &str) -> Result<Pattern, String> {
        let toks = glob_tokens(pattern).map_err(|e| format!("syntax error in pattern: {e}"))?;
        let literal: Option<String> = toks
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        Ok(match literal {
            Some(text) => Pattern::new(text, Kind::Exact, toks),
            None => Pattern::new(pattern.to_owned(), Kind::Regex, toks),
        })
    }

    /// A patternmatcher pattern, already cleaned and without its `!` (patternmatcher `compile`).
    pub(crate) fn docker(pattern: &str) -> Result<Pattern, String> {
        // patternmatcher.New rejects what filepath.Match rejects.
        glob_tokens(pattern).map_err(|e| format!("syntax error in pattern: {e}"))?;
        let mut it = pattern.chars().peekable();
        let mut kind = Kind::Exact;
        let mut toks = Vec::new();
        let mut first = true;
        while let Some(c) = it.next() {
            match c {
                '*' if it.next_if_eq(&'*').is_some() => {
                    // "**/" is treated as "**".
                    it.next_if_eq(&'/');
                    if it.peek().is_none() {
                        if kind == Kind::Exact {
                            kind = Kind::Prefix;
                        } else {
                            toks.push(Tok::DStarEnd);
                            kind = Kind::Regex;
                        }
                    } else {
                        toks.push(Tok::DStarSlash);
                        kind = Kind::Regex;
                    }
                    if first {
                        kind = Kind::Suffix;
                    }
                }
                '*' => {
                    toks.push(Tok::Star);
                    kind = Kind::Regex;
                }
                '?' => {
                    toks.push(Tok::One);
                    kind = Kind::Regex;
                }
                '\\' => match it.next() {
                    Some(e) => {
                        toks.push(Tok::Lit(e));
                        kind = Kind::Regex;
                    }
                    None => toks.push(Tok::Lit('\\')),
                },
                '[' => {
                    let class = parse_class(&mut it)?;
                    // The regexp compiler rejects reversed ranges that filepath.Match accepts.
                    if class.ranges.iter().any(|(lo, hi)| lo > hi) {
                        return Err("invalid character class range".to_owned());
                    }
                    toks.push(Tok::Class(class));
                    kind = Kind::Regex;
                }
                ']' => {
                    toks.push(Tok::Lit(']'));
                    kind = Kind::Regex;
                }
                c => toks.push(Tok::Lit(c)),
            }
            first = false;
        }
        Ok(Pattern::new(pattern.to_owned(), kind, toks))
    }

    fn new(text: String, kind: Kind, toks: Vec<Tok>) -> Pattern {
        let lit = |t: &Tok| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        };
        let head: String = toks.iter().map_while(lit).collect();
        let mut tail: Vec<char> = toks.iter().rev().map_while(lit).collect();
        tail.reverse();
        Pattern {
            text,
            kind,
            toks,
            head,
            tail: tail.into_iter().collect(),
        }
    }

    /// The literal text before the first wildcard or escape, for pruning decisions.
    pub(crate) fn literal_prefix(&self) -> &str {
        if self.kind == Kind::Suffix {
            return "";
        }
        let end = self
            .text
            .find(['*', '?', '[', '\\'])
            .unwrap_or(self.text.len());
        self.text.get(..end).unwrap_or("")
    }

    /// Whether the whole of `path` matches.
    pub(crate) fn matches(&self, path: &str) -> bool {
        match self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix => path.starts_with(self.text.strip_suffix("**").unwrap_or(&self.text)),
            Kind::Suffix => {
                let suffix = self.text.strip_prefix("**").unwrap_or(&self.text);
                // "**/foo" also matches "foo".
                path.ends_with(suffix) || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex => {
                path.starts_with(&self.head)
                    && path.ends_with(&self.tail)
                    && if self.toks.len() < 127 {
                        nfa_small(&self.toks, path)
                    } else {
                        nfa_matches(&self.toks, path)
                    }
            }
        }
    }
}

/// [`nfa_matches`] with the state sets in two `u128`s (patterns of fewer than 127 tokens):
/// bit `i` of `outside` is state `i`, bit `i` of `inside` is "inside the group of token `i`".
fn nfa_small(toks: &[Tok], path: &str) -> bool {
    let n = toks.len();
    let skippable: u128 = toks
        .iter()
        .enumerate()
        .filter(|(_, t)| matches!(t, Tok::Star | Tok::DStarEnd | Tok::DStarSlash))
        .fold(0, |m, (i, _)| m | 1 << i);
    let closure = |mut set: u128| loop {
        let grown = set | ((set & skippable) << 1);
        if grown == set {
            return set;
        }
        set = grown;
    };
    let mut outside = closure(1);
    let mut inside: u128 = 0;
    for c in path.chars() {
        let (mut next_out, mut next_in) = (0u128, 0u128);
        let mut active = outside | inside;
        while active != 0 {
            let i = active.trailing_zeros() as usize;
            let bit = 1u128 << i;
            active &= !bit;
            if outside & bit != 0 {
                match toks.get(i) {
                    Some(Tok::Lit(l)) if c == *l => next_out |= bit << 1,
                    Some(Tok::One) if c != '/' => next_out |= bit << 1,
                    Some(Tok::Class(class)) if class.matches(c) => next_out |= bit << 1,
                    Some(Tok::Star) if c != '/' => next_out |= bit,
                    Some(Tok::DStarEnd) if c != '\n' => next_out |= bit,
                    Some(Tok::DStarSlash) => {
                        if c == '/' {
                            next_out |= bit << 1;
                        }
                        if c != '\n' {
                            next_in |= bit;
                        }
                    }
                    _ => {}
                }
            }
            if inside & bit != 0 {
                if c == '/' {
                    next_out |= bit << 1;
                }
                if c != '\n' {
                    next_in |= bit;
                }
            }
        }
        outside = closure(next_out);
        inside = next_in;
        if outside == 0 && inside == 0 {
            return false;
        }
    }
    outside >> n & 1 == 1
}

/// Runs the token sequence as an NFA. State `i` means "tokens before `i` consumed"; state
/// `n + 1 + i` means "inside the `(.*/)?` group of token `i`".
fn nfa_matches(toks: &[Tok], path: &str) -> bool {
    let n = toks.len();
    let width = n + 1;
    let mut cur = vec![false; 2 * width];
    let mut next = vec![false; 2 * width];
    cur[0] = true;
    closure(toks, &mut cur);
    for c in path.chars() {
        next.fill(false);
        let mut alive = false;
        for (i, tok) in toks.iter().enumerate() {
            if cur[i] {
                match tok {
                    Tok::Lit(l) if c == *l => next[i + 1] = true,
                    Tok::One if c != '/' => next[i + 1] = true,
                    Tok::Class(class) if class.matches(c) => next[i + 1] = true,
                    Tok::Star if c != '/' => next[i] = true,
                    // Go regexp `.` does not match a newline.
                    Tok::DStarEnd if c != '\n' => next[i] = true,
                    Tok::DStarSlash => {
                        if c == '/' {
                            next[i + 1] = true;
                        }
                        if c != '\n' {
                            next[width + i] = true;
                        }
                    }
                    _ => {}
                }
            }
            if cur[width + i] {
                if c == '/' {
                    next[i + 1] = true;
                }
                if c != '\n' {
                    next[width + i] = true;
                }
            }
        }
        closure(toks, &mut next);
        for s in &next {
            alive |= *s;
        }
        if !alive {
            return false;
        }
        std::mem::swap(&mut cur, &mut next);
    }
    cur[n]
}

/// Adds the states reachable without consuming input (zero repetitions, skipped group).
fn closure(toks: &[Tok], set: &mut [bool]) {
    for (i, tok) in toks.iter().enumerate() {
        if set[i] && matches!(tok, Tok::Star | Tok::DStarEnd | Tok::DStarSlash) {
            set[i + 1] = true;
        }
    }
}

/// One line of a patternmatcher list: a pattern, possibly a `!` exception.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListPattern {
    pub(crate) pattern: Pattern,
    pub(crate) exclusion: bool,
}

impl ListPattern {
    /// patternmatcher `New` for one pattern: trim, `filepath.Clean`, split off `!`, validate.
    /// `Ok(None)` for a blank pattern.
    pub(crate) fn compile(raw: &str) -> Result<Option<ListPattern>, String> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        let cleaned = clean(trimmed);
        let (exclusion, body) = match cleaned.strip_prefix('!') {
            Some("") => return Err("illegal exclusion pattern: \"!\"".to_owned()),
            Some(rest) => (true, rest),
            None => (false, cleaned.as_str()),
        };
        Ok(Some(ListPattern {
            pattern: Pattern::docker(body)?,
            exclusion,
        }))
    }
}

/// A moby/patternmatcher `PatternMatcher`: ordered patterns, the last match wins, a pattern
/// that matches a parent directory matches everything below it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PatternList {
    pub(crate) patterns: Vec<ListPattern>,
}

impl PatternList {
    /// Compiles every pattern; blank ones are skipped. The error names the failing pattern.
    pub(crate) fn new<S: AsRef<str>>(raw: &[S]) -> Result<PatternList, String> {
        let mut patterns = Vec::new();
        for r in raw {
            let r = r.as_ref();
            if let Some(p) = ListPattern::compile(r).map_err(|e| format!("pattern {r:?}: {e}"))? {
                patterns.push(p);
            }
        }
        Ok(PatternList { patterns })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// patternmatcher `MatchesUsingParentResults`: `parent` holds the per-pattern results of
    /// the parent directory (`None` when unknown, in which case ancestors are checked by
    /// name). Writes this path's per-pattern results to `out` and returns whether it matches.
    ///
    /// Patterns that the evaluation skips (an inclusion when already matched, an exclusion when
    /// not matched) record `false`, exactly as upstream; BuildKit's context walker and its
    /// checksum filter both inherit that behaviour.
    pub(crate) fn matches_with_parent(
        &self,
        path: &str,
        parent: Option<&[bool]>,
        out: &mut Vec<bool>,
    ) -> bool {
        out.clear();
        out.resize(self.patterns.len(), false);
        let mut matched = false;
        for (i, p) in self.patterns.iter().enumerate() {
            let mut m = parent.and_then(|b| b.get(i).copied()).unwrap_or(false);
            if !m {
                if p.exclusion != matched {
                    continue;
                }
                m = p.pattern.matches(path);
                if !m && parent.is_none() {
                    m = ancestors(path).any(|a| p.pattern.matches(a));
                }
            }
            out[i] = m;
            if m {
                matched = !p.exclusion;
            }
        }
        matched
    }

    /// The decision BuildKit's walker reaches for `path`, evaluating each ancestor directory
    /// first and passing its results down (`path` is cleaned and relative).
    pub(crate) fn matches_path(&self, path: &str) -> bool {
        if self.patterns.is_empty() || path.is_empty() {
            return false;
        }
        let mut parent: Option<Vec<bool>> = None;
        let mut buf = Vec::new();
        let mut result = false;
        for prefix in prefixes(path) {
            result = self.matches_with_parent(prefix, parent.as_deref(), &mut buf);
            parent = Some(std::mem::take(&mut buf));
        }
        result
    }
}

/// Proper ancestors of a relative path, shortest first: `a/b/c` gives `a`, `a/b`.
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .filter_map(move |(i, _)| path.get(..i))
}

/// Every component prefix of a relative path, shortest first, ending with the path itself.
pub(crate) fn prefixes(path: &str) -> impl Iterator<Item = &str> {
    ancestors(path).chain(std::iter::once(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn docker(p: &str) -> Pattern {
        Pattern::docker(p).unwrap()
    }

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("./a", "a"),
            ("a//b/", "a/b"),
            ("a/../b", "b"),
            ("a/..", "."),
            ("../a", "../a"),
            ("/../a", "/a"),
            ("/", "/"),
            ("a/./b/../../c", "c"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
        assert_eq!(rel_clean("../../etc/x"), "etc/x");
        assert_eq!(rel_clean("/app/"), "app");
        assert_eq!(rel_clean("."), "");
    }

    #[test]
    fn tree_order_puts_children_after_parent() {
        let mut v = vec!["a.txt", "a/b", "a", "a-b", "a/b.txt", "a/b/c"];
        v.sort_by(|a, b| path_cmp(a, b));
        assert_eq!(v, ["a", "a/b", "a/b/c", "a/b.txt", "a-b", "a.txt"]);
    }

    #[test]
    fn glob_follows_filepath_match() {
        let g = |p: &str, s: &str| Pattern::glob(p).unwrap().matches(s);
        assert!(g("*.txt", "a.txt"));
        assert!(!g("*.txt", "d/a.txt"));
        assert!(g("*/a.txt", "d/a.txt"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "a/c"));
        assert!(g("[a-c]x", "bx"));
        assert!(!g("[^a-c]x", "bx"));
        assert!(g("[^a-c]x", "zx"));
        assert!(g("\\*", "*"));
        assert!(!g("\\*", "a"));
        // "**" is two stars in filepath.Match: still one path component.
        assert!(!g("**", "a/b"));
        for bad in ["[", "[]", "[a-", "a\\", "[^]", "[-a]"] {
            assert!(Pattern::glob(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn docker_pattern_kinds() {
        assert!(docker("foo").matches("foo"));
        assert!(!docker("foo").matches("foo/bar"));
        // prefix: "a/**" matches below a/ but not a itself.
        assert!(docker("a/**").matches("a/b/c"));
        assert!(!docker("a/**").matches("a"));
        // suffix: "**/x" matches x at any depth, including the top.
        assert!(docker("**/x").matches("x"));
        assert!(docker("**/x").matches("a/b/x"));
        assert!(!docker("**/x").matches("a/bx"));
        // regexp with ** in the middle: zero or more directories.
        assert!(docker("a/**/b").matches("a/b"));
        assert!(docker("a/**/b").matches("a/x/y/b"));
        assert!(!docker("a/**/b").matches("a/xb"));
        assert!(docker("**/*.go").matches("main.go"));
        assert!(docker("**/*.go").matches("cmd/x/main.go"));
        assert!(docker("*/**").matches("a/b"));
        assert!(docker("*.md").matches("README.md"));
        assert!(!docker("*.md").matches("docs/README.md"));
        assert!(docker("\\*x").matches("*x"));
        assert!(Pattern::docker("[z-a]").is_err());
    }

    #[test]
    fn list_last_match_wins_with_parents() {
        let list = PatternList::new(&["docs", "!docs/keep.md"]).unwrap();
        assert!(list.matches_path("docs"));
        assert!(list.matches_path("docs/a.md"));
        assert!(!list.matches_path("docs/keep.md"));
        let list = PatternList::new(&["*", "!src", "src/gen"]).unwrap();
        assert!(list.matches_path("README"));
        assert!(!list.matches_path("src/main.rs"));
        assert!(list.matches_path("src/gen/x.rs"));
        assert!(PatternList::new(&["!"]).is_err());
    }

    #[test]
    fn list_reproduces_parent_results_quirk() {
        // moby/patternmatcher MatchesUsingParentResults: the third pattern is skipped for "a"
        // (already matched), so its result is not inherited and "a/x" ends up included.
        let list = PatternList::new(&["a", "!a/x", "a"]).unwrap();
        assert!(list.matches_path("a"));
        assert!(!list.matches_path("a/x"));
        assert!(list.matches_path("a/y"));
    }

    proptest! {
        #[test]
        fn matchers_never_panic(pattern in ".{0,24}", path in ".{0,32}") {
            if let Ok(p) = Pattern::docker(&pattern) {
                let _ = p.matches(&path);
                let _ = p.literal_prefix();
            }
            if let Ok(p) = Pattern::glob(&pattern) {
                let _ = p.matches(&path);
            }
            if let Ok(list) = PatternList::new(&[pattern.as_str(), "!x"]) {
                let _ = list.matches_path(&rel_clean(&path));
            }
            let _ = contains_wildcards(&pattern);
        }

        #[test]
        fn small_and_general_nfa_agree(pattern in "[*?/ab\\[\\]^-]{0,16}", path in "[ab/\n]{0,16}") {
            if let Ok(p) = Pattern::docker(&pattern) {
                prop_assert_eq!(nfa_small(&p.toks, &path), nfa_matches(&p.toks, &path));
            }
            if let Ok(p) = Pattern::glob(&pattern) {
                prop_assert_eq!(nfa_small(&p.toks, &path), nfa_matches(&p.toks, &path));
            }
        }

        #[test]
        fn wildcard_heavy_patterns_never_panic(pattern in "[*?/a\\[\\]!^\\\\-]{0,30}", path in "[a/*]{0,40}") {
            if let Ok(p) = Pattern::docker(&pattern) {
                let _ = p.matches(&path);
            }
            if let Ok(p) = Pattern::glob(&pattern) {
                let _ = p.matches(&path);
            }
        }
    }
}
