//! Dockerfile model: parser with directives, continuations, heredocs, expansion,
//! stages.
//!
//! [`Dockerfile::parse`] follows BuildKit's Dockerfile frontend (`frontend/dockerfile/parser`,
//! `instructions` and the argument handling of `dockerfile2llb`) and the Dockerfile reference:
//!
//! - parser directives (`syntax`, `escape`, `check`) at the top of the file;
//! - line continuations with either escape character, comment lines and empty lines inside
//!   them, `#` comments only at the start of a line;
//! - heredocs on `RUN`, `COPY` and `ADD` (also behind `ONBUILD`);
//! - exec (JSON) and shell forms, with BuildKit's fallback to the shell form on invalid JSON;
//! - every instruction and its flags, checked as BuildKit checks them;
//! - stages (named, by index) and the global `ARG`s before the first `FROM`.
//!
//! Text is kept as written: words still carry their quotes and `$variables`. What a build
//! would see is computed by [`Dockerfile::evaluate`], which applies the `ARG`/`ENV` scoping
//! rules and [`expand`] (BuildKit's variable substitution) for a set of build arguments.
//!
//! ```
//! # use layerscope_core::{BaseRef, Dockerfile, InstructionKind};
//! # use std::collections::BTreeMap;
//! let df = Dockerfile::parse("ARG V=1.2\nFROM alpine:$V AS base\nCOPY --chown=app a.txt /srv/\n")?;
//! let stage = df.target_stage();
//! assert_eq!(stage.base_ref(), Some(&BaseRef::Image("alpine:1.2".into())));
//! let InstructionKind::Copy(copy) = &stage.instructions()[0].kind else { unreachable!() };
//! assert_eq!(copy.chown.as_deref(), Some("app"));
//! let eval = df.evaluate(0, &BTreeMap::from([("V".to_string(), "3.20".to_string())]))?;
//! assert_eq!(eval.base, BaseRef::Image("alpine:3.20".into()));
//! # Ok::<(), layerscope_core::Error>(())
//! ```

mod eval;
mod lex;
mod mount;
mod parse;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::Result;

pub(crate) use eval::Evaluator;
pub use eval::{EvaluatedInstruction, StageEvaluation};
#[cfg(test)]
pub(crate) use lex::{expand, expand_with_escape};

/// A parsed Dockerfile: directives, global `ARG`s and build stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dockerfile {
    file: String,
    directives: Directives,
    global_args: Vec<Instruction>,
    stages: Vec<Stage>,
    lines: Vec<String>,
}

impl Dockerfile {
    /// Parse Dockerfile text; errors name the file `<memory>`.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Dockerfile`] with the line and column of the first problem: unknown
    /// instruction, bad flag, unterminated heredoc, malformed substitution, an instruction
    /// other than `ARG` before the first `FROM`, no `FROM` at all, and the other checks
    /// BuildKit makes while parsing.
    pub fn parse(text: &str) -> Result<Dockerfile> {
        Self::parse_named(text, "<memory>")
    }

    /// Parse Dockerfile text read from `file_name`, which errors and spans then name.
    ///
    /// # Errors
    ///
    /// As for [`Dockerfile::parse`].
    pub fn parse_named(text: &str, file_name: &str) -> Result<Dockerfile> {
        parse::parse(text, file_name)
    }

    /// The file name given to [`Dockerfile::parse_named`] (`<memory>` otherwise).
    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The parser directives at the top of the file.
    pub fn directives(&self) -> &Directives {
        &self.directives
    }

    /// The `ARG` instructions before the first `FROM` (usable in `FROM` lines only, unless a
    /// stage redeclares them).
    pub fn global_args(&self) -> &[Instruction] {
        &self.global_args
    }

