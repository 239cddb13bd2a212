//! The build-cache model: which steps of a Dockerfile lose their cache when a context file or
//! a build argument changes, and what that costs in the final image (BuildKit's rules: Docker's
//! "Build cache invalidation" documentation and the cache maps of BuildKit's
//! `solver/llbsolver/ops/exec.go` and `file.go`; checked against real buildah and BuildKit
//! rebuilds in tests/buildah.rs and tests/buildkit.rs):
//!
//! - a `COPY`/`ADD` (or `RUN --mount=type=bind`) misses when a changed path is in what it
//!   selects (after `.dockerignore`, wildcards, `--exclude`, `--parents`); content and
//!   permission bits count, mtime and ownership do not (the context model decides);
//! - a step whose expanded text changed misses (an `ENV`/`COPY` using a changed `ARG`), and a
//!   `RUN` misses when a build argument in its scope has a new value;
//! - once a step misses, every later step of the stage misses (the chain rule), except that a
//!   `COPY --link` whose own sources are unchanged keeps its layer;
//! - another stage is affected only through `FROM <stage>` (everything misses when the parent
//!   stage changed), `COPY --from=<stage>` and `RUN --mount from=<stage>` (a miss when the
//!   paths they read may have changed in that stage); stages the target does not need are
//!   never built.
//!
//! Paths a stage may have changed are tracked: a `COPY` that copied changed files dirties the
//! paths they land at (its whole destination when unsure, and for `ADD`); a `RUN` that re-ran
//! dirties everything (its output is unknown until it runs), so steps that read from it are
//! reported as misses that depend on the builder's output (`conditional`), and so are the
//! steps that miss only through the chain after such a miss.

use crate::Result;
use crate::analysis::Analysis;
use crate::attribution::{Attribution, stage_chain};
use crate::context::{
    BuildContext, ContextChange, ContextChangeKind, ContextEntry, ContextEntryKind, Selection,
};
use crate::dockerfile::{BaseRef, Dockerfile, InstructionKind, MountType};
use crate::version::SCHEMA_VERSION;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One thing that changes between two builds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Context paths changed (one file edited, or everything a commit touched).
    Paths {
        /// A label for the report (`src/app.js`, `HEAD~1..working tree`).
        label: String,
        /// The changes.
        changes: Vec<ContextChange>,
    },
    /// A build argument takes a new value.
    BuildArg {
        /// Name.
        name: String,
        /// New value.
        value: String,
    },
}

impl Change {
    /// A content change of one context path.
    pub fn path(path: impl Into<String>) -> Change {
        let path: String = path.into();
        let clean = path
            .trim_start_matches("./")
            .trim_start_matches('/')
            .to_string();
        Change::Paths {
            label: clean.clone(),
            changes: vec![ContextChange {
                path: clean,
                kind: ContextChangeKind::ContentChanged,
            }],
        }
    }
}

/// The cost of one step: `((stage, instruction index), (bytes, compressed bytes))`.
pub type StepCost = ((usize, usize), (u64, u64));

/// Why a step rebuilds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum MissReason {
    /// Its own inputs changed (selected context files, a build argument, its text).
    InputsChanged,
    /// An earlier step of the stage missed.
    Chain,
    /// The parent stage (`FROM <stage>`) changed.
    ParentStage,
    /// It reads from another stage whose output may have changed.
    StageOutput,
}

/// One step that rebuilds.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct RebuiltStep {
    /// Stage index.
    pub stage: usize,
    /// Stage name.
    pub stage_name: Option<String>,
    /// First line of the instruction.
    pub line: usize,
    /// The instruction as written.
    pub instruction: String,
    /// Why it rebuilds.
    pub reason: MissReason,
    /// True when the miss depends on whether a re-run step produces different bytes
    /// (reading from a `RUN` that re-ran): a real builder may still hit.
    pub conditional: bool,
    /// Layers of the final image this step made.
    pub layers: Vec<usize>,
}

