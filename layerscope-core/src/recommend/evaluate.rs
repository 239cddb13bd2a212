//! How cache findings are priced: the Dockerfile as given and each proposed rewrite are run
//! through the build-cache simulator ([`crate::simulate`]) over the same candidate changes,
//! and a finding saves the difference of the mean bytes rebuilt per change.
//!
//! [`Evaluation`] holds what every cache finding compares against (the target stage
//! evaluated, the candidate changes, the original Dockerfile's simulator, step costs and mean
//! cost), each computed at most once per `recommend` call, however many rewrites are tried.

use super::RecommendInput;
use crate::Result;
use crate::attribution::Attribution;
use crate::context::{BuildContext, ContextChange, ContextChangeKind, ContextEntryKind, Selection};
use crate::dockerfile::{Dockerfile, InstructionKind, StageEvaluation};
use crate::simulate::{Change, Simulator};
use std::cell::OnceCell;
use std::collections::BTreeMap;

/// Step costs by instruction text: (bytes, compressed bytes) of the layers a step made.
pub(super) type Costs = BTreeMap<String, (u64, u64)>;

/// The original Dockerfile's side of every comparison, computed lazily and once.
pub(super) struct Evaluation<'a> {
    input: &'a RecommendInput<'a>,
    attribution: Option<&'a Attribution>,
    df: &'a Dockerfile,
    ctx: &'a BuildContext,
    target: OnceCell<StageEvaluation>,
    changes: OnceCell<(Vec<Change>, String)>,
    original: OnceCell<Simulator<'a>>,
    costs: OnceCell<Costs>,
    before: OnceCell<(u64, u64)>,
}

