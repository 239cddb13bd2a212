//! A registry image (`docker://`), read through the OCI distribution API
//! (distribution-spec spec.md, "Pull"): the manifest is negotiated with `Accept`, then the
//! registry is presented to `oci.rs` as an OCI layout (a one-entry `index.json` naming the
//! root manifest), so that platform selection, nested indexes, digest checks and the config
//! are handled exactly as for a file. Layer blobs are response bodies handed straight to the
//! parallel layer reader: nothing is written to disk and no blob is held in memory; the layer
//! reader hashes every byte, so digests are verified while streaming.
//!
//! The client is `ureq` (blocking): each layer is read on a rayon worker that pulls bytes from
//! its response body as a plain `std::io::Read`, with no async runtime and no channel between
//! the network and the decompressor.
//!
//! Faults: 429 and 5xx answers and failed connections are retried with exponential backoff
//! (honouring `Retry-After`); a body cut mid-blob is resumed with `Range: bytes=N-`
//! (RFC 9110 section 14.2, which the distribution spec allows for blob GETs); 401/403/404
//! end the run with the registry's own error message (distribution-spec "Error Codes").

use super::auth::{Challenge, Credentials};
use super::name::RegistryRef;
use crate::digest;
use crate::error::{Cause, Error, Hint, Hinted, Result};
use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Manifest media types asked for, best first (image-spec media-types.md; Docker's
/// manifest list and schema 2 from the Docker Image Manifest V2 Schema 2 document).
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// How many times a request is tried before its last error is reported.
const ATTEMPTS: u32 = 5;
/// How many times a cut blob body is resumed before giving up.
const RESUMES: u32 = 8;
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Options for reaching a registry.
#[derive(Debug, Clone, Default)]
pub(crate) struct RegistryOptions {
    /// Plain HTTP instead of HTTPS.
    pub(crate) insecure: bool,
}

/// A connection to one repository of one registry.
#[derive(Debug)]
pub(crate) struct Registry {
    inner: Arc<Inner>,
}

struct Inner {
    agent: ureq::Agent,
    /// `http[s]://host[:port]`.
    base: String,
    reference: RegistryRef,
    /// The name as the user wrote it, for error messages.
    display: PathBuf,
    credentials: Option<Credentials>,
    /// The `Authorization` header value that last worked (a bearer token or basic).
    authorization: Mutex<Option<String>>,
    /// Manifests fetched so far, by digest.
    manifests: Mutex<HashMap<String, Vec<u8>>>,
    /// Digests known to be manifests (the root and everything an index lists).
    manifest_digests: Mutex<HashSet<String>>,
    /// The synthetic `index.json`.
    index_json: Vec<u8>,
    /// Body bytes received (all requests), for the benchmark's "bytes fetched".
    fetched: AtomicU64,
    backoff: Duration,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("base", &self.base)
            .field("reference", &self.reference.to_string())
            .finish_non_exhaustive()
    }
}

fn is_manifest_type(mt: &str) -> bool {
    matches!(
        mt,
        "application/vnd.oci.image.index.v1+json"
            | "application/vnd.docker.distribution.manifest.list.v2+json"
            | "application/vnd.oci.image.manifest.v1+json"
            | "application/vnd.docker.distribution.manifest.v2+json"
    )
}

