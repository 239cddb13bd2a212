//! Findings with stable kebab-case codes, each with its evidence (from the image, the
//! Dockerfile, the context and the simulator) and the bytes it saves. Cache findings are
//! checked by rewriting a copy of the Dockerfile and simulating it again.

use crate::Result;
use crate::analysis::Analysis;
use crate::analysis::ImageFigures;
use crate::attribution::Attribution;
use crate::context::{BuildContext, Churn, ContextChange, ContextChangeKind, Selection};
use crate::dockerfile::{BaseRef, CommandForm, Dockerfile, InstructionKind};
use crate::simulate::{Change, Simulator};
use crate::tree::WasteKind;
use crate::version::SCHEMA_VERSION;
use serde::Serialize;
use std::collections::BTreeMap;

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Worth fixing.
    Warning,
    /// Fix it.
    Error,
}

/// A documented finding code.
#[derive(Debug, Clone, Copy, Serialize)]
#[non_exhaustive]
pub struct CodeInfo {
    /// The stable code.
    pub code: &'static str,
    /// Default severity.
    pub severity: Severity,
    /// What it means and how it is measured.
    pub summary: &'static str,
}

/// Every code layerscope can emit (`layerscope recommend --list-codes`).
pub const CODES: &[CodeInfo] = &[
    CodeInfo {
        code: "split-dependency-copy",
        severity: Severity::Warning,
        summary: "A broad COPY comes before the dependency install, so any source edit re-runs the install. Copy the dependency manifests first, install, then copy the rest. Saving: expected bytes rebuilt per change (or per commit with git history) before minus after, both simulated.",
    },
    CodeInfo {
        code: "reorder-for-cache",
        severity: Severity::Info,
        summary: "A step whose inputs change often sits above steps whose inputs rarely change. Saving: expected rebuilt bytes per commit before minus after the move, from git churn.",
    },
    CodeInfo {
        code: "cleanup-in-same-layer",
        severity: Severity::Warning,
        summary: "A layer keeps package-manager caches or lists (apt lists, apk/dnf/yum caches, pip, npm, yarn caches). Saving: their bytes in the layer.",
    },
    CodeInfo {
        code: "metadata-copy-up",
        severity: Severity::Warning,
        summary: "Files are shipped again with identical content because a later step changed their mode, owner or mtime (or copied them again). Saving: the hidden copies' bytes.",
    },
    CodeInfo {
        code: "deleted-in-later-layer",
        severity: Severity::Warning,
        summary: "Files added by one layer are deleted by a later one and still shipped. Saving: the deleted bytes.",
    },
    CodeInfo {
        code: "overwritten-in-later-layer",
        severity: Severity::Info,
        summary: "Files added by one layer are replaced by different content later; the first copy is still shipped. Saving: the replaced bytes.",
    },
    CodeInfo {
        code: "build-tools-in-final-image",
        severity: Severity::Warning,
        summary: "Compilers, headers or toolchains are in the final image. Move the build to a builder stage. Saving: their bytes.",
    },
    CodeInfo {
        code: "run-as-root",
        severity: Severity::Warning,
        summary: "The image runs as root (no USER, or USER root/0).",
    },
    CodeInfo {
        code: "missing-expose",
        severity: Severity::Info,
        summary: "The command listens on a port (seen in CMD/ENTRYPOINT) that is not EXPOSEd.",
    },
    CodeInfo {
        code: "unpinned-base-image",
        severity: Severity::Warning,
        summary: "A base image has no tag or uses latest; or, from a public registry, is not pinned by digest (info).",
    },
    CodeInfo {
        code: "multiple-cmd",
        severity: Severity::Warning,
        summary: "A stage has more than one CMD or ENTRYPOINT; only the last counts.",
    },
    CodeInfo {
        code: "shell-form-cmd",
        severity: Severity::Warning,
        summary: "CMD or ENTRYPOINT in shell form: the process runs under /bin/sh -c and does not receive signals.",
    },
    CodeInfo {
        code: "use-copy-link",
        severity: Severity::Info,
        summary: "A COPY would keep its layer when earlier steps rebuild if it used --link. Saving: expected re-pushed bytes per change avoided, simulated.",
    },
    CodeInfo {
        code: "use-cache-mount",
        severity: Severity::Info,
        summary: "A package-manager RUN leaves its download cache in the layer; RUN --mount=type=cache keeps it out and reuses it between builds. Saving: the cache bytes in the layer.",
    },
];

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Finding {
    /// Stable kebab-case code (see [`CODES`]).
    pub code: String,
    /// Severity.
    pub severity: Severity,
    /// Dockerfile line, when known.
    pub line: Option<usize>,
    /// The layer, when the evidence is in the image.
    pub layer: Option<usize>,
    /// Bytes saved by the fix (0 when the finding is not about bytes).
    pub bytes_saved: u64,
    /// What is wrong, with the evidence.
    pub message: String,
    /// How to fix it.
    pub fix: String,
    /// Paths or facts backing the finding.
    pub evidence: Vec<String>,
    /// For simulated findings: expected bytes rebuilt per change before the fix.
    pub before_bytes_per_change: Option<u64>,
    /// For simulated findings: expected bytes rebuilt per change after the fix.
    pub after_bytes_per_change: Option<u64>,
    /// For simulated findings: what "per change" means (`per changed file`, `per commit`).
    pub per: Option<String>,
    /// True when the rewrite could change what the build does and needs a human look.
    pub needs_review: bool,
}

