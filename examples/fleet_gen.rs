//! Fleet benchmark inputs (run by benches/fleet.sh; see benches/README.md).
//!
//! `fleet_gen real OUT [IMAGES]`: IMAGES (default 100) OCI layout directories with gzip
//! layers on 3 bases and 5 runtimes: image i = base (i mod 3) + runtime (i mod 5) + its own
//! app layer (which also ships 5 files of its base again). Blobs are hard links into
//! `OUT/pool`. Also `OUT/union`: one image holding every distinct layer once, the baseline
//! "read each unique layer once".
//!
//! `fleet_gen synthetic OUT IMAGES BASE_FILES APP_FILES`: IMAGES OCI layouts whose layers
//! exist only as summaries (`OUT/summaries/<hex>.lsum`, the documented format, written with
//! the library): IMAGES / 100 bases of BASE_FILES files, each shared by 100 images, and one
//! app layer of APP_FILES files per image. A quarter of the app files take their content
//! from a pool shared by all apps (cross-layer duplicates). Layer blobs are empty
//! placeholders: `fleet --summaries` never opens them.

use layerscope::{EntryKind, EntrySummary, FileSummary, LayerSummary};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// xorshift64*: fast deterministic bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// `n` bytes for content `id`: half random, half text, so gzip gets a realistic ratio.
fn content(id: u64, n: usize) -> Vec<u8> {
    let mut r = Rng(id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut v = Vec::with_capacity(n);
    while v.len() < n / 2 {
        v.extend_from_slice(&r.next().to_le_bytes());
    }
    v.truncate(n / 2);
    let line = format!("content {id} line of text for the compressor\n");
    while v.len() < n {
        v.extend_from_slice(line.as_bytes());
    }
    v.truncate(n);
    v
}

/// One gzip layer blob in the pool: (blob digest, size, diff_id).
fn write_layer(pool: &Path, files: &[(String, u64, usize)]) -> Res<(String, u64, String)> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, id, size) in files {
        let data = content(*id, *size);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, &data[..])?;
    }
    let tar = b.into_inner()?;
    let diff_id = format!("sha256:{}", hex(&sha(&tar)));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar)?;
    let blob = gz.finish()?;
    let digest = hex(&sha(&blob));
    std::fs::write(pool.join(&digest), &blob)?;
    Ok((format!("sha256:{digest}"), blob.len() as u64, diff_id))
}

/// An OCI layout at `dir` whose layer blobs are hard links to `pool` files (or to `empty`).
fn write_image(
    dir: &Path,
    pool: &Path,
    layers: &[(String, u64, String)],
    placeholder: Option<&Path>,
) -> Res<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {}, "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| &l.2).collect::<Vec<_>>()},
        "history": layers.iter().map(|_| serde_json::json!({"created_by": "fleet_gen"})).collect::<Vec<_>>(),
    }))?;
    let cfg = hex(&sha(&config));
    std::fs::write(blobs.join(&cfg), &config)?;
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cfg}"), "size": config.len()},
        "layers": layers.iter().map(|(d, s, _)| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d, "size": s})).collect::<Vec<_>>(),
    }))?;
    let man = hex(&sha(&manifest));
    std::fs::write(blobs.join(&man), &manifest)?;
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{man}"), "size": manifest.len()}],
        }))?,
    )?;
    for (d, _, _) in layers {
        let h = &d["sha256:".len()..];
        let target = blobs.join(h);
        if target.exists() {
            continue;
        }
        match placeholder {
            Some(empty) => std::fs::hard_link(empty, &target)?,
            None => std::fs::hard_link(pool.join(h), &target)?,
        }
    }
    Ok(())
}

fn real(out: &Path, images: usize) -> Res<()> {
    let pool = out.join("pool");
    std::fs::create_dir_all(&pool)?;
    let mut next_id = 1u64;
    let mut files = |prefix: &str, n: usize, size: usize| -> Vec<(String, u64, usize)> {
        (0..n)
            .map(|j| {
                next_id += 1;
                (format!("{prefix}/f{j}"), next_id, size + (j * 977) % size)
            })
            .collect()
    };
    let base_files: Vec<Vec<(String, u64, usize)>> = (0..3)
        .map(|b| files(&format!("usr/lib/base{b}"), 1500, 20_000))
        .collect();
    let bases: Vec<_> = base_files
        .iter()
        .map(|f| write_layer(&pool, f))
        .collect::<Res<_>>()?;
    let runtimes: Vec<_> = (0..5)
        .map(|r| write_layer(&pool, &files(&format!("opt/runtime{r}"), 300, 20_000)))
        .collect::<Res<_>>()?;
    let mut apps = Vec::new();
    for i in 0..images {
        let mut f = files(&format!("srv/app{i}"), 40, 16_000);
        // Five files of its base shipped again under the app's directory.
        for (k, (_, id, size)) in base_files[i % 3].iter().take(5).enumerate() {
            f.push((format!("srv/app{i}/vendored{k}"), *id, *size));
        }
        apps.push(write_layer(&pool, &f)?);
    }
    for (i, app) in apps.iter().enumerate() {
        let layers = vec![bases[i % 3].clone(), runtimes[i % 5].clone(), app.clone()];
        write_image(&out.join(format!("img{i:04}")), &pool, &layers, None)?;
    }
    let all: Vec<_> = bases
        .iter()
        .chain(&runtimes)
        .chain(&apps)
        .cloned()
        .collect();
    write_image(&out.join("union"), &pool, &all, None)?;
    let bytes: u64 = all.iter().map(|l| l.1).sum();
    println!(
        "{images} images, {} distinct layers, {bytes} compressed bytes",
        all.len()
    );
    Ok(())
}