impl Registry {
    /// Connect, authenticate as needed and fetch the root manifest (by tag or digest).
    pub(crate) fn open(
        reference: RegistryRef,
        display: PathBuf,
        options: &RegistryOptions,
    ) -> Result<Registry> {
        let scheme = if options.insecure { "http" } else { "https" };
        let base = format!("{scheme}://{}", reference.api_host());
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            // Credentials never follow a redirect to another host (blob GETs are often
            // redirected to object storage); same-host HTTPS redirects keep them.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .max_redirects(10)
            .user_agent(concat!("layerscope/", env!("CARGO_PKG_VERSION")))
            .build();
        let credentials = super::auth::lookup(&reference.host, &display)?;
        let mut inner = Inner {
            agent: ureq::Agent::new_with_config(config),
            base,
            reference,
            display,
            credentials,
            authorization: Mutex::new(None),
            manifests: Mutex::new(HashMap::new()),
            manifest_digests: Mutex::new(HashSet::new()),
            index_json: Vec::new(),
            fetched: AtomicU64::new(0),
            backoff: backoff_base(),
        };
        let (bytes, media_type) = inner.fetch_manifest(&inner.reference.reference.clone())?;
        let root_digest = digest::sha256_of(&bytes);
        if inner.reference.by_digest && root_digest != inner.reference.reference {
            return Err(Error::DigestMismatch {
                image: inner.display.clone(),
                what: "manifest".into(),
                expected: inner.reference.reference.clone(),
                actual: root_digest,
            });
        }
        let index = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{
                "mediaType": media_type,
                "digest": root_digest,
                "size": bytes.len(),
                "annotations": {
                    "org.opencontainers.image.ref.name": inner.reference.to_string()
                }
            }]
        });
        inner.index_json = serde_json::to_vec(&index).unwrap_or_default();
        inner.remember_manifest(root_digest, bytes);
        Ok(Registry {
            inner: Arc::new(inner),
        })
    }

    /// Does a member of the presented layout exist?
    pub(crate) fn exists(&self, member: &str) -> bool {
        if member == "index.json" || member == "oci-layout" {
            return true;
        }
        let Some(d) = member_digest(member) else {
            return false;
        };
        if self.inner.is_manifest(&d) {
            return true;
        }
        // A HEAD tells a foreign layer that is not in the registry from one that is; any
        // other answer counts as present, and the GET reports what is wrong.
        match self.inner.head_blob(&d) {
            Ok(status) => status != 404,
            Err(_) => true,
        }
    }

    /// Read a small member (index.json, a manifest, the config).
    pub(crate) fn read_small(&self, member: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        if member == "index.json" {
            return Ok(Some(self.inner.index_json.clone()));
        }
        let Some(d) = member_digest(member) else {
            return Ok(None);
        };
        if self.inner.is_manifest(&d) {
            if let Some(b) = self
                .inner
                .manifests
                .lock()
                .ok()
                .and_then(|m| m.get(&d).cloned())
            {
                return Ok(Some(b));
            }
            let (bytes, _) = self.inner.fetch_manifest(&d)?;
            self.inner.remember_manifest(d, bytes.clone());
            return Ok(Some(bytes));
        }
        let mut reader = BlobReader::open(self.inner.clone(), d.clone(), None)?;
        let mut buf = Vec::new();
        (&mut reader)
            .take(limit + 1)
            .read_to_end(&mut buf)
            .map_err(|e| self.inner.error_from(format!("blob {d}"), Some(e.into())))?;
        if buf.len() as u64 > limit {
            return Err(Error::InvalidMetadata {
                image: self.inner.display.clone(),
                document: format!("blob {d}"),
                reason: format!("more than the {limit}-byte limit for a metadata document"),
                source: None,
            });
        }
        Ok(Some(buf))
    }

    /// Stream a blob. The size is the descriptor's, when known (used to resume a cut body).
    pub(crate) fn open_blob(
        &self,
        member: &str,
        size: Option<u64>,
    ) -> Result<Option<(Box<dyn Read + Send>, u64)>> {
        let Some(d) = member_digest(member) else {
            return Ok(None);
        };
        let reader = BlobReader::open(self.inner.clone(), d, size)?;
        let len = reader.size.unwrap_or(0);
        Ok(Some((Box::new(reader), len)))
    }

    /// Bytes `start..end` of a blob whose whole size is `total`, fetched with one `Range`
    /// request (RFC 9110 section 14.2; the distribution spec allows ranges on blob GETs).
    /// `Err` says why when the registry does not answer 206 with exactly that range: the
    /// caller then reads the whole blob instead.
    pub(crate) fn read_range(
        &self,
        member: &str,
        start: u64,
        end: u64,
        total: u64,
    ) -> std::result::Result<Vec<u8>, String> {
        let d = member_digest(member).ok_or_else(|| format!("{member} is not a blob"))?;
        if start >= end || end > total {
            return Err(format!(
                "bytes {start}..{end} are not inside a {total}-byte blob"
            ));
        }
        let inner = &self.inner;
        let url = inner.url("blobs", &d);
        let range = format!("bytes={start}-{}", end - 1);
        let what = format!("blob {d} {range}");
        let resp = inner
            .send(&what, &|auth| {
                let mut req = inner.agent.get(&url).header("Range", &range);
                if let Some(a) = auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            })
            .map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        if status != 206 {
            // Dropping the body unread closes the connection: a 200 would be the whole blob.
            return Err(format!(
                "{what}: HTTP {status} instead of 206 Partial Content (no byte ranges served)"
            ));
        }
        let content_range = resp
            .headers()
            .get("content-range")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let want = format!("bytes {start}-{}/{total}", end - 1);
        if content_range != want {
            return Err(format!(
                "{what}: the registry answered Content-Range {content_range:?}, not {want:?}"
            ));
        }
        let len = end - start;
        let mut body = resp.into_body();
        let bytes = body
            .with_config()
            .limit(len + 1)
            .read_to_vec()
            .map_err(|e| format!("{what}: {e}"))?;
        inner
            .fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        if bytes.len() as u64 != len {
            return Err(format!(
                "{what}: {} bytes received of the {len} asked for",
                bytes.len()
            ));
        }
        Ok(bytes)
    }

    /// Body bytes received so far, over every request.
    pub(crate) fn bytes_fetched(&self) -> u64 {
        self.inner.fetched.load(Ordering::Relaxed)
    }
}

