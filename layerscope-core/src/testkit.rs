//! Builders for in-memory layers and images in every supported layout, and the assertions
//! the dive cross-checks share, for tests (this crate's unit and integration tests, and the
//! workspace's integration tests, via the `testkit` feature). Not part of the stable API.

use crate::digest::{sha256_of, to_hex};
use std::io::Write;
use std::path::Path;

/// One tar entry to write.
#[derive(Debug, Clone)]
enum Item {
    File {
        path: String,
        data: Vec<u8>,
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    },
    Raw {
        path: String,
        data: Vec<u8>,
    },
    Dir {
        path: String,
        mode: u32,
    },
    Symlink {
        path: String,
        target: String,
    },
    Hardlink {
        path: String,
        target: String,
    },
}

/// Builds one layer tar.
#[derive(Debug, Clone, Default)]
pub struct LayerBuilder {
    items: Vec<Item>,
}

impl LayerBuilder {
    /// An empty layer.
    pub fn new() -> Self {
        Self::default()
    }
    /// A regular file, mode 0644, root-owned, mtime 1700000000.
    pub fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_meta(path, data, 0o644, 0, 0, 1_700_000_000)
    }
    /// A regular file with explicit metadata.
    pub fn file_meta(
        mut self,
        path: &str,
        data: &[u8],
        mode: u32,
        uid: u64,
        gid: u64,
        mtime: u64,
    ) -> Self {
        self.items.push(Item::File {
            path: path.into(),
            data: data.to_vec(),
            mode,
            uid,
            gid,
            mtime,
        });
        self
    }
    /// A regular file whose name is written verbatim (hostile names like `../x`).
    pub fn raw_file(mut self, path: &str, data: &[u8]) -> Self {
        self.items.push(Item::Raw {
            path: path.into(),
            data: data.to_vec(),
        });
        self
    }
    /// A directory, mode 0755.
    pub fn dir(mut self, path: &str) -> Self {
        self.items.push(Item::Dir {
            path: path.into(),
            mode: 0o755,
        });
        self
    }
    /// A directory with a mode.
    pub fn dir_mode(mut self, path: &str, mode: u32) -> Self {
        self.items.push(Item::Dir {
            path: path.into(),
            mode,
        });
        self
    }
    /// A symlink.
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        self.items.push(Item::Symlink {
            path: path.into(),
            target: target.into(),
        });
        self
    }
    /// A hardlink to `target` (a path in this or a lower layer).
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        self.items.push(Item::Hardlink {
            path: path.into(),
            target: target.into(),
        });
        self
    }
    /// A whiteout for `path` (writes `dir/.wh.base`).
    pub fn whiteout(self, path: &str) -> Self {
        let (dir, base) = match path.rfind('/') {
            Some(i) => (&path[..=i], &path[i + 1..]),
            None => ("", path),
        };
        let p = format!("{dir}.wh.{base}");
        self.file_meta(&p, b"", 0o644, 0, 0, 0)
    }
    /// An opaque marker for directory `dir`.
    pub fn opaque(self, dir: &str) -> Self {
        let p = if dir.is_empty() {
            ".wh..wh..opq".to_string()
        } else {
            format!("{dir}/.wh..wh..opq")
        };
        self.file_meta(&p, b"", 0o644, 0, 0, 0)
    }

    /// The uncompressed tar.
    pub fn tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for item in &self.items {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(1_700_000_000);
            h.set_uid(0);
            h.set_gid(0);
            let r = match item {
                Item::File {
                    path,
                    data,
                    mode,
                    uid,
                    gid,
                    mtime,
                } => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_uid(*uid);
                    h.set_gid(*gid);
                    h.set_mtime(*mtime);
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, path, &data[..])
                }
                Item::Raw { path, data } => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    h.set_size(data.len() as u64);
                    let name = &mut h.as_old_mut().name;
                    let bytes = path.as_bytes();
                    let n = bytes.len().min(name.len());
                    name[..n].copy_from_slice(&bytes[..n]);
                    h.set_cksum();
                    b.append(&h, &data[..])
                }
                Item::Dir { path, mode } => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(*mode);
                    h.set_size(0);
                    b.append_data(&mut h, path, &[][..])
                }
                Item::Symlink { path, target } => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    h.set_size(0);
                    b.append_link(&mut h, path, target)
                }
                Item::Hardlink { path, target } => {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_mode(0o644);
                    h.set_size(0);
                    b.append_link(&mut h, path, target)
                }
            };
            r.expect("in-memory tar write");
        }
        b.into_inner().expect("in-memory tar finish")
    }
    /// The tar, gzip-compressed.
    pub fn gzip(&self) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&self.tar()).expect("gzip");
        e.finish().expect("gzip")
    }
    /// The tar, zstd-compressed.
    pub fn zstd(&self) -> Vec<u8> {
        zstd::encode_all(&self.tar()[..], 1).expect("zstd")
    }
}

