//! The cache scenarios both real-builder tiers run (tests/buildah.rs: buildah 1.28;
//! tests/buildkit.rs: BuildKit in the Docker Engine 20.10): each writes a Dockerfile and a
//! small context, builds, applies one change per case, builds again, and compares the steps
//! the builder re-ran with the steps layerscope's simulator predicts.
//!
//! Each case records what buildah 1.28 re-ran (`reran`); where BuildKit differs the case says
//! so (`Kind::Differs`), and layerscope follows BuildKit's documented cache rules
//! (<https://docs.docker.com/build/cache/invalidation/>).
//!
//! Included by both tier files with `mod support { pub mod scenarios; }`; each tier uses a
//! part of it, hence `dead_code` is allowed.
#![allow(dead_code)]

use layerscope::{Analysis, BuildContext, Change, Dockerfile, FindingCode, Simulator};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// The base image every scenario builds `FROM`: static busybox, passwd and group.
pub const BASE: &str = "localhost/ls-base";

// ------------------------------------------------------------------------------- scenarios

/// One change between two builds.
#[derive(Debug, Clone, Copy)]
pub enum Edit {
    /// Rewrite an existing context file (predicted with `Change::path`).
    Write(&'static str, &'static str),
    /// Create a new context file (predicted from the diff of the two trees).
    Create(&'static str, &'static str),
    /// Set the permission bits (diff of the two trees).
    Chmod(&'static str, u32),
    /// Set the mtime of these paths (diff of the two trees).
    Touch(&'static [&'static str]),
    /// Give the path to a named, non-root host user and group (diff of the two trees).
    Chown(&'static str),
    /// Pass `--build-arg NAME=VALUE` (predicted with `Change::BuildArg`).
    BuildArg(&'static str, &'static str),
}

/// What the case expects beyond "layerscope == buildah".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Decidable: no conditional prediction; the prediction is exactly what buildah re-ran.
    Exact,
    /// Some predictions are conditional (a step reads a re-run `RUN`'s output): the certain
    /// ones must have re-run, the conditional ones may have; buildah's choice is recorded in
    /// `reran`.
    Conditional,
    /// buildah and BuildKit differ: layerscope predicts BuildKit (`bk` lines re-run), buildah
    /// re-runs `reran`.
    Differs { bk: &'static [usize] },
}

pub struct Case {
    pub name: &'static str,
    pub edit: Edit,
    /// Dockerfile lines buildah 1.28 re-ran (observed; also asserted, as documentation).
    pub reran: &'static [usize],
    pub kind: Kind,
}

pub struct Scenario {
    pub name: &'static str,
    pub dockerfile: &'static str,
    pub files: &'static [(&'static str, &'static str)],
    pub cases: &'static [Case],
}

pub const fn exact(name: &'static str, edit: Edit, reran: &'static [usize]) -> Case {
    Case {
        name,
        edit,
        reran,
        kind: Kind::Exact,
    }
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "copy-all-before-install",
        dockerfile: "FROM localhost/ls-base\n\
                     WORKDIR /app\n\
                     COPY . .\n\
                     RUN cat package.json > /deps.txt\n\
                     CMD [\"sh\"]\n",
        files: &[("package.json", "{\"deps\": 1}"), ("src/app.js", "one")],
        // A source edit reaches `COPY . .`, so the install after it re-runs.
        cases: &[exact(
            "source edit",
            Edit::Write("src/app.js", "two"),
            &[3, 4, 5],
        )],
    },
    Scenario {
        name: "manifest-first",
        dockerfile: "FROM localhost/ls-base\n\
                     WORKDIR /app\n\
                     COPY package.json ./\n\
                     RUN cat package.json > /deps.txt\n\
                     COPY . .\n\
                     CMD [\"sh\"]\n",
        files: &[("package.json", "{\"deps\": 1}"), ("src/app.js", "one")],
        cases: &[
            // The install keeps its cache; only the late `COPY . .` re-runs.
            exact("source edit", Edit::Write("src/app.js", "two"), &[5, 6]),
            exact(
                "manifest edit",
                Edit::Write("package.json", "{\"deps\": 2}"),
                &[3, 4, 5, 6],
            ),
        ],
    },
    Scenario {
        name: "dockerignore",
        dockerfile: "FROM localhost/ls-base\n\
                     COPY . /ctx/\n\
                     RUN ls -R /ctx > /listing\n",
        files: &[
            (".dockerignore", "*.log\ndocs/\n!docs/keep.md"),
            ("app.txt", "app"),
            ("debug.log", "log 1"),
            ("docs/draft.md", "draft 1"),
            ("docs/keep.md", "keep 1"),
        ],
        cases: &[
            exact("ignored file", Edit::Write("debug.log", "log 2"), &[]),
            exact(
                "file in an ignored dir",
                Edit::Write("docs/draft.md", "draft 2"),
                &[],
            ),
            exact(
                "`!` exception",
                Edit::Write("docs/keep.md", "keep 2"),
                &[2, 3],
            ),
            exact(
                ".dockerignore itself",
                Edit::Write(".dockerignore", "*.log\ndocs/\n!docs/keep.md\n# edited"),
                &[2, 3],
            ),
        ],
    },
    Scenario {
        name: "wildcard",
        dockerfile: "FROM localhost/ls-base\n\
                     WORKDIR /app\n\
                     COPY *.json ./\n\
                     RUN ls *.json > /manifests\n\
                     COPY . .\n",
        files: &[
            ("package.json", "{}"),
            ("tsconfig.json", "{}"),
            ("src/app.ts", "one"),
        ],
        cases: &[
            exact(
                "new file matching *.json",
                Edit::Create("extra.json", "{}"),
                &[3, 4, 5],
            ),
            exact(
                "new file not matching",
                Edit::Create("notes.md", "notes"),
                &[5],
            ),
        ],
    },
    Scenario {
        name: "multi-stage copy --from",
        dockerfile: "FROM localhost/ls-base AS builder\n\
                     WORKDIR /src\n\
                     COPY app/ ./app/\n\
                     COPY notes.txt ./\n\
                     FROM localhost/ls-base\n\
                     COPY --from=builder /src/app /app\n\
                     CMD [\"sh\"]\n",
        files: &[("app/main.txt", "main 1"), ("notes.txt", "notes 1")],
        cases: &[
            // The builder re-runs, but the path the final stage copies is unchanged.
            exact(
                "builder output identical",
                Edit::Write("notes.txt", "notes 2"),
                &[4],
            ),
            exact(
                "builder output different",
                Edit::Write("app/main.txt", "main 2"),
                &[3, 4, 6, 7],
            ),
        ],
    },
    Scenario {
        name: "multi-stage RUN in the builder",
        dockerfile: "FROM localhost/ls-base AS builder\n\
                     WORKDIR /src\n\
                     COPY src/ ./\n\
                     RUN mkdir -p /out && cat *.txt | wc -l > /out/lines\n\
                     FROM localhost/ls-base\n\
                     COPY --from=builder /out /out\n\
                     CMD [\"sh\"]\n",
        files: &[("src/a.txt", "a\nb")],
        cases: &[
            // The RUN re-runs; whether its output changed is known only after it ran, so
            // layerscope marks the final stage's steps conditional. Same line count: buildah
            // finds identical bytes at /out and keeps the final stage's cache.
            Case {
                name: "RUN output identical",
                edit: Edit::Write("src/a.txt", "c\nd"),
                reran: &[3, 4],
                kind: Kind::Conditional,
            },
            Case {
                name: "RUN output different",
                edit: Edit::Write("src/a.txt", "c\nd\ne"),
                reran: &[3, 4, 6, 7],
                kind: Kind::Conditional,
            },
        ],
    },
    Scenario {
        name: "build arg",
        dockerfile: "FROM localhost/ls-base\n\
                     COPY a.txt /a.txt\n\
                     ARG V=1\n\
                     COPY b.txt /b.txt\n\
                     RUN echo unrelated > /u\n\
                     RUN echo $V > /v\n\
                     CMD [\"sh\"]\n",
        files: &[("a.txt", "a"), ("b.txt", "b")],
        cases: &[
            // The first RUN after the ARG re-runs although it does not use it; the ARG step
            // and the COPY between them stay hits.
            exact("declared arg", Edit::BuildArg("V", "2"), &[5, 6, 7]),
            exact("undeclared arg", Edit::BuildArg("NOT_DECLARED", "x"), &[]),
        ],
    },
    Scenario {
        name: "file metadata",
        dockerfile: "FROM localhost/ls-base\n\
                     COPY a.txt /a.txt\n\
                     COPY run.sh /usr/local/bin/run.sh\n\
                     COPY conf/ /etc/app/\n\
                     RUN cat /usr/local/bin/run.sh /etc/app/* > /copy\n\
                     ENV X=1\n",
        files: &[
            ("a.txt", "a"),
            ("run.sh", "echo run"),
            ("conf/app.conf", "k=v"),
        ],
        cases: &[
            exact("chmod +x", Edit::Chmod("run.sh", 0o755), &[3, 4, 5, 6]),
            exact(
                "touch",
                Edit::Touch(&["run.sh", "conf", "conf/app.conf"]),
                &[],
            ),
            // buildah hashes the owner's user/group names of context files and re-runs;
            // BuildKit resets uid/gid of context files to 0 and keeps the cache. layerscope
            // models BuildKit.
            Case {
                name: "chown",
                edit: Edit::Chown("run.sh"),
                reran: &[3, 4, 5, 6],
                kind: Kind::Differs { bk: &[] },
            },
        ],
    },
    Scenario {
        name: "metadata steps between copies",
        dockerfile: "FROM localhost/ls-base\n\
                     COPY a.txt /a.txt\n\
                     ENV A=1\n\
                     WORKDIR /app\n\
                     EXPOSE 8080\n\
                     LABEL stage=meta\n\
                     COPY b.txt ./\n\
                     USER nobody\n\
                     CMD [\"sh\"]\n",
        files: &[("a.txt", "a"), ("b.txt", "b")],
        cases: &[
            exact("late copy", Edit::Write("b.txt", "b2"), &[7, 8, 9]),
            // Metadata steps after a miss re-run too (they write no bytes).
            exact(
                "early copy",
                Edit::Write("a.txt", "a2"),
                &[2, 3, 4, 5, 6, 7, 8, 9],
            ),
        ],
    },
    Scenario {
        name: "unused stage",
        dockerfile: "FROM localhost/ls-base AS unused\n\
                     COPY other.txt /other.txt\n\
                     RUN cat /other.txt > /o\n\
                     FROM localhost/ls-base\n\
                     COPY main.txt /main.txt\n\
                     CMD [\"sh\"]\n",
        files: &[("other.txt", "o"), ("main.txt", "m")],
        cases: &[
            // buildah does not build stage 0 at all.
            exact(
                "file of the unused stage",
                Edit::Write("other.txt", "o2"),
                &[],
            ),
            exact("file of the target", Edit::Write("main.txt", "m2"), &[5, 6]),
        ],
    },
];

