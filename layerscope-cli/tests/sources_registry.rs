//! `docker://` images from a real registry (Debian's `docker-registry`, CNCF distribution
//! 2.8), pushed with skopeo: the report must equal the report of the same image read from the
//! oci-archive that was pushed (digests preserved), whatever the auth (anonymous, htpasswd
//! basic, a token flow) and whatever the faults injected by a proxy in front of the registry
//! (a cut blob resumed with Range, a corrupt byte rejected, 429 then 200, a redirect to
//! another host without credentials). Errors exit 2 with the cause and print no report.

mod support {
    pub mod registry;
}

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::registry::{
    self, Auth, Fault, FaultProxy, Registry, TokenServer, analyze_ok, layerscope,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/real")
        .join(name)
        .join("image.docker.tar")
}

fn report(home: &Path, image: &str, extra: &[&str]) -> Value {
    let out = analyze_ok(home, image, &[&["--format", "json"], extra].concat());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Run analyze expecting exit 2: the error text, and no report on stdout.
fn failure(home: &Path, image: &str, extra: &[&str]) -> String {
    let out = layerscope(home)
        .args(["analyze", "--format", "json", "--insecure"])
        .args(extra)
        .arg(image)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{image}: expected exit 2, stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a failed run printed a report");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The report without what names the source (path, transport, reference).
fn figures(mut r: Value) -> Value {
    let image = r["image"].as_object_mut().unwrap();
    for k in ["source", "transport", "reference"] {
        image.remove(k);
    }
    r
}

/// An oci-archive with gzip layers (skopeo from the node-good fixture) and its report.
struct Pushed {
    _dir: tempfile::TempDir,
    archive: PathBuf,
    home: PathBuf,
}

fn prepare() -> Option<Pushed> {
    if !registry::available() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("node-good.oci.tar");
    registry::gzip_oci_archive(&fixture("node-good"), &archive);
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    Some(Pushed {
        _dir: dir,
        archive,
        home,
    })
}

fn oci_src(p: &Pushed) -> String {
    format!("oci-archive:{}", p.archive.display())
}

#[test]
fn anonymous_registry_report_equals_the_file_report() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Anonymous);
    reg.push(
        &oci_src(&p),
        "team/node-good:v1",
        None,
        &["--preserve-digests"],
    );
    let file = report(&p.home, &oci_src(&p), &[]);
    let name = format!("docker://{}/team/node-good:v1", reg.host());
    let remote = report(&p.home, &name, &[]);
    assert_eq!(remote["image"]["transport"], "docker");
    assert_eq!(remote["image"]["source"], name.as_str());
    assert_eq!(
        remote["image"]["reference"],
        format!("{}/team/node-good:v1", reg.host()).as_str()
    );
    assert_eq!(file["image"]["transport"], "oci-archive");
    assert!(remote["image"]["manifest_digest"].as_str().is_some());
    assert_eq!(figures(remote.clone()), figures(file));
    // By digest: the same image.
    let digest = remote["image"]["manifest_digest"].as_str().unwrap();
    let by_digest = report(
        &p.home,
        &format!("docker://{}/team/node-good@{digest}", reg.host()),
        &[],
    );
    assert_eq!(figures(by_digest), figures(remote));
}

