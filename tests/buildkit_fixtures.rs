//! The BuildKit-built fixtures (tests/fixtures/buildkit, rebuilt by its rebuild.sh with
//! Docker Engine 20.10): every layer on the line that made it, the base image found from the
//! Dockerfile (BuildKit's history does not mark where the base ends), and the
//! recommendations, as tests/attribution.rs and tests/recommend.rs do for buildah's images.
//!
//! All of them but `base` are built on `base` (localhost/ls-bk-base: busybox, a RUN and a
//! COPY: 3 layers, DiffIDs in base/history.json). Sizes below are the regular-file bytes of
//! each layer as `tar tvf` lists them (the RUNs write random bytes of fixed sizes):
//!
//! | layer | content (tar tvf) | bytes |
//! |---|---|---|
//! | base 0 | busybox-static and its applet links, passwd, group | 1,982,365 |
//! | base 1 | `RUN`: opt/base/VERSION (`base 1\n`) | 7 |
//! | base 2 | `COPY motd`: etc/motd | 34 |
//! | single-stage 3 | `WORKDIR /usr/src/app`: three directories | 0 |
//! | single-stage 4 | `COPY . .`: index.js 44, package.json 114, src/mod1.js 20, src/mod2.js 20, tools/fake-npm-install.sh 649 | 847 |
//! | single-stage 5 | `RUN` install: node_modules lodash 49,152 + 38, ms 16,384 + 32; /root/.npm/_cacache 49,152 + 16,384 | 131,142 |
//! | multi-stage 3, 4 | `COPY --from=build`: app.txt (`first part\nsecond part\n`) 23; blob 16,384 | |
//! | args-env 3, 4, 5 | version (`1.2.3 stable\n`) 13; mode (`release 2\n`) 10; bin/hi (`echo hi\n`) 8 | |
//! | cache-mount 3..7 | WORKDIR 0; package.json 114; tools/ 649; RUN: node_modules only (65,606; /root/.npm is the cache mount, left empty); COPY . .: index.js 44 + src/mod1.js 20 (BuildKit leaves out files identical to the layers below) | |
//! | flattened 0 | the whole base (1,982,406) + app/one, app/two (4 + 4) | 1,982,414 |
//! | squashed 0 | base (1,982,406) + 847 + 131,142 | 2,114,395 |
//! | classic-squashed 3 | single-stage's 4 and 5 in one layer | 131,989 |
#![cfg(unix)]

use layerscope::{
    Analysis, AnalysisOptions, BuildContext, Dockerfile, Finding, FindingCode, Image,
    RecommendInput, recommend,
};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/buildkit")
        .join(name)
}

fn analyse(image: &str, options: &AnalysisOptions) -> Analysis {
    let path = dir(image).join("image.docker.tar");
    Analysis::run(&Image::open(&path).unwrap(), options).unwrap()
}

fn dockerfile(name: &str) -> (Dockerfile, String) {
    let text = std::fs::read_to_string(dir(name).join("Dockerfile")).unwrap();
    (Dockerfile::parse_named(&text, "Dockerfile").unwrap(), text)
}

/// What `-f` gives: (layer, line) pairs, squashed lines per line, the attribution's base
/// layers, the unmatched layers, and the report's base split (count, source).
struct Attributed {
    pairs: Vec<(usize, usize)>,
    squashed: Vec<(usize, Vec<usize>)>,
    base_layers: Vec<usize>,
    unmatched: Vec<usize>,
    base: (usize, String),
    user_size_bytes: u64,
    sizes: Vec<u64>,
    notes: Vec<String>,
}

