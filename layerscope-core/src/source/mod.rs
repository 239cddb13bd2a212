//! `Image::open`: recognise the input (classic and Docker 25+ `docker save`, podman/buildah
//! docker-archive, OCI layout directory or tar, whole-archive gzip/zstd, standard input),
//! choose a manifest by platform, and describe the layers to read. Nothing here decompresses
//! a layer; `layer.rs` streams them.

mod config;
mod docker;
mod oci;
mod store;

pub use config::{HistoryEntry, ImageConfig, RootFs, RuntimeConfig};

use crate::digest;
use crate::error::{Error, Result};
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
}

impl OpenOptions {
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
}

/// An opened image: its metadata, and access to its layer blobs.
#[derive(Debug)]
pub struct Image {
    path: PathBuf,
    store: Store,
    format: ImageFormat,
    reference: Option<String>,
    manifest_digest: Option<String>,
    config_digest: String,
    config: ImageConfig,
    layers: Vec<LayerRef>,
    warnings: Vec<String>,
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
            Some(p) => Some(oci::PlatformWanted::parse(p).ok_or_else(|| Error::Config {
                source_name: "--platform".into(),
                reason: format!(
                    "{p:?} is not os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8"
                ),
            })?),
            None => None,
        };
        let store = open_store(path)?;
        let resolved = if store.exists("index.json") {
            oci::resolve(&store, path, platform.as_ref())?
        } else if store.exists("manifest.json") {
            docker::resolve(&store, path, platform.as_ref())?
        } else {
            return Err(Error::UnknownFormat {
                path: path.to_path_buf(),
                reason: "neither index.json (OCI layout) nor manifest.json (docker save) found: \
                         not a container image archive"
                    .into(),
            });
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
            store,
            format,
            reference,
            manifest_digest,
            config_digest,
            config,
            layers,
            warnings,
        })
    }

    /// The platforms (`os/arch[/variant]`, sorted) an image offers: each manifest of an OCI
    /// index whose blob is present, or the one platform of any other image.
    ///
    /// # Errors
    /// As [`Image::open`]; standard input (`-`) cannot be listed and then opened again.
    pub fn platforms(path: impl AsRef<Path>) -> Result<Vec<String>> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return Err(Error::Config {
                source_name: "--platform all".into(),
                reason: "standard input can be read only once: save the image to a file".into(),
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

    /// Open a layer's blob for streaming. `Ok(None)` for an absent foreign layer.
    pub(crate) fn open_layer(
        &self,
        layer: &LayerRef,
    ) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        if layer.availability == LayerAvailability::MissingForeign {
            return Ok(None);
        }
        match self.store.open(&layer.member, &self.path)? {
            Some(r) => Ok(Some(r)),
            None => Err(Error::MissingBlob {
                image: self.path.clone(),
                what: format!("layer {}", layer.index),
                member: layer.member.clone(),
            }),
        }
    }
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
            reason: format!("cannot read {what}: {e}"),
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
        reason: e.to_string(),
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
