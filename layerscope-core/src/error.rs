//! The one error type of the core. Every variant names the input that failed: the file, the
//! layer (index and digest), the tar entry, or the Dockerfile line.

use std::path::PathBuf;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The lower-level error that caused an [`Error`], kept as its
/// [`source`](std::error::Error::source) rather than copied into the message: a parser's,
/// the OS's, an HTTP client's or a decompressor's own error.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can stop layerscope from producing a result.
///
/// Findings (waste, rule breaches, recommendations) are never errors; these are reasons the
/// input could not be read or the request could not be run.
///
/// The message ([`Display`](std::fmt::Display)) says what failed and where; when a
/// lower-level error caused it, that error is the [`source`](std::error::Error::source) and
/// is not repeated in the message. Print the whole chain, joined with `": "` (as `anyhow`'s
/// `{:#}` does, or [`Error::chain_text`]), to show both once.
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
    #[error("{path}{}", colon(reason))]
    UnknownFormat {
        /// The image path given by the user.
        path: PathBuf,
        /// What was found instead.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
    },
    /// A metadata document (manifest.json, index.json, a manifest, a config) is invalid.
    #[error("{image}: invalid {document}{}", colon(reason))]
    InvalidMetadata {
        /// The image path given by the user.
        image: PathBuf,
        /// The document, e.g. `manifest.json` or `blobs/sha256/ab12...`.
        document: String,
        /// What is wrong with it.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
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
    #[error("{image}: layer {index} ({digest}){entry}{}", colon(reason))]
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
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
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
    #[error("{source_name}{}", colon(reason))]
    Config {
        /// The config file, or the option name.
        source_name: String,
        /// What is wrong.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
    },
    /// Several platforms are present, none was chosen
    /// ([`OpenOptions::platform`](crate::OpenOptions::platform)), and linux/amd64 (the
    /// default) is not among them.
    #[error(
        "{image}: the image has several platforms ({available}) and no linux/amd64: choose one"
    )]
    PlatformNotChosen {
        /// The image path given by the user.
        image: PathBuf,
        /// The platforms the image has, e.g. `linux/arm64, linux/s390x`.
        available: String,
    },
    /// A value in the options given to the library is invalid; [`OptionName`] says which.
    #[error("{option}{}", colon(reason))]
    InvalidOption {
        /// The option.
        option: OptionName,
        /// What is wrong with its value.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
    },
    /// A base image whose layers are not the bottom layers of the image
    /// ([`PipelineOptions::base_image`](crate::PipelineOptions::base_image)).
    #[error(
        "base image {base}: its {base_layers} layers are not the bottom of {image} (only {matching} match)"
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
    #[error("{path}{}", colon(reason))]
    Context {
        /// The path involved.
        path: PathBuf,
        /// What is wrong.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
    },
    /// An image could not be fetched by name (registry, Docker Engine, containers-storage):
    /// connection, authentication, a status the source answered, or a cut it could not resume.
    #[error("{image}{}", colon(reason))]
    Transport {
        /// The image name given by the user.
        image: PathBuf,
        /// What went wrong, with the source's own message when it gave one.
        reason: String,
        /// The lower-level error that caused this one, if any (not repeated in the message).
        #[source]
        source: Option<Cause>,
    },
}

/// Which library option an [`Error::InvalidOption`] is about. Its text names the option in
/// the library's terms; a front end that took the value from a flag can name the flag instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionName {
    /// The platform to select ([`OpenOptions::platform`](crate::OpenOptions::platform)).
    Platform,
    /// Listing every platform of an image ([`Image::platforms`](crate::Image::platforms)).
    AllPlatforms,
    /// A path glob ([`FileFilter::path_glob`](crate::FileFilter::path_glob)).
    PathGlob,
    /// The number of bottom layers counted as the base image
    /// ([`AnalysisOptions::base_layers`](crate::AnalysisOptions::base_layers)), with the
    /// value given.
    BaseLayers(usize),
}

impl std::fmt::Display for OptionName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OptionName::Platform => f.write_str("platform"),
            OptionName::AllPlatforms => f.write_str("listing all platforms"),
            OptionName::PathGlob => f.write_str("path glob"),
            OptionName::BaseLayers(n) => write!(f, "base layers {n}"),
        }
    }
}

/// `": reason"`, or nothing when the whole reason is the source error.
fn colon(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl Error {
    /// The message followed by every error in its [`source`](std::error::Error::source)
    /// chain, joined with `": "`: the one-line text a front end prints (the same as
    /// `anyhow`'s `{:#}`).
    pub fn chain_text(&self) -> String {
        let mut text = self.to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            next = cause.source();
        }
        text
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// A lower-level error followed by a hint on what to try (`" (is dockerd running?)"`),
/// shown as one link of the chain. Like [`std::io::Error`] wrapping a custom error, its
/// message includes the wrapped error's, so `source()` continues below it; the wrapped error
/// stays reachable as a value through [`Hinted::cause`].
#[derive(Debug)]
pub(crate) struct Hinted<E> {
    cause: E,
    hint: &'static str,
}

impl<E> Hinted<E> {
    pub(crate) fn new(cause: E, hint: &'static str) -> Self {
        Hinted { cause, hint }
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Hinted<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.cause, self.hint)
    }
}

impl<E: std::error::Error> std::error::Error for Hinted<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.source()
    }
}
