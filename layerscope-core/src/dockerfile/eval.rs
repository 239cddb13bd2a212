//! What a build sees: `ARG`/`ENV` scoping and variable expansion per stage, as BuildKit's
//! `dockerfile2llb` dispatches instructions (`frontend/dockerfile/dockerfile2llb/convert.go`;
//! the Dockerfile reference, "Understand how ARG and FROM interact" and "Environment
//! replacement").
//!
//! - Global `ARG`s (before the first `FROM`) are visible in `FROM` lines only; a stage sees
//!   one after redeclaring it with `ARG NAME`.
//! - An `ARG` is in scope from its declaration; its value is the build argument if given,
//!   else its default (expanded with the environment at that point), else the global one.
//! - `ARG` and `ENV` values share one environment, later writes winning, so `ENV` after an
//!   `ARG` of the same name overrides it (BuildKit, unlike the classic builder, also lets a
//!   later `ARG` override an earlier `ENV`).
//! - A stage built on another stage starts with that stage's environment and `ARG`s.
//! - Words are expanded with the environment as of the start of the instruction, so in
//!   `ENV a=bye b=$a`, `b` sees the previous `a`. (`ARG a=1 b=$a` does see the new `a`:
//!   BuildKit dispatches `ARG` declarations one at a time.)

use std::collections::BTreeMap;

use serde::Serialize;

use super::lex::Lexer;
use super::parse::heredoc_lexer;
use super::{BaseRef, CopyArgs, Dockerfile, Instruction, InstructionKind, RunArgs, Span, mount};
use crate::{Error, Result};

/// The automatic platform `ARG`s: usable in `FROM` without declaration. Their values depend
/// on the build platform, so here they are set only when passed as build arguments.
const PLATFORM_ARGS: [&str; 8] = [
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
];

/// One stage as a build with given build arguments would see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageEvaluation {
    /// The stage index.
    pub stage: usize,
    /// The base after expanding the global `ARG`s.
    pub base: BaseRef,
    /// `--platform` after expansion.
    pub platform: Option<String>,
    /// The global `ARG`s with their effective values (`None`: declared without a value).
    pub global_args: Vec<(String, Option<String>)>,
    /// The stage's instructions, in order.
    pub steps: Vec<EvaluatedInstruction>,
}

/// One instruction with its words expanded and the state it runs in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluatedInstruction {
    /// Position in [`super::Stage::instructions`].
    pub index: usize,
    /// Where the instruction is.
    pub span: Span,
    /// The instruction with expanded words: `ENV`, `LABEL`, `ARG` values, `COPY`/`ADD`
    /// sources, destination and flags (and unquoted heredoc bodies), `WORKDIR`, `USER`,
    /// `VOLUME`, `EXPOSE` (split into words, sorted as BuildKit sorts them), `STOPSIGNAL`,
    /// `RUN --mount` values. Shell and exec commands, `ONBUILD` and `HEALTHCHECK` are left
    /// as written (the shell expands them at run time).
    pub kind: InstructionKind,
    /// `ARG`s in scope when the instruction starts, in declaration order, with the value a
    /// `RUN` would see (an `ENV` of the same name wins; `None`: declared without a value).
    /// They are part of a `RUN`'s cache key, so a changed build argument invalidates the
    /// first `RUN` that has it here. Those inherited from a parent stage come first: they
    /// reach `RUN` through the environment, though BuildKit's `|N K=V` history prefix lists
    /// only the stage's own declarations.
    pub args: Vec<(String, Option<String>)>,
    /// The environment when the instruction starts: `ENV` values and `ARG` values, in
    /// order of first definition. Variables of a base image are not known here.
    pub env: Vec<(String, String)>,
    /// The working directory when the instruction starts (`/` unless set by `WORKDIR` in
    /// this stage or a parent stage; a base image's own `WORKDIR` is not known).
    pub workdir: String,
    /// The user when the instruction starts, if set by `USER`.
    pub user: Option<String>,
    /// The shell for shell-form commands (`SHELL`, default `/bin/sh -c`).
    pub shell: Vec<String>,
}

