//! `docker-daemon:NAME`: the Docker Engine API (`GET /images/{name}/get`, Engine API
//! v1.41 "Export an image"), read as one stream with no temporary copy of the image.
//!
//! The export is a `docker save` archive in which the layer directories come first and
//! `manifest.json` near the end (moby `image/tarexport/save.go`). Each `layer.tar` is
//! therefore read by the layer reader as it passes, its summary kept under its member path;
//! the small JSON documents are kept in memory; when the stream ends, `manifest.json` is
//! read as for a file and each layer is matched to its summary by member path (following
//! the symlinks a save uses for repeated layers). Layers are read one after the other, as the
//! socket delivers them: there is only one stream.
//!
//! The request is HTTP/1.0 over the Engine socket, so the answer is a plain body that ends
//! when the Engine closes the connection (no chunked encoding; RFC 9112 section 6.3).

use super::store::{Store, clean_member};
use crate::error::{Cause, Error, Hint, Hinted, Result};
use crate::layer::{LayerContents, LayerFailure, read_layer};
use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// The Engine's address when `DOCKER_HOST` is not set.
const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where the Engine listens.
enum EngineHost {
    Unix(PathBuf),
    Tcp(String),
}

impl EngineHost {
    fn from_env(display: &Path) -> Result<(EngineHost, String)> {
        let raw = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| DEFAULT_HOST.to_string());
        let host = if let Some(p) = raw.strip_prefix("unix://") {
            EngineHost::Unix(PathBuf::from(p))
        } else if let Some(a) = raw.strip_prefix("tcp://") {
            if std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty()) {
                return Err(Error::Transport {
                    image: display.to_path_buf(),
                    reason: format!(
                        "DOCKER_HOST={raw} with DOCKER_TLS_VERIFY: TLS to the Engine is not \
                         supported; use its unix socket"
                    ),
                    source: None,
                });
            }
            EngineHost::Tcp(a.trim_end_matches('/').to_string())
        } else {
            return Err(Error::Transport {
                image: display.to_path_buf(),
                reason: format!(
                    "DOCKER_HOST={raw}: only unix:// and tcp:// Engine addresses are supported"
                ),
                source: None,
            });
        };
        Ok((host, raw))
    }
}

/// An answer from the Engine: status and the body as a stream.
struct Answer {
    status: u16,
    body: Box<dyn BufRead + Send>,
}

fn connect(host: &EngineHost) -> io::Result<Box<dyn ReadWrite>> {
    match host {
        EngineHost::Unix(p) => Ok(Box::new(std::os::unix::net::UnixStream::connect(p)?)),
        EngineHost::Tcp(a) => Ok(Box::new(std::net::TcpStream::connect(a)?)),
    }
}

trait ReadWrite: Read + Write + Send {}
impl<T: Read + Write + Send> ReadWrite for T {}

/// Percent-encode an image name for a URL path (RFC 3986 section 2.1), keeping the
/// characters a reference may hold (`/`, `:`, `@`, `.`, `-`, `_`).
fn encode_name(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"/:@._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn request(host: &EngineHost, raw_host: &str, path: &str, display: &Path) -> Result<Answer> {
    let fail = |reason: String, source: Option<Cause>| Error::Transport {
        image: display.to_path_buf(),
        reason,
        source,
    };
    let mut stream = connect(host).map_err(|e| {
        let hint = match (host, e.kind()) {
            (EngineHost::Unix(_), io::ErrorKind::NotFound) => Some(Hint::NoEngineSocket),
            (_, io::ErrorKind::PermissionDenied) => Some(Hint::EngineSocketPermission),
            (_, io::ErrorKind::ConnectionRefused) => Some(Hint::EngineNotListening),
            _ => None,
        };
        fail(
            format!("cannot connect to the Docker Engine at {raw_host}"),
            Some(match hint {
                Some(hint) => Hinted::new(e, hint).into(),
                None => e.into(),
            }),
        )
    })?;
    let req = format!(
        "GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: layerscope/{}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    stream
        .write_all(req.as_bytes())
        .and_then(|_| stream.flush())
        .map_err(|e| fail(format!("Docker Engine at {raw_host}"), Some(e.into())))?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map_err(|e| fail(format!("Docker Engine at {raw_host}"), Some(e.into())))?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            fail(
                format!(
                    "Docker Engine at {raw_host}: not an HTTP answer: {:?}",
                    line.trim_end()
                ),
                None,
            )
        })?;
    loop {
        let mut h = String::new();
        let n = reader
            .read_line(&mut h)
            .map_err(|e| fail(format!("Docker Engine at {raw_host}"), Some(e.into())))?;
        if n == 0 || h.trim_end().is_empty() {
            break;
        }
        if h.to_ascii_lowercase().starts_with("transfer-encoding:") && h.contains("chunked") {
            return Err(fail(
                format!("Docker Engine at {raw_host}: answered HTTP/1.0 with a chunked body"),
                None,
            ));
        }
    }
    Ok(Answer {
        status,
        body: Box::new(reader),
    })
}

