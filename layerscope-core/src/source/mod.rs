//! `Image::open`: recognise the input (classic and Docker 25+ `docker save`, podman/buildah
//! docker-archive, OCI layout directory or tar, whole-archive gzip/zstd, standard input),
//! choose a manifest by platform, and describe the layers to read. Nothing here decompresses
//! a layer; `layer.rs` streams them.

mod auth;
mod config;
mod daemon;
mod docker;
mod name;
mod oci;
mod registry;
mod storage;
mod store;
mod toc;

pub use config::{HistoryEntry, ImageConfig, RootFs, RuntimeConfig};
pub use name::Transport;
pub use toc::{TocFormat, TocRead};

use crate::digest;
use crate::error::{Error, OptionName, Result};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use store::Store;

/// Largest metadata document (manifest, index, config) read into memory.
pub(crate) const METADATA_LIMIT: u64 = 64 * 1024 * 1024;

/// Which container format an image was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ImageFormat {
    /// `docker save` before Docker 25, or a podman/buildah docker-archive (`manifest.json`).
    DockerArchive,
    /// An OCI image layout (directory, oci-archive tar, or Docker 25+ `docker save`).
    OciLayout,
}

/// Options for [`Image::open_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// `os/arch[/variant]` to select from a multi-platform index.
    pub platform: Option<String>,
    /// Reach `docker://` registries over plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// Read registry layers that carry a table of contents (eStargz) from it, with `Range`
    /// requests, instead of fetching their blobs. Their DiffIDs and blob digests are then
    /// not verified (see [`TocRead`]); without this, every blob is read and verified.
    pub toc: bool,
}

impl OpenOptions {
    /// Reach `docker://` registries over plain HTTP (a local or test registry).
    pub fn insecure(mut self, yes: bool) -> Self {
        self.insecure = yes;
        self
    }

    /// Read registry layers from their table of contents where they have one (see
    /// [`OpenOptions::toc`]).
    pub fn toc(mut self, yes: bool) -> Self {
        self.toc = yes;
        self
    }

    /// Select this platform (`os/arch[/variant]`).
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }
}

/// Whether a layer's blob is present in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum LayerAvailability {
    /// The blob is in the image.
    Present,
    /// A foreign or non-distributable layer whose blob is absent (allowed; reported).
    MissingForeign,
}

/// One layer as the metadata describes it, before it is read.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct LayerRef {
    /// Position in the stack, 0 = base.
    pub index: usize,
    /// The blob digest recorded in the manifest (OCI); `None` for docker-archive, where it is
    /// computed while reading.
    pub digest: Option<String>,
    /// The DiffID from the config.
    pub diff_id: Option<String>,
    /// Media type (OCI/Docker); docker-archive layers are `application/vnd.docker.image.rootfs.diff.tar`.
    pub media_type: String,
    /// Blob size recorded in the manifest, if any.
    pub size: Option<u64>,
    /// Whether the blob is present.
    pub availability: LayerAvailability,
    #[serde(skip)]
    pub(crate) member: String,
    /// The descriptor's annotations (a table of contents is found through them).
    #[serde(skip)]
    pub(crate) annotations: std::collections::BTreeMap<String, String>,
}

/// An opened image: its metadata, and access to its layer blobs.
#[derive(Debug)]
pub struct Image {
    path: PathBuf,
    transport: Transport,
    store: Store,
    format: ImageFormat,
    reference: Option<String>,
    manifest_digest: Option<String>,
    config_digest: String,
    config: ImageConfig,
    layers: Vec<LayerRef>,
    warnings: Vec<String>,
    /// Layers already read from a stream (docker-daemon) or from their table of contents,
    /// by layer index.
    prefetched: std::collections::HashMap<usize, crate::layer::LayerContents>,
    /// Layers read from their table of contents, by layer index.
    toc_reads: std::collections::HashMap<usize, TocRead>,
}

/// What a format reader hands back.
pub(crate) struct Resolved {
    format: ImageFormat,
    reference: Option<String>,
    manifest_digest: Option<String>,
    config_digest: String,
    config: ImageConfig,
    layers: Vec<LayerRef>,
    warnings: Vec<String>,
}

impl Image {
    /// Open an image with default options. `path` may be `-` for standard input.
    ///
    /// # Errors
    /// Any unreadable, unrecognised or inconsistent input: see [`Error`].
    pub fn open(path: impl AsRef<Path>) -> Result<Image> {
        Image::open_with(path, &OpenOptions::default())
    }