/// Values of the global `ARG`s for one set of build arguments.
pub(super) struct GlobalScope {
    args: Vec<(String, Option<String>)>,
    /// What `FROM` lines see: declared globals (unset ones as empty) and platform args.
    env: BTreeMap<String, String>,
}

pub(super) fn global_scope(
    df: &Dockerfile,
    build_args: &BTreeMap<String, String>,
) -> Result<GlobalScope> {
    let lexer = Lexer::new(df.directives.escape);
    let mut env: BTreeMap<String, String> = PLATFORM_ARGS
        .iter()
        .filter_map(|k| build_args.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let mut args = Vec::new();
    for inst in &df.global_args {
        let InstructionKind::Arg(decls) = &inst.kind else {
            continue;
        };
        for (name, default) in decls {
            let value = match (build_args.get(name), default) {
                (Some(v), _) => Some(v.clone()),
                (None, Some(d)) => Some(
                    lexer
                        .word(d, &|k| env.get(k).cloned())
                        .map_err(|e| eval_error(df, inst, d, &e))?,
                ),
                (None, None) => None,
            };
            env.insert(name.clone(), value.clone().unwrap_or_default());
            args.push((name.clone(), value));
        }
    }
    Ok(GlobalScope { args, env })
}

/// The base of stage `index`, with the global `ARG` values of `globals`.
pub(super) fn resolve_base(
    df: &Dockerfile,
    index: usize,
    globals: &GlobalScope,
) -> Result<BaseRef> {
    let Some(stage) = df.stages.get(index) else {
        return Err(no_stage(df, index));
    };
    let base = Lexer::new(df.directives.escape)
        .word(&stage.base, &|k| globals.env.get(k).cloned())
        .map_err(|e| eval_error(df, &stage.from, &stage.base, &e))?;
    if base.is_empty() {
        return Err(instruction_error(
            df,
            &stage.from,
            format!("base name ({}) should not be blank", stage.base),
        ));
    }
    // A name refers to a stage defined earlier (the last one of that name), as BuildKit
    // registers stages in order; otherwise it is an image.
    let earlier = df.stages.get(..index).unwrap_or_default();
    Ok(
        match earlier
            .iter()
            .rposition(|s| s.name.as_deref() == Some(base.as_str()))
        {
            Some(i) => BaseRef::Stage(i),
            None if base == "scratch" => BaseRef::Scratch,
            None => BaseRef::Image(base),
        },
    )
}

/// The `--platform` of stage `index`, expanded with the global `ARG` values.
fn resolve_platform(
    df: &Dockerfile,
    index: usize,
    globals: &GlobalScope,
) -> Result<Option<String>> {
    let Some(stage) = df.stages.get(index) else {
        return Err(no_stage(df, index));
    };
    let Some(p) = &stage.platform else {
        return Ok(None);
    };
    let v = Lexer::new(df.directives.escape)
        .word(p, &|k| globals.env.get(k).cloned())
        .map_err(|e| eval_error(df, &stage.from, p, &e))?;
    if v.is_empty() {
        return Err(instruction_error(
            df,
            &stage.from,
            format!("empty platform value from expression {p}"),
        ));
    }
    Ok(Some(v))
}

/// The state a stage carries from one instruction to the next (and to child stages).
#[derive(Debug, Clone)]
struct State {
    env: Vec<(String, String)>,
    args: Vec<(String, Option<String>)>,
    workdir: String,
    user: Option<String>,
    shell: Vec<String>,
}

impl Default for State {
    fn default() -> Self {
        State {
            env: Vec::new(),
            args: Vec::new(),
            workdir: "/".to_string(),
            user: None,
            shell: vec!["/bin/sh".to_string(), "-c".to_string()],
        }
    }
}

impl State {
    fn get(&self, name: &str) -> Option<String> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn set(&mut self, name: &str, value: String) {
        match self.env.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = value,
            None => self.env.push((name.to_string(), value)),
        }
    }

    fn effective_args(&self) -> Vec<(String, Option<String>)> {
        self.args
            .iter()
            .map(|(k, v)| (k.clone(), self.get(k).or_else(|| v.clone())))
            .collect()
    }
}

