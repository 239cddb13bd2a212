//! `.dockerignore`: moby/patternmatcher `ignorefile.ReadAll` + `PatternMatcher`.

use std::path::Path;

use super::pattern::{PatternList, clean, rel_clean};
use crate::{Error, Result};

/// The rules of a `.dockerignore` file (or `<Dockerfile>.dockerignore`).
///
/// Parsing follows `moby/patternmatcher/ignorefile.ReadAll`: a UTF-8 BOM is dropped, a line
/// whose first character is `#` is a comment, surrounding whitespace is trimmed, blank lines
/// are skipped, `!` starts an exception, each pattern is `filepath.Clean`ed and one leading
/// `/` is removed. Matching follows BuildKit's context walker: Go `filepath.Match` syntax plus
/// `**`, the **last** matching line wins, and a line that matches a directory also matches
/// everything below it.
///
/// ```
/// # use layerscope_core::DockerIgnore;
/// let ignore = DockerIgnore::parse("# build output\ntarget\n*.log\n!keep.log\n")?;
/// assert!(ignore.matches("target/debug/app"));
/// assert!(ignore.matches("err.log"));
/// assert!(!ignore.matches("keep.log"));
/// assert!(!ignore.matches("src/main.rs"));
/// # Ok::<(), layerscope_core::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    list: PatternList,
    /// The cleaned patterns as written (with their `!`), for display.
    lines: Vec<String>,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file.
    ///
    /// # Errors
    ///
    /// [`Error::Context`] naming `.dockerignore` and the line when a pattern is malformed
    /// (for example an unclosed `[`, a trailing `\`, or a lone `!`); Docker refuses such a
    /// file too.
    pub fn parse(text: &str) -> Result<DockerIgnore> {
        DockerIgnore::parse_named(text, Path::new(".dockerignore"))
    }

    /// [`DockerIgnore::parse`] with the real file name in errors.
    pub(crate) fn parse_named(text: &str, path: &Path) -> Result<DockerIgnore> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut list = PatternList::default();
        let mut lines = Vec::new();
        for (index, line) in text.split('\n').enumerate() {
            // bufio.ScanLines drops one trailing \r; comments are recognised before trimming.
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.starts_with('#') {
                continue;
            }
            let mut pattern = line.trim();
            if pattern.is_empty() {
                continue;
            }
            let invert = match pattern.strip_prefix('!') {
                Some(rest) => {
                    pattern = rest.trim();
                    true
                }
                None => false,
            };
            let mut normalized = String::new();
            if !pattern.is_empty() {
                normalized = clean(pattern);
                if normalized.len() > 1 && normalized.starts_with('/') {
                    normalized.remove(0);
                }
            }
            if invert {
                normalized.insert(0, '!');
            }
            let compiled = super::pattern::ListPattern::compile(&normalized).map_err(|reason| {
                Error::Context {
                    path: path.to_path_buf(),
                    reason: format!("line {}: {reason}", index + 1),
                    source: None,
                }
            })?;
            if let Some(p) = compiled {
                list.patterns.push(p);
                lines.push(normalized);
            }
        }
        Ok(DockerIgnore { list, lines })
    }

    /// Whether `path` (relative to the context, `/`-separated; it is cleaned first, so `./a`
    /// and `/a` mean `a`) is excluded from the build context. The context root never is.
    ///
    /// The answer is the one BuildKit's walker (`MatchesUsingParentResults`) reaches, which
    /// differs from the documented "last match wins over the path or any parent" in one corner:
    /// a pattern that is skipped for a directory because an earlier one already matched it is
    /// not inherited by the directory's children.
    pub fn matches(&self, path: &str) -> bool {
        let path = rel_clean(path);
        self.list.matches_path(&path)
    }

    /// Whether the file has no patterns (nothing is excluded).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The effective patterns in file order, cleaned, exceptions keeping their `!`.
    pub fn patterns(&self) -> &[String] {
        &self.lines
    }

    pub(crate) fn list(&self) -> &PatternList {
        &self.list
    }

    /// Whether some exception (`!`) line could match a path strictly below `dir`; when none
    /// can, an excluded directory is not walked (BuildKit prunes it the same way).
    pub(crate) fn could_reinclude_below(&self, dir: &str) -> bool {
        let dir_slash = format!("{dir}/");
        self.list.patterns.iter().filter(|p| p.exclusion).any(|p| {
            let prefix = p.pattern.literal_prefix();
            dir_slash.starts_with(prefix) || prefix.starts_with(&dir_slash)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    #[test]
    fn plain_exclusion() {
        let i = ig("secret.txt\n");
        assert!(i.matches("secret.txt"));
        assert!(!i.matches("other.txt"));
        assert!(!i.matches("dir/secret.txt"));
    }

    #[test]
    fn exception_reincludes() {
        let i = ig("*.md\n!README.md\n");
        assert!(i.matches("CHANGELOG.md"));
        assert!(!i.matches("README.md"));
    }

    #[test]
    fn last_match_wins() {
        let i = ig("!README.md\n*.md\n");
        assert!(
            i.matches("README.md"),
            "a later exclusion overrides an earlier exception"
        );
        let i = ig("*.md\n!README.md\nREADME.md\n");
        assert!(i.matches("README.md"));
    }

    #[test]
    fn double_star_start_middle_end() {
        let i = ig("**/*.log\n");
        assert!(i.matches("a.log"));
        assert!(i.matches("x/y/a.log"));
        assert!(!i.matches("a.txt"));
        let i = ig("a/**/b\n");
        assert!(i.matches("a/b"));
        assert!(i.matches("a/x/y/b"));
        assert!(
            i.matches("a/x/b/inner"),
            "a match on a directory covers its contents"
        );
        assert!(!i.matches("a/xb"));
        let i = ig("build/**\n");
        assert!(i.matches("build/out/x.o"));
        assert!(
            !i.matches("build"),
            "build/** matches the contents, not the directory"
        );
        let i = ig("**\n!src\n");
        assert!(i.matches("anything/at/all"));
        assert!(!i.matches("src/main.rs"));
    }

    #[test]
    fn directory_pattern_excludes_contents() {
        let i = ig("node_modules\n");
        assert!(i.matches("node_modules"));
        assert!(i.matches("node_modules/pkg/index.js"));
        assert!(!i.matches("src/node_modules_helper.js"));
        let i = ig("docs/\n");
        assert!(
            i.matches("docs/guide/intro.md"),
            "a trailing / is cleaned away"
        );
    }

    #[test]
    fn exception_inside_excluded_directory() {
        let i = ig("docs\n!docs/README.md\n");
        assert!(i.matches("docs/guide.md"));
        assert!(!i.matches("docs/README.md"));
    }

    #[test]
    fn leading_slash_and_dot_slash_are_cleaned() {
        let i = ig("/target\n./tmp\n!/target/keep\n");
        assert!(i.matches("target/debug"));
        assert!(i.matches("tmp/x"));
        assert!(!i.matches("target/keep"));
        assert!(i.matches("./target/x"), "the queried path is cleaned too");
        assert!(i.matches("/tmp"));
        assert_eq!(i.patterns(), ["target", "tmp", "!target/keep"]);
    }

    #[test]
    fn comments_blank_lines_and_whitespace() {
        let i = ig("\u{feff}# a comment\n\n   \n  spaced.txt  \r\n #not-a-comment\n");
        assert_eq!(i.patterns(), ["spaced.txt", "#not-a-comment"]);
        assert!(i.matches("spaced.txt"));
        assert!(!i.matches("# a comment"));
        assert!(
            i.matches("#not-a-comment"),
            "# only starts a comment in column 1"
        );
    }

    #[test]
    fn single_star_does_not_cross_directories() {
        let i = ig("*/temp*\n");
        assert!(i.matches("somedir/temporary.txt"));
        assert!(!i.matches("temp.txt"));
        assert!(!i.matches("a/b/temp.txt"));
        let i = ig("temp?\n");
        assert!(i.matches("temp1"));
        assert!(!i.matches("temp12"));
    }

    #[test]
    fn root_and_dot_pattern_never_exclude_the_root() {
        let i = ig(".\n");
        assert!(!i.matches("."));
        assert!(!i.matches("a"));
    }

    #[test]
    fn malformed_patterns_are_errors_naming_the_line() {
        for (text, line) in [("ok\n[abc\n", 2), ("!\n", 1), ("a\\\n", 1)] {
            match DockerIgnore::parse(text) {
                Err(Error::Context { path, reason, .. }) => {
                    assert_eq!(path, Path::new(".dockerignore"));
                    assert!(reason.starts_with(&format!("line {line}:")), "{reason}");
                }
                other => panic!("{text:?}: expected a context error, got {other:?}"),
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn parse_and_match_never_panic(text in "(?s).{0,80}", path in ".{0,40}") {
            if let Ok(i) = DockerIgnore::parse(&text) {
                let _ = i.matches(&path);
                let _ = i.could_reinclude_below(&path);
            }
        }
    }

    #[test]
    fn pruning_only_when_no_exception_can_reach_below() {
        let i = ig("node_modules\n!src/keep\n");
        assert!(!i.could_reinclude_below("node_modules"));
        assert!(i.could_reinclude_below("src"));
        let i = ig("docs\n!**/README.md\n");
        assert!(i.could_reinclude_below("docs"));
    }
}