    /// The build stages in file order; `stages()[i].index() == i`.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The stage a `COPY --from` or `--target` value names: a stage index (`"0"`) or a stage
    /// name, compared case-insensitively; the later of two stages with one name wins, as in
    /// BuildKit.
    pub fn stage_by_name_or_index(&self, reference: &str) -> Option<&Stage> {
        if let Ok(index) = reference.parse::<i64>() {
            return usize::try_from(index).ok().and_then(|i| self.stages.get(i));
        }
        let wanted = reference.to_lowercase();
        self.stages
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(wanted.as_str()))
    }

    /// The stage built when no target is given: the last one.
    pub fn target_stage(&self) -> &Stage {
        // parse() refuses files without FROM, so there is always a last stage.
        match self.stages.last() {
            Some(stage) => stage,
            None => unreachable!("a parsed Dockerfile has at least one stage"),
        }
    }

    /// Every instruction in file order: global `ARG`s, each `FROM`, and stage instructions.
    pub fn instructions(&self) -> impl Iterator<Item = &Instruction> {
        self.global_args.iter().chain(
            self.stages
                .iter()
                .flat_map(|s| std::iter::once(&s.from).chain(s.instructions.iter())),
        )
    }

    /// The physical lines of the file as read (without line terminators; a UTF-8 byte-order
    /// mark removed); line `n` (1-based) is `lines()[n - 1]`.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// The source text of a span: its lines joined with `\n`.
    pub fn snippet(&self, span: &Span) -> String {
        let first = span.first_line.saturating_sub(1);
        let count = span.last_line.saturating_sub(first);
        self.lines
            .iter()
            .skip(first)
            .take(count)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Evaluate stage `stage` as a build with these `--build-arg` values would: global
    /// `ARG`s, the base, and for each instruction the expanded words and the `ARG`s in scope.
    ///
    /// # Errors
    ///
    /// [`crate::Error::Dockerfile`] when `stage` does not exist or an expansion fails (for
    /// example `${VAR:?message}` with `VAR` unset, or a blank base image name).
    pub fn evaluate(
        &self,
        stage: usize,
        build_args: &BTreeMap<String, String>,
    ) -> Result<StageEvaluation> {
        eval::evaluate(self, stage, build_args)
    }

    /// An evaluator for many stages under one set of build arguments: each stage's
    /// instructions run once, however many stages build on it.
    pub(crate) fn evaluator<'a>(
        &'a self,
        build_args: &'a BTreeMap<String, String>,
    ) -> Result<Evaluator<'a>> {
        Evaluator::new(self, build_args)
    }
}

/// The parser directives (`# syntax=`, `# escape=`, `# check=`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Directives {
    /// `# syntax=` value, e.g. `docker/dockerfile:1`.
    pub syntax: Option<String>,
    /// The escape and line-continuation character: `\` (default) or `` ` ``.
    pub escape: char,
    /// `# check=` value, parsed.
    pub check: Option<CheckDirective>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            syntax: None,
            escape: '\\',
            check: None,
        }
    }
}

/// `# check=skip=<Name,...|all>;error=<bool>;experimental=<Name,...|all>` (Dockerfile 1.8;
/// `experimental=` since 1.9), read as BuildKit's `linter.ParseLintOptions`
/// (`frontend/dockerfile/linter/linter.go`): at most three `;`-separated parts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CheckDirective {
    /// Check names listed in `skip=`.
    pub skip: Vec<String>,
    /// `skip=all`.
    pub skip_all: bool,
    /// `error=true`: warnings fail the build.
    pub error: bool,
    /// Experimental check names enabled by `experimental=`.
    pub experimental: Vec<String>,
    /// `experimental=all`.
    pub experimental_all: bool,
}

/// Where an instruction is: the file and its first and last line (1-based, inclusive;
/// continuation and heredoc lines included).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Span {
    /// The Dockerfile name.
    pub file: String,
    /// First line, 1-based.
    pub first_line: usize,
    /// Last line, 1-based, `>= first_line`.
    pub last_line: usize,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first_line == self.last_line {
            write!(f, "{}:{}", self.file, self.first_line)
        } else {
            write!(f, "{}:{}-{}", self.file, self.first_line, self.last_line)
        }
    }
}

/// A build stage: a `FROM` line and the instructions up to the next `FROM`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stage {
    index: usize,
    name: Option<String>,
    base: String,
    base_ref: Option<BaseRef>,
    platform: Option<String>,
    from: Instruction,
    instructions: Vec<Instruction>,
}

