//! The BuildKit tier (LAYERSCOPE_DOCKER_HOST): every scenario of the buildah tier
//! (tests/support/scenarios.rs) built by real BuildKit, the one built into Debian's Docker
//! Engine 20.10 (`dockerd` with vfs storage on a private socket, started by scripts/test.sh).
//!
//! Builds use Debian's client explicitly: `DOCKER_BUILDKIT=1 /usr/bin/docker build
//! --network=none --progress=plain`. For each case the test applies one change, builds again,
//! and reads which steps BuildKit executed. `--progress=plain` prints one vertex per
//! filesystem step, numbered `[stage k/n]` by BuildKit's Dockerfile frontend
//! (moby/buildkit `frontend/dockerfile/dockerfile2llb`; as observed with Engine 20.10.24:
//! `FROM` is 1, then every `RUN`, `COPY`, `ADD` and `WORKDIR` in order; `ENV`, `ARG`, `LABEL`,
//! `USER`, `EXPOSE`, `CMD` make no vertex), then `#N CACHED` for a cache hit or `#N DONE` for
//! a step it ran:
//!
//! ```text
//! #7 [builder 3/4] COPY a.txt ./       (stage named by `AS`, else `stage-<index>`; no name
//! #7 CACHED                             when the Dockerfile has one stage)
//! ```
//!
//! The steps layerscope says rebuild (filesystem steps only: BuildKit shows no others) must
//! be the steps BuildKit executed; where buildah and BuildKit differ (owners of context files:
//! the docker client sends them as 0:0) the scenario says what each does.
//!
//! Bytes: the image is saved (`docker save`, the Engine's `GET /images/{name}/get`) before
//! and after each change and analysed; the layers whose DiffID is new in the rebuilt image
//! must add up to the `rebuilt_bytes` (`size_bytes`) and `repushed_bytes` (blob bytes) that
//! the simulator computes from the image before the change.
//!
//! Skips (passes, saying why) without `LAYERSCOPE_DOCKER_HOST`, unless
//! `LAYERSCOPE_REQUIRE_DOCKER=1`.
#![cfg(unix)]

use layerscope::{Analysis, AnalysisOptions, Dockerfile, Image};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

mod support {
    pub mod scenarios;
}

use support::scenarios::{
    self, BASE, Kind, Prediction, SCENARIOS, Scenario, apply, judge, predict, split_build_dir,
    split_edit, split_proposal, table, write_file,
};

/// The busybox base image, loaded into the daemon by scripts/test.sh (and here when missing).
const BASE_FIXTURE: &str = "tests/fixtures/real/busybox-base/image.docker.tar";
const BASE_FIXTURE_TAG: &str = "localhost/busybox-base:latest";

// ------------------------------------------------------------------------------- docker

/// Debian's Docker client on the test daemon; removes the images it tagged when dropped
/// (also when a case panics). The daemon itself belongs to scripts/test.sh.
struct Docker {
    host: String,
    /// An empty client configuration: no credential helpers or plugins of the host.
    config: tempfile::TempDir,
    tags: std::cell::RefCell<Vec<String>>,
}

impl Docker {
    fn command(&self) -> Command {
        let mut c = Command::new("/usr/bin/docker");
        c.env("DOCKER_HOST", &self.host)
            .env("DOCKER_CONFIG", self.config.path())
            .env("DOCKER_BUILDKIT", "1");
        c
    }

