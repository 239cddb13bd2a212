//! The cache model on the real fixtures (their Dockerfile, context and image); the small
//! multi-stage and build-arg cases are in layerscope-core/tests/simulate.rs.

use layerscope::{
    Analysis, AnalysisOptions, BuildContext, Change, Dockerfile, Image, MissReason, Simulator,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name)
}

fn lines_for(
    dir: &Path,
    image: Option<&Path>,
    change: Change,
    args: &[(&str, &str)],
) -> (Vec<usize>, layerscope::ChangeOutcome) {
    let text = std::fs::read_to_string(dir.join("Dockerfile")).unwrap();
    let df = Dockerfile::parse_named(&text, "Dockerfile").unwrap();
    let ctx = BuildContext::open(&dir.join("context"), None).unwrap();
    let analysis = image
        .map(|p| Analysis::run(&Image::open(p).unwrap(), &AnalysisOptions::default()).unwrap());
    let args: BTreeMap<String, String> = args
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let attribution = analysis.as_ref().map(|a| a.attribute(&df, &args).unwrap());
    let mut sim = Simulator::new(&df, &ctx, None, args).unwrap();
    if let (Some(a), Some(attr)) = (&analysis, &attribution) {
        sim = sim.with_image(a, attr);
    }
    let out = sim.simulate(&change).unwrap();
    (out.rebuilt_steps.iter().map(|s| s.line).collect(), out)
}

#[test]
fn node_bad_source_edit_rebuilds_the_install() {
    let d = fixture("node-bad");
    let (lines, out) = lines_for(
        &d,
        Some(&d.join("image.docker.tar")),
        Change::path("src/mod1.js"),
        &[],
    );
    // COPY . . (4) misses; RUN install (5), EXPOSE (6), CMD (7) follow by the chain rule.
    assert_eq!(lines, vec![4, 5, 6, 7]);
    assert_eq!(out.rebuilt_steps[0].reason, MissReason::InputsChanged);
    assert_eq!(out.rebuilt_steps[1].reason, MissReason::Chain);
    assert_eq!(out.layers_rebuilt, vec![1, 2]);
    let image = Analysis::run(
        &Image::open(d.join("image.docker.tar")).unwrap(),
        &AnalysisOptions::default(),
    )
    .unwrap()
    .report();
    assert_eq!(
        out.rebuilt_bytes,
        image.layers[1].size_bytes + image.layers[2].size_bytes
    );
    assert_eq!(
        out.repushed_bytes,
        image.layers[1].compressed_size_bytes + image.layers[2].compressed_size_bytes
    );
}

#[test]
fn node_good_source_edit_keeps_the_install() {
    let d = fixture("node-good");
    let (lines, out) = lines_for(
        &d,
        Some(&d.join("image.docker.tar")),
        Change::path("src/mod1.js"),
        &[],
    );
    assert_eq!(lines, vec![6, 7, 8]);
    assert_eq!(out.layers_rebuilt, vec![4]);
    let (lines, out) = lines_for(
        &d,
        Some(&d.join("image.docker.tar")),
        Change::path("package.json"),
        &[],
    );
    assert_eq!(lines, vec![3, 4, 5, 6, 7, 8]);
    assert_eq!(out.layers_rebuilt, vec![1, 2, 3, 4]);
}

#[test]
fn ignored_files_change_nothing() {
    let d = fixture("node-bad");
    // .dockerignore: node_modules, .git
    let (lines, out) = lines_for(&d, None, Change::path("node_modules/x/index.js"), &[]);
    assert!(lines.is_empty());
    assert_eq!(out.rebuilt_bytes, 0);
}

#[test]
fn changed_build_arg_misses_at_the_first_use() {
    let d = fixture("nonroot");
    let text = std::fs::read_to_string(d.join("Dockerfile")).unwrap();
    let line = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let (lines, _) = lines_for(
        &d,
        None,
        Change::BuildArg {
            name: "APP_VERSION".into(),
            value: "9.9".into(),
        },
        &[],
    );
    // ENV uses ${APP_VERSION}: its text changes; then everything after it follows.
    assert_eq!(lines.first(), Some(&line("ENV APP_HOME")));
    assert!(!lines.contains(&line("ARG APP_VERSION")));
    // An undeclared build arg changes nothing.
    let (lines, _) = lines_for(
        &d,
        None,
        Change::BuildArg {
            name: "NOT_DECLARED".into(),
            value: "x".into(),
        },
        &[],
    );
    assert!(lines.is_empty());
}