impl Default for Finding {
    fn default() -> Finding {
        Finding {
            code: String::new(),
            severity: Severity::Info,
            line: None,
            layer: None,
            bytes_saved: 0,
            message: String::new(),
            fix: String::new(),
            evidence: Vec::new(),
            before_bytes_per_change: None,
            after_bytes_per_change: None,
            per: None,
            needs_review: false,
        }
    }
}

impl Finding {
    /// A finding with no line and no saving (for findings from other sources, e.g. a gate
    /// fed by another linter).
    pub fn new(code: &str, severity: Severity, message: &str) -> Finding {
        Finding {
            code: code.to_string(),
            severity,
            message: message.to_string(),
            ..Finding::default()
        }
    }
    /// On Dockerfile line `line`.
    pub fn line(mut self, line: usize) -> Finding {
        self.line = Some(line);
        self
    }
    /// Saving `bytes`.
    pub fn bytes_saved(mut self, bytes: u64) -> Finding {
        self.bytes_saved = bytes;
        self
    }
}

/// All findings, and the proposed Dockerfile when a rewrite was found.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Recommendations {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Findings, most bytes saved first, then by code and line.
    pub recommendations: Vec<Finding>,
    /// The Dockerfile with the cache rewrites applied.
    pub proposed_dockerfile: Option<String>,
    /// The Dockerfile as given (to diff against).
    pub original_dockerfile: Option<String>,
}

/// What recommendations are computed from; each part is optional, and findings need their
/// evidence: without a Dockerfile, only image findings; without an image, only Dockerfile
/// findings (cache findings are then simulated without bytes).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct RecommendInput<'a> {
    /// The analysed image.
    pub analysis: Option<&'a Analysis>,
    /// The image's layers matched to the Dockerfile ([`Analysis::attribute`]), when already
    /// computed: saves computing it again.
    pub attribution: Option<&'a Attribution>,
    /// The Dockerfile it was built from.
    pub dockerfile: Option<&'a Dockerfile>,
    /// The Dockerfile's text (for rewrites).
    pub dockerfile_text: Option<&'a str>,
    /// The build context.
    pub context: Option<&'a BuildContext>,
    /// Git churn of the context, to weigh changes by how often files change.
    pub churn: Option<&'a Churn>,
    /// Build arguments of the build.
    pub build_args: BTreeMap<String, String>,
}

/// Cache directories package managers leave behind, with the manager's name.
const CACHE_DIRS: &[(&str, &str)] = &[
    ("var/lib/apt/lists/", "apt lists"),
    ("var/cache/apt/", "apt cache"),
    ("var/cache/apk/", "apk cache"),
    ("var/cache/dnf/", "dnf cache"),
    ("var/cache/yum/", "yum cache"),
    ("root/.cache/pip/", "pip cache"),
    ("root/.npm/", "npm cache"),
    ("root/.cache/yarn/", "yarn cache"),
    ("usr/local/share/.cache/yarn/", "yarn cache"),
    ("root/.cache/go-build/", "go build cache"),
    ("root/.cargo/registry/", "cargo registry"),
    ("root/.m2/repository/", "maven repository"),
    ("root/.gradle/caches/", "gradle cache"),
];

/// Files that betray a toolchain in the final image.
fn is_build_tool(path: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "usr/lib/gcc/",
        "usr/libexec/gcc/",
        "usr/include/",
        "usr/local/include/",
        "usr/local/go/",
        "usr/lib/go/",
        "root/.rustup/",
        "usr/local/rustup/",
        "usr/local/cargo/bin/",
        "usr/lib/jvm/java-",
        "usr/share/maven/",
    ];
    const BINARIES: &[&str] = &[
        "gcc", "g++", "cc", "c++", "clang", "clang++", "cpp", "ld", "as", "make", "cmake", "go",
        "rustc", "cargo", "javac", "mvn", "gradle", "tsc",
    ];
    if PREFIXES.iter().any(|p| path.starts_with(p)) {
        return true;
    }
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    let base_tool = base.split('-').next().unwrap_or(base);
    matches!(dir, "usr/bin" | "usr/local/bin" | "bin")
        && (BINARIES.contains(&base)
            || (BINARIES.contains(&base_tool)
                && base.len() > base_tool.len()
                && base[base_tool.len()..].starts_with("-1")))
}

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