    /// Open an image, choosing the platform as `options` says.
    ///
    /// # Errors
    /// Any unreadable, unrecognised or inconsistent input, an invalid `--platform` value, or
    /// several platforms with none chosen and no linux/amd64 among them.
    pub fn open_with(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Image> {
        let path = path.as_ref();
        let platform = match &options.platform {
            Some(p) => Some(
                oci::PlatformWanted::parse(p).ok_or_else(|| Error::InvalidOption {
                    option: OptionName::Platform,
                    reason: format!(
                        "{p:?} is not os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8"
                    ),
                    source: None,
                })?,
            ),
            None => None,
        };
        let parsed = name::ImageName::parse(path)?;
        let transport = parsed.transport();
        let want = platform.as_ref();
        let mut prefetched = std::collections::HashMap::new();
        let mut toc_reads = std::collections::HashMap::new();
        let (store, resolved) = match parsed {
            name::ImageName::File(file) => {
                let store = open_store(&file)?;
                let resolved = resolve_detected(&store, &file, want, None)?;
                (store, resolved)
            }
            name::ImageName::DockerArchive(file) => {
                let store = open_store(&file)?;
                if !store.exists("manifest.json") {
                    return Err(Error::UnknownFormat {
                        path: path.to_path_buf(),
                        reason: "no manifest.json: not a docker-archive".into(),
                        source: None,
                    });
                }
                let resolved = docker::resolve(&store, path, want)?;
                (store, resolved)
            }
            name::ImageName::OciArchive(file) => {
                if file.is_dir() {
                    return Err(Error::UnknownFormat {
                        path: path.to_path_buf(),
                        reason: "a directory: an OCI layout directory is named oci:DIR".into(),
                        source: None,
                    });
                }
                let store = open_store(&file)?;
                let resolved = resolve_oci(&store, path, want, None)?;
                (store, resolved)
            }
            name::ImageName::Oci(dir, reference) => {
                if !dir.is_dir() {
                    return Err(Error::UnknownFormat {
                        path: path.to_path_buf(),
                        reason: format!("{} is not a directory", dir.display()),
                        source: None,
                    });
                }
                let store = open_store(&dir)?;
                let resolved = resolve_oci(&store, path, want, reference.as_deref())?;
                (store, resolved)
            }
            name::ImageName::Registry(reference) => {
                let reg = registry::Registry::open(
                    reference,
                    path.to_path_buf(),
                    &registry::RegistryOptions {
                        insecure: options.insecure,
                    },
                )?;
                let store = Store::Remote(reg);
                let mut resolved = oci::resolve(&store, path, want, None)?;
                if options.toc
                    && let Store::Remote(reg) = &store
                {
                    read_tocs(reg, &mut resolved, &mut prefetched, &mut toc_reads);
                }
                (store, resolved)
            }
            name::ImageName::DockerDaemon(_) | name::ImageName::ContainersStorage(_) => {
                let mut exported = match &parsed {
                    name::ImageName::ContainersStorage(n) => storage::export(n, path)?,
                    _ => Self::engine_export(&parsed, path)?,
                };
                let store = exported.store;
                let mut resolved = resolve_detected(&store, path, want, None)?;
                if let (None, name::ImageName::ContainersStorage(n)) =
                    (&resolved.reference, &parsed)
                {
                    // skopeo's archive carries no tag: the name (without a store prefix) is it.
                    let plain = n.rsplit_once(']').map_or(n.as_str(), |(_, rest)| rest);
                    resolved.reference = Some(plain.to_string());
                }
                for l in &resolved.layers {
                    let Some(member) = store.memory_member(&l.member) else {
                        continue;
                    };
                    match exported.layers.get(&member) {
                        Some(Ok(c)) => {
                            prefetched.insert(l.index, c.clone());
                        }
                        Some(Err(_)) => {
                            let Some(Err(f)) = exported.layers.remove(&member) else {
                                continue;
                            };
                            return Err(Error::Layer {
                                image: path.to_path_buf(),
                                index: l.index,
                                digest: l
                                    .digest
                                    .clone()
                                    .or_else(|| l.diff_id.clone())
                                    .unwrap_or_default(),
                                entry: f
                                    .entry
                                    .as_ref()
                                    .map(|e| format!(", entry {e:?}"))
                                    .unwrap_or_default(),
                                reason: f.reason,
                                source: f.source,
                            });
                        }
                        None => {}
                    }
                }
                (store, resolved)
            }
        };
        let Resolved {
            format,
            reference,
            manifest_digest,
            config_digest,
            config,
            layers,
            warnings,
        } = resolved;
        Ok(Image {
            path: path.to_path_buf(),
            transport,
            store,
            format,
            reference,
            manifest_digest,
            config_digest,
            config,
            layers,
            warnings,
            prefetched,
            toc_reads,
        })
    }

    /// Export from the Docker Engine; for a bare argument (the bare-name rule) the error
    /// says that the file was looked for first.
    fn engine_export(parsed: &name::ImageName, path: &Path) -> Result<daemon::Exported> {
        let name::ImageName::DockerDaemon(engine_name) = parsed else {
            return Err(Error::Transport {
                image: path.to_path_buf(),
                reason: "not a Docker Engine name".into(),
                source: None,
            });
        };
        let bare = path
            .to_str()
            .is_some_and(|p| !p.starts_with("docker-daemon:"));
        daemon::export(engine_name, path).map_err(|e| match e {
            Error::Transport {
                image,
                reason,
                source,
            } if bare => Error::Transport {
                image,
                reason: if reason.is_empty() {
                    "no such file or directory; as an image name in the Docker Engine".into()
                } else {
                    format!(
                        "no such file or directory; as an image name in the Docker Engine: {reason}"
                    )
                },
                source,
            },
            e => e,
        })
    }

    /// A layer already read while the image's stream passed, if any.
    pub(crate) fn prefetched_layer(&self, index: usize) -> Option<&crate::layer::LayerContents> {
        self.prefetched.get(&index)
    }

    /// How a layer was read from its table of contents (`--toc`), if it was.
    pub fn toc_read(&self, index: usize) -> Option<&TocRead> {
        self.toc_reads.get(&index)
    }

    /// Where the image was read from (file, registry, engine, store).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Body bytes received from a registry so far (0 for other transports).
    pub fn bytes_fetched(&self) -> u64 {
        match &self.store {
            Store::Remote(r) => r.bytes_fetched(),
            _ => 0,
        }
    }

    /// The platforms (`os/arch[/variant]`, sorted) an image offers: each manifest of an OCI
    /// index whose blob is present, or the one platform of any other image.
    ///
    /// # Errors
    /// As [`Image::open`]; standard input (`-`) cannot be listed and then opened again.
    pub fn platforms(path: impl AsRef<Path>) -> Result<Vec<String>> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return Err(Error::InvalidOption {
                option: OptionName::AllPlatforms,
                reason: "standard input can be read only once: save the image to a file".into(),
                source: None,
            });
        }
        let store = open_store(path)?;
        if store.exists("index.json") {
            oci::platforms(&store, path)
        } else {
            Ok(vec![Image::open(path)?.platform()])
        }
    }

    /// The path the image was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The container format.
    pub fn format(&self) -> ImageFormat {
        self.format
    }

    /// The image reference (repository:tag) recorded in the archive, if any.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// Digest of the chosen manifest (OCI layouts only).
    pub fn manifest_digest(&self) -> Option<&str> {
        self.manifest_digest.as_deref()
    }

    /// Digest of the config blob (the image ID).
    pub fn config_digest(&self) -> &str {
        &self.config_digest
    }

    /// The parsed config.
    pub fn config(&self) -> &ImageConfig {
        &self.config
    }

    /// `os/arch[/variant]` from the config.
    pub fn platform(&self) -> String {
        let c = &self.config;
        match &c.variant {
            Some(v) if !v.is_empty() => format!("{}/{}/{}", c.os, c.architecture, v),
            _ => format!("{}/{}", c.os, c.architecture),
        }
    }

    /// The layers in stack order (base first).
    pub fn layers(&self) -> &[LayerRef] {
        &self.layers
    }

    /// Things that were tolerated while reading the metadata.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The stored size of a layer's blob, when the store knows it without reading it (a
    /// hint for scheduling: the manifest's `size` is checked while reading).
    pub(crate) fn layer_size(&self, layer: &LayerRef) -> Option<u64> {
        (layer.availability != LayerAvailability::MissingForeign)
            .then(|| self.store.size(&layer.member))
            .flatten()
    }

    /// Where a layer's blob lies in a plain file on disk, (file, offset, size), when it does
    /// (docker-archive, oci-archive, OCI directory; not registries, daemons, or a layer
    /// read as its stream passed): such a layer can be read again at its offsets.
    pub(crate) fn layer_file_range(
        &self,
        layer: &LayerRef,
    ) -> Option<(std::path::PathBuf, u64, u64)> {
        if layer.availability == LayerAvailability::MissingForeign
            || self.prefetched.contains_key(&layer.index)
        {
            return None;
        }
        self.store.file_range(&layer.member)
    }

    /// Open a layer's blob for streaming. `Ok(None)` for an absent foreign layer.
    pub(crate) fn open_layer(
        &self,
        layer: &LayerRef,
    ) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        if layer.availability == LayerAvailability::MissingForeign {
            return Ok(None);
        }
        // A registry layer read from its table of contents can still be fetched whole.
        if self.prefetched.contains_key(&layer.index) && !matches!(self.store, Store::Remote(_)) {
            return Err(Error::Transport {
                image: self.path.clone(),
                reason: format!(
                    "layer {} was read as the image streamed by and its bytes were not kept; \
                     save the image to a file (docker save -o, skopeo copy) to read them again",
                    layer.index
                ),
                source: None,
            });
        }
        let opened = match &self.store {
            // The descriptor's size lets a cut body be resumed where it stopped.
            Store::Remote(r) => r.open_blob(&layer.member, layer.size)?,
            store => store.open(&layer.member, &self.path)?,
        };
        match opened {
            Some(r) => Ok(Some(r)),
            None => Err(Error::MissingBlob {
                image: self.path.clone(),
                what: format!("layer {}", layer.index),
                member: layer.member.clone(),
            }),
        }
    }
}

