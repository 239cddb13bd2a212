//! Real registries for the `docker://` tests: Debian's `docker-registry` (CNCF distribution)
//! started on 127.0.0.1 with a free port and a temporary directory, stopped by its PID when
//! the guard drops (also when the test panics); a token server that signs the JWTs the
//! registry verifies; and a fault-injecting proxy in front of a registry.
//!
//! Needs `docker-registry`, `skopeo`, `htpasswd` (apache2-utils) and `openssl`, which
//! `scripts/test.sh` installs. Without them a test skips with a message, unless
//! `LAYERSCOPE_REQUIRE_REGISTRY=1`, which makes the skip a failure.
#![allow(dead_code, reason = "each test crate uses part of it")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The tools the registry tier needs, or why the tests skip.
pub fn available() -> bool {
    let missing: Vec<&str> = ["docker-registry", "skopeo", "htpasswd", "openssl"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let msg = format!("registry tier: {} not installed", missing.join(", "));
    if std::env::var("LAYERSCOPE_REQUIRE_REGISTRY").as_deref() == Ok("1") {
        panic!("{msg} (LAYERSCOPE_REQUIRE_REGISTRY=1)");
    }
    eprintln!("skipped: {msg} (scripts/test.sh installs them)");
    false
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// A free TCP port on 127.0.0.1 (bound, then released for the server to take).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// How the registry authenticates.
pub enum Auth {
    Anonymous,
    /// htpasswd basic auth with this user and password.
    Basic(String, String),
    /// Token auth: realm URL, service, issuer, certificate bundle.
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert: PathBuf,
    },
}

/// A running `docker-registry serve`, killed by PID on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(auth: Auth) -> Registry {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let auth_yaml = match &auth {
            Auth::Anonymous => String::new(),
            Auth::Basic(user, pass) => {
                let out = Command::new("htpasswd")
                    .args(["-Bbn", user, pass])
                    .output()
                    .expect("htpasswd");
                assert!(out.status.success(), "htpasswd failed");
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, &out.stdout).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: test\n    path: {}\n",
                    file.display()
                )
            }
            Auth::Token {
                realm,
                service,
                issuer,
                cert,
            } => format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                cert.display()
            ),
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{auth_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start docker-registry");
        let reg = Registry { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "docker-registry did not listen on {port}: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        reg
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Push with skopeo, keeping digests (`--preserve-digests`), optionally with credentials
    /// and extra flags.
    pub fn push(&self, src: &str, name: &str, creds: Option<&str>, extra: &[&str]) {
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "-q", "--dest-tls-verify=false"]);
        if let Some(c) = creds {
            cmd.args(["--dest-creds", c]);
        }
        cmd.args(extra);
        cmd.arg(src).arg(format!("docker://{}/{name}", self.host()));
        let out = cmd.output().expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy {src} -> {name}: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An oci-archive with gzip layers made by skopeo from a docker-archive in the repository.
pub fn gzip_oci_archive(docker_archive: &Path, out: &Path) {
    let status = Command::new("skopeo")
        .args(["copy", "-q", "--dest-compress"])
        .arg(format!("docker-archive:{}", docker_archive.display()))
        .arg(format!("oci-archive:{}", out.display()))
        .status()
        .expect("run skopeo");
    assert!(status.success(), "skopeo copy to oci-archive failed");
}

/// One HTTP/1.x request as read by the test servers (GET/HEAD, no body).
pub struct Request {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn read(stream: &TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let mut parts = line.split_whitespace();
        let method = parts.next()?.to_string();
        let target = parts.next()?.to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).ok()?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        Some(Request {
            method,
            target,
            headers,
        })
    }
}