impl Stage {
    /// Position among the stages, 0-based (what `COPY --from=0` refers to).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The `AS` name, lowercased as BuildKit does.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The base as written (`node:${V}`, `scratch`, a stage name).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The base resolved with the global `ARG` defaults: an earlier stage, `scratch` or an
    /// image. `None` when it cannot be resolved without build arguments (for example
    /// `FROM ${BASE:?}`); [`Dockerfile::evaluate`] resolves it for given build arguments.
    pub fn base_ref(&self) -> Option<&BaseRef> {
        self.base_ref.as_ref()
    }

    /// The `--platform` flag as written.
    pub fn platform(&self) -> Option<&str> {
        self.platform.as_deref()
    }

    /// The span of the `FROM` instruction.
    pub fn span(&self) -> &Span {
        &self.from.span
    }

    /// The `FROM` instruction itself.
    pub fn from_instruction(&self) -> &Instruction {
        &self.from
    }

    /// The instructions after `FROM`, in order.
    pub fn instructions(&self) -> &[Instruction] {
        &self.instructions
    }
}

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum BaseRef {
    /// `FROM scratch`: the empty filesystem.
    Scratch,
    /// An earlier stage of the same Dockerfile, by index.
    Stage(usize),
    /// An image reference, after `ARG` expansion.
    Image(String),
}

/// One instruction (a logical line, plus its heredoc bodies).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instruction {
    /// Where it is in the file.
    pub span: Span,
    /// The instruction keyword.
    pub keyword: Keyword,
    /// The logical line: continuation lines joined (escape characters and comment lines
    /// removed), trimmed; heredoc bodies are not included.
    pub original: String,
    /// The parsed arguments.
    pub kind: InstructionKind,
}

/// Instruction keywords (case-insensitive in the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Keyword {
    /// `FROM`
    From,
    /// `RUN`
    Run,
    /// `CMD`
    Cmd,
    /// `LABEL`
    Label,
    /// `MAINTAINER` (deprecated)
    Maintainer,
    /// `EXPOSE`
    Expose,
    /// `ENV`
    Env,
    /// `ADD`
    Add,
    /// `COPY`
    Copy,
    /// `ENTRYPOINT`
    Entrypoint,
    /// `VOLUME`
    Volume,
    /// `USER`
    User,
    /// `WORKDIR`
    Workdir,
    /// `ARG`
    Arg,
    /// `ONBUILD`
    Onbuild,
    /// `STOPSIGNAL`
    Stopsignal,
    /// `HEALTHCHECK`
    Healthcheck,
    /// `SHELL`
    Shell,
}

impl Keyword {
    /// All keywords.
    pub const ALL: [Keyword; 18] = [
        Keyword::From,
        Keyword::Run,
        Keyword::Cmd,
        Keyword::Label,
        Keyword::Maintainer,
        Keyword::Expose,
        Keyword::Env,
        Keyword::Add,
        Keyword::Copy,
        Keyword::Entrypoint,
        Keyword::Volume,
        Keyword::User,
        Keyword::Workdir,
        Keyword::Arg,
        Keyword::Onbuild,
        Keyword::Stopsignal,
        Keyword::Healthcheck,
        Keyword::Shell,
    ];

    /// The keyword in upper case, as conventionally written.
    pub fn as_str(self) -> &'static str {
        match self {
            Keyword::From => "FROM",
            Keyword::Run => "RUN",
            Keyword::Cmd => "CMD",
            Keyword::Label => "LABEL",
            Keyword::Maintainer => "MAINTAINER",
            Keyword::Expose => "EXPOSE",
            Keyword::Env => "ENV",
            Keyword::Add => "ADD",
            Keyword::Copy => "COPY",
            Keyword::Entrypoint => "ENTRYPOINT",
            Keyword::Volume => "VOLUME",
            Keyword::User => "USER",
            Keyword::Workdir => "WORKDIR",
            Keyword::Arg => "ARG",
            Keyword::Onbuild => "ONBUILD",
            Keyword::Stopsignal => "STOPSIGNAL",
            Keyword::Healthcheck => "HEALTHCHECK",
            Keyword::Shell => "SHELL",
        }
    }

    /// The keyword for a word, ignoring case; `None` for anything else.
    pub fn from_word(word: &str) -> Option<Keyword> {
        Keyword::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
    }
}

