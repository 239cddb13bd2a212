//! Leftovers: files the final image shows that it does not need at run time.
//!
//! - cleanup-in-same-layer: a package manager's cache or lists under one of `CACHE_DIRS`,
//!   kept in the layer that wrote them (deleting them in a later step does not shrink the
//!   image: the bytes stay in the earlier layer, OCI image spec, layer.md,
//!   "Whiteouts");
//! - use-cache-mount: the same bytes, for a `RUN` that could mount the cache instead
//!   (`RUN --mount=type=cache`, Dockerfile reference), an alternative to cleaning up;
//! - build-tools-in-final-image: compilers, headers and toolchains, which a multi-stage build
//!   leaves in a builder stage (Dockerfile reference, "FROM", and the multi-stage builds
//!   guide, docs.docker.com/build/building/multi-stage/).

use super::FindingCode;
use super::finding::{Finding, finding};
use super::savings::SavedItem;
use crate::analysis::Analysis;
use crate::dockerfile::{Dockerfile, InstructionKind, MountType};
use crate::units::format_size as human;
use std::collections::BTreeMap;

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

/// cleanup-in-same-layer (one finding per layer and cache directory) and
/// build-tools-in-final-image, from one walk over the final files.
pub(super) fn findings(
    a: &Analysis,
    line_of_layer: &dyn Fn(usize) -> Option<usize>,
    out: &mut Vec<Finding>,
) {
    let mut caches: BTreeMap<(usize, &str, &str), (u64, Vec<SavedItem>)> = BTreeMap::new();
    let mut tools: (u64, Vec<String>, Vec<SavedItem>) = (0, Vec::new(), Vec::new());
    a.for_each_final_file(|path, size, layer| {
        let Some(layer) = layer else { return };
        if let Some((prefix, name)) = CACHE_DIRS.iter().find(|(p, _)| path.starts_with(p)) {
            let c = caches.entry((layer, prefix, name)).or_default();
            c.0 += size;
            if size > 0 {
                c.1.push(SavedItem::new(layer, path, size));
            }
        }
        if is_build_tool(path) {
            tools.0 += size;
            if tools.1.len() < 20 {
                tools.1.push(path.to_string());
            }
            if size > 0 {
                tools.2.push(SavedItem::new(layer, path, size));
            }
        }
    });
    for ((layer, prefix, name), (bytes, items)) in caches {
        if bytes == 0 {
            continue;
        }
        let line = line_of_layer(layer);
        let mut f = finding(
            FindingCode::CleanupInSameLayer,
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
        out.push(f.with_saved_items(items));
    }
    if tools.0 > 0 {
        let mut f = finding(
            FindingCode::BuildToolsInFinalImage,
            None,
            None,
            tools.0,
            format!("the final image carries build tools ({}): {}", human(tools.0), tools.1.iter().take(3).cloned().collect::<Vec<_>>().join(", ")),
            "build in a builder stage and COPY --from only the artefacts into a minimal final stage".into(),
        );
        f.evidence = tools.1;
        out.push(f.with_saved_items(tools.2));
    }
}

/// use-cache-mount: for each cleanup-in-same-layer finding on a `RUN` that mounts no cache,
/// the cache mount as the other way to keep those bytes out of the layer.
pub(super) fn cache_mounts(df: &Dockerfile, out: &mut Vec<Finding>) {
    let mut mounts = Vec::new();
    for f in out
        .iter()
        .filter(|f| f.code == FindingCode::CleanupInSameLayer)
    {
        let Some(line) = f.line else { continue };
        let Some(step) = df.instructions().find(|i| i.span.first_line == line) else {
            continue;
        };
        if let InstructionKind::Run(run) = &step.kind
            && !run.mounts.iter().any(|m| m.mount_type == MountType::Cache)
        {
            let mut c = finding(
                FindingCode::UseCacheMount,
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
            mounts.push(c.with_saved_items_of(f));
        }
    }
    out.extend(mounts);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_tools() {
        assert!(is_build_tool("usr/bin/gcc"));
        assert!(is_build_tool("usr/bin/gcc-12"));
        assert!(is_build_tool("usr/include/stdio.h"));
        assert!(!is_build_tool("usr/bin/gcc-ar-tool"));
        assert!(!is_build_tool("bin/busybox"));
        assert!(!is_build_tool("usr/bin/make-first-existing-target"));
    }
}