#[test]
fn docker_schema2_and_multi_platform_index() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Anonymous);
    // Docker schema 2: skopeo converts the manifest, the blobs stay (gzip, same digests).
    reg.push(&oci_src(&p), "node:v2s2", None, &["--format", "v2s2"]);
    let file = report(&p.home, &oci_src(&p), &[]);
    let v2 = report(&p.home, &format!("docker://{}/node:v2s2", reg.host()), &[]);
    let strip = |mut r: Value| {
        r["image"]["manifest_digest"] = Value::Null;
        for l in r["layers"].as_array_mut().unwrap() {
            l["media_type"] = Value::Null;
        }
        figures(r)
    };
    assert_ne!(
        v2["image"]["manifest_digest"],
        file["image"]["manifest_digest"]
    );
    assert_eq!(
        v2["layers"][0]["media_type"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    assert_eq!(strip(v2), strip(file.clone()));

    // A two-platform OCI index built by hand from the archive: the amd64 manifest as it is,
    // and an arm64 one whose config differs only in `architecture`.
    let layout = multi_platform_layout(&p);
    reg.push(
        &format!("oci:{}", layout.path().display()),
        "node:multi",
        None,
        &["--all", "--preserve-digests"],
    );
    let name = format!("docker://{}/node:multi", reg.host());
    let amd = report(&p.home, &name, &[]);
    assert_eq!(amd["image"]["platform"], "linux/amd64");
    assert_eq!(figures(amd.clone()), figures(file));
    let arm = report(&p.home, &name, &["--platform", "linux/arm64"]);
    assert_eq!(arm["image"]["platform"], "linux/arm64");
    let arm_file = report(
        &p.home,
        &format!("oci:{}", layout.path().display()),
        &["--platform", "linux/arm64"],
    );
    assert_eq!(figures(arm), figures(arm_file));
    let err = failure(&p.home, &name, &["--platform", "linux/s390x"]);
    assert!(
        err.contains("linux/amd64") && err.contains("linux/arm64"),
        "{err}"
    );
}

/// Unpack the oci-archive and add an arm64 manifest next to the amd64 one.
fn multi_platform_layout(p: &Pushed) -> tempfile::TempDir {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&p.archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let blob = |d: &str| {
        dir.path()
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let put = |bytes: &[u8]| {
        let hex: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let d = format!("sha256:{hex}");
        std::fs::write(blob(&d), bytes).unwrap();
        d
    };
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let amd_desc = index["manifests"][0].clone();
    let amd_manifest = std::fs::read(blob(amd_desc["digest"].as_str().unwrap())).unwrap();
    let mut manifest: Value = serde_json::from_slice(&amd_manifest).unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(blob(&config_digest)).unwrap()).unwrap();
    config["architecture"] = "arm64".into();
    let config_bytes = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = put(&config_bytes).into();
    manifest["config"]["size"] = config_bytes.len().into();
    let arm_manifest = serde_json::to_vec(&manifest).unwrap();
    let arm_digest = put(&arm_manifest);
    let mut amd = amd_desc.clone();
    amd["platform"] = serde_json::json!({"os": "linux", "architecture": "amd64"});
    amd.as_object_mut().unwrap().remove("annotations");
    let arm = serde_json::json!({
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": arm_digest, "size": arm_manifest.len(),
        "platform": {"os": "linux", "architecture": "arm64"}
    });
    let inner = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [arm, amd]
    });
    let inner_bytes = serde_json::to_vec(&inner).unwrap();
    let inner_digest = put(&inner_bytes);
    let top = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                       "digest": inner_digest, "size": inner_bytes.len()}]
    });
    std::fs::write(
        dir.path().join("index.json"),
        serde_json::to_vec(&top).unwrap(),
    )
    .unwrap();
    dir
}

