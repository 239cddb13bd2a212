//! From text to [`Dockerfile`]: BuildKit's `parser.Parse` (directives, continuations,
//! comments, heredocs), `instructions.Parse` (arguments and flags of each instruction) and
//! the stage rules of `dockerfile2llb` (only `ARG` before the first `FROM`, stage references).

use std::collections::BTreeSet;
use std::time::Duration;

use super::lex::{self, Lexer};
use super::{
    CheckDirective, CommandForm, CopyArgs, Directives, Dockerfile, Healthcheck, Heredoc,
    Instruction, InstructionKind, Keyword, RunArgs, Span, Stage, eval, mount,
};
use crate::{Error, Result};

pub(super) fn parse(text: &str, file: &str) -> Result<Dockerfile> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw_lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut parser = Parser {
        file,
        raw_lines: &raw_lines,
        next: 0,
        directives: Directives::default(),
        directives_done: false,
        seen_directives: BTreeSet::new(),
    };
    let instructions = parser.instructions()?;
    let lines = raw_lines
        .iter()
        .map(|l| trim_newline(l).to_string())
        .collect();
    assemble(file, parser.directives, instructions, lines)
}

/// `bytes.TrimRight(line, "\r\n")`.
fn trim_newline(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// Go's `reWhitespace`: `[\t\v\f\r ]`.
fn is_split_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ')
}

/// The byte offset of `sub` inside `base` when `sub` is a slice of `base`, else 0.
fn offset_in(base: &str, sub: &str) -> usize {
    let (b, s) = (base.as_ptr() as usize, sub.as_ptr() as usize);
    if s >= b && s <= b + base.len() {
        s - b
    } else {
        0
    }
}

fn error(file: &str, line: usize, column: usize, reason: impl Into<String>) -> Error {
    Error::Dockerfile {
        file: file.to_string(),
        line,
        column,
        reason: reason.into(),
    }
}

/// A logical line: physical lines joined after removing continuation characters and
/// comment lines, with a map from byte offsets back to physical positions.
struct Logical {
    text: String,
    /// (offset in `text`, physical line, 0-based char column where that piece starts).
    pieces: Vec<(usize, usize, usize)>,
    first_line: usize,
    last_line: usize,
}

impl Logical {
    /// 1-based (line, column) of a byte offset in `text`.
    fn position(&self, offset: usize) -> (usize, usize) {
        let piece = self
            .pieces
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= offset)
            .or(self.pieces.first());
        match piece {
            Some(&(start, line, col0)) => {
                let chars = self
                    .text
                    .get(start..offset.max(start))
                    .map_or(0, |s| s.chars().count());
                (line, col0 + chars + 1)
            }
            None => (self.first_line, 1),
        }
    }
}

struct Parser<'a> {
    file: &'a str,
    raw_lines: &'a [&'a str],
    next: usize,
    directives: Directives,
    directives_done: bool,
    seen_directives: BTreeSet<String>,
}

impl<'a> Parser<'a> {
    fn next_line(&mut self) -> Option<(usize, &'a str)> {
        let raw = *self.raw_lines.get(self.next)?;
        self.next += 1;
        Some((self.next, raw))
    }

    /// All instructions in file order (BuildKit's `parser.Parse` loop).
    fn instructions(&mut self) -> Result<Vec<Instruction>> {
        let mut out = Vec::new();
        while let Some((line_no, raw)) = self.next_line() {
            let content = trim_newline(raw);
            let stripped = content.trim_start();
            let lead = content.chars().count() - stripped.chars().count();
            self.directive(stripped, line_no, lead)?;
            // `#` starts a comment only as the first non-blank character of a line.
            let first = if stripped.starts_with('#') {
                ""
            } else {
                stripped
            };
            let (first, mut continued) = trim_continuation(first, self.directives.escape);
            if !continued && first.is_empty() {
                continue;
            }
            let mut logical = Logical {
                text: first.to_string(),
                pieces: vec![(0, line_no, lead)],
                first_line: line_no,
                last_line: line_no,
            };
            while continued {
                let Some((n, raw)) = self.next_line() else {
                    break;
                };
                logical.last_line = n;
                let content = trim_newline(raw);
                let trimmed = content.trim_start();
                // Comment lines and (deprecated) empty lines inside a continuation are
                // skipped; comments cannot themselves be continued.
                if trimmed.starts_with('#') || trimmed.is_empty() {
                    continue;
                }
                let (piece, more) = trim_continuation(content, self.directives.escape);
                logical.pieces.push((logical.text.len(), n, 0));
                logical.text.push_str(piece);
                continued = more;
            }
            let heredocs = self.heredocs(&logical)?;
            // Heredoc bodies belong to the instruction's span.
            logical.last_line = logical.last_line.max(self.next);
            let ctx = Ctx {
                file: self.file,
                logical: &logical,
                escape: self.directives.escape,
            };
            out.push(ctx.instruction(&logical.text, heredocs)?);
        }
        Ok(out)
    }

