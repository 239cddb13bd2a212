//! Image names as skopeo spells them (containers/image `transports/alltransports`):
//! `docker-archive:PATH`, `oci-archive:PATH`, `oci:DIR[:REF]`,
//! `docker://[HOST[:PORT]/]REPO[:TAG|@DIGEST]`, `docker-daemon:NAME[:TAG]`,
//! `containers-storage:[[DRIVER@]ROOT[+RUNROOT]]NAME`, and a bare argument.
//!
//! The rule for a bare argument: an existing path (or `-`, standard input) is read as a file,
//! as before; anything else is an image reference looked up in the Docker Engine
//! (`docker-daemon:`), as dive does by default.

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where an image is read from: the transport part of its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Transport {
    /// A file or directory named by a bare path (its format is detected), or `-`.
    File,
    /// `docker-archive:PATH`.
    DockerArchive,
    /// `oci-archive:PATH`.
    OciArchive,
    /// `oci:DIR[:REF]`.
    Oci,
    /// `docker://...`: a registry, through the OCI distribution API.
    Docker,
    /// `docker-daemon:NAME`: the Docker Engine API.
    DockerDaemon,
    /// `containers-storage:NAME`: buildah's and podman's local store.
    ContainersStorage,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::File => "file",
            Transport::DockerArchive => "docker-archive",
            Transport::OciArchive => "oci-archive",
            Transport::Oci => "oci",
            Transport::Docker => "docker",
            Transport::DockerDaemon => "docker-daemon",
            Transport::ContainersStorage => "containers-storage",
        })
    }
}

/// A registry image reference, normalised as the Docker CLI does (distribution/reference):
/// a first component with a `.` or `:`, or `localhost`, is the registry host; otherwise the
/// image is on Docker Hub, and a single-component repository is under `library/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RegistryRef {
    /// `host[:port]` as written (Docker Hub is `docker.io`).
    pub(crate) host: String,
    /// Repository path, e.g. `library/nginx`.
    pub(crate) repository: String,
    /// `tag` or `sha256:...`.
    pub(crate) reference: String,
    /// Whether `reference` is a digest.
    pub(crate) by_digest: bool,
}

impl RegistryRef {
    /// The host the API is served from (Docker Hub's API lives on `registry-1.docker.io`).
    pub(crate) fn api_host(&self) -> &str {
        if self.host == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.host
        }
    }
}

impl fmt::Display for RegistryRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.by_digest { '@' } else { ':' };
        write!(
            f,
            "{}/{}{sep}{}",
            self.host, self.repository, self.reference
        )
    }
}

/// A parsed image name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ImageName {
    /// A bare path (file, directory, or `-`): the format is detected.
    File(PathBuf),
    /// `docker-archive:PATH`.
    DockerArchive(PathBuf),
    /// `oci-archive:PATH`.
    OciArchive(PathBuf),
    /// `oci:DIR[:REF]`.
    Oci(PathBuf, Option<String>),
    /// `docker://...`.
    Registry(RegistryRef),
    /// `docker-daemon:NAME[:TAG]` (or a bare name that is not a path).
    DockerDaemon(String),
    /// `containers-storage:[[DRIVER@]ROOT[+RUNROOT]]NAME`.
    ContainersStorage(String),
}

impl ImageName {
    pub(crate) fn transport(&self) -> Transport {
        match self {
            ImageName::File(_) => Transport::File,
            ImageName::DockerArchive(_) => Transport::DockerArchive,
            ImageName::OciArchive(_) => Transport::OciArchive,
            ImageName::Oci(..) => Transport::Oci,
            ImageName::Registry(_) => Transport::Docker,
            ImageName::DockerDaemon(_) => Transport::DockerDaemon,
            ImageName::ContainersStorage(_) => Transport::ContainersStorage,
        }
    }

