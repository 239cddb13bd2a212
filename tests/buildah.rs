//! The real-builder tier (LAYERSCOPE_BUILDAH: scripts/test.sh installs buildah and
//! busybox-static when a test file carries this marker).
//!
//! Every scenario writes a Dockerfile and a small context, builds it with buildah 1.28
//! (`buildah bud --layers --isolation chroot --pull=never`, overlay storage in a private
//! store, vfs when overlay is unusable), on a base made `FROM scratch` + `ADD rootfs.tar /`
//! from the host's static busybox (as the shared build-real-images.sh does). Then, for each
//! case, it applies one change, builds again with the same flags, reads which steps printed
//! `--> Using cache <id>`, and checks that the cache simulator predicted exactly the steps
//! buildah re-ran, on the context before (a `cp -a` snapshot) and after the change.
//!
//! buildah's output, per built stage (`[i/n] ` only with several stages; `i` counts every
//! stage of the Dockerfile, unbuilt ones included):
//!
//! ```text
//! [1/3] STEP 1/5: FROM localhost/ls-base AS builder
//! [1/3] STEP 2/5: WORKDIR /src
//! --> Using cache 19d2…          (a hit; a re-run step prints only `--> <short id>`, and
//! --> 19d285905f3                 the final step of the target prints `COMMIT` first)
//! ```
//!
//! Step `k` (`k >= 2`) of a stage is its `(k-1)`-th instruction after `FROM`, counting from 1;
//! step 1 is the `FROM`, never reported. A stage the target does not need prints nothing.
//!
//! Where the builders differ the case records it and layerscope follows BuildKit: an
//! ownership-only change of a context file re-runs the COPY and the rest of the stage in
//! buildah 1.28, not in BuildKit (it resets uid/gid of context files). buildah hashes the
//! owner's user and group *names*: root -> nobody re-ran, while 1234 -> 1235 (ids without a
//! name on the host) kept the cache when tried by hand.
//!
//! Skips (passes, saying why) when not root or buildah/static busybox are missing, unless
//! `LAYERSCOPE_REQUIRE_BUILDAH=1`.
#![cfg(unix)]

use layerscope::Dockerfile;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod support {
    pub mod scenarios;
}

use support::scenarios::{
    BASE, SCENARIOS, Scenario, apply, judge, named_owner, predict, split_build_dir, split_edit,
    split_proposal, table, write_file,
};

// ------------------------------------------------------------------------------- buildah

/// A private buildah store; removes its containers when dropped (even on panic).
struct Buildah {
    root: PathBuf,
    runroot: PathBuf,
    driver: &'static str,
}

impl Buildah {
    fn new(store: &Path, driver: &'static str) -> Buildah {
        Buildah {
            root: store.join(driver).join("root"),
            runroot: store.join(driver).join("run"),
            driver,
        }
    }

    fn command(&self) -> Command {
        let mut c = Command::new("buildah");
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .arg("--storage-driver")
            .arg(self.driver);
        c
    }