fn finding(
    code: &str,
    line: Option<usize>,
    layer: Option<usize>,
    bytes_saved: u64,
    message: String,
    fix: String,
) -> Finding {
    let severity = CODES
        .iter()
        .find(|c| c.code == code)
        .map_or(Severity::Info, |c| c.severity);
    Finding {
        code: code.to_string(),
        severity,
        line,
        layer,
        bytes_saved,
        message,
        fix,
        evidence: Vec::new(),
        before_bytes_per_change: None,
        after_bytes_per_change: None,
        per: None,
        needs_review: false,
    }
}

use crate::units::format_size as human;

/// Compute every finding the inputs give evidence for.
///
/// # Errors
/// The Dockerfile cannot be evaluated, or the context cannot be read.
pub fn recommend(input: &RecommendInput<'_>) -> Result<Recommendations> {
    let mut out: Vec<Finding> = Vec::new();
    let report = input.analysis.map(Analysis::figures);
    let owned;
    let attribution = match (input.attribution, input.analysis, input.dockerfile) {
        (Some(a), _, _) => Some(a),
        (None, Some(a), Some(df)) => {
            owned = a.attribute(df, &input.build_args)?;
            Some(&owned)
        }
        _ => None,
    };
    let line_of_layer = |l: usize| -> Option<usize> {
        attribution?
            .instructions
            .iter()
            .find(|c| c.layers.contains(&l))
            .map(|c| c.line)
    };
    if let (Some(a), Some(r)) = (input.analysis, report) {
        image_findings(a, r, &line_of_layer, &mut out);
    }
    let mut proposed = None;
    if let Some(df) = input.dockerfile {
        dockerfile_findings(df, report, &mut out);
        if let (Some(ctx), Some(text)) = (input.context, input.dockerfile_text) {
            if let Some((f, rewritten)) = split_dependency_copy(input, attribution, df, ctx, text)?
            {
                out.push(f);
                proposed = Some(rewritten);
            }
            out.extend(use_copy_link(input, attribution, df, ctx)?);
            if let Some(churn) = input.churn {
                out.extend(reorder_for_cache(input, attribution, df, ctx, text, churn)?);
            }
        }
        // use-cache-mount: a package-manager RUN whose layer keeps a cache.
        if report.is_some() {
            for f in out
                .clone()
                .iter()
                .filter(|f| f.code == "cleanup-in-same-layer")
            {
                let Some(line) = f.line else { continue };
                let Some(step) = df.instructions().find(|i| i.span.first_line == line) else {
                    continue;
                };
                if let InstructionKind::Run(run) = &step.kind
                    && !run
                        .mounts
                        .iter()
                        .any(|m| m.mount_type == crate::dockerfile::MountType::Cache)
                {
                    let mut c = finding(
                        "use-cache-mount",
                        Some(line),
                        f.layer,
                        f.bytes_saved,
                        format!(
                            "line {line} downloads packages into a cache that stays in the layer ({})",
                            human(f.bytes_saved)
                        ),
                        format!(
                            "mount the cache instead: RUN --mount=type=cache,target=/{} ... (alternative to cleaning up in the same RUN)",
                            f.evidence
                                .first()
                                .map_or("root/.cache", |e| e
                                    .split(' ')
                                    .next()
                                    .unwrap_or("root/.cache"))
                                .trim_end_matches('/')
                        ),
                    );
                    c.evidence = f.evidence.clone();
                    out.push(c);
                }
            }
        }
    }
    out.sort_by(|a, b| {
        b.bytes_saved
            .cmp(&a.bytes_saved)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.code.cmp(&b.code))
            .then(a.line.cmp(&b.line))
            .then(a.layer.cmp(&b.layer))
    });
    Ok(Recommendations {
        schema_version: SCHEMA_VERSION,
        recommendations: out,
        proposed_dockerfile: proposed,
        original_dockerfile: input.dockerfile_text.map(str::to_string),
    })
}