fn attributed(image: &str, dockerfile_dir: &str, options: &AnalysisOptions) -> Attributed {
    let mut analysis = analyse(image, options);
    let (df, _) = dockerfile(dockerfile_dir);
    let a = analysis.attribute(&df, &BTreeMap::new()).unwrap();
    analysis.adopt_dockerfile_base(&a);
    let report = analysis.report();
    let mut pairs: Vec<(usize, usize)> = a
        .instructions
        .iter()
        .flat_map(|c| c.layers.iter().map(move |l| (*l, c.line)))
        .collect();
    pairs.sort();
    Attributed {
        pairs,
        squashed: a
            .instructions
            .iter()
            .filter(|c| c.squashed)
            .map(|c| (c.line, c.squashed_lines.clone()))
            .collect(),
        base_layers: a.base_layers.clone(),
        unmatched: a.unmatched_layers.clone(),
        base: (report.base.base_layers, report.base.source.clone()),
        user_size_bytes: report.base.user_size_bytes,
        sizes: report.layers.iter().map(|l| l.size_bytes).collect(),
        notes: a.notes.clone(),
    }
}

const BASE_SIZES: [u64; 3] = [1_982_365, 7, 34];

/// The base image's DiffIDs, and whether they are the bottom of `image`'s: an independent
/// check that the layers called the base are the base image's.
fn base_is_prefix(image: &str, n: usize) -> bool {
    let base = analyse("base", &AnalysisOptions::default()).diff_ids();
    let ids = analyse(image, &AnalysisOptions::default()).diff_ids();
    base.len() == n && ids.get(..n) == Some(&base[..])
}

#[test]
fn single_stage_layers_map_to_their_lines_and_the_base_is_found() {
    // 1 FROM, 2 WORKDIR, 3 comment, 4 COPY . ., 5 RUN, 6 EXPOSE, 7 CMD. BuildKit's WORKDIR
    // writes a layer (the directories it creates).
    let a = attributed("single-stage", "single-stage", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(3, 2), (4, 4), (5, 5)]);
    assert_eq!(a.base_layers, vec![0, 1, 2]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert!(base_is_prefix("single-stage", 3));
    assert_eq!(a.sizes, [&BASE_SIZES[..], &[0, 847, 131_142]].concat());
    assert_eq!(a.user_size_bytes, 847 + 131_142);
    assert!(
        a.unmatched.is_empty() && a.squashed.is_empty(),
        "{:?}",
        a.notes
    );
}

#[test]
fn without_a_dockerfile_there_is_no_base_and_flags_win() {
    let report = analyse("single-stage", &AnalysisOptions::default()).report();
    assert_eq!(
        (report.base.base_layers, report.base.source.as_str()),
        (0, "none")
    );
    // --base-layers / --base (a flag) is kept even with a Dockerfile.
    let a = attributed(
        "single-stage",
        "single-stage",
        &AnalysisOptions::default().base_layers(1),
    );
    assert_eq!(a.base, (1, "flag".to_string()));
    // A Dockerfile none of whose instructions is in the history leaves the base alone (one
    // with a RUN would match the image's RUN entries by keyword, as attribution does).
    let mut analysis = analyse("single-stage", &AnalysisOptions::default());
    let df = Dockerfile::parse_named("FROM x\nSTOPSIGNAL 9\n", "Dockerfile").unwrap();
    let attribution = analysis.attribute(&df, &BTreeMap::new()).unwrap();
    analysis.adopt_dockerfile_base(&attribution);
    assert_eq!(analysis.report().base.source, "none");
}

#[test]
fn base_image_itself() {
    // Its Dockerfile builds on busybox-base (one layer): 3 RUN, 4 COPY, 5 ENV.
    let a = attributed("base", "base", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(1, 4), (2, 5)]);
    assert_eq!(a.base, (1, "dockerfile".to_string()));
    assert_eq!(a.sizes, BASE_SIZES);
}

#[test]
fn multi_stage_copies_from_the_builder() {
    // Target stage: 7 FROM, 8 COPY --from app.txt, 9 COPY --from blob, 10 USER, 11 CMD. The
    // build stage (lines 1-4) is not in the target's chain and made no layer of the image.
    let a = attributed("multi-stage", "multi-stage", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(3, 8), (4, 9)]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert!(base_is_prefix("multi-stage", 3));
    assert_eq!(a.sizes, [&BASE_SIZES[..], &[23, 16_384]].concat());
}

