//! Structure-aware fuzzing on stable Rust: proptest strategies build inputs with the shape
//! each reader expects (image archives of every layout with layer tars of every entry type,
//! Dockerfiles from the instruction grammar, `.dockerignore` patterns, gate configs in TOML
//! and dive's YAML), then damage them at one place (a flipped byte, a cut, a foreign token
//! inside one member of the archive), and check that the reader never panics, that its
//! errors say something, and that what it accepts keeps the report's arithmetic.
//!
//! - Every input in `layerscope-core/tests/fuzz/regressions/<target>/` runs in the normal
//!   test suite.
//! - A failing input is shrunk by proptest and written there (the file name is a prefix of
//!   its sha256), so it stays a regression case once committed.
//! - Without `LAYERSCOPE_FUZZ_SECS`, each target runs a fixed, seeded set of cases (the
//!   same every run). With `LAYERSCOPE_FUZZ_SECS=N`, each target runs new random cases for
//!   N seconds (`scripts/test.sh` runs such a round; the seed is printed, and
//!   `LAYERSCOPE_FUZZ_SEED=S` replays it).

use layerscope_core::testkit::{Hist, ImageBuilder, Layout};
use layerscope_core::{
    Analysis, AnalysisOptions, BuildContext, Change, DockerIgnore, Dockerfile, Gate, GateConfig,
    GateInput, Image, Simulator,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ driver

thread_local! {
    /// Generated inputs the reader accepted in full (the rest were refused with an error):
    /// printed so that a generator producing only garbage shows.
    static ACCEPTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn accepted() {
    ACCEPTED.with(|a| a.set(a.get() + 1));
}

fn regressions_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/regressions")
        .join(target)
}

/// Run `check` on the kept regression inputs of `target`, then on generated ones.
fn fuzz<S>(target: &str, default_cases: u32, strategy: S, check: fn(&[u8]) -> Result<(), String>)
where
    S: Strategy<Value = Vec<u8>>,
{
    let dir = regressions_dir(target);
    let mut failures = Vec::new();
    let mut kept: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    kept.sort();
    for path in &kept {
        let bytes = std::fs::read(path).unwrap();
        match catch_unwind(AssertUnwindSafe(|| check(&bytes))) {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => failures.push(format!("{}: {reason}", path.display())),
            Err(_) => failures.push(format!("{}: panicked", path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "regression inputs of {target} fail:\n{}",
        failures.join("\n")
    );

    let secs: Option<u64> = std::env::var("LAYERSCOPE_FUZZ_SECS")
        .ok()
        .map(|s| s.parse().expect("LAYERSCOPE_FUZZ_SECS: whole seconds"));
    let seed: u64 = match std::env::var("LAYERSCOPE_FUZZ_SEED") {
        Ok(s) => s.parse().expect("LAYERSCOPE_FUZZ_SEED: a number"),
        Err(_) if secs.is_some() => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
        Err(_) => 0x6c61_7965_7273,
    };
    let deadline = secs.map(|s| Instant::now() + Duration::from_secs(s));
    ACCEPTED.with(|a| a.set(0));
    let start = Instant::now();
    let mut cases = 0u64;
    for batch in 0u64.. {
        if batch > 0 && deadline.is_none_or(|d| Instant::now() >= d) {
            break;
        }
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        key[8..16].copy_from_slice(&batch.to_le_bytes());
        key[16..16 + target.len().min(16)]
            .copy_from_slice(&target.as_bytes()[..target.len().min(16)]);
        let batch_cases = if deadline.is_some() {
            32
        } else {
            default_cases
        };
        let mut runner = TestRunner::new_with_rng(
            Config {
                cases: batch_cases,
                failure_persistence: None,
                max_shrink_iters: 4096,
                ..Config::default()
            },
            TestRng::from_seed(RngAlgorithm::ChaCha, &key),
        );
        let result = runner.run(&strategy, |bytes| {
            check(&bytes).map_err(TestCaseError::fail)
        });
        cases += u64::from(batch_cases);
        if let Err(TestError::Fail(reason, bytes)) = result {
            std::fs::create_dir_all(&dir).unwrap();
            let name = hex(&Sha256::digest(&bytes))[..16].to_string();
            let path = dir.join(name);
            std::fs::write(&path, &bytes).unwrap();
            panic!(
                "fuzz {target} (seed {seed}, batch {batch}): {reason}\n\
                 the shrunk input is kept as {}: commit it as a regression case",
                path.display()
            );
        } else if let Err(e) = result {
            panic!("fuzz {target}: {e}");
        }
    }
    eprintln!(
        "fuzz {target}: {} kept inputs, {cases} generated cases ({} accepted, the rest refused \
         with an error) in {:.1} s (seed {seed})",
        kept.len(),
        ACCEPTED.with(|a| a.get()),
        start.elapsed().as_secs_f64()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An error must say something and name no more than one line of text per cause.
fn error_ok(e: &layerscope_core::Error) -> Result<(), String> {
    let msg = e.to_string();
    if msg.trim().is_empty() {
        return Err("an error with an empty message".into());
    }
    Ok(())
}

// ------------------------------------------------------------ damage

/// One change to a byte string, applied at a position taken modulo its length.
#[derive(Debug, Clone)]
enum Damage {
    None,
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
    Replace(usize, usize, Vec<u8>),
}

/// Tokens that break readers in interesting ways when they land inside JSON, TOML or a tar
/// header: other JSON types, huge and negative numbers, escapes, path tricks, digests.
const TOKENS: &[&str] = &[
    "null",
    "[]",
    "{}",
    "-1",
    "1e309",
    "18446744073709551616",
    "\"\"",
    "\"../../etc/passwd\"",
    "\"sha256:00\"",
    "\"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"",
    "\\u0000",
    "\u{feff}",
    "\"application/vnd.oci.image.layer.v1.tar+zstd\"",
    "0",
    "true",
    "\n",
    "/",
    "..",
    ".wh.",
    "\u{0}",
    "é",
];

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        2 => (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Damage::Flip(i, x)),
        1 => any::<usize>().prop_map(Damage::Cut),
        1 => (any::<usize>(), token()).prop_map(|(i, t)| Damage::Insert(i, t)),
        2 => (any::<usize>(), 0usize..24, token()).prop_map(|(i, n, t)| Damage::Replace(i, n, t)),
    ]
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ]
}

fn apply(mut bytes: Vec<u8>, d: &Damage) -> Vec<u8> {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match d {
        Damage::None => {}
        Damage::Flip(i, x) => {
            if !bytes.is_empty() {
                let i = i % bytes.len();
                bytes[i] ^= x;
            }
        }
        Damage::Cut(i) => bytes.truncate(at(*i, bytes.len())),
        Damage::Insert(i, t) => {
            let i = at(*i, bytes.len());
            bytes.splice(i..i, t.iter().copied());
        }
        Damage::Replace(i, n, t) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.splice(i..end, t.iter().copied());
        }
    }
    bytes
}

// ------------------------------------------------------------ tar writing

/// A tar entry as a layer (or an archive) may hold it; names are written into the header
/// as they are, so `..`, absolute paths and empty names reach the reader.
#[derive(Debug, Clone)]
enum Entry {
    File(String, Vec<u8>, u32),
    Dir(String),
    Symlink(String, String),
    Hardlink(String, String),
    Fifo(String),
    CharDevice(String),
    Pax(String, Vec<(String, String)>, Vec<u8>),
}

fn header(name: &str, kind: tar::EntryType, size: u64, mode: u32, link: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if name.len() > 99 {
        // GNU long name: a `././@LongLink` entry of type `L` holding the name.
        let mut data = name.as_bytes().to_vec();
        data.push(0);
        out.extend(header(
            "././@LongLink",
            tar::EntryType::GNULongName,
            data.len() as u64,
            0,
            "",
        ));
        out.extend(pad(data));
    }
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        let n = name.len().min(99);
        old.name[..n].copy_from_slice(&name.as_bytes()[..n]);
        let l = link.len().min(99);
        old.linkname[..l].copy_from_slice(&link.as_bytes()[..l]);
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    out.extend_from_slice(h.as_bytes());
    out
}

fn pad(mut data: Vec<u8>) -> Vec<u8> {
    let rem = data.len() % 512;
    if rem != 0 {
        data.resize(data.len() + 512 - rem, 0);
    }
    data
}

fn write_tar(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        match e {
            Entry::File(n, data, mode) => {
                out.extend(header(
                    n,
                    tar::EntryType::Regular,
                    data.len() as u64,
                    *mode,
                    "",
                ));
                out.extend(pad(data.clone()));
            }
            Entry::Dir(n) => out.extend(header(n, tar::EntryType::Directory, 0, 0o755, "")),
            Entry::Symlink(n, t) => out.extend(header(n, tar::EntryType::Symlink, 0, 0o777, t)),
            Entry::Hardlink(n, t) => out.extend(header(n, tar::EntryType::Link, 0, 0o644, t)),
            Entry::Fifo(n) => out.extend(header(n, tar::EntryType::Fifo, 0, 0o644, "")),
            Entry::CharDevice(n) => out.extend(header(n, tar::EntryType::Char, 0, 0o644, "")),
            Entry::Pax(n, records, data) => {
                let mut pax = Vec::new();
                for (k, v) in records {
                    let body = format!(" {k}={v}\n");
                    // The length counts its own digits.
                    let mut len = body.len() + 1;
                    while format!("{len}{body}").len() != len {
                        len += 1;
                    }
                    pax.extend(format!("{len}{body}").into_bytes());
                }
                out.extend(header(
                    "PaxHeaders/x",
                    tar::EntryType::XHeader,
                    pax.len() as u64,
                    0o644,
                    "",
                ));
                out.extend(pad(pax));
                out.extend(header(
                    n,
                    tar::EntryType::Regular,
                    data.len() as u64,
                    0o644,
                    "",
                ));
                out.extend(pad(data.clone()));
            }
        }
    }
    out.extend([0u8; 1024]);
    out
}

// ------------------------------------------------------------ images

fn component() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::sample::select(&["a", "b", "c", "etc", "usr", "lib"][..]).prop_map(String::from),
        1 => proptest::sample::select(&[".wh.a", ".wh.b", ".wh.etc", ".wh..wh..opq", ".wh.", "..", ".", "", "x y", "é", "a\\b"][..]).prop_map(String::from),
        1 => "[a-c]{100,120}",
    ]
}

