//! The commands end to end on real images (tests/fixtures/real, built by buildah next to
//! their Dockerfiles; tests/fixtures/rebuild.sh), with every expected figure worked out by
//! hand from `tar tvf` of the layers, as the comments show.
//!
//! Layer sizes used below (content bytes of regular files, `tar tvf`; blob = layer tar as
//! stored in the docker-archive, `ls -l`):
//!
//! | image | layer | content | blob |
//! |---|---|---|---|
//! | every one | 0 busybox rootfs (`ADD rootfs.tar /`) | 1,982,365 | 2,128,384 |
//! | node-bad | 1 `COPY . .`: .dockerignore 18, Dockerfile 192, index.js 35, package.json 144, src/mod{1,2,3}.js 3 x 20, tools/fake-npm-install.sh 585 | 1,034 | 12,288 |
//! | node-bad | 2 `RUN sh tools/...`: node_modules/left-pad/lib/index.js 524,288, its package.json 38, root/.npm/_cacache/left-pad-1.3.0.tgz 524,288 | 1,048,614 | 1,060,352 |
//! | node-good | 1 `COPY package.json ./` | 144 | 3,584 |
//! | node-good | 2 `COPY tools/ ./tools/` | 585 | 4,608 |
//! | node-good | 3 `RUN ... && rm -rf /root/.npm`: index.js 524,288 + package.json 38 | 524,326 | 534,528 |
//! | node-good | 4 `COPY . .`: as node-bad's layer 1 but a 191-byte Dockerfile | 1,033 | 12,288 |
//! | cache-layout | 1 `COPY src/ ./src/`: app.sh 19, lib.sh 13 | 32 | 4,096 |
//! | cache-layout | 2 `COPY assets/ ./assets/`: logo.bin 30,000 | 30,000 | 32,768 |
//! | cache-layout | 3 `RUN echo "$FLAVOR" ...`: flavor.txt 6, usr/include/x.h 12 | 18 | 8,704 |

mod support {
    pub mod tiers;
}

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn real(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/real")
        .join(rel)
}

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/image.tar")
}

fn layerscope() -> Command {
    let mut c = Command::cargo_bin("layerscope").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// Run and parse standard output as JSON; the command must succeed.
fn json(args: &[&std::ffi::OsStr]) -> Value {
    let out = layerscope().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn os(s: &str) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(s)
}

/// Run expecting exit code 2; returns standard error.
fn fails(args: &[&std::ffi::OsStr]) -> String {
    let out = layerscope().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    assert!(out.stdout.is_empty(), "{args:?}: no partial output");
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("layerscope: error: "), "{err}");
    err
}

// ---------------------------------------------------------------------------------------
// diff
// ---------------------------------------------------------------------------------------