// ------------------------------------------------------------------------------- cases

pub fn write_file(dir: &Path, scenario: &str, rel: &str, content: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    // Every file names its scenario, so no two scenarios share a cache entry by accident.
    fs::write(&p, format!("# {scenario}\n{content}\n")).unwrap();
    let mut perm = fs::metadata(&p).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o644);
    fs::set_permissions(&p, perm).unwrap();
}

/// A named user and group of the host that are not root (buildah hashes names).
pub fn named_owner() -> Option<(u32, u32, String)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    let group = fs::read_to_string("/etc/group").ok()?;
    let ids = |text: &str, idx: usize| -> Vec<(String, u32, Option<u32>)> {
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                Some((
                    f.first()?.to_string(),
                    f.get(2)?.parse().ok()?,
                    f.get(idx).and_then(|g| g.parse().ok()),
                ))
            })
            .collect()
    };
    let users = ids(&passwd, 3);
    let groups = ids(&group, 99);
    let user = users
        .iter()
        .find(|u| u.0 == "nobody")
        .or_else(|| users.iter().find(|u| u.1 != 0))?;
    let gid = user
        .2
        .filter(|g| groups.iter().any(|x| x.1 == *g))
        .or_else(|| groups.iter().find(|g| g.1 != 0).map(|g| g.1))?;
    Some((user.1, gid, user.0.clone()))
}