#[test]
fn basic_auth_from_docker_config_and_auth_json() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Basic("tester".into(), "s3cret".into()));
    reg.push(
        &oci_src(&p),
        "app:1",
        Some("tester:s3cret"),
        &["--preserve-digests"],
    );
    let name = format!("docker://{}/app:1", reg.host());
    let err = failure(&p.home, &name, &[]);
    assert!(
        err.contains("401") && err.contains("no credentials"),
        "{err}"
    );
    let file = figures(report(&p.home, &oci_src(&p), &[]));

    // ~/.docker/config.json `auths`, keyed with a scheme as `docker login` may write it.
    let auth = registry::b64(b"tester:s3cret");
    std::fs::write(
        p.home.join(".docker/config.json"),
        format!(
            r#"{{"auths":{{"http://{}":{{"auth":"{auth}"}}}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    assert_eq!(figures(report(&p.home, &name, &[])), file);

    // A wrong password in containers' auth.json wins over config.json and is refused.
    let bad = registry::b64(b"tester:wrong");
    let auth_json = p.home.join("auth.json");
    std::fs::write(
        &auth_json,
        format!(r#"{{"auths":{{"{}":{{"auth":"{bad}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    let out = layerscope(&p.home)
        .env("REGISTRY_AUTH_FILE", &auth_json)
        .args(["analyze", "--insecure", &name])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("401") && err.contains("UNAUTHORIZED"), "{err}");

    // A credential helper named by credHelpers: a script on PATH speaking the protocol.
    let bin = p.home.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-layerscope-test");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$server\" = \"{}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\necho '{{\"ServerURL\":\"'$server'\",\"Username\":\"tester\",\"Secret\":\"s3cret\"}}'\n",
            reg.host()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(
        p.home.join(".docker/config.json"),
        format!(
            r#"{{"credHelpers":{{"{}":"layerscope-test"}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = layerscope(&p.home)
        .env("PATH", &path)
        .args(["analyze", "--format", "json", "--insecure", &name])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(figures(r), file);

    // A malformed config.json is an error naming it.
    std::fs::write(p.home.join(".docker/config.json"), "{not json").unwrap();
    let err = failure(&p.home, &name, &[]);
    assert!(err.contains("config.json"), "{err}");
}

#[test]
fn token_flow_signed_by_a_test_token_server() {
    let Some(p) = prepare() else { return };
    let tokens = TokenServer::start("tok", "tokpass");
    let reg = Registry::start(Auth::Token {
        realm: tokens.realm(),
        service: registry::TOKEN_SERVICE.into(),
        issuer: registry::TOKEN_ISSUER.into(),
        cert: tokens.cert(),
    });
    reg.push(
        &oci_src(&p),
        "secure/app:1",
        Some("tok:tokpass"),
        &["--preserve-digests"],
    );
    let name = format!("docker://{}/secure/app:1", reg.host());
    // No credentials: the token server refuses, and the error says where credentials go.
    let err = failure(&p.home, &name, &[]);
    assert!(err.contains("token") && err.contains("401"), "{err}");
    let auth = registry::b64(b"tok:tokpass");
    std::fs::write(
        p.home.join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host()),
    )
    .unwrap();
    let remote = report(&p.home, &name, &[]);
    assert_eq!(figures(remote), figures(report(&p.home, &oci_src(&p), &[])));
    let asked = tokens.requests.lock().unwrap().clone();
    assert!(
        asked
            .iter()
            .any(|r| r.contains("repository%3Asecure%2Fapp%3Apull")
                || r.contains("repository:secure/app:pull")),
        "{asked:?}"
    );
}

#[test]
fn a_cut_blob_is_resumed_with_range() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Anonymous);
    reg.push(&oci_src(&p), "app:1", None, &["--preserve-digests"]);
    let proxy = FaultProxy::start(reg.port, Fault::CutBlobOnce);
    let remote = report(&p.home, &format!("docker://{}/app:1", proxy.host()), &[]);
    assert_eq!(figures(remote), figures(report(&p.home, &oci_src(&p), &[])));
    let cuts = proxy.faults.load(std::sync::atomic::Ordering::Relaxed);
    let ranges = proxy.range_requests.lock().unwrap().clone();
    // Every blob (config and layers) was cut once, and each was resumed from where it stopped.
    assert!(cuts >= 2, "{cuts} cuts");
    assert_eq!(ranges.len() as u32, cuts, "{ranges:?}");
    assert!(
        ranges
            .iter()
            .all(|r| r.contains("bytes=") && !r.contains("bytes=0-")),
        "{ranges:?}"
    );
}

#[test]
fn a_corrupt_byte_is_rejected_with_exit_2() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Anonymous);
    reg.push(&oci_src(&p), "app:1", None, &["--preserve-digests"]);
    let proxy = FaultProxy::start(reg.port, Fault::CorruptBlob);
    let err = failure(&p.home, &format!("docker://{}/app:1", proxy.host()), &[]);
    assert!(err.contains("digest mismatch"), "{err}");
}

#[test]
fn too_many_requests_then_ok_and_unavailable() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Anonymous);
    reg.push(&oci_src(&p), "app:1", None, &["--preserve-digests"]);
    let proxy = FaultProxy::start(reg.port, Fault::TooManyThenOk);
    let remote = report(&p.home, &format!("docker://{}/app:1", proxy.host()), &[]);
    assert_eq!(figures(remote), figures(report(&p.home, &oci_src(&p), &[])));
    assert!(proxy.faults.load(std::sync::atomic::Ordering::Relaxed) >= 3);
    let down = FaultProxy::start(reg.port, Fault::AlwaysUnavailable);
    let err = failure(&p.home, &format!("docker://{}/app:1", down.host()), &[]);
    assert!(
        err.contains("503") && err.contains("UNAVAILABLE: maintenance") && err.contains("attempts"),
        "{err}"
    );
    // 404s carry the registry's message.
    let err = failure(&p.home, &format!("docker://{}/app:nope", reg.host()), &[]);
    assert!(
        err.contains("404") && err.contains("MANIFEST_UNKNOWN"),
        "{err}"
    );
}

