//! criterion benches of the hot path: content hashing, tar walk (with and without gzip), the
//! layer pipeline with its hashing on helper threads against the same work on one thread and
//! without content sha256 (layer digests and content identities only), and the merge of many layers with many whiteouts (linear, unlike dive's whiteouts x files).
//! Run: `cargo bench --bench hot_path`. The end-to-end comparison with dive is benches/e2e.sh.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use layerscope::testkit::{
    LayerBuilder, ParsedLayers, walk_layer, walk_layer_threads, walk_layer_without_content_sha256,
};
use sha2::{Digest, Sha256};
use std::hint::black_box;

fn content(i: usize, len: usize) -> Vec<u8> {
    let mut v = vec![(i % 251) as u8; len];
    if let Some(first) = v.first_mut() {
        *first = (i % 256) as u8;
    }
    v
}

fn hashing(c: &mut Criterion) {
    let data = vec![7u8; 64 << 20];
    let mut g = c.benchmark_group("sha256");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("64MiB", |b| b.iter(|| Sha256::digest(black_box(&data))));
    g.finish();
}

fn tar_walk(c: &mut Criterion) {
    let mut layer = LayerBuilder::new();
    for i in 0..20_000 {
        layer = layer.file(
            &format!("usr/lib/pkg{:03}/file{i:05}.so", i / 100),
            &content(i, 2048),
        );
    }
    let tar = layer.tar();
    let gz = layer.gzip();
    let mut g = c.benchmark_group("tar_walk_20k_files");
    g.throughput(Throughput::Bytes(tar.len() as u64));
    g.sample_size(20);
    g.bench_function("plain", |b| b.iter(|| walk_layer(black_box(&tar))));
    g.bench_function("gzip", |b| b.iter(|| walk_layer(black_box(&gz))));
    g.finish();
}

/// One 48 MiB layer shaped like a Debian base (a few large files, many small ones): the
/// pipeline's two hashing threads against one thread doing the same work. On two cores the
/// threaded read should approach the time of one sha256 pass over the tar.
fn pipeline(c: &mut Criterion) {
    let mut layer = LayerBuilder::new();
    let mut total = 0usize;
    let mut i = 0usize;
    while total < 48 << 20 {
        // Every 50th file is 1 MiB, the rest 2 to 34 KiB.
        let len = if i.is_multiple_of(50) {
            1 << 20
        } else {
            2048 + (i * 7919) % 32768
        };
        layer = layer.file(
            &format!("usr/lib/p{:03}/f{i:05}", i / 100),
            &content(i, len),
        );
        total += len;
        i += 1;
    }
    let tar = layer.tar();
    let gz = layer.gzip();
    let mut g = c.benchmark_group("layer_pipeline_48MiB");
    g.throughput(Throughput::Bytes(tar.len() as u64));
    g.sample_size(10);
    for (name, blob) in [("plain", &tar), ("gzip", &gz)] {
        g.bench_with_input(BenchmarkId::new("threads", name), blob, |b, blob| {
            b.iter(|| walk_layer_threads(black_box(blob), true))
        });
        g.bench_with_input(BenchmarkId::new("one_thread", name), blob, |b, blob| {
            b.iter(|| walk_layer_threads(black_box(blob), false))
        });
        // The layer digests and content identities only: outputs that show no file's sha256.
        g.bench_with_input(
            BenchmarkId::new("threads_no_content_sha256", name),
            blob,
            |b, blob| b.iter(|| walk_layer_without_content_sha256(black_box(blob))),
        );
    }
    g.bench_function("sha256_of_tar_only", |b| {
        b.iter(|| Sha256::digest(black_box(&tar)))
    });
    g.finish();
}

fn merge(c: &mut Criterion) {
    let mut g = c.benchmark_group("merge_20k_files");
    g.sample_size(20);
    for whiteouts in [0usize, 4_000] {
        let mut layers = Vec::new();
        for l in 0..5 {
            let mut b = LayerBuilder::new();
            for i in 0..4_000 {
                b = b.file(&format!("l{l}/d{:02}/f{i:05}", i / 200), b"x");
            }
            // Upper layers delete files and whole directories of the layers below.
            if l > 0 {
                for w in 0..whiteouts / 4 {
                    let target = l - 1;
                    if w % 50 == 0 {
                        b = b.whiteout(&format!("l{target}/d{:02}", w / 50 % 20));
                    } else {
                        b = b.whiteout(&format!("l{target}/d{:02}/f{w:05}", w / 200));
                    }
                }
            }
            layers.push(b.tar());
        }
        let parsed = ParsedLayers::parse(&layers);
        g.throughput(Throughput::Elements(parsed.entries() as u64));
        g.bench_with_input(BenchmarkId::new("whiteouts", whiteouts), &parsed, |b, p| {
            b.iter(|| p.merge())
        });
    }
    g.finish();
}

criterion_group!(benches, hashing, tar_walk, pipeline, merge);
criterion_main!(benches);
