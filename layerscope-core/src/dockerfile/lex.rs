//! Variable substitution and word splitting, following BuildKit's shell lexer
//! (`frontend/dockerfile/shell/lex.go`): `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`,
//! `${v+w}`, `${v:?m}`, `${v?m}`, `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`, `${v/p/r}`,
//! `${v//p/r}`, escapes, single quotes (no expansion) and double quotes (expansion).
//!
//! The patterns of `#`, `%` and `/` are BuildKit's: `*` and `?` wildcards and `\` escapes,
//! without bracket expressions, matched with the leftmost-first semantics of Go's `regexp`
//! (BuildKit converts them to regular expressions). Those semantics are reproduced here
//! without a regex engine, in time linear in pattern length times value length.

/// Nested `${...}` deeper than this is rejected instead of risking the stack.
const MAX_DEPTH: usize = 64;

/// Expand variables in one word the way BuildKit does for `ENV`, `COPY`, `WORKDIR` and the
/// other instructions that support substitution, with `\` as the escape character.
///
/// Quotes are removed (single quotes suppress expansion), escapes are applied, and the
/// result is one string (no word splitting). `lookup` returns the value of a variable, or
/// `None` when it is unset (which matters for `${v-w}` versus `${v:-w}`).
///
/// # Errors
///
/// Returns BuildKit's message for malformed substitutions (`syntax error: missing '}'`,
/// `bad substitution`, `unsupported modifier`), unterminated quotes, invalid patterns, and
/// for `${v?m}` / `${v:?m}` when the variable is unset (or empty).
#[cfg(test)]
pub(crate) fn expand(
    word: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    expand_with_escape(word, '\\', lookup)
}

/// [`expand`] with another escape character (a Dockerfile's `# escape=` directive).
///
/// # Errors
///
/// As for [`expand`].
#[cfg(test)]
pub(crate) fn expand_with_escape(
    word: &str,
    escape: char,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, String> {
    Lexer::new(escape).word(word, &lookup)
}

/// The lexer's switches, named as in BuildKit's `shell.Lex`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lexer {
    pub(crate) escape: char,
    /// Keep quote characters in the output.
    pub(crate) raw_quotes: bool,
    /// Keep escape characters in the output.
    pub(crate) raw_escapes: bool,
    /// Treat quotes as ordinary characters (heredoc bodies).
    pub(crate) skip_process_quotes: bool,
    /// Leave references to unset variables as written.
    pub(crate) skip_unset_env: bool,
}

impl Lexer {
    pub(crate) fn new(escape: char) -> Self {
        Lexer {
            escape,
            raw_quotes: false,
            raw_escapes: false,
            skip_process_quotes: false,
            skip_unset_env: false,
        }
    }

    /// `ProcessWord`: the expanded word.
    pub(crate) fn word(
        &self,
        word: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, String> {
        self.process(word, lookup).map(|(w, _)| w)
    }

    /// `ProcessWords`: the expanded word split on unquoted whitespace.
    pub(crate) fn words(
        &self,
        word: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Vec<String>, String> {
        self.process(word, lookup).map(|(_, ws)| ws)
    }

    fn process(
        &self,
        word: &str,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(String, Vec<String>), String> {
        let mut state = Scan {
            lex: *self,
            chars: word.chars().collect(),
            pos: 0,
            raw_escapes: self.raw_escapes,
            lookup,
            depth: 0,
        };
        let raw = state.raw_escapes;
        state.stop_on(None, raw)
    }
}

struct Scan<'a> {
    lex: Lexer,
    chars: Vec<char>,
    pos: usize,
    raw_escapes: bool,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    depth: usize,
}

/// Word splitting as BuildKit's `wordsStruct`: characters produced by expansion split on
/// whitespace, quoted text never does, and empty words are dropped.
#[derive(Default)]
struct Words {
    buf: String,
    words: Vec<String>,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, ch: char) {
        if ch.is_whitespace() {
            if self.in_word && !self.buf.is_empty() {
                self.words.push(std::mem::take(&mut self.buf));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(ch);
        }
    }

    fn add_raw_char(&mut self, ch: char) {
        self.buf.push(ch);
        self.in_word = true;
    }

    fn add_string(&mut self, s: &str) {
        for ch in s.chars() {
            self.add_char(ch);
        }
    }

    fn add_raw_string(&mut self, s: &str) {
        self.buf.push_str(s);
        self.in_word = true;
    }

    fn finish(mut self) -> Vec<String> {
        if !self.buf.is_empty() {
            self.words.push(std::mem::take(&mut self.buf));
        }
        self.words
    }
}

impl Scan<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let ch = self.peek();
        if ch.is_some() {
            self.pos += 1;
        }
        ch
    }

