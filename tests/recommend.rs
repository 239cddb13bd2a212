//! Recommendations on the real fixtures: each with evidence, none where the Dockerfile already
//! follows the practice, and every saving worked out by hand from `tar tvf` of the layers.

use layerscope::{
    Analysis, AnalysisOptions, BuildContext, Dockerfile, Finding, FindingCode, Image,
    RecommendInput, recommend,
};
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

fn codes(f: &[Finding]) -> Vec<FindingCode> {
    f.iter().map(|x| x.code).collect()
}

#[test]
fn node_bad_gets_split_dependency_copy_with_the_saving_by_hand() {
    let fx = load("node-bad");
    let (f, proposed) = findings(&fx);
    let split = f
        .iter()
        .find(|x| x.code == FindingCode::SplitDependencyCopy)
        .expect("split-dependency-copy");
    assert_eq!(split.line, Some(4));
    let proposed = proposed.expect("a proposed Dockerfile");
    assert!(proposed.contains("COPY package.json ./\nCOPY tools/fake-npm-install.sh ./tools/\nRUN sh tools/fake-npm-install.sh\nCOPY . ."), "{proposed}");

    // The saving, by hand. The build copies 7 context files (`COPY . .` after
    // .dockerignore's `node_modules` and `.git`): .dockerignore, index.js, package.json,
    // src/mod1.js, src/mod2.js, src/mod3.js, tools/fake-npm-install.sh. Layer sizes from
    // `tar tvf`: COPY . . = 18 + 192 + 35 + 144 + 3 x 20 + 585 = 1,034 bytes (the image's
    // copy also holds the 192-byte Dockerfile buildah put in the context); RUN = 2 x 524,288
    // + 38 = 1,048,614 bytes.
    // Before: any of the 7 files misses `COPY . .`, and the RUN rebuilds by the chain rule:
    //   1,034 + 1,048,614 = 1,049,648 bytes for every file.
    // After (package.json, then the installer, then RUN, then `COPY . .`), each new COPY
    // priced with the bytes it copies (144 and 585):
    //   package.json:               144 + 585 + 1,048,614 + 1,034 = 1,050,377
    //   tools/fake-npm-install.sh:        585 + 1,048,614 + 1,034 = 1,050,233
    //   each of the 5 others:                                1,034 -> 5,170
    //   mean = (1,050,377 + 1,050,233 + 5,170) / 7 = 2,105,780 / 7 = 300,825 (integer mean)
    // Saving: 1,049,648 - 300,825 = 748,823 bytes per changed file.
    assert_eq!(split.before_bytes_per_change, Some(1_049_648));
    assert_eq!(split.after_bytes_per_change, Some(300_825));
    assert_eq!(split.bytes_saved, 748_823);
    assert_eq!(
        split.per.as_deref(),
        Some("per changed file (mean over the 7 files the build copies)")
    );

    // The npm cache the RUN leaves in its layer (root/.npm/_cacache/left-pad-1.3.0.tgz,
    // 524,288 bytes per `tar tvf`) can be removed in the same RUN or kept out with a cache
    // mount: both findings save exactly that file.
    let mount = f
        .iter()
        .find(|x| x.code == FindingCode::UseCacheMount)
        .expect("use-cache-mount");
    assert_eq!(
        (mount.line, mount.layer, mount.bytes_saved),
        (Some(5), Some(2), 524_288)
    );
    assert!(codes(&f).contains(&FindingCode::RunAsRoot));
    let cleanup = f
        .iter()
        .find(|x| x.code == FindingCode::CleanupInSameLayer)
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
    assert!(!c.contains(&FindingCode::SplitDependencyCopy), "{c:?}");
    assert!(!c.contains(&FindingCode::CleanupInSameLayer), "{c:?}");
    assert!(proposed.is_none());
    // Its final COPY . . ships package.json and tools/ again (729 bytes): real evidence.
    let m = f
        .iter()
        .find(|x| x.code == FindingCode::MetadataCopyUp)
        .unwrap();
    assert_eq!((m.line, m.bytes_saved), (Some(6), 729));
}

#[test]
fn nonroot_is_not_flagged_as_root() {
    let (f, _) = findings(&load("nonroot"));
    let c = codes(&f);
    assert!(!c.contains(&FindingCode::RunAsRoot), "{c:?}");
    assert!(!c.contains(&FindingCode::MissingExpose), "{c:?}");
    assert!(!c.contains(&FindingCode::ShellFormCmd), "{c:?}");
    assert!(!c.contains(&FindingCode::MultipleCmd), "{c:?}");
    // RUN chmod 0755 server.sh re-ships the 44-byte script.
    let m = f
        .iter()
        .find(|x| x.code == FindingCode::MetadataCopyUp)
        .unwrap();
    assert_eq!(m.bytes_saved, 44);
}

#[test]
fn overwrite_opaque_waste_findings() {
    let (f, _) = findings(&load("overwrite-opaque"));
    let by = |code: FindingCode| {
        f.iter()
            .filter(|x| x.code == code)
            .map(|x| (x.line, x.bytes_saved))
            .collect::<Vec<_>>()
    };
    assert_eq!(by(FindingCode::MetadataCopyUp), vec![(Some(14), 1_048_576)]);
    assert_eq!(
        by(FindingCode::DeletedInLaterLayer),
        vec![(Some(12), 524_288), (Some(10), 4)]
    );
    assert_eq!(by(FindingCode::OverwrittenInLaterLayer), vec![(Some(8), 3)]);
}