#[test]
fn credentials_never_follow_a_redirect_to_another_host() {
    let Some(p) = prepare() else { return };
    let reg = Registry::start(Auth::Basic("tester".into(), "s3cret".into()));
    reg.push(
        &oci_src(&p),
        "app:1",
        Some("tester:s3cret"),
        &["--preserve-digests"],
    );
    // The redirect target plays object storage: it records whether credentials arrived and
    // fetches the blob with its own.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<bool>::new()));
    let seen2 = seen.clone();
    let upstream = reg.port;
    let storage = registry::Server::start(move |req, stream| {
        seen2
            .lock()
            .unwrap()
            .push(req.header("authorization").is_some());
        let own = format!("Basic {}", registry::b64(b"tester:s3cret"));
        let (head, body) = registry::forward(upstream, &req, &[("Authorization", &own)]);
        registry::respond(stream, &head, &body);
    });
    let proxy = FaultProxy::start(reg.port, Fault::RedirectBlobs(storage.port));
    let auth = registry::b64(b"tester:s3cret");
    std::fs::write(
        p.home.join(".docker/config.json"),
        format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, proxy.host()),
    )
    .unwrap();
    let remote = report(&p.home, &format!("docker://{}/app:1", proxy.host()), &[]);
    assert_eq!(figures(remote), figures(report(&p.home, &oci_src(&p), &[])));
    let seen = seen.lock().unwrap().clone();
    assert!(!seen.is_empty(), "no blob was redirected");
    assert!(
        seen.iter().all(|auth| !auth),
        "credentials sent to another host: {seen:?}"
    );
}

#[test]
fn schema1_and_bad_names_are_clear_errors() {
    let Some(p) = prepare() else { return };
    // A registry answering a schema 1 manifest (as an old registry would).
    let schema1 = registry::Server::start(|_req, stream| {
        let body = br#"{"schemaVersion":1,"name":"old","tag":"1","fsLayers":[],"history":[]}"#;
        registry::respond(
            stream,
            &format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.distribution.manifest.v1+prettyjws\r\nContent-Length: {}",
                body.len()
            ),
            body,
        );
    });
    let err = failure(
        &p.home,
        &format!("docker://127.0.0.1:{}/old:1", schema1.port),
        &[],
    );
    assert!(err.contains("schema 1"), "{err}");
    let err = failure(&p.home, "docker://127.0.0.1:1/Bad/Name", &[]);
    assert!(err.contains("repository"), "{err}");
}

#[test]
fn oci_layout_reference_picks_the_named_manifest() {
    let Some(p) = prepare() else { return };
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    for (fixture_name, reference) in [("node-good", "good"), ("nonroot", "nonroot")] {
        let status = std::process::Command::new("skopeo")
            .args(["copy", "-q"])
            .arg(format!(
                "docker-archive:{}",
                fixture(fixture_name).display()
            ))
            .arg(format!("oci:{}:{reference}", layout.display()))
            .status()
            .unwrap();
        assert!(status.success());
    }
    for (fixture_name, reference) in [("node-good", "good"), ("nonroot", "nonroot")] {
        let named = report(
            &p.home,
            &format!("oci:{}:{reference}", layout.display()),
            &[],
        );
        assert_eq!(named["image"]["transport"], "oci");
        assert_eq!(named["image"]["reference"], reference);
        let file = report(&p.home, fixture(fixture_name).to_str().unwrap(), &[]);
        // skopeo wrote an OCI manifest and config for the same layers (same DiffIDs).
        let diff_ids = |r: &Value| -> Vec<Value> {
            r["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["diff_id"].clone())
                .collect()
        };
        assert_eq!(diff_ids(&named), diff_ids(&file));
        // skopeo gzips the layers for oci:, so only the compressed size differs.
        let totals = |r: &Value| {
            let mut t = r["totals"].clone();
            t.as_object_mut().unwrap().remove("compressed_size_bytes");
            t
        };
        assert_eq!(totals(&named), totals(&file));
        assert_eq!(named["waste"], file["waste"]);
    }
    let err = failure(&p.home, &format!("oci:{}:other", layout.display()), &[]);
    assert!(
        err.contains("no manifest named \"other\"") && err.contains("good, nonroot"),
        "{err}"
    );
}