/// A server thread on 127.0.0.1 answering one request per connection; stopped on drop.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(handler: impl Fn(Request, TcpStream) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let handler = Arc::new(handler);
        let thread = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).ok();
                        let handler = handler.clone();
                        std::thread::spawn(move || {
                            if let Some(req) = Request::read(&stream) {
                                handler(req, stream);
                            }
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Server {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Forward a request to `upstream` (one connection, `Connection: close`) and return the raw
/// response head and body. `extra` headers are added (e.g. the proxy's own credentials).
pub fn forward(upstream: u16, req: &Request, extra: &[(&str, &str)]) -> (String, Vec<u8>) {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).expect("connect upstream");
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (k, v) in &req.headers {
        if k.eq_ignore_ascii_case("connection") || k.eq_ignore_ascii_case("host") {
            continue;
        }
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Host: 127.0.0.1:{upstream}\r\nConnection: close\r\n\r\n"
    ));
    up.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw[split + 4..].to_vec();
    (head, body)
}

/// Write a response head (rewriting `Connection` to close) and a body.
pub fn respond(mut stream: TcpStream, head: &str, body: &[u8]) {
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str("Connection: close\r\n\r\n");
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(body);
    let _ = stream.flush();
    let _ = stream.shutdown(Shutdown::Both);
}

/// What the fault proxy does to blob GETs and other requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Send the first GET of each blob only half-way, then close the connection.
    CutBlobOnce,
    /// Flip one byte in the middle of every blob body.
    CorruptBlob,
    /// Answer every path's first request with 429 (Retry-After: 0), then pass it through.
    TooManyThenOk,
    /// Answer every request with 503.
    AlwaysUnavailable,
    /// Redirect blob GETs to `localhost:<redirect port>`, another host name.
    RedirectBlobs(u16),
    /// Pass everything through (the proxy then only logs what was asked and sent).
    PassThrough,
    /// Answer every `Range` request with half of its body (the connection then closes).
    TruncateRanges,
}

/// One exchange through the proxy: what was asked and how many body bytes went back.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub target: String,
    pub range: Option<String>,
    pub status: String,
    pub body_bytes: usize,
}

/// A proxy in front of a registry that injects one fault; counts what it did.
pub struct FaultProxy {
    pub server: Server,
    pub faults: Arc<AtomicU32>,
    pub range_requests: Arc<Mutex<Vec<String>>>,
    /// Every exchange, in order.
    pub log: Arc<Mutex<Vec<Logged>>>,
}

