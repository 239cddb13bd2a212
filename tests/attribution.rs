//! Every layer of each real fixture maps to the Dockerfile line that made it (buildah
//! history: `/bin/sh -c #(nop) COPY dir:<hash> in . `, `|1 A=1 /bin/sh -c ...`).

use layerscope::{Analysis, AnalysisOptions, Dockerfile, Image};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/real")
        .join(name)
}

/// (layer, first line) pairs, plus the base layers.
fn layer_lines(image_dir: &str, dockerfile_dir: &str) -> (Vec<(usize, usize)>, Vec<usize>, bool) {
    let image = Image::open(dir(image_dir).join("image.docker.tar")).unwrap();
    let analysis = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let text = std::fs::read_to_string(dir(dockerfile_dir).join("Dockerfile")).unwrap();
    let df = Dockerfile::parse_named(&text, "Dockerfile").unwrap();
    let a = analysis.attribute(&df, &BTreeMap::new()).unwrap();
    let mut pairs: Vec<(usize, usize)> = a
        .instructions
        .iter()
        .flat_map(|c| c.layers.iter().map(move |l| (*l, c.line)))
        .collect();
    pairs.sort();
    (
        pairs,
        a.base_layers,
        a.instructions.iter().any(|c| c.squashed),
    )
}

#[test]
fn overwrite_opaque_layers_map_to_their_lines() {
    // Dockerfile: 1 FROM, 2-6 RUN mkdir (continued), 8 RUN echo v2, 10 RUN rm -rf,
    // 12 RUN rm blob, 14 RUN dd, 15 COPY conf.d/, 16 CMD.
    let (pairs, base, squashed) = layer_lines("overwrite-opaque", "overwrite-opaque");
    assert_eq!(
        pairs,
        vec![(1, 2), (2, 8), (3, 10), (4, 12), (5, 14), (6, 15)]
    );
    assert_eq!(base, vec![0]);
    assert!(!squashed);
}

#[test]
fn node_layers_map_to_their_lines() {
    let (pairs, base, _) = layer_lines("node-bad", "node-bad");
    // 1 FROM, 2 WORKDIR (no layer with buildah), 4 COPY . ., 5 RUN install.
    assert_eq!(pairs, vec![(1, 4), (2, 5)]);
    assert_eq!(base, vec![0]);
    let (pairs, _, _) = layer_lines("node-good", "node-good");
    // 3 COPY package.json, 4 COPY tools/, 5 RUN install, 6 COPY . .
    assert_eq!(pairs, vec![(1, 3), (2, 4), (3, 5), (4, 6)]);
}

#[test]
fn nonroot_layers_map_to_their_lines() {
    let text = std::fs::read_to_string(dir("nonroot").join("Dockerfile")).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let (pairs, base, _) = layer_lines("nonroot", "nonroot");
    assert_eq!(
        pairs,
        vec![
            (1, line_of("RUN echo 'app:x")),
            (2, line_of("COPY --chown")),
            (3, line_of("ADD server.sh")),
            (4, line_of("RUN chmod")),
        ]
    );
    assert_eq!(base, vec![0]);
}

#[test]
fn squashed_build_is_flagged() {
    // Built without --layers: one layer carrying COPY . . and RUN, recorded on the last
    // history entry (CMD, line 7).
    let (pairs, base, squashed) = layer_lines("node-bad-squashed", "node-bad");
    assert_eq!(pairs, vec![(1, 7)]);
    assert_eq!(base, vec![0]);
    assert!(squashed);
}
