//! Dockerfile attribution: the config history matched to the instructions of a Dockerfile,
//! so that each layer (and its bytes) is traced to the line that made it.

use crate::analysis::Analysis;
use crate::error::Result;
use crate::source::HistoryEntry;
use std::collections::BTreeMap;

/// A history `created_by` reduced to an instruction keyword and its argument text, for every
/// builder's style (BuildKit: `frontend/dockerfile/dockerfile2llb/convert.go`; classic
/// builder: `NewChildImage` in moby's `image/image.go`; buildah: `getCreatedBy` in
/// `imagebuildah/stage_executor.go`; kaniko: `pkg/executor/build.go`):
/// - BuildKit: `RUN /bin/sh -c cmd # buildkit`, `RUN |2 A=1 B=2 /bin/sh -c cmd # buildkit`,
///   `COPY src dest # buildkit`, `ENV k=v`, `WORKDIR /app`;
/// - classic builder and buildah: `/bin/sh -c #(nop) COPY dir:<hash> in /app `,
///   `|1 A=1 /bin/sh -c cmd` (a RUN with a build arg in scope), `/bin/sh -c cmd`;
/// - kaniko: the plain instruction text (`RUN cmd`, `COPY a b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HistoryCommand {
    pub(crate) keyword: String,
    pub(crate) text: String,
}

const KEYWORDS: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// Strip a `|N K=V ...` build-arg prefix.
fn strip_arg_prefix(s: &str) -> &str {
    let Some(rest) = s.strip_prefix('|') else {
        return s;
    };
    let mut parts = rest.splitn(2, ' ');
    let (Some(n), Some(mut rest)) = (parts.next(), parts.next()) else {
        return s;
    };
    let Ok(n) = n.parse::<usize>() else { return s };
    for _ in 0..n {
        rest = rest.trim_start();
        match rest.find(' ') {
            Some(i) => rest = &rest[i + 1..],
            None => return "",
        }
    }
    rest.trim_start()
}

fn strip_shell(s: &str) -> &str {
    for prefix in ["/bin/sh -c ", "/bin/bash -c ", "cmd /S /C ", "sh -c "] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return rest;
        }
    }
    s
}

pub(crate) fn parse_created_by(created_by: &str) -> HistoryCommand {
    let mut s = created_by.trim();
    s = s.strip_suffix("# buildkit").map(str::trim_end).unwrap_or(s);
    s = strip_arg_prefix(s);
    if let Some(rest) = s
        .strip_prefix("/bin/sh -c #(nop)")
        .or_else(|| s.strip_prefix("#(nop)"))
    {
        s = rest.trim();
    } else {
        let unshelled = strip_shell(s);
        if unshelled.len() != s.len() {
            return HistoryCommand {
                keyword: "RUN".into(),
                text: unshelled.trim().to_string(),
            };
        }
    }
    let (first, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
    let upper = first.to_ascii_uppercase();
    if KEYWORDS.contains(&upper.as_str()) {
        let mut text = rest.trim();
        if upper == "RUN" {
            text = strip_shell(strip_arg_prefix(text)).trim();
        }
        HistoryCommand {
            keyword: upper,
            text: text.to_string(),
        }
    } else {
        HistoryCommand {
            keyword: "RUN".into(),
            text: s.to_string(),
        }
    }
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_dest(s: &str) -> String {
    let t = s.trim().trim_matches('"');
    let t = t.strip_prefix("./").unwrap_or(t);
    let t = t.trim_end_matches('/');
    if t.is_empty() || t == "." {
        ".".into()
    } else {
        t.to_string()
    }
}

/// How well a history entry fits an instruction: 0 = cannot be it, 1 = same keyword,
/// 3 = same keyword and arguments.
fn match_score(
    h: &HistoryCommand,
    ins: &crate::dockerfile::InstructionKind,
    original: &str,
) -> u32 {
    use crate::dockerfile::{CommandForm, InstructionKind as K};
    if h.keyword != ins.keyword().as_str() {
        return 0;
    }
    let args_text = original
        .split_once(char::is_whitespace)
        .map_or("", |(_, r)| r);
    let strong = match ins {
        K::Run(r) => {
            let cmd = match &r.form {
                CommandForm::Shell(s) => s.clone(),
                CommandForm::Exec(v) => v.join(" "),
            };
            collapse_ws(&h.text) == collapse_ws(&cmd)
                || collapse_ws(&h.text) == collapse_ws(args_text)
        }
        K::Copy(c) | K::Add(c) => {
            // classic/buildah: `<kind>:<hash> in <dest>`; BuildKit and kaniko: `srcs dest`.
            let dest = match h.text.rsplit_once(" in ") {
                Some((_, d)) => d.to_string(),
                None => h.text.split_whitespace().last().unwrap_or("").to_string(),
            };
            clean_dest(&dest) == clean_dest(&c.dest)
        }
        _ => collapse_ws(&h.text) == collapse_ws(args_text),
    };
    if strong { 3 } else { 1 }
}

/// How a squashed image's layer was made, read from the history entry the squash adds for
/// it: no `created_by`, a comment naming the images. Observed with Docker Engine 20.10
/// (experimental daemon, `docker build --squash`; tests/fixtures/buildkit/squashed*/history.json):
/// BuildKit squashes the whole image, base included, into one layer and writes `create new
/// from sha256:<id>`; the classic builder squashes the build's own layers onto the base's and
/// writes `merge sha256:<squashed> to sha256:<base image>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Squash {
    /// One layer for everything: the base image cannot be told apart.
    Whole,
    /// The build's layers squashed into one above the base image's layers.
    AboveBase,
}

pub(crate) fn squash_kind(h: &HistoryEntry) -> Option<Squash> {
    if !h.created_by.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return None;
    }
    let c = h.comment.as_deref()?;
    if c.starts_with("create new from sha256:") {
        Some(Squash::Whole)
    } else if c.starts_with("merge sha256:") && c.contains(" to sha256:") {
        Some(Squash::AboveBase)
    } else {
        None
    }
}