fn path() -> impl Strategy<Value = String> {
    (
        proptest::sample::select(&["", "", "", "./", "/"][..]),
        proptest::collection::vec(component(), 1..4),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(lead, parts, slash)| {
            format!("{lead}{}{}", parts.join("/"), if slash { "/" } else { "" })
        })
}

fn entry() -> impl Strategy<Value = Entry> {
    let data = proptest::collection::vec(proptest::sample::select(&[b'x', b'y', 0u8][..]), 0..40);
    prop_oneof![
        6 => (path(), data.clone(), proptest::sample::select(&[0o644u32, 0o755, 0o4755, 0o7777][..]))
            .prop_map(|(p, d, m)| Entry::File(p, d, m)),
        2 => path().prop_map(Entry::Dir),
        1 => (path(), path()).prop_map(|(p, t)| Entry::Symlink(p, t)),
        2 => (path(), path()).prop_map(|(p, t)| Entry::Hardlink(p, t)),
        1 => path().prop_map(Entry::Fifo),
        1 => path().prop_map(Entry::CharDevice),
        1 => (
            path(),
            proptest::collection::vec(
                (
                    proptest::sample::select(&["path", "linkpath", "size", "uid", "mtime", "SCHILY.xattr.user.a"][..]),
                    "[a-c/.]{0,8}|-1|99999999999999999999",
                ),
                1..3
            ),
            data
        )
            .prop_map(|(p, r, d)| Entry::Pax(p, r.into_iter().map(|(k, v)| (k.to_string(), v)).collect(), d)),
    ]
}