    /// `buildah bud` with the tier's flags; stdout (where the STEP lines go) on success.
    fn bud(
        &self,
        dir: &Path,
        tag: &str,
        args: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let mut c = self.command();
        c.args([
            "bud",
            "--layers",
            "--isolation",
            "chroot",
            "--pull=never",
            "-t",
        ])
        .arg(tag);
        for (k, v) in args {
            c.arg("--build-arg").arg(format!("{k}={v}"));
        }
        c.arg(dir);
        let out = c.output().map_err(|e| format!("cannot run buildah: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "buildah bud failed ({}):\n{stdout}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        let _ = self.command().args(["rm", "--all"]).output();
    }
}

/// One `STEP` buildah printed.
#[derive(Debug)]
struct StepRun {
    /// 0-based stage index (buildah's `[i/n]` minus one; 0 without the prefix).
    stage: usize,
    /// 1-based step number within the stage (1 is the `FROM`).
    step: usize,
    /// Steps of the stage, `FROM` included.
    total: usize,
    text: String,
    cached: bool,
}

/// The `STEP` lines of a `buildah bud` output, each with whether `--> Using cache` followed.
fn parse_steps(out: &str) -> Result<Vec<StepRun>, String> {
    fn fraction(s: &str) -> Option<(usize, usize)> {
        let (a, b) = s.split_once('/')?;
        Some((a.parse().ok()?, b.parse().ok()?))
    }
    let mut steps: Vec<StepRun> = Vec::new();
    for line in out.lines() {
        let line = line.trim_end();
        if line.starts_with("--> Using cache ") {
            let last = steps
                .last_mut()
                .ok_or_else(|| format!("`{line}` before any STEP"))?;
            last.cached = true;
            continue;
        }
        let (stage, rest) = match line.strip_prefix('[') {
            Some(r) => match r.split_once("] ") {
                Some((f, rest)) if rest.starts_with("STEP ") => {
                    let (i, _) = fraction(f).ok_or_else(|| format!("bad stage in `{line}`"))?;
                    (i.checked_sub(1).ok_or("stage 0")?, rest)
                }
                _ => continue,
            },
            None => (0, line),
        };
        let Some(rest) = rest.strip_prefix("STEP ") else {
            continue;
        };
        let (f, text) = rest
            .split_once(": ")
            .ok_or_else(|| format!("bad STEP line `{line}`"))?;
        let (step, total) = fraction(f).ok_or_else(|| format!("bad STEP line `{line}`"))?;
        steps.push(StepRun {
            stage,
            step,
            total,
            text: text.to_string(),
            cached: false,
        });
    }
    Ok(steps)
}

/// What buildah did, mapped to the Dockerfile.
struct Observed {
    /// Stages built (0-based).
    stages: BTreeSet<usize>,
    /// First line of each built instruction -> whether buildah used its cache.
    cached: BTreeMap<usize, bool>,
}

fn map_steps(df: &Dockerfile, steps: &[StepRun]) -> Result<Observed, String> {
    let mut stages = BTreeSet::new();
    let mut lines = BTreeMap::new();
    for s in steps {
        let stage = df
            .stages()
            .get(s.stage)
            .ok_or_else(|| format!("buildah built stage {} the Dockerfile lacks", s.stage))?;
        stages.insert(s.stage);
        if s.total != stage.instructions().len() + 1 {
            return Err(format!(
                "stage {}: buildah counts {} steps, the Dockerfile has {} instructions after FROM",
                s.stage,
                s.total,
                stage.instructions().len()
            ));
        }
        if s.step < 2 {
            continue;
        }
        let ins = &stage.instructions()[s.step - 2];
        let word = s.text.split_whitespace().next().unwrap_or("");
        if !word.eq_ignore_ascii_case(ins.keyword.as_str()) {
            return Err(format!(
                "step {}/{} `{}` does not line up with line {} `{}`",
                s.step, s.total, s.text, ins.span.first_line, ins.original
            ));
        }
        lines.insert(ins.span.first_line, s.cached);
    }
    Ok(Observed {
        stages,
        cached: lines,
    })
}

// ------------------------------------------------------------------------------- setup

/// Why the tier cannot run here, if it cannot.
fn unavailable() -> Option<String> {
    match fs::metadata("/proc/self") {
        Ok(m) if m.uid() == 0 => {}
        Ok(_) => return Some("not running as root".into()),
        Err(e) => return Some(format!("cannot tell the user id: {e}")),
    }
    match Command::new("buildah").arg("--version").output() {
        Ok(o) if o.status.success() => {}
        _ => return Some("buildah is not installed".into()),
    }
    match busybox() {
        Some(p) if is_static_elf(&p) => None,
        Some(p) => Some(format!(
            "{} is not statically linked (install busybox-static)",
            p.display()
        )),
        None => Some("busybox is not installed (busybox-static)".into()),
    }
}

fn busybox() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("busybox"))
        .chain([PathBuf::from("/bin/busybox")])
        .find(|p| p.is_file())
}