/// node-bad (A) against node-good (B): the same base layer, different builds above it.
#[test]
fn diff_node_bad_against_node_good() {
    let v = json(&[
        os("diff"),
        real("node-bad/image.docker.tar").as_os_str(),
        real("node-good/image.docker.tar").as_os_str(),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(v["schema_version"], 1);
    // Only the busybox layer (DiffID sha256:a1a52d83...) is in both.
    assert_eq!(v["shared_layers"], 1);
    assert_eq!(v["common_prefix_layers"], 1);
    // B's other layers must be pushed: 3,584 + 4,608 + 534,528 + 12,288 = 555,008.
    assert_eq!(v["push_bytes"], 555_008);
    // Content: B = 144 + 585 + 524,326 + 1,033 = 526,088 above the base, A = 1,034 +
    // 1,048,614 = 1,049,648: -523,560.
    assert_eq!(v["size_delta_bytes"], -523_560);
    // Blobs: 555,008 - (12,288 + 1,060,352) = -517,632.
    assert_eq!(v["compressed_size_delta_bytes"], -517_632);
    // Final: B drops the 524,288-byte npm cache file and has a 1-byte shorter Dockerfile;
    // both ship package.json and the installer once more in the final COPY (B's 729 bytes
    // of waste), which the final view shows once: -524,289.
    assert_eq!(v["final_size_delta_bytes"], -524_289);
    assert_eq!(v["wasted_delta_bytes"], 729);
    let layers: Vec<(u64, &str, Value, Value)> = v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["index"].as_u64().unwrap(),
                l["status"].as_str().unwrap(),
                l["a_size_bytes"].clone(),
                l["b_size_bytes"].clone(),
            )
        })
        .collect();
    assert_eq!(
        layers,
        vec![
            (0, "same", 1_982_365.into(), 1_982_365.into()),
            (1, "changed", 1_034.into(), 144.into()),
            (2, "changed", 1_048_614.into(), 585.into()),
            (3, "added", Value::Null, 524_326.into()),
            (4, "added", Value::Null, 1_033.into()),
        ]
    );
    let files = &v["files"];
    assert_eq!(files["added"], serde_json::json!([]));
    assert_eq!(
        files["removed"],
        serde_json::json!([{
            "path": "root/.npm/_cacache/left-pad-1.3.0.tgz",
            "a_size_bytes": 524_288, "b_size_bytes": null, "delta_bytes": -524_288, "what": []
        }])
    );
    // The fake installer writes /dev/urandom bytes: the module differs in content, same size.
    assert_eq!(
        files["changed"],
        serde_json::json!([
            {"path": "usr/src/app/Dockerfile", "a_size_bytes": 192, "b_size_bytes": 191,
             "delta_bytes": -1, "what": ["content"]},
            {"path": "usr/src/app/node_modules/left-pad/lib/index.js", "a_size_bytes": 524_288,
             "b_size_bytes": 524_288, "delta_bytes": 0, "what": ["content"]}
        ])
    );
    // The reverse comparison mirrors every figure.
    let r = json(&[
        os("diff"),
        real("node-good/image.docker.tar").as_os_str(),
        real("node-bad/image.docker.tar").as_os_str(),
        os("--format"),
        os("json"),
    ]);
    assert_eq!(r["size_delta_bytes"], 523_560);
    assert_eq!(r["push_bytes"], 12_288 + 1_060_352);
    assert_eq!(
        r["files"]["added"][0]["path"],
        "root/.npm/_cacache/left-pad-1.3.0.tgz"
    );
}

// ---------------------------------------------------------------------------------------
// base image options, digest checks
// ---------------------------------------------------------------------------------------

