//! The fleet view over real images built by buildah (tests/fixtures/fleet, rebuilt by its
//! rebuild.sh): app1 and app2 FROM base-a, app3 FROM base-a2 (base-a with another
//! etc/os-release), app4 FROM base-b. Every figure below is worked out from
//! tests/fixtures/fleet/images/listing.txt (`tar tvf` of each layer and `sha256sum` of each
//! file, written by rebuild.sh with tar, sha256sum and jq only), not from layerscope.
//!
//! Layers by DiffID, in the order first met (app1, app2, app3, app4; bottom first):
//!
//! | # | layer | regular files (`tar tvf` sizes) | size | stored as |
//! |---|---|---|---|---|
//! | 0 | base-a 01666472 | bin/tool 20000, etc/os-release 9, lib/libc.so 30000 | 50009 | tar 55296 (app1), gzip 50565 (app2) |
//! | 1 | app1 2f2590c8 | app/main.bin 10000, app/shared.dat 8000 | 18000 | tar 20992 |
//! | 2 | app2 82f0a55f | app/main.bin 12000, app/shared.dat 8000 | 20000 | gzip 20395 |
//! | 3 | base-a2 96c326f1 | bin/tool 20000, etc/os-release 9 (other sha256), lib/libc.so 30000 | 50009 | tar 55296 |
//! | 4 | app3 cfc42f1a | app/main.bin 7000 | 7000 | tar 9216 |
//! | 5 | base-b 49a9db78 | bin/other 5000, bin/other2 1000, etc/os-release 9, lib/libc.so 30000, share/doc 500 | 36509 | tar 43008 |
//! | 6 | app4 039459c1 | app/libc.so 30000, app/main.bin 9000, app/shared.dat 8000 | 47000 | tar 50688 |
//!
//! Same sha256 in different layers (listing.txt): 050058c8 (libc, 30000 bytes) in layers 0,
//! 3, 5, 6; 57893e3a (bin/tool, 20000) in 0, 3; 4e76f456 (app/shared.dat, 8000) in 1, 2, 6.

use layerscope::{
    EntryKind, Fleet, FleetMember, FleetOptions, FleetReport, Image, OpenOptions, SUMMARY_VERSION,
    SummarySource,
};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fleet/images")
        .join(name)
}

fn members() -> Vec<FleetMember> {
    ["app1.tar", "app2.oci.tar", "app3.tar", "app4.tar"]
        .iter()
        .map(|n| FleetMember::new(*n, Image::open(fixture(n)).unwrap()))
        .collect()
}

fn run(options: &FleetOptions) -> FleetReport {
    Fleet::run(&members(), options).unwrap()
}

