//! Cache findings: Dockerfile changes that make rebuilds cheaper, each proposed as a rewrite
//! ([`super::rewrite`]) and priced by simulating the build before and after
//! ([`super::evaluate`]). Their saving is in bytes rebuilt per change, not bytes of the image.
//!
//! - split-dependency-copy: a broad `COPY` of the dependency manifests with the sources ahead
//!   of the install; the install then re-runs on every source edit. Copying the manifests
//!   first is the layout the Docker build-cache guide recommends ("Optimize cache usage in
//!   builds", docs.docker.com/build/cache/optimize/, "Order your layers").
//! - use-copy-link: `COPY --link` (Dockerfile reference, "COPY --link") writes the files
//!   into a layer of their own that does not depend on the layers below, so it is reused when
//!   earlier steps rebuild.
//! - reorder-for-cache: two adjacent COPYs where the first changes more often in git
//!   history; the cache is invalidated from the first changed step on (Dockerfile reference
//!   and the build-cache guide, "How the build cache works").

use super::FindingCode;
use super::evaluate::{Evaluation, selection};
use super::finding::{Finding, finding};
use super::rewrite;
use crate::Result;
use crate::context::{Churn, ContextEntryKind};
use crate::dockerfile::{CommandForm, Dockerfile, EvaluatedInstruction, InstructionKind};
use crate::units::format_size as human;

/// Dependency manifests and lockfiles by ecosystem, with words that betray the install step.
const ECOSYSTEMS: &[(&str, &[&str], &[&str])] = &[
    (
        "node",
        &[
            "package.json",
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            ".npmrc",
            ".yarnrc.yml",
        ],
        &["npm", "yarn", "pnpm"],
    ),
    (
        "python",
        &[
            "requirements.txt",
            "pyproject.toml",
            "poetry.lock",
            "Pipfile",
            "Pipfile.lock",
            "setup.py",
            "setup.cfg",
            "uv.lock",
        ],
        &["pip", "poetry", "pipenv", "uv "],
    ),
    (
        "go",
        &["go.mod", "go.sum"],
        &["go mod", "go build", "go install"],
    ),
    ("rust", &["Cargo.toml", "Cargo.lock"], &["cargo"]),
    (
        "java",
        &[
            "pom.xml",
            "build.gradle",
            "build.gradle.kts",
            "settings.gradle",
            "settings.gradle.kts",
            "gradle.properties",
        ],
        &["mvn", "gradle"],
    ),
    ("ruby", &["Gemfile", "Gemfile.lock"], &["bundle"]),
    ("php", &["composer.json", "composer.lock"], &["composer"]),
];

