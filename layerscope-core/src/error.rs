//! The one error type of the core. Every variant names the input that failed: the file, the
//! layer (index and digest), the tar entry, or the Dockerfile line.

use std::path::PathBuf;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop layerscope from producing a result.
///
/// Findings (waste, rule breaches, recommendations) are never errors; these are reasons the
/// input could not be read or the request could not be run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error while reading a named file or archive member. The message names the
    /// file; the OS error is its [`std::error::Error::source`] (printed once by whoever
    /// prints the chain, e.g. `anyhow`'s `{:#}`).
    #[error("{path}")]
    Io {
        /// The file (or `archive:member`) being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The image could not be recognised as any supported format.
    #[error("{path}: {reason}")]
    UnknownFormat {
        /// The image path given by the user.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// A metadata document (manifest.json, index.json, a manifest, a config) is invalid.
    #[error("{image}: invalid {document}: {reason}")]
    InvalidMetadata {
        /// The image path given by the user.
        image: PathBuf,
        /// The document, e.g. `manifest.json` or `blobs/sha256/ab12...`.
        document: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A blob or file that the metadata refers to is not in the image.
    #[error("{image}: {what} not found: {member}")]
    MissingBlob {
        /// The image path given by the user.
        image: PathBuf,
        /// What it was supposed to be (config, layer 3, manifest...).
        what: String,
        /// The path or digest that is missing.
        member: String,
    },
    /// A digest recorded in the metadata does not match the content.
    #[error("{image}: {what}: digest mismatch: expected {expected}, actual {actual}")]
    DigestMismatch {
        /// The image path given by the user.
        image: PathBuf,
        /// What was checked, e.g. `layer 2 (blob sha256:ab..)` or `config`.
        what: String,
        /// The digest the metadata promised.
        expected: String,
        /// The digest of the bytes read.
        actual: String,
    },
    /// A layer could not be decompressed or walked as a tar archive.
    #[error("{image}: layer {index} ({digest}){entry}: {reason}")]
    Layer {
        /// The image path given by the user.
        image: PathBuf,
        /// Index of the layer, 0 = base.
        index: usize,
        /// The layer's digest as recorded in the manifest.
        digest: String,
        /// `, entry "path"` when the failure is at a known tar entry, otherwise empty.
        entry: String,
        /// What went wrong.
        reason: String,
    },
    /// Several platforms are present and none was chosen.
    #[error("{image}: {reason}")]
    Platform {
        /// The image path given by the user.
        image: PathBuf,
        /// Why no manifest could be chosen, listing what is available.
        reason: String,
    },
    /// A Dockerfile could not be parsed.
    #[error("{file}:{line}:{column}: {reason}")]
    Dockerfile {
        /// The Dockerfile path (or `<memory>`).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        reason: String,
    },
    /// A configuration file or option value is invalid.
    #[error("{source_name}: {reason}")]
    Config {
        /// The config file, or the option name.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// A base image whose layers are not the bottom layers of the image.
    #[error(
        "--base {base}: its {base_layers} layers are not the bottom of {image} (only {matching} match)"
    )]
    BaseMismatch {
        /// The base image.
        base: PathBuf,
        /// The image.
        image: PathBuf,
        /// How many layers the base image has.
        base_layers: usize,
        /// How many bottom layers the two share.
        matching: usize,
    },
    /// A build-context problem (unreadable directory, bad `.dockerignore`, git failure).
    #[error("{path}: {reason}")]
    Context {
        /// The path involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An image could not be fetched by name (registry, Docker Engine, containers-storage):
    /// connection, authentication, a status the source answered, or a cut it could not resume.
    #[error("{image}: {reason}")]
    Transport {
        /// The image name given by the user.
        image: PathBuf,
        /// What went wrong, with the source's own message when it gave one.
        reason: String,
    },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}