pub fn apply(dir: &Path, scenario: &str, edit: Edit, args: &mut BTreeMap<String, String>) {
    match edit {
        Edit::Write(p, c) | Edit::Create(p, c) => write_file(dir, scenario, p, c),
        Edit::Chmod(p, mode) => {
            let mut perm = fs::metadata(dir.join(p)).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perm, mode);
            fs::set_permissions(dir.join(p), perm).unwrap();
        }
        Edit::Touch(paths) => {
            let t = SystemTime::now() - Duration::from_secs(86_400 * 400);
            for p in paths {
                let f = fs::File::open(dir.join(p)).unwrap();
                f.set_modified(t).unwrap();
            }
        }
        Edit::Chown(p) => {
            let (uid, gid, _) = named_owner().expect("a named non-root user");
            std::os::unix::fs::chown(dir.join(p), Some(uid), Some(gid)).unwrap();
        }
        Edit::BuildArg(k, v) => {
            args.insert(k.to_string(), v.to_string());
        }
    }
}

/// What layerscope predicts.
pub struct Prediction {
    /// Lines that rebuild.
    pub all: BTreeSet<usize>,
    /// Those whose miss depends on a re-run step's output.
    pub conditional: BTreeSet<usize>,
    /// Stages the target needs.
    pub needed: Vec<usize>,
    /// With the image built before the change: `rebuilt_bytes` and `repushed_bytes` of the
    /// change, and the layers (of that image) they add up.
    pub bytes: Option<(u64, u64, Vec<usize>)>,
}