#[derive(Debug, Clone, Copy)]
enum Packing {
    Tar,
    Gzip,
    Zstd,
}

/// A layer: its entries, how the blob is packed, and whether its DiffID is right.
fn layer() -> impl Strategy<Value = (Vec<u8>, String)> {
    (
        proptest::collection::vec(entry(), 0..10),
        prop_oneof![4 => Just(Packing::Tar), 1 => Just(Packing::Gzip), 1 => Just(Packing::Zstd)],
        proptest::bool::weighted(0.9),
        damage(),
    )
        .prop_map(|(entries, packing, right_id, dmg)| {
            let tar = apply(write_tar(&entries), &dmg);
            let diff_id = if right_id {
                format!("sha256:{}", hex(&Sha256::digest(&tar)))
            } else {
                format!("sha256:{}", "0".repeat(64))
            };
            let blob = match packing {
                Packing::Tar => tar,
                Packing::Gzip => {
                    let mut e =
                        flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                    e.write_all(&tar).unwrap();
                    e.finish().unwrap()
                }
                Packing::Zstd => zstd::encode_all(&tar[..], 1).unwrap(),
            };
            (blob, diff_id)
        })
}

/// A whole image archive, then damage to one of its members (manifest, config, index, a
/// layer blob) or to the archive itself.
fn image_archive() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(layer(), 0..4),
        prop_oneof![
            Just(Layout::DockerClassic),
            Just(Layout::Podman),
            Just(Layout::OciArchive)
        ],
        proptest::option::of(proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "RUN apt-get update # buildkit",
                        "/bin/sh -c #(nop) COPY dir:abc in /app",
                        "COPY . . # buildkit",
                        "",
                    ][..],
                ),
                any::<bool>(),
            ),
            0..6,
        )),
        any::<usize>(),
        damage(),
        proptest::bool::weighted(0.2),
    )
        .prop_map(|(layers, layout, history, member, dmg, whole)| {
            let mut b = ImageBuilder::new();
            for (blob, diff_id) in layers {
                b = b.raw_layer(blob, diff_id);
            }
            if let Some(h) = history {
                b = b.history(
                    h.into_iter()
                        .map(|(c, empty)| Hist {
                            created_by: c.to_string(),
                            empty,
                        })
                        .collect(),
                );
            }
            let archive = b.archive(layout);
            if whole {
                return apply(archive, &dmg);
            }
            damage_member(&archive, member, &dmg)
        })
}