#[test]
fn shared_layers_and_unique_bytes_match_the_archives() {
    let r = run(&FleetOptions::default());
    let t = &r.totals;
    assert_eq!((t.images, t.layers, t.unique_layers), (4, 8, 7));
    let short: Vec<&str> = r.layers.iter().map(|l| &l.diff_id[7..15]).collect();
    assert_eq!(
        short,
        [
            "01666472", "2f2590c8", "82f0a55f", "96c326f1", "cfc42f1a", "49a9db78", "039459c1"
        ]
    );
    let sizes: Vec<u64> = r.layers.iter().map(|l| l.size_bytes).collect();
    assert_eq!(sizes, [50009, 18000, 20000, 50009, 7000, 36509, 47000]);
    let holders: Vec<Vec<usize>> = r.layers.iter().map(|l| l.images.clone()).collect();
    assert_eq!(
        holders,
        [
            vec![0, 1],
            vec![0],
            vec![1],
            vec![2],
            vec![2],
            vec![3],
            vec![3]
        ]
    );
    // Compressed: the blob of the first image that holds the layer (app1's plain tar for
    // base-a, although app2 stores it as 50565 bytes of gzip).
    let stored: Vec<u64> = r.layers.iter().map(|l| l.compressed_size_bytes).collect();
    assert_eq!(stored, [55296, 20992, 20395, 55296, 9216, 43008, 50688]);
    assert_eq!(
        r.layers[0].blob_digests,
        ["sha256:cd2e4f414fc4511b00194a90f4221a63f4146f08f479f4db889a5ac173973e55"]
    );

    // Per image: size = its layers; "only here" = layers no other image holds.
    let per: Vec<(u64, u64, u64)> = r
        .images
        .iter()
        .map(|i| (i.size_bytes, i.compressed_size_bytes, i.unique_size_bytes))
        .collect();
    assert_eq!(
        per,
        [
            (50009 + 18000, 55296 + 20992, 18000),
            (50009 + 20000, 50565 + 20395, 20000),
            (50009 + 7000, 55296 + 9216, 50009 + 7000),
            (36509 + 47000, 43008 + 50688, 36509 + 47000),
        ]
    );
    assert_eq!(t.size_bytes, 68009 + 70009 + 57009 + 83509);
    assert_eq!(t.unique_size_bytes, 228_527);
    assert_eq!(
        t.unique_compressed_size_bytes,
        55296 + 20992 + 20395 + 55296 + 9216 + 43008 + 50688
    );
    assert_eq!(t.files, 3 + 2 + 2 + 3 + 1 + 5 + 3);
}