    /// Parse what the user wrote. A bare argument that exists on disk (or `-`) is a file;
    /// an argument with a known transport prefix follows that transport; anything else is a
    /// Docker Engine image name.
    pub(crate) fn parse(arg: &Path) -> Result<ImageName> {
        let bad = |reason: String| Error::Config {
            source_name: arg.display().to_string(),
            reason,
            source: None,
        };
        if arg == Path::new("-") || arg.exists() {
            return Ok(ImageName::File(arg.to_path_buf()));
        }
        let Some(text) = arg.to_str() else {
            return Err(bad(
                "no such file, and not an image name (not valid UTF-8)".into()
            ));
        };
        let nonempty = |rest: &str, what: &str| -> Result<()> {
            if rest.is_empty() {
                Err(bad(format!("{what} is missing")))
            } else {
                Ok(())
            }
        };
        if let Some(rest) = text.strip_prefix("docker://") {
            return parse_registry(rest).map(ImageName::Registry).map_err(bad);
        }
        if let Some(rest) = text.strip_prefix("docker-archive:") {
            nonempty(rest, "the archive path")?;
            return Ok(ImageName::DockerArchive(PathBuf::from(rest)));
        }
        if let Some(rest) = text.strip_prefix("oci-archive:") {
            nonempty(rest, "the archive path")?;
            return Ok(ImageName::OciArchive(PathBuf::from(rest)));
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            nonempty(rest, "the layout directory")?;
            // `oci:DIR:REF`: a directory whose name holds a `:` is taken whole when it exists.
            if Path::new(rest).exists() {
                return Ok(ImageName::Oci(PathBuf::from(rest), None));
            }
            return Ok(match rest.rsplit_once(':') {
                Some((dir, reference)) if !dir.is_empty() && !reference.contains('/') => {
                    ImageName::Oci(PathBuf::from(dir), Some(reference.to_string()))
                }
                _ => ImageName::Oci(PathBuf::from(rest), None),
            });
        }
        if let Some(rest) = text.strip_prefix("docker-daemon:") {
            nonempty(rest, "the image name")?;
            return Ok(ImageName::DockerDaemon(rest.to_string()));
        }
        if let Some(rest) = text.strip_prefix("containers-storage:") {
            nonempty(rest, "the image name")?;
            return Ok(ImageName::ContainersStorage(rest.to_string()));
        }
        if let Some((scheme, _)) = text.split_once(':')
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !text.contains('/')
            && text.split_once(':').is_some_and(|(_, t)| t.is_empty())
        {
            return Err(bad(format!("unknown transport {scheme:?}: {TRANSPORTS}")));
        }
        // The bare-name rule: not a path, so an image name for the Docker Engine.
        if parse_registry(text).is_err() {
            return Err(bad(format!(
                "no such file or directory, and not an image name: {TRANSPORTS}"
            )));
        }
        Ok(ImageName::DockerDaemon(text.to_string()))
    }
}

/// The transports, for error messages.
pub(crate) const TRANSPORTS: &str = "name a file, or use docker-archive:PATH, oci-archive:PATH, \
    oci:DIR[:REF], docker://HOST/REPO[:TAG|@DIGEST], docker-daemon:NAME[:TAG] or \
    containers-storage:NAME";

fn is_component(s: &str) -> bool {
    // distribution/reference: path-component = alpha-numeric (separator alpha-numeric)*,
    // separator = [_.] | __ | [-]*
    let b = s.as_bytes();
    !b.is_empty()
        && b.first()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.last()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

fn is_tag(s: &str) -> bool {
    // distribution/reference: tag = [\w][\w.-]{0,127}
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.first()
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
}

fn is_host(s: &str) -> bool {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || s.starts_with('[') => (h, Some(p)),
        _ => (s, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b".-[]:".contains(&c));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()));
    host_ok && port_ok
}