    fn get_env(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }

    /// `processStopOn`: read until `stop` (consumed) or the end of input.
    fn stop_on(
        &mut self,
        stop: Option<char>,
        raw_escapes: bool,
    ) -> Result<(String, Vec<String>), String> {
        let saved = self.raw_escapes;
        self.raw_escapes = raw_escapes;
        let out = self.stop_on_inner(stop);
        self.raw_escapes = saved;
        out
    }

    fn stop_on_inner(&mut self, stop: Option<char>) -> Result<(String, Vec<String>), String> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(ch) = self.peek() {
            if Some(ch) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            let quotes = !self.lex.skip_process_quotes;
            if ch == '$' {
                let tmp = self.dollar()?;
                result.push_str(&tmp);
                words.add_string(&tmp);
            } else if quotes && ch == '\'' {
                let tmp = self.single_quote()?;
                result.push_str(&tmp);
                words.add_raw_string(&tmp);
            } else if quotes && ch == '"' {
                let tmp = self.double_quote()?;
                result.push_str(&tmp);
                words.add_raw_string(&tmp);
            } else {
                self.next();
                if ch == self.lex.escape {
                    if self.raw_escapes {
                        words.add_raw_char(ch);
                        result.push(ch);
                    }
                    // The escape character escapes the next one, except at the end.
                    match self.next() {
                        None => break,
                        Some(escaped) => {
                            words.add_raw_char(escaped);
                            result.push(escaped);
                        }
                    }
                } else {
                    words.add_char(ch);
                    result.push(ch);
                }
            }
        }
        if let Some(stop) = stop {
            return Err(format!(
                "unexpected end of statement while looking for matching {stop}"
            ));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> Result<String, String> {
        // Everything up to the next ' is literal; ' cannot be escaped (POSIX sh).
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.next() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching single-quote"
                            .to_string(),
                    );
                }
                Some('\'') => {
                    if self.lex.raw_quotes {
                        result.push('\'');
                    }
                    return Ok(result);
                }
                Some(ch) => result.push(ch),
            }
        }
    }

    fn double_quote(&mut self) -> Result<String, String> {
        // Literal except `$`; the escape character escapes only `"`, `$` and itself.
        let mut result = String::new();
        let open = self.next();
        if self.lex.raw_quotes {
            result.extend(open);
        }
        loop {
            match self.peek() {
                None => {
                    return Err(
                        "unexpected end of statement while looking for matching double-quote"
                            .to_string(),
                    );
                }
                Some('"') => {
                    self.next();
                    if self.lex.raw_quotes {
                        result.push('"');
                    }
                    return Ok(result);
                }
                Some('$') => {
                    let value = self.dollar()?;
                    result.push_str(&value);
                }
                Some(mut ch) => {
                    self.next();
                    if ch == self.lex.escape {
                        if self.raw_escapes {
                            result.push(ch);
                        }
                        match self.peek() {
                            // An escape at the very end is dropped (and the quote is then
                            // reported as unterminated).
                            None => continue,
                            Some(c) if c == '"' || c == '$' || c == self.lex.escape => {
                                self.next();
                                ch = c;
                            }
                            Some(_) => {}
                        }
                    }
                    result.push(ch);
                }
            }
        }
    }

    fn dollar(&mut self) -> Result<String, String> {
        self.depth += 1;
        let out = if self.depth > MAX_DEPTH {
            Err(format!(
                "variable substitutions nested more than {MAX_DEPTH} deep"
            ))
        } else {
            self.dollar_inner()
        };
        self.depth -= 1;
        out
    }

    fn dollar_inner(&mut self) -> Result<String, String> {
        self.next(); // the '$'
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_string());
            }
            return Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${name}"),
                None => String::new(),
            });
        }
        self.next(); // the '{'
        match self.peek() {
            None => return Err("syntax error: missing '}'".to_string()),
            Some('{' | '}' | ':') => return Err("syntax error: bad substitution".to_string()),
            Some(_) => {}
        }
        let name = self.name();
        let Some(ch) = self.next() else {
            return Err("syntax error: missing '}'".to_string());
        };
        match ch {
            '}' => Ok(match self.get_env(&name) {
                Some(v) => v,
                None if self.lex.skip_unset_env => format!("${{{name}}}"),
                None => String::new(),
            }),
            ':' | '+' | '-' | '?' | '#' | '%' => self.modifier(&name, ch),
            '/' => self.replace(&name),
            other => Err(format!("unsupported modifier ({other}) in substitution")),
        }
    }

    /// `${name:-w}`, `${name-w}`, `${name:+w}`, `${name+w}`, `${name:?m}`, `${name?m}`,
    /// `${name#p}`, `${name##p}`, `${name%p}`, `${name%%p}`.
    fn modifier(&mut self, name: &str, first: char) -> Result<String, String> {
        let mut chs = first.to_string();
        let mut op = Some(first);
        let null_is_unset = first == ':';
        if null_is_unset {
            op = self.next();
            chs.extend(op);
        }
        let is_pattern = matches!(op, Some('#' | '%'));
        if null_is_unset && is_pattern {
            return Err(format!("unsupported modifier ({chs}) in substitution"));
        }
        let word = match self.stop_on(Some('}'), is_pattern) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".to_string());
                }
                return Err(e);
            }
        };
        let value = self.get_env(name);
        if self.lex.skip_unset_env && value.is_none() {
            return Ok(format!("${{{name}{chs}{word}}}"));
        }
        let unset_or_null = match &value {
            None => true,
            Some(v) => null_is_unset && v.is_empty(),
        };
        match op {
            Some('-') => Ok(if unset_or_null {
                word
            } else {
                value.unwrap_or_default()
            }),
            Some('+') => Ok(if unset_or_null { String::new() } else { word }),
            Some('?') => match value {
                None => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be unset"
                    } else {
                        &word
                    }
                )),
                Some(v) if null_is_unset && v.is_empty() => Err(format!(
                    "{name}: {}",
                    if word.is_empty() {
                        "is not allowed to be empty"
                    } else {
                        &word
                    }
                )),
                Some(v) => Ok(v),
            },
            Some(op @ ('#' | '%')) => {
                // A doubled operator (## or %%) makes the wildcards greedy.
                let (pattern, greedy) = match word.strip_prefix(op) {
                    Some(rest) => (rest.to_string(), true),
                    None => (word, false),
                };
                let value = value.unwrap_or_default();
                if op == '%' {
                    trim_suffix(&pattern, &value, greedy)
                } else {
                    trim_prefix(&pattern, &value, greedy)
                }
            }
            _ => Err(format!("unsupported modifier ({chs}) in substitution")),
        }
    }

    /// `${name/pattern/replacement}` and `${name//pattern/replacement}`.
    fn replace(&mut self, name: &str) -> Result<String, String> {
        let replace_all = self.peek() == Some('/');
        if replace_all {
            self.next();
        }
        let pattern = match self.stop_on(Some('/'), true) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '/' in ${}".to_string());
                }
                return Err(e);
            }
        };
        let replacement = match self.stop_on(Some('}'), true) {
            Ok((w, _)) => w,
            Err(e) => {
                if self.peek().is_none() {
                    return Err("syntax error: missing '}'".to_string());
                }
                return Err(e);
            }
        };
        let value = self.get_env(name);
        if self.lex.skip_unset_env && value.is_none() {
            return Ok(format!("${{{name}/{pattern}/{replacement}}}"));
        }
        let pat = Pattern::compile(&pattern, true)
            .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
        let value: Vec<char> = value.unwrap_or_default().chars().collect();
        let ends = pat.first_match_ends(&value);
        if replace_all {
            Ok(replace_all_go(&value, &ends, &replacement))
        } else {
            Ok(match find_from(&ends, 0) {
                Some((s, e)) => {
                    let mut out: String = value.iter().take(s).collect();
                    out.push_str(&replacement);
                    out.extend(value.iter().skip(e));
                    out
                }
                None => value.into_iter().collect(),
            })
        }
    }

    /// `processName`: letters, digits and `_`; a leading digit reads only digits, and a
    /// special parameter (`$@ $* $# $? $- $$ $!`) is one character.
    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(ch) = self.peek() {
            if name.is_empty() && ch.is_ascii_digit() {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.next();
                    name.push(d);
                }
                return name;
            }
            if name.is_empty() && matches!(ch, '@' | '*' | '#' | '?' | '-' | '$' | '!' | '0') {
                self.next();
                return ch.to_string();
            }
            if !(ch.is_alphabetic() || ch.is_ascii_digit() || ch == '_') {
                break;
            }
            self.next();
            name.push(ch);
        }
        name
    }
}