/// An ELF64 executable with no `PT_INTERP` program header (runs in an empty root).
fn is_static_elf(p: &Path) -> bool {
    let Ok(b) = fs::read(p) else { return false };
    let u16_at = |o: usize| {
        b.get(o..o + 2)
            .map(|x| u16::from_le_bytes([x[0], x[1]]) as usize)
    };
    let u64_at = |o: usize| {
        b.get(o..o + 8)
            .and_then(|x| x.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if b.get(..5) != Some(b"\x7fELF\x02") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    (0..phnum).all(|i| {
        let o = phoff as usize + i * phentsize;
        b.get(o..o + 4) != Some(&3u32.to_le_bytes()[..])
    })
}

/// `rootfs.tar` of the base image: static busybox, its applet links, passwd and group.
fn write_rootfs(busybox: &Path, out: &Path) -> std::io::Result<()> {
    use tar::{EntryType, Header};
    let list = Command::new(busybox).arg("--list").output()?;
    let applets = String::from_utf8_lossy(&list.stdout).into_owned();
    let mut b = tar::Builder::new(fs::File::create(out)?);
    let header = |kind: EntryType, mode: u32, size: u64| {
        let mut h = Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        h
    };
    for d in ["bin", "etc", "root", "usr", "usr/bin", "var"] {
        b.append_data(
            &mut header(EntryType::Directory, 0o755, 0),
            d,
            std::io::empty(),
        )?;
    }
    b.append_data(
        &mut header(EntryType::Directory, 0o1777, 0),
        "tmp",
        std::io::empty(),
    )?;
    let bin = fs::read(busybox)?;
    b.append_data(
        &mut header(EntryType::Regular, 0o755, bin.len() as u64),
        "bin/busybox",
        bin.as_slice(),
    )?;
    for a in applets.split_whitespace().filter(|a| *a != "busybox") {
        b.append_link(
            &mut header(EntryType::Symlink, 0o777, 0),
            format!("bin/{a}"),
            "busybox",
        )?;
    }
    let passwd =
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    let group = "root:x:0:\nnogroup:x:65534:\n";
    for (p, text) in [("etc/passwd", passwd), ("etc/group", group)] {
        b.append_data(
            &mut header(EntryType::Regular, 0o644, text.len() as u64),
            p,
            text.as_bytes(),
        )?;
    }
    b.into_inner()?.sync_all()
}

/// Builds the base image; overlay first, vfs when overlay does not work here.
fn build_base(store: &Path, work: &Path) -> Result<Buildah, String> {
    let dir = work.join("base");
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let bb = busybox().ok_or("busybox vanished")?;
    write_rootfs(&bb, &dir.join("rootfs.tar")).map_err(|e| format!("rootfs.tar: {e}"))?;
    fs::write(dir.join("Dockerfile"), "FROM scratch\nADD rootfs.tar /\n")
        .map_err(|e| e.to_string())?;
    let mut why = String::new();
    for driver in ["overlay", "vfs"] {
        let b = Buildah::new(store, driver);
        match b.bud(&dir, BASE, &BTreeMap::new()) {
            Ok(_) => {
                if driver != "overlay" {
                    eprintln!("buildah tier: overlay storage is unusable here, using vfs:\n{why}");
                }
                return Ok(b);
            }
            Err(e) => why = e,
        }
    }
    Err(format!("cannot build the base image:\n{why}"))
}

fn run_scenario(
    b: &Buildah,
    work: &Path,
    index: usize,
    sc: &Scenario,
    failures: &mut Vec<String>,
) -> Result<(), String> {
    let dir = work.join(format!("s{index}"));
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    fs::write(dir.join("Dockerfile"), sc.dockerfile).map_err(|e| e.to_string())?;
    for (p, c) in sc.files {
        write_file(&dir, sc.name, p, c);
    }
    let df = Dockerfile::parse_named(sc.dockerfile, "Dockerfile").map_err(|e| e.to_string())?;
    let tag = format!("localhost/scenario-{index}");
    let mut args = BTreeMap::new();
    b.bud(&dir, &tag, &args)?;
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
        apply(&dir, sc.name, case.edit, &mut args);
        let t = Instant::now();
        let out = b.bud(&dir, &tag, &args)?;
        let took = t.elapsed();
        let steps = parse_steps(&out).map_err(|e| format!("{label}: {e}\n{out}"))?;
        let Observed {
            stages,
            cached: built,
        } = map_steps(&df, &steps).map_err(|e| format!("{label}: {e}\n{out}"))?;
        let reran: BTreeSet<usize> = built
            .iter()
            .filter(|(_, cached)| !**cached)
            .map(|(l, _)| *l)
            .collect();
        let p =
            predict(&dir, &old, case.edit, &old_args, None).map_err(|e| format!("{label}: {e}"))?;
        eprintln!(
            "  {label:<55} buildah re-ran {:<24} layerscope {:<24} conditional {:<10} ({:.1}s)",
            format!("{reran:?}"),
            format!("{:?}", p.all),
            format!("{:?}", p.conditional),
            took.as_secs_f64()
        );
        let documented: BTreeSet<usize> = case.reran.iter().copied().collect();
        let mut problems = judge(case, &reran, &documented, &p, "buildah 1.28");
        let built_stages: Vec<usize> = stages.into_iter().collect();
        if built_stages != p.needed {
            problems.push(format!(
                "buildah built stages {built_stages:?}, layerscope says the target needs {:?}",
                p.needed
            ));
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{label}:\n  - {}\n{}  buildah output:\n{}",
                problems.join("\n  - "),
                table(&df, "buildah", &built, &p.all, &p.conditional),
                out.lines()
                    .map(|l| format!("    | {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    Ok(())
}

#[test]
fn buildah_cache_hits_match_the_simulator() {
    let required = std::env::var("LAYERSCOPE_REQUIRE_BUILDAH").is_ok_and(|v| v == "1");
    if let Some(why) = unavailable() {
        assert!(
            !required,
            "LAYERSCOPE_REQUIRE_BUILDAH=1 but the buildah tier cannot run: {why}"
        );
        eprintln!("skipping the buildah tier: {why}");
        return;
    }
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let work = tmp.path().join("work");
    // Declared after `tmp`, so dropped first: `buildah rm --all` runs before the store goes.
    let buildah = build_base(&store, &work).unwrap_or_else(|e| panic!("{e}"));
    let version = Command::new("buildah").arg("--version").output().unwrap();
    eprintln!(
        "buildah tier: {} storage, {}",
        buildah.driver,
        String::from_utf8_lossy(&version.stdout).trim()
    );
    if let Some((uid, gid, name)) = named_owner() {
        eprintln!("  chown cases use {name} ({uid}:{gid})");
    }
    let mut failures = Vec::new();
    for (i, sc) in SCENARIOS.iter().enumerate() {
        if let Err(e) = run_scenario(&buildah, &work, i, sc, &mut failures) {
            failures.push(format!("{}: {e}", sc.name));
        }
    }
    if let Err(e) = proposed_dockerfile_rebuilds_less(&buildah, &work) {
        failures.push(format!("split-dependency-copy rewrite: {e}"));
    }
    eprintln!(
        "buildah tier: {} scenarios, {} cases in {:.1}s",
        SCENARIOS.len(),
        SCENARIOS.iter().map(|s| s.cases.len()).sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} buildah case(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The Dockerfile `layerscope recommend` proposes for a `COPY . .` before
/// the install, built with buildah, really re-runs fewer steps after a source edit.
fn proposed_dockerfile_rebuilds_less(buildah: &Buildah, work: &Path) -> Result<(), String> {
    let (ctx_dir, original, proposed) = split_proposal(work)?;
    let mut reran = Vec::new();
    for (name, text) in [("original", original), ("proposed", proposed.as_str())] {
        let dir = split_build_dir(work, &ctx_dir, name, text)?;
        let tag = format!("localhost/ls-split-{name}");
        buildah.bud(&dir, &tag, &BTreeMap::new())?;
        split_edit(&dir);
        let out = buildah.bud(&dir, &tag, &BTreeMap::new())?;
        let steps = parse_steps(&out)?;
        let n = steps.iter().filter(|s| s.step > 1 && !s.cached).count();
        eprintln!(
            "  split-dependency-copy: {name} Dockerfile re-ran {n} of {} steps after a source edit",
            steps.len()
        );
        reran.push(n);
    }
    match reran.as_slice() {
        [before, after] if after < before => Ok(()),
        _ => Err(format!(
            "re-ran steps (original, proposed) = {reran:?}; the proposal must re-run fewer\n{proposed}"
        )),
    }
}