/// Does this instruction normally write a layer?
pub(crate) fn makes_layer(kind: &crate::dockerfile::InstructionKind) -> bool {
    use crate::dockerfile::InstructionKind as K;
    matches!(kind, K::Run(_) | K::Copy(_) | K::Add(_) | K::Workdir(_))
}

/// One instruction of the built stage with the layers and bytes it made.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct InstructionCost {
    /// Stage index in the Dockerfile.
    pub stage: usize,
    /// Stage name, if any.
    pub stage_name: Option<String>,
    /// Position of the instruction in its stage (0 = the `FROM`).
    pub index: usize,
    /// First line of the instruction (1-based).
    pub line: usize,
    /// Last line (continuations and heredocs included).
    pub last_line: usize,
    /// The instruction as written (continuations joined).
    pub instruction: String,
    /// The matched history entry, if any.
    pub history_index: Option<usize>,
    /// Layers this instruction made.
    pub layers: Vec<usize>,
    /// Sum of those layers' `size_bytes`.
    pub size_bytes: u64,
    /// Sum of their compressed sizes.
    pub compressed_size_bytes: u64,
    /// Bytes those layers shipped that the final image hides.
    pub wasted_bytes_introduced: u64,
    /// True when a layer also holds the output of other instructions (a squashed build):
    /// `squashed_lines` lists them.
    pub squashed: bool,
    /// Lines of the instructions whose output was squashed into this instruction's layer.
    pub squashed_lines: Vec<usize>,
}

/// Bytes attributed to the Dockerfile instructions that made them.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct Attribution {
    /// The Dockerfile path.
    pub dockerfile: String,
    /// The stage that was built (the target).
    pub target_stage: usize,
    /// Instructions of the target stage and the stages it builds on (`FROM stage`), in
    /// order; only instructions that match a history entry or make a layer are listed.
    pub instructions: Vec<InstructionCost>,
    /// Layers that belong to the base image.
    pub base_layers: Vec<usize>,
    /// Layers of this build that no instruction could be matched to.
    pub unmatched_layers: Vec<usize>,
    /// Irregularities met.
    pub notes: Vec<String>,
}

/// An instruction of the build chain (the target stage and its stage ancestors).
pub(crate) struct ChainStep {
    pub(crate) stage: usize,
    pub(crate) stage_name: Option<String>,
    pub(crate) index: usize,
    pub(crate) span: crate::dockerfile::Span,
    pub(crate) original: String,
    pub(crate) kind: crate::dockerfile::InstructionKind,
}

/// The stages the target builds on through `FROM <stage>`, root first.
pub(crate) fn stage_chain(df: &crate::dockerfile::Dockerfile, target: usize) -> Vec<usize> {
    // A bitmap of the stages seen keeps this linear in the chain's length (a chain of
    // thousands of `FROM s<i-1> AS s<i>` stages is walked for every stage simulated).
    let mut seen = vec![false; df.stages().len()];
    let mut chain = vec![target];
    let mut cur = target;
    if let Some(x) = seen.get_mut(target) {
        *x = true;
    }
    while let Some(crate::dockerfile::BaseRef::Stage(parent)) =
        df.stages().get(cur).and_then(|s| s.base_ref())
    {
        match seen.get_mut(*parent) {
            Some(x) if !*x => *x = true,
            _ => break,
        }
        chain.push(*parent);
        cur = *parent;
    }
    chain.reverse();
    chain
}