/// Re-write `archive` with `dmg` applied to the data of its member number `member` (taken
/// modulo the number of members), keeping every header consistent with the new data.
fn damage_member(archive: &[u8], member: usize, dmg: &Damage) -> Vec<u8> {
    let mut entries = Vec::new();
    let mut a = tar::Archive::new(archive);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let link = e
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).into_owned());
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        entries.push(match link {
            Some(l) => Entry::Symlink(name, l),
            None => Entry::File(name, data, 0o644),
        });
    }
    if !entries.is_empty() {
        let i = member % entries.len();
        if let Entry::File(_, data, _) = &mut entries[i] {
            *data = apply(std::mem::take(data), dmg);
        }
    }
    write_tar(&entries)
}

fn check_image(bytes: &[u8]) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("image.tar");
    std::fs::write(&path, bytes).map_err(|e| e.to_string())?;
    let image = match Image::open(&path) {
        Ok(i) => i,
        Err(e) => return error_ok(&e),
    };
    let analysis = match Analysis::run(&image, &AnalysisOptions::default()) {
        Ok(a) => a,
        Err(e) => return error_ok(&e),
    };
    report_invariants(&analysis)?;
    accepted();
    Ok(())
}

/// The report's arithmetic (README, "What the numbers mean").
fn report_invariants(analysis: &Analysis) -> Result<(), String> {
    let r = analysis.report();
    let t = &r.totals;
    let layer_sum: u64 = r.layers.iter().map(|l| l.size_bytes).sum();
    if t.size_bytes != layer_sum {
        return Err(format!(
            "totals.size_bytes {} != sum of layers {layer_sum}",
            t.size_bytes
        ));
    }
    if t.final_size_bytes > t.size_bytes {
        return Err(format!(
            "final {} > shipped {}",
            t.final_size_bytes, t.size_bytes
        ));
    }
    if t.wasted_bytes != t.size_bytes - t.final_size_bytes {
        return Err(format!(
            "wasted {} != size {} - final {}",
            t.wasted_bytes, t.size_bytes, t.final_size_bytes
        ));
    }
    let waste_sum: u64 = r.waste.iter().map(|w| w.bytes).sum();
    if waste_sum != t.wasted_bytes {
        return Err(format!(
            "waste[] sums to {waste_sum}, totals say {}",
            t.wasted_bytes
        ));
    }
    if r.layers.len() != t.layers {
        return Err("totals.layers differs from the layer list".into());
    }
    serde_json::to_vec(&r).map_err(|e| format!("report does not serialise: {e}"))?;
    Ok(())
}