/// `blobs/sha256/<hex>` -> `sha256:<hex>`.
fn member_digest(member: &str) -> Option<String> {
    let rest = member.strip_prefix("blobs/")?;
    let (alg, enc) = rest.split_once('/')?;
    let d = format!("{alg}:{enc}");
    digest::split_digest(&d).is_some().then_some(d)
}

/// The first retry waits this long, doubling after each attempt. Tests shorten it with
/// `LAYERSCOPE_REGISTRY_BACKOFF_MS`.
fn backoff_base() -> Duration {
    std::env::var("LAYERSCOPE_REGISTRY_BACKOFF_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(Duration::from_millis(500), Duration::from_millis)
}

/// Worth trying again: a dropped or timed-out connection, not a refused one, a TLS failure
/// or a malformed answer.
fn transient(e: &ureq::Error) -> bool {
    match e {
        ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed => true,
        ureq::Error::Io(io) => matches!(
            io.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
                | io::ErrorKind::UnexpectedEof
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted
        ),
        _ => false,
    }
}

/// Makes one attempt of a request, given the `Authorization` value to send (if any).
type Attempt<'a> = dyn Fn(Option<&str>) -> std::result::Result<Response, ureq::Error> + 'a;
type Response = ureq::http::Response<ureq::Body>;

/// What one HTTP exchange came to.
enum Outcome {
    Done(Response),
    /// Retry after this long; the error says why.
    Retry(Duration, Cause),
}

impl Inner {
    fn error(&self, reason: String) -> Error {
        self.error_from(reason, None)
    }

    fn error_from(&self, reason: String, source: Option<Cause>) -> Error {
        Error::Transport {
            image: self.display.clone(),
            reason,
            source,
        }
    }

    fn url(&self, kind: &str, reference: &str) -> String {
        format!(
            "{}/v2/{}/{kind}/{reference}",
            self.base, self.reference.repository
        )
    }

    fn is_manifest(&self, d: &str) -> bool {
        self.manifest_digests
            .lock()
            .map(|s| s.contains(d))
            .unwrap_or(false)
    }

    /// Keep a manifest and, when it is an index, learn which digests are manifests.
    fn remember_manifest(&self, d: String, bytes: Vec<u8>) {
        #[derive(serde::Deserialize)]
        struct Listed {
            #[serde(default)]
            manifests: Vec<Desc>,
        }
        #[derive(serde::Deserialize)]
        struct Desc {
            digest: String,
        }
        let children: Vec<String> = serde_json::from_slice::<Listed>(&bytes)
            .map(|l| l.manifests.into_iter().map(|m| m.digest).collect())
            .unwrap_or_default();
        if let Ok(mut set) = self.manifest_digests.lock() {
            set.insert(d.clone());
            set.extend(children);
        }
        if let Ok(mut m) = self.manifests.lock() {
            m.insert(d, bytes);
        }
    }

    /// One request with authentication, retries and backoff. `build` makes the request
    /// (it is called again for every attempt).
    fn send(&self, what: &str, build: &Attempt<'_>) -> Result<Response> {
        let mut authenticated = false;
        let mut delay = self.backoff;
        let mut last: Option<Cause> = None;
        for attempt in 1..=ATTEMPTS {
            let auth = self.authorization.lock().ok().and_then(|a| a.clone());
            let outcome = match build(auth.as_deref()) {
                Err(e) if transient(&e) => Outcome::Retry(delay, e.into()),
                Err(e) => {
                    let plain_http = self.base.starts_with("https:")
                        && matches!(&e, ureq::Error::Io(io) if io.kind() == io::ErrorKind::InvalidData);
                    return Err(self.error_from(
                        format!("{what}: {}", self.base),
                        Some(if plain_http {
                            Hinted::new(e, Hint::PlainHttpRegistry).into()
                        } else {
                            e.into()
                        }),
                    ));
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if status == 401 && !authenticated {
                        authenticated = true;
                        let challenge = resp
                            .headers()
                            .get("www-authenticate")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        self.authenticate(what, challenge.as_deref(), resp)?;
                        continue;
                    }
                    if status == 429 || (500..600).contains(&status) {
                        let after = resp
                            .headers()
                            .get("retry-after")
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(Duration::from_secs)
                            .map_or(delay, |d| d.min(MAX_RETRY_AFTER));
                        let msg = self.registry_message(resp);
                        Outcome::Retry(after, format!("HTTP {status}{msg}").into())
                    } else {
                        Outcome::Done(resp)
                    }
                }
            };
            match outcome {
                Outcome::Done(resp) => return Ok(resp),
                Outcome::Retry(wait, why) => {
                    last = Some(why);
                    if attempt < ATTEMPTS {
                        std::thread::sleep(wait);
                        delay = delay.saturating_mul(2);
                    }
                }
            }
        }
        Err(self.error_from(format!("{what}: gave up after {ATTEMPTS} attempts"), last))
    }

    /// The registry's own error text (distribution-spec "Error Codes": `{"errors":[{code,
    /// message}]}`), as `: CODE: message`, or nothing.
    fn registry_message(&self, resp: Response) -> String {
        #[derive(serde::Deserialize)]
        struct Errors {
            #[serde(default)]
            errors: Vec<ErrorItem>,
        }
        #[derive(serde::Deserialize)]
        struct ErrorItem {
            #[serde(default)]
            code: String,
            #[serde(default)]
            message: String,
        }
        let mut body = resp.into_body();
        let Ok(bytes) = body.with_config().limit(64 * 1024).read_to_vec() else {
            return String::new();
        };
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        match serde_json::from_slice::<Errors>(&bytes) {
            Ok(e) if !e.errors.is_empty() => {
                let parts: Vec<String> = e
                    .errors
                    .iter()
                    .map(|i| format!("{}: {}", i.code, i.message))
                    .collect();
                format!(": {}", parts.join("; "))
            }
            _ => {
                let text = String::from_utf8_lossy(&bytes);
                let text = text.trim();
                if text.is_empty() {
                    String::new()
                } else {
                    format!(": {}", text.chars().take(200).collect::<String>())
                }
            }
        }
    }

    /// Answer a 401: basic credentials, or a bearer token from the challenge's realm
    /// (distribution "Token Authentication Specification").
    fn authenticate(&self, what: &str, challenge: Option<&str>, resp: Response) -> Result<()> {
        let msg = self.registry_message(resp);
        let unauthorized =
            |hint: &str| self.error(format!("{what}: HTTP 401 unauthorized{msg}{hint}"));
        let Some(challenge) = challenge.and_then(Challenge::parse) else {
            return Err(unauthorized(""));
        };
        let header = match challenge {
            Challenge::Basic => match &self.credentials {
                Some(c) => c.basic_header(),
                None => return Err(unauthorized(&self.no_credentials_hint())),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = scope
                    .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository));
                let token = self.fetch_token(&realm, service.as_deref(), &scope)?;
                format!("Bearer {token}")
            }
        };
        if let Ok(mut a) = self.authorization.lock() {
            *a = Some(header);
        }
        Ok(())
    }

    fn no_credentials_hint(&self) -> String {
        format!(
            " (no credentials for {} in $REGISTRY_AUTH_FILE, \
             ${{XDG_RUNTIME_DIR}}/containers/auth.json, $DOCKER_CONFIG/config.json or \
             ~/.docker/config.json)",
            self.reference.host
        )
    }

    fn fetch_token(&self, realm: &str, service: Option<&str>, scope: &str) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct TokenResponse {
            #[serde(default)]
            token: Option<String>,
            #[serde(default)]
            access_token: Option<String>,
        }
        let what = format!("token from {realm}");
        let resp = self.send(&what, &|_| {
            let mut req = self.agent.get(realm).query("scope", scope);
            if let Some(s) = service {
                req = req.query("service", s);
            }
            if let Some(c) = &self.credentials {
                req = req.header("Authorization", c.basic_header());
            }
            req.call()
        })?;
        let status = resp.status().as_u16();
        if status != 200 {
            let msg = self.registry_message(resp);
            let hint = if self.credentials.is_none() && (status == 401 || status == 403) {
                self.no_credentials_hint()
            } else {
                String::new()
            };
            return Err(self.error(format!("{what}: HTTP {status}{msg}{hint}")));
        }
        let mut body = resp.into_body();
        let bytes = body
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()
            .map_err(|e| self.error_from(what.to_string(), Some(e.into())))?;
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let t: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| {
            self.error_from(format!("{what}: not a token response"), Some(e.into()))
        })?;
        t.token
            .or(t.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| self.error(format!("{what}: the response holds no token")))
    }

    /// A failed answer (anything but 2xx after retries) as an error with the registry's text.
    fn status_error(&self, what: &str, resp: Response) -> Error {
        let status = resp.status().as_u16();
        let msg = self.registry_message(resp);
        let label = match status {
            401 => " unauthorized",
            403 => " forbidden",
            404 => " not found",
            _ => "",
        };
        let hint = if (status == 401 || status == 403) && self.credentials.is_none() {
            self.no_credentials_hint()
        } else {
            String::new()
        };
        self.error(format!("{what}: HTTP {status}{label}{msg}{hint}"))
    }

    /// GET a manifest by tag or digest: its bytes and media type.
    fn fetch_manifest(&self, reference: &str) -> Result<(Vec<u8>, String)> {
        let url = self.url("manifests", reference);
        let what = format!("manifest {reference}");
        let resp = self.send(&what, &|auth| {
            let mut req = self.agent.get(&url).header("Accept", ACCEPT);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.call()
        })?;
        if resp.status().as_u16() != 200 {
            return Err(self.status_error(&what, resp));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_string())
            .unwrap_or_default();
        let mut body = resp.into_body();
        let bytes = body
            .with_config()
            .limit(super::METADATA_LIMIT)
            .read_to_vec()
            .map_err(|e| self.error_from(what.to_string(), Some(e.into())))?;
        self.fetched
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        // The media type: the document's own `mediaType` wins over the header, which some
        // registries leave generic.
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(default, rename = "mediaType")]
            media_type: Option<String>,
            #[serde(default, rename = "schemaVersion")]
            schema_version: Option<u64>,
        }
        let head: Option<Head> = serde_json::from_slice(&bytes).ok();
        let media_type = head
            .as_ref()
            .and_then(|h| h.media_type.clone())
            .filter(|m| !m.is_empty())
            .unwrap_or(content_type);
        if head.as_ref().and_then(|h| h.schema_version) == Some(1)
            || media_type.starts_with("application/vnd.docker.distribution.manifest.v1")
        {
            return Err(self.error(format!(
                "{what}: a Docker schema 1 manifest ({media_type}); schema 1 is deprecated \
                 and not read: push the image again with a current client (schema 2 or OCI)"
            )));
        }
        if !is_manifest_type(&media_type) {
            return Err(self.error(format!(
                "{what}: unsupported manifest media type {media_type:?}"
            )));
        }
        Ok((bytes, media_type))
    }

    /// HEAD a blob: the status code after authentication and retries.
    fn head_blob(&self, d: &str) -> Result<u16> {
        let url = self.url("blobs", d);
        let resp = self.send(&format!("blob {d}"), &|auth| {
            let mut req = self.agent.head(&url);
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.call()
        })?;
        Ok(resp.status().as_u16())
    }

    /// GET a blob from byte `from` on: the body and the total blob size when the answer
    /// says (Content-Length on 200, Content-Range on 206).
    fn get_blob(&self, d: &str, from: u64) -> Result<(ureq::BodyReader<'static>, Option<u64>)> {
        let url = self.url("blobs", d);
        let what = format!("blob {d}");
        let resp = self.send(&what, &|auth| {
            let mut req = self.agent.get(&url);
            if from > 0 {
                req = req.header("Range", format!("bytes={from}-"));
            }
            if let Some(a) = auth {
                req = req.header("Authorization", a);
            }
            req.call()
        })?;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let total = match status {
            200 if from == 0 => header("content-length").and_then(|v| v.parse().ok()),
            206 if from > 0 => {
                // `bytes START-END/TOTAL`: the range must start where the body was cut.
                let range = header("content-range").unwrap_or_default();
                let start = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.split('-').next())
                    .and_then(|s| s.parse::<u64>().ok());
                if start != Some(from) {
                    return Err(self.error(format!(
                        "{what}: asked to resume at byte {from}, the registry answered {range:?}"
                    )));
                }
                range.rsplit('/').next().and_then(|t| t.parse().ok())
            }
            200 => {
                return Err(self.error(format!(
                    "{what}: the connection was cut at byte {from} and the registry does not \
                     serve byte ranges, so the blob cannot be resumed"
                )));
            }
            _ => return Err(self.status_error(&what, resp)),
        };
        Ok((resp.into_body().into_reader(), total))
    }
}