impl<'a> Evaluation<'a> {
    pub(super) fn new(
        input: &'a RecommendInput<'a>,
        attribution: Option<&'a Attribution>,
        df: &'a Dockerfile,
        ctx: &'a BuildContext,
    ) -> Evaluation<'a> {
        Evaluation {
            input,
            attribution,
            df,
            ctx,
            target: OnceCell::new(),
            changes: OnceCell::new(),
            original: OnceCell::new(),
            costs: OnceCell::new(),
            before: OnceCell::new(),
        }
    }

    pub(super) fn input(&self) -> &'a RecommendInput<'a> {
        self.input
    }

    pub(super) fn dockerfile(&self) -> &'a Dockerfile {
        self.df
    }

    pub(super) fn context(&self) -> &'a BuildContext {
        self.ctx
    }

    /// The last stage (the build target) evaluated with the build arguments, or `None` for a
    /// Dockerfile without stages.
    ///
    /// # Errors
    /// As [`Dockerfile::evaluate`].
    pub(super) fn target(&self) -> Result<Option<&StageEvaluation>> {
        if let Some(t) = self.target.get() {
            return Ok(Some(t));
        }
        let Some(stage) = self.df.stages().last() else {
            return Ok(None);
        };
        let eval = self.df.evaluate(stage.index(), &self.input.build_args)?;
        Ok(Some(self.target.get_or_init(|| eval)))
    }

    /// Candidate changes, and what "per change" means: each commit of the churn, or each
    /// file the target stage's COPY/ADD steps select (sampled evenly when there are more
    /// than 400).
    pub(super) fn changes(&self) -> (&[Change], &str) {
        let (c, per) = self.changes.get_or_init(|| self.candidate_changes());
        (c, per)
    }

    fn candidate_changes(&self) -> (Vec<Change>, String) {
        if let Some(churn) = self.input.churn
            && churn.commits > 0
        {
            let changes = churn
                .per_commit
                .iter()
                .map(|files| Change::Paths {
                    label: format!("{} files", files.len()),
                    changes: files
                        .iter()
                        .map(|p| ContextChange {
                            path: p.clone(),
                            kind: ContextChangeKind::ContentChanged,
                        })
                        .collect(),
                })
                .collect();
            return (
                changes,
                format!("per commit over the last {} commits", churn.commits),
            );
        }
        // Every context file some COPY/ADD of the target stage selects.
        let mut paths: Vec<String> = Vec::new();
        if let Ok(Some(eval)) = self.target() {
            for step in &eval.steps {
                if let InstructionKind::Copy(c) | InstructionKind::Add(c) = &step.kind
                    && c.from.is_none()
                    && !c.sources.is_empty()
                    && let Ok(files) = self.ctx.select(&selection(c))
                {
                    paths.extend(
                        files
                            .into_iter()
                            .filter(|f| f.kind == ContextEntryKind::File)
                            .map(|f| f.path),
                    );
                }
            }
        }
        paths.sort();
        paths.dedup();
        const MAX: usize = 400;
        if paths.len() > MAX {
            let stride = paths.len().div_ceil(MAX);
            paths = paths.into_iter().step_by(stride).collect();
        }
        let n = paths.len();
        (
            paths.into_iter().map(Change::path).collect(),
            format!("per changed file (mean over the {n} files the build copies)"),
        )
    }

    /// The Dockerfile as given, its steps costed with the image's layers when there is one.
    ///
    /// # Errors
    /// As [`Simulator::new`].
    pub(super) fn original(&self) -> Result<&Simulator<'a>> {
        if let Some(s) = self.original.get() {
            return Ok(s);
        }
        let sim = Simulator::new(self.df, self.ctx, None, self.input.build_args.clone())?;
        let sim = match (self.input.analysis, self.attribution) {
            (Some(a), Some(attr)) => sim.with_image(a, attr),
            _ => sim,
        };
        Ok(self.original.get_or_init(|| sim))
    }

    /// The cost the image gives each step of the target stage, by instruction text (so that
    /// a rewrite keeping a step keeps its cost).
    ///
    /// # Errors
    /// As [`Evaluation::original`].
    pub(super) fn costs(&self) -> Result<&Costs> {
        if let Some(c) = self.costs.get() {
            return Ok(c);
        }
        let sim = self.original()?;
        let mut out = BTreeMap::new();
        if let Some(stage) = sim.dockerfile().stages().get(sim.target()) {
            for (i, ins) in stage.instructions().iter().enumerate() {
                if let Some(c) = sim.step_cost(stage.index(), i) {
                    out.insert(ins.original.clone(), c);
                }
            }
        }
        Ok(self.costs.get_or_init(|| out))
    }

    /// Mean (rebuilt, repushed) bytes per candidate change of the Dockerfile as given.
    ///
    /// # Errors
    /// A simulation fails (see [`Simulator::simulate`]).
    pub(super) fn before(&self) -> Result<(u64, u64)> {
        if let Some(b) = self.before.get() {
            return Ok(*b);
        }
        let (changes, _) = self.changes();
        let b = mean_cost(self.original()?, changes)?;
        Ok(*self.before.get_or_init(|| b))
    }

    /// Price a rewritten Dockerfile with the costs of the steps it keeps (matched by text,
    /// from `costs`) and the sizes of the files its new COPY steps select: mean (rebuilt,
    /// repushed) bytes per candidate change.
    ///
    /// # Errors
    /// The rewrite cannot be evaluated or simulated.
    pub(super) fn price(&self, rewritten: &Dockerfile, costs: &Costs) -> Result<(u64, u64)> {
        let mut step_costs = Vec::new();
        if let Some(stage) = rewritten.stages().last() {
            let eval = rewritten.evaluate(stage.index(), &self.input.build_args)?;
            for (step, ins) in eval.steps.iter().zip(stage.instructions()) {
                let cost = match costs.get(&ins.original) {
                    Some(c) => Some(*c),
                    None => match &step.kind {
                        InstructionKind::Copy(c) if c.from.is_none() => {
                            let bytes: u64 = self
                                .ctx
                                .select(&selection(c))
                                .map(|f| f.iter().map(|x| x.size_bytes).sum())
                                .unwrap_or(0);
                            Some((bytes, bytes))
                        }
                        _ => None,
                    },
                };
                if let Some(c) = cost {
                    step_costs.push(((stage.index(), step.index), c));
                }
            }
        }
        let sim = Simulator::new(rewritten, self.ctx, None, self.input.build_args.clone())?
            .with_step_costs(&step_costs);
        mean_cost(&sim, self.changes().0)
    }
}

/// What a COPY/ADD selects from the context.
pub(super) fn selection(c: &crate::dockerfile::CopyArgs) -> Selection {
    Selection {
        sources: c.sources.clone(),
        excludes: c.excludes.clone(),
        parents: c.parents,
    }
}

/// Mean (rebuilt, repushed) bytes over the changes.
fn mean_cost(sim: &Simulator<'_>, changes: &[Change]) -> Result<(u64, u64)> {
    if changes.is_empty() {
        return Ok((0, 0));
    }
    let (mut a, mut b) = (0u128, 0u128);
    for c in changes {
        let o = sim.simulate(c)?;
        a += u128::from(o.rebuilt_bytes);
        b += u128::from(o.repushed_bytes);
    }
    let n = changes.len() as u128;
    Ok(((a / n) as u64, (b / n) as u64))
}