    /// Parser directives: `# key=value` lines at the very top. Scanning stops at the first
    /// line that is not a known directive (an unknown one is a plain comment).
    fn directive(&mut self, line: &str, line_no: usize, lead: usize) -> Result<()> {
        if self.directives_done {
            return Ok(());
        }
        let Some((key, value, value_offset)) = directive_parts(line) else {
            self.directives_done = true;
            return Ok(());
        };
        let key = key.to_ascii_lowercase();
        if !matches!(key.as_str(), "syntax" | "escape" | "check") {
            self.directives_done = true;
            return Ok(());
        }
        let column = lead + line.get(..value_offset).map_or(0, |s| s.chars().count()) + 1;
        if !self.seen_directives.insert(key.clone()) {
            return Err(error(
                self.file,
                line_no,
                lead + 1,
                format!("only one {key} parser directive can be used"),
            ));
        }
        match key.as_str() {
            "escape" => {
                self.directives.escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(error(
                            self.file,
                            line_no,
                            column,
                            format!("invalid escape token '{value}' does not match ` or \\"),
                        ));
                    }
                };
            }
            "check" => {
                let check = parse_check(value).map_err(|reason| {
                    error(
                        self.file,
                        line_no,
                        column,
                        format!("failed to parse check options: {reason}"),
                    )
                })?;
                self.directives.check = Some(check);
            }
            _ => self.directives.syntax = Some(value.to_string()),
        }
        Ok(())
    }

    /// Read the bodies of the heredocs an instruction line opens (RUN, COPY, ADD, and those
    /// behind ONBUILD, in shell form only), one after the other.
    fn heredocs(&mut self, logical: &Logical) -> Result<Vec<Heredoc>> {
        let line = logical.text.as_str();
        if !line.contains("<<") || !can_contain_heredoc(line) {
            return Ok(Vec::new());
        }
        let markers = lex::heredoc_markers(line).map_err(|reason| {
            let (l, c) = logical.position(line.find("<<").unwrap_or(0));
            error(self.file, l, c, reason)
        })?;
        let mut out = Vec::new();
        let mut search_from = 0;
        for marker in markers {
            let at = line
                .get(search_from..)
                .and_then(|rest| rest.find("<<"))
                .map_or(0, |i| search_from + i);
            search_from = at + 2;
            let mut body = String::new();
            let mut terminated = false;
            while let Some((_, raw)) = self.next_line() {
                let mut candidate = trim_newline(raw);
                if marker.strip_tabs {
                    candidate = candidate.trim_start_matches('\t');
                }
                if candidate == marker.name {
                    terminated = true;
                    break;
                }
                body.push_str(raw);
            }
            if !terminated {
                let (l, c) = logical.position(at);
                return Err(error(
                    self.file,
                    l,
                    c,
                    format!(
                        "unterminated heredoc: no line {:?} closes the heredoc before the end of the file",
                        marker.name
                    ),
                ));
            }
            if marker.strip_tabs {
                body = strip_leading_tabs(&body);
            }
            out.push(Heredoc {
                name: marker.name,
                quoted: marker.quoted,
                strip_tabs: marker.strip_tabs,
                fd: marker.fd,
                body,
            });
        }
        Ok(out)
    }
}

/// `ChompHeredocContent`: remove leading tabs from every line.
fn strip_leading_tabs(body: &str) -> String {
    body.split_inclusive('\n')
        .map(|l| l.trim_start_matches('\t'))
        .collect()
}

/// Whether the line's instruction may carry heredocs (BuildKit's `canContainHeredoc`).
fn can_contain_heredoc(line: &str) -> bool {
    let split = split_command(line);
    match Keyword::from_word(split.cmd) {
        Some(Keyword::Run | Keyword::Copy | Keyword::Add) => {
            !matches!(parse_json(split.args), Json::Strings(_))
        }
        Some(Keyword::Onbuild) => {
            let sub = split_command(split.args);
            matches!(
                Keyword::from_word(sub.cmd),
                Some(Keyword::Run | Keyword::Copy | Keyword::Add)
            ) && !matches!(parse_json(sub.args), Json::Strings(_))
        }
        _ => false,
    }
}

/// The regex `([^E])E[ \t]*$|^E[ \t]*$` of BuildKit, E being the escape character: a line
/// ending with an escape (not itself escaped) continues on the next line.
fn trim_continuation(line: &str, escape: char) -> (&str, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    if let Some(before) = trimmed.strip_suffix(escape)
        && (before.is_empty() || !before.ends_with(escape))
    {
        return (before, true);
    }
    (line, false)
}

/// `#\s*key\s*=\s*value` (BuildKit's `DirectiveParser`): the key, the value, and the byte
/// offset of the value in `line`.
fn directive_parts(line: &str) -> Option<(&str, &str, usize)> {
    // Go's \s in this regexp: [\t\n\f\r ].
    let is_ws = |c: char| matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ');
    let after_hash = line.strip_prefix('#')?.trim_start();
    let key_len = after_hash
        .char_indices()
        .take_while(|&(i, c)| {
            if i == 0 {
                c.is_ascii_alphabetic()
            } else {
                c.is_ascii_alphanumeric()
            }
        })
        .count();
    if key_len == 0 {
        return None;
    }
    let (key, rest) = after_hash.split_at(key_len);
    let rest = rest.trim_start_matches(is_ws).strip_prefix('=')?;
    if rest.is_empty() {
        return None;
    }
    let value_start = rest.trim_start_matches(is_ws);
    let value = if value_start.is_empty() {
        // `(.+?)` still needs one character: the last blank.
        rest.get(rest.len() - rest.chars().last().map_or(0, char::len_utf8)..)?
    } else {
        value_start.trim_end_matches(is_ws)
    };
    Some((key, value, offset_in(line, value)))
}

/// BuildKit's `linter.ParseLintOptions` (`frontend/dockerfile/linter/linter.go`): the value
/// is cut into at most three `;`-separated parts (`strings.SplitN(v, ";", 3)`), so a fourth
/// part stays inside the third one's value, as it does there.
fn parse_check(value: &str) -> std::result::Result<CheckDirective, String> {
    let mut check = CheckDirective::default();
    let value = value.trim();
    if value.is_empty() {
        return Ok(check);
    }
    // `skip=` and `experimental=` take `all` or a comma-separated list of names.
    let names = |v: &str| -> (bool, Vec<String>) {
        let v = v.trim();
        if v == "all" {
            (true, Vec::new())
        } else {
            (false, v.split(',').map(|s| s.trim().to_string()).collect())
        }
    };
    for part in value.splitn(3, ';') {
        let Some((k, v)) = part.split_once('=') else {
            return Err(format!("invalid check option {part:?}"));
        };
        match k.trim() {
            "skip" => {
                let (all, list) = names(v);
                if all {
                    check.skip_all = true;
                } else {
                    check.skip = list;
                }
            }
            "experimental" => {
                let (all, list) = names(v);
                if all {
                    check.experimental_all = true;
                } else {
                    check.experimental = list;
                }
            }
            "error" => {
                check.error = parse_go_bool(v.trim())
                    .ok_or_else(|| format!("failed to parse check option {part:?}"))?;
            }
            other => return Err(format!("invalid check option {other:?}")),
        }
    }
    Ok(check)
}