/// A blob body that resumes with `Range` when the connection is cut.
struct BlobReader {
    inner: Arc<Inner>,
    digest: String,
    /// The blob's full size: the descriptor's, else the first answer's.
    size: Option<u64>,
    got: u64,
    body: Option<ureq::BodyReader<'static>>,
    resumes: u32,
}

impl BlobReader {
    fn open(inner: Arc<Inner>, digest: String, size: Option<u64>) -> Result<BlobReader> {
        let (body, total) = inner.get_blob(&digest, 0)?;
        Ok(BlobReader {
            inner,
            digest,
            size: size.or(total),
            got: 0,
            body: Some(body),
            resumes: 0,
        })
    }

    fn resume(&mut self, cause: &str) -> io::Result<()> {
        self.body = None;
        self.resumes += 1;
        if self.resumes > RESUMES {
            return Err(io::Error::other(format!(
                "blob {}: cut {RESUMES} times, last at byte {}: {cause}",
                self.digest, self.got
            )));
        }
        let (body, _) = self.inner.get_blob(&self.digest, self.got).map_err(|e| {
            io::Error::other(format!("after a cut at byte {} ({cause}): {e}", self.got))
        })?;
        self.body = Some(body);
        Ok(())
    }
}

impl Read for BlobReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(body) = self.body.as_mut() else {
                self.resume("no body")?;
                continue;
            };
            match body.read(buf) {
                Ok(0) => {
                    if self.size.is_some_and(|s| self.got < s) {
                        self.resume("the body ended early")?;
                        continue;
                    }
                    return Ok(0);
                }
                Ok(n) => {
                    self.got += n as u64;
                    self.inner.fetched.fetch_add(n as u64, Ordering::Relaxed);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if self.size.is_some_and(|s| self.got >= s) {
                        return Err(e);
                    }
                    let cause = e.to_string();
                    self.resume(&cause)?;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_map_to_digests() {
        let hex = "a".repeat(64);
        assert_eq!(
            member_digest(&format!("blobs/sha256/{hex}")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(member_digest("blobs/sha256/../x"), None);
        assert_eq!(member_digest("index.json"), None);
    }
}