pub fn predict(
    dir: &Path,
    old_dir: &Path,
    edit: Edit,
    old_args: &BTreeMap<String, String>,
    before: Option<&Analysis>,
) -> Result<Prediction, String> {
    let text = fs::read_to_string(dir.join("Dockerfile")).map_err(|e| e.to_string())?;
    let df = Dockerfile::parse_named(&text, "Dockerfile").map_err(|e| e.to_string())?;
    let new = BuildContext::open(dir, None).map_err(|e| e.to_string())?;
    let old = BuildContext::open(old_dir, None).map_err(|e| e.to_string())?;
    let attribution = before
        .map(|a| a.attribute(&df, old_args))
        .transpose()
        .map_err(|e| e.to_string())?;
    let mut sim =
        Simulator::new(&df, &new, Some(&old), old_args.clone()).map_err(|e| e.to_string())?;
    if let (Some(a), Some(attr)) = (before, &attribution) {
        sim = sim.with_image(a, attr);
    }
    let from_diff = || -> Result<Change, String> {
        Ok(Change::Paths {
            label: "diff".into(),
            changes: BuildContext::diff(&old, &new).map_err(|e| e.to_string())?,
        })
    };
    let (change, cross_check) = match edit {
        Edit::Write(p, _) => (Change::path(p), Some(from_diff()?)),
        Edit::Create(p, _) => (from_diff()?, Some(Change::path(p))),
        Edit::Chmod(..) | Edit::Touch(_) | Edit::Chown(_) => (from_diff()?, None),
        Edit::BuildArg(name, value) => (
            Change::BuildArg {
                name: name.into(),
                value: value.into(),
            },
            None,
        ),
    };
    let lines = |c: &Change| -> Result<(BTreeSet<usize>, BTreeSet<usize>, _), String> {
        let out = sim.simulate(c).map_err(|e| e.to_string())?;
        Ok((
            out.rebuilt_steps.iter().map(|s| s.line).collect(),
            out.rebuilt_steps
                .iter()
                .filter(|s| s.conditional)
                .map(|s| s.line)
                .collect(),
            (out.rebuilt_bytes, out.repushed_bytes, out.layers_rebuilt),
        ))
    };
    let (all, conditional, bytes) = lines(&change)?;
    if let Some(other) = cross_check {
        let (a2, c2, _) = lines(&other)?;
        if a2 != all || c2 != conditional {
            return Err(format!(
                "Change::path and the context diff disagree: {all:?} (conditional \
                 {conditional:?}) vs {a2:?} (conditional {c2:?})"
            ));
        }
    }
    Ok(Prediction {
        all,
        conditional,
        needed: sim.needed_stages(),
        bytes: before.map(|_| bytes),
    })
}