#[test]
fn base_image_and_base_layers_from_the_command_line() {
    let bad = real("node-bad/image.docker.tar");
    let base = |extra: &[&std::ffi::OsStr]| {
        let mut args = vec![os("analyze"), bad.as_os_str(), os("--format"), os("json")];
        args.extend_from_slice(extra);
        json(&args)["base"].clone()
    };
    // Detected from buildah's history: the busybox layer. User bytes: 1,034 + 1,048,614.
    assert_eq!(
        base(&[]),
        serde_json::json!({"base_layers": 1, "source": "history", "user_size_bytes": 1_049_648,
                           "user_wasted_bytes": 0, "user_wasted_ratio": 0.0})
    );
    // --base IMAGE: busybox-base's one layer is the bottom of node-bad.
    let b = base(&[
        os("--base"),
        real("busybox-base/image.docker.tar").as_os_str(),
    ]);
    assert_eq!(b["base_layers"], 1);
    assert_eq!(b["source"], "flag");
    assert_eq!(b["user_size_bytes"], 1_049_648);
    // --base-layers 2: only the RUN layer is the user's.
    let b = base(&[os("--base-layers"), os("2")]);
    assert_eq!(
        (b["base_layers"].as_u64(), b["source"].as_str()),
        (Some(2), Some("flag"))
    );
    assert_eq!(b["user_size_bytes"], 1_048_614);
    // --base-layers 3: nothing above the base; the ratio has no user bytes to divide.
    let b = base(&[os("--base-layers"), os("3")]);
    assert_eq!(b["user_size_bytes"], 0);
    assert_eq!(b["user_wasted_ratio"], Value::Null);

    // node-good's 5 layers are not the bottom of node-bad's 3.
    let err = fails(&[
        os("analyze"),
        bad.as_os_str(),
        os("--base"),
        real("node-good/image.docker.tar").as_os_str(),
    ]);
    assert!(
        err.contains("--base")
            && err.contains("node-good/image.docker.tar")
            && err.contains("not the bottom"),
        "{err}"
    );
    // More base layers than the image has is an error, not a silent clamp.
    let err = fails(&[os("analyze"), bad.as_os_str(), os("--base-layers"), os("4")]);
    assert!(
        err.contains("--base-layers 4") && err.contains("3 layers"),
        "{err}"
    );
    // The two ways of naming the base exclude each other.
    let out = layerscope()
        .args(["analyze", "--base-layers", "1", "--base"])
        .arg(real("busybox-base/image.docker.tar"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}

/// The demo image with its last layer tar (COPY conf.d/, 4,608 bytes) replaced by another
/// valid tar: the manifest and config still name the old DiffID.
fn demo_with_swapped_last_layer(dir: &Path) -> PathBuf {
    let bytes = std::fs::read(demo()).unwrap();
    let manifest: Value = {
        let mut a = tar::Archive::new(&bytes[..]);
        let mut m = None;
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_str() == Some("manifest.json") {
                m = Some(serde_json::from_reader(&mut e).unwrap());
            }
        }
        m.unwrap()
    };
    let last = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string();
    let mut other = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    other
        .append_data(&mut h, "etc/other.conf", &b"other"[..])
        .unwrap();
    let other = other.into_inner().unwrap();
    let mut out = tar::Builder::new(Vec::new());
    let mut a = tar::Archive::new(&bytes[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        if h.entry_type() == tar::EntryType::Symlink {
            let target = e.link_name().unwrap().unwrap().into_owned();
            out.append_link(&mut h, &path, target).unwrap();
            continue;
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if path == last {
            data = other.clone();
        }
        h.set_size(data.len() as u64);
        out.append_data(&mut h, &path, &data[..]).unwrap();
    }
    let p = dir.join("swapped.tar");
    std::fs::write(&p, out.into_inner().unwrap()).unwrap();
    p
}

#[test]
fn allow_digest_mismatch_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = demo_with_swapped_last_layer(dir.path());
    let err = fails(&[os("analyze"), p.as_os_str()]);
    assert!(
        err.contains("swapped.tar")
            && err.contains("layer 6")
            && err.contains("expected sha256:")
            && err.contains("actual sha256:"),
        "{err}"
    );
    let out = layerscope()
        .args(["analyze", "--allow-digest-mismatch", "--format", "json"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("layer 6") && w.contains("digest mismatch")),
        "{warnings:?}"
    );
    // The swapped layer is read as it is: 5 bytes instead of conf.d's 4.
    assert_eq!(v["layers"][6]["size_bytes"], 5);
    assert_eq!(v["totals"]["size_bytes"], 4_603_842 - 4 + 5);
    // diff takes the same switch.
    let out = layerscope()
        .args(["diff", "--format", "json"])
        .arg(demo())
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v = json(&[
        os("diff"),
        os("--allow-digest-mismatch"),
        os("--format"),
        os("json"),
        demo().as_os_str(),
        p.as_os_str(),
    ]);
    assert_eq!(v["shared_layers"], 6);
    assert_eq!(v["size_delta_bytes"], 1);
}

// ---------------------------------------------------------------------------------------
// list filters: the lists change, the totals never
// ---------------------------------------------------------------------------------------

#[test]
fn path_min_size_and_top_filter_lists_not_totals() {
    let image = demo();
    let run = |extra: &[&str]| {
        let mut args = vec![os("analyze"), image.as_os_str(), os("--format"), os("json")];
        args.extend(extra.iter().map(|s| os(s)));
        json(&args)
    };
    let all = run(&[]);
    let paths = |v: &Value, list: &str| -> Vec<String> {
        v[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["path"].as_str().unwrap().to_string())
            .collect()
    };
    // The demo's five hidden copies (tests/real_images.rs, from `tar tvf`), largest first.
    assert_eq!(
        paths(&all, "waste"),
        [
            "data/big.bin",
            "data/blob.bin",
            "etc/app/config.txt",
            "etc/app/conf.d/old1.conf",
            "etc/app/conf.d/old2.conf"
        ]
    );
    // `**` crosses directories: the three under etc/.
    let etc = run(&["--path", "etc/**"]);
    assert_eq!(
        paths(&etc, "waste"),
        [
            "etc/app/config.txt",
            "etc/app/conf.d/old1.conf",
            "etc/app/conf.d/old2.conf"
        ]
    );
    // Visible files under etc/: busybox's passwd (82) and group (27), the app's config.txt
    // (22), new.conf (4), a.conf and b.conf (2 each), and buildah's three empty files.
    assert_eq!(
        paths(&etc, "largest_files"),
        [
            "etc/passwd",
            "etc/group",
            "etc/app/config.txt",
            "etc/app/conf.d/new.conf",
            "etc/app/conf.d/a.conf",
            "etc/app/conf.d/b.conf",
            "etc/hostname",
            "etc/hosts",
            "etc/resolv.conf"
        ]
    );
    // `*` stays within a directory: etc/* matches no file of etc/app/.
    let shallow = run(&["--path", "etc/*"]);
    assert!(paths(&shallow, "waste").is_empty());
    assert_eq!(paths(&shallow, "largest_files").len(), 5);
    // 1 KiB = 1,024 bytes: big.bin (1,048,576) and blob.bin (524,288) of the waste; busybox
    // (1,982,256) and big.bin of the visible files.
    let big = run(&["--min-size", "1KiB"]);
    assert_eq!(paths(&big, "waste"), ["data/big.bin", "data/blob.bin"]);
    assert_eq!(
        paths(&big, "largest_files"),
        ["bin/busybox", "data/big.bin"]
    );
    // 524,289 bytes: blob.bin (524,288) falls out.
    let bigger = run(&["--min-size", "524289"]);
    assert_eq!(paths(&bigger, "waste"), ["data/big.bin"]);
    let top = run(&["--top", "1"]);
    assert_eq!(paths(&top, "waste"), ["data/big.bin"]);
    assert_eq!(paths(&top, "largest_files"), ["bin/busybox"]);
    for v in [&etc, &shallow, &big, &bigger, &top] {
        assert_eq!(v["totals"], all["totals"]);
        assert_eq!(v["layers"], all["layers"]);
        assert_eq!(v["base"], all["base"]);
    }
    assert_eq!(all["totals"]["wasted_bytes"], 1_572_871);
}

/// The table's list headings count the image's items, not the rows left after `--top`:
/// overwrite-opaque has 5 hidden copies (tests/real_images.rs, from `tar tvf` of its layers:
/// config.txt 3 overwritten, old1.conf and old2.conf hidden by the opaque marker, blob.bin
/// deleted, big.bin copied up), and `--top 1` lists one of them.
#[test]
fn list_headings_count_every_item_not_the_rows_shown() {
    let image = real("overwrite-opaque/image.docker.tar");
    let out = layerscope()
        .args([os("analyze"), image.as_os_str(), os("--top"), os("1")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l == "Largest waste (1 of 5 items):"),
        "{text}"
    );
    // A filter cuts the list, never the count: only blob.bin is under data/ with
    // 524,288 bytes or fewer, and the heading still names all five.
    let out = layerscope()
        .args([
            os("analyze"),
            image.as_os_str(),
            os("--path"),
            os("data/**"),
            os("--min-size"),
            os("524288"),
            os("--top"),
            os("1"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l == "Largest waste (1 of 5 items):"),
        "{text}"
    );
    let v = json(&[
        os("analyze"),
        image.as_os_str(),
        os("--format"),
        os("json"),
        os("--top"),
        os("1"),
    ]);
    assert_eq!(v["totals"]["waste_items"], 5);
    assert_eq!(v["waste"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// analyze -f: bytes per Dockerfile line
// ---------------------------------------------------------------------------------------

#[test]
fn analyze_with_dockerfile_gives_bytes_per_line() {
    let d = real("overwrite-opaque");
    let v = json(&[
        os("analyze"),
        d.join("image.docker.tar").as_os_str(),
        os("-f"),
        d.join("Dockerfile").as_os_str(),
        os("--format"),
        os("json"),
    ]);
    let a = &v["attribution"];
    assert_eq!(a["base_layers"], serde_json::json!([0]));
    assert_eq!(a["unmatched_layers"], serde_json::json!([]));
    let rows: Vec<(u64, u64, Value, u64, u64, u64)> = a["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().unwrap(),
                i["last_line"].as_u64().unwrap(),
                i["layers"].clone(),
                i["size_bytes"].as_u64().unwrap(),
                i["compressed_size_bytes"].as_u64().unwrap(),
                i["wasted_bytes_introduced"].as_u64().unwrap(),
            )
        })
        .collect();
    // Lines of tests/fixtures/real/overwrite-opaque/Dockerfile; sizes per `tar tvf`
    // (tests/real_images.rs), blob sizes per `ls -l` of the docker-archive's layer tars.
    // Line 2-6 (one RUN over five lines) shipped every byte that is wasted later.
    assert_eq!(
        rows,
        vec![
            (
                2,
                6,
                serde_json::json!([1]),
                1_572_871,
                1_583_616,
                1_572_871
            ),
            (8, 8, serde_json::json!([2]), 22, 3_584, 0),
            (10, 10, serde_json::json!([3]), 4, 4_608, 0),
            (12, 12, serde_json::json!([4]), 0, 2_560, 0),
            (14, 14, serde_json::json!([5]), 1_048_576, 1_051_136, 0),
            (15, 15, serde_json::json!([6]), 4, 4_608, 0),
            (16, 16, serde_json::json!([]), 0, 0, 0),
        ]
    );
    // The table prints the same figures per line.
    let out = layerscope()
        .arg("analyze")
        .arg(d.join("image.docker.tar"))
        .arg("-f")
        .arg(d.join("Dockerfile"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<String> = text
        .lines()
        .skip_while(|l| !l.starts_with("By Dockerfile instruction"))
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with('│'))
        .skip(1) // the header
        .map(|l| {
            l.trim_matches('│')
                .split_whitespace()
                .take_while(|w| !["RUN", "COPY"].contains(w))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    // The same figures as `docker images` prints them (SI units, one decimal): line, layer,
    // size, compressed, wasted.
    assert_eq!(
        rows,
        [
            "2-6 1 1.6 MB 1.6 MB 1.6 MB",
            "8 2 22 B 3.6 kB -",
            "10 3 4 B 4.6 kB -",
            "12 4 0 B 2.6 kB -",
            "14 5 1.0 MB 1.1 MB -",
            "15 6 4 B 4.6 kB -",
        ]
    );
}

// ---------------------------------------------------------------------------------------
// simulate --format json
// ---------------------------------------------------------------------------------------

fn change_figures(v: &Value) -> Vec<(Value, Vec<u64>, u64, u64)> {
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["paths"].clone(),
                c["layers_rebuilt"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect(),
                c["rebuilt_bytes"].as_u64().unwrap(),
                c["repushed_bytes"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn simulate(name: &str, context: &Path, extra: &[&std::ffi::OsStr]) -> Value {
    let d = real(name);
    let (image, dockerfile) = (d.join("image.docker.tar"), d.join("Dockerfile"));
    let mut args = vec![
        os("simulate"),
        image.as_os_str(),
        os("-f"),
        dockerfile.as_os_str(),
        os("--context"),
        context.as_os_str(),
        os("--format"),
        os("json"),
    ];
    args.extend_from_slice(extra);
    json(&args)
}

#[test]
fn simulate_changed_paths() {
    // node-bad: any source file misses `COPY . .`; the install RUN rebuilds by the chain.
    let v = simulate(
        "node-bad",
        &real("node-bad/context"),
        &[os("--changed"), os("src/mod1.js")],
    );
    assert_eq!(
        change_figures(&v),
        vec![(
            serde_json::json!(["src/mod1.js"]),
            vec![1, 2],
            1_034 + 1_048_614,
            12_288 + 1_060_352
        )]
    );
    // node-good: a source file misses only the last COPY; package.json everything above.
    let v = simulate(
        "node-good",
        &real("node-good/context"),
        &[
            os("--changed"),
            os("src/mod1.js"),
            os("--changed"),
            os("package.json"),
        ],
    );
    assert_eq!(
        change_figures(&v),
        vec![
            (serde_json::json!(["src/mod1.js"]), vec![4], 1_033, 12_288),
            (
                serde_json::json!(["package.json"]),
                vec![1, 2, 3, 4],
                144 + 585 + 524_326 + 1_033,
                3_584 + 4_608 + 534_528 + 12_288
            ),
        ]
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

#[test]
fn simulate_against_a_baseline_context() {
    // The baseline is node-good's context with src/mod2.js as it was before an edit: the
    // only difference, so only the final `COPY . .` (layer 4) rebuilds.
    let tmp = tempfile::tempdir().unwrap();
    let old = tmp.path().join("old");
    copy_dir(&real("node-good/context"), &old);
    std::fs::write(old.join("src/mod2.js"), "// the old module\n").unwrap();
    let v = simulate(
        "node-good",
        &real("node-good/context"),
        &[os("--baseline-context"), old.as_os_str()],
    );
    assert_eq!(
        change_figures(&v),
        vec![(serde_json::json!(["src/mod2.js"]), vec![4], 1_033, 12_288)]
    );
    // The installer differs too: COPY tools/ (layer 2) and everything after it.
    std::fs::write(old.join("tools/fake-npm-install.sh"), "#!/bin/sh\n").unwrap();
    let v = simulate(
        "node-good",
        &real("node-good/context"),
        &[os("--baseline-context"), old.as_os_str()],
    );
    assert_eq!(
        change_figures(&v),
        vec![(
            serde_json::json!(["src/mod2.js", "tools/fake-npm-install.sh"]),
            vec![2, 3, 4],
            585 + 524_326 + 1_033,
            4_608 + 534_528 + 12_288
        )]
    );
}

#[test]
fn simulate_against_a_git_revision() {
    if !support::tiers::git("simulate_against_a_git_revision") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    copy_dir(&real("node-good/context"), &ctx);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&ctx)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "context as built"]);
    // The working tree edits the installer: layers 2, 3 and 4 rebuild.
    std::fs::write(
        ctx.join("tools/fake-npm-install.sh"),
        "#!/bin/sh\necho new\n",
    )
    .unwrap();
    let v = simulate("node-good", &ctx, &[os("--git"), os("HEAD")]);
    assert_eq!(
        change_figures(&v),
        vec![(
            serde_json::json!(["tools/fake-npm-install.sh"]),
            vec![2, 3, 4],
            585 + 524_326 + 1_033,
            4_608 + 534_528 + 12_288
        )]
    );
    // Committed: nothing differs from HEAD any more.
    git(&["commit", "-qam", "new installer"]);
    let v = simulate("node-good", &ctx, &[os("--git"), os("HEAD")]);
    assert_eq!(
        change_figures(&v),
        vec![(serde_json::json!([]), vec![], 0, 0)]
    );
}

#[test]
fn simulate_a_build_argument() {
    let ctx = real("cache-layout/context");
    // FLAVOR is declared (`ARG FLAVOR=plain`) and read by the RUN (layer 3: 18 bytes, a
    // 8,704-byte blob): a new value misses that RUN only; the COPY steps keep their cache.
    let v = simulate(
        "cache-layout",
        &ctx,
        &[os("--build-arg"), os("FLAVOR=fancy")],
    );
    let c = &v["changes"][0];
    assert_eq!(c["build_arg"], "FLAVOR=fancy");
    assert_eq!(change_figures(&v)[0].1, vec![3]);
    assert_eq!(
        (c["rebuilt_bytes"].as_u64(), c["repushed_bytes"].as_u64()),
        (Some(18), Some(8_704))
    );
    let lines: Vec<u64> = c["rebuilt_steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![7, 8]);
    // The same value it was built with, or an argument the Dockerfile never declares,
    // changes nothing.
    for arg in ["FLAVOR=plain", "UNDECLARED=1"] {
        let v = simulate("cache-layout", &ctx, &[os("--build-arg"), os(arg)]);
        assert_eq!(v["changes"][0]["rebuilt_bytes"], 0, "{arg}");
        assert_eq!(v["changes"][0]["repushed_bytes"], 0, "{arg}");
    }
}

// ---------------------------------------------------------------------------------------
// recommend
// ---------------------------------------------------------------------------------------

#[test]
fn recommend_list_codes() {
    let v = json(&[
        os("recommend"),
        os("--list-codes"),
        os("--format"),
        os("json"),
    ]);
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), codes.len(), "codes are unique");
    assert_eq!(
        sorted,
        [
            "build-tools-in-final-image",
            "cleanup-in-same-layer",
            "deleted-in-later-layer",
            "metadata-copy-up",
            "missing-expose",
            "multiple-cmd",
            "overwritten-in-later-layer",
            "reorder-for-cache",
            "run-as-root",
            "shell-form-cmd",
            "split-dependency-copy",
            "unpinned-base-image",
            "use-cache-mount",
            "use-copy-link",
        ]
    );
    for c in v.as_array().unwrap() {
        assert!(
            matches!(c["severity"].as_str(), Some("info" | "warning" | "error")),
            "{c}"
        );
        assert!(c["summary"].as_str().is_some_and(|s| s.len() > 20), "{c}");
    }
    let out = layerscope()
        .args(["recommend", "--list-codes"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for code in codes {
        assert!(text.contains(code), "{code} in the table");
    }
}

fn findings(v: &Value) -> Vec<(String, Value, u64)> {
    v["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["line"].clone(),
                f["bytes_saved"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn recommend_node_bad_writes_the_proposed_dockerfile() {
    let d = real("node-bad");
    let tmp = tempfile::tempdir().unwrap();
    let out_file = tmp.path().join("Dockerfile.proposed");
    let v = json(&[
        os("recommend"),
        d.join("image.docker.tar").as_os_str(),
        os("-f"),
        d.join("Dockerfile").as_os_str(),
        os("--context"),
        d.join("context").as_os_str(),
        os("--write-dockerfile"),
        out_file.as_os_str(),
        os("--format"),
        os("json"),
    ]);
    // Savings by hand (tests/recommend.rs works them out): split 1,049,648 - 300,825; the
    // npm cache file of layer 2 is 524,288 bytes, saved by cleaning up or by a cache mount.
    assert_eq!(
        findings(&v),
        vec![
            ("split-dependency-copy".into(), 4.into(), 748_823),
            ("cleanup-in-same-layer".into(), 5.into(), 524_288),
            ("use-cache-mount".into(), 5.into(), 524_288),
            ("run-as-root".into(), Value::Null, 0),
            ("unpinned-base-image".into(), 1.into(), 0),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap(),
        "FROM localhost/busybox-base\n\
         WORKDIR /usr/src/app\n\
         # BAD: any source edit invalidates the dependency install below\n\
         # Dependency manifests first: the install below stays cached until they change.\n\
         COPY package.json ./\n\
         COPY tools/fake-npm-install.sh ./tools/\n\
         RUN sh tools/fake-npm-install.sh\n\
         COPY . .\n\
         EXPOSE 3000\n\
         CMD [\"node\", \"index.js\"]\n"
    );
}

#[test]
fn recommend_cache_layout_copy_link_and_build_tools() {
    let d = real("cache-layout");
    let v = json(&[
        os("recommend"),
        d.join("image.docker.tar").as_os_str(),
        os("-f"),
        d.join("Dockerfile").as_os_str(),
        os("--context"),
        d.join("context").as_os_str(),
        os("--format"),
        os("json"),
    ]);
    // use-copy-link on line 6 (COPY assets/), mean over the 3 files the build copies:
    //   before: src/app.sh, src/lib.sh -> 32 + 30,000 + 18 = 30,050 each;
    //           assets/logo.bin -> 30,000 + 18 = 30,018;  (2 x 30,050 + 30,018) / 3 = 30,039
    //   after (--link keeps the assets layer when only src/ changed): 32 + 18 = 50 each,
    //           logo.bin 30,018;                         (2 x 50 + 30,018) / 3 = 10,039
    //   saving 30,039 - 10,039 = 20,000.
    // build-tools-in-final-image: usr/include/x.h, 12 bytes.
    assert_eq!(
        findings(&v),
        vec![
            ("use-copy-link".into(), 6.into(), 20_000),
            ("build-tools-in-final-image".into(), Value::Null, 12),
            ("run-as-root".into(), Value::Null, 0),
            ("unpinned-base-image".into(), 1.into(), 0),
        ]
    );
    let link = &v["recommendations"][0];
    assert_eq!(link["before_bytes_per_change"], 30_039);
    assert_eq!(link["after_bytes_per_change"], 10_039);
    let tools = &v["recommendations"][1];
    assert_eq!(tools["evidence"], serde_json::json!(["usr/include/x.h"]));
}

#[test]
fn recommend_with_git_history_reorders_for_cache() {
    if !support::tiers::git("recommend_with_git_history_reorders_for_cache") {
        return;
    }
    let d = real("cache-layout");
    let tmp = tempfile::tempdir().unwrap();
    let ctx = tmp.path().join("ctx");
    copy_dir(&d.join("context"), &ctx);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&ctx)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // 4 commits: the first adds every file; then src/app.sh, src/lib.sh, src/app.sh.
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "c0"]);
    for (i, f) in ["src/app.sh", "src/lib.sh", "src/app.sh"]
        .iter()
        .enumerate()
    {
        let p = ctx.join(f);
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str(&format!("# edit {i}\n"));
        std::fs::write(&p, text).unwrap();
        git(&["commit", "-qam", &format!("c{}", i + 1)]);
    }
    let v = json(&[
        os("recommend"),
        d.join("image.docker.tar").as_os_str(),
        os("-f"),
        d.join("Dockerfile").as_os_str(),
        os("--context"),
        ctx.as_os_str(),
        os("--git-history"),
        os("10"),
        os("--format"),
        os("json"),
    ]);
    // Per commit (costs from the image's layers, see the table at the top):
    //   before: every commit touches src/ -> 32 + 30,000 + 18 = 30,050; mean 30,050.
    //   assets/ moved above src/ (reorder-for-cache), or COPY --link assets/ (use-copy-link):
    //     c0 (all files) 30,050; c1..c3 (src only) 32 + 18 = 50 each;
    //     mean (30,050 + 3 x 50) / 4 = 7,550.
    //   saving 30,050 - 7,550 = 22,500 for each.
    assert_eq!(
        findings(&v),
        vec![
            ("reorder-for-cache".into(), 6.into(), 22_500),
            ("use-copy-link".into(), 6.into(), 22_500),
            ("build-tools-in-final-image".into(), Value::Null, 12),
            ("run-as-root".into(), Value::Null, 0),
            ("unpinned-base-image".into(), 1.into(), 0),
        ]
    );
    for f in &v["recommendations"].as_array().unwrap()[..2] {
        assert_eq!(f["before_bytes_per_change"], 30_050, "{f}");
        assert_eq!(f["after_bytes_per_change"], 7_550, "{f}");
        assert_eq!(f["per"], "per commit over the last 4 commits", "{f}");
    }
    assert_eq!(v["recommendations"][0]["needs_review"], false);
}