fn synthetic(out: &Path, images: usize, base_files: usize, app_files: usize) -> Res<()> {
    let sums = out.join("summaries");
    std::fs::create_dir_all(&sums)?;
    let empty = out.join("empty-blob");
    std::fs::write(&empty, b"")?;
    let id_of = |tag: &str, n: u64| sha(format!("{tag}-{n}").as_bytes());
    let mut rng = Rng(42);
    let layer = |tag: String, files: Vec<FileSummary>| -> Res<(String, u64, String)> {
        let mut files = files;
        files.sort_unstable_by(|a, b| a.sha256.cmp(&b.sha256).then_with(|| a.path.cmp(&b.path)));
        let size_bytes = files.iter().map(|f| f.size).sum();
        let diff_id = format!("sha256:{}", hex(&sha(tag.as_bytes())));
        // One tar entry per file, as a layer of regular files only would have.
        let tree = files
            .iter()
            .map(|f| EntrySummary {
                kind: EntryKind::File,
                path: f.path.clone(),
                link: None,
                content: Some((f.sha256, f.size)),
            })
            .collect();
        let s = LayerSummary {
            diff_id: diff_id.clone(),
            tar_size: size_bytes,
            size_bytes,
            entries: files.len() as u64,
            files,
            tree,
        };
        let bytes = s.encode().map_err(|d| d.0)?;
        std::fs::write(sums.join(format!("{}.lsum", &diff_id[7..])), bytes)?;
        let blob = format!("sha256:{}", hex(&sha(format!("blob-{tag}").as_bytes())));
        Ok((blob, size_bytes / 2, diff_id))
    };
    let n_bases = images.div_ceil(100).max(1);
    let mut bases = Vec::new();
    for b in 0..n_bases {
        let files = (0..base_files)
            .map(|j| FileSummary {
                // A tenth of each base's files are the same in every base.
                sha256: if j % 10 == 0 {
                    id_of("common", j as u64)
                } else {
                    id_of(&format!("base{b}"), j as u64)
                },
                size: 100 + rng.next() % 50_000,
                path: format!("usr/lib/x86_64-linux-gnu/base/f{j}"),
            })
            .collect();
        bases.push(layer(format!("base{b}"), files)?);
    }
    let mut total = (n_bases * base_files) as u64;
    for i in 0..images {
        let files = (0..app_files)
            .map(|j| FileSummary {
                sha256: if j % 4 == 0 {
                    id_of("pool", (rng.next() % 100_000) + 1)
                } else {
                    id_of(&format!("app{i}"), j as u64)
                },
                size: 100 + rng.next() % 20_000,
                path: format!("srv/app{i}/node_modules/pkg{}/f{j}", j % 500),
            })
            .collect();
        let app = layer(format!("app{i}"), files)?;
        total += app_files as u64;
        write_image(
            &out.join(format!("img{i:04}")),
            &sums,
            &[bases[i % n_bases].clone(), app],
            Some(&empty),
        )?;
    }
    println!(
        "{images} images, {} distinct layers, {total} file records",
        n_bases + images
    );
    Ok(())
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize, d: usize| -> Res<usize> {
        Ok(args.get(i).map(|s| s.parse()).transpose()?.unwrap_or(d))
    };
    match args.first().map(String::as_str) {
        Some("real") => real(&PathBuf::from(&args[1]), num(2, 100)?),
        Some("synthetic") => synthetic(
            &PathBuf::from(&args[1]),
            num(2, 1000)?,
            num(3, 200_000)?,
            num(4, 18_000)?,
        ),
        _ => Err(
            "usage: fleet_gen real OUT [IMAGES] | synthetic OUT IMAGES BASE_FILES APP_FILES".into(),
        ),
    }
}