pub(super) fn evaluate(
    df: &Dockerfile,
    stage: usize,
    build_args: &BTreeMap<String, String>,
) -> Result<StageEvaluation> {
    if df.stages.get(stage).is_none() {
        return Err(no_stage(df, stage));
    }
    Evaluator::new(df, build_args)?.evaluate(stage)
}

/// Evaluates the stages of one Dockerfile under one set of build arguments, running each
/// stage's instructions once: a stage built on another (`FROM <stage>`) starts from the end
/// state of that stage, which is kept here. Evaluating every stage of a chain of n stages is
/// so linear in the file's length, where evaluating each stage from the root of its chain
/// would be quadratic.
pub(crate) struct Evaluator<'a> {
    df: &'a Dockerfile,
    build_args: &'a BTreeMap<String, String>,
    globals: GlobalScope,
    /// The resolved base of each stage, once asked for.
    bases: Vec<Option<BaseRef>>,
    /// The state after the last instruction of each stage, once run.
    ends: Vec<Option<State>>,
}

impl<'a> Evaluator<'a> {
    /// # Errors
    /// A global `ARG` default cannot be expanded.
    pub(crate) fn new(
        df: &'a Dockerfile,
        build_args: &'a BTreeMap<String, String>,
    ) -> Result<Evaluator<'a>> {
        Ok(Evaluator {
            df,
            build_args,
            globals: global_scope(df, build_args)?,
            bases: vec![None; df.stages.len()],
            ends: vec![None; df.stages.len()],
        })
    }

    /// The base of stage `index` (a stage is always an earlier one, so chains end).
    pub(crate) fn base(&mut self, index: usize) -> Result<BaseRef> {
        if let Some(Some(b)) = self.bases.get(index) {
            return Ok(b.clone());
        }
        let base = resolve_base(self.df, index, &self.globals)?;
        if let Some(slot) = self.bases.get_mut(index) {
            *slot = Some(base.clone());
        }
        Ok(base)
    }

    /// The state a stage built on `stage` starts with: `stage`'s end state, running the
    /// stages of its chain that have not run yet, root first.
    fn end_state(&mut self, stage: usize) -> Result<State> {
        let mut todo = Vec::new();
        let mut cur = stage;
        let mut start = loop {
            if let Some(Some(end)) = self.ends.get(cur) {
                break end.clone();
            }
            todo.push(cur);
            match self.base(cur)? {
                BaseRef::Stage(parent) => cur = parent,
                _ => break State::default(),
            }
        };
        for &index in todo.iter().rev() {
            self.run_stage(index, &mut start, None)?;
            if let Some(slot) = self.ends.get_mut(index) {
                *slot = Some(start.clone());
            }
        }
        Ok(start)
    }

    /// Run the instructions of stage `index` on `state`, recording them in `steps` if given.
    fn run_stage(
        &self,
        index: usize,
        state: &mut State,
        mut steps: Option<&mut Vec<EvaluatedInstruction>>,
    ) -> Result<()> {
        let df = self.df;
        let Some(s) = df.stages.get(index) else {
            return Err(no_stage(df, index));
        };
        for (i, inst) in s.instructions.iter().enumerate() {
            let step = Step {
                df,
                inst,
                globals: &self.globals,
                build_args: self.build_args,
            };
            let Some(steps) = steps.as_deref_mut() else {
                step.run(state)?;
                continue;
            };
            let before = state.clone();
            let kind = step.run(state)?;
            steps.push(EvaluatedInstruction {
                index: i,
                span: inst.span.clone(),
                kind,
                args: before.effective_args(),
                env: before.env,
                workdir: before.workdir,
                user: before.user,
                shell: before.shell,
            });
        }
        Ok(())
    }

    /// What [`Dockerfile::evaluate`] returns for `stage`.
    ///
    /// # Errors
    /// As [`Dockerfile::evaluate`].
    pub(crate) fn evaluate(&mut self, stage: usize) -> Result<StageEvaluation> {
        if self.df.stages.get(stage).is_none() {
            return Err(no_stage(self.df, stage));
        }
        let base = self.base(stage)?;
        let platform = resolve_platform(self.df, stage, &self.globals)?;
        let mut state = match &base {
            BaseRef::Stage(parent) => self.end_state(*parent)?,
            _ => State::default(),
        };
        let mut steps = Vec::new();
        self.run_stage(stage, &mut state, Some(&mut steps))?;
        if let Some(slot) = self.ends.get_mut(stage) {
            *slot = Some(state);
        }
        Ok(StageEvaluation {
            stage,
            base,
            platform,
            global_args: self.globals.args.clone(),
            steps,
        })
    }
}