fn image_findings(
    a: &Analysis,
    r: &ImageFigures,
    line_of_layer: &dyn Fn(usize) -> Option<usize>,
    out: &mut Vec<Finding>,
) {
    // Waste by kind and by the pair of layers involved.
    // One finding per fix: per kind of waste and the layer that hid the bytes.
    type Group = (u64, Vec<String>, Vec<usize>);
    let mut groups: BTreeMap<(WasteKind, usize), Group> = BTreeMap::new();
    for w in &r.waste {
        let kind = if w.kind == WasteKind::HiddenByOpaque {
            WasteKind::Deleted
        } else {
            w.kind
        };
        let g = groups.entry((kind, w.hidden_by_layer)).or_default();
        g.0 += w.bytes;
        g.1.push(w.path.clone());
        if !g.2.contains(&w.added_by_layer) {
            g.2.push(w.added_by_layer);
        }
    }
    for ((kind, hidden), (bytes, paths, mut added)) in groups {
        added.sort_unstable();
        let added = added
            .iter()
            .map(|l| l.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        if bytes == 0 {
            continue;
        }
        let (code, what, fix) = match kind {
            WasteKind::MetadataCopyUp => (
                "metadata-copy-up",
                "ships again, with identical content,",
                if r.layers
                    .get(hidden)
                    .and_then(|l| l.created_by.as_deref())
                    .is_some_and(|c| c.contains("COPY") || c.contains("ADD"))
                {
                    "a later COPY copies the same files again: exclude them from it (COPY --exclude) or copy them once".to_string()
                } else {
                    "set modes and owners when the files are first added (COPY --chmod/--chown, or in the same RUN) instead of in a later step".to_string()
                },
            ),
            WasteKind::Deleted | WasteKind::HiddenByOpaque => (
                "deleted-in-later-layer",
                "deletes",
                "do not add these files, or remove them in the same RUN that creates them"
                    .to_string(),
            ),
            WasteKind::Overwritten => (
                "overwritten-in-later-layer",
                "replaces",
                "write the final content once, in one step".to_string(),
            ),
        };
        let n = paths.len();
        let mut f = finding(
            code,
            line_of_layer(hidden),
            Some(hidden),
            bytes,
            format!(
                "layer {hidden} {what} {n} file{} ({}) that layer(s) {added} added: {}{}",
                if n == 1 { "" } else { "s" },
                human(bytes),
                paths.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                if n > 3 { ", ..." } else { "" }
            ),
            fix,
        );
        f.evidence = paths.into_iter().take(20).collect();
        out.push(f);
    }
    // Caches left in layers, and toolchains in the final image.
    let mut caches: BTreeMap<(usize, &str, &str), u64> = BTreeMap::new();
    let mut tools: (u64, Vec<String>) = (0, Vec::new());
    a.for_each_final_file(|path, size, layer| {
        let Some(layer) = layer else { return };
        if let Some((prefix, name)) = CACHE_DIRS.iter().find(|(p, _)| path.starts_with(p)) {
            *caches.entry((layer, prefix, name)).or_default() += size;
        }
        if is_build_tool(path) {
            tools.0 += size;
            if tools.1.len() < 20 {
                tools.1.push(path.to_string());
            }
        }
    });
    for ((layer, prefix, name), bytes) in caches {
        if bytes == 0 {
            continue;
        }
        let line = line_of_layer(layer);
        let mut f = finding(
            "cleanup-in-same-layer",
            line,
            Some(layer),
            bytes,
            format!(
                "layer {layer} keeps the {name} in /{prefix} ({})",
                human(bytes)
            ),
            format!("remove /{prefix} in the same RUN that fills it (or mount it as a cache)"),
        );
        f.evidence = vec![format!("{prefix} {bytes} bytes")];
        out.push(f);
    }
    if tools.0 > 0 {
        let mut f = finding(
            "build-tools-in-final-image",
            None,
            None,
            tools.0,
            format!("the final image carries build tools ({}): {}", human(tools.0), tools.1.iter().take(3).cloned().collect::<Vec<_>>().join(", ")),
            "build in a builder stage and COPY --from only the artefacts into a minimal final stage".into(),
        );
        f.evidence = tools.1;
        out.push(f);
    }
    // Runtime configuration.
    let user = r.image.user.trim();
    let root = user.is_empty() || matches!(user.split(':').next().unwrap_or(""), "root" | "0");
    if root {
        out.push(finding(
            "run-as-root",
            None,
            None,
            0,
            format!(
                "the image runs as root (User is {})",
                if user.is_empty() {
                    "unset".to_string()
                } else {
                    format!("{user:?}")
                }
            ),
            "create an unprivileged user and add USER <name> at the end of the final stage".into(),
        ));
    }
}

/// Words that follow port flags, `:PORT` in addresses.
fn ports_in(cmd: &str) -> Vec<String> {
    let words: Vec<&str> = cmd
        .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '[' || c == ']')
        .filter(|w| !w.is_empty())
        .collect();
    let mut ports = Vec::new();
    let valid = |s: &str| {
        s.parse::<u32>()
            .ok()
            .filter(|p| (1..=65535).contains(p))
            .map(|p| p.to_string())
    };
    for (i, w) in words.iter().enumerate() {
        if matches!(*w, "-p" | "--port" | "-port" | "--listen")
            && let Some(p) = words
                .get(i + 1)
                .and_then(|n| valid(n.rsplit(':').next().unwrap_or(n)))
        {
            ports.push(p);
        }
        if let Some(v) = w
            .strip_prefix("--port=")
            .or_else(|| w.strip_prefix("PORT="))
            .and_then(valid)
        {
            ports.push(v);
        }
        if let Some((host, port)) = w.rsplit_once(':')
            && (host.is_empty() || host.contains('.') || host == "localhost")
            && !w.contains("//")
            && let Some(p) = valid(port)
        {
            ports.push(p);
        }
    }
    ports.sort();
    ports.dedup();
    ports
}