/// `--toc`: read each registry layer that announces a table of contents from it (in
/// parallel, a few small `Range` requests each); a layer whose TOC cannot stand in for its
/// blob is read in full later, with a warning saying why.
fn read_tocs(
    reg: &registry::Registry,
    resolved: &mut Resolved,
    prefetched: &mut std::collections::HashMap<usize, crate::layer::LayerContents>,
    toc_reads: &mut std::collections::HashMap<usize, TocRead>,
) {
    use rayon::prelude::*;
    let outcomes: Vec<(usize, toc::Outcome)> = resolved
        .layers
        .par_iter()
        .filter(|l| l.availability == LayerAvailability::Present)
        .map(|l| (l.index, toc::read(reg, l)))
        .collect();
    for (index, outcome) in outcomes {
        match outcome {
            toc::Outcome::Absent => {}
            toc::Outcome::Read(contents, read) => {
                resolved.warnings.push(format!(
                    "layer {index} was read from its {} table of contents ({}, verified; \
                     {} bytes fetched): its files, sizes and content digests are the TOC's; \
                     its DiffID and blob digest were not verified (run without --toc to \
                     read and verify the whole blob)",
                    read.format, read.toc_digest, read.fetched_bytes
                ));
                prefetched.insert(index, *contents);
                toc_reads.insert(index, read);
            }
            toc::Outcome::Fallback(reason) => resolved.warnings.push(format!(
                "layer {index}: its table of contents was not used ({reason}); the whole \
                 blob was read and verified"
            )),
        }
    }
}

