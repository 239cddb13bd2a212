//! The cache model on long chains of stages (`FROM s<i-1> AS s<i>`): every stage is
//! evaluated once (the simulation is linear in the number of stages; timed in
//! `benches/simulate_context.sh`, never here), with the answers of the per-stage rules.

use layerscope_core::{BuildContext, Change, Dockerfile, MissReason, Simulator};
use std::collections::BTreeMap;

fn chain_dockerfile(n: usize) -> String {
    let mut text = String::from("FROM scratch AS s0\nARG V=1\nCOPY app.txt /app.txt\n");
    for i in 1..n {
        text.push_str(&format!("FROM s{} AS s{i}\nRUN echo {i} $V\n", i - 1));
    }
    text
}

fn simulate(text: &str, change: Change) -> (Vec<usize>, layerscope_core::ChangeOutcome) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.txt"), "v1\n").unwrap();
    std::fs::write(dir.path().join("other.txt"), "o\n").unwrap();
    let df = Dockerfile::parse_named(text, "Dockerfile").unwrap();
    let ctx = BuildContext::open(dir.path(), None).unwrap();
    let sim = Simulator::new(&df, &ctx, None, BTreeMap::new()).unwrap();
    assert_eq!(
        sim.needed_stages(),
        (0..df.stages().len()).collect::<Vec<_>>()
    );
    let out = sim.simulate(&change).unwrap();
    (out.rebuilt_steps.iter().map(|s| s.line).collect(), out)
}

#[test]
fn a_change_at_the_root_of_a_long_chain_rebuilds_every_stage() {
    let n = 1500;
    let (lines, out) = simulate(&chain_dockerfile(n), Change::path("app.txt"));
    // Line 3 is the COPY; stage i's RUN is on line 3 + 2i.
    let expected: Vec<usize> = std::iter::once(3)
        .chain((1..n).map(|i| 3 + 2 * i))
        .collect();
    assert_eq!(lines, expected);
    assert_eq!(out.rebuilt_steps[0].reason, MissReason::InputsChanged);
    assert!(!out.rebuilt_steps[0].conditional);
    assert!(
        out.rebuilt_steps[1..]
            .iter()
            .all(|s| s.reason == MissReason::ParentStage)
    );
    // s1's RUN follows a certain miss; every later RUN follows a re-run RUN, whose output
    // may come out identical.
    assert!(!out.rebuilt_steps[1].conditional);
    assert!(out.rebuilt_steps[2..].iter().all(|s| s.conditional));
    assert_eq!(
        out.rebuilt_steps[n - 1].stage_name.as_deref(),
        Some("s1499")
    );
}

#[test]
fn a_build_arg_of_the_root_reaches_every_stage_of_the_chain_through_its_runs() {
    let n = 1200;
    let (lines, out) = simulate(
        &chain_dockerfile(n),
        Change::BuildArg {
            name: "V".into(),
            value: "2".into(),
        },
    );
    // The ARG is declared in s0 and inherited: every RUN has it in scope and misses on its
    // own inputs, certain each time; the COPY does not use it.
    assert_eq!(lines, (1..n).map(|i| 3 + 2 * i).collect::<Vec<_>>());
    assert!(
        out.rebuilt_steps
            .iter()
            .all(|s| s.reason == MissReason::InputsChanged && !s.conditional)
    );
}

#[test]
fn an_unselected_file_changes_nothing_in_the_chain() {
    let (lines, _) = simulate(&chain_dockerfile(800), Change::path("other.txt"));
    assert!(lines.is_empty());
}

/// What rebuilds for sure and what only if a re-run step's output differs. Layer costs are
/// given per step (`with_step_costs`): the final stage's three COPY layers cost 100, 10 and
/// 1 bytes (50, 5 and 1 compressed).
#[test]
fn certain_and_conditional_bytes_are_told_apart() {
    let text = "FROM scratch AS build\nCOPY src/ /src/\nRUN build\n\
                FROM scratch\nCOPY app.txt /app.txt\nCOPY --from=build /out /out\nCOPY conf /conf\n";
    let dir = tempfile::tempdir().unwrap();
    for (p, c) in [("src/a.c", "int x;"), ("app.txt", "v1"), ("conf", "c")] {
        let path = dir.path().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, c).unwrap();
    }
    let df = Dockerfile::parse_named(text, "Dockerfile").unwrap();
    let ctx = BuildContext::open(dir.path(), None).unwrap();
    let sim = Simulator::new(&df, &ctx, None, BTreeMap::new())
        .unwrap()
        .with_step_costs(&[((1, 0), (100, 50)), ((1, 1), (10, 5)), ((1, 2), (1, 1))]);
    let paths = |ps: &[&str]| Change::Paths {
        label: ps.join(","),
        changes: ps
            .iter()
            .map(|p| layerscope_core::ContextChange {
                path: p.to_string(),
                kind: layerscope_core::ContextChangeKind::ContentChanged,
            })
            .collect(),
    };
    // src/a.c: the build stage's COPY and RUN rebuild for sure (no layer of the image);
    // line 6 reads the re-run RUN's output and line 7 follows it: both only if /out differs.
    let out = sim.simulate(&paths(&["src/a.c"])).unwrap();
    let flags: Vec<(usize, bool)> = out
        .rebuilt_steps
        .iter()
        .map(|s| (s.line, s.conditional))
        .collect();
    assert_eq!(flags, [(2, false), (3, false), (6, true), (7, true)]);
    assert_eq!((out.rebuilt_bytes, out.repushed_bytes), (11, 6));
    assert_eq!(
        (
            out.conditional_rebuilt_bytes,
            out.conditional_repushed_bytes
        ),
        (11, 6)
    );
    // src/a.c and conf: line 7 now misses on its own input, for sure: only line 6's layer
    // (10 bytes, 5 compressed) stays conditional.
    let out = sim.simulate(&paths(&["src/a.c", "conf"])).unwrap();
    assert_eq!((out.rebuilt_bytes, out.repushed_bytes), (11, 6));
    assert_eq!(
        (
            out.conditional_rebuilt_bytes,
            out.conditional_repushed_bytes
        ),
        (10, 5)
    );
    // app.txt and src/a.c: line 5 misses for sure and the chain after it is certain.
    let out = sim.simulate(&paths(&["app.txt", "src/a.c"])).unwrap();
    assert_eq!((out.rebuilt_bytes, out.repushed_bytes), (111, 56));
    assert_eq!(
        (
            out.conditional_rebuilt_bytes,
            out.conditional_repushed_bytes
        ),
        (0, 0)
    );
}