impl FaultProxy {
    pub fn start(upstream: u16, fault: Fault) -> FaultProxy {
        let faults = Arc::new(AtomicU32::new(0));
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(std::collections::HashSet::<String>::new()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (f2, r2, log2) = (faults.clone(), ranges.clone(), log.clone());
        let server = Server::start(move |req, stream| {
            let is_blob_get = req.method == "GET" && req.target.contains("/blobs/sha256:");
            if let Some(r) = req.header("range") {
                r2.lock().unwrap().push(format!("{} {r}", req.target));
            }
            let first = seen
                .lock()
                .unwrap()
                .insert(format!("{} {}", req.method, req.target));
            match fault {
                Fault::TooManyThenOk if first => {
                    f2.fetch_add(1, Ordering::Relaxed);
                    respond(
                        stream,
                        "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0",
                        b"",
                    );
                    return;
                }
                Fault::AlwaysUnavailable => {
                    f2.fetch_add(1, Ordering::Relaxed);
                    let body = br#"{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}"#;
                    respond(
                        stream,
                        &format!(
                            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}",
                            body.len()
                        ),
                        body,
                    );
                    return;
                }
                Fault::RedirectBlobs(port) if is_blob_get => {
                    f2.fetch_add(1, Ordering::Relaxed);
                    respond(
                        stream,
                        &format!(
                            "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://localhost:{port}{}\r\nContent-Length: 0",
                            req.target
                        ),
                        b"",
                    );
                    return;
                }
                _ => {}
            }
            let (head, mut body) = forward(upstream, &req, &[]);
            let ok = head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.1 206");
            let range = req.header("range").map(str::to_string);
            let mut logged = Logged {
                method: req.method.clone(),
                target: req.target.clone(),
                range: range.clone(),
                status: head.lines().next().unwrap_or("").to_string(),
                body_bytes: body.len(),
            };
            if fault == Fault::TruncateRanges && range.is_some() && ok && body.len() > 1 {
                f2.fetch_add(1, Ordering::Relaxed);
                logged.body_bytes = body.len() / 2;
                log2.lock().unwrap().push(logged);
                respond(stream, &head, &body[..body.len() / 2]);
                return;
            }
            log2.lock().unwrap().push(logged);
            match fault {
                Fault::CutBlobOnce if is_blob_get && first && ok && body.len() > 1 => {
                    f2.fetch_add(1, Ordering::Relaxed);
                    let half = body.len() / 2;
                    respond(stream, &head, &body[..half]);
                }
                Fault::CorruptBlob if is_blob_get && ok && !body.is_empty() => {
                    f2.fetch_add(1, Ordering::Relaxed);
                    let mid = body.len() / 2;
                    body[mid] ^= 0x01;
                    respond(stream, &head, &body);
                }
                _ => respond(stream, &head, &body),
            }
        });
        FaultProxy {
            server,
            faults,
            range_requests: ranges,
            log,
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }
}

/// Base64url without padding (RFC 7515 section 2).
pub fn b64url(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut s = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            s.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    s
}

/// Standard base64 with padding.
pub fn b64(data: &[u8]) -> String {
    let mut s = b64url(data).replace('-', "+").replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// A token server for distribution's token auth: a self-signed RSA certificate (openssl)
/// whose key signs RS256 JWTs carrying the certificate in `x5c` (RFC 7515 section 4.1.6), as
/// distribution's `registry/auth/token` verifies them against `rootcertbundle`. It issues a
/// token only to `user`/`pass` (basic auth on the token request) and records every request.
pub struct TokenServer {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub requests: Arc<Mutex<Vec<String>>>,
}

pub const TOKEN_SERVICE: &str = "layerscope-test-registry";
pub const TOKEN_ISSUER: &str = "layerscope-test-issuer";

impl TokenServer {
    pub fn start(user: &str, pass: &str) -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let status = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=layerscope-test-token"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .expect("openssl");
        assert!(status.success(), "openssl req failed");
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .expect("openssl x509")
            .stdout;
        let x5c = b64(&der);
        let expected = format!("Basic {}", b64(format!("{user}:{pass}").as_bytes()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let reqs = requests.clone();
        let key2 = key.clone();
        let user = user.to_string();
        let server = Server::start(move |req, stream| {
            reqs.lock().unwrap().push(format!(
                "{} auth={}",
                req.target,
                req.header("authorization").is_some()
            ));
            if req.header("authorization") != Some(expected.as_str()) {
                respond(
                    stream,
                    "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 22",
                    br#"{"details":"bad user"}"#,
                );
                return;
            }
            let scope = req
                .target
                .split(['?', '&'])
                .find_map(|p| p.strip_prefix("scope="))
                .unwrap_or("")
                .replace("%3A", ":")
                .replace("%2F", "/")
                .replace("%2C", ",");
            let access: Vec<String> = scope
                .split(' ')
                .filter_map(|s| {
                    let mut parts = s.split(':');
                    let (kind, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                    let actions: Vec<String> =
                        actions.split(',').map(|a| format!("{a:?}")).collect();
                    Some(format!(
                        r#"{{"type":"{kind}","name":"{name}","actions":[{}]}}"#,
                        actions.join(",")
                    ))
                })
                .collect();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            let header = format!(r#"{{"typ":"JWT","alg":"RS256","x5c":["{x5c}"]}}"#);
            let claims = format!(
                r#"{{"iss":"{TOKEN_ISSUER}","sub":"{user}","aud":"{TOKEN_SERVICE}","exp":{},"nbf":{},"iat":{},"jti":"{}","access":[{}]}}"#,
                now + 600,
                now - 60,
                now - 60,
                now,
                access.join(",")
            );
            let signing_input = format!(
                "{}.{}",
                b64url(header.as_bytes()),
                b64url(claims.as_bytes())
            );
            let mut child = Command::new("openssl")
                .args(["dgst", "-sha256", "-sign"])
                .arg(&key2)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("openssl dgst");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(signing_input.as_bytes())
                .unwrap();
            let sig = child.wait_with_output().unwrap().stdout;
            let jwt = format!("{signing_input}.{}", b64url(&sig));
            let body = format!(r#"{{"token":"{jwt}","expires_in":600}}"#);
            respond(
                stream,
                &format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}",
                    body.len()
                ),
                body.as_bytes(),
            );
        });
        TokenServer {
            server,
            dir,
            requests,
        }
    }

    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    pub fn realm(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.server.port)
    }
}

/// The layerscope binary as the registry tests run it: a private HOME (no credentials or
/// configuration from the host), quick retries, no colour.
pub fn layerscope(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("layerscope").unwrap();
    c.env("HOME", home)
        .env("DOCKER_CONFIG", home.join(".docker"))
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env_remove("REGISTRY_AUTH_FILE")
        .env("LAYERSCOPE_REGISTRY_BACKOFF_MS", "20")
        .env("NO_COLOR", "1");
    c
}

/// `layerscope analyze --insecure ARGS IMAGE`, which must succeed: its output.
pub fn analyze_ok(home: &Path, image: &str, args: &[&str]) -> std::process::Output {
    let out = layerscope(home)
        .args(["analyze", "--insecure"])
        .args(args)
        .arg(image)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "analyze {image}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