/// Go's `strconv.ParseBool`.
pub(super) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A line split into command, flags and arguments (BuildKit's `splitCommand`).
struct Split<'a> {
    cmd: &'a str,
    flags: Vec<RawFlag>,
    args: &'a str,
}

/// A `--name[=value]` flag with its quotes and escapes removed.
struct RawFlag {
    text: String,
    offset: usize,
}

fn split_command(line: &str) -> Split<'_> {
    let trimmed = line.trim();
    let (cmd, rest) = match trimmed.find(is_split_space) {
        Some(i) => {
            let (cmd, rest) = trimmed.split_at(i);
            (cmd, rest.trim_start_matches(is_split_space))
        }
        None => (trimmed, trimmed.get(trimmed.len()..).unwrap_or(trimmed)),
    };
    let (args_at, flags) = extract_flags(rest);
    let args = rest
        .get(args_at..)
        .or_else(|| rest.get(rest.len()..))
        .unwrap_or(rest)
        .trim();
    let base = offset_in(line, rest);
    Split {
        cmd,
        flags: flags
            .into_iter()
            .map(|(text, at)| RawFlag {
                text,
                offset: base + at,
            })
            .collect(),
        args,
    }
}

/// BuildKit's `extractBuilderFlags`: leading `--flag` words (quotes and `\` escapes
/// processed), and the byte offset where the arguments start. A bare `--` ends the flags.
fn extract_flags(line: &str) -> (usize, Vec<(String, usize)>) {
    #[derive(PartialEq)]
    enum Phase {
        Spaces,
        Word,
        Quote(char),
    }
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    let mut words = Vec::new();
    let mut phase = Phase::Spaces;
    let mut word = String::new();
    let mut word_at = 0;
    let mut blank_ok = false;
    let mut i = 0;
    loop {
        let Some(&(at, ch)) = chars.get(i) else {
            if phase != Phase::Spaces && word != "--" && (blank_ok || !word.is_empty()) {
                words.push((word, word_at));
            }
            return (line.len(), words);
        };
        i += 1;
        match phase {
            Phase::Spaces => {
                if ch.is_whitespace() {
                    continue;
                }
                if ch != '-' || chars.get(i).map(|&(_, c)| c) != Some('-') {
                    return (at, words);
                }
                phase = Phase::Word;
                word_at = at;
                word.push(ch);
            }
            Phase::Word => {
                if ch.is_whitespace() {
                    if word == "--" {
                        return (at, words);
                    }
                    if blank_ok || !word.is_empty() {
                        words.push((std::mem::take(&mut word), word_at));
                    }
                    word.clear();
                    blank_ok = false;
                    phase = Phase::Spaces;
                } else if ch == '\'' || ch == '"' {
                    blank_ok = true;
                    phase = Phase::Quote(ch);
                } else if ch == '\\' {
                    if let Some(&(_, escaped)) = chars.get(i) {
                        i += 1;
                        word.push(escaped);
                    }
                } else {
                    word.push(ch);
                }
            }
            Phase::Quote(q) => {
                if ch == q {
                    phase = Phase::Word;
                } else if ch == '\\' {
                    match chars.get(i) {
                        Some(&(_, escaped)) => {
                            i += 1;
                            word.push(escaped);
                        }
                        None => phase = Phase::Word,
                    }
                } else {
                    word.push(ch);
                }
            }
        }
    }
}

/// Result of trying the JSON (exec) form.
enum Json {
    /// Not a JSON array: use the shell form.
    No,
    /// A JSON array of strings.
    Strings(Vec<String>),
    /// A JSON array with something other than strings: an error.
    NotStrings,
}

fn parse_json(args: &str) -> Json {
    let rest = args.trim_start();
    if !rest.starts_with('[') {
        return Json::No;
    }
    match serde_json::from_str::<Vec<serde_json::Value>>(rest) {
        Err(_) => Json::No,
        Ok(values) => values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()
            .map_or(Json::NotStrings, Json::Strings),
    }
}

const NOT_STRING_ARRAY: &str =
    "when using JSON array syntax, arrays must be comprised of strings only";

/// Value types of instruction flags (BuildKit's `BFlags`).
#[derive(Clone, Copy, PartialEq)]
enum FlagType {
    Bool,
    String,
    Strings,
}

/// Parsed flag values, by flag name.
struct Flags {
    values: Vec<(&'static str, FlagValue)>,
}

#[derive(Default)]
struct FlagValue {
    used: bool,
    bool_value: bool,
    string: Option<String>,
    strings: Vec<(String, usize)>,
}

impl Flags {
    fn get(&self, name: &str) -> Option<&FlagValue> {
        self.values.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
    /// A string flag's value; an empty value counts as not given (as in BuildKit).
    fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| v.string.clone())
            .filter(|s| !s.is_empty())
    }
    fn boolean(&self, name: &str) -> bool {
        self.get(name).is_some_and(|v| v.bool_value)
    }
    /// A repeatable flag's values with their offsets.
    fn strings(&self, name: &str) -> Vec<(String, usize)> {
        self.get(name)
            .map(|v| v.strings.clone())
            .unwrap_or_default()
    }
}

