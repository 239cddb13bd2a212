//! Recommendations on images built in memory, with every figure worked out by hand.

use super::*;
use crate::analysis::AnalysisOptions;
use crate::source::Image;
use crate::testkit::{Hist, ImageBuilder, LayerBuilder, Layout};

const APT_DOCKERFILE: &str = "FROM debian:bookworm\n\
RUN apt-get update && apt-get install -y --no-install-recommends curl\n\
RUN apt-get update && apt-get install -y --no-install-recommends git\n\
RUN apt-get update && apt-get install -y --no-install-recommends gnupg && rm -rf /var/lib/apt/lists/*\n";

const LISTS: &str = "var/lib/apt/lists/";
const IN_RELEASE: &str = "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease";
const PACKAGES: &str =
    "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages";
const PKGCACHE: &str = "var/cache/apt/pkgcache.bin";
const SRCPKGCACHE: &str = "var/cache/apt/srcpkgcache.bin";

/// Shaped like a Debian image that runs apt in three RUNs (as benches/debian_images.sh's
/// debian-apt does, with the update repeated in each RUN):
///
/// - layer 0 (the base): bin/bash 1,000, etc/apt/sources.list 100;
/// - layer 1 (line 2, update + install curl): the lists (InRelease 1,500, Packages 90,000),
///   apt's binary caches (pkgcache.bin 40,000, srcpkgcache.bin 39,000), the downloaded
///   archives/curl.deb 3,000 and usr/bin/curl 2,000;
/// - layer 2 (line 3, update + install git): the same InRelease again (same content: a
///   copy-up), a new Packages 91,000, new caches 41,000 and 39,500, archives/git.deb 7,000,
///   usr/bin/git 5,000;
/// - layer 3 (line 4, update + install gnupg, then `rm -rf /var/lib/apt/lists/*`): whiteouts
///   for both lists, new caches 42,000 and 40,000, archives/gnupg.deb 11,000, usr/bin/gpg
///   4,000.
fn apt_image() -> ImageBuilder {
    let wh = |p: &str| p.to_string();
    ImageBuilder::new()
        .layer(
            LayerBuilder::new()
                .file("bin/bash", &[1u8; 1_000])
                .file("etc/apt/sources.list", &[2u8; 100]),
        )
        .layer(
            LayerBuilder::new()
                .dir(LISTS)
                .file(IN_RELEASE, &[10u8; 1_500])
                .file(PACKAGES, &vec![11u8; 90_000])
                .file(PKGCACHE, &vec![12u8; 40_000])
                .file(SRCPKGCACHE, &vec![13u8; 39_000])
                .file("var/cache/apt/archives/curl.deb", &[14u8; 3_000])
                .file("usr/bin/curl", &[15u8; 2_000]),
        )
        .layer(
            LayerBuilder::new()
                .file_meta(IN_RELEASE, &[10u8; 1_500], 0o644, 0, 0, 2)
                .file(PACKAGES, &vec![21u8; 91_000])
                .file(PKGCACHE, &vec![22u8; 41_000])
                .file(SRCPKGCACHE, &vec![23u8; 39_500])
                .file("var/cache/apt/archives/git.deb", &[24u8; 7_000])
                .file("usr/bin/git", &[25u8; 5_000]),
        )
        .layer(
            LayerBuilder::new()
                .whiteout(&wh(IN_RELEASE))
                .whiteout(&wh(PACKAGES))
                .file(PKGCACHE, &vec![32u8; 42_000])
                .file(SRCPKGCACHE, &vec![33u8; 40_000])
                .file("var/cache/apt/archives/gnupg.deb", &[34u8; 11_000])
                .file("usr/bin/gpg", &[35u8; 4_000]),
        )
        .history(
            [
                "/bin/sh -c #(nop) ADD file:0123abcd in / ",
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends curl",
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends git",
                "/bin/sh -c apt-get update && apt-get install -y --no-install-recommends gnupg && rm -rf /var/lib/apt/lists/*",
            ]
            .iter()
            .map(|c| Hist {
                created_by: c.to_string(),
                empty: false,
            })
            .collect(),
        )
}

fn apt_recommendations() -> Recommendations {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.tar");
    std::fs::write(&p, apt_image().archive(Layout::DockerClassic)).unwrap();
    let image = Image::open(&p).unwrap();
    let analysis = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let df = Dockerfile::parse_named(APT_DOCKERFILE, "Dockerfile").unwrap();
    recommend(&RecommendInput {
        analysis: Some(&analysis),
        dockerfile: Some(&df),
        dockerfile_text: Some(APT_DOCKERFILE),
        ..RecommendInput::default()
    })
    .unwrap()
}

type Row = (FindingCode, Option<usize>, Option<usize>, u64);

fn row(f: &Finding) -> Row {
    (f.code, f.line, f.layer, f.bytes_saved)
}