/// A bare path: an OCI layout when it has `index.json`, else a docker-archive.
fn resolve_detected(
    store: &Store,
    path: &Path,
    want: Option<&oci::PlatformWanted>,
    reference: Option<&str>,
) -> Result<Resolved> {
    if store.exists("index.json") {
        oci::resolve(store, path, want, reference)
    } else if store.exists("manifest.json") {
        docker::resolve(store, path, want)
    } else {
        Err(Error::UnknownFormat {
            path: path.to_path_buf(),
            reason: "neither index.json (OCI layout) nor manifest.json (docker save) found: \
                     not a container image archive"
                .into(),
            source: None,
        })
    }
}

/// `oci:` and `oci-archive:` names: an OCI layout is required.
fn resolve_oci(
    store: &Store,
    path: &Path,
    want: Option<&oci::PlatformWanted>,
    reference: Option<&str>,
) -> Result<Resolved> {
    if !store.exists("index.json") {
        return Err(Error::UnknownFormat {
            path: path.to_path_buf(),
            reason: "no index.json: not an OCI image layout".into(),
            source: None,
        });
    }
    oci::resolve(store, path, want, reference)
}

/// Decide what the path is and give random access to its members.
fn open_store(path: &Path) -> Result<Store> {
    if path == Path::new("-") {
        let stdin = io::stdin();
        return spool(stdin.lock(), path);
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Ok(Store::Dir(path.to_path_buf()));
    }
    let f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = BufReader::with_capacity(1 << 20, f);
    let head = reader.fill_buf().map_err(|e| Error::io(path, e))?;
    if head.is_empty() {
        return Err(Error::UnknownFormat {
            path: path.to_path_buf(),
            reason: "empty file".into(),
            source: None,
        });
    }
    if head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return spool(reader, path);
    }
    Store::index_tar(path.to_path_buf(), path, None)
}

