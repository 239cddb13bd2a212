//! Fleet figures on in-memory images whose every byte is chosen here, and the cache's hit,
//! miss and corrupt-entry paths.

use super::*;
use crate::testkit::{Blob, ImageBuilder, LayerBuilder, Layout};
use std::path::Path;

/// 5000 bytes shipped three times: in the base, in its rebuilt copy, and again in an app layer.
fn shell() -> Vec<u8> {
    b"shell".repeat(1000)
}

fn base(os: &[u8]) -> LayerBuilder {
    LayerBuilder::new()
        .dir("bin")
        .file("bin/sh", &shell())
        .dir("etc")
        .file("etc/os", os)
}

fn app1() -> LayerBuilder {
    LayerBuilder::new()
        .dir("app")
        .file("app/x", &[b'x'; 3000])
        .file("app/lib", &shell())
        .file("app/empty", b"")
}

fn app2() -> LayerBuilder {
    LayerBuilder::new().file("app/y", &[b'y'; 100])
}

/// I1 = base v1 + app1, I2 = base v1 + app2 (as gzip blobs in an oci-archive), I3 = base v2
/// + app1.
fn fleet(dir: &Path) -> Vec<FleetMember> {
    let specs = [
        (
            "i1",
            ImageBuilder::new().layer(base(b"v1")).layer(app1()),
            Layout::DockerClassic,
        ),
        (
            "i2",
            ImageBuilder::new()
                .layer_as(base(b"v1"), Blob::Gzip)
                .layer_as(app2(), Blob::Gzip),
            Layout::OciArchive,
        ),
        (
            "i3",
            ImageBuilder::new().layer(base(b"v2")).layer(app1()),
            Layout::DockerClassic,
        ),
    ];
    specs
        .into_iter()
        .map(|(name, b, layout)| {
            let path = dir.join(format!("{name}.tar"));
            std::fs::write(&path, b.archive(layout)).unwrap();
            FleetMember::new(name, Image::open(&path).unwrap())
        })
        .collect()
}

fn layer_index(r: &FleetReport, diff_id: &str) -> usize {
    r.layers.iter().position(|l| l.diff_id == diff_id).unwrap()
}

#[test]
fn figures_of_a_small_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let members = fleet(dir.path());
    let r = Fleet::run(&members, &FleetOptions::default()).unwrap();
    // Distinct layers: base v1, app1, app2, base v2.
    assert_eq!(r.totals.unique_layers, 4);
    assert_eq!(r.totals.layers, 6);
    let sizes: Vec<u64> = r.layers.iter().map(|l| l.size_bytes).collect();
    // base: 5000 + 2; app1: 3000 + 5000 + 0; app2: 100; base v2: 5000 + 2.
    assert_eq!(sizes, vec![5002, 8000, 100, 5002]);
    let images: Vec<Vec<usize>> = r.layers.iter().map(|l| l.images.clone()).collect();
    assert_eq!(images, vec![vec![0, 1], vec![0, 2], vec![1], vec![2]]);
    let per_image: Vec<(u64, u64)> = r
        .images
        .iter()
        .map(|i| (i.size_bytes, i.unique_size_bytes))
        .collect();
    assert_eq!(per_image, vec![(13002, 0), (5102, 100), (13002, 5002)]);
    assert_eq!(r.totals.size_bytes, 31106);
    assert_eq!(r.totals.unique_size_bytes, 18104);
    // The base v1 layer is stored as a tar in i1 and as gzip in i2: the first image's blob
    // (a plain tar: its tar size) is the layer's compressed size; i2 brings a second digest.
    let b = &r.layers[0];
    assert_eq!(b.compressed_size_bytes, b.tar_size_bytes);
    assert_eq!(
        b.blob_digests.len(),
        1,
        "docker-archive names no blob digest"
    );
    assert!(r.images[1].compressed_size_bytes < r.images[1].size_bytes + 2048);
    assert_eq!(
        r.totals.unique_compressed_size_bytes,
        r.layers
            .iter()
            .map(|l| l.compressed_size_bytes)
            .sum::<u64>()
    );
    // "shell" x 1000 is in base v1, app1 and base v2: two extra copies of 5000 bytes.
    assert_eq!(r.totals.cross_layer_duplicate_bytes, 10_000);
    assert_eq!(r.totals.cross_layer_duplicate_contents, 1);
    let d = &r.duplicates[0];
    assert_eq!(d.size_bytes, 5000);
    assert_eq!(d.layers, vec![0, 1, 3]);
    assert_eq!(d.images, 3);
    assert_eq!(d.paths, vec!["app/lib", "bin/sh"]);
    assert_eq!(d.sha256, crate::digest::sha256_of(&shell()));
    // K = 2 of 3 images: bin/sh (3 images, in 2 layers: saves 5000), etc/os v1 (2), app/x
    // and app/lib (2 each, in one layer). Not: etc/os v2, app/y (1 image), app/empty (empty).
    let cb = &r.common_base;
    assert_eq!(cb.min_images, 2);
    assert_eq!(cb.files, 4);
    assert_eq!(cb.size_bytes, 5000 + 2 + 3000 + 5000);
    assert_eq!(cb.saving_bytes, 5000);
    let top: Vec<(&str, u64, usize, usize)> = cb
        .top
        .iter()
        .map(|f| (f.path.as_str(), f.saving_bytes, f.images, f.layers))
        .collect();
    assert_eq!(
        top,
        vec![
            ("bin/sh", 5000, 3, 2),
            ("app/lib", 0, 2, 1),
            ("app/x", 0, 2, 1),
            ("etc/os", 0, 2, 1)
        ]
    );
    // Families: base v1 (i1, i2: one common layer), base v2 (i3). Drift: both bottoms ship
    // bin/sh and etc/os; etc/os differs.
    assert_eq!(r.families.len(), 2);
    assert_eq!(r.families[0].images, vec![0, 1]);
    assert_eq!(r.families[0].base_layers, 1);
    assert_eq!(r.families[0].base_size_bytes, 5002);
    assert_eq!(r.families[1].images, vec![2]);
    assert_eq!(r.images[2].family, 1);
    assert_eq!(r.drift.len(), 1);
    let dr = &r.drift[0];
    assert_eq!(dr.families, [0, 1]);
    assert_eq!((dr.shared_paths, dr.changed_paths), (2, 1));
    assert_eq!((dr.only_first, dr.only_second), (0, 0));
    assert!(r.platforms.is_empty());
    assert_eq!(r.read.layers_read, 4);
    assert_eq!(layer_index(&r, &r.images[2].layers[1]), 1);
}