#[test]
fn fuzz_image_archives_manifests_configs_and_layers() {
    fuzz("image", 96, image_archive(), check_image);
}

/// Layer blobs alone, each as the one layer of a well-formed image whose DiffID matches,
/// so that the walk reaches every entry.
#[test]
fn fuzz_layer_tar_walk() {
    let strategy = (proptest::collection::vec(entry(), 0..16), damage()).prop_map(|(e, d)| {
        let tar = apply(write_tar(&e), &d);
        let diff_id = format!("sha256:{}", hex(&Sha256::digest(&tar)));
        ImageBuilder::new()
            .raw_layer(tar, diff_id)
            .archive(Layout::DockerClassic)
    });
    fuzz("layer", 128, strategy, check_image);
}

// ------------------------------------------------------------ Dockerfiles

const KEYWORDS: &[&str] = &[
    "FROM",
    "from",
    "RUN",
    "COPY",
    "ADD",
    "ENV",
    "ARG",
    "WORKDIR",
    "USER",
    "LABEL",
    "EXPOSE",
    "CMD",
    "ENTRYPOINT",
    "SHELL",
    "VOLUME",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "ONBUILD",
    "MAINTAINER",
    "BOGUS",
];

const FLAGS: &[&str] = &[
    "--from=s0",
    "--from=0",
    "--from=$S",
    "--mount=type=bind,source=a,target=/b",
    "--mount=type=cache,target=/var/cache/apt,sharing=locked",
    "--mount=type=secret,id=x",
    "--mount=from=s0,target=/x",
    "--mount=type=bogus",
    "--link",
    "--chown=1:1",
    "--chmod=755",
    "--platform=$BUILDPLATFORM",
    "--exclude=*.md",
    "--parents",
    "--network=none",
    "--interval=30s",
    "--checksum=sha256:00",
    "--keep-git-dir=true",
    "--bogus",
    "--",
];

const WORDS: &[&str] = &[
    "a",
    "b",
    "s0",
    "s1",
    "AS",
    "as",
    "scratch",
    "alpine:3.20",
    "$X",
    "${X}",
    "${X:-d}",
    "${X:+y}",
    "${X:?boom}",
    "${X/a/b}",
    "${X#p}",
    "${#X}",
    "$",
    "${",
    "'q'",
    "\"dq\"",
    "[\"json\", \"arr\"]",
    "[\"bad",
    "<<EOF",
    "<<-'EOT'",
    "<<\"E\"",
    "\\",
    "`",
    "k=v",
    "k=",
    "=v",
    "/abs",
    "../rel",
    "*",
    "**/*.go",
    "[a-",
    "é",
    "80/tcp",
    "8080-8090",
    "NONE",
    "CMD",
    "true",
    "#",
    "&&",
    ";",
];