/// One element of a compiled shell pattern.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    Lit(char),
    /// `?`: one character other than a newline (Go's `.`).
    Any,
    /// `*`: a run of non-newline characters (Go's `.*` or `.*?`).
    Star,
}

/// A shell pattern as BuildKit's `convertShellPatternToRegex` builds it.
#[derive(Debug)]
struct Pattern {
    toks: Vec<Tok>,
    greedy: bool,
}

impl Pattern {
    fn compile(pattern: &str, greedy: bool) -> Result<Pattern, String> {
        let mut toks = Vec::new();
        let mut it = pattern.chars().peekable();
        while let Some(ch) = it.next() {
            match ch {
                '*' => toks.push(Tok::Star),
                '?' => toks.push(Tok::Any),
                '\\' => {
                    // `\}` and `\/` only protect the delimiters of `${...}`.
                    if matches!(it.peek(), Some('}' | '/')) {
                        continue;
                    }
                    match it.next() {
                        Some(c @ ('*' | '?' | '\\')) => toks.push(Tok::Lit(c)),
                        Some(c) => return Err(format!("invalid escape '\\{c}'")),
                        None => return Err("invalid escape '\\\u{FFFD}'".to_string()),
                    }
                }
                c => toks.push(Tok::Lit(c)),
            }
        }
        Ok(Pattern { toks, greedy })
    }