impl fmt::Display for Keyword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parsed arguments of an instruction. Words are as written (quotes and `$variables`
/// kept) except in [`EvaluatedInstruction::kind`], where they are expanded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum InstructionKind {
    /// `FROM [--platform=p] base [AS name]`.
    From {
        /// The base as written.
        base: String,
        /// The `AS` name, lowercased.
        name: Option<String>,
        /// `--platform` as written.
        platform: Option<String>,
    },
    /// `RUN`.
    Run(RunArgs),
    /// `CMD`.
    Cmd(CommandForm),
    /// `LABEL k=v ...` (or legacy `LABEL k v`).
    Label(Vec<(String, String)>),
    /// `MAINTAINER text`.
    Maintainer(String),
    /// `EXPOSE port[/proto] ...`.
    Expose(Vec<String>),
    /// `ENV k=v ...` (or legacy `ENV k v`).
    Env(Vec<(String, String)>),
    /// `ADD`.
    Add(CopyArgs),
    /// `COPY`.
    Copy(CopyArgs),
    /// `ENTRYPOINT`.
    Entrypoint(CommandForm),
    /// `VOLUME path ...` or `VOLUME ["path", ...]`.
    Volume(Vec<String>),
    /// `USER user[:group]`.
    User(String),
    /// `WORKDIR path`.
    Workdir(String),
    /// `ARG name[=default] ...`.
    Arg(Vec<(String, Option<String>)>),
    /// `ONBUILD <instruction>`: the trigger, stored for images built from this one.
    Onbuild(Box<Instruction>),
    /// `STOPSIGNAL signal`.
    StopSignal(String),
    /// `HEALTHCHECK`.
    Healthcheck(Healthcheck),
    /// `SHELL ["executable", "arg", ...]`.
    Shell(Vec<String>),
}

impl InstructionKind {
    /// The keyword of this kind of instruction.
    pub fn keyword(&self) -> Keyword {
        match self {
            InstructionKind::From { .. } => Keyword::From,
            InstructionKind::Run(_) => Keyword::Run,
            InstructionKind::Cmd(_) => Keyword::Cmd,
            InstructionKind::Label(_) => Keyword::Label,
            InstructionKind::Maintainer(_) => Keyword::Maintainer,
            InstructionKind::Expose(_) => Keyword::Expose,
            InstructionKind::Env(_) => Keyword::Env,
            InstructionKind::Add(_) => Keyword::Add,
            InstructionKind::Copy(_) => Keyword::Copy,
            InstructionKind::Entrypoint(_) => Keyword::Entrypoint,
            InstructionKind::Volume(_) => Keyword::Volume,
            InstructionKind::User(_) => Keyword::User,
            InstructionKind::Workdir(_) => Keyword::Workdir,
            InstructionKind::Arg(_) => Keyword::Arg,
            InstructionKind::Onbuild(_) => Keyword::Onbuild,
            InstructionKind::StopSignal(_) => Keyword::Stopsignal,
            InstructionKind::Healthcheck(_) => Keyword::Healthcheck,
            InstructionKind::Shell(_) => Keyword::Shell,
        }
    }
}

/// Shell form (run by the `SHELL`, default `/bin/sh -c`) or exec form (a JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CommandForm {
    /// The command text, as written after the flags (heredoc markers included).
    Shell(String),
    /// The argv of the JSON form.
    Exec(Vec<String>),
}

/// `RUN [--mount=...] [--network=...] [--security=...] command`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunArgs {
    /// The command.
    pub form: CommandForm,
    /// `--mount` flags, in order.
    pub mounts: Vec<Mount>,
    /// `--network=default|none|host`.
    pub network: Option<String>,
    /// `--security=sandbox|insecure`.
    pub security: Option<String>,
    /// `--device` flags (Dockerfile labs), as written.
    pub devices: Vec<String>,
    /// Heredoc bodies, in the order of their markers.
    pub heredocs: Vec<Heredoc>,
}