fn is_public_registry(image: &str) -> bool {
    let first = image.split('/').next().unwrap_or("");
    let has_registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    if !has_registry {
        return true; // Docker Hub
    }
    matches!(
        first,
        "docker.io"
            | "index.docker.io"
            | "registry-1.docker.io"
            | "ghcr.io"
            | "quay.io"
            | "gcr.io"
            | "mcr.microsoft.com"
            | "public.ecr.aws"
            | "registry.k8s.io"
            | "registry.access.redhat.com"
            | "cgr.dev"
    ) || first.ends_with(".gcr.io")
}

fn dockerfile_findings(df: &Dockerfile, report: Option<&ImageFigures>, out: &mut Vec<Finding>) {
    for stage in df.stages() {
        // Base images.
        if let Some(BaseRef::Image(name)) = stage.base_ref() {
            let line = stage.span().first_line;
            let (repo, digest) = match name.split_once('@') {
                Some((r, d)) => (r, Some(d)),
                None => (name.as_str(), None),
            };
            let last = repo.rsplit('/').next().unwrap_or(repo);
            let tag = last.split_once(':').map(|(_, t)| t);
            if digest.is_none() {
                match tag {
                    None | Some("latest") => out.push(finding(
                        "unpinned-base-image",
                        Some(line),
                        None,
                        0,
                        format!("FROM {name} has {}: every build may get a different base, and the cache with it", if tag.is_none() { "no tag (latest is implied)" } else { "the latest tag" }),
                        format!("name a version tag{}", if is_public_registry(repo) { " and pin its digest (FROM image:tag@sha256:...)" } else { "" }),
                    )),
                    Some(_) if is_public_registry(repo) => {
                        let mut f = finding(
                            "unpinned-base-image",
                            Some(line),
                            None,
                            0,
                            format!("FROM {name} comes from a public registry without a digest: the tag can move"),
                            "pin the digest as well: FROM image:tag@sha256:...".into(),
                        );
                        f.severity = Severity::Info;
                        out.push(f);
                    }
                    Some(_) => {}
                }
            }
        }
        // CMD / ENTRYPOINT.
        for (kw, name) in [
            (crate::dockerfile::Keyword::Cmd, "CMD"),
            (crate::dockerfile::Keyword::Entrypoint, "ENTRYPOINT"),
        ] {
            let all: Vec<&crate::dockerfile::Instruction> = stage
                .instructions()
                .iter()
                .filter(|i| i.keyword == kw)
                .collect();
            if all.len() > 1 {
                let lines: Vec<String> =
                    all.iter().map(|i| i.span.first_line.to_string()).collect();
                out.push(finding(
                    "multiple-cmd",
                    all.first().map(|i| i.span.first_line),
                    None,
                    0,
                    format!(
                        "stage {} has {} {name} instructions (lines {}); only the last one counts",
                        stage.index(),
                        all.len(),
                        lines.join(", ")
                    ),
                    format!("keep one {name} per stage"),
                ));
            }
            for i in &all {
                if let InstructionKind::Cmd(CommandForm::Shell(s))
                | InstructionKind::Entrypoint(CommandForm::Shell(s)) = &i.kind
                {
                    out.push(finding(
                        "shell-form-cmd",
                        Some(i.span.first_line),
                        None,
                        0,
                        format!("{name} {s} is in shell form: it runs under /bin/sh -c, which does not pass signals on"),
                        format!("use the exec form: {name} [\"{}\"]", s.split_whitespace().collect::<Vec<_>>().join("\", \"")),
                    ));
                }
            }
        }
    }
    // Ports the final stage's command listens on but does not expose.
    let Some(last) = df.stages().last() else {
        return;
    };
    let mut exposed: Vec<String> = report
        .map(|r| r.image.exposed_ports.clone())
        .unwrap_or_default();
    let mut cmd_text = String::new();
    let mut cmd_line = None;
    for i in last.instructions() {
        match &i.kind {
            InstructionKind::Expose(ps) => exposed.extend(ps.iter().cloned()),
            InstructionKind::Cmd(f) | InstructionKind::Entrypoint(f) => {
                cmd_line = Some(i.span.first_line);
                match f {
                    CommandForm::Shell(s) => cmd_text.push_str(s),
                    CommandForm::Exec(v) => cmd_text.push_str(&v.join(" ")),
                }
                cmd_text.push(' ');
            }
            _ => {}
        }
    }
    let exposed_ports: Vec<String> = exposed
        .iter()
        .map(|p| p.split('/').next().unwrap_or(p).to_string())
        .collect();
    let missing: Vec<String> = ports_in(&cmd_text)
        .into_iter()
        .filter(|p| !exposed_ports.contains(p))
        .collect();
    if !missing.is_empty() {
        out.push(finding(
            "missing-expose",
            cmd_line,
            None,
            0,
            format!(
                "the command listens on port {} but the image does not EXPOSE it",
                missing.join(", ")
            ),
            format!("add EXPOSE {}", missing.join(" ")),
        ));
    }
}