#[test]
fn apt_in_three_runs_savings_overlaps_and_total_by_hand() {
    let r = apt_recommendations();
    use FindingCode::*;
    // Every finding and its saving, in the order listed (bytes saved, then severity, code):
    //
    // - overwritten-in-later-layer, layer 2 (line 3) hides layer 1's Packages 90,000,
    //   pkgcache.bin 40,000 and srcpkgcache.bin 39,000: 169,000;
    // - cleanup-in-same-layer, layer 3 (line 4): its var/cache/apt/ files are final:
    //   42,000 + 40,000 + 11,000 = 93,000; use-cache-mount on the same RUN: the same 93,000;
    // - deleted-in-later-layer, layer 3 (line 4) whites out layer 2's InRelease 1,500 and
    //   Packages 91,000: 92,500;
    // - overwritten-in-later-layer, layer 3 (line 4) replaces layer 2's caches 41,000 +
    //   39,500 = 80,500;
    // - cleanup and use-cache-mount of layer 2 (line 3): archives/git.deb 7,000; of layer 1
    //   (line 2): archives/curl.deb 3,000 (its caches were replaced, so are counted above);
    // - metadata-copy-up, layer 2 (line 3) ships InRelease again with the same bytes: 1,500;
    // - run-as-root (no USER) and unpinned-base-image (a public image without a digest,
    //   info): nothing to save.
    assert_eq!(
        r.recommendations.iter().map(row).collect::<Vec<Row>>(),
        vec![
            (OverwrittenInLaterLayer, Some(3), Some(2), 169_000),
            (CleanupInSameLayer, Some(4), Some(3), 93_000),
            (UseCacheMount, Some(4), Some(3), 93_000),
            (DeletedInLaterLayer, Some(4), Some(3), 92_500),
            (OverwrittenInLaterLayer, Some(4), Some(3), 80_500),
            (CleanupInSameLayer, Some(3), Some(2), 7_000),
            (UseCacheMount, Some(3), Some(2), 7_000),
            (CleanupInSameLayer, Some(2), Some(1), 3_000),
            (UseCacheMount, Some(2), Some(1), 3_000),
            (MetadataCopyUp, Some(3), Some(2), 1_500),
            (RunAsRoot, None, None, 0),
            (UnpinnedBaseImage, Some(1), None, 0),
        ]
    );
    // The rows add up to 169,000 + 2 x 93,000 + 92,500 + 80,500 + 2 x 7,000 + 2 x 3,000 +
    // 1,500 = 549,500; each byte once: the image's waste (1,500 + 90,000 + 40,000 + 39,000
    // + 1,500 + 91,000 + 41,000 + 39,500 = 343,500) plus the final apt cache files (3,000 +
    // 7,000 + 93,000 = 103,000) = 446,500.
    let sum: u64 = r.recommendations.iter().map(|f| f.bytes_saved).sum();
    assert_eq!(sum, 549_500);
    assert_eq!(r.total_bytes_saved, 446_500);
    // Only the cleanups and their cache mounts share bytes, each pair all of them, as
    // alternatives; nothing else overlaps.
    for f in &r.recommendations {
        let marks: Vec<(FindingCode, Option<usize>, Relation, u64)> = f
            .overlaps
            .iter()
            .map(|o| (o.code, o.line, o.relation, o.shared_bytes))
            .collect();
        let expected = match f.code {
            CleanupInSameLayer => {
                vec![(UseCacheMount, f.line, Relation::Alternative, f.bytes_saved)]
            }
            UseCacheMount => vec![(
                CleanupInSameLayer,
                f.line,
                Relation::Alternative,
                f.bytes_saved,
            )],
            _ => vec![],
        };
        assert_eq!(marks, expected, "{:?} on line {:?}", f.code, f.line);
    }
    // File by file: the saved items of the layer-3 cleanup are its three final files.
    let cleanup = &r.recommendations[1];
    let mut items: Vec<(usize, &str, u64)> = cleanup
        .saved_items()
        .iter()
        .map(|i| (i.layer, i.path.as_str(), i.bytes))
        .collect();
    items.sort();
    assert_eq!(
        items,
        vec![
            (3, "var/cache/apt/archives/gnupg.deb", 11_000),
            (3, PKGCACHE, 42_000),
            (3, SRCPKGCACHE, 40_000),
        ]
    );
    assert_eq!(total_bytes_saved(&r.recommendations), r.total_bytes_saved);
}

#[test]
fn overlapping_items_are_counted_once_and_marked() {
    // Two findings of different kinds that claim some of the same bytes (as a finding fed
    // from another source could): 100 + 50 and 50 + 25, sharing the 50-byte file.
    let mut fs = vec![
        Finding::new(
            FindingCode::BuildToolsInFinalImage,
            Severity::Warning,
            "tools",
        )
        .bytes_saved(150)
        .with_saved_items(vec![
            SavedItem::new(2, "usr/bin/gcc", 100),
            SavedItem::new(2, "usr/include/a.h", 50),
        ]),
        Finding::new(FindingCode::CleanupInSameLayer, Severity::Warning, "cache")
            .bytes_saved(75)
            .with_saved_items(vec![
                SavedItem::new(2, "usr/include/a.h", 50),
                SavedItem::new(3, "var/cache/apt/x", 25),
            ]),
        Finding::new(FindingCode::RunAsRoot, Severity::Warning, "root"),
    ];
    savings::mark_overlaps(&mut fs);
    assert_eq!(total_bytes_saved(&fs), 175);
    let marks = |n: usize| -> Vec<(FindingCode, Relation, u64)> {
        fs[n]
            .overlaps
            .iter()
            .map(|o| (o.code, o.relation, o.shared_bytes))
            .collect()
    };
    assert_eq!(
        marks(0),
        vec![(FindingCode::CleanupInSameLayer, Relation::Overlap, 50)]
    );
    assert_eq!(
        marks(1),
        vec![(FindingCode::BuildToolsInFinalImage, Relation::Overlap, 50)]
    );
    assert!(marks(2).is_empty());
}