/// The cost of one change.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ChangeOutcome {
    /// The changed path (or label of a set of changes), when the change is to the context.
    pub path: Option<String>,
    /// Every changed path of the set.
    pub paths: Vec<String>,
    /// `NAME=VALUE`, when the change is a build argument.
    pub build_arg: Option<String>,
    /// Steps that rebuild, in build order.
    pub rebuilt_steps: Vec<RebuiltStep>,
    /// Layers of the final image that are rebuilt.
    pub layers_rebuilt: Vec<usize>,
    /// Uncompressed bytes of those layers (their `size_bytes`): written again. Everything
    /// that may rebuild, the conditional part included.
    pub rebuilt_bytes: u64,
    /// Compressed bytes of those layers: pushed again (everything that may be).
    pub repushed_bytes: u64,
    /// The part of `rebuilt_bytes` made only by conditional steps (see
    /// [`RebuiltStep::conditional`]): rebuilt only if a re-run step's output differs, so
    /// `rebuilt_bytes - conditional_rebuilt_bytes` is rebuilt for sure.
    pub conditional_rebuilt_bytes: u64,
    /// The part of `repushed_bytes` made only by conditional steps.
    pub conditional_repushed_bytes: u64,
    /// Steps that rebuild but whose layer is not known in the image (no image given, or
    /// history not matched).
    pub unattributed_steps: usize,
}

/// The `simulate` report.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct SimulationReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The Dockerfile.
    pub dockerfile: String,
    /// The stage built.
    pub target_stage: usize,
    /// The stages the target needs (others are not built).
    pub needed_stages: Vec<usize>,
    /// One outcome per change.
    pub changes: Vec<ChangeOutcome>,
    /// Attribution of the image's layers to instructions, when an image was given.
    pub attribution: Option<Attribution>,
}

/// A prepared simulation: the Dockerfile, the context(s), and the image's layer costs.
pub struct Simulator<'a> {
    dockerfile: &'a Dockerfile,
    context: &'a BuildContext,
    old_context: Option<&'a BuildContext>,
    build_args: BTreeMap<String, String>,
    target: usize,
    attribution: Option<Attribution>,
    /// (bytes, compressed bytes) of each layer.
    layer_sizes: Vec<(u64, u64)>,
    /// The layers each step made: (stage, instruction index) -> layers.
    step_layers: BTreeMap<(usize, usize), Vec<usize>>,
    /// Stage names -> the last stage of that name.
    stage_names: BTreeMap<String, usize>,
}

impl std::fmt::Debug for Simulator<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// Paths of a stage's filesystem that may differ from the cached build.
#[derive(Debug, Clone, Default)]
enum Dirty {
    #[default]
    Nothing,
    Paths(BTreeSet<String>),
    Everything,
}