#[test]
fn arg_and_env_prefixed_runs() {
    // History: `RUN |2 VERSION=1.2.3 CHANNEL=stable /bin/sh -c mkdir -p $APP_HOME ...`
    // (unexpanded); 5 RUN mkdir/echo, 6 RUN MODE=release LEVEL=2 sh -c ..., 8 RUN bin/hi.
    let a = attributed("args-env", "args-env", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(3, 5), (4, 6), (5, 8)]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert_eq!(a.sizes, [&BASE_SIZES[..], &[13, 10, 8]].concat());
}

#[test]
fn cache_mount_keeps_the_cache_out_of_the_layer() {
    // 2 WORKDIR, 3 COPY package.json, 4 COPY tools/, 6 RUN --mount=type=cache, 7 COPY . .
    let a = attributed("cache-mount", "cache-mount", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(3, 2), (4, 3), (5, 4), (6, 6), (7, 7)]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert_eq!(
        a.sizes,
        [&BASE_SIZES[..], &[0, 114, 649, 65_606, 64]].concat()
    );
}

#[test]
fn flattened_image_is_one_layer_and_no_base() {
    // FROM scratch + COPY --from=build / / (line 6): the one layer holds the base's files,
    // but the target stage starts from scratch.
    let a = attributed("flattened", "flattened", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(0, 6)]);
    assert_eq!(a.base, (0, "dockerfile".to_string()));
    assert_eq!(a.sizes, vec![1_982_365 + 7 + 34 + 4 + 4]);
}

#[test]
fn buildkit_squash_is_one_layer_for_everything() {
    // `docker build --squash` with BuildKit: every entry empty, then one entry without
    // created_by (`create new from sha256:...`) for the one layer. Its bytes go on the last
    // instruction (7 CMD), holding lines 2, 4 and 5; no layer is the base.
    let a = attributed("squashed", "single-stage", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(0, 7)]);
    assert_eq!(a.squashed, vec![(7, vec![2, 4, 5])]);
    assert_eq!(a.base, (0, "dockerfile".to_string()));
    assert!(a.unmatched.is_empty(), "{:?}", a.notes);
    assert_eq!(a.sizes, vec![1_982_406 + 847 + 131_142]);
    assert!(
        a.notes.iter().any(|n| n.contains("no layer is the base")),
        "{:?}",
        a.notes
    );
}