/// Parse `[HOST[:PORT]/]REPO[:TAG|@DIGEST]`.
pub(crate) fn parse_registry(s: &str) -> std::result::Result<RegistryRef, String> {
    if s.is_empty() {
        return Err("the image reference is empty".into());
    }
    let (name, reference, by_digest) = if let Some((name, digest)) = s.split_once('@') {
        if crate::digest::split_digest(digest).is_none() || !digest.contains(':') {
            return Err(format!("{digest:?} is not a digest (algorithm:hex)"));
        }
        // A tag before the digest (`repo:tag@sha256:...`) is ignored, as the Docker CLI does.
        let name = match name.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => n,
            _ => name,
        };
        (name, digest.to_string(), true)
    } else {
        match s.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => {
                if !is_tag(t) {
                    return Err(format!("{t:?} is not a valid tag"));
                }
                (n, t.to_string(), false)
            }
            _ => (s, "latest".to_string(), false),
        }
    };
    let (host, repo) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (first.to_string(), rest.to_string())
        }
        _ => ("docker.io".to_string(), name.to_string()),
    };
    if !is_host(&host) {
        return Err(format!("{host:?} is not a registry host[:port]"));
    }
    let repo = if host == "docker.io" && !repo.contains('/') {
        format!("library/{repo}")
    } else {
        repo
    };
    if repo.is_empty() || !repo.split('/').all(is_component) {
        return Err(format!(
            "{repo:?} is not a repository name (lower-case letters, digits and . _ - \
             between slashes)"
        ));
    }
    Ok(RegistryRef {
        host,
        repository: repo,
        reference,
        by_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ImageName {
        ImageName::parse(Path::new(s)).unwrap()
    }

    #[test]
    fn registry_names_are_normalised_like_the_docker_cli() {
        let ImageName::Registry(r) = parse("docker://nginx") else {
            panic!()
        };
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("docker.io", "library/nginx", "latest")
        );
        assert_eq!(r.api_host(), "registry-1.docker.io");
        let ImageName::Registry(r) = parse("docker://127.0.0.1:5000/team/app:v1.2") else {
            panic!()
        };
        assert_eq!(
            (r.host.as_str(), r.repository.as_str(), r.reference.as_str()),
            ("127.0.0.1:5000", "team/app", "v1.2")
        );
        let d = format!("sha256:{}", "a".repeat(64));
        let ImageName::Registry(r) = parse(&format!("docker://localhost/app:x@{d}")) else {
            panic!()
        };
        assert!(r.by_digest);
        assert_eq!(r.reference, d);
        assert_eq!(r.to_string(), format!("localhost/app@{d}"));
        let ImageName::Registry(r) = parse("docker://quay.io/a/b/c") else {
            panic!()
        };
        assert_eq!(r.repository, "a/b/c");
    }

    #[test]
    fn bad_registry_names_say_why() {
        for (name, why) in [
            ("docker://", "empty"),
            ("docker://Upper/App", "repository"),
            ("docker://host.io/app:bad~tag", "tag"),
            ("docker://host.io/app@sha256", "digest"),
        ] {
            let err = ImageName::parse(Path::new(name)).unwrap_err().to_string();
            assert!(err.contains(why), "{name}: {err}");
            assert!(err.starts_with(name), "{name}: {err}");
        }
    }

    #[test]
    fn transports_and_the_bare_rule() {
        assert_eq!(
            parse("docker-archive:/x/y.tar"),
            ImageName::DockerArchive("/x/y.tar".into())
        );
        assert_eq!(
            parse("oci-archive:y.tar"),
            ImageName::OciArchive("y.tar".into())
        );
        assert_eq!(
            parse("oci:/no/such/dir:v1"),
            ImageName::Oci("/no/such/dir".into(), Some("v1".into()))
        );
        assert_eq!(
            parse("oci:/no/such/dir"),
            ImageName::Oci("/no/such/dir".into(), None)
        );
        assert_eq!(
            parse("docker-daemon:nginx:1.27"),
            ImageName::DockerDaemon("nginx:1.27".into())
        );
        assert_eq!(
            parse("containers-storage:localhost/app"),
            ImageName::ContainersStorage("localhost/app".into())
        );
        // Bare: an existing path is a file, anything else an engine image name.
        assert_eq!(parse("-"), ImageName::File("-".into()));
        assert_eq!(parse("/"), ImageName::File("/".into()));
        assert_eq!(
            parse("nginx:1.27"),
            ImageName::DockerDaemon("nginx:1.27".into())
        );
        assert_eq!(
            parse("no-such-file.tar"),
            ImageName::DockerDaemon("no-such-file.tar".into())
        );
        let err = ImageName::parse(Path::new("./No Such File.tar"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("no such file"), "{err}");
        let err = ImageName::parse(Path::new("podman:"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown transport"), "{err}");
    }
}