/// How a layer blob is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blob {
    /// Plain tar.
    Tar,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// The on-disk layout to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Classic `docker save`: `<id>/layer.tar`, `<cfg>.json`, manifest.json, repositories.
    DockerClassic,
    /// podman/buildah docker-archive: root `<diffid>.tar`, `<id>/layer.tar` symlinks.
    Podman,
    /// Docker 25+: OCI layout plus manifest.json.
    Docker25,
    /// OCI layout in a tar (oci-archive).
    OciArchive,
}

/// A history entry for [`ImageBuilder`].
#[derive(Debug, Clone)]
pub struct Hist {
    /// `created_by`.
    pub created_by: String,
    /// `empty_layer`.
    pub empty: bool,
}

/// Builds a whole image.
#[derive(Debug, Clone, Default)]
pub struct ImageBuilder {
    layers: Vec<LayerSpec>,
    history: Option<Vec<Hist>>,
    user: String,
    exposed: Vec<String>,
}

impl ImageBuilder {
    /// An image with no layers.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a layer stored as a plain tar (or as the layout's default).
    pub fn layer(mut self, l: LayerBuilder) -> Self {
        self.layers.push(LayerSpec::Built(l, None));
        self
    }
    /// Add a layer from raw blob bytes with a known DiffID (gzip bombs, corrupt streams).
    pub fn raw_layer(mut self, blob: Vec<u8>, diff_id: String) -> Self {
        self.layers.push(LayerSpec::Raw(blob, diff_id));
        self
    }
    /// Add a layer with an explicit blob compression.
    pub fn layer_as(mut self, l: LayerBuilder, blob: Blob) -> Self {
        self.layers.push(LayerSpec::Built(l, Some(blob)));
        self
    }
    /// Set the history explicitly (default: one `RUN layer N` entry per layer).
    pub fn history(mut self, h: Vec<Hist>) -> Self {
        self.history = Some(h);
        self
    }
    /// Set `config.User`.
    pub fn user(mut self, u: &str) -> Self {
        self.user = u.into();
        self
    }
    /// Add an exposed port.
    pub fn expose(mut self, p: &str) -> Self {
        self.exposed.push(p.into());
        self
    }