struct Step<'a> {
    df: &'a Dockerfile,
    inst: &'a Instruction,
    globals: &'a GlobalScope,
    build_args: &'a BTreeMap<String, String>,
}

impl Step<'_> {
    fn expand(&self, state: &State, word: &str) -> Result<String> {
        Lexer::new(self.df.directives.escape)
            .word(word, &|k| state.get(k))
            .map_err(|e| eval_error(self.df, self.inst, word, &e))
    }

    fn expand_opt(&self, state: &State, word: &Option<String>) -> Result<Option<String>> {
        word.as_ref().map(|w| self.expand(state, w)).transpose()
    }

    /// Expand the instruction's words with the state at its start, then apply it.
    fn run(&self, state: &mut State) -> Result<InstructionKind> {
        Ok(match &self.inst.kind {
            InstructionKind::Arg(decls) => {
                let mut out = Vec::new();
                for (name, default) in decls {
                    let value = self.arg_value(state, name, default.as_ref())?;
                    if let Some(v) = &value {
                        state.set(name, v.clone());
                    }
                    match state.args.iter_mut().find(|(k, _)| k == name) {
                        Some(slot) => slot.1 = value.clone(),
                        None => state.args.push((name.clone(), value.clone())),
                    }
                    out.push((name.clone(), value));
                }
                InstructionKind::Arg(out)
            }
            InstructionKind::Env(pairs) => {
                let mut out = Vec::new();
                for (k, v) in pairs {
                    out.push((self.expand(state, k)?, self.expand(state, v)?));
                }
                for (k, v) in &out {
                    state.set(k, v.clone());
                }
                InstructionKind::Env(out)
            }
            InstructionKind::Label(pairs) => {
                let mut out = Vec::new();
                for (k, v) in pairs {
                    out.push((self.expand(state, k)?, self.expand(state, v)?));
                }
                InstructionKind::Label(out)
            }
            InstructionKind::Workdir(path) => {
                let expanded = self.expand(state, path)?;
                if expanded.is_empty() {
                    return Err(instruction_error(
                        self.df,
                        self.inst,
                        format!("WORKDIR {path}: cannot normalize nothing"),
                    ));
                }
                state.workdir = if expanded.starts_with('/') {
                    clean_path(&expanded)
                } else {
                    clean_path(&format!("{}/{}", state.workdir, expanded))
                };
                InstructionKind::Workdir(expanded)
            }
            InstructionKind::User(user) => {
                let expanded = self.expand(state, user)?;
                state.user = Some(expanded.clone());
                InstructionKind::User(expanded)
            }
            InstructionKind::Shell(shell) => {
                state.shell = shell.clone();
                InstructionKind::Shell(shell.clone())
            }
            InstructionKind::Volume(paths) => InstructionKind::Volume(
                paths
                    .iter()
                    .map(|p| self.expand(state, p))
                    .collect::<Result<_>>()?,
            ),
            InstructionKind::StopSignal(s) => InstructionKind::StopSignal(self.expand(state, s)?),
            InstructionKind::Expose(ports) => {
                let mut sorted = ports.clone();
                sorted.sort();
                let lexer = Lexer::new(self.df.directives.escape);
                let mut out = Vec::new();
                for p in &sorted {
                    out.extend(
                        lexer
                            .words(p, &|k| state.get(k))
                            .map_err(|e| eval_error(self.df, self.inst, p, &e))?,
                    );
                }
                InstructionKind::Expose(out)
            }
            InstructionKind::Copy(c) => InstructionKind::Copy(self.copy_args(state, c)?),
            InstructionKind::Add(c) => InstructionKind::Add(self.copy_args(state, c)?),
            InstructionKind::Run(run) => {
                let expand = |w: &str| -> std::result::Result<String, String> {
                    Lexer::new(self.df.directives.escape).word(w, &|k| state.get(k))
                };
                let mut mounts = Vec::new();
                for m in &run.mounts {
                    mounts.push(mount::parse(&m.spec, Some(&expand)).map_err(|e| {
                        instruction_error(
                            self.df,
                            self.inst,
                            format!("invalid --mount={}: {e}", m.spec),
                        )
                    })?);
                }
                InstructionKind::Run(RunArgs {
                    mounts,
                    ..run.clone()
                })
            }
            other => other.clone(),
        })
    }

    /// BuildKit's `dispatchArg`: a build argument wins, then the default (expanded now),
    /// then the global value of a redeclared global `ARG`.
    fn arg_value(
        &self,
        state: &State,
        name: &str,
        default: Option<&String>,
    ) -> Result<Option<String>> {
        if let Some(v) = self.build_args.get(name) {
            return Ok(Some(v.clone()));
        }
        match default {
            Some(d) => self.expand(state, d).map(Some),
            None => Ok(self
                .globals
                .args
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone())),
        }
    }

    fn copy_args(&self, state: &State, c: &CopyArgs) -> Result<CopyArgs> {
        let mut heredocs = c.heredocs.clone();
        for h in heredocs.iter_mut().filter(|h| !h.quoted) {
            h.body = heredoc_lexer()
                .word(&h.body, &|k| state.get(k))
                .map_err(|e| eval_error(self.df, self.inst, &h.name, &e))?;
        }
        Ok(CopyArgs {
            sources: c
                .sources
                .iter()
                .map(|s| self.expand(state, s))
                .collect::<Result<_>>()?,
            dest: self.expand(state, &c.dest)?,
            from: self.expand_opt(state, &c.from)?,
            chown: self.expand_opt(state, &c.chown)?,
            chmod: self.expand_opt(state, &c.chmod)?,
            excludes: c
                .excludes
                .iter()
                .map(|s| self.expand(state, s))
                .collect::<Result<_>>()?,
            checksum: self.expand_opt(state, &c.checksum)?,
            heredocs,
            ..c.clone()
        })
    }
}