/// A heredoc (`<<EOF` ... `EOF`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Heredoc {
    /// The delimiter word, quotes removed.
    pub name: String,
    /// The delimiter was (partly) quoted: the body is not expanded.
    pub quoted: bool,
    /// `<<-`: leading tabs are removed from the body lines and the terminator.
    pub strip_tabs: bool,
    /// File descriptor prefix (`2<<EOF`), 0 when absent.
    pub fd: u32,
    /// The body, each line with its line terminator; leading tabs already removed when
    /// `strip_tabs`.
    pub body: String,
}

/// The arguments of `COPY` and `ADD`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct CopyArgs {
    /// Source paths, URLs or patterns (heredoc sources are in `heredocs`).
    pub sources: Vec<String>,
    /// Destination path.
    pub dest: String,
    /// `--from=<stage name|index|image>` (COPY only).
    pub from: Option<String>,
    /// `--chown=user[:group]`.
    pub chown: Option<String>,
    /// `--chmod=mode`.
    pub chmod: Option<String>,
    /// `--link[=bool]`.
    pub link: bool,
    /// `--parents[=bool]` (COPY only).
    pub parents: bool,
    /// `--exclude=pattern`, repeatable.
    pub excludes: Vec<String>,
    /// `--checksum=<digest>` (ADD only).
    pub checksum: Option<String>,
    /// `--keep-git-dir[=bool]` (ADD only).
    pub keep_git_dir: bool,
    /// `--unpack[=bool]` (ADD only), `None` when not given.
    pub unpack: Option<bool>,
    /// Written in the JSON array form (`COPY ["a b", "/dst/"]`).
    pub json: bool,
    /// Inline file sources (`COPY <<EOF /dst`), in the order of their markers.
    pub heredocs: Vec<Heredoc>,
}

/// One `RUN --mount=...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// `type=` (default `bind`).
    pub mount_type: MountType,
    /// `target=`, `dst=` or `destination=`.
    pub target: Option<String>,
    /// `source=` or `src=`.
    pub source: Option<String>,
    /// `from=`: a stage or image to mount from.
    pub from: Option<String>,
    /// `id=` (cache and secret mounts).
    pub id: Option<String>,
    /// `sharing=shared|private|locked` (cache mounts).
    pub sharing: Option<String>,
    /// Effective read-only flag: `ro`/`rw` if given, else true for bind, secret and ssh.
    pub readonly: bool,
    /// `required` (secret and ssh mounts).
    pub required: bool,
    /// `mode=` (octal).
    pub mode: Option<u32>,
    /// `uid=`.
    pub uid: Option<u32>,
    /// `gid=`.
    pub gid: Option<u32>,
    /// `size=` (tmpfs).
    pub size: Option<String>,
    /// `env=` (secret mounts exposed as an environment variable).
    pub env: Option<String>,
    /// Every field as written, keys lowercased, in order (`readonly` alone has no value).
    pub options: Vec<(String, Option<String>)>,
    /// The flag value as written.
    pub spec: String,
}

/// `RUN --mount` types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountType {
    /// Read-only view of the context or another stage (default).
    Bind,
    /// Persistent cache directory.
    Cache,
    /// Temporary filesystem.
    Tmpfs,
    /// Build secret.
    Secret,
    /// SSH agent socket.
    Ssh,
}

impl MountType {
    /// The type as written in `type=`.
    pub fn as_str(self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// `HEALTHCHECK NONE` or `HEALTHCHECK [options] CMD command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Healthcheck {
    /// `HEALTHCHECK NONE`: disable any inherited check.
    None,
    /// `HEALTHCHECK [options] CMD ...`.
    Cmd {
        /// The probe command.
        form: CommandForm,
        /// `--interval`.
        interval: Option<Duration>,
        /// `--timeout`.
        timeout: Option<Duration>,
        /// `--start-period`.
        start_period: Option<Duration>,
        /// `--start-interval`.
        start_interval: Option<Duration>,
        /// `--retries`.
        retries: Option<u32>,
    },
}

#[cfg(test)]
mod tests;