impl Dirty {
    fn add(&mut self, path: String) {
        match self {
            Dirty::Everything => {}
            Dirty::Nothing => *self = Dirty::Paths(BTreeSet::from([path])),
            Dirty::Paths(p) => {
                p.insert(path);
            }
        }
    }
    /// Might a read of `path` see changed bytes? (`Some(conditional)`.)
    fn touches(&self, path: &str) -> Option<bool> {
        match self {
            Dirty::Nothing => None,
            Dirty::Everything => Some(true),
            Dirty::Paths(ps) => ps.iter().any(|d| overlaps(d, path)).then_some(false),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct StageState {
    missed: bool,
    dirty: Dirty,
    /// Some dirtiness comes from re-run RUN steps (unknown output).
    uncertain: bool,
}

/// Absolute, cleaned path inside an image (`workdir` for relative ones).
fn abs_path(workdir: &str, p: &str) -> String {
    let joined = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("{}/{}", workdir.trim_end_matches('/'), p)
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            x => parts.push(x),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The non-wildcard prefix of a path pattern.
fn literal_prefix(p: &str) -> String {
    let cut = p.find(['*', '?', '[']).unwrap_or(p.len());
    let lit = &p[..cut];
    match lit.rfind('/') {
        Some(i) if cut < p.len() => lit[..i].to_string(),
        _ => lit.to_string(),
    }
}

/// Do two absolute paths overlap (one is the other or lies below it)?
fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    let below = |x: &str, y: &str| x == y || y.is_empty() || x.starts_with(&format!("{y}/"));
    below(a, b) || below(b, a)
}

impl<'a> Simulator<'a> {
    /// Prepare a simulation of building the last stage of `dockerfile` from `context`, with
    /// steps not yet costed (see [`Simulator::with_image`]). `old_context` is the context
    /// before the change, when the changes were derived from two trees (removed files are
    /// matched there).
    ///
    /// # Errors
    /// The Dockerfile cannot be evaluated with `build_args` (e.g. `${X:?}` unset).
    pub fn new(
        dockerfile: &'a Dockerfile,
        context: &'a BuildContext,
        old_context: Option<&'a BuildContext>,
        build_args: BTreeMap<String, String>,
    ) -> Result<Simulator<'a>> {
        let target = dockerfile.stages().len().saturating_sub(1);
        // Later stages overwrite earlier ones of the same name: the last one is found.
        let stage_names = dockerfile
            .stages()
            .iter()
            .filter_map(|st| st.name().map(|n| (n.to_lowercase(), st.index())))
            .collect();
        Ok(Simulator {
            stage_names,
            dockerfile,
            context,
            old_context,
            build_args,
            target,
            attribution: None,
            layer_sizes: Vec::new(),
            step_layers: BTreeMap::new(),
        })
    }

    /// Cost rebuilt steps with the image's layer sizes, through `attribution` (the image's
    /// history matched to this Dockerfile's instructions, [`Analysis::attribute`]).
    pub fn with_image(mut self, analysis: &Analysis, attribution: &Attribution) -> Self {
        self.layer_sizes = analysis
            .figures()
            .layers
            .iter()
            .map(|l| (l.size_bytes, l.compressed_size_bytes))
            .collect();
        self.step_layers = attribution
            .instructions
            .iter()
            .map(|c| ((c.stage, c.index), c.layers.clone()))
            .collect();
        self.attribution = Some(attribution.clone());
        self
    }

    /// Cost steps explicitly instead of from an image: `(stage, instruction index)` ->
    /// (bytes, compressed bytes). Used to price a proposed Dockerfile that was never built,
    /// from the layers of the steps it keeps.
    pub fn with_step_costs(mut self, costs: &[StepCost]) -> Self {
        self.attribution = None;
        self.layer_sizes = costs.iter().map(|(_, c)| *c).collect();
        self.step_layers = costs
            .iter()
            .enumerate()
            .map(|(i, (k, _))| (*k, vec![i]))
            .collect();
        self
    }

    /// The (bytes, compressed bytes) of a step's layers, if known.
    pub fn step_cost(&self, stage: usize, index: usize) -> Option<(u64, u64)> {
        let layers = self.step_layers.get(&(stage, index))?;
        Some(layers.iter().fold((0, 0), |(a, b), l| {
            let (s, c) = self.layer_sizes.get(*l).copied().unwrap_or((0, 0));
            (a + s, b + c)
        }))
    }

    /// Stages the target needs: its `FROM` chain and every stage read by `COPY --from` or
    /// `RUN --mount from=`, transitively.
    pub fn needed_stages(&self) -> Vec<usize> {
        // One evaluator for all stages, and each stage's direct parent only (the closure
        // reaches the rest of the chain): linear in the number of stages.
        let mut evaluator = self.dockerfile.evaluator(&self.build_args).ok();
        let mut needed = vec![false; self.dockerfile.stages().len()];
        let mut todo = vec![self.target];
        while let Some(s) = todo.pop() {
            match needed.get_mut(s) {
                Some(seen) if !*seen => *seen = true,
                _ => continue,
            }
            if let Some(BaseRef::Stage(parent)) =
                self.dockerfile.stages().get(s).and_then(|st| st.base_ref())
            {
                todo.push(*parent);
            }
            if let Some(eval) = evaluator.as_mut().and_then(|e| e.evaluate(s).ok()) {
                for step in &eval.steps {
                    for from in step_sources_from(&step.kind) {
                        if let Some(st) = self.stage_ref(&from) {
                            todo.push(st);
                        }
                    }
                }
            }
        }
        needed
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.then_some(i))
            .collect()
    }

    /// [`Dockerfile::stage_by_name_or_index`] through a map built once, so that many
    /// `--from` references cost no scan of the stages each.
    fn stage_ref(&self, name: &str) -> Option<usize> {
        if name.parse::<i64>().is_ok() {
            return self
                .dockerfile
                .stage_by_name_or_index(name)
                .map(|s| s.index());
        }
        self.stage_names.get(&name.to_lowercase()).copied()
    }

    fn affects(&self, selection: &Selection, change: &ContextChange) -> bool {
        self.context.change_affects(selection, change)
            || self
                .old_context
                .is_some_and(|old| old.change_affects(selection, change))
    }

    /// Simulate one change.
    ///
    /// # Errors
    /// The Dockerfile cannot be evaluated with the changed build argument.
    pub fn simulate(&self, change: &Change) -> Result<ChangeOutcome> {
        let mut new_args = self.build_args.clone();
        let (path_changes, label, build_arg): (&[ContextChange], Option<String>, Option<String>) =
            match change {
                Change::Paths { label, changes } => (changes.as_slice(), Some(label.clone()), None),
                Change::BuildArg { name, value } => {
                    new_args.insert(name.clone(), value.clone());
                    (&[], None, Some(format!("{name}={value}")))
                }
            };
        let needed = self.needed_stages();
        // Each stage is evaluated once per set of arguments, from its parent's end state.
        let mut old_eval = self.dockerfile.evaluator(&self.build_args)?;
        let mut new_eval = self.dockerfile.evaluator(&new_args)?;
        let mut states: BTreeMap<usize, StageState> = BTreeMap::new();
        let mut rebuilt = Vec::new();
        for &s in &needed {
            let old = old_eval.evaluate(s)?;
            let new = new_eval.evaluate(s)?;
            let mut rebuilt_in_stage = false;
            let stage = self.dockerfile.stages().get(s);
            let stage_name = stage.and_then(|st| st.name().map(str::to_string));
            let mut state = match &new.base {
                BaseRef::Stage(p) => states.get(p).cloned().unwrap_or_default(),
                _ => StageState::default(),
            };
            let parent_missed = state.missed;
            let base_changed = old.base != new.base;
            let mut chain = parent_missed || base_changed;
            // Whether every miss the chain started from is conditional: a step that misses only
            // through such a chain is conditional too (a real builder that finds the re-run
            // step's output unchanged keeps its cache and the chain never starts, G).
            let mut chain_conditional = !base_changed && state.uncertain;
            state.missed = chain;
            for (o, n) in old.steps.iter().zip(&new.steps) {
                if matches!(n.kind, InstructionKind::From { .. }) {
                    continue;
                }
                let (own, from_stage, conditional) =
                    self.own_inputs_changed(o, n, path_changes, &states);
                let link_kept = matches!(&n.kind, InstructionKind::Copy(c) | InstructionKind::Add(c) if c.link)
                    && !own
                    && !from_stage;
                let miss = !link_kept && (chain || own || from_stage);
                if !miss {
                    continue;
                }
                let reason = if own {
                    MissReason::InputsChanged
                } else if from_stage {
                    MissReason::StageOutput
                } else if parent_missed && !rebuilt_in_stage {
                    MissReason::ParentStage
                } else {
                    MissReason::Chain
                };
                let step_conditional =
                    !(own || (chain && !chain_conditional) || (from_stage && !conditional));
                // What the re-run step may change in this stage's filesystem.
                match &n.kind {
                    InstructionKind::Run(_) => {
                        state.dirty = Dirty::Everything;
                        state.uncertain = true;
                    }
                    InstructionKind::Copy(c) | InstructionKind::Add(c) if own || from_stage => {
                        // Only COPY: ADD unpacks local archives into the destination.
                        let landed = (own
                            && c.from.is_none()
                            && o.kind == n.kind
                            && matches!(n.kind, InstructionKind::Copy(_)))
                        .then(|| self.landing_paths(c, &n.workdir, path_changes))
                        .flatten()
                        .filter(|paths| !paths.is_empty());
                        match landed {
                            Some(paths) => paths.into_iter().for_each(|p| state.dirty.add(p)),
                            None => state.dirty.add(abs_path(&n.workdir, &c.dest)),
                        }
                        state.uncertain |= conditional;
                    }
                    _ => {}
                }
                chain_conditional = if chain {
                    chain_conditional && step_conditional
                } else {
                    step_conditional
                };
                chain = true;
                state.missed = true;
                let original = stage
                    .and_then(|st| st.instructions().get(n.index))
                    .map(|i| i.original.clone())
                    .unwrap_or_default();
                rebuilt_in_stage = true;
                rebuilt.push(RebuiltStep {
                    stage: s,
                    stage_name: stage_name.clone(),
                    line: n.span.first_line,
                    instruction: original,
                    reason,
                    conditional: step_conditional,
                    layers: self.layers_of(s, n.index),
                });
            }
            if base_changed {
                state.dirty = Dirty::Everything;
            }
            states.insert(s, state);
        }
        let chain_stages: BTreeSet<usize> = stage_chain(self.dockerfile, self.target)
            .into_iter()
            .collect();
        let mut layers_rebuilt: Vec<usize> = rebuilt
            .iter()
            .filter(|r| chain_stages.contains(&r.stage))
            .flat_map(|r| r.layers.iter().copied())
            .collect();
        layers_rebuilt.sort_unstable();
        layers_rebuilt.dedup();
        let unattributed_steps = rebuilt
            .iter()
            .filter(|r| {
                chain_stages.contains(&r.stage) && r.layers.is_empty() && self.step_makes_layer(r)
            })
            .count();
        let sizes = |layers: &mut dyn Iterator<Item = &usize>| {
            layers.fold((0u64, 0u64), |(a, b), l| {
                let (s, c) = self.layer_sizes.get(*l).copied().unwrap_or((0, 0));
                (a + s, b + c)
            })
        };
        let (rebuilt_bytes, repushed_bytes) = sizes(&mut layers_rebuilt.iter());
        // A layer rebuilt by a certain step is certain, whatever else also rebuilds it.
        let certain: BTreeSet<usize> = rebuilt
            .iter()
            .filter(|r| chain_stages.contains(&r.stage) && !r.conditional)
            .flat_map(|r| r.layers.iter().copied())
            .collect();
        let (conditional_rebuilt_bytes, conditional_repushed_bytes) =
            sizes(&mut layers_rebuilt.iter().filter(|l| !certain.contains(l)));
        Ok(ChangeOutcome {
            path: label,
            paths: path_changes.iter().map(|c| c.path.clone()).collect(),
            build_arg,
            rebuilt_steps: rebuilt,
            layers_rebuilt,
            rebuilt_bytes,
            repushed_bytes,
            conditional_rebuilt_bytes,
            conditional_repushed_bytes,
            unattributed_steps,
        })
    }

    fn step_makes_layer(&self, r: &RebuiltStep) -> bool {
        let k = r
            .instruction
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        matches!(k.as_str(), "RUN" | "COPY" | "ADD")
    }

    fn layers_of(&self, stage: usize, index: usize) -> Vec<usize> {
        self.step_layers
            .get(&(stage, index))
            .cloned()
            .unwrap_or_default()
    }

    /// The Dockerfile simulated.
    pub fn dockerfile(&self) -> &Dockerfile {
        self.dockerfile
    }

    /// The build context.
    pub fn context(&self) -> &BuildContext {
        self.context
    }

    /// The stage built.
    pub fn target(&self) -> usize {
        self.target
    }

    /// The attribution of the image's layers, when an image was given.
    pub fn attribution(&self) -> Option<&Attribution> {
        self.attribution.as_ref()
    }

    /// Where the changed context files a `COPY` selects land in the image, so that a
    /// later `COPY --from` of another path of this stage keeps its cache (G: the final
    /// stage's `COPY --from` stayed a hit when the bytes it copies were identical). The
    /// Dockerfile reference's rules: a file source goes to `<dest>/<base name>` when `<dest>`
    /// is a directory (ends in `/`, is `.`, or there are several sources or a wildcard), else
    /// to `<dest>`; a directory source's contents go below `<dest>` (also when a wildcard
    /// matched the directory). `None` when unsure
    /// (`--parents`, a path reached through a symlink or below a wildcard match, a path in
    /// neither context): then the whole destination counts as changed.
    fn landing_paths(
        &self,
        c: &crate::dockerfile::CopyArgs,
        workdir: &str,
        changes: &[ContextChange],
    ) -> Option<Vec<String>> {
        if c.parents {
            return None;
        }
        let dest = abs_path(workdir, &c.dest);
        let sources: Vec<&String> = c.sources.iter().filter(|s| !is_remote(s)).collect();
        let wildcard = |s: &str| s.contains(['*', '?', '[']);
        let last = c
            .dest
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let into_dir = c.dest.ends_with('/')
            || matches!(last, "." | "..")
            || sources.len() > 1
            || sources.iter().any(|s| wildcard(s));
        let kind = |p: &str| {
            self.context
                .file(p)
                .or_else(|| self.old_context.and_then(|o| o.file(p)))
                .map(ContextEntry::kind)
        };
        let mut landed = Vec::new();
        for ch in changes {
            for s in &sources {
                let sel = Selection {
                    sources: vec![(*s).clone()],
                    excludes: c.excludes.clone(),
                    parents: false,
                };
                if !self.affects(&sel, ch) {
                    continue;
                }
                let src = abs_path("/", s);
                let src = src.trim_start_matches('/');
                let path = abs_path("/", &ch.path);
                let path = path.trim_start_matches('/');
                let base = path.rsplit('/').next().unwrap_or(path);
                let to = if wildcard(src) {
                    // Matched by the pattern itself (not below a matched directory).
                    if path.split('/').count() != src.split('/').count() {
                        return None;
                    }
                    match kind(path)? {
                        ContextEntryKind::File => abs_path(&dest, base),
                        ContextEntryKind::Dir => dest.clone(),
                        _ => return None,
                    }
                } else if src.is_empty() {
                    abs_path(&dest, path)
                } else if path == src {
                    match kind(path)? {
                        ContextEntryKind::File if into_dir => abs_path(&dest, base),
                        ContextEntryKind::File | ContextEntryKind::Dir => dest.clone(),
                        _ => return None,
                    }
                } else if let Some(rest) = path.strip_prefix(&format!("{src}/")) {
                    abs_path(&dest, rest)
                } else {
                    return None;
                };
                landed.push(to);
            }
        }
        Some(landed)
    }

    /// (own inputs changed, reads a changed stage, the stage miss is conditional)
    fn own_inputs_changed(
        &self,
        old: &crate::dockerfile::EvaluatedInstruction,
        new: &crate::dockerfile::EvaluatedInstruction,
        changes: &[ContextChange],
        states: &BTreeMap<usize, StageState>,
    ) -> (bool, bool, bool) {
        // An ARG is not a cache step of its own (buildah reports it as a hit; BuildKit makes
        // no vertex for it): the new value acts through the steps that see it.
        if matches!(new.kind, InstructionKind::Arg(_)) {
            return (false, false, false);
        }
        if old.kind != new.kind {
            return (true, false, false);
        }
        let stage_read = |from: &str, paths: &[String], workdir: &str| -> Option<bool> {
            let st = self.stage_ref(from)?;
            let state = states.get(&st)?;
            if paths.is_empty() {
                return state.dirty.touches("/");
            }
            paths
                .iter()
                .filter_map(|p| state.dirty.touches(&abs_path(workdir, &literal_prefix(p))))
                .reduce(|a, b| a && b)
        };
        match &new.kind {
            InstructionKind::Copy(c) | InstructionKind::Add(c) => {
                if let Some(from) = &c.from {
                    return match stage_read(from, &c.sources, "/") {
                        Some(conditional) => (false, true, conditional),
                        None => (false, false, false),
                    };
                }
                let sources: Vec<String> = c
                    .sources
                    .iter()
                    .filter(|s| !is_remote(s))
                    .cloned()
                    .collect();
                if sources.is_empty() {
                    return (false, false, false);
                }
                let sel = Selection {
                    sources,
                    excludes: c.excludes.clone(),
                    parents: c.parents,
                };
                (
                    changes.iter().any(|ch| self.affects(&sel, ch)),
                    false,
                    false,
                )
            }
            InstructionKind::Run(r) => {
                let arg_changed = old.args != new.args;
                let mut own = arg_changed;
                let mut from_stage = false;
                let mut conditional = false;
                for m in &r.mounts {
                    if m.mount_type != MountType::Bind {
                        continue;
                    }
                    let source = m.source.clone().unwrap_or_else(|| ".".into());
                    match &m.from {
                        Some(from) => {
                            if let Some(c) = stage_read(from, std::slice::from_ref(&source), "/") {
                                from_stage = true;
                                conditional |= c;
                            }
                        }
                        None => {
                            let sel = Selection {
                                sources: vec![source],
                                excludes: Vec::new(),
                                parents: false,
                            };
                            own |= changes.iter().any(|ch| self.affects(&sel, ch));
                        }
                    }
                }
                (own, from_stage, conditional)
            }
            _ => (false, false, false),
        }
    }

    /// Run every change and gather the report.
    ///
    /// # Errors
    /// As [`Simulator::simulate`].
    pub fn report(&self, changes: &[Change]) -> Result<SimulationReport> {
        let outcomes = changes
            .iter()
            .map(|c| self.simulate(c))
            .collect::<Result<Vec<_>>>()?;
        Ok(SimulationReport {
            schema_version: SCHEMA_VERSION,
            dockerfile: self.dockerfile.file_name().to_string(),
            target_stage: self.target,
            needed_stages: self.needed_stages(),
            changes: outcomes,
            attribution: self.attribution.clone(),
        })
    }
}

fn is_remote(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("git@")
}

/// Stage references of a step: `COPY --from`, `RUN --mount from=`.
fn step_sources_from(kind: &InstructionKind) -> Vec<String> {
    match kind {
        InstructionKind::Copy(c) | InstructionKind::Add(c) => c.from.iter().cloned().collect(),
        InstructionKind::Run(r) => r.mounts.iter().filter_map(|m| m.from.clone()).collect(),
        _ => Vec::new(),
    }
}

/// What each instruction costs over a project's recent commits.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct ChurnReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Commits looked at.
    pub commits: usize,
    /// Commits that touched the build context at all.
    pub commits_touching_context: usize,
    /// Mean uncompressed bytes rebuilt per commit.
    pub expected_rebuilt_bytes_per_commit: u64,
    /// Mean compressed bytes pushed again per commit.
    pub expected_repushed_bytes_per_commit: u64,
    /// Instructions ranked by expected bytes per commit.
    pub instructions: Vec<InstructionChurn>,
    /// Context files by how many commits changed them (most first).
    pub files: Vec<FileChurn>,
}

