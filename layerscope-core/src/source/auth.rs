//! Registry credentials and authentication challenges.
//!
//! Credentials are looked up as the container tools do, first match wins:
//! 1. containers' `auth.json` (containers-auth.json(5)): `$REGISTRY_AUTH_FILE`, else
//!    `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`;
//! 2. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
//!    `credHelpers[host]`, else `credsStore`, through `docker-credential-<name> get`
//!    (docker-credential-helpers protocol: server URL on stdin, JSON on stdout), else
//!    `auths[host].auth` (base64 `user:password`).
//!
//! A file that exists but cannot be parsed is an error naming it; a missing file is not.

use crate::error::{Cause, Error, Result};
use base64::Engine as _;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A user name and password (or token) for basic auth and token requests.
#[derive(Clone)]
pub(crate) struct Credentials {
    username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// `Basic base64(user:password)` (RFC 7617).
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// A `WWW-Authenticate` challenge (RFC 9110 section 11.6.1) that layerscope can answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// `Basic realm=...`.
    Basic,
    /// `Bearer realm=...,service=...,scope=...` (distribution token authentication).
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

impl Challenge {
    pub(crate) fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header
            .split_once(char::is_whitespace)
            .unwrap_or((header, ""));
        let params = parse_params(rest);
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => Some(Challenge::Basic),
            "bearer" => Some(Challenge::Bearer {
                realm: params.get("realm")?.clone(),
                service: params.get("service").cloned(),
                scope: params.get("scope").cloned(),
            }),
            _ => None,
        }
    }
}

/// `key=value` or `key="quoted, value"` pairs separated by commas.
fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|c| *c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek().copied() {
                if c == ',' {
                    break;
                }
                value.push(c);
                chars.next();
            }
            value = value.trim().to_string();
        }
        out.insert(key, value);
    }
    out
}

#[derive(Debug, serde::Deserialize, Default)]
struct AuthFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Debug, serde::Deserialize, Default)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// `https://host/v1/` -> `host`; Docker Hub's names -> `docker.io`.
fn normalise_key(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let k = k.split('/').next().unwrap_or(k);
    match k {
        "index.docker.io" | "registry-1.docker.io" | "registry.docker.io" => "docker.io".into(),
        other => other.to_string(),
    }
}

fn read_auth_file(path: &Path, image: &Path) -> Result<Option<AuthFile>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::Config {
            source_name: path.display().to_string(),
            reason: format!("cannot read credentials for {}", image.display()),
            source: Some(e.into()),
        })
}

fn from_entry(entry: &AuthEntry, file: &Path) -> Result<Option<Credentials>> {
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let bad = |why: &str, source: Option<Cause>| Error::Config {
            source_name: file.display().to_string(),
            reason: format!("an `auth` value is not base64 of user:password{why}"),
            source,
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|e| bad("", Some(e.into())))?;
        let raw = String::from_utf8(raw).map_err(|e| bad("", Some(e.into())))?;
        let (u, p) = raw
            .split_once(':')
            .ok_or_else(|| bad(": no `:` in it", None))?;
        return Ok(Some(Credentials {
            username: u.to_string(),
            password: p.to_string(),
        }));
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Some(Credentials {
            username: u.clone(),
            password: p.clone(),
        })),
        _ => Ok(None),
    }
}

fn find_entry<'a>(file: &'a AuthFile, host: &str) -> Option<&'a AuthEntry> {
    file.auths
        .iter()
        .find(|(k, _)| normalise_key(k) == host)
        .map(|(_, v)| v)
}

/// Ask `docker-credential-<helper> get` for the host's credentials; `None` when the helper
/// has none (it exits non-zero with "credentials not found").
fn from_helper(helper: &str, host: &str, config: &Path) -> Result<Option<Credentials>> {
    #[derive(serde::Deserialize)]
    struct HelperAnswer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let program = format!("docker-credential-{helper}");
    let server = if host == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    };
    let fail = |why: String, source: Option<Cause>| Error::Config {
        source_name: config.display().to_string(),
        reason: format!("credential helper {program} for {host}: {why}"),
        source,
    };
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail("cannot run it".into(), Some(e.into())))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .map_err(|e| fail("cannot write to it".into(), Some(e.into())))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| fail("cannot read its answer".into(), Some(e.into())))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        if text.to_ascii_lowercase().contains("not found") {
            return Ok(None);
        }
        return Err(fail(format!("{}: {}", out.status, text.trim()), None));
    }
    let answer: HelperAnswer = serde_json::from_slice(&out.stdout)
        .map_err(|e| fail("not a credentials answer".into(), Some(e.into())))?;
    // `<token>` is an identity token for an OAuth2 refresh flow, which is not supported.
    if answer.username.is_empty() || answer.username == "<token>" {
        return Ok(None);
    }
    Ok(Some(Credentials {
        username: answer.username,
        password: answer.secret,
    }))
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The credentials for `host` (`host[:port]` as written in the image name), if any.
pub(crate) fn lookup(host: &str, image: &Path) -> Result<Option<Credentials>> {
    let host = normalise_key(host);
    let containers_file = match std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(|d| PathBuf::from(d).join("containers/auth.json"))
            .filter(|p| p.exists())
            .or_else(|| home().map(|h| h.join(".config/containers/auth.json"))),
    };
    if let Some(path) = containers_file
        && let Some(file) = read_auth_file(&path, image)?
        && let Some(entry) = find_entry(&file, &host)
        && let Some(c) = from_entry(entry, &path)?
    {
        return Ok(Some(c));
    }
    let docker_dir = std::env::var_os("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".docker")));
    let Some(path) = docker_dir.map(|d| d.join("config.json")) else {
        return Ok(None);
    };
    let Some(file) = read_auth_file(&path, image)? else {
        return Ok(None);
    };
    if let Some((_, helper)) = file
        .cred_helpers
        .iter()
        .find(|(k, _)| normalise_key(k) == host)
    {
        return from_helper(helper, &host, &path);
    }
    if let Some(store) = file.creds_store.as_deref().filter(|s| !s.is_empty())
        && let Some(c) = from_helper(store, &host, &path)?
    {
        return Ok(Some(c));
    }
    match find_entry(&file, &host) {
        Some(entry) => from_entry(entry, &path),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull,push".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="test""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("Negotiate"), None);
        assert_eq!(Challenge::parse("Bearer service=x"), None);
    }

    #[test]
    fn keys_and_entries() {
        assert_eq!(normalise_key("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalise_key("http://127.0.0.1:5000"), "127.0.0.1:5000");
        let file: AuthFile = serde_json::from_str(
            r#"{"auths":{"https://127.0.0.1:5000":{"auth":"dXNlcjpwYTpzcw=="}}}"#,
        )
        .unwrap();
        let c = from_entry(find_entry(&file, "127.0.0.1:5000").unwrap(), Path::new("f"))
            .unwrap()
            .unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("user", "pa:ss")
        );
        assert_eq!(c.basic_header(), "Basic dXNlcjpwYTpzcw==");
        let bad = AuthEntry {
            auth: Some("!!".into()),
            ..Default::default()
        };
        let err = from_entry(&bad, Path::new("/x/config.json")).unwrap_err();
        assert!(err.to_string().starts_with("/x/config.json: "), "{err}");
    }
}