fn is_requirements(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

fn run_text(kind: &InstructionKind) -> String {
    match kind {
        InstructionKind::Run(r) => match &r.form {
            CommandForm::Shell(s) => s.clone(),
            CommandForm::Exec(v) => v.join(" "),
        },
        _ => String::new(),
    }
}

/// `COPY . .` (or any COPY selecting dependency manifests together with other files) ahead
/// of an install RUN: copy the manifests (and files the RUN names) first, install, then copy
/// the rest. The rewrite is simulated.
pub(super) fn split_dependency_copy(
    ev: &Evaluation<'_>,
    text: &str,
) -> Result<Option<(Finding, String)>> {
    let (input, df, ctx) = (ev.input(), ev.dockerfile(), ev.context());
    let Some(eval) = ev.target()? else {
        return Ok(None);
    };
    let steps = &eval.steps;
    for (ci, step) in steps.iter().enumerate() {
        let InstructionKind::Copy(c) = &step.kind else {
            continue;
        };
        if c.from.is_some() || c.sources.is_empty() {
            continue;
        }
        let Ok(selected) = ctx.select(&selection(c)) else {
            continue;
        };
        // Manifests at the top of what the COPY selects.
        let mut manifests: Vec<(String, &str)> = Vec::new();
        for f in &selected {
            let name = f.path.rsplit('/').next().unwrap_or(&f.path);
            if f.path.contains('/')
                && !c
                    .sources
                    .iter()
                    .any(|s| s != "." && f.path.starts_with(s.trim_end_matches('/')))
            {
                continue;
            }
            if let Some((eco, _, _)) = ECOSYSTEMS.iter().find(|(_, files, _)| {
                files.contains(&name)
                    || (is_requirements(name) && files.contains(&"requirements.txt"))
            }) {
                manifests.push((f.path.clone(), eco));
            }
        }
        let others = selected
            .iter()
            .filter(|f| f.kind == ContextEntryKind::File)
            .count();
        if manifests.is_empty() || others <= manifests.len() {
            continue;
        }
        // The install RUN after it: it runs the ecosystem's tool, names a manifest, or says
        // "install" (an install script).
        let Some((ri, run)) = steps.iter().enumerate().skip(ci + 1).find(|(_, s)| {
            let t = run_text(&s.kind);
            let tool = manifests.iter().any(|(_, eco)| {
                ECOSYSTEMS
                    .iter()
                    .any(|(e, _, words)| e == eco && words.iter().any(|w| t.contains(w)))
            });
            let names_manifest = manifests
                .iter()
                .any(|(p, _)| t.contains(p.rsplit('/').next().unwrap_or(p)));
            tool || names_manifest || t.to_ascii_lowercase().contains("install")
        }) else {
            continue;
        };
        let run_cmd = run_text(&run.kind);
        // Files of the context the RUN names (install scripts): copy them early too.
        let mut early: Vec<String> = manifests.iter().map(|(p, _)| p.clone()).collect();
        for word in run_cmd.split(|c: char| c.is_whitespace() || c == ';' || c == '&' || c == '|') {
            let w = word.trim_start_matches("./");
            if !w.is_empty()
                && selected.iter().any(|f| f.path == w)
                && !early.contains(&w.to_string())
            {
                early.push(w.to_string());
            }
        }
        early.sort();
        // Steps between the COPY and the RUN would move below the RUN's new position.
        let between: Vec<&EvaluatedInstruction> =
            steps.iter().skip(ci + 1).take(ri - ci - 1).collect();
        let needs_review = between.iter().any(|s| {
            !matches!(
                s.kind,
                InstructionKind::Expose(_) | InstructionKind::Label(_)
            )
        });
        // Rewrite the text: [.. copy) + early COPYs + RUN + COPY + between + (RUN ..].
        let lines: Vec<&str> = text.lines().collect();
        let Some(rewritten_text) = rewrite::split_copy(
            &lines,
            rewrite::line_range(&step.span),
            rewrite::line_range(&run.span),
            &early,
            &c.dest,
        ) else {
            continue;
        };
        let Ok(rewritten) = Dockerfile::parse_named(&rewritten_text, df.file_name()) else {
            continue;
        };
        // Simulate both.
        let (_, per) = ev.changes();
        let (before, before_push) = ev.before()?;
        let (after, after_push) = ev.price(&rewritten, ev.costs()?)?;
        let eco = manifests.first().map_or("", |m| m.1);
        let with_image = input.analysis.is_some();
        let mut f = finding(
            FindingCode::SplitDependencyCopy,
            Some(step.span.first_line),
            None,
            before.saturating_sub(after),
            format!(
                "line {} copies the {eco} dependency manifests ({}) together with the sources, so every source edit re-runs the install on line {}{}",
                step.span.first_line,
                manifests
                    .iter()
                    .map(|m| m.0.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                run.span.first_line,
                if with_image {
                    format!(
                        ": {} rebuilt and {} pushed again {per}; after the split {} and {}",
                        human(before),
                        human(before_push),
                        human(after),
                        human(after_push)
                    )
                } else {
                    String::new()
                }
            ),
            format!(
                "copy {} first, run the install, then copy the rest (see the proposed Dockerfile)",
                early.join(", ")
            ),
        );
        f.before_bytes_per_change = Some(before);
        f.after_bytes_per_change = Some(after);
        f.per = Some(per.to_string());
        f.needs_review = needs_review;
        f.evidence = early;
        if before > after || !with_image {
            return Ok(Some((f, rewritten_text)));
        }
    }
    Ok(None)
}

/// A COPY after layer-making steps whose sources do not depend on them: with `--link` it
/// keeps its layer when those steps rebuild.
pub(super) fn use_copy_link(ev: &Evaluation<'_>) -> Result<Vec<Finding>> {
    let (input, df) = (ev.input(), ev.dockerfile());
    let mut out = Vec::new();
    if input.analysis.is_none() {
        return Ok(out); // the saving is in bytes: without an image there is no evidence
    }
    let Some(stage) = df.stages().last() else {
        return Ok(out);
    };
    let (changes, per) = ev.changes();
    if changes.is_empty() {
        return Ok(out);
    }
    let original = ev.original()?;
    let (before, _) = ev.before()?;
    let costs = ev.costs()?;
    let text_lines: Vec<String> = df.lines().to_vec();
    for (i, ins) in stage.instructions().iter().enumerate() {
        let InstructionKind::Copy(c) = &ins.kind else {
            continue;
        };
        if c.link
            || original
                .step_cost(stage.index(), i)
                .is_none_or(|x| x.0 == 0)
        {
            continue;
        }
        // Add --link on that line and simulate again.
        let Some(new_text) = rewrite::add_link(&text_lines, ins.span.first_line.saturating_sub(1))
        else {
            continue;
        };
        let Ok(rewritten) = Dockerfile::parse_named(&new_text, df.file_name()) else {
            continue;
        };
        let mut costs2 = costs.clone();
        if let Some(v) = costs.get(&ins.original) {
            let new_original = rewritten
                .stages()
                .last()
                .and_then(|s| s.instructions().get(i))
                .map(|x| x.original.clone())
                .unwrap_or_default();
            costs2.insert(new_original, *v);
        }
        let (after, _) = ev.price(&rewritten, &costs2)?;
        if after < before {
            let mut f = finding(
                FindingCode::UseCopyLink,
                Some(ins.span.first_line),
                None,
                before - after,
                format!(
                    "line {} is rebuilt whenever an earlier step is, though its own files did not change: {} rebuilt {per} now, {} with --link",
                    ins.span.first_line,
                    human(before),
                    human(after)
                ),
                format!(
                    "COPY --link {}",
                    ins.original
                        .split_once(char::is_whitespace)
                        .map_or("", |x| x.1)
                ),
            );
            f.before_bytes_per_change = Some(before);
            f.after_bytes_per_change = Some(after);
            f.per = Some(per.to_string());
            out.push(f);
        }
    }
    Ok(out)
}

/// Two COPY steps in a row (nothing between them that could read the second's files) where
/// the first changes more often: move the second above. Needs git history.
pub(super) fn reorder_for_cache(
    ev: &Evaluation<'_>,
    text: &str,
    churn: &Churn,
) -> Result<Vec<Finding>> {
    let (input, df, ctx) = (ev.input(), ev.dockerfile(), ev.context());
    let mut out = Vec::new();
    let Some(eval) = ev.target()? else {
        return Ok(out);
    };
    let freq = |c: &crate::dockerfile::CopyArgs| -> usize {
        let sel = selection(c);
        churn
            .per_commit
            .iter()
            .filter(|files| files.iter().any(|p| ctx.selection_contains(&sel, p)))
            .count()
    };
    let steps = &eval.steps;
    for w in steps.windows(2) {
        let [a, b] = w else { continue };
        let (InstructionKind::Copy(ca), InstructionKind::Copy(cb)) = (&a.kind, &b.kind) else {
            continue;
        };
        if ca.from.is_some() || cb.from.is_some() {
            continue;
        }
        let (fa, fb) = (freq(ca), freq(cb));
        if fa <= fb {
            continue;
        }
        let lines: Vec<&str> = text.lines().collect();
        let Some(new_text) = rewrite::move_above(
            &lines,
            rewrite::line_range(&a.span),
            rewrite::line_range(&b.span),
        ) else {
            continue;
        };
        let Ok(rewritten) = Dockerfile::parse_named(&new_text, df.file_name()) else {
            continue;
        };
        let (_, per) = ev.changes();
        let (before, _) = ev.before()?;
        let (after, _) = ev.price(&rewritten, ev.costs()?)?;
        if after < before || input.analysis.is_none() {
            // Overlapping destinations make the order matter: a human should look.
            let overlap = ca.dest == cb.dest || cb.dest.starts_with(ca.dest.trim_end_matches('/'));
            let mut f = finding(
                FindingCode::ReorderForCache,
                Some(b.span.first_line),
                None,
                before.saturating_sub(after),
                format!(
                    "line {} changes in {fa} of {} commits, line {} in {fb}: move line {} above line {}",
                    a.span.first_line,
                    churn.commits,
                    b.span.first_line,
                    b.span.first_line,
                    a.span.first_line
                ),
                format!("put `{}` before `{}`", b.span.first_line, a.span.first_line),
            );
            f.before_bytes_per_change = Some(before);
            f.after_bytes_per_change = Some(after);
            f.per = Some(per.to_string());
            f.needs_review = overlap;
            out.push(f);
        }
    }
    Ok(out)
}