    /// For every start position `s` in `text` (0..=len), the end of the match a
    /// backtracking (leftmost-first) matcher finds when anchored at `s`, if any.
    fn first_match_ends(&self, text: &[char]) -> Vec<Option<usize>> {
        let n = text.len();
        // Row for the empty rest of the pattern: it matches everywhere, ending there.
        let mut next: Vec<Option<usize>> = (0..=n).map(Some).collect();
        for tok in self.toks.iter().rev() {
            let mut cur = vec![None; n + 1];
            match *tok {
                Tok::Lit(_) | Tok::Any => {
                    for (si, (slot, &ch)) in cur.iter_mut().zip(text).enumerate() {
                        let matches = match *tok {
                            Tok::Lit(c) => ch == c,
                            _ => ch != '\n',
                        };
                        if matches {
                            *slot = next.get(si + 1).copied().flatten();
                        }
                    }
                }
                Tok::Star => {
                    // From si the star may end anywhere in [si, e], e being the next newline
                    // (or the end). Greedy takes the largest end that lets the rest match,
                    // lazy the smallest; both are found in one right-to-left sweep.
                    let mut greedy_pick: Option<usize> = None;
                    let mut lazy_pick: Option<usize> = None;
                    for si in (0..=n).rev() {
                        if text.get(si) == Some(&'\n') {
                            greedy_pick = None;
                            lazy_pick = None;
                        }
                        if let Some(end) = next.get(si).copied().flatten() {
                            if greedy_pick.is_none() {
                                greedy_pick = Some(end);
                            }
                            lazy_pick = Some(end);
                        }
                        if let Some(slot) = cur.get_mut(si) {
                            *slot = if self.greedy { greedy_pick } else { lazy_pick };
                        }
                    }
                }
            }
            next = cur;
        }
        next
    }
}