    fn run(&self, args: &[&str]) -> Result<String, String> {
        let out = self
            .command()
            .args(args)
            .output()
            .map_err(|e| format!("cannot run /usr/bin/docker: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "docker {} failed ({}):\n{}{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `docker build` with BuildKit and the tier's flags; the progress output (stderr).
    fn build(
        &self,
        dir: &Path,
        tag: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let mut c = self.command();
        c.args(["build", "--network=none", "--progress=plain", "-t", tag]);
        for (k, v) in args {
            c.arg("--build-arg").arg(format!("{k}={v}"));
        }
        c.arg(dir);
        let out = c
            .output()
            .map_err(|e| format!("cannot run /usr/bin/docker: {e}"))?;
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        self.tags.borrow_mut().push(tag.to_string());
        if out.status.success() {
            Ok(text)
        } else {
            Err(format!("docker build failed ({}):\n{text}", out.status))
        }
    }

    /// `docker save` the image and analyse it.
    fn analyse(&self, tag: &str, out: &Path) -> Result<Analysis, String> {
        let path = out.to_str().ok_or("temp path is not UTF-8")?;
        self.run(&["save", "-o", path, tag])?;
        let image = Image::open(out).map_err(|e| format!("{}: {e}", out.display()))?;
        Analysis::run(&image, &AnalysisOptions::default())
            .map_err(|e| format!("{}: {e}", out.display()))
    }

    /// Build this run's base: the busybox fixture (loaded when the daemon lacks it) plus a
    /// file naming the run, tagged as the scenarios' base. BuildKit keys its cache on the
    /// base's layers, so a daemon that ran this tier before cannot answer from that run's
    /// cache (a RUN whose output does not depend on the salted files would hit otherwise).
    fn ensure_base(&self, work: &Path, nonce: &str) -> Result<(), String> {
        if self.run(&["image", "inspect", BASE_FIXTURE_TAG]).is_err() {
            let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(BASE_FIXTURE);
            let path = fixture.to_str().ok_or("fixture path is not UTF-8")?;
            self.run(&["load", "-i", path])?;
        }
        let dir = work.join("base");
        fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        fs::write(
            dir.join("Dockerfile"),
            format!("FROM {BASE_FIXTURE_TAG}\nCOPY run-id /etc/layerscope-run-id\n"),
        )
        .map_err(|e| e.to_string())?;
        fs::write(dir.join("run-id"), format!("{nonce}\n")).map_err(|e| e.to_string())?;
        self.build(&dir, BASE, &BTreeMap::new())?;
        Ok(())
    }
}

impl Drop for Docker {
    fn drop(&mut self) {
        let mut tags = self.tags.borrow().clone();
        tags.sort();
        tags.dedup();
        if !tags.is_empty() {
            let _ = self.command().args(["rmi", "-f"]).args(&tags).output();
        }
    }
}

/// Why the tier cannot run here, if it cannot.
fn unavailable() -> Result<String, String> {
    let host = std::env::var("LAYERSCOPE_DOCKER_HOST")
        .map_err(|_| "LAYERSCOPE_DOCKER_HOST is not set (scripts/test.sh starts a daemon)")?;
    if !Path::new("/usr/bin/docker").is_file() {
        return Err("/usr/bin/docker is missing (install docker.io)".into());
    }
    Ok(host)
}

// ------------------------------------------------------------------------------- progress

/// One vertex of `--progress=plain` output that belongs to a Dockerfile instruction.
#[derive(Debug)]
struct Vertex {
    /// `builder`, `stage-1`, or empty (one-stage Dockerfile).
    stage: String,
    /// 1-based position among the stage's filesystem steps (1 is the `FROM`).
    step: usize,
    total: usize,
    text: String,
    cached: bool,
    done: bool,
}

/// The instruction vertices of a plain progress log, in order of their first line.
fn parse_progress(out: &str) -> Result<Vec<Vertex>, String> {
    let mut order: Vec<u64> = Vec::new();
    let mut vertices: BTreeMap<u64, Vertex> = BTreeMap::new();
    for line in out.lines() {
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some((n, rest)) = rest.split_once(' ') else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        let rest = rest.trim_end();
        if rest == "CACHED" {
            if let Some(v) = vertices.get_mut(&n) {
                v.cached = true;
            }
            continue;
        }
        if rest == "DONE" || rest.starts_with("DONE ") {
            if let Some(v) = vertices.get_mut(&n) {
                v.done = true;
            }
            continue;
        }
        let Some(r) = rest.strip_prefix('[') else {
            continue;
        };
        let Some((head, text)) = r.split_once("] ") else {
            continue;
        };
        if head == "internal" || vertices.contains_key(&n) {
            continue;
        }
        let (stage, fraction) = match head.rsplit_once(' ') {
            Some((s, f)) => (s.to_string(), f),
            None => (String::new(), head),
        };
        let Some((k, total)) = fraction
            .split_once('/')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            continue; // e.g. `[auth]`, `[linux/amd64 ...]`: not an instruction
        };
        order.push(n);
        vertices.insert(
            n,
            Vertex {
                stage,
                step: k,
                total,
                text: text.to_string(),
                cached: false,
                done: false,
            },
        );
    }
    let out: Vec<Vertex> = order.iter().filter_map(|n| vertices.remove(n)).collect();
    if let Some(v) = out.iter().find(|v| !v.cached && !v.done) {
        return Err(format!("step `{}` neither CACHED nor DONE", v.text));
    }
    Ok(out)
}

/// Instructions BuildKit gives a vertex: the ones that change the filesystem.
fn makes_vertex(keyword: &str) -> bool {
    ["RUN", "COPY", "ADD", "WORKDIR"]
        .iter()
        .any(|k| keyword.eq_ignore_ascii_case(k))
}

/// Lines of the filesystem steps of every stage.
fn vertex_lines(df: &Dockerfile) -> BTreeSet<usize> {
    df.stages()
        .iter()
        .flat_map(|s| s.instructions())
        .filter(|i| makes_vertex(i.keyword.as_str()))
        .map(|i| i.span.first_line)
        .collect()
}

/// What BuildKit did, mapped to the Dockerfile.
struct Observed {
    /// Stages with a vertex (0-based).
    stages: BTreeSet<usize>,
    /// First line of each instruction it reported -> whether it was a cache hit.
    cached: BTreeMap<usize, bool>,
}

fn map_vertices(df: &Dockerfile, vertices: &[Vertex]) -> Result<Observed, String> {
    let mut stages = BTreeSet::new();
    let mut cached = BTreeMap::new();
    for v in vertices {
        let index = if v.stage.is_empty() {
            if df.stages().len() != 1 {
                return Err(format!(
                    "`{}` names no stage in a multi-stage build",
                    v.text
                ));
            }
            0
        } else if let Some(i) = v
            .stage
            .strip_prefix("stage-")
            .and_then(|i| i.parse::<usize>().ok())
        {
            i
        } else {
            df.stages()
                .iter()
                .position(|s| s.name().is_some_and(|n| n.eq_ignore_ascii_case(&v.stage)))
                .ok_or_else(|| format!("BuildKit built stage `{}` the Dockerfile lacks", v.stage))?
        };
        let stage = df
            .stages()
            .get(index)
            .ok_or_else(|| format!("BuildKit built stage {index} the Dockerfile lacks"))?;
        stages.insert(index);
        let steps: Vec<_> = stage
            .instructions()
            .iter()
            .filter(|i| makes_vertex(i.keyword.as_str()))
            .collect();
        if v.total != steps.len() + 1 {
            return Err(format!(
                "stage {index}: BuildKit counts {} steps, the Dockerfile has {} filesystem \
                 instructions after FROM",
                v.total,
                steps.len()
            ));
        }
        if v.step < 2 {
            continue;
        }
        let ins = steps
            .get(v.step - 2)
            .ok_or_else(|| format!("step {}/{} out of range", v.step, v.total))?;
        let word = v.text.split_whitespace().next().unwrap_or("");
        if !word.eq_ignore_ascii_case(ins.keyword.as_str()) {
            return Err(format!(
                "step {}/{} `{}` does not line up with line {} `{}`",
                v.step, v.total, v.text, ins.span.first_line, ins.original
            ));
        }
        cached.insert(ins.span.first_line, v.cached);
    }
    Ok(Observed { stages, cached })
}

// ------------------------------------------------------------------------------- cases

/// Layers of `after` whose DiffID `before` lacks, and the `size_bytes` and blob bytes of the
/// layers at those positions in `before` (the ones they replace) and in `after`.
struct NewLayers {
    layers: Vec<usize>,
    replaced: (u64, u64),
    written: (u64, u64),
}

fn new_layers(before: &Analysis, after: &Analysis) -> NewLayers {
    let old: BTreeSet<String> = before.diff_ids().into_iter().collect();
    let (rb, ra) = (before.report(), after.report());
    let sizes = |r: &layerscope::Report, i: usize| {
        r.layers
            .get(i)
            .map_or((0, 0), |l| (l.size_bytes, l.compressed_size_bytes))
    };
    let mut out = NewLayers {
        layers: Vec::new(),
        replaced: (0, 0),
        written: (0, 0),
    };
    for (i, id) in after.diff_ids().iter().enumerate() {
        if !old.contains(id) {
            out.layers.push(i);
            let (b, a) = (sizes(&rb, i), sizes(&ra, i));
            out.replaced = (out.replaced.0 + b.0, out.replaced.1 + b.1);
            out.written = (out.written.0 + a.0, out.written.1 + a.1);
        }
    }
    out
}

/// One line of the byte agreement table.
struct Bytes {
    label: String,
    predicted: (u64, u64),
    predicted_layers: Vec<usize>,
    measured: NewLayers,
    conditional: bool,
}

fn run_scenario(
    docker: &Docker,
    work: &Path,
    nonce: &str,
    index: usize,
    sc: &Scenario,
    failures: &mut Vec<String>,
    bytes: &mut Vec<Bytes>,
) -> Result<(), String> {
    let dir = work.join(format!("s{index}"));
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("Dockerfile"), sc.dockerfile).map_err(|e| e.to_string())?;
    let salt = sc.name;
    for (p, c) in sc.files {
        write_file(&dir, salt, p, c);
    }
    let df = Dockerfile::parse_named(sc.dockerfile, "Dockerfile").map_err(|e| e.to_string())?;
    let fs_lines = vertex_lines(&df);
    let tag = format!("localhost/ls-bk-scenario-{index}:{nonce}");
    let mut args = BTreeMap::new();
    docker.build(&dir, &tag, &args)?;
    let mut before = docker.analyse(&tag, &work.join(format!("s{index}-0.tar")))?;
    for (ci, case) in sc.cases.iter().enumerate() {
        let label = format!("{} / {}", sc.name, case.name);
        let old = work.join(format!("s{index}-old{ci}"));
        let cp = Command::new("cp")
            .arg("-a")
            .arg(&dir)
            .arg(&old)
            .status()
            .map_err(|e| e.to_string())?;
        if !cp.success() {
            return Err("cp -a of the context failed".into());
        }
        let old_args = args.clone();
        apply(&dir, salt, case.edit, &mut args);
        let t = Instant::now();
        let out = docker.build(&dir, &tag, &args)?;
        let took = t.elapsed();
        let vertices = parse_progress(&out).map_err(|e| format!("{label}: {e}\n{out}"))?;
        let Observed {
            stages,
            cached: built,
        } = map_vertices(&df, &vertices).map_err(|e| format!("{label}: {e}\n{out}"))?;
        let reran: BTreeSet<usize> = built
            .iter()
            .filter(|(_, cached)| !**cached)
            .map(|(l, _)| *l)
            .collect();
        let full = predict(&dir, &old, case.edit, &old_args, Some(&before))
            .map_err(|e| format!("{label}: {e}"))?;
        // BuildKit shows filesystem steps only; the metadata steps layerscope also lists
        // (ENV, CMD ... after a miss) write no bytes.
        let p = Prediction {
            all: full.all.intersection(&fs_lines).copied().collect(),
            conditional: full.conditional.intersection(&fs_lines).copied().collect(),
            needed: full.needed.clone(),
            bytes: full.bytes.clone(),
        };
        let documented: BTreeSet<usize> = match case.kind {
            Kind::Differs { bk } => bk,
            _ => case.reran,
        }
        .iter()
        .filter(|l| fs_lines.contains(l))
        .copied()
        .collect();
        eprintln!(
            "  {label:<55} BuildKit ran {:<20} layerscope {:<20} conditional {:<10} ({:.1}s)",
            format!("{reran:?}"),
            format!("{:?}", p.all),
            format!("{:?}", p.conditional),
            took.as_secs_f64()
        );
        let mut problems = judge(case, &reran, &documented, &p, "BuildKit");
        // A stage's steps may all be shared with another stage's vertices; a stage BuildKit
        // shows must be one the target needs, and a needed stage with steps must show.
        let with_steps: BTreeSet<usize> = df
            .stages()
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.instructions()
                    .iter()
                    .any(|i| makes_vertex(i.keyword.as_str()))
            })
            .map(|(i, _)| i)
            .collect();
        let needed: BTreeSet<usize> = p.needed.iter().copied().collect();
        if !stages.is_subset(&needed)
            || !needed.intersection(&with_steps).all(|s| stages.contains(s))
        {
            problems.push(format!(
                "BuildKit built stages {stages:?}, layerscope says the target needs {needed:?}"
            ));
        }
        let after = docker.analyse(&tag, &work.join(format!("s{index}-{}.tar", ci + 1)))?;
        let measured = new_layers(&before, &after);
        let (rebuilt, repushed, predicted_layers) = p.bytes.clone().unwrap_or_default();
        let conditional = !full.conditional.is_empty();
        // The simulator prices a change with the image built before it: the layers it names
        // must be the ones BuildKit replaced (new DiffIDs at those positions), and its bytes
        // those layers' sizes in that image. A conditional step may hit (its input came out
        // identical), so there the replaced layers are a subset of the predicted ones.
        let predicted_set: BTreeSet<usize> = predicted_layers.iter().copied().collect();
        let measured_set: BTreeSet<usize> = measured.layers.iter().copied().collect();
        let agrees = after.diff_ids().len() == before.diff_ids().len()
            && if conditional {
                measured_set.is_subset(&predicted_set)
            } else {
                measured_set == predicted_set && measured.replaced == (rebuilt, repushed)
            };
        if !agrees {
            problems.push(format!(
                "bytes: layerscope says layers {predicted_layers:?} = {rebuilt} rebuilt / \
                 {repushed} re-pushed; BuildKit replaced layers {:?}, which held {} / {} \
                 (their rebuilt versions {} / {})",
                measured.layers,
                measured.replaced.0,
                measured.replaced.1,
                measured.written.0,
                measured.written.1
            ));
        }
        bytes.push(Bytes {
            label: label.clone(),
            predicted: (rebuilt, repushed),
            predicted_layers,
            measured,
            conditional,
        });
        if !problems.is_empty() {
            failures.push(format!(
                "{label}:\n  - {}\n{}  BuildKit output:\n{}",
                problems.join("\n  - "),
                table(&df, "BuildKit", &built, &p.all, &p.conditional),
                out.lines()
                    .map(|l| format!("    | {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        before = after;
    }
    Ok(())
}

#[test]
fn buildkit_cache_hits_match_the_simulator() {
    let required = std::env::var("LAYERSCOPE_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    let host = match unavailable() {
        Ok(h) => h,
        Err(why) => {
            assert!(
                !required,
                "LAYERSCOPE_REQUIRE_DOCKER=1 but the BuildKit tier cannot run: {why}"
            );
            eprintln!("skipping the BuildKit tier: {why}");
            return;
        }
    };
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    fs::create_dir_all(&work).unwrap();
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    let docker = Docker {
        host,
        config: tempfile::tempdir().unwrap(),
        tags: Default::default(),
    };
    docker
        .ensure_base(&work, &nonce)
        .unwrap_or_else(|e| panic!("{e}"));
    let version = docker
        .run(&["version", "--format", "{{.Server.Version}}"])
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!("BuildKit tier: Docker Engine {}", version.trim());
    let mut failures = Vec::new();
    let mut bytes = Vec::new();
    for (i, sc) in SCENARIOS.iter().enumerate() {
        if let Err(e) = run_scenario(&docker, &work, &nonce, i, sc, &mut failures, &mut bytes) {
            failures.push(format!("{}: {e}", sc.name));
        }
    }
    if let Err(e) = proposed_dockerfile_rebuilds_less(&docker, &work) {
        failures.push(format!("split-dependency-copy rewrite: {e}"));
    }
    eprintln!(
        "  bytes per change: layerscope's layers = rebuilt / re-pushed bytes | the layers \
         BuildKit replaced = their bytes before -> after the change"
    );
    for b in &bytes {
        eprintln!(
            "  {:<55} {:<10} {:>5} / {:<6} | {:<10} {:>5} / {:<6} -> {:>5} / {:<6}{}",
            b.label,
            format!("{:?}", b.predicted_layers),
            b.predicted.0,
            b.predicted.1,
            format!("{:?}", b.measured.layers),
            b.measured.replaced.0,
            b.measured.replaced.1,
            b.measured.written.0,
            b.measured.written.1,
            if b.conditional { " (conditional)" } else { "" }
        );
    }
    eprintln!(
        "BuildKit tier: {} scenarios, {} cases in {:.1}s",
        SCENARIOS.len(),
        SCENARIOS.iter().map(|s| s.cases.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} BuildKit case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The buildah tier's `split-dependency-copy` check on BuildKit: the proposed Dockerfile runs
/// fewer steps after a source edit, and for both Dockerfiles the steps BuildKit ran are the
/// ones the simulator predicts (filesystem steps).
fn proposed_dockerfile_rebuilds_less(docker: &Docker, work: &Path) -> Result<(), String> {
    let (ctx_dir, original, proposed) = split_proposal(work)?;
    let mut ran = Vec::new();
    for (name, text) in [("original", original), ("proposed", proposed.as_str())] {
        let dir = split_build_dir(work, &ctx_dir, name, text)?;
        let old = work.join(format!("split-{name}-old"));
        let tag = format!("localhost/ls-bk-split-{name}");
        docker.build(&dir, &tag, &BTreeMap::new())?;
        let cp = Command::new("cp").arg("-a").arg(&dir).arg(&old).status();
        if !cp.is_ok_and(|s| s.success()) {
            return Err("cp -a failed".into());
        }
        split_edit(&dir);
        let out = docker.build(&dir, &tag, &BTreeMap::new())?;
        let df = Dockerfile::parse_named(text, "Dockerfile").map_err(|e| e.to_string())?;
        let observed = map_vertices(&df, &parse_progress(&out)?)?;
        let reran: BTreeSet<usize> = observed
            .cached
            .iter()
            .filter(|(_, c)| !**c)
            .map(|(l, _)| *l)
            .collect();
        let p = predict(
            &dir,
            &old,
            scenarios::Edit::Write("src/app.js", "edited"),
            &BTreeMap::new(),
            None,
        )?;
        let predicted: BTreeSet<usize> = p.all.intersection(&vertex_lines(&df)).copied().collect();
        eprintln!(
            "  split-dependency-copy: {name} Dockerfile: BuildKit ran {reran:?} of {} steps \
             after a source edit, layerscope predicts {predicted:?}",
            observed.cached.len()
        );
        if predicted != reran {
            return Err(format!(
                "{name}: layerscope predicts {predicted:?}, BuildKit ran {reran:?}\n{out}"
            ));
        }
        ran.push(reran.len());
    }
    match ran.as_slice() {
        [before, after] if after < before => Ok(()),
        _ => Err(format!(
            "steps run (original, proposed) = {ran:?}; the proposal must run fewer\n{proposed}"
        )),
    }
}