/// The Engine's `{"message": ...}` error text.
fn message(body: &mut dyn BufRead) -> String {
    let mut buf = Vec::new();
    let _ = body.take(64 * 1024).read_to_end(&mut buf);
    #[derive(serde::Deserialize)]
    struct Msg {
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<Msg>(&buf) {
        Ok(m) if !m.message.is_empty() => m.message,
        _ => String::from_utf8_lossy(&buf).trim().to_string(),
    }
}

/// What the export stream held: the small documents, the layer summaries by member, links.
pub(crate) struct Exported {
    pub(crate) store: Store,
    pub(crate) layers: HashMap<String, std::result::Result<LayerContents, LayerFailure>>,
}

/// Members at most this big under `blobs/` (Docker 25+ saves, where configs, manifests and
/// layers all live there) are kept in memory; bigger ones are read as layers as they pass.
const SMALL_BLOB: u64 = 1 << 20;

/// A member is read as a layer when it is a classic `layer.tar`, a root `<diffid>.tar`
/// (podman), or a big `blobs/` member (Docker 25+).
fn is_layer_member(name: &str, size: u64) -> bool {
    name.ends_with("/layer.tar")
        || (!name.contains('/') && name.ends_with(".tar"))
        || (name.starts_with("blobs/") && size > SMALL_BLOB)
}

/// Export `name` from the Engine and read it in one pass.
pub(crate) fn export(name: &str, display: &Path) -> Result<Exported> {
    let (host, raw_host) = EngineHost::from_env(display)?;
    let fail = |reason: String| Error::Transport {
        image: display.to_path_buf(),
        reason,
        source: None,
    };
    // Ask for the image first: a clear 404 before any stream starts.
    let encoded = encode_name(name);
    let mut probe = request(
        &host,
        &raw_host,
        &format!("/images/{encoded}/json"),
        display,
    )?;
    match probe.status {
        200 => {}
        404 => {
            return Err(fail(format!(
                "no image {name:?} in the Docker Engine at {raw_host}: {}",
                message(&mut probe.body)
            )));
        }
        s => {
            return Err(fail(format!(
                "Docker Engine at {raw_host}: HTTP {s} for image {name:?}: {}",
                message(&mut probe.body)
            )));
        }
    }
    let mut answer = request(&host, &raw_host, &format!("/images/{encoded}/get"), display)?;
    if answer.status != 200 {
        return Err(fail(format!(
            "Docker Engine at {raw_host}: HTTP {} exporting {name:?}: {}",
            answer.status,
            message(&mut answer.body)
        )));
    }
    read_save_stream(
        answer.body,
        &format!("export stream from {raw_host}"),
        display,
    )
}

/// Read a `docker save`-style archive in one pass: JSON documents kept, each layer read by
/// the layer reader as it passes. `label` names the stream in errors.
pub(crate) fn read_save_stream(body: impl Read, label: &str, display: &Path) -> Result<Exported> {
    let fail = |reason: String, source: Option<Cause>| Error::Transport {
        image: display.to_path_buf(),
        reason,
        source,
    };
    let mut small: HashMap<String, Vec<u8>> = HashMap::new();
    let mut links: HashMap<String, String> = HashMap::new();
    let mut layers = HashMap::new();
    let mut archive = tar::Archive::new(body);
    let bad = |reason: String, e: io::Error| fail(format!("{label}: {reason}"), Some(e.into()));
    let entries = archive
        .entries()
        .map_err(|e| bad("not a tar archive".into(), e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad("corrupt or truncated".into(), e))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let Some(member) = clean_member(&raw) else {
            continue;
        };
        match entry.header().entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if is_layer_member(&member, entry.size()) {
                    let contents = read_layer(&mut entry, None);
                    // Whatever the layer reader left unread (a failed layer) is skipped by
                    // the archive when it moves to the next entry.
                    layers.insert(member, contents);
                } else if entry.size() <= super::METADATA_LIMIT {
                    let mut buf = Vec::with_capacity(entry.size() as usize);
                    entry
                        .read_to_end(&mut buf)
                        .map_err(|e| bad(member.clone(), e))?;
                    small.insert(member, buf);
                }
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let resolved = if entry.header().entry_type() == tar::EntryType::Symlink
                    && !target.starts_with('/')
                {
                    let dir = member.rsplit_once('/').map_or("", |(d, _)| d);
                    clean_member(&format!("{dir}/{target}"))
                } else {
                    clean_member(&target)
                };
                if let Some(t) = resolved {
                    links.insert(member, t);
                }
            }
            _ => {}
        }
    }
    let layer_sizes = layers
        .iter()
        .map(|(k, v)| (k.clone(), v.as_ref().map_or(0, |c| c.blob_size)))
        .collect();
    Ok(Exported {
        store: Store::Memory {
            small,
            layers: layer_sizes,
            links,
        },
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_encoded_for_the_path() {
        assert_eq!(encode_name("localhost/app:1"), "localhost/app:1");
        assert_eq!(encode_name("a b?c"), "a%20b%3Fc");
    }

    #[test]
    fn layer_members() {
        assert!(is_layer_member("abc/layer.tar", 10));
        assert!(is_layer_member("abc.tar", 10));
        assert!(!is_layer_member("abc/json", 10));
        assert!(!is_layer_member("blobs/sha256/abc", 1000));
        assert!(is_layer_member("blobs/sha256/abc", 2 << 20));
    }
}