/// Copy a stream (decompressing a gzip or zstd whole-archive) to a temporary file, so that
/// layers can then be read in parallel at their offsets.
fn spool(reader: impl BufRead, display: &Path) -> Result<Store> {
    let mut reader = reader;
    let head = reader
        .fill_buf()
        .map_err(|e| Error::io(display, e))?
        .to_vec();
    if head.is_empty() {
        return Err(Error::UnknownFormat {
            path: display.to_path_buf(),
            reason: "empty input".into(),
            source: None,
        });
    }
    let mut tmp = tempfile::NamedTempFile::new().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let what;
    let result = {
        let out = tmp.as_file_mut();
        let mut out = io::BufWriter::with_capacity(1 << 20, out);
        let r = if head.starts_with(&[0x1f, 0x8b]) {
            what = "gzip-compressed archive";
            io::copy(&mut flate2::bufread::MultiGzDecoder::new(reader), &mut out)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            what = "zstd-compressed archive";
            match zstd::stream::read::Decoder::with_buffer(reader) {
                Ok(mut d) => io::copy(&mut d, &mut out),
                Err(e) => Err(e),
            }
        } else {
            what = "archive";
            io::copy(&mut reader, &mut out)
        };
        r.and_then(|n| out.flush().map(|_| n))
    };
    if let Err(e) = result {
        return Err(Error::UnknownFormat {
            path: display.to_path_buf(),
            reason: format!("cannot read {what}"),
            source: Some(e.into()),
        });
    }
    let tmp_path = tmp.into_temp_path();
    let file = tmp_path.to_path_buf();
    Store::index_tar(file, display, Some(tmp_path))
}

/// Parse a JSON metadata document with an error naming it.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    image: &Path,
    document: &str,
) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::InvalidMetadata {
        image: image.to_path_buf(),
        document: document.to_string(),
        reason: String::new(),
        source: Some(e.into()),
    })
}

/// Read a metadata member that must exist.
pub(crate) fn read_required(
    store: &Store,
    image: &Path,
    member: &str,
    what: &str,
) -> Result<Vec<u8>> {
    store
        .read_small(member, image, METADATA_LIMIT)?
        .ok_or_else(|| Error::MissingBlob {
            image: image.to_path_buf(),
            what: what.to_string(),
            member: member.to_string(),
        })
}

/// Parse the config and check it against its expected digest (when known).
pub(crate) fn load_config(
    store: &Store,
    image: &Path,
    member: &str,
    expected: Option<&str>,
) -> Result<(String, ImageConfig)> {
    let bytes = read_required(store, image, member, "config")?;
    let actual = digest::sha256_of(&bytes);
    if let Some(expected) = expected
        && expected.starts_with("sha256:")
        && expected != actual
    {
        return Err(Error::DigestMismatch {
            image: image.to_path_buf(),
            what: format!("config {member}"),
            expected: expected.to_string(),
            actual,
        });
    }
    let config: ImageConfig = parse_json(&bytes, image, &format!("config {member}"))?;
    if config.rootfs.diff_ids.is_empty() && !bytes.windows(8).any(|w| w == b"diff_ids") {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: format!("config {member}"),
            reason: "no rootfs.diff_ids: not an image config".into(),
            source: None,
        });
    }
    Ok((actual, config))
}

/// A chosen config must be of the asked platform and list as many diff_ids as the manifest
/// lists layers (containers/image refuses an "Inconsistent layer count" too).
pub(crate) fn check_config(
    image: &Path,
    config: &ImageConfig,
    want: Option<&oci::PlatformWanted>,
    manifest_layers: usize,
    document: &str,
) -> Result<()> {
    if let Some(want) = want
        && !want.matches(&config.os, &config.architecture, config.variant.as_deref())
    {
        return Err(Error::Platform {
            image: image.to_path_buf(),
            reason: format!(
                "the image is {}/{}, not {want}",
                config.os, config.architecture
            ),
        });
    }
    let diff_ids = config.rootfs.diff_ids.len();
    if manifest_layers != diff_ids {
        return Err(Error::InvalidMetadata {
            image: image.to_path_buf(),
            document: document.to_string(),
            reason: format!(
                "lists {manifest_layers} layers but the config has {diff_ids} diff_ids"
            ),
            source: None,
        });
    }
    Ok(())
}

/// The layer media types layerscope can read, and whether each is foreign/non-distributable.
pub(crate) fn classify_layer_media_type(media_type: &str) -> Option<bool> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.diff.tar"
        | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(false),
        "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(true),
        _ => None,
    }
}