/// The leftmost match starting at or after `from`.
fn find_from(ends: &[Option<usize>], from: usize) -> Option<(usize, usize)> {
    ends.iter()
        .enumerate()
        .skip(from)
        .find_map(|(s, e)| e.map(|e| (s, e)))
}

/// `${v#p}` / `${v##p}`: remove the shortest / longest matching prefix.
fn trim_prefix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let pat = Pattern::compile(pattern, greedy)
        .map_err(|e| format!("invalid pattern ({pattern}) in substitution: {e}"))?;
    let chars: Vec<char> = value.chars().collect();
    let ends = pat.first_match_ends(&chars);
    Ok(match ends.first().copied().flatten() {
        Some(end) => chars.iter().skip(end).collect(),
        None => value.to_string(),
    })
}

/// `${v%p}` / `${v%%p}`: BuildKit reverses the value and the pattern (keeping escapes in
/// front of the character they escape) and trims a prefix.
fn trim_suffix(pattern: &str, value: &str, greedy: bool) -> Result<String, String> {
    let reversed: String = value.chars().rev().collect();
    let trimmed = trim_prefix(&reverse_pattern(pattern), &reversed, greedy)?;
    Ok(trimmed.chars().rev().collect())
}

fn reverse_pattern(pattern: &str) -> String {
    let mut units: Vec<String> = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        let mut unit = c.to_string();
        if c == '\\' {
            unit.extend(chars.next());
        }
        units.push(unit);
    }
    units.into_iter().rev().collect()
}

/// Go's `Regexp.ReplaceAllString`: successive non-overlapping matches, an empty match right
/// after a previous match is not replaced, and the replacement is a template in which
/// `$0`/`${0}` is the match, other `$name` references are empty and `$$` is `$`.
fn replace_all_go(text: &[char], ends: &[Option<usize>], template: &str) -> String {
    let n = text.len();
    let mut out = String::new();
    let mut last_match_end = 0;
    let mut search = 0;
    while search <= n {
        let Some((s, e)) = find_from(ends, search) else {
            break;
        };
        out.extend(text.iter().take(s).skip(last_match_end));
        if e > last_match_end || s == 0 {
            let matched: String = text.iter().take(e).skip(s).collect();
            expand_template(&mut out, template, &matched);
        }
        last_match_end = e;
        let width = usize::from(search < n);
        if search + width > e {
            search += width;
        } else if search + 1 > e {
            search += 1;
        } else {
            search = e;
        }
    }
    out.extend(text.iter().skip(last_match_end));
    out
}

