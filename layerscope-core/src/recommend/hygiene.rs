//! Hygiene findings: how the image runs and how its Dockerfile names things, read from the
//! image configuration and the Dockerfile (no bytes saved).
//!
//! - run-as-root: the config's `User` is empty, `root` or `0` (OCI image spec, config.md,
//!   "config.User");
//! - unpinned-base-image: `FROM` without a tag, with `latest`, or from a public registry
//!   without a digest (Dockerfile reference, "FROM": `FROM image[:tag|@digest]`);
//! - multiple-cmd: more than one `CMD` or `ENTRYPOINT` in a stage, where only the last takes
//!   effect (Dockerfile reference, "CMD");
//! - shell-form-cmd: `CMD`/`ENTRYPOINT` in shell form, run by `/bin/sh -c`, which does not
//!   pass signals on (Dockerfile reference, "ENTRYPOINT", shell form);
//! - missing-expose: the final command listens on a port the image does not `EXPOSE`.

use super::finding::{Finding, finding};
use super::{FindingCode, Severity};
use crate::analysis::ImageFigures;
use crate::dockerfile::{BaseRef, CommandForm, Dockerfile, Instruction, InstructionKind, Keyword};

/// run-as-root, from the image configuration.
pub(super) fn run_as_root(r: &ImageFigures, out: &mut Vec<Finding>) {
    let user = r.image.user.trim();
    let root = user.is_empty() || matches!(user.split(':').next().unwrap_or(""), "root" | "0");
    if root {
        out.push(finding(
            FindingCode::RunAsRoot,
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

/// unpinned-base-image, multiple-cmd, shell-form-cmd and missing-expose, from the Dockerfile
/// (and the ports the image config already exposes).
pub(super) fn dockerfile_findings(
    df: &Dockerfile,
    report: Option<&ImageFigures>,
    out: &mut Vec<Finding>,
) {
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
                        FindingCode::UnpinnedBaseImage,
                        Some(line),
                        None,
                        0,
                        format!("FROM {name} has {}: every build may get a different base, and the cache with it", if tag.is_none() { "no tag (latest is implied)" } else { "the latest tag" }),
                        format!("name a version tag{}", if is_public_registry(repo) { " and pin its digest (FROM image:tag@sha256:...)" } else { "" }),
                    )),
                    Some(_) if is_public_registry(repo) => {
                        let mut f = finding(
                            FindingCode::UnpinnedBaseImage,
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
        for (kw, name) in [(Keyword::Cmd, "CMD"), (Keyword::Entrypoint, "ENTRYPOINT")] {
            let all: Vec<&Instruction> = stage
                .instructions()
                .iter()
                .filter(|i| i.keyword == kw)
                .collect();
            if all.len() > 1 {
                let lines: Vec<String> =
                    all.iter().map(|i| i.span.first_line.to_string()).collect();
                out.push(finding(
                    FindingCode::MultipleCmd,
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
                        FindingCode::ShellFormCmd,
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
            FindingCode::MissingExpose,
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
    fn registries() {
        assert!(is_public_registry("debian"));
        assert!(is_public_registry("library/debian"));
        assert!(is_public_registry("ghcr.io/x/y"));
        assert!(!is_public_registry("localhost/busybox-base"));
        assert!(!is_public_registry("registry.corp.example:5000/base"));
    }
}
