//! `--toc`: registry layers with a table of contents read through `Range` requests, from a
//! real registry (Debian's `docker-registry`) behind a logging proxy that shows which bytes
//! were fetched. The report read from the TOCs must equal the full read's report in every
//! figure; only the per-layer `toc` field and the warnings (which say what was not verified)
//! differ. Images: BuildKit's eStargz layer from dive's fixtures, eStargz layers written per
//! the spec by `support/estargz.rs` (no eStargz tool is installable here), and a
//! zstd:chunked layer written by skopeo 1.9 (whose manifest carries no tar size: read in
//! full).

mod support {
    pub mod estargz;
    pub mod registry;
}

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::estargz::{self, Item};
use support::registry::{self, Fault, FaultProxy, Logged, Registry, analyze_ok};

fn run(home: &Path, image: &str, extra: &[&str]) -> (Value, String) {
    let out = analyze_ok(home, image, &[&["--format", "json"], extra].concat());
    (
        serde_json::from_slice(&out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn report(home: &Path, image: &str, extra: &[&str]) -> Value {
    run(home, image, extra).0
}

/// `analyze` with its tables (which compute no content digest): standard output.
fn tables(home: &Path, image: &str, extra: &[&str]) -> String {
    String::from_utf8_lossy(&analyze_ok(home, image, extra).stdout).into_owned()
}

/// The report without what names the source, without the per-layer `toc` marks and without
/// the warnings: every figure.
fn figures(mut r: Value) -> Value {
    let image = r["image"].as_object_mut().unwrap();
    for k in ["source", "transport", "reference"] {
        image.remove(k);
    }
    for l in r["layers"].as_array_mut().unwrap() {
        l.as_object_mut().unwrap().remove("toc");
    }
    r.as_object_mut().unwrap().remove("warnings");
    r
}

fn warnings(r: &Value) -> Vec<String> {
    r["warnings"]
        .as_array()
        .map(|w| w.iter().map(|s| s.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

struct Setup {
    dir: tempfile::TempDir,
    home: PathBuf,
}

fn setup() -> Option<Setup> {
    if !registry::available() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join(".docker")).unwrap();
    Some(Setup { dir, home })
}

/// The blob GETs of one digest that went through the proxy.
fn blob_gets<'a>(log: &'a [Logged], digest: &str) -> Vec<&'a Logged> {
    log.iter()
        .filter(|l| l.method == "GET" && l.target.ends_with(&format!("/blobs/{digest}")))
        .collect()
}

/// `bytes=A-B` as (A, B + 1).
fn range_of(l: &Logged) -> (u64, u64) {
    let r = l.range.as_deref().expect("a Range request");
    let (a, b) = r.strip_prefix("bytes=").unwrap().split_once('-').unwrap();
    (a.parse().unwrap(), b.parse::<u64>().unwrap() + 1)
}

fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// Two layers that exercise every rule the figures depend on: directories (the root one
/// too), owners, mtimes, xattrs, a chunked large file, an empty file, a symlink, a
/// hardlink, a fifo, a long name, then a whiteout, an opaque directory, a modified file, a
/// duplicate, a metadata-only change.
fn two_layers(lossless: bool) -> Vec<estargz::Layer> {
    let big = pseudo_random(150_000, 7);
    let long = format!("opt/{}/deep.txt", "n".repeat(120));
    let base = vec![
        Item::dir("./"),
        Item::dir("etc/"),
        Item::file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n").mtime(1_600_000_123),
        Item::file("etc/hosts", b"127.0.0.1 localhost\n"),
        Item::dir("usr/"),
        Item::dir("usr/bin/"),
        Item::file("usr/bin/tool", &big)
            .owner(1000, 1000)
            .xattr("security.capability", &[1, 0, 0, 2, 0, 0x20, 0, 0]),
        Item::symlink("usr/bin/t", "tool"),
        Item::hardlink("usr/bin/tool2", "usr/bin/tool"),
        Item::file("usr/bin/empty", b""),
        Item::new("run.fifo", tar::EntryType::Fifo, 0o600, b""),
        Item::dir("opt/"),
        Item::file(&long, b"long name\n")
            .xattr("user.b", b"2")
            .xattr("user.a", b"1"),
        Item::dir("var/"),
        Item::dir("var/cache/"),
        Item::file("var/cache/blob", &pseudo_random(40_000, 9)),
    ];
    let top = vec![
        Item::file("etc/.wh.passwd", b""),
        Item::file("etc/hosts", b"127.0.0.1 localhost\n::1 localhost\n"),
        Item::file("var/cache/.wh..wh..opq", b""),
        Item::file("var/cache/new", b"fresh"),
        Item::file("srv/copy-of-tool", &big),
        Item::file("usr/bin/empty", b"").owner(5, 5),
    ];
    vec![
        estargz::layer(&base, 64 * 1024, lossless),
        estargz::layer(&top, 64 * 1024, lossless),
    ]
}

/// BuildKit's eStargz layer (dive's fixture, made by buildx): the TOC read equals the full
/// read and the file; only the footer and the TOC member were fetched of the layer blob.
#[test]
fn buildkit_estargz_read_from_its_toc_equals_the_full_read() {
    let Some(s) = setup() else { return };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/dive/test-oci-estargz-image.tar");
    let src = format!("oci-archive:{}", fixture.display());
    let reg = Registry::start(registry::Auth::Anonymous);
    reg.push(&src, "dive/estargz:1", None, &["--preserve-digests"]);
    let proxy = FaultProxy::start(reg.port, Fault::PassThrough);
    let name = format!("docker://{}/dive/estargz:1", proxy.host());
    let file = report(&s.home, &src, &[]);
    let full = report(&s.home, &name, &[]);
    proxy.log.lock().unwrap().clear();
    let toc = report(&s.home, &name, &["--toc"]);
    assert_eq!(figures(toc.clone()), figures(full.clone()));
    assert_eq!(figures(full.clone()), figures(file));
    assert!(full["layers"][0].get("toc").is_none());
    // The layer (4,496 bytes, per the manifest in the fixture): footer at 4,445, TOC member
    // from 4,152 (0x1038, as the footer says) to 4,445. The file's content (bytes 100 to
    // 4,152) was not fetched.
    let layer = &toc["layers"][0];
    let digest = "sha256:faae588a698ab938e22085e54a6ee1dcab88eca70618c8cca18cd1169ce7cb5a";
    assert_eq!(layer["digest"], digest);
    assert_eq!(layer["toc"]["format"], "estargz");
    assert_eq!(
        layer["toc"]["toc_digest"],
        "sha256:6cff1696cc689ce77f9368759fba2a2fb9e013974317b75d886b5ceaaf5a05a9"
    );
    assert_eq!(layer["toc"]["fetched_bytes"], 51 + (4445 - 4144));
    assert_eq!(
        layer["toc"]["not_verified"],
        serde_json::json!(["diff_id", "digest"])
    );
    let log = proxy.log.lock().unwrap().clone();
    let gets = blob_gets(&log, digest);
    let ranges: Vec<(u64, u64)> = gets.iter().map(|l| range_of(l)).collect();
    // The TOC member and the 8-byte gzip trailer before it (CRC32, ISIZE 12,288: README.md's
    // 11,189 bytes, padded to 11,264, then the tar's two end blocks, so a tar reader stops
    // before stargz.index.json and it is not a file of the layer).
    assert_eq!(ranges, vec![(4445, 4496), (4144, 4445)], "{gets:?}");
    let sent: usize = gets.iter().map(|l| l.body_bytes).sum();
    assert_eq!(sent, 352);
    assert_eq!(layer["size_bytes"], 11_189);
    assert_eq!(layer["entries"], 1);
    assert_eq!(layer["tar_size_bytes"], 14_848);
    assert!(
        warnings(&toc).iter().any(|w| w
            .contains("layer 0 was read from its eStargz table of contents")
            && w.contains("DiffID and blob digest were not verified")),
        "{:?}",
        warnings(&toc)
    );
    // The table output says so too.
    let text = tables(&s.home, &name, &["--toc"]);
    assert!(
        text.contains("warning: layer 0 was read from its eStargz table of contents"),
        "{text}"
    );
}

/// Spec-written eStargz layers with every kind of entry: the TOC read equals the full read
/// and the OCI layout it was pushed from, and no byte of file content was fetched (only the
/// 8-byte gzip trailer of the member before each TOC). Without the tar's end blocks before
/// the TOC, `stargz.index.json` is a file of each layer; with them (BuildKit's way), not.
fn every_entry_kind(lossless: bool) {
    let Some(s) = setup() else { return };
    let layers = two_layers(lossless);
    let layout = s.dir.path().join("layout");
    estargz::oci_layout(&layout, &layers, |_, _| {});
    let src = format!("oci:{}", layout.display());
    let reg = Registry::start(registry::Auth::Anonymous);
    reg.push(&src, "spec/estargz:1", None, &["--preserve-digests"]);
    let proxy = FaultProxy::start(reg.port, Fault::PassThrough);
    let name = format!("docker://{}/spec/estargz:1", proxy.host());
    let file = report(&s.home, &src, &["--top", "100"]);
    let full = report(&s.home, &name, &["--top", "100"]);
    proxy.log.lock().unwrap().clear();
    let toc = report(&s.home, &name, &["--toc", "--top", "100"]);
    assert_eq!(figures(full.clone()), figures(file));
    assert_eq!(figures(toc.clone()), figures(full.clone()));
    // The figures are not trivially equal: waste, deletions and a duplicate are there.
    assert!(toc["totals"]["wasted_bytes"].as_u64().unwrap() > 0, "{toc}");
    assert!(
        toc["layers"][1]["files_deleted"].as_u64().unwrap() > 0,
        "{toc}"
    );
    assert!(
        toc["totals"]["duplicate_bytes"].as_u64().unwrap() > 0,
        "{toc}"
    );
    let toc_files = toc["largest_files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == "stargz.index.json")
        .count();
    assert_eq!(toc_files, if lossless { 0 } else { 1 });
    let log = proxy.log.lock().unwrap().clone();
    let mut fetched = 0u64;
    for (i, l) in layers.iter().enumerate() {
        assert_eq!(toc["layers"][i]["toc"]["toc_digest"], l.toc_digest.as_str());
        assert_eq!(toc["layers"][i]["tar_size_bytes"], l.uncompressed_size);
        let gets = blob_gets(&log, &l.digest);
        let ranges: Vec<(u64, u64)> = gets.iter().map(|g| range_of(g)).collect();
        let size = l.blob.len() as u64;
        assert_eq!(
            ranges,
            vec![(size - 51, size), (l.toc_offset - 8, size - 51)]
        );
        for (a, b) in &l.content_members {
            assert!(
                ranges.iter().all(|(x, y)| y <= a || *x >= b - 8),
                "content member {a}..{b} fetched: {ranges:?}"
            );
        }
        fetched += gets.iter().map(|g| g.body_bytes as u64).sum::<u64>();
        assert_eq!(
            toc["layers"][i]["toc"]["fetched_bytes"],
            size - l.toc_offset + 8
        );
    }
    let blobs: u64 = layers.iter().map(|l| l.blob.len() as u64).sum();
    assert!(fetched * 4 < blobs, "{fetched} of {blobs} bytes fetched");
}

#[test]
fn estargz_layers_of_every_entry_kind_read_from_their_tocs() {
    every_entry_kind(false);
}

#[test]
fn lossless_estargz_layers_end_before_their_toc_entry() {
    every_entry_kind(true);
}

/// A TOC whose digest does not match its annotation, or a blob without a readable footer,
/// is not used: the layer is read in full (and verified), with a warning naming the cause,
/// and the report is the full read's. This is the documented choice (exit 0 with a
/// warning, not exit 2): the full read verifies everything the TOC would have given.
#[test]
fn a_bad_toc_or_footer_falls_back_to_the_whole_blob() {
    let Some(s) = setup() else { return };
    let layers = two_layers(false);
    let layout = s.dir.path().join("bad");
    estargz::oci_layout(&layout, &layers, |i, a| {
        if i == 0 {
            a.insert(
                "containerd.io/snapshot/stargz/toc.digest".into(),
                format!("sha256:{}", "0".repeat(64)).into(),
            );
        }
    });
    let src = format!("oci:{}", layout.display());
    let reg = Registry::start(registry::Auth::Anonymous);
    reg.push(&src, "bad/toc:1", None, &["--preserve-digests"]);
    let name = format!("docker://{}/bad/toc:1", reg.host());
    let full = report(&s.home, &name, &[]);
    let toc = report(&s.home, &name, &["--toc"]);
    assert_eq!(figures(toc.clone()), figures(full));
    assert!(toc["layers"][0].get("toc").is_none());
    assert_eq!(toc["layers"][1]["toc"]["format"], "estargz");
    // The tables compute no content digest, except where a layer read in full must be
    // compared with one known from its TOC (by sha256): the same figures.
    let rows = |text: String| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains("Files") || l.contains("waste") || l.contains("Size"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        rows(tables(&s.home, &name, &["--toc"])),
        rows(tables(&s.home, &name, &[]))
    );
    let w = warnings(&toc);
    assert!(
        w.iter().any(
            |w| w.starts_with("layer 0: its table of contents was not used")
                && w.contains("TOC digest mismatch")
                && w.contains("the whole blob was read and verified")
        ),
        "{w:?}"
    );

    // Range answers cut short (the footer arrives truncated): every layer is read in full.
    let proxy = FaultProxy::start(reg.port, Fault::TruncateRanges);
    let cut = format!("docker://{}/bad/toc:1", proxy.host());
    let r = report(&s.home, &cut, &["--toc"]);
    assert_eq!(figures(r.clone()), figures(toc));
    assert!(r["layers"][1].get("toc").is_none());
    let w = warnings(&r);
    assert!(
        w.iter()
            .any(|w| w.starts_with("layer 1: its table of contents was not used")),
        "{w:?}"
    );
    assert!(proxy.faults.load(std::sync::atomic::Ordering::Relaxed) >= 1);

    // A layer announced as eStargz whose last 51 bytes are no footer (a plain gzip layer
    // with the annotation): read in full.
    let plain = s.dir.path().join("plain");
    let mut l = two_layers(false).remove(1);
    let cut_at = l.blob.len() - 51;
    l.blob.truncate(cut_at);
    let tar = {
        let mut t = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::MultiGzDecoder::new(l.blob.as_slice()),
            &mut t,
        )
        .unwrap();
        t
    };
    l.digest = estargz::sha256(&l.blob);
    l.diff_id = estargz::sha256(&tar);
    estargz::oci_layout(&plain, &[l], |_, _| {});
    reg.push(
        &format!("oci:{}", plain.display()),
        "bad/footer:1",
        None,
        &["--preserve-digests"],
    );
    let name = format!("docker://{}/bad/footer:1", reg.host());
    let r = report(&s.home, &name, &["--toc"]);
    assert_eq!(figures(r.clone()), figures(report(&s.home, &name, &[])));
    let w = warnings(&r);
    assert!(
        w.iter().any(
            |w| w.starts_with("layer 0: its table of contents was not used")
                && w.contains("footer")
        ),
        "{w:?}"
    );
}

/// skopeo 1.9 writes zstd:chunked with its manifest in a skippable frame, announced by
/// `io.containers.zstd-chunked.manifest-position` / `-checksum`. The manifest is fetched and
/// verified, but it gives no uncompressed tar size, so the layer is read in full.
#[test]
fn zstd_chunked_manifest_is_verified_then_the_blob_is_read() {
    let Some(s) = setup() else { return };
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/dive/test-oci-gzip-image.tar");
    let layout = s.dir.path().join("zc");
    let out = std::process::Command::new("skopeo")
        .args(["copy", "-q", "--dest-compress-format", "zstd:chunked"])
        .arg(format!("oci-archive:{}", fixture.display()))
        .arg(format!("oci:{}", layout.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let src = format!("oci:{}", layout.display());
    let reg = Registry::start(registry::Auth::Anonymous);
    reg.push(&src, "zc/app:1", None, &["--preserve-digests"]);
    let name = format!("docker://{}/zc/app:1", reg.host());
    let file = report(&s.home, &src, &[]);
    let r = report(&s.home, &name, &["--toc"]);
    assert_eq!(figures(r.clone()), figures(file));
    assert!(r["layers"][0].get("toc").is_none());
    let w = warnings(&r);
    assert!(
        w.iter().any(
            |w| w.contains("zstd:chunked manifest (verified) records no uncompressed tar size")
        ),
        "{w:?}"
    );
}