#[test]
fn duplicate_files_across_layers_match_sha256sum() {
    let r = run(&FleetOptions::default());
    // libc: 4 layers, 3 extra copies; bin/tool: 1 extra; shared.dat: 2 extra.
    assert_eq!(
        r.totals.cross_layer_duplicate_bytes,
        3 * 30000 + 20000 + 2 * 8000
    );
    assert_eq!(r.totals.cross_layer_duplicate_contents, 3);
    /// sha256 (8 hex digits), saving, layers, images, paths.
    type Row<'a> = (&'a str, u64, Vec<usize>, usize, Vec<&'a str>);
    let d: Vec<Row> = r
        .duplicates
        .iter()
        .map(|d| {
            (
                &d.sha256[7..15],
                d.saving_bytes,
                d.layers.clone(),
                d.images,
                d.paths.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        d,
        [
            (
                "050058c8",
                90000,
                vec![0, 3, 5, 6],
                4,
                vec!["app/libc.so", "lib/libc.so"]
            ),
            ("57893e3a", 20000, vec![0, 3], 3, vec!["bin/tool"]),
            ("4e76f456", 16000, vec![1, 2, 6], 3, vec!["app/shared.dat"]),
        ]
    );
}

#[test]
fn common_base_families_and_drift() {
    let r = run(&FleetOptions::default());
    // K = 2 of 4. lib/libc.so: 4 images, in 3 layers; bin/tool: 3 images, 2 layers;
    // app/shared.dat: 3 images, 3 layers; etc/os-release of base-a: 2 images, 1 layer.
    // app/libc.so and every other file: 1 image.
    let cb = &r.common_base;
    assert_eq!((cb.min_images, cb.files), (2, 4));
    assert_eq!(cb.size_bytes, 30000 + 20000 + 8000 + 9);
    assert_eq!(cb.saving_bytes, 2 * 30000 + 20000 + 2 * 8000);
    let top: Vec<(&str, u64, usize, usize)> = cb
        .top
        .iter()
        .map(|f| (f.path.as_str(), f.saving_bytes, f.images, f.layers))
        .collect();
    assert_eq!(
        top,
        [
            ("lib/libc.so", 60000, 4, 3),
            ("bin/tool", 20000, 3, 2),
            ("app/shared.dat", 16000, 3, 3),
            ("etc/os-release", 0, 2, 1),
        ]
    );
    // With K = 4 only lib/libc.so qualifies.
    let r4 = run(&FleetOptions::default().min_images(4));
    assert_eq!(
        (r4.common_base.files, r4.common_base.saving_bytes),
        (1, 60000)
    );

    let fam: Vec<(&str, Vec<usize>, usize, u64)> = r
        .families
        .iter()
        .map(|f| {
            (
                &f.bottom_layer[7..15],
                f.images.clone(),
                f.base_layers,
                f.base_size_bytes,
            )
        })
        .collect();
    assert_eq!(
        fam,
        [
            ("01666472", vec![0, 1], 1, 50009),
            ("96c326f1", vec![2], 1, 50009),
            ("49a9db78", vec![3], 1, 36509),
        ]
    );
    // base-a and base-a2 ship the same 3 paths, etc/os-release differs. base-b shares only
    // lib/libc.so and etc/os-release with them (2 of 6 paths): not the same base.
    assert_eq!(r.drift.len(), 1);
    let d = &r.drift[0];
    assert_eq!(d.families, [0, 1]);
    assert_eq!(
        (d.shared_paths, d.changed_paths, d.only_first, d.only_second),
        (3, 1, 0, 0)
    );
}

#[test]
fn cache_hit_miss_and_corrupt_entry_on_real_images() {
    let cache = tempfile::tempdir().unwrap();
    let opts = FleetOptions::default().summaries(SummarySource::Cache(cache.path().into()));
    let cold = run(&opts);
    assert_eq!((cold.read.layers_read, cold.read.cache_hits), (7, 0));
    // Blob bytes read: each distinct layer once, from the first image holding it.
    assert_eq!(
        cold.read.blob_bytes_read,
        55296 + 20992 + 20395 + 55296 + 9216 + 43008 + 50688
    );
    let warm = run(&opts);
    assert_eq!((warm.read.layers_read, warm.read.cache_hits), (0, 7));
    assert_eq!(warm.read.blob_bytes_read, 0);
    // Truncate base-b's entry: it is read again (43008 bytes) and the figures are the same.
    let entry = cache
        .path()
        .join(format!("v{}/sha256", SUMMARY_VERSION))
        .join(format!("{}.lsum", &cold.layers[5].diff_id[7..]));
    let bytes = std::fs::read(&entry).unwrap();
    std::fs::write(&entry, &bytes[..bytes.len() / 2]).unwrap();
    let fixed = run(&opts);
    assert_eq!(
        (
            fixed.read.layers_read,
            fixed.read.cache_hits,
            fixed.read.corrupt_entries
        ),
        (1, 6, 1)
    );
    assert_eq!(fixed.read.blob_bytes_read, 43008);
    assert_eq!(
        std::fs::read(&entry).unwrap(),
        bytes,
        "the entry is rewritten"
    );
    let strip = |r: &FleetReport| {
        let mut v = serde_json::to_value(r).unwrap();
        v.as_object_mut().unwrap().remove("read");
        v.as_object_mut().unwrap().remove("warnings");
        v
    };
    assert_eq!(strip(&cold), strip(&warm));
    assert_eq!(strip(&cold), strip(&fixed));
}

/// tests/fixtures/fleet/platforms/platforms.oci.tar: one image index, two platforms, built by
/// buildah (rebuild.sh). From its listing.txt (`tar tvf` and `sha256sum` of every layer):
///
/// | layer | amd64 | arm64 |
/// |---|---|---|
/// | COPY common/ (shared, 1f6d662c) | etc/app.conf 3000, etc/shared.txt 100 | the same layer |
/// | COPY ${ARCH}/ | etc/arch 6 (d54d20ea), usr/bin/app 6000 (31173502), usr/lib/libfast.so 2000 | etc/arch 6 (c1669e1d), usr/bin/app 5000 (34dc2052), usr/share/doc/arm.txt 700 |
/// | RUN (buildah's mount points) | etc/hostname, etc/hosts, etc/resolv.conf, all empty | the same three, and `etc/.wh.app.conf` |
///
/// Final filesystems (non-directories): amd64 has 8 paths, 3000 + 100 + 6 + 6000 + 2000 =
/// 11,106 bytes; arm64 has 7 (etc/app.conf is whited out), 100 + 6 + 5000 + 700 = 5,806
/// bytes. 9 paths in all: 4 identical (etc/shared.txt and the three empty files), 3 missing
/// from a platform (etc/app.conf 3000 and usr/lib/libfast.so 2000 only on amd64: 2 paths,
/// 5,000 bytes; usr/share/doc/arm.txt 700 only on arm64), 2 differing (usr/bin/app, etc/arch:
/// 6,006 bytes on amd64, 5,006 on arm64).
#[test]
fn platform_differences_match_the_listing() {
    let index = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fleet/platforms/platforms.oci.tar");
    let platforms = Image::platforms(&index).unwrap();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let members: Vec<FleetMember> = platforms
        .iter()
        .map(|p| {
            let image = Image::open_with(&index, &OpenOptions::default().platform(p.clone()));
            FleetMember::new(format!("platforms [{p}]"), image.unwrap()).platform_of("platforms")
        })
        .collect();
    let r = Fleet::run(&members, &FleetOptions::default()).unwrap();
    // The shared COPY layer is read once.
    assert_eq!((r.totals.layers, r.totals.unique_layers), (6, 5));
    assert_eq!(r.platform_differences.len(), 1);
    let d = &r.platform_differences[0];
    assert_eq!(
        (d.reference.as_str(), d.images.as_slice()),
        ("platforms", &[0, 1][..])
    );
    let per: Vec<(&str, u64, u64, u64, u64, u64)> = d
        .platforms
        .iter()
        .map(|p| {
            (
                p.platform.as_str(),
                p.files,
                p.size_bytes,
                p.partial_paths,
                p.partial_bytes,
                p.differing_bytes,
            )
        })
        .collect();
    assert_eq!(
        per,
        [
            ("linux/amd64", 8, 11_106, 2, 5_000, 6_006),
            ("linux/arm64", 7, 5_806, 1, 700, 5_006),
        ]
    );
    assert_eq!(
        (
            d.paths,
            d.identical_paths,
            d.partial_paths,
            d.differing_paths
        ),
        (9, 4, 3, 2)
    );
    let listed: Vec<(&str, &str, Vec<Option<u64>>)> = d
        .differences
        .iter()
        .map(|x| {
            let sizes = x.entries.iter().map(|e| e.as_ref().map(|e| e.size_bytes));
            (x.path.as_str(), x.change.as_str(), sizes.collect())
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("usr/bin/app", "content", vec![Some(6000), Some(5000)]),
            ("etc/app.conf", "missing", vec![Some(3000), None]),
            ("usr/lib/libfast.so", "missing", vec![Some(2000), None]),
            ("usr/share/doc/arm.txt", "missing", vec![None, Some(700)]),
            ("etc/arch", "content", vec![Some(6), Some(6)]),
        ]
    );
    let app = &d.differences[0].entries;
    let shas: Vec<&str> = app
        .iter()
        .map(|e| &e.as_ref().unwrap().sha256.as_deref().unwrap()[7..15])
        .collect();
    assert_eq!(shas, ["31173502", "34dc2052"]);
    assert!(
        app.iter()
            .all(|e| e.as_ref().unwrap().kind == EntryKind::File)
    );

    // The same from a warm cache: the comparison needs only the summaries.
    let cache = tempfile::tempdir().unwrap();
    let options = FleetOptions::default().summaries(SummarySource::Cache(cache.path().into()));
    let cold = Fleet::run(&members, &options).unwrap();
    let warm = Fleet::run(&members, &options).unwrap();
    assert_eq!((warm.read.layers_read, warm.read.cache_hits), (0, 5));
    let json = |r: &FleetReport| serde_json::to_value(&r.platform_differences).unwrap();
    assert_eq!(json(&cold), json(&r));
    assert_eq!(json(&warm), json(&r));
}
