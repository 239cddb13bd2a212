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
    /// A layer could not be compressed to measure what a push sends
    /// ([`push_sizes`](crate::push_sizes)).
    #[error("{image}: layer {index} ({digest}): compressing to measure the push size")]
    PushSize {
        /// The image path given by the user.
        image: PathBuf,
        /// Index of the layer, 0 = base.
        index: usize,
        /// The layer's digest as recorded in the manifest.
        digest: String,
        /// The read or compression error.
        #[source]
        source: std::io::Error,
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
    /// A baseline report ([`Baseline`](crate::Baseline)) could not be read as one.
    #[error("{source_name}: {problem}")]
    Baseline {
        /// The file (or the name given for the text).
        source_name: String,
        /// What it is instead.
        problem: BaselineProblem,
        /// The JSON parser's error, if any (not repeated in the message).
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

/// Why a baseline is not a report this release reads ([`Error::Baseline`]). Its text says
/// what the file is in the library's terms; a front end can add which of its commands write
/// a report.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaselineProblem {
    /// Not JSON at all.
    NotJson,
    /// JSON without a `schema_version`.
    NoSchemaVersion,
    /// JSON with a `schema_version` but not the report's fields (the parser's error says
    /// which).
    NotAReport,
    /// A report of a newer schema version than this release reads.
    NewerSchema {
        /// The report's `schema_version`.
        version: u64,
        /// The newest version this release reads.
        reads: u32,
    },
}

impl BaselineProblem {
    /// The text, with `made_by` (what writes a report, e.g. the commands of a front end)
    /// said where the file is not a report.
    pub fn text(&self, made_by: Option<&str>) -> String {
        let not_a_report = match made_by {
            Some(made_by) => format!("not a layerscope report (from {made_by})"),
            None => "not a layerscope report".to_string(),
        };
        match self {
            BaselineProblem::NotJson => "not JSON".to_string(),
            BaselineProblem::NoSchemaVersion => format!("{not_a_report}: no schema_version"),
            BaselineProblem::NotAReport => not_a_report,
            BaselineProblem::NewerSchema { version, reads } => format!(
                "report schema version {version} is newer than this layerscope reads ({reads})"
            ),
        }
    }
}

impl std::fmt::Display for BaselineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(None))
    }
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
    /// chain, each without trailing whitespace, joined with `": "`: the one-line text a
    /// front end prints.
    pub fn chain_text(&self) -> String {
        let mut text = self.to_string().trim_end().to_string();
        let mut next = std::error::Error::source(self);
        while let Some(cause) = next {
            text.push_str(": ");
            // A parser's multi-line message (TOML's) ends in a newline: not part of one line.
            text.push_str(cause.to_string().trim_end());
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

/// What to try next, attached to a lower-level error by [`Hinted`]. [`Display`](std::fmt::Display)
/// phrases it in the library's terms; a front end that has its own name for the setting
/// (a flag) phrases that one itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Hint {
    /// An HTTPS request to a registry got an answer that is not TLS: the registry may speak
    /// plain HTTP ([`OpenOptions::insecure`](crate::OpenOptions::insecure)).
    PlainHttpRegistry,
    /// No socket at the Docker Engine's Unix socket path.
    NoEngineSocket,
    /// The Docker Engine's socket refused this user.
    EngineSocketPermission,
    /// Nothing listens at the Docker Engine's address.
    EngineNotListening,
    /// skopeo, which reads containers-storage, could not be run.
    InstallSkopeo,
    /// A name that is not a recommendation code; [`CODES`](crate::CODES) lists them.
    RecommendationCodes,
}

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Hint::PlainHttpRegistry => "a plain-HTTP registry? allow it with the insecure option",
            Hint::NoEngineSocket => {
                "no socket there: is dockerd running? DOCKER_HOST names another Engine"
            }
            Hint::EngineSocketPermission => {
                "permission denied: run as root or as a member of the socket's group, \
                 usually `docker`"
            }
            Hint::EngineNotListening => "nothing is listening: is dockerd running?",
            Hint::InstallSkopeo => "install skopeo, or set LAYERSCOPE_SKOPEO",
            Hint::RecommendationCodes => "`CODES` lists them",
        })
    }
}

/// A lower-level error followed by a [`Hint`] on what to try, shown as one link of the
/// chain: `"{cause} ({hint})"`. Like [`std::io::Error`] wrapping a custom error, its message
/// includes the wrapped error's (trailing whitespace, such as the newline that ends a TOML
/// parser's message, trimmed), so `source()` continues below it.
#[derive(Debug)]
pub struct Hinted {
    cause: Cause,
    hint: Hint,
}

impl Hinted {
    pub(crate) fn new(cause: impl Into<Cause>, hint: Hint) -> Self {
        Hinted {
            cause: cause.into(),
            hint,
        }
    }

    /// The wrapped error.
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.cause
    }

    /// The hint.
    pub fn hint(&self) -> Hint {
        self.hint
    }

    /// The message with the hint phrased by `hint` (a front end's wording).
    pub fn text_with(&self, hint: impl std::fmt::Display) -> String {
        format!("{} ({hint})", self.cause.to_string().trim_end())
    }
}

impl std::fmt::Display for Hinted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text_with(self.hint))
    }
}

impl std::error::Error for Hinted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.source()
    }
}