fn without_read(r: &FleetReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap();
    v.as_object_mut().unwrap().remove("read");
    v.as_object_mut().unwrap().remove("warnings");
    v
}

#[test]
fn cache_miss_then_hit_then_corrupt_entry_is_read_again() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let members = fleet(dir.path());
    let opts = FleetOptions::default().summaries(SummarySource::Cache(cache.path().into()));
    let cold = Fleet::run(&members, &opts).unwrap();
    assert_eq!((cold.read.layers_read, cold.read.cache_hits), (4, 0));
    assert!(cold.read.blob_bytes_read > 0);
    let warm = Fleet::run(&members, &opts).unwrap();
    assert_eq!((warm.read.layers_read, warm.read.cache_hits), (0, 4));
    assert_eq!(warm.read.blob_bytes_read, 0);
    assert_eq!(without_read(&cold), without_read(&warm));

    // Flip one byte of app1's entry: it fails its checksum, is read again and rewritten.
    let entry = cache
        .path()
        .join(format!("v{}/sha256", SUMMARY_VERSION))
        .join(format!(
            "{}.lsum",
            &cold.layers[1].diff_id["sha256:".len()..]
        ));
    let mut bytes = std::fs::read(&entry).unwrap();
    bytes[100] ^= 0x40;
    std::fs::write(&entry, &bytes).unwrap();
    let fixed = Fleet::run(&members, &opts).unwrap();
    assert_eq!(
        (
            fixed.read.layers_read,
            fixed.read.cache_hits,
            fixed.read.corrupt_entries
        ),
        (1, 3, 1)
    );
    assert!(
        fixed.warnings[0].contains("checksum mismatch"),
        "{:?}",
        fixed.warnings
    );
    assert_eq!(without_read(&cold), without_read(&fixed));
    let again = Fleet::run(&members, &opts).unwrap();
    assert_eq!((again.read.layers_read, again.read.cache_hits), (0, 4));

    // A valid entry filed under another layer's name is not trusted either.
    let other = entry.with_file_name(format!(
        "{}.lsum",
        &cold.layers[2].diff_id["sha256:".len()..]
    ));
    std::fs::copy(&entry, &other).unwrap();
    let swapped = Fleet::run(&members, &opts).unwrap();
    assert_eq!(swapped.read.corrupt_entries, 1);
    assert!(
        swapped.warnings[0].contains("holds the summary of"),
        "{:?}",
        swapped.warnings
    );
    assert_eq!(without_read(&cold), without_read(&swapped));
}

#[test]
fn summaries_made_elsewhere_are_merged_without_reading_layers() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let members = fleet(dir.path());
    let opts = FleetOptions::default().summaries(SummarySource::Cache(cache.path().into()));
    let made = Fleet::run(&members, &opts).unwrap();
    // Workers' output, gathered flat into one directory.
    let flat = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(cache.path().join(format!("v{}/sha256", SUMMARY_VERSION))).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), flat.path().join(e.file_name())).unwrap();
    }
    let merge = FleetOptions::default().summaries(SummarySource::Summaries(flat.path().into()));
    let merged = Fleet::run(&members, &merge).unwrap();
    assert_eq!(merged.read.layers_read, 0);
    assert_eq!(without_read(&made), without_read(&merged));

    // A missing summary is an error naming the layer, never a partial report.
    let gone = format!("{}.lsum", &made.layers[3].diff_id["sha256:".len()..]);
    std::fs::remove_file(flat.path().join(&gone)).unwrap();
    let e = Fleet::run(&members, &merge).unwrap_err().to_string();
    assert!(e.contains(&gone) && e.contains("summary of layer 0"), "{e}");
    // A corrupt one too.
    std::fs::write(flat.path().join(&gone), b"LSLAYER\nnonsense").unwrap();
    let e = Fleet::run(&members, &merge).unwrap_err().to_string();
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn a_layer_whose_content_does_not_match_its_diff_id_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let good = base(b"v1").tar();
    let wrong_id = crate::digest::sha256_of(b"something else");
    let path = dir.path().join("bad.tar");
    std::fs::write(
        &path,
        ImageBuilder::new()
            .raw_layer(good, wrong_id.clone())
            .archive(Layout::DockerClassic),
    )
    .unwrap();
    let members = vec![FleetMember::new("bad", Image::open(&path).unwrap())];
    let e = Fleet::run(&members, &FleetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("digest mismatch") && e.contains(&wrong_id),
        "{e}"
    );
}