/// The Dockerfile as given, its steps costed with the image's layers when there is one.
fn original_simulator<'s>(
    input: &RecommendInput<'_>,
    attribution: Option<&Attribution>,
    df: &'s Dockerfile,
    ctx: &'s BuildContext,
) -> Result<Simulator<'s>> {
    let sim = Simulator::new(df, ctx, None, input.build_args.clone())?;
    Ok(match (input.analysis, attribution) {
        (Some(a), Some(attr)) => sim.with_image(a, attr),
        _ => sim,
    })
}

/// The (stage, index) of each step, with the layer cost the image gives it.
fn step_costs_from(sim: &Simulator<'_>) -> BTreeMap<String, (u64, u64)> {
    let mut out = BTreeMap::new();
    if let Some(stage) = sim.dockerfile().stages().get(sim.target()) {
        for (i, ins) in stage.instructions().iter().enumerate() {
            if let Some(c) = sim.step_cost(stage.index(), i) {
                out.insert(ins.original.clone(), c);
            }
        }
    }
    out
}

/// Candidate changes: each commit of the churn, or each file the build selects.
fn candidate_changes(
    input: &RecommendInput<'_>,
    df: &Dockerfile,
    ctx: &BuildContext,
) -> (Vec<Change>, String) {
    if let Some(churn) = input.churn
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
    // Every context file some COPY/ADD of the target stage selects (sampled evenly when huge).
    let mut paths: Vec<String> = Vec::new();
    if let Some(stage) = df.stages().last()
        && let Ok(eval) = df.evaluate(stage.index(), &input.build_args)
    {
        for step in &eval.steps {
            if let InstructionKind::Copy(c) | InstructionKind::Add(c) = &step.kind
                && c.from.is_none()
                && !c.sources.is_empty()
            {
                let sel = Selection {
                    sources: c.sources.clone(),
                    excludes: c.excludes.clone(),
                    parents: c.parents,
                };
                if let Ok(files) = ctx.select(&sel) {
                    paths.extend(
                        files
                            .into_iter()
                            .filter(|f| f.kind == crate::context::ContextEntryKind::File)
                            .map(|f| f.path),
                    );
                }
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

/// Price a rewritten Dockerfile with the costs of the steps it keeps (matched by text) and
/// the sizes of the files its new COPY steps select.
fn simulate_rewrite(
    input: &RecommendInput<'_>,
    ctx: &BuildContext,
    original_costs: &BTreeMap<String, (u64, u64)>,
    rewritten: &Dockerfile,
    changes: &[Change],
) -> Result<(u64, u64)> {
    let mut costs = Vec::new();
    if let Some(stage) = rewritten.stages().last() {
        let eval = rewritten.evaluate(stage.index(), &input.build_args)?;
        for (step, ins) in eval.steps.iter().zip(stage.instructions()) {
            let cost = match original_costs.get(&ins.original) {
                Some(c) => Some(*c),
                None => match &step.kind {
                    InstructionKind::Copy(c) if c.from.is_none() => {
                        let sel = Selection {
                            sources: c.sources.clone(),
                            excludes: c.excludes.clone(),
                            parents: c.parents,
                        };
                        let bytes: u64 = ctx
                            .select(&sel)
                            .map(|f| f.iter().map(|x| x.size_bytes).sum())
                            .unwrap_or(0);
                        Some((bytes, bytes))
                    }
                    _ => None,
                },
            };
            if let Some(c) = cost {
                costs.push(((stage.index(), step.index), c));
            }
        }
    }
    let sim =
        Simulator::new(rewritten, ctx, None, input.build_args.clone())?.with_step_costs(&costs);
    mean_cost(&sim, changes)
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
fn split_dependency_copy(
    input: &RecommendInput<'_>,
    attribution: Option<&Attribution>,
    df: &Dockerfile,
    ctx: &BuildContext,
    text: &str,
) -> Result<Option<(Finding, String)>> {
    let Some(stage) = df.stages().last() else {
        return Ok(None);
    };
    let eval = df.evaluate(stage.index(), &input.build_args)?;
    let steps = &eval.steps;
    for (ci, step) in steps.iter().enumerate() {
        let InstructionKind::Copy(c) = &step.kind else {
            continue;
        };
        if c.from.is_some() || c.sources.is_empty() {
            continue;
        }
        let sel = Selection {
            sources: c.sources.clone(),
            excludes: c.excludes.clone(),
            parents: c.parents,
        };
        let Ok(selected) = ctx.select(&sel) else {
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
            .filter(|f| f.kind == crate::context::ContextEntryKind::File)
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
        let between: Vec<&crate::dockerfile::EvaluatedInstruction> =
            steps.iter().skip(ci + 1).take(ri - ci - 1).collect();
        let needs_review = between.iter().any(|s| {
            !matches!(
                s.kind,
                InstructionKind::Expose(_) | InstructionKind::Label(_)
            )
        });
        // Rewrite the text: [.. copy) + early COPYs + RUN + COPY + between + (RUN ..].
        let lines: Vec<&str> = text.lines().collect();
        let span = |s: &crate::dockerfile::EvaluatedInstruction| {
            (s.span.first_line.saturating_sub(1), s.span.last_line)
        };
        let (c0, c1) = span(step);
        let (r0, r1) = span(run);
        if c1 > r0 || r1 > lines.len() {
            continue;
        }
        let dest = c.dest.clone();
        let dest_dir = if dest.ends_with('/') {
            dest.clone()
        } else {
            format!("{dest}/")
        };
        let mut new_lines: Vec<String> = lines
            .get(..c0)
            .unwrap_or(&[])
            .iter()
            .map(|s| s.to_string())
            .collect();
        new_lines.push(
            "# Dependency manifests first: the install below stays cached until they change."
                .into(),
        );
        let top: Vec<&String> = early.iter().filter(|p| !p.contains('/')).collect();
        if !top.is_empty() {
            new_lines.push(format!(
                "COPY {} {dest_dir}",
                top.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" ")
            ));
        }
        for p in early.iter().filter(|p| p.contains('/')) {
            let parent = p.rsplit_once('/').map_or("", |(d, _)| d);
            new_lines.push(format!("COPY {p} {dest_dir}{parent}/"));
        }
        new_lines.extend(
            lines
                .get(r0..r1)
                .unwrap_or(&[])
                .iter()
                .map(|s| s.to_string()),
        );
        new_lines.extend(
            lines
                .get(c0..c1)
                .unwrap_or(&[])
                .iter()
                .map(|s| s.to_string()),
        );
        new_lines.extend(
            lines
                .get(c1..r0)
                .unwrap_or(&[])
                .iter()
                .map(|s| s.to_string()),
        );
        new_lines.extend(lines.get(r1..).unwrap_or(&[]).iter().map(|s| s.to_string()));
        let mut rewritten_text = new_lines.join("\n");
        rewritten_text.push('\n');
        let Ok(rewritten) = Dockerfile::parse_named(&rewritten_text, df.file_name()) else {
            continue;
        };
        // Simulate both.
        let (changes, per) = candidate_changes(input, df, ctx);
        let original = original_simulator(input, attribution, df, ctx)?;
        let costs = step_costs_from(&original);
        let (before, before_push) = mean_cost(&original, &changes)?;
        let (after, after_push) = simulate_rewrite(input, ctx, &costs, &rewritten, &changes)?;
        let eco = manifests.first().map_or("", |m| m.1);
        let with_image = input.analysis.is_some();
        let mut f = finding(
            "split-dependency-copy",
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
        f.per = Some(per);
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
fn use_copy_link(
    input: &RecommendInput<'_>,
    attribution: Option<&Attribution>,
    df: &Dockerfile,
    ctx: &BuildContext,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    if input.analysis.is_none() {
        return Ok(out); // the saving is in bytes: without an image there is no evidence
    }
    let Some(stage) = df.stages().last() else {
        return Ok(out);
    };
    let (changes, per) = candidate_changes(input, df, ctx);
    if changes.is_empty() {
        return Ok(out);
    }
    let original = original_simulator(input, attribution, df, ctx)?;
    let (before, _) = mean_cost(&original, &changes)?;
    let costs = step_costs_from(&original);
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
        let mut lines = text_lines.clone();
        let Some(l) = lines.get_mut(ins.span.first_line.saturating_sub(1)) else {
            continue;
        };
        let Some(pos) = l.to_ascii_uppercase().find("COPY") else {
            continue;
        };
        l.insert_str(pos + 4, " --link");
        let new_text = lines.join("\n") + "\n";
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
        let (after, _) = simulate_rewrite(input, ctx, &costs2, &rewritten, &changes)?;
        if after < before {
            let mut f = finding(
                "use-copy-link",
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
            f.per = Some(per.clone());
            out.push(f);
        }
    }
    Ok(out)
}

/// Two COPY steps in a row (nothing between them that could read the second's files) where
/// the first changes more often: move the second above. Needs git history.
fn reorder_for_cache(
    input: &RecommendInput<'_>,
    attribution: Option<&Attribution>,
    df: &Dockerfile,
    ctx: &BuildContext,
    text: &str,
    churn: &Churn,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let Some(stage) = df.stages().last() else {
        return Ok(out);
    };
    let eval = df.evaluate(stage.index(), &input.build_args)?;
    let freq = |c: &crate::dockerfile::CopyArgs| -> usize {
        let sel = Selection {
            sources: c.sources.clone(),
            excludes: c.excludes.clone(),
            parents: c.parents,
        };
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
        let (a0, a1) = (a.span.first_line.saturating_sub(1), a.span.last_line);
        let (b0, b1) = (b.span.first_line.saturating_sub(1), b.span.last_line);
        if a1 > b0 || b1 > lines.len() {
            continue;
        }
        let mut new_lines: Vec<&str> = lines.get(..a0).unwrap_or(&[]).to_vec();
        new_lines.extend(lines.get(b0..b1).unwrap_or(&[]));
        new_lines.extend(lines.get(a1..b0).unwrap_or(&[]));
        new_lines.extend(lines.get(a0..a1).unwrap_or(&[]));
        new_lines.extend(lines.get(b1..).unwrap_or(&[]));
        let new_text = new_lines.join("\n") + "\n";
        let Ok(rewritten) = Dockerfile::parse_named(&new_text, df.file_name()) else {
            continue;
        };
        let (changes, per) = candidate_changes(input, df, ctx);
        let original = original_simulator(input, attribution, df, ctx)?;
        let costs = step_costs_from(&original);
        let (before, _) = mean_cost(&original, &changes)?;
        let (after, _) = simulate_rewrite(input, ctx, &costs, &rewritten, &changes)?;
        if after < before || input.analysis.is_none() {
            // Overlapping destinations make the order matter: a human should look.
            let overlap = ca.dest == cb.dest || cb.dest.starts_with(ca.dest.trim_end_matches('/'));
            let mut f = finding(
                "reorder-for-cache",
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
            f.per = Some(per);
            f.needs_review = overlap;
            out.push(f);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_in_commands() {
        assert_eq!(ports_in("httpd -f -p 8080 -h /srv/www"), vec!["8080"]);
        assert_eq!(ports_in("node server.js --port=3000"), vec!["3000"]);
        assert_eq!(ports_in("gunicorn -b 0.0.0.0:8000 app"), vec!["8000"]);
        assert!(ports_in("node index.js").is_empty());
        assert!(ports_in("curl http://x:80/").is_empty());
    }

    #[test]
    fn build_tools() {
        assert!(is_build_tool("usr/bin/gcc"));
        assert!(is_build_tool("usr/bin/gcc-12"));
        assert!(is_build_tool("usr/include/stdio.h"));
        assert!(!is_build_tool("usr/bin/gcc-ar-tool"));
        assert!(!is_build_tool("bin/busybox"));
        assert!(!is_build_tool("usr/bin/make-first-existing-target"));
    }

    #[test]
    fn registries() {
        assert!(is_public_registry("debian"));
        assert!(is_public_registry("library/debian"));
        assert!(is_public_registry("ghcr.io/x/y"));
        assert!(!is_public_registry("localhost/busybox-base"));
        assert!(!is_public_registry("registry.corp.example:5000/base"));
    }

    #[test]
    fn every_code_is_documented_once() {
        let mut codes: Vec<&str> = CODES.iter().map(|c| c.code).collect();
        codes.sort_unstable();
        let n = codes.len();
        codes.dedup();
        assert_eq!(codes.len(), n);
        assert!(n >= 13);
    }
}