/// One instruction's share of the churn.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct InstructionChurn {
    /// Stage index.
    pub stage: usize,
    /// First line.
    pub line: usize,
    /// The instruction.
    pub instruction: String,
    /// Commits after which it rebuilds.
    pub rebuild_commits: usize,
    /// `rebuild_commits / commits`.
    pub rebuild_ratio: f64,
    /// Bytes of its layers (rebuilt each time it rebuilds).
    pub layer_bytes: u64,
    /// Compressed bytes of its layers.
    pub layer_compressed_bytes: u64,
    /// `layer_bytes * rebuild_ratio`.
    pub expected_rebuilt_bytes_per_commit: u64,
    /// `layer_compressed_bytes * rebuild_ratio`.
    pub expected_repushed_bytes_per_commit: u64,
}

/// How often one file changed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FileChurn {
    /// Path relative to the context.
    pub path: String,
    /// Commits that changed it.
    pub commits: usize,
}

impl Simulator<'_> {
    /// Replay each commit of `churn` as one change set and rank the instructions by the
    /// bytes they are expected to rebuild per commit.
    ///
    /// # Errors
    /// As [`Simulator::simulate`].
    pub fn churn(&self, churn: &crate::context::Churn) -> Result<ChurnReport> {
        let commits = churn.commits;
        let mut per_step: BTreeMap<(usize, usize), (String, usize, u64, u64)> = BTreeMap::new();
        let mut total_rebuilt = 0u64;
        let mut total_pushed = 0u64;
        let mut touching = 0usize;
        for files in &churn.per_commit {
            if files.is_empty() {
                continue;
            }
            touching += 1;
            let change = Change::Paths {
                label: format!("{} files", files.len()),
                changes: files
                    .iter()
                    .map(|p| ContextChange {
                        path: p.clone(),
                        kind: ContextChangeKind::ContentChanged,
                    })
                    .collect(),
            };
            let out = self.simulate(&change)?;
            total_rebuilt += out.rebuilt_bytes;
            total_pushed += out.repushed_bytes;
            for step in &out.rebuilt_steps {
                let (bytes, compressed) = step.layers.iter().fold((0, 0), |(a, b), l| {
                    let (s, c) = self.layer_sizes.get(*l).copied().unwrap_or((0, 0));
                    (a + s, b + c)
                });
                let e = per_step.entry((step.stage, step.line)).or_insert((
                    step.instruction.clone(),
                    0,
                    bytes,
                    compressed,
                ));
                e.1 += 1;
            }
        }
        let n = commits.max(1) as f64;
        let mut instructions: Vec<InstructionChurn> = per_step
            .into_iter()
            .map(|((stage, line), (instruction, k, bytes, compressed))| {
                let ratio = k as f64 / n;
                InstructionChurn {
                    stage,
                    line,
                    instruction,
                    rebuild_commits: k,
                    rebuild_ratio: ratio,
                    layer_bytes: bytes,
                    layer_compressed_bytes: compressed,
                    expected_rebuilt_bytes_per_commit: (bytes as f64 * ratio).round() as u64,
                    expected_repushed_bytes_per_commit: (compressed as f64 * ratio).round() as u64,
                }
            })
            .collect();
        instructions.sort_by(|a, b| {
            b.expected_rebuilt_bytes_per_commit
                .cmp(&a.expected_rebuilt_bytes_per_commit)
                .then(b.rebuild_commits.cmp(&a.rebuild_commits))
                .then(a.line.cmp(&b.line))
        });
        let mut files: Vec<FileChurn> = churn
            .per_file
            .iter()
            .map(|(p, c)| FileChurn {
                path: p.clone(),
                commits: *c,
            })
            .collect();
        files.sort_by(|a, b| b.commits.cmp(&a.commits).then_with(|| a.path.cmp(&b.path)));
        Ok(ChurnReport {
            schema_version: SCHEMA_VERSION,
            commits,
            commits_touching_context: touching,
            expected_rebuilt_bytes_per_commit: (total_rebuilt as f64 / n).round() as u64,
            expected_repushed_bytes_per_commit: (total_pushed as f64 / n).round() as u64,
            instructions,
            files,
        })
    }
}
