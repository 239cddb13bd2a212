//! The cache model on small multi-stage and build-arg cases (a Dockerfile and a context
//! written to a temporary directory), whose answers follow from BuildKit's documented rules.

use layerscope_core::{BuildContext, Change, ChangeOutcome, Dockerfile, MissReason, Simulator};
use std::collections::BTreeMap;
use std::path::Path;

/// The steps `change` rebuilds in the build `temp_build` wrote (no image, no build args).
fn lines_for(dir: &Path, change: Change) -> (Vec<usize>, ChangeOutcome) {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    let df = Dockerfile::parse_named(&text, "Dockerfile").unwrap();
    let ctx = BuildContext::open(&dir.join("context"), None).unwrap();
    let out = Simulator::new(&df, &ctx, None, BTreeMap::new())
        .unwrap()
        .simulate(&change)
        .unwrap();
    (out.rebuilt_steps.iter().map(|s| s.line).collect(), out)
}

fn temp_build(dockerfile: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (p, c) in files {
        let path = dir.path().join("context").join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("context")).unwrap();
    dir
}

#[test]
fn arg_invalidates_first_run_even_unreferenced() {
    let d = temp_build(
        "FROM scratch\nCOPY a /a\nARG V=1\nCOPY b /b\nRUN true\nRUN echo $V\n",
        &[("a", "1"), ("b", "2")],
    );
    let (lines, _) = lines_for(
        d.path(),
        Change::BuildArg {
            name: "V".into(),
            value: "2".into(),
        },
    );
    assert_eq!(lines, vec![5, 6]);
}

#[test]
fn multi_stage_copy_from_and_unused_stages() {
    let df = "FROM scratch AS builder\nCOPY app/ /src/app/\nCOPY notes.txt /src/notes.txt\n\
              FROM scratch AS unused\nCOPY other.txt /o\n\
              FROM scratch\nCOPY --from=builder /src/app /app\nCOPY main.txt /main.txt\n";
    let files = [
        ("app/x", "x"),
        ("notes.txt", "n"),
        ("other.txt", "o"),
        ("main.txt", "m"),
    ];
    let d = temp_build(df, &files);
    // notes.txt only reaches builder:/src/notes.txt, which the final stage does not read.
    let (lines, _) = lines_for(d.path(), Change::path("notes.txt"));
    assert_eq!(lines, vec![3]);
    // app/x reaches /src/app: the final stage's COPY --from misses, and the COPY after it.
    let (lines, out) = lines_for(d.path(), Change::path("app/x"));
    assert_eq!(lines, vec![2, 3, 7, 8]);
    assert_eq!(out.rebuilt_steps[2].reason, MissReason::StageOutput);
    assert!(!out.rebuilt_steps[2].conditional);
    // The unused stage is never built.
    let (lines, _) = lines_for(d.path(), Change::path("other.txt"));
    assert!(lines.is_empty());
}

#[test]
fn copy_from_a_rerun_step_is_conditional() {
    let df = "FROM scratch AS builder\nCOPY src/ /src/\nRUN build\nFROM scratch\nCOPY --from=builder /out /out\n";
    let d = temp_build(df, &[("src/a.c", "int main;")]);
    let (lines, out) = lines_for(d.path(), Change::path("src/a.c"));
    assert_eq!(lines, vec![2, 3, 5]);
    assert!(out.rebuilt_steps[2].conditional);
}

#[test]
fn copy_link_keeps_its_layer() {
    let df = "FROM scratch\nCOPY a /a\nCOPY --link b /b\nCOPY c /c\n";
    let d = temp_build(df, &[("a", "1"), ("b", "2"), ("c", "3")]);
    let (lines, _) = lines_for(d.path(), Change::path("a"));
    assert_eq!(lines, vec![2, 4]);
}

#[test]
fn from_stage_propagates_everything() {
    let df = "FROM scratch AS base\nCOPY a /a\nFROM base\nENV X=1\nCOPY b /b\n";
    let d = temp_build(df, &[("a", "1"), ("b", "2")]);
    let (lines, out) = lines_for(d.path(), Change::path("a"));
    assert_eq!(lines, vec![2, 4, 5]);
    assert_eq!(out.rebuilt_steps[1].reason, MissReason::ParentStage);
}