/// What went wrong in one case: `reran` is what the builder re-ran, `documented` what this
/// file records for that builder, `bk` whether the builder is BuildKit (whose rules
/// layerscope models, so `Kind::Differs` predictions are checked against it).
pub fn judge(
    case: &Case,
    reran: &BTreeSet<usize>,
    documented: &BTreeSet<usize>,
    p: &Prediction,
    builder: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    if reran != documented {
        problems.push(format!(
            "{builder} re-ran {reran:?}, this test documents {documented:?} for it"
        ));
    }
    let certain: BTreeSet<usize> = p.all.difference(&p.conditional).copied().collect();
    match case.kind {
        Kind::Exact => {
            if !p.conditional.is_empty() {
                problems.push(format!(
                    "undecidable prediction: conditional steps {:?}",
                    p.conditional
                ));
            }
            if p.all != *reran {
                problems.push(format!(
                    "layerscope predicts {:?}, {builder} re-ran {reran:?}",
                    p.all
                ));
            }
        }
        Kind::Conditional => {
            if p.conditional.is_empty() {
                problems.push("expected a conditional prediction, got none".into());
            }
            if !certain.is_subset(reran) || !reran.is_subset(&p.all) {
                problems.push(format!(
                    "layerscope predicts {certain:?} certainly and {:?} conditionally, \
                     {builder} re-ran {reran:?}",
                    p.conditional
                ));
            }
        }
        Kind::Differs { bk } => {
            let bk: BTreeSet<usize> = bk.iter().copied().collect();
            if p.all != bk {
                problems.push(format!(
                    "layerscope predicts {:?}; BuildKit's rules give {bk:?}",
                    p.all
                ));
            }
            if !p.conditional.is_empty() {
                problems.push(format!("unexpected conditional steps {:?}", p.conditional));
            }
        }
    }
    problems
}

/// The Dockerfile, line by line, with what the builder did and what layerscope predicted.
pub fn table(
    df: &Dockerfile,
    builder: &str,
    built: &BTreeMap<usize, bool>,
    all: &BTreeSet<usize>,
    conditional: &BTreeSet<usize>,
) -> String {
    let mut s = format!("    line  {builder:<9} layerscope   instruction\n");
    for stage in df.stages() {
        for ins in stage.instructions() {
            let l = ins.span.first_line;
            let b = match built.get(&l) {
                None => "not built",
                Some(true) => "cache",
                Some(false) => "RE-RAN",
            };
            let p = match (all.contains(&l), conditional.contains(&l)) {
                (false, _) => "cache",
                (true, false) => "REBUILD",
                (true, true) => "REBUILD?",
            };
            let _ = writeln!(s, "    {l:>4}  {b:<9} {p:<12} {}", ins.original);
        }
    }
    s
}

/// The `split-dependency-copy` check (both tiers): `layerscope recommend` on a `COPY . .`
/// before the install proposes a Dockerfile; built by the real builder, it must re-run fewer
/// steps after a source edit. Writes the context under `work`; returns it, the original
/// Dockerfile and the proposal.
pub fn split_proposal(work: &Path) -> Result<(PathBuf, &'static str, String), String> {
    let original = "FROM localhost/ls-base\n\
                    WORKDIR /app\n\
                    COPY . .\n\
                    RUN sh tools/install.sh\n\
                    CMD [\"sh\"]\n";
    let files = [
        (
            "package.json",
            "{\"dependencies\": {\"left-pad\": \"1.3.0\"}}",
        ),
        (
            "tools/install.sh",
            "mkdir -p node_modules && cp package.json node_modules/.installed",
        ),
        ("src/app.js", "one"),
        ("src/util.js", "two"),
    ];
    let ctx_dir = work.join("split-context");
    for (rel, content) in files {
        write_file(&ctx_dir, "split", rel, content);
    }
    let df = Dockerfile::parse_named(original, "Dockerfile").map_err(|e| e.to_string())?;
    let ctx = BuildContext::open(&ctx_dir, None).map_err(|e| e.to_string())?;
    let mut input = layerscope::RecommendInput::default();
    input.dockerfile = Some(&df);
    input.dockerfile_text = Some(original);
    input.context = Some(&ctx);
    let recs = layerscope::recommend(&input).map_err(|e| e.to_string())?;
    if !recs
        .recommendations
        .iter()
        .any(|f| f.code == FindingCode::SplitDependencyCopy)
    {
        return Err(format!(
            "no split-dependency-copy finding: {:?}",
            recs.recommendations
        ));
    }
    let proposed = recs.proposed_dockerfile.ok_or("no proposed Dockerfile")?;
    Ok((ctx_dir, original, proposed))
}

/// A build directory `split-<name>` with a copy of the context and `text` as its Dockerfile.
pub fn split_build_dir(
    work: &Path,
    ctx_dir: &Path,
    name: &str,
    text: &str,
) -> Result<PathBuf, String> {
    let dir = work.join(format!("split-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let copy = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", ctx_dir.display()))
        .arg(&dir)
        .status();
    if !copy.is_ok_and(|s| s.success()) {
        return Err("cp -a failed".into());
    }
    fs::write(dir.join("Dockerfile"), text).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The source edit both builds get after their first build.
pub fn split_edit(dir: &Path) {
    write_file(dir, "split", "src/app.js", "edited");
}