/// Every instruction of the chain, with words expanded under `build_args`.
pub(crate) fn chain_steps(
    df: &crate::dockerfile::Dockerfile,
    target: usize,
    build_args: &std::collections::BTreeMap<String, String>,
) -> crate::Result<Vec<ChainStep>> {
    let mut out = Vec::new();
    let mut evaluator = df.evaluator(build_args)?;
    for s in stage_chain(df, target) {
        let eval = evaluator.evaluate(s)?;
        let stage = df.stages().get(s);
        for step in eval.steps {
            if matches!(step.kind, crate::dockerfile::InstructionKind::From { .. }) {
                continue;
            }
            let original = stage
                .and_then(|st| st.instructions().get(step.index))
                .map(|i| i.original.clone())
                .unwrap_or_default();
            out.push(ChainStep {
                stage: s,
                stage_name: stage.and_then(|st| st.name().map(str::to_string)),
                index: step.index,
                span: step.span,
                original,
                kind: step.kind,
            });
        }
    }
    Ok(out)
}

/// Match history entries (from `first_entry` on) to chain steps, keeping order and
/// maximising the match score; ties go to later history entries, since the base image's
/// entries come first. Returns, for each history entry, the matched step.
pub(crate) fn match_history(
    history: &[crate::source::HistoryEntry],
    first_entry: usize,
    steps: &[ChainStep],
) -> Vec<Option<usize>> {
    let parsed: Vec<HistoryCommand> = history
        .iter()
        .map(|h| parse_created_by(h.created_by.as_deref().unwrap_or("")))
        .collect();
    let n = history.len();
    let m = steps.len();
    let mut best = vec![vec![0u32; m + 1]; n + 2];
    for i in (first_entry.min(n)..n).rev() {
        for j in (0..m).rev() {
            let skip_h = best[i + 1][j];
            let skip_s = best[i][j + 1];
            let s = match_score(&parsed[i], &steps[j].kind, &steps[j].original);
            let take = if s > 0 { s + best[i + 1][j + 1] } else { 0 };
            best[i][j] = skip_h.max(skip_s).max(take);
        }
    }
    let mut out = vec![None; n];
    let (mut i, mut j) = (first_entry.min(n), 0);
    while i < n && j < m {
        let s = match_score(&parsed[i], &steps[j].kind, &steps[j].original);
        if best[i][j] == best[i + 1][j] {
            i += 1; // prefer matching a later history entry
        } else if s > 0 && best[i][j] == s + best[i + 1][j + 1] {
            out[i] = Some(j);
            i += 1;
            j += 1;
        } else {
            j += 1;
        }
    }
    out
}