/// Go's `path.Clean` for absolute paths.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

fn no_stage(df: &Dockerfile, index: usize) -> Error {
    Error::Dockerfile {
        file: df.file.clone(),
        line: 1,
        column: 1,
        reason: format!(
            "no stage with index {index} (the Dockerfile has {} stages)",
            df.stages.len()
        ),
    }
}

fn instruction_error(df: &Dockerfile, inst: &Instruction, reason: String) -> Error {
    let line = inst.span.first_line;
    let column = df.lines.get(line.saturating_sub(1)).map_or(1, |l| {
        l.chars().count() - l.trim_start().chars().count() + 1
    });
    Error::Dockerfile {
        file: df.file.clone(),
        line,
        column,
        reason,
    }
}

fn eval_error(df: &Dockerfile, inst: &Instruction, word: &str, message: &str) -> Error {
    instruction_error(
        df,
        inst,
        format!("{}: failed to process {word:?}: {message}", inst.keyword),
    )
}

#[cfg(test)]
mod tests {
    use super::clean_path;

    #[test]
    fn clean_paths() {
        assert_eq!(clean_path("/"), "/");
        assert_eq!(clean_path("/a/b/../c/./d/"), "/a/c/d");
        assert_eq!(clean_path("/../x"), "/x");
        assert_eq!(clean_path("//srv//www"), "/srv/www");
    }
}