/// One instruction's parsing context: positions for errors and the escape character.
struct Ctx<'a> {
    file: &'a str,
    logical: &'a Logical,
    escape: char,
}

const COPY_FLAGS: [(&str, FlagType); 6] = [
    ("chown", FlagType::String),
    ("chmod", FlagType::String),
    ("from", FlagType::String),
    ("link", FlagType::Bool),
    ("parents", FlagType::Bool),
    ("exclude", FlagType::Strings),
];
const ADD_FLAGS: [(&str, FlagType); 7] = [
    ("chown", FlagType::String),
    ("chmod", FlagType::String),
    ("link", FlagType::Bool),
    ("keep-git-dir", FlagType::Bool),
    ("checksum", FlagType::String),
    ("exclude", FlagType::Strings),
    ("unpack", FlagType::Bool),
];

impl Ctx<'_> {
    fn err(&self, offset: usize, reason: impl Into<String>) -> Error {
        let (line, column) = self.logical.position(offset);
        error(self.file, line, column, reason)
    }

    fn at(&self, sub: &str) -> usize {
        offset_in(&self.logical.text, sub)
    }

    fn span(&self) -> Span {
        Span {
            file: self.file.to_string(),
            first_line: self.logical.first_line,
            last_line: self.logical.last_line,
        }
    }

    /// Check that a word that will be expanded is well formed (with every variable set).
    fn check_expansion(&self, word: &str, offset: usize) -> Result<()> {
        Lexer::new(self.escape)
            .word(word, &|_| Some("x".to_string()))
            .map(|_| ())
            .map_err(|e| self.err(offset, format!("failed to process {word:?}: {e}")))
    }

    fn parse_flags(&self, raw: &[RawFlag], spec: &[(&'static str, FlagType)]) -> Result<Flags> {
        let mut values: Vec<(&'static str, FlagValue)> = spec
            .iter()
            .map(|(n, _)| (*n, FlagValue::default()))
            .collect();
        for flag in raw {
            let body = flag.text.strip_prefix("--").unwrap_or(&flag.text);
            let (name, value) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(i) = spec.iter().position(|(n, _)| *n == name) else {
                return Err(self.err(flag.offset, format!("unknown flag: {name}")));
            };
            let (kind, slot) = match (spec.get(i), values.get_mut(i)) {
                (Some((_, kind)), Some((_, slot))) => (*kind, slot),
                _ => return Err(self.err(flag.offset, format!("unknown flag: {name}"))),
            };
            if slot.used && kind != FlagType::Strings {
                return Err(self.err(flag.offset, format!("duplicate flag specified: {name}")));
            }
            slot.used = true;
            match kind {
                FlagType::Bool => {
                    slot.bool_value = match value {
                        None => true,
                        Some("") => {
                            return Err(
                                self.err(flag.offset, format!("missing a value on flag: {name}"))
                            );
                        }
                        Some(v) if v.eq_ignore_ascii_case("true") => true,
                        Some(v) if v.eq_ignore_ascii_case("false") => false,
                        Some(v) => {
                            return Err(self.err(
                                flag.offset,
                                format!("expecting boolean value for flag {name}, not: {v}"),
                            ));
                        }
                    };
                }
                FlagType::String => match value {
                    Some(v) => slot.string = Some(v.to_string()),
                    None => {
                        return Err(
                            self.err(flag.offset, format!("missing a value on flag: {name}"))
                        );
                    }
                },
                FlagType::Strings => match value {
                    Some(v) => slot.strings.push((v.to_string(), flag.offset)),
                    None => {
                        return Err(
                            self.err(flag.offset, format!("missing a value on flag: {name}"))
                        );
                    }
                },
            }
        }
        Ok(Flags { values })
    }

    /// Parse one instruction; `line` is `self.logical.text` or (for ONBUILD) a slice of it.
    fn instruction(&self, line: &str, heredocs: Vec<Heredoc>) -> Result<Instruction> {
        let mut split = split_command(line);
        // Flag offsets are relative to `line`, which is a slice of the logical line.
        let base = self.at(line);
        for flag in &mut split.flags {
            flag.offset += base;
        }
        let Some(keyword) = Keyword::from_word(split.cmd) else {
            return Err(self.err(
                self.at(split.cmd),
                format!("unknown instruction: {}", split.cmd.to_uppercase()),
            ));
        };
        let kind = self.kind(keyword, &split, heredocs)?;
        Ok(Instruction {
            span: self.span(),
            keyword,
            original: line.trim().to_string(),
            kind,
        })
    }

    fn kind(
        &self,
        keyword: Keyword,
        split: &Split,
        heredocs: Vec<Heredoc>,
    ) -> Result<InstructionKind> {
        let args = split.args;
        let args_at = self.at(args);
        // Where to point when arguments are missing: just after the keyword.
        let missing_at = self.at(split.cmd) + split.cmd.len();
        let no_flags = |s: &Split| self.parse_flags(&s.flags, &[]).map(|_| ());
        Ok(match keyword {
            Keyword::From => {
                let flags = self.parse_flags(&split.flags, &[("platform", FlagType::String)])?;
                let words = split_ws(args);
                let name = match words.as_slice() {
                    [_] => None,
                    [_, as_kw, name] if as_kw.eq_ignore_ascii_case("as") => {
                        let lower = name.to_lowercase();
                        if !valid_stage_name(&lower) {
                            return Err(self.err(
                                self.at(name),
                                format!(
                                    "invalid name for build stage: {name:?}, name can't start with a number or contain symbols"
                                ),
                            ));
                        }
                        Some(lower)
                    }
                    _ => {
                        let at = if args.is_empty() { missing_at } else { args_at };
                        return Err(self.err(at, "FROM requires either one or three arguments"));
                    }
                };
                let base = words.first().copied().unwrap_or_default();
                self.check_expansion(base, self.at(base))?;
                let platform = flags.string("platform");
                if let Some(p) = &platform {
                    self.check_expansion(p, self.flag_offset(split, "platform"))?;
                }
                InstructionKind::From {
                    base: base.to_string(),
                    name,
                    platform,
                }
            }
            Keyword::Run => {
                let spec = [
                    ("mount", FlagType::Strings),
                    ("network", FlagType::String),
                    ("security", FlagType::String),
                    ("device", FlagType::Strings),
                ];
                let flags = self.parse_flags(&split.flags, &spec)?;
                let mut mounts = Vec::new();
                for (value, at) in flags.strings("mount") {
                    let m = mount::parse(&value, None)
                        .map_err(|e| self.err(at, format!("invalid --mount={value}: {e}")))?;
                    for v in m.options.iter().filter_map(|(_, v)| v.as_deref()) {
                        self.check_expansion(v, at)?;
                    }
                    mounts.push(m);
                }
                let network = flags.string("network");
                if let Some(n) = &network
                    && !matches!(n.as_str(), "default" | "none" | "host")
                {
                    return Err(self.err(
                        self.flag_offset(split, "network"),
                        format!("unsupported network mode {n:?}"),
                    ));
                }
                let security = flags.string("security");
                if let Some(s) = &security
                    && !matches!(s.as_str(), "sandbox" | "insecure")
                {
                    return Err(self.err(
                        self.flag_offset(split, "security"),
                        format!("unsupported security mode {s:?}"),
                    ));
                }
                InstructionKind::Run(RunArgs {
                    form: self.command_form(args, args_at)?,
                    mounts,
                    network,
                    security,
                    devices: flags
                        .strings("device")
                        .into_iter()
                        .map(|(v, _)| v)
                        .collect(),
                    heredocs,
                })
            }
            Keyword::Cmd => {
                no_flags(split)?;
                InstructionKind::Cmd(self.command_form(args, args_at)?)
            }
            Keyword::Entrypoint => {
                no_flags(split)?;
                InstructionKind::Entrypoint(self.command_form(args, args_at)?)
            }
            Keyword::Shell => {
                no_flags(split)?;
                match parse_json(args) {
                    Json::Strings(v) if !v.is_empty() => InstructionKind::Shell(v),
                    Json::Strings(_) => {
                        return Err(self.err(args_at, "SHELL requires at least one argument"));
                    }
                    Json::NotStrings => return Err(self.err(args_at, NOT_STRING_ARRAY)),
                    Json::No if args.is_empty() => {
                        return Err(self.err(missing_at, "SHELL requires at least one argument"));
                    }
                    Json::No => {
                        return Err(
                            self.err(args_at, "SHELL requires the arguments to be in JSON form")
                        );
                    }
                }
            }
            Keyword::Env | Keyword::Label => {
                let name = keyword.as_str();
                let pairs = self.name_values(args, name)?;
                no_flags(split)?;
                if pairs.is_empty() {
                    return Err(
                        self.err(missing_at, format!("{name} requires at least one argument"))
                    );
                }
                let mut out = Vec::new();
                for (k, v, at) in pairs {
                    if k.is_empty() {
                        return Err(self.err(at, format!("{name} names can not be blank")));
                    }
                    self.check_expansion(&k, at)?;
                    self.check_expansion(&v, at)?;
                    out.push((k, v));
                }
                if keyword == Keyword::Env {
                    InstructionKind::Env(out)
                } else {
                    InstructionKind::Label(out)
                }
            }
            Keyword::Arg => {
                let words = parse_words(args, self.escape);
                no_flags(split)?;
                if words.is_empty() {
                    return Err(self.err(missing_at, "ARG requires at least one argument"));
                }
                let mut out = Vec::new();
                for (word, at) in words {
                    let at = args_at + at;
                    match word.split_once('=') {
                        Some(("", _)) => return Err(self.err(at, "ARG names can not be blank")),
                        Some((k, v)) => {
                            self.check_expansion(v, at)?;
                            out.push((k.to_string(), Some(v.to_string())));
                        }
                        None => out.push((word, None)),
                    }
                }
                InstructionKind::Arg(out)
            }
            Keyword::Maintainer | Keyword::Workdir | Keyword::User | Keyword::Stopsignal => {
                // BuildKit never parses STOPSIGNAL's flags, so it ignores them.
                if keyword != Keyword::Stopsignal {
                    no_flags(split)?;
                }
                if args.is_empty() {
                    return Err(self.err(
                        missing_at,
                        format!("{keyword} requires exactly one argument"),
                    ));
                }
                let value = args.to_string();
                match keyword {
                    Keyword::Maintainer => InstructionKind::Maintainer(value),
                    Keyword::Workdir => {
                        self.check_expansion(args, args_at)?;
                        InstructionKind::Workdir(value)
                    }
                    Keyword::User => {
                        self.check_expansion(args, args_at)?;
                        InstructionKind::User(value)
                    }
                    _ => {
                        self.check_expansion(args, args_at)?;
                        InstructionKind::StopSignal(value)
                    }
                }
            }
            Keyword::Expose => {
                no_flags(split)?;
                let ports = split_ws(args);
                if ports.is_empty() {
                    return Err(self.err(missing_at, "EXPOSE requires at least one argument"));
                }
                for p in &ports {
                    self.check_expansion(p, self.at(p))?;
                }
                InstructionKind::Expose(ports.iter().map(|p| p.to_string()).collect())
            }
            Keyword::Volume => {
                no_flags(split)?;
                let (words, _) = self.json_or_words(args, args_at)?;
                if words.is_empty() {
                    return Err(self.err(missing_at, "VOLUME requires at least one argument"));
                }
                let mut out = Vec::new();
                for (v, at) in words {
                    let v = v.trim();
                    if v.is_empty() {
                        return Err(self.err(at, "VOLUME specified can not be an empty string"));
                    }
                    self.check_expansion(v, at)?;
                    out.push(v.to_string());
                }
                InstructionKind::Volume(out)
            }
            Keyword::Copy | Keyword::Add => {
                let (words, json) = self.json_or_words(args, args_at)?;
                let name = keyword.as_str();
                if words.len() < 2 {
                    return Err(self.err(
                        if args.is_empty() { missing_at } else { args_at },
                        format!(
                            "{name} requires at least two arguments, but only one was provided. Destination could not be determined"
                        ),
                    ));
                }
                let copy = keyword == Keyword::Copy;
                let flags =
                    self.parse_flags(&split.flags, if copy { &COPY_FLAGS } else { &ADD_FLAGS })?;
                self.copy_args(copy, &flags, split, words, json, heredocs)
                    .map(|c| {
                        if copy {
                            InstructionKind::Copy(c)
                        } else {
                            InstructionKind::Add(c)
                        }
                    })?
            }
            Keyword::Onbuild => {
                no_flags(split)?;
                if args.is_empty() {
                    return Err(self.err(missing_at, "ONBUILD requires at least one argument"));
                }
                let trigger = split_command(args);
                let upper = trigger.cmd.to_uppercase();
                match upper.as_str() {
                    "ONBUILD" => {
                        return Err(self.err(
                            args_at,
                            "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                        ));
                    }
                    "MAINTAINER" | "FROM" => {
                        return Err(self.err(
                            args_at,
                            format!("{upper} isn't allowed as an ONBUILD trigger"),
                        ));
                    }
                    _ => {}
                }
                InstructionKind::Onbuild(Box::new(self.instruction(args, heredocs)?))
            }
            Keyword::Healthcheck => self.healthcheck(split, args, args_at, missing_at)?,
        })
    }

    fn flag_offset(&self, split: &Split, name: &str) -> usize {
        split
            .flags
            .iter()
            .find(|f| f.text.trim_start_matches('-').starts_with(name))
            .map_or(self.at(split.args), |f| f.offset)
    }

    /// `parseMaybeJSON`: exec form for a JSON string array, else shell form.
    fn command_form(&self, args: &str, args_at: usize) -> Result<CommandForm> {
        match parse_json(args) {
            Json::Strings(v) => Ok(CommandForm::Exec(v)),
            Json::NotStrings => Err(self.err(args_at, NOT_STRING_ARRAY)),
            Json::No => Ok(CommandForm::Shell(args.to_string())),
        }
    }

    /// `parseMaybeJSONToList`: the JSON array's strings or whitespace-separated words, with
    /// offsets, and whether the JSON form was used.
    fn json_or_words(&self, args: &str, args_at: usize) -> Result<(Vec<(String, usize)>, bool)> {
        match parse_json(args) {
            Json::Strings(v) => Ok((v.into_iter().map(|s| (s, args_at)).collect(), true)),
            Json::NotStrings => Err(self.err(args_at, NOT_STRING_ARRAY)),
            Json::No => Ok((
                split_ws(args)
                    .into_iter()
                    .map(|w| (w.to_string(), self.at(w)))
                    .collect(),
                false,
            )),
        }
    }

    /// `parseNameVal` for ENV and LABEL: `k=v ...`, or the legacy `k value with spaces`.
    /// Returns (key, value, offset) triples, words still quoted.
    fn name_values(&self, args: &str, name: &str) -> Result<Vec<(String, String, usize)>> {
        let args_at = self.at(args);
        let words = parse_words(args, self.escape);
        let Some((first, _)) = words.first() else {
            return Ok(Vec::new());
        };
        if !first.contains('=') {
            let mut parts = args.splitn(2, is_split_space);
            let key = parts.next().unwrap_or_default();
            let value = parts.next().map(|v| v.trim_start_matches(is_split_space));
            return match value {
                Some(value) => Ok(vec![(key.to_string(), value.to_string(), args_at)]),
                None => Err(self.err(args_at, format!("{name} must have two arguments"))),
            };
        }
        let mut out = Vec::new();
        for (word, at) in words {
            match word.split_once('=') {
                Some((k, v)) => out.push((k.to_string(), v.to_string(), args_at + at)),
                None => {
                    return Err(self.err(
                        args_at + at,
                        format!(
                            "Syntax error - can't find = in {word:?}. Must be of the form: name=value"
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn copy_args(
        &self,
        copy: bool,
        flags: &Flags,
        split: &Split,
        mut words: Vec<(String, usize)>,
        json: bool,
        heredocs: Vec<Heredoc>,
    ) -> Result<CopyArgs> {
        let name = if copy { "COPY" } else { "ADD" };
        let (dest, dest_at) = words.pop().unwrap_or_default();
        if lex::parse_heredoc_marker(&dest).ok().flatten().is_some() {
            return Err(self.err(
                dest_at,
                format!("{name} cannot accept a heredoc as a destination"),
            ));
        }
        let mut sources = Vec::new();
        for (src, at) in words {
            let is_marker = !json && lex::parse_heredoc_marker(&src).ok().flatten().is_some();
            if !is_marker {
                self.check_expansion(&src, at)?;
                sources.push(src);
            }
        }
        self.check_expansion(&dest, dest_at)?;
        let flag_at = |n: &str| self.flag_offset(split, n);
        let checked = |value: Option<String>, n: &str| -> Result<Option<String>> {
            if let Some(v) = &value {
                self.check_expansion(v, flag_at(n))?;
            }
            Ok(value)
        };
        let excludes = flags.strings("exclude");
        for (e, at) in &excludes {
            self.check_expansion(e, *at)?;
        }
        for h in heredocs.iter().filter(|h| !h.quoted) {
            let at = self.logical.text.find("<<").unwrap_or(0);
            heredoc_lexer()
                .word(&h.body, &|_| Some("x".to_string()))
                .map_err(|e| self.err(at, format!("heredoc {:?}: {e}", h.name)))?;
        }
        let mut args = CopyArgs {
            sources,
            dest,
            chown: checked(flags.string("chown"), "chown")?,
            chmod: checked(flags.string("chmod"), "chmod")?,
            link: flags.boolean("link"),
            excludes: excludes.into_iter().map(|(e, _)| e).collect(),
            json,
            heredocs,
            ..CopyArgs::default()
        };
        if copy {
            args.from = checked(flags.string("from"), "from")?;
            args.parents = flags.boolean("parents");
        } else {
            args.keep_git_dir = flags.boolean("keep-git-dir");
            args.checksum = checked(flags.string("checksum"), "checksum")?;
            args.unpack = flags.get("unpack").filter(|v| v.used).map(|v| v.bool_value);
        }
        Ok(args)
    }

    fn healthcheck(
        &self,
        split: &Split,
        args: &str,
        args_at: usize,
        missing_at: usize,
    ) -> Result<InstructionKind> {
        if args.is_empty() {
            return Err(self.err(missing_at, "HEALTHCHECK requires at least one argument"));
        }
        let (typ, rest) = match args.find(char::is_whitespace) {
            Some(i) => {
                let (t, r) = args.split_at(i);
                (t, r.trim_start())
            }
            None => (args, ""),
        };
        let form = self.command_form(rest, self.at(rest))?;
        let empty = match &form {
            CommandForm::Shell(s) => s.is_empty(),
            CommandForm::Exec(v) => v.is_empty(),
        };
        let typ = typ.to_uppercase();
        if typ == "NONE" {
            // BuildKit does not look at the flags of HEALTHCHECK NONE.
            if !empty {
                return Err(self.err(self.at(rest), "HEALTHCHECK NONE takes no arguments"));
            }
            return Ok(InstructionKind::Healthcheck(Healthcheck::None));
        }
        let spec = [
            ("interval", FlagType::String),
            ("timeout", FlagType::String),
            ("start-period", FlagType::String),
            ("start-interval", FlagType::String),
            ("retries", FlagType::String),
        ];
        let flags = self.parse_flags(&split.flags, &spec)?;
        if typ != "CMD" {
            return Err(self.err(
                args_at,
                format!("Unknown type {typ:?} in HEALTHCHECK (try CMD)"),
            ));
        }
        if empty {
            return Err(self.err(missing_at, "Missing command after HEALTHCHECK CMD"));
        }
        let interval = |name: &str| -> Result<Option<Duration>> {
            let Some(v) = flags.string(name) else {
                return Ok(None);
            };
            let at = self.flag_offset(split, name);
            match parse_go_duration(&v).map_err(|e| self.err(at, e))? {
                Some(d) if d.is_zero() => Ok(None),
                Some(d) if d >= Duration::from_millis(1) => Ok(Some(d)),
                _ => Err(self.err(at, format!("Interval {name:?} cannot be less than 1ms"))),
            }
        };
        let retries = match flags.string("retries") {
            None => None,
            Some(v) => {
                let at = self.flag_offset(split, "retries");
                let n: i64 = v.parse().map_err(|_| {
                    self.err(
                        at,
                        format!("strconv.ParseInt: parsing {v:?}: invalid syntax"),
                    )
                })?;
                if n < 0 {
                    return Err(self.err(at, format!("--retries cannot be negative ({n})")));
                }
                Some(u32::try_from(n).map_err(|_| {
                    self.err(
                        at,
                        format!("strconv.ParseInt: parsing {v:?}: value out of range"),
                    )
                })?)
            }
        };
        Ok(InstructionKind::Healthcheck(Healthcheck::Cmd {
            form,
            interval: interval("interval")?,
            timeout: interval("timeout")?,
            start_period: interval("start-period")?,
            start_interval: interval("start-interval")?,
            retries,
        }))
    }
}

/// The lexer BuildKit uses for unquoted heredoc bodies: `\\` escapes, quotes are literal.
pub(super) fn heredoc_lexer() -> Lexer {
    let mut lexer = Lexer::new('\\');
    lexer.skip_process_quotes = true;
    lexer
}

fn valid_stage_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// Whitespace-separated words (`reWhitespace.Split`), as slices of `args`.
fn split_ws(args: &str) -> Vec<&str> {
    if args.is_empty() {
        return Vec::new();
    }
    args.split(is_split_space)
        .filter(|w| !w.is_empty())
        .collect()
}

/// BuildKit's `parseWords`: words separated by whitespace outside quotes; quotes and escapes
/// are kept (expansion removes them later). Returns each word and its byte offset.
fn parse_words(rest: &str, escape: char) -> Vec<(String, usize)> {
    let chars: Vec<(usize, char)> = rest.char_indices().collect();
    let mut words = Vec::new();
    let mut word = String::new();
    let mut word_at = 0;
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut blank_ok = false;
    let mut i = 0;
    while let Some(&(at, ch)) = chars.get(i) {
        i += 1;
        if !in_word {
            if ch.is_whitespace() {
                continue;
            }
            in_word = true;
            word_at = at;
        }
        match quote {
            None => {
                if ch.is_whitespace() {
                    if blank_ok || !word.is_empty() {
                        words.push((std::mem::take(&mut word), word_at));
                    }
                    word.clear();
                    blank_ok = false;
                    in_word = false;
                    continue;
                }
                if ch == '\'' || ch == '"' {
                    quote = Some(ch);
                    blank_ok = true;
                }
                if ch == escape {
                    match chars.get(i) {
                        // An escape at the very end is dropped.
                        None => continue,
                        Some(&(_, next)) => {
                            i += 1;
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
            Some(q) => {
                if ch == q {
                    quote = None;
                }
                // Inside double quotes the escape protects the next character (even the
                // closing quote); inside single quotes nothing is special.
                if ch == escape && q != '\'' {
                    match chars.get(i) {
                        None => {
                            quote = None;
                            continue;
                        }
                        Some(&(_, next)) => {
                            i += 1;
                            word.push(ch);
                            word.push(next);
                            continue;
                        }
                    }
                }
                word.push(ch);
            }
        }
    }
    if in_word && (blank_ok || !word.is_empty()) {
        words.push((word, word_at));
    }
    words
}

/// Go's `time.ParseDuration` (`1h30m`, `2.5s`, `300ms`, `-1s`, `0`): `Ok(None)` for a
/// negative duration.
fn parse_go_duration(s: &str) -> std::result::Result<Option<Duration>, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (negative, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Ok(Some(Duration::ZERO));
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let value: f64 = num.parse().map_err(|_| invalid())?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        total += value * nanos;
        rest = after;
    }
    if total > 9.2e18 {
        return Err(invalid());
    }
    if negative && total > 0.0 {
        return Ok(None);
    }
    // Whole nanoseconds, as Go keeps them; the float is below 2^63 here.
    Ok(Some(Duration::from_nanos(total as u64)))
}

/// Split the instructions into global ARGs and stages, and check the stage rules.
fn assemble(
    file: &str,
    directives: Directives,
    instructions: Vec<Instruction>,
    lines: Vec<String>,
) -> Result<Dockerfile> {
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    let Some(last_line) = instructions.last().map(|i| i.span.last_line) else {
        return Err(error(
            file,
            lines.len().max(1),
            1,
            "file with no instructions",
        ));
    };
    for inst in instructions {
        match (&inst.kind, stages.last_mut()) {
            (
                InstructionKind::From {
                    base,
                    name,
                    platform,
                },
                _,
            ) => {
                stages.push(Stage {
                    index: stages.len(),
                    name: name.clone(),
                    base: base.clone(),
                    base_ref: None,
                    platform: platform.clone(),
                    from: inst,
                    instructions: Vec::new(),
                });
            }
            (InstructionKind::Arg(_), None) => global_args.push(inst),
            (_, Some(stage)) => stage.instructions.push(inst),
            (_, None) => {
                let column = lines
                    .get(inst.span.first_line.saturating_sub(1))
                    .map_or(1, |l| {
                        l.chars().count() - l.trim_start().chars().count() + 1
                    });
                return Err(error(
                    file,
                    inst.span.first_line,
                    column,
                    format!(
                        "no build stage in current context: {} before the first FROM (only ARG may come before FROM)",
                        inst.keyword
                    ),
                ));
            }
        }
    }
    if stages.is_empty() {
        return Err(error(
            file,
            last_line,
            1,
            "no FROM instruction: the Dockerfile has no build stage",
        ));
    }
    let mut df = Dockerfile {
        file: file.to_string(),
        directives,
        global_args,
        stages,
        lines,
    };
    // Resolve each base with the ARG defaults; a base that needs build arguments stays
    // unresolved here.
    let globals = eval::global_scope(&df, &Default::default()).ok();
    for i in 0..df.stages.len() {
        let resolved = globals
            .as_ref()
            .and_then(|g| eval::resolve_base(&df, i, g).ok());
        if let Some(stage) = df.stages.get_mut(i) {
            stage.base_ref = resolved;
        }
    }
    check_stage_references(&df)?;
    Ok(df)
}

/// `COPY --from` and `RUN --mount=from=` must name an earlier stage when they name a stage
/// at all (BuildKit: "cannot copy from stage ..., it needs to be defined before current
/// stage"; an index past the end is "invalid stage index").
fn check_stage_references(df: &Dockerfile) -> Result<()> {
    for stage in &df.stages {
        for inst in &stage.instructions {
            // ONBUILD triggers run in another build, against that build's stages.
            let refs: Vec<&str> = match &inst.kind {
                InstructionKind::Copy(c) => c.from.as_deref().into_iter().collect(),
                InstructionKind::Run(r) => {
                    r.mounts.iter().filter_map(|m| m.from.as_deref()).collect()
                }
                _ => continue,
            };
            for r in refs.into_iter().filter(|r| !r.contains('$')) {
                let target = match r.parse::<i64>() {
                    Ok(n) => match usize::try_from(n).ok().filter(|&n| n < df.stages.len()) {
                        Some(n) => Some(n),
                        None => {
                            return Err(stage_ref_error(
                                df,
                                inst,
                                r,
                                format!("invalid stage index {n}"),
                            ));
                        }
                    },
                    Err(_) => df.stage_by_name_or_index(r).map(Stage::index),
                };
                if target.is_some_and(|t| t >= stage.index) {
                    let current = stage
                        .name
                        .clone()
                        .unwrap_or_else(|| format!("stage-{}", stage.index));
                    return Err(stage_ref_error(
                        df,
                        inst,
                        r,
                        format!(
                            "cannot copy from stage {r:?}, it needs to be defined before current stage {current:?}"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn stage_ref_error(df: &Dockerfile, inst: &Instruction, reference: &str, reason: String) -> Error {
    // Point at the reference on the first line that mentions it.
    let (line, column) = (inst.span.first_line..=inst.span.last_line)
        .find_map(|n| {
            let text = df.lines.get(n.saturating_sub(1))?;
            let at = text.find(&format!("from={reference}"))?;
            Some((n, text.get(..at).map_or(0, |s| s.chars().count()) + 6))
        })
        .unwrap_or((inst.span.first_line, 1));
    error(&df.file, line, column, reason)
}