#[test]
fn classic_builder_history() {
    // `/bin/sh -c #(nop) WORKDIR`, `#(nop) COPY dir:<hash> in .`, `/bin/sh -c sh tools/...`:
    // the same layers and lines as BuildKit's build of the Dockerfile.
    let a = attributed("classic", "single-stage", &AnalysisOptions::default());
    assert_eq!(a.pairs, vec![(3, 2), (4, 4), (5, 5)]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert!(base_is_prefix("classic", 3));
    assert_eq!(a.sizes, [&BASE_SIZES[..], &[0, 847, 131_142]].concat());
    // Squashed by the classic builder: its layers go into one above the base's
    // (`merge sha256:... to sha256:...`), shown on line 7 with lines 2, 4, 5.
    let a = attributed(
        "classic-squashed",
        "single-stage",
        &AnalysisOptions::default(),
    );
    assert_eq!(a.pairs, vec![(3, 7)]);
    assert_eq!(a.squashed, vec![(7, vec![2, 4, 5])]);
    assert_eq!(a.base, (3, "dockerfile".to_string()));
    assert!(base_is_prefix("classic-squashed", 3));
    assert_eq!(a.sizes, [&BASE_SIZES[..], &[847 + 131_142]].concat());
}

// ------------------------------------------------------------------------------- recommend

fn findings(image: &str, dockerfile_dir: &str) -> (Vec<Finding>, Option<String>) {
    let analysis = analyse(image, &AnalysisOptions::default());
    let (df, text) = dockerfile(dockerfile_dir);
    let ctx = BuildContext::open(&dir(dockerfile_dir).join("context"), None).unwrap();
    let mut input = RecommendInput::default();
    input.analysis = Some(&analysis);
    input.dockerfile = Some(&df);
    input.dockerfile_text = Some(&text);
    input.context = Some(&ctx);
    let r = recommend(&input).unwrap();
    (r.recommendations, r.proposed_dockerfile)
}

fn summary(f: &[Finding]) -> Vec<(FindingCode, Option<usize>, u64)> {
    let mut v: Vec<_> = f.iter().map(|x| (x.code, x.line, x.bytes_saved)).collect();
    v.sort();
    v
}

#[test]
fn single_stage_recommendations_and_the_split_saving() {
    let (f, proposed) = findings("single-stage", "single-stage");
    // The saving by hand: the context has 5 files. Before, a change to any of them re-runs
    // COPY . . (847) and the install (131,142): 131,989 each. The proposal copies
    // package.json (114) and tools/fake-npm-install.sh (649) first, installs, then COPY . .:
    // a source file (3 of them) re-runs only COPY . . (847); package.json re-runs all four
    // (114 + 649 + 131,142 + 847); the install script the last three (649 + 131,142 + 847).
    let before = 131_989u64;
    let after = (3 * 847 + (114 + 649 + 131_142 + 847) + (649 + 131_142 + 847)) / 5;
    let cache = 49_152 + 16_384; // /root/.npm/_cacache in the RUN layer (5)
    assert_eq!(
        summary(&f),
        vec![
            (FindingCode::CleanupInSameLayer, Some(5), cache),
            (FindingCode::RunAsRoot, None, 0),
            (FindingCode::SplitDependencyCopy, Some(4), before - after),
            (FindingCode::UnpinnedBaseImage, Some(1), 0),
            (FindingCode::UseCacheMount, Some(5), cache),
        ]
    );
    let proposed = proposed.expect("a proposed Dockerfile");
    assert!(
        proposed.contains(
            "COPY package.json ./\nCOPY tools/fake-npm-install.sh ./tools/\nRUN sh tools/fake-npm-install.sh\nCOPY . ."
        ),
        "{proposed}"
    );
    // The classic builder's image of the same Dockerfile gets the same findings.
    assert_eq!(summary(&findings("classic", "single-stage").0), summary(&f));
}

#[test]
fn cache_mount_and_multi_stage_recommendations() {
    // npm's cache is in a cache mount: no cache finding, no split (manifests come first).
    let (f, _) = findings("cache-mount", "cache-mount");
    let codes: Vec<FindingCode> = f.iter().map(|x| x.code).collect();
    for absent in [
        FindingCode::CleanupInSameLayer,
        FindingCode::UseCacheMount,
        FindingCode::SplitDependencyCopy,
        FindingCode::RunAsRoot,
        FindingCode::MetadataCopyUp,
    ] {
        assert!(!codes.contains(&absent), "{absent}: {codes:?}");
    }
    let (f, _) = findings("multi-stage", "multi-stage");
    assert_eq!(
        summary(&f),
        vec![
            (FindingCode::UnpinnedBaseImage, Some(1), 0),
            (FindingCode::UnpinnedBaseImage, Some(7), 0),
        ]
    );
}

#[test]
fn squashed_recommendations_land_on_the_squash_line() {
    // The npm cache is still found, in the one layer, shown where its bytes are (line 7).
    for (image, layer) in [("squashed", 0), ("classic-squashed", 3)] {
        let (f, _) = findings(image, "single-stage");
        let c = f
            .iter()
            .find(|x| x.code == FindingCode::CleanupInSameLayer)
            .unwrap_or_else(|| panic!("{image}: {f:?}"));
        assert_eq!(
            (c.line, c.layer, c.bytes_saved),
            (Some(7), Some(layer), 65_536)
        );
        assert!(
            !f.iter().any(|x| x.code == FindingCode::SplitDependencyCopy),
            "{image}"
        );
    }
}
