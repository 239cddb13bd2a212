//! Recommendations on the real fixtures: each with evidence, none where the Dockerfile already
//! follows the practice, and the cache saving equal to what the simulator computes for the
//! proposed Dockerfile.

use layerscope::{
    Analysis, AnalysisOptions, BuildContext, Change, Dockerfile, Finding, Image, RecommendInput,
    Simulator, recommend,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name)
}

struct Fixture {
    analysis: Analysis,
    df: Dockerfile,
    text: String,
    ctx: BuildContext,
}

fn load(name: &str) -> Fixture {
    let d = dir(name);
    let analysis = Analysis::run(
        &Image::open(d.join("image.docker.tar")).unwrap(),
        &AnalysisOptions::default(),
    )
    .unwrap();
    let text = std::fs::read_to_string(d.join("Dockerfile")).unwrap();
    let df = Dockerfile::parse_named(&text, "Dockerfile").unwrap();
    let ctx = BuildContext::open(&d.join("context"), None).unwrap();
    Fixture {
        analysis,
        df,
        text,
        ctx,
    }
}

fn findings(f: &Fixture) -> (Vec<Finding>, Option<String>) {
    let mut input = RecommendInput::default();
    input.analysis = Some(&f.analysis);
    input.dockerfile = Some(&f.df);
    input.dockerfile_text = Some(&f.text);
    input.context = Some(&f.ctx);
    let r = recommend(&input).unwrap();
    (r.recommendations, r.proposed_dockerfile)
}

fn codes(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|x| x.code.as_str()).collect()
}

#[test]
fn node_bad_gets_split_dependency_copy_with_the_simulated_saving() {
    let fx = load("node-bad");
    let (f, proposed) = findings(&fx);
    let split = f
        .iter()
        .find(|x| x.code == "split-dependency-copy")
        .expect("split-dependency-copy");
    assert_eq!(split.line, Some(4));
    let proposed = proposed.expect("a proposed Dockerfile");
    assert!(proposed.contains("COPY package.json ./\nCOPY tools/fake-npm-install.sh ./tools/\nRUN sh tools/fake-npm-install.sh\nCOPY . ."), "{proposed}");

    // Recompute the saving independently: simulate the proposed Dockerfile, pricing its
    // steps with the image's layers (COPY . . = layer 1, RUN = layer 2) and the new COPY
    // steps with the sizes of the files they copy, over every file the build copies.
    let report = fx.analysis.report();
    let new_df = Dockerfile::parse_named(&proposed, "Dockerfile").unwrap();
    let stage = new_df.stages().last().unwrap();
    let mut costs = Vec::new();
    for (i, ins) in stage.instructions().iter().enumerate() {
        let size = |l: usize| {
            (
                report.layers[l].size_bytes,
                report.layers[l].compressed_size_bytes,
            )
        };
        let c = match ins.original.as_str() {
            "COPY . ." => Some(size(1)),
            "RUN sh tools/fake-npm-install.sh" => Some(size(2)),
            "COPY package.json ./" => Some((144, 144)),
            "COPY tools/fake-npm-install.sh ./tools/" => Some((585, 585)),
            _ => None,
        };
        if let Some(c) = c {
            costs.push(((stage.index(), i), c));
        }
    }
    let after_sim = Simulator::new(&new_df, &fx.ctx, None, BTreeMap::new())
        .unwrap()
        .with_step_costs(&costs);
    let attribution = fx.analysis.attribute(&fx.df, &BTreeMap::new()).unwrap();
    let before_sim = Simulator::new(&fx.df, &fx.ctx, None, BTreeMap::new())
        .unwrap()
        .with_image(&fx.analysis, &attribution);
    let files = [
        "Dockerfile",
        "index.js",
        "package.json",
        "src/mod1.js",
        "src/mod2.js",
        "src/mod3.js",
        "tools/fake-npm-install.sh",
    ];
    let mean = |sim: &Simulator| {
        files
            .iter()
            .map(|p| sim.simulate(&Change::path(*p)).unwrap().rebuilt_bytes)
            .sum::<u64>()
            / files.len() as u64
    };
    let (before, after) = (mean(&before_sim), mean(&after_sim));
    assert_eq!(split.before_bytes_per_change, Some(before));
    assert_eq!(split.after_bytes_per_change, Some(after));
    assert_eq!(split.bytes_saved, before - after);
    assert!(split.bytes_saved > 0);

    assert!(codes(&f).contains(&"run-as-root"));
    let cleanup = f
        .iter()
        .find(|x| x.code == "cleanup-in-same-layer")
        .expect("npm cache left in the layer");
    assert_eq!(
        (cleanup.line, cleanup.bytes_saved),
        (Some(5), 8 * 64 * 1024)
    );
}