#[test]
fn bind_mount_from_context() {
    let df =
        "FROM scratch\nCOPY a /a\nRUN --mount=type=bind,source=deps,target=/d true\nRUN true\n";
    let d = temp_build(df, &[("a", "1"), ("deps/x", "2"), ("other", "3")]);
    let (lines, _) = lines_for(d.path(), Change::path("deps/x"));
    assert_eq!(lines, vec![3, 4]);
    let (lines, _) = lines_for(d.path(), Change::path("other"));
    assert!(lines.is_empty());
}

#[test]
fn copy_into_a_directory_changes_only_the_copied_paths() {
    // `COPY notes.txt ./` writes /src/notes.txt, not all of /src: the final stage's
    // `COPY --from=builder /src/app` keeps its cache (buildah agrees, tests/buildah.rs).
    let df = "FROM scratch AS builder\nWORKDIR /src\nCOPY app/ ./app/\nCOPY notes.txt ./\n\
              COPY . /ctx/\n\
              FROM scratch\nCOPY --from=builder /src/app /app\nCOPY --from=builder /ctx/b /b\n";
    let d = temp_build(df, &[("app/x", "x"), ("notes.txt", "n"), ("b/y", "y")]);
    let (lines, _) = lines_for(d.path(), Change::path("notes.txt"));
    assert_eq!(lines, vec![4, 5]);
    // A directory source's contents land below the destination.
    let (lines, out) = lines_for(d.path(), Change::path("app/x"));
    assert_eq!(lines, vec![3, 4, 5, 7, 8]);
    assert!(!out.rebuilt_steps[3].conditional);
    // `COPY . /ctx/`: b/y lands at /ctx/b/y.
    let (lines, out) = lines_for(d.path(), Change::path("b/y"));
    assert_eq!(lines, vec![5, 8]);
    assert_eq!(out.rebuilt_steps[1].reason, MissReason::StageOutput);
}

#[test]
fn chain_after_a_conditional_miss_is_conditional() {
    // The final stage misses only if the builder's RUN produced different bytes at /out;
    // when it did not, a real builder keeps the cache of CMD as well.
    let df = "FROM scratch AS builder\nCOPY src/ /src/\nRUN build\n\
              FROM scratch\nCOPY --from=builder /out /out\nCOPY main.txt /m\nCMD [\"x\"]\n";
    let d = temp_build(df, &[("src/a.c", "int main;"), ("main.txt", "m")]);
    let (lines, out) = lines_for(d.path(), Change::path("src/a.c"));
    assert_eq!(lines, vec![2, 3, 5, 6, 7]);
    let flags: Vec<bool> = out.rebuilt_steps.iter().map(|s| s.conditional).collect();
    assert_eq!(flags, vec![false, false, true, true, true]);
    // A certain miss after the conditional one makes the rest of the chain certain.
    let both = Change::Paths {
        label: "both".into(),
        changes: ["src/a.c", "main.txt"]
            .iter()
            .map(|p| layerscope_core::ContextChange {
                path: p.to_string(),
                kind: layerscope_core::ContextChangeKind::ContentChanged,
            })
            .collect(),
    };
    let (lines, out) = lines_for(d.path(), both);
    assert_eq!(lines, vec![2, 3, 5, 6, 7]);
    let flags: Vec<bool> = out.rebuilt_steps.iter().map(|s| s.conditional).collect();
    assert_eq!(flags, vec![false, false, true, false, false]);
}

#[test]
fn wildcard_copies_land_by_name_and_add_dirties_its_destination() {
    // `ADD pkg.tar /opt/` unpacks: anything below /opt may change. `COPY *.txt /w/` writes
    // /w/<name> for each match.
    let df = "FROM scratch AS b\nADD pkg.tar /opt/\nCOPY *.txt /w/\n\
              FROM scratch\nCOPY --from=b /opt/keep /k\nCOPY --from=b /w/a.txt /a\n";
    let d = temp_build(df, &[("pkg.tar", "t"), ("a.txt", "a"), ("c.txt", "c")]);
    let (lines, _) = lines_for(d.path(), Change::path("pkg.tar"));
    assert_eq!(lines, vec![2, 3, 5, 6]);
    let (lines, _) = lines_for(d.path(), Change::path("c.txt"));
    assert_eq!(lines, vec![3]);
    let (lines, _) = lines_for(d.path(), Change::path("a.txt"));
    assert_eq!(lines, vec![3, 6]);
}