    fn blobs(&self, default: Blob) -> Vec<(Vec<u8>, String, Blob)> {
        self.layers
            .iter()
            .map(|spec| {
                let (l, b) = match spec {
                    LayerSpec::Built(l, b) => (l, b),
                    LayerSpec::Raw(bytes, diff_id) => {
                        let blob = if bytes.starts_with(&[0x1f, 0x8b]) {
                            Blob::Gzip
                        } else if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                            Blob::Zstd
                        } else {
                            Blob::Tar
                        };
                        return (bytes.clone(), diff_id.clone(), blob);
                    }
                };
                let tar = l.tar();
                let diff_id = sha256_of(&tar);
                let blob = b.unwrap_or(default);
                let bytes = match blob {
                    Blob::Tar => tar,
                    Blob::Gzip => l.gzip(),
                    Blob::Zstd => l.zstd(),
                };
                (bytes, diff_id, blob)
            })
            .collect()
    }

    /// The config JSON for these layers.
    pub fn config_json(&self, diff_ids: &[String]) -> Vec<u8> {
        let history: Vec<serde_json::Value> = match &self.history {
            Some(h) => h
                .iter()
                .map(|h| serde_json::json!({"created_by": h.created_by, "empty_layer": h.empty}))
                .collect(),
            None => (0..diff_ids.len())
                .map(|i| serde_json::json!({"created_by": format!("/bin/sh -c layer {i}")}))
                .collect(),
        };
        let ports: serde_json::Map<String, serde_json::Value> = self
            .exposed
            .iter()
            .map(|p| (p.clone(), serde_json::json!({})))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "architecture": "amd64", "os": "linux",
            "config": {"User": self.user, "ExposedPorts": ports, "Cmd": ["/bin/sh"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        }))
        .expect("json")
    }

    /// Write the image as a tar archive in `layout`; returns the archive bytes.
    pub fn archive(&self, layout: Layout) -> Vec<u8> {
        let files = self.files(layout);
        let mut b = tar::Builder::new(Vec::new());
        for (name, f) in &files {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            match f {
                FileOrLink::File(data) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(0o644);
                    h.set_size(data.len() as u64);
                    b.append_data(&mut h, name, &data[..]).expect("tar");
                }
                FileOrLink::Symlink(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_size(0);
                    b.append_link(&mut h, name, t).expect("tar");
                }
            }
        }
        b.into_inner().expect("tar")
    }

    /// Write the image as an OCI layout directory (or extracted docker save) under `dir`.
    pub fn write_dir(&self, layout: Layout, dir: &Path) {
        for (name, f) in self.files(layout) {
            let p = dir.join(&name);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            match f {
                FileOrLink::File(data) => std::fs::write(&p, data).expect("write"),
                FileOrLink::Symlink(t) => {
                    #[cfg(unix)]
                    std::os::unix::fs::symlink(t, &p).expect("symlink");
                }
            }
        }
    }

    fn files(&self, layout: Layout) -> Vec<(String, FileOrLink)> {
        let mut out = Vec::new();
        match layout {
            Layout::DockerClassic | Layout::Podman => {
                let blobs = self.blobs(Blob::Tar);
                let diff_ids: Vec<String> = blobs.iter().map(|b| b.1.clone()).collect();
                let config = self.config_json(&diff_ids);
                let cfg_name = format!("{}.json", &sha256_of(&config)[7..]);
                let mut layer_paths = Vec::new();
                for (i, (bytes, diff_id, _)) in blobs.into_iter().enumerate() {
                    let id = to_hex(&sha2::Sha256::digest_bytes(
                        format!("v1-{i}-{diff_id}").as_bytes(),
                    ));
                    if layout == Layout::Podman {
                        let root = format!("{}.tar", &diff_id[7..]);
                        out.push((
                            format!("{id}/layer.tar"),
                            FileOrLink::Symlink(format!("../{root}")),
                        ));
                        layer_paths.push(root.clone());
                        out.push((root, FileOrLink::File(bytes)));
                    } else {
                        out.push((format!("{id}/VERSION"), FileOrLink::File(b"1.0".to_vec())));
                        layer_paths.push(format!("{id}/layer.tar"));
                        out.push((format!("{id}/layer.tar"), FileOrLink::File(bytes)));
                    }
                }
                let manifest = serde_json::json!([{"Config": cfg_name, "RepoTags": ["example.com/test:latest"], "Layers": layer_paths}]);
                out.push((cfg_name, FileOrLink::File(config)));
                out.push((
                    "manifest.json".into(),
                    FileOrLink::File(serde_json::to_vec(&manifest).expect("json")),
                ));
                out.push(("repositories".into(), FileOrLink::File(b"{}".to_vec())));
            }
            Layout::Docker25 | Layout::OciArchive => {
                let blobs = self.blobs(if layout == Layout::Docker25 {
                    Blob::Tar
                } else {
                    Blob::Gzip
                });
                let diff_ids: Vec<String> = blobs.iter().map(|b| b.1.clone()).collect();
                let config = self.config_json(&diff_ids);
                let config_digest = sha256_of(&config);
                let mut layer_descs = Vec::new();
                let mut layer_paths = Vec::new();
                for (bytes, _, blob) in blobs {
                    let d = sha256_of(&bytes);
                    let mt = match blob {
                        Blob::Tar => "application/vnd.oci.image.layer.v1.tar",
                        Blob::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
                        Blob::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
                    };
                    layer_descs.push(
                        serde_json::json!({"mediaType": mt, "digest": d, "size": bytes.len()}),
                    );
                    layer_paths.push(format!("blobs/sha256/{}", &d[7..]));
                    out.push((format!("blobs/sha256/{}", &d[7..]), FileOrLink::File(bytes)));
                }
                let manifest = serde_json::to_vec(&serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
                    "layers": layer_descs,
                }))
                .expect("json");
                let manifest_digest = sha256_of(&manifest);
                let index = serde_json::json!({
                    "schemaVersion": 2,
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest, "size": manifest.len(),
                                   "annotations": {"org.opencontainers.image.ref.name": "latest", "io.containerd.image.name": "example.com/test:latest"}}],
                });
                out.push((
                    format!("blobs/sha256/{}", &config_digest[7..]),
                    FileOrLink::File(config),
                ));
                out.push((
                    format!("blobs/sha256/{}", &manifest_digest[7..]),
                    FileOrLink::File(manifest),
                ));
                out.push((
                    "index.json".into(),
                    FileOrLink::File(serde_json::to_vec(&index).expect("json")),
                ));
                out.push((
                    "oci-layout".into(),
                    FileOrLink::File(br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
                ));
                if layout == Layout::Docker25 {
                    let m = serde_json::json!([{"Config": format!("blobs/sha256/{}", &config_digest[7..]), "RepoTags": ["example.com/test:latest"], "Layers": layer_paths}]);
                    out.push((
                        "manifest.json".into(),
                        FileOrLink::File(serde_json::to_vec(&m).expect("json")),
                    ));
                }
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
enum LayerSpec {
    Built(LayerBuilder, Option<Blob>),
    Raw(Vec<u8>, String),
}

#[derive(Debug)]
enum FileOrLink {
    File(Vec<u8>),
    Symlink(String),
}

trait DigestBytes {
    fn digest_bytes(data: &[u8]) -> [u8; 32];
}

impl DigestBytes for sha2::Sha256 {
    fn digest_bytes(data: &[u8]) -> [u8; 32] {
        use sha2::Digest as _;
        sha2::Sha256::digest(data).into()
    }
}

/// gzip a whole byte buffer (for `docker save | gzip` tests).
pub fn gzip_bytes(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

/// Layers parsed once, for benchmarking the merge alone.
#[derive(Debug)]
pub struct ParsedLayers(Vec<crate::layer::LayerContents>);

impl ParsedLayers {
    /// Parse layer blobs (plain, gzip or zstd).
    pub fn parse(blobs: &[Vec<u8>]) -> ParsedLayers {
        ParsedLayers(
            blobs
                .iter()
                .map(|b| crate::layer::read_layer(&b[..], None).expect("layer"))
                .collect(),
        )
    }
    /// Merge them; returns the visible bytes (so the work cannot be optimised away).
    pub fn merge(&self) -> u64 {
        crate::tree::Tree::merge(&self.0).visible_bytes()
    }
    /// Tar entries parsed.
    pub fn entries(&self) -> usize {
        self.0.iter().map(|l| l.entries.len()).sum()
    }
}

/// [`walk_layer`] with the hashing on helper threads (`true`, as `Analysis::run` reads
/// layers of 4 MiB or more) or on the reading thread alone (`false`).
pub fn walk_layer_threads(blob: &[u8], threads: bool) -> usize {
    let options = crate::layer::LayerOptions {
        threads,
        ..Default::default()
    };
    crate::layer::read_layer_with(blob, &options)
        .expect("layer")
        .entries
        .len()
}

/// Stream one layer blob with the hashing on helper threads, computing each file's content
/// identity but no content sha256 (how layers are read for outputs that show no content
/// digest: [`crate::ContentSha256::Omitted`]); returns the entry count.
pub fn walk_layer_without_content_sha256(blob: &[u8]) -> usize {
    let options = crate::layer::LayerOptions {
        content_sha256: false,
        ..Default::default()
    };
    crate::layer::read_layer_with(blob, &options)
        .expect("layer")
        .entries
        .len()
}

/// Stream one layer blob (sniff, decompress, walk, hash every file); returns the entry count.
pub fn walk_layer(blob: &[u8]) -> usize {
    crate::layer::read_layer(blob, None)
        .expect("layer")
        .entries
        .len()
}

/// The waste items of a report as (path, bytes, kind, added by layer, hidden by layer), in
/// the report's order: one line per item for `assert_eq!`.
pub fn waste_rows(r: &crate::Report) -> Vec<(&str, u64, crate::WasteKind, usize, usize)> {
    r.waste
        .iter()
        .map(|w| {
            (
                w.path.as_str(),
                w.bytes,
                w.kind,
                w.added_by_layer,
                w.hidden_by_layer,
            )
        })
        .collect()
}

/// What dive 0.13.1 printed for one image (`dive --json` and `CI=true dive`), recorded by
/// the dive cross-checks: this crate's on synthetic images, the workspace's on its fixtures.
#[derive(Debug, Clone)]
pub struct DiveRecord {
    /// `efficiencyScore` of `--json` (full precision; the CI summary prints 4 decimals).
    pub efficiency: f64,
    /// `inefficientBytes` / `wastedBytes`.
    pub wasted_bytes: u64,
    /// The `%-user-wasted-bytes=` ratio; `None` where dive prints `NaN`.
    pub user_wasted: Option<f64>,
    /// `sizeBytes`.
    pub size_bytes: u64,
    /// `fileReference` / "Inefficient Files", in dive's order: (path, count, bytes).
    pub files: &'static [(&'static str, u64, u64)],
}

/// Compare `--compat dive` figures with dive's, exactly, and with dive's printed text;
/// panics naming `name` and the first figure that differs.
pub fn assert_matches_dive(name: &str, f: &crate::DiveFigures, d: &DiveRecord) {
    assert_eq!(f.efficiency, d.efficiency, "{name}: efficiency");
    assert_eq!(
        format!("{:.4}", f.efficiency * 100.0),
        format!("{:.4}", d.efficiency * 100.0),
        "{name}: efficiency as dive prints it"
    );
    assert_eq!(f.wasted_bytes, d.wasted_bytes, "{name}: wastedBytes");
    assert_eq!(
        f.user_wasted_percent, d.user_wasted,
        "{name}: userWastedPercent"
    );
    assert_eq!(f.size_bytes, d.size_bytes, "{name}: sizeBytes");
    let files: Vec<(&str, u64, u64)> = f
        .inefficient_files
        .iter()
        .map(|i| (i.path.as_str(), i.count, i.cumulative_size_bytes))
        .collect();
    assert_eq!(files, d.files, "{name}: inefficient files");
}