#[test]
fn node_good_has_no_split_and_no_cache_left() {
    let (f, proposed) = findings(&load("node-good"));
    let c = codes(&f);
    assert!(!c.contains(&"split-dependency-copy"), "{c:?}");
    assert!(!c.contains(&"cleanup-in-same-layer"), "{c:?}");
    assert!(proposed.is_none());
    // Its final COPY . . ships package.json and tools/ again (729 bytes): real evidence.
    let m = f.iter().find(|x| x.code == "metadata-copy-up").unwrap();
    assert_eq!((m.line, m.bytes_saved), (Some(6), 729));
}

#[test]
fn nonroot_is_not_flagged_as_root() {
    let (f, _) = findings(&load("nonroot"));
    let c = codes(&f);
    assert!(!c.contains(&"run-as-root"), "{c:?}");
    assert!(!c.contains(&"missing-expose"), "{c:?}");
    assert!(!c.contains(&"shell-form-cmd"), "{c:?}");
    assert!(!c.contains(&"multiple-cmd"), "{c:?}");
    // RUN chmod 0755 server.sh re-ships the 44-byte script.
    let m = f.iter().find(|x| x.code == "metadata-copy-up").unwrap();
    assert_eq!(m.bytes_saved, 44);
}

#[test]
fn overwrite_opaque_waste_findings() {
    let (f, _) = findings(&load("overwrite-opaque"));
    let by = |code: &str| {
        f.iter()
            .filter(|x| x.code == code)
            .map(|x| (x.line, x.bytes_saved))
            .collect::<Vec<_>>()
    };
    assert_eq!(by("metadata-copy-up"), vec![(Some(14), 1_048_576)]);
    assert_eq!(
        by("deleted-in-later-layer"),
        vec![(Some(12), 524_288), (Some(10), 4)]
    );
    assert_eq!(by("overwritten-in-later-layer"), vec![(Some(8), 3)]);
}

#[test]
fn dockerfile_practices() {
    let text = "FROM ubuntu\nFROM node:20 AS b\nCMD node server.js --port=3000\nCMD [\"node\"]\nFROM gcr.io/distroless/base:v1\nFROM registry.corp.example/base:1.2\nENTRYPOINT [\"app\", \"-p\", \"8080\"]\n";
    let df = Dockerfile::parse_named(text, "Dockerfile").unwrap();
    let mut input = RecommendInput::default();
    input.dockerfile = Some(&df);
    input.dockerfile_text = Some(text);
    let f = recommend(&input).unwrap().recommendations;
    let at = |code: &str| {
        f.iter()
            .filter(|x| x.code == code)
            .map(|x| x.line.unwrap_or(0))
            .collect::<Vec<_>>()
    };
    assert_eq!(at("unpinned-base-image"), vec![1, 2, 5]); // own registry with a tag: fine
    assert_eq!(at("multiple-cmd"), vec![3]);
    assert_eq!(at("shell-form-cmd"), vec![3]);
    assert_eq!(at("missing-expose"), vec![7]);
}