fn dockerfile_line() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (
            proptest::sample::select(KEYWORDS),
            proptest::collection::vec(proptest::sample::select(FLAGS), 0..3),
            proptest::collection::vec(proptest::sample::select(WORDS), 0..5),
            proptest::sample::select(&["", "", "", " \\", " `"][..]),
        )
            .prop_map(|(k, f, w, cont)| format!("{k} {} {}{cont}", f.join(" "), w.join(" "))),
        1 => Just("EOF".to_string()),
        1 => proptest::sample::select(&["", "# comment", "  ", "\t", "# syntax=docker/dockerfile:1", "# escape=`", "# check=skip=all;error=true;experimental=all", "\u{feff}FROM a"][..]).prop_map(String::from),
    ]
}

/// The fixtures' Dockerfiles, as seeds to damage.
const SEEDS: &[&str] = &[
    "FROM scratch\nADD rootfs.tar /\nCMD [\"/bin/sh\"]\n",
    "FROM localhost/busybox-base\nWORKDIR /usr/src/app\nCOPY package.json ./\nCOPY tools/ ./tools/\nRUN sh tools/fake-npm-install.sh && rm -rf /root/.npm\nCOPY . .\nEXPOSE 3000\nCMD [\"node\", \"index.js\"]\n",
    "ARG V=1\nFROM alpine:${V} AS build\nRUN <<EOF\necho $V\nEOF\nFROM scratch\nCOPY --from=build /out /out\nENV A=1 B=$A\n",
];

fn dockerfile_text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (
            proptest::option::of(Just("FROM scratch AS s0".to_string())),
            proptest::collection::vec(dockerfile_line(), 0..14),
            damage(),
        )
            .prop_map(|(first, lines, d)| {
                let mut text = first.map(|f| format!("{f}\n")).unwrap_or_default();
                for l in lines {
                    text.push_str(&l);
                    text.push('\n');
                }
                apply(text.into_bytes(), &d)
            }),
        1 => (proptest::sample::select(SEEDS), damage(), damage())
            .prop_map(|(s, a, b)| apply(apply(s.as_bytes().to_vec(), &a), &b)),
    ]
}

fn empty_context() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("a"), "a").unwrap();
        d
    })
    .path()
}

fn check_dockerfile(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let df = match Dockerfile::parse(&text) {
        Ok(df) => df,
        Err(e) => {
            if let layerscope_core::Error::Dockerfile { line, .. } = &e {
                let lines = text.split('\n').count();
                if *line == 0 || *line > lines + 1 {
                    return Err(format!("error on line {line} of a {lines}-line file: {e}"));
                }
            }
            return error_ok(&e);
        }
    };
    let arg_sets = [
        BTreeMap::new(),
        BTreeMap::from([
            ("X".to_string(), "1".to_string()),
            ("S".to_string(), "s0".to_string()),
            ("BUILDPLATFORM".to_string(), "linux/amd64".to_string()),
        ]),
    ];
    for args in &arg_sets {
        for s in 0..df.stages().len() {
            if let Err(e) = df.evaluate(s, args) {
                error_ok(&e)?;
            }
        }
    }
    let ctx = BuildContext::open(empty_context(), None).map_err(|e| e.to_string())?;
    if let Ok(sim) = Simulator::new(&df, &ctx, None, BTreeMap::new()) {
        for change in [
            Change::path("a"),
            Change::BuildArg {
                name: "X".into(),
                value: "2".into(),
            },
        ] {
            if let Err(e) = sim.simulate(&change) {
                error_ok(&e)?;
            }
        }
    }
    accepted();
    Ok(())
}

#[test]
fn fuzz_dockerfile_parser_evaluation_and_simulation() {
    fuzz("dockerfile", 256, dockerfile_text(), check_dockerfile);
}