impl Analysis {
    /// Attribute layers and bytes to the instructions of `dockerfile` (its last stage, and the
    /// stages it builds on) by matching the config history to the instructions, for every
    /// builder's history style.
    ///
    /// # Errors
    /// An expansion error while evaluating the Dockerfile with `build_args`.
    pub fn attribute(
        &self,
        dockerfile: &crate::dockerfile::Dockerfile,
        build_args: &BTreeMap<String, String>,
    ) -> Result<Attribution> {
        let target = dockerfile.stages().len().saturating_sub(1);
        let steps = chain_steps(dockerfile, target, build_args)?;
        let first = self.first_own_history().unwrap_or(0);
        let (history, alignment) = self.history();
        let matched = match_history(history, first, &steps);
        let figures = self.figures();
        let mut costs: Vec<InstructionCost> = steps
            .iter()
            .map(|s| InstructionCost {
                stage: s.stage,
                stage_name: s.stage_name.clone(),
                index: s.index,
                line: s.span.first_line,
                last_line: s.span.last_line,
                instruction: s.original.clone(),
                history_index: None,
                layers: Vec::new(),
                size_bytes: 0,
                compressed_size_bytes: 0,
                wasted_bytes_introduced: 0,
                squashed: false,
                squashed_lines: Vec::new(),
            })
            .collect();
        for (h, m) in matched.iter().enumerate() {
            if let Some(j) = m
                && let Some(c) = costs.get_mut(*j)
            {
                c.history_index = Some(h);
            }
        }
        let first_matched = matched.iter().position(Option::is_some);
        let mut base_layers = Vec::new();
        let mut unmatched = Vec::new();
        let mut notes = Vec::new();
        let mut prev_step: Option<usize> = None;
        // A squash's layer sits on a history entry of its own (no `created_by`, see
        // `squash_kind`); it holds the output of every step, shown on the last matched one.
        let last_matched = matched.iter().flatten().max().copied();
        for (l, entry) in alignment.layer_entries.iter().enumerate() {
            let squash = entry.and_then(|h| history.get(h)).and_then(squash_kind);
            let step = match entry.and_then(|h| matched.get(h).copied().flatten()) {
                None if squash.is_some() => last_matched,
                s => s,
            };
            let Some(j) = step else {
                let before_build = match (entry, first_matched) {
                    (Some(h), Some(f)) => *h < f,
                    (None, Some(_)) => prev_step.is_none(),
                    _ => l < self.base_layers(),
                };
                if before_build {
                    base_layers.push(l)
                } else {
                    unmatched.push(l)
                }
                continue;
            };
            let layer = figures.layers.get(l);
            let squashed_lines: Vec<usize> = match steps.get(j) {
                Some(_) if squash.is_some() => steps
                    .iter()
                    .take(j)
                    .filter(|st| makes_layer(&st.kind))
                    .map(|st| st.span.first_line)
                    .collect(),
                Some(s) if !makes_layer(&s.kind) => steps
                    .iter()
                    .enumerate()
                    .filter(|(k, st)| {
                        prev_step.is_none_or(|p| *k > p) && *k < j && makes_layer(&st.kind)
                    })
                    .map(|(_, st)| st.span.first_line)
                    .collect(),
                _ => Vec::new(),
            };
            if let Some(c) = costs.get_mut(j) {
                c.layers.push(l);
                c.size_bytes += layer.map_or(0, |x| x.size_bytes);
                c.compressed_size_bytes += layer.map_or(0, |x| x.compressed_size_bytes);
                c.wasted_bytes_introduced += layer.map_or(0, |x| x.wasted_bytes_introduced);
                if squash == Some(Squash::Whole) {
                    notes.push(format!(
                        "layer {l} squashes the whole image, the base image's files included: no layer is the base"
                    ));
                }
                if !squashed_lines.is_empty() {
                    notes.push(format!(
                        "layer {l} holds the output of lines {} (a squashed build); its bytes are shown on line {}",
                        squashed_lines.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "),
                        c.line
                    ));
                    c.squashed = true;
                    c.squashed_lines = squashed_lines;
                }
            }
            prev_step = Some(j);
        }
        if !unmatched.is_empty() {
            notes.push(format!(
                "layers {:?} could not be matched to an instruction of {}: is it the Dockerfile this image was built from?",
                unmatched,
                dockerfile.file_name()
            ));
        }
        costs.retain(|c| c.history_index.is_some() || !c.layers.is_empty());
        Ok(Attribution {
            dockerfile: dockerfile.file_name().to_string(),
            target_stage: target,
            instructions: costs,
            base_layers,
            unmatched_layers: unmatched,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::align_history;

    fn h(empty: bool) -> HistoryEntry {
        HistoryEntry {
            empty_layer: empty,
            ..Default::default()
        }
    }

    #[test]
    fn empty_layer_entries_take_no_layer() {
        let a = align_history(&[h(false), h(true), h(false), h(true)], 2);
        assert_eq!(a.layer_entries, vec![Some(0), Some(2)]);
        assert!(a.regular);
    }

    #[test]
    fn created_by_styles() {
        let p = |s: &str| {
            let h = parse_created_by(s);
            (h.keyword, h.text)
        };
        let r = |k: &str, t: &str| (k.to_string(), t.to_string());
        assert_eq!(
            p("RUN /bin/sh -c apt-get update # buildkit"),
            r("RUN", "apt-get update")
        );
        assert_eq!(
            p("RUN |2 A=1 B=2 /bin/sh -c make all # buildkit"),
            r("RUN", "make all")
        );
        assert_eq!(p("COPY . /app # buildkit"), r("COPY", ". /app"));
        assert_eq!(p("WORKDIR /app"), r("WORKDIR", "/app"));
        assert_eq!(
            p("/bin/sh -c #(nop) COPY dir:abc in /app "),
            r("COPY", "dir:abc in /app")
        );
        assert_eq!(
            p("|1 APP_VERSION=1.2.3 /bin/sh -c chmod 0755 /x"),
            r("RUN", "chmod 0755 /x")
        );
        assert_eq!(p("/bin/sh -c echo hi"), r("RUN", "echo hi"));
        assert_eq!(p("RUN echo kaniko"), r("RUN", "echo kaniko"));
        assert_eq!(p("COPY a.txt /b"), r("COPY", "a.txt /b"));
        assert_eq!(p("|bad"), r("RUN", "|bad"));
    }

    #[test]
    fn short_history_aligns_from_the_top() {
        let a = align_history(&[h(false)], 3);
        assert_eq!(a.layer_entries, vec![None, None, Some(0)]);
        assert!(!a.regular);
        let a = align_history(&[h(false), h(false), h(false)], 2);
        assert_eq!(a.layer_entries, vec![Some(1), Some(2)]);
        assert!(align_history(&[], 1).note.is_some());
    }
}