fn expand_template(out: &mut String, template: &str, matched: &str) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r) = rest.strip_prefix('$') {
            out.push('$');
            rest = r;
            continue;
        }
        match template_ref(rest) {
            Some((name, after)) => {
                if name == "0" {
                    out.push_str(matched);
                }
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// Go's `extract`: a `name` or `{name}` of letters, digits and `_`.
fn template_ref(s: &str) -> Option<(&str, &str)> {
    let (body, brace) = match s.strip_prefix('{') {
        Some(b) => (b, true),
        None => (s, false),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let (name, after) = body.split_at(len);
    if brace {
        let after = after.strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, after))
}

/// Parse a heredoc marker word (`<<EOF`, `<<-EOF`, `<<"EOF"`, `2<<EOF`) as BuildKit's
/// `ParseHeredoc`: `Some((name, quoted, strip_tabs, fd))`, or `None` for other words.
pub(crate) fn parse_heredoc_marker(word: &str) -> Result<Option<HeredocMarker>, String> {
    let digits = word.len() - word.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let (fd_text, rest) = word.split_at(digits);
    let Some(rest) = rest.strip_prefix("<<") else {
        return Ok(None);
    };
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    if rest.is_empty() || rest.contains('<') {
        return Ok(None);
    }
    let mut lex = Lexer::new('\\');
    lex.skip_unset_env = true;
    let none = |_: &str| None;
    let words = lex.words(rest, &none)?;
    let [name] = words.as_slice() else {
        return Ok(None);
    };
    lex.raw_quotes = true;
    let raw_words = lex.words(rest, &none)?;
    let [raw] = raw_words.as_slice() else {
        return Err(format!(
            "internal lexing of heredoc produced inconsistent results: {rest}"
        ));
    };
    let quotes = |s: &str| s.chars().filter(|c| matches!(c, '\'' | '"')).count();
    // Quotes that the lexer removed mean that (part of) the delimiter was quoted.
    let quoted = quotes(name) != quotes(raw);
    Ok(Some(HeredocMarker {
        name: name.clone(),
        quoted,
        strip_tabs,
        fd: fd_text.parse().unwrap_or(0),
    }))
}

/// A heredoc marker found on an instruction line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeredocMarker {
    pub(crate) name: String,
    pub(crate) quoted: bool,
    pub(crate) strip_tabs: bool,
    pub(crate) fd: u32,
}

/// All heredoc markers of a logical line (BuildKit's `heredocsFromLine`): the line is split
/// into words keeping quotes and escapes; a line that does not lex has none.
pub(crate) fn heredoc_markers(line: &str) -> Result<Vec<HeredocMarker>, String> {
    let mut lex = Lexer::new('\\');
    lex.raw_quotes = true;
    lex.raw_escapes = true;
    lex.skip_unset_env = true;
    let Ok(words) = lex.words(line, &|_| None) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for word in &words {
        if let Some(m) = parse_heredoc_marker(word)? {
            out.push(m);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: std::collections::BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| map.get(k).cloned()
    }

    fn x(word: &str) -> Result<String, String> {
        expand(
            word,
            env(&[
                ("v", "file.tar.gz"),
                ("empty", ""),
                ("path", "/usr/local/bin:/usr/bin"),
                ("who", "world"),
            ]),
        )
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(x("$who").unwrap(), "world");
        assert_eq!(x("${who}").unwrap(), "world");
        assert_eq!(x("hello-$who!").unwrap(), "hello-world!");
        assert_eq!(x("$nope|${nope}").unwrap(), "|");
        assert_eq!(x("$").unwrap(), "$");
        assert_eq!(x("a$ b").unwrap(), "a$ b");
        assert_eq!(x("$1who").unwrap(), "who");
        assert_eq!(x("${who}s").unwrap(), "worlds");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(x("${nope:-d}").unwrap(), "d");
        assert_eq!(x("${empty:-d}").unwrap(), "d");
        assert_eq!(x("${nope-d}").unwrap(), "d");
        assert_eq!(x("${empty-d}").unwrap(), "");
        assert_eq!(x("${who:-d}").unwrap(), "world");
        assert_eq!(x("${who:+alt}").unwrap(), "alt");
        assert_eq!(x("${empty:+alt}").unwrap(), "");
        assert_eq!(x("${empty+alt}").unwrap(), "alt");
        assert_eq!(x("${nope+alt}").unwrap(), "");
        // Nested defaults are expanded recursively.
        assert_eq!(x("${nope:-${also:-${who}}}").unwrap(), "world");
        assert_eq!(x("${nope:-a ${who} b}").unwrap(), "a world b");
    }

    #[test]
    fn required_values() {
        assert_eq!(x("${who:?}").unwrap(), "world");
        assert_eq!(
            x("${nope?}").unwrap_err(),
            "nope: is not allowed to be unset"
        );
        assert_eq!(
            x("${empty:?}").unwrap_err(),
            "empty: is not allowed to be empty"
        );
        assert_eq!(x("${empty?}").unwrap(), "");
        assert_eq!(x("${nope:?set it}").unwrap_err(), "nope: set it");
    }

    #[test]
    fn prefix_and_suffix_removal() {
        assert_eq!(x("${v#*.}").unwrap(), "tar.gz");
        assert_eq!(x("${v##*.}").unwrap(), "gz");
        assert_eq!(x("${v%.*}").unwrap(), "file.tar");
        assert_eq!(x("${v%%.*}").unwrap(), "file");
        assert_eq!(x("${v#nomatch}").unwrap(), "file.tar.gz");
        assert_eq!(x("${v#f?le}").unwrap(), ".tar.gz");
        assert_eq!(x("${path%%:*}").unwrap(), "/usr/local/bin");
        assert_eq!(x("${path#*:}").unwrap(), "/usr/bin");
        assert_eq!(x("${nope#x}").unwrap(), "");
        // Escaped wildcards are literal.
        let star = env(&[("s", "a*b*c")]);
        assert_eq!(expand(r"${s#*\*}", &star).unwrap(), "b*c");
        assert_eq!(expand(r"${s%\**}", &star).unwrap(), "a*b");
        assert_eq!(expand(r"${s%%\**}", &star).unwrap(), "a");
        assert!(x(r"${v#\q}").unwrap_err().contains("invalid escape"));
        assert!(
            x("${v:#x}")
                .unwrap_err()
                .contains("unsupported modifier (:#)")
        );
    }

    #[test]
    fn replacement() {
        assert_eq!(x("${path/bin/sbin}").unwrap(), "/usr/local/sbin:/usr/bin");
        assert_eq!(x("${path//bin/sbin}").unwrap(), "/usr/local/sbin:/usr/sbin");
        assert_eq!(x("${path//:/ }").unwrap(), "/usr/local/bin /usr/bin");
        assert_eq!(x("${v/*./X}").unwrap(), "Xgz");
        assert_eq!(x("${v//?/-}").unwrap(), "-----------");
        assert_eq!(x("${v/nomatch/X}").unwrap(), "file.tar.gz");
        assert_eq!(x("${who//o/${v%%.*}}").unwrap(), "wfilerld");
        // An empty match is replaced once per position, like Go's ReplaceAllString.
        assert_eq!(x("${who///-}").unwrap(), "-w-o-r-l-d-");
        assert_eq!(x("${who//*/-}").unwrap(), "-");
        assert_eq!(x("${who/*/-}").unwrap(), "-");
        // Go's template syntax in the replacement: $0 is the match, $$ a dollar.
        let d = env(&[("d", "ab"), ("t", "<$0>"), ("u", "$$")]);
        assert_eq!(expand("${d//b/${t}}", &d).unwrap(), "a<b>");
        assert_eq!(expand("${d//b/${u}}", &d).unwrap(), "a$");
        assert_eq!(x("${v/x").unwrap_err(), "syntax error: missing '/' in ${}");
        assert_eq!(x("${v/x/y").unwrap_err(), "syntax error: missing '}'");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$who'").unwrap(), "$who");
        assert_eq!(x("\"$who\"").unwrap(), "world");
        assert_eq!(x("\"a 'b' $who\"").unwrap(), "a 'b' world");
        assert_eq!(x(r"\$who").unwrap(), "$who");
        assert_eq!(x(r#""\$who""#).unwrap(), "$who");
        assert_eq!(x(r#""\q""#).unwrap(), r"\q");
        assert_eq!(x(r"a\ b").unwrap(), "a b");
        assert_eq!(x(r"trailing\").unwrap(), "trailing");
        assert_eq!(
            expand_with_escape("`$who `\"", '`', env(&[("who", "w")])).unwrap(),
            "$who \""
        );
        assert_eq!(
            x("'abc").unwrap_err(),
            "unexpected end of statement while looking for matching single-quote"
        );
        assert_eq!(
            x("\"abc").unwrap_err(),
            "unexpected end of statement while looking for matching double-quote"
        );
    }

    #[test]
    fn syntax_errors() {
        assert_eq!(x("${").unwrap_err(), "syntax error: missing '}'");
        assert_eq!(x("${who").unwrap_err(), "syntax error: missing '}'");
        assert_eq!(x("${}").unwrap_err(), "syntax error: bad substitution");
        assert_eq!(x("${:-a}").unwrap_err(), "syntax error: bad substitution");
        assert_eq!(x("${{a}").unwrap_err(), "syntax error: bad substitution");
        assert_eq!(x("${who:-x").unwrap_err(), "syntax error: missing '}'");
        assert_eq!(
            x("${who!x}").unwrap_err(),
            "unsupported modifier (!) in substitution"
        );
        assert_eq!(
            x("${who:x}").unwrap_err(),
            "unsupported modifier (:x) in substitution"
        );
        let deep = format!("{}x{}", "${a:-".repeat(200), "}".repeat(200));
        assert!(x(&deep).unwrap_err().contains("nested"));
    }

    #[test]
    fn word_splitting() {
        let lex = Lexer::new('\\');
        let e = env(&[("two", "a b"), ("who", "world")]);
        assert_eq!(
            lex.words("x $two 'c d' \"$two\"", &e).unwrap(),
            ["x", "a", "b", "c d", "a b"]
        );
        assert_eq!(lex.words("  ", &e).unwrap(), Vec::<String>::new());
        assert_eq!(lex.words("80/tcp ${who}", &e).unwrap(), ["80/tcp", "world"]);
    }

    /// Plain backtracking, trying alternatives in the order Go's regexp prefers them.
    fn backtrack(toks: &[Tok], greedy: bool, text: &[char], si: usize) -> Option<usize> {
        let Some((tok, rest)) = toks.split_first() else {
            return Some(si);
        };
        let one = |ok: bool| {
            if ok {
                backtrack(rest, greedy, text, si + 1)
            } else {
                None
            }
        };
        match *tok {
            Tok::Lit(c) => one(text.get(si) == Some(&c)),
            Tok::Any => one(text.get(si).is_some_and(|&c| c != '\n')),
            Tok::Star => {
                let max = text.iter().skip(si).take_while(|&&c| c != '\n').count();
                let mut order: Vec<usize> = (0..=max).collect();
                if greedy {
                    order.reverse();
                }
                order
                    .into_iter()
                    .find_map(|k| backtrack(rest, greedy, text, si + k))
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn pattern_matching_agrees_with_backtracking(
            pattern in "[ab*?\n]{0,6}",
            text in "[ab\n]{0,9}",
            greedy in proptest::bool::ANY,
        ) {
            let pat = Pattern::compile(&pattern, greedy).unwrap();
            let chars: Vec<char> = text.chars().collect();
            let fast = pat.first_match_ends(&chars);
            for (s, got) in fast.iter().enumerate() {
                proptest::prop_assert_eq!(*got, backtrack(&pat.toks, greedy, &chars, s));
            }
        }
    }

    #[test]
    fn heredoc_markers_on_a_line() {
        let m = heredoc_markers("RUN <<EOF cat && <<-\"END\" tee 2<<'X' <<notme< x").unwrap();
        let names: Vec<_> = m
            .iter()
            .map(|h| (h.name.as_str(), h.quoted, h.strip_tabs, h.fd))
            .collect();
        assert_eq!(
            names,
            [
                ("EOF", false, false, 0),
                ("END", true, true, 0),
                ("X", true, false, 2)
            ]
        );
        assert!(heredoc_markers("RUN echo '<<EOF'").unwrap().is_empty());
        assert!(
            heredoc_markers("RUN echo \"unterminated <<EOF")
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            parse_heredoc_marker("<<E\"O\"F")
                .unwrap()
                .map(|h| (h.name, h.quoted)),
            Some(("EOF".to_string(), true))
        );
        assert_eq!(parse_heredoc_marker("<<").unwrap(), None);
        assert_eq!(parse_heredoc_marker("a<<b").unwrap(), None);
    }
}