// ------------------------------------------------------------ .dockerignore

fn dockerignore_text() -> impl Strategy<Value = Vec<u8>> {
    let pattern = proptest::collection::vec(
        proptest::sample::select(
            &[
                "a", "b", "*", "**", "?", "[a-c]", "[!a]", "[", "\\", "!", "/", ".", "..", "#",
                " ", "é", "{a,b}", "^",
            ][..],
        ),
        0..6,
    )
    .prop_map(|p| p.concat());
    (proptest::collection::vec(pattern, 0..8), damage()).prop_map(|(lines, d)| {
        let mut text = lines.join("\n");
        text.push('\n');
        apply(text.into_bytes(), &d)
    })
}

fn check_dockerignore(bytes: &[u8]) -> Result<(), String> {
    let text = String::from_utf8_lossy(bytes);
    let ig = match DockerIgnore::parse(&text) {
        Ok(ig) => ig,
        Err(e) => return error_ok(&e),
    };
    for p in [
        "a",
        "b",
        "a/b",
        "a/b/c",
        ".",
        "",
        "ab",
        "[a",
        "é/a",
        "x/a",
        "Dockerfile",
        ".dockerignore",
    ] {
        let first = ig.matches(p);
        if ig.matches(p) != first {
            return Err(format!("matching {p:?} is not deterministic"));
        }
    }
    accepted();
    Ok(())
}

#[test]
fn fuzz_dockerignore() {
    fuzz("dockerignore", 512, dockerignore_text(), check_dockerignore);
}

/// A literal path ignores itself, and a later `!path` brings it back (last match wins),
/// for any path of plain names.
#[test]
fn dockerignore_literal_paths_match_themselves() {
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: 256,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    runner
        .run(&"[a-z]{1,4}(/[a-z]{1,4}){0,3}", |p| {
            let ig = DockerIgnore::parse(&format!("{p}\n")).unwrap();
            prop_assert!(ig.matches(&p), "{p} does not ignore itself");
            let back = DockerIgnore::parse(&format!("{p}\n!{p}\n")).unwrap();
            prop_assert!(!back.matches(&p), "!{p} does not bring it back");
            Ok(())
        })
        .unwrap();
}

// ------------------------------------------------------------ gate configs

const RULE_KEYS: &[&str] = &[
    "lowest-efficiency",
    "highest-wasted-bytes",
    "highest-user-wasted-percent",
    "percent-floor",
    "max-size",
    "max-compressed-size",
    "max-layers",
    "max-layer-size",
    "deny-paths",
    "ignore-waste-paths",
    "max-growth-bytes",
    "max-growth-percent",
    "max-layer-growth-percent",
    "max-new-waste-items",
    "max-new-waste-bytes",
    "bogus-rule",
];

const VALUES: &[&str] = &[
    "0.9",
    "\"0.9\"",
    "\"90%\"",
    "10",
    "-1",
    "0",
    "1e400",
    "\"20MB\"",
    "\"20MiB\"",
    "\"1.5GB\"",
    "\"512k\"",
    "\"-5MB\"",
    "\"NaN\"",
    "nan",
    "inf",
    "\"off\"",
    "\"disabled\"",
    "true",
    "[\"**/*.pem\", \"[\"]",
    "[]",
    "{}",
    "\"\"",
    "18446744073709551616",
    "\"deny\"",
    "\"warn\"",
    "1048576",
];

fn gate_toml() -> impl Strategy<Value = Vec<u8>> {
    let pair = (
        proptest::sample::select(RULE_KEYS),
        proptest::sample::select(VALUES),
    );
    (
        proptest::option::of(proptest::sample::select(
            &["Dockerfile", "", "../x", "/abs"][..],
        )),
        proptest::collection::vec(pair, 0..6),
        proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "overwritten",
                        "metadata-copy-up",
                        "deleted",
                        "hidden-by-opaque",
                        "bogus",
                    ][..],
                ),
                proptest::sample::select(VALUES),
            ),
            0..3,
        ),
        proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "cleanup-in-same-layer",
                        "split-dependency-copy",
                        "bogus-code",
                    ][..],
                ),
                proptest::sample::select(
                    &["\"deny\"", "\"warn\"", "\"off\"", "\"bogus\"", "1"][..],
                ),
            ),
            0..3,
        ),
        damage(),
    )
        .prop_map(|(df, rules, waste, recs, d)| {
            let mut t = String::new();
            if let Some(df) = df {
                t.push_str(&format!("dockerfile = \"{df}\"\n"));
            }
            t.push_str("[rules]\n");
            for (k, v) in rules {
                t.push_str(&format!("{k} = {v}\n"));
            }
            if !waste.is_empty() {
                t.push_str("[rules.max-waste]\n");
                for (k, v) in waste {
                    t.push_str(&format!("{k} = {v}\n"));
                }
            }
            if !recs.is_empty() {
                t.push_str("[recommendations]\n");
                for (k, v) in recs {
                    t.push_str(&format!("{k} = {v}\n"));
                }
            }
            apply(t.into_bytes(), &d)
        })
}

fn dive_ci() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(
            (
                proptest::sample::select(
                    &[
                        "lowestEfficiency",
                        "highestWastedBytes",
                        "highestUserWastedPercent",
                        "bogus",
                    ][..],
                ),
                proptest::sample::select(
                    &[
                        "0.9", "\"0.9\"", "20MB", "disabled", "-1", "~", "[1]", "{a: 1}", "1e400",
                        "0.1", "\"\"",
                    ][..],
                ),
            ),
            0..4,
        ),
        damage(),
    )
        .prop_map(|(rules, d)| {
            let mut t = String::from("rules:\n");
            for (k, v) in rules {
                t.push_str(&format!("  {k}: {v}\n"));
            }
            apply(t.into_bytes(), &d)
        })
}

/// A small analysed image to evaluate accepted configs against.
fn sample_analysis() -> &'static Analysis {
    static A: OnceLock<Analysis> = OnceLock::new();
    A.get_or_init(|| {
        use layerscope_core::testkit::LayerBuilder;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.tar");
        let archive = ImageBuilder::new()
            .layer(
                LayerBuilder::new()
                    .file("etc/a", b"aaaa")
                    .file("key.pem", b"k"),
            )
            .layer(
                LayerBuilder::new()
                    .file("etc/a", b"bbbbbb")
                    .whiteout("key.pem"),
            )
            .archive(Layout::DockerClassic);
        std::fs::write(&path, archive).unwrap();
        Analysis::run(&Image::open(&path).unwrap(), &AnalysisOptions::default()).unwrap()
    })
}

fn check_gate(config: layerscope_core::Result<GateConfig>) -> Result<(), String> {
    let config = match config {
        Ok(c) => c,
        Err(e) => return error_ok(&e),
    };
    let gate = match Gate::new(config) {
        Ok(g) => g,
        Err(e) => return error_ok(&e),
    };
    let outcome = gate.evaluate(&GateInput::new(sample_analysis().figures()));
    serde_json::to_vec(&outcome).map_err(|e| format!("outcome does not serialise: {e}"))?;
    accepted();
    Ok(())
}

fn check_gate_toml(bytes: &[u8]) -> Result<(), String> {
    check_gate(GateConfig::from_toml(
        &String::from_utf8_lossy(bytes),
        ".layerscope.toml",
    ))
}

fn check_dive_ci(bytes: &[u8]) -> Result<(), String> {
    check_gate(GateConfig::from_dive_ci(
        &String::from_utf8_lossy(bytes),
        ".dive-ci",
    ))
}

#[test]
fn fuzz_gate_config_toml() {
    fuzz("gate-toml", 256, gate_toml(), check_gate_toml);
}

#[test]
fn fuzz_gate_config_dive_ci() {
    fuzz("dive-ci", 256, dive_ci(), check_dive_ci);
}
