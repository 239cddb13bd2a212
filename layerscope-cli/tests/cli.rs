//! The binary as users run it: exit codes (0 ok, 1 gate failed, 2 could not run), formats,
//! standard input, errors printed once.

mod support {
    pub mod tiers;
}

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
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

#[test]
fn analyze_table_on_the_demo_image() {
    layerscope()
        .args(["analyze"])
        .arg(demo())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "localhost/overwrite-opaque:latest",
        ))
        .stdout(predicate::str::contains("4,603,842 bytes"))
        .stdout(predicate::str::contains("efficiency 65.8%"))
        .stdout(predicate::str::contains("metadata-copy-up"))
        .stdout(predicate::str::contains("\u{1b}[").not());
}

/// The JSON report's contract: field names, types and values for the demo image
/// (overwrite-opaque built by buildah; figures from `tar tvf` and `ls -l` of its layers, see
/// tests/real_images.rs).
#[test]
fn analyze_json_contract() {
    let out = layerscope()
        .args(["analyze", "--format", "json"])
        .arg(demo())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["tool"]["name"], "layerscope");
    assert!(v["tool"]["version"].is_string());
    let image = &v["image"];
    assert_eq!(image["format"], "docker-archive");
    assert_eq!(image["reference"], "localhost/overwrite-opaque:latest");
    assert_eq!(image["platform"], "linux/amd64");
    let config = image["config_digest"]
        .as_str()
        .expect("config_digest is a string");
    assert!(
        config.len() == 71 && config.starts_with("sha256:"),
        "{config}"
    );
    assert!(
        image["manifest_digest"].is_null(),
        "docker-archive has no manifest digest"
    );
    assert_eq!(image["user"], "");
    assert_eq!(image["exposed_ports"], serde_json::json!([]));

    assert_eq!(v["layers"].as_array().map(Vec::len), Some(7));
    let l = &v["layers"][1];
    // Layer 1 (the five-line RUN): a docker-archive stores layers as plain tars, so the
    // blob digest is the DiffID and the blob size the tar's (1,583,616 bytes, `ls -l`);
    // `tar tvf` lists 16 entries, 8 of them new non-directories, 1,572,871 content bytes.
    let id = "sha256:d70141931858d4a5fc89523f3d8affb2bbb46213b5e0c9840fce4500bf5eb796";
    for (k, want) in [
        ("index", serde_json::json!(1)),
        ("digest", id.into()),
        ("diff_id", id.into()),
        (
            "media_type",
            "application/vnd.docker.image.rootfs.diff.tar".into(),
        ),
        ("compression", "none".into()),
        ("available", true.into()),
        ("compressed_size_bytes", 1_583_616.into()),
        ("size_bytes", 1_572_871.into()),
        ("tar_size_bytes", 1_583_616.into()),
        ("entries", 16.into()),
        ("history_index", 2.into()),
        ("files_added", 8.into()),
        ("files_modified", 0.into()),
        ("files_metadata_only", 0.into()),
        ("files_deleted", 0.into()),
        ("wasted_bytes_introduced", 1_572_871.into()),
        ("hides_bytes", 0.into()),
        ("base", false.into()),
    ] {
        assert_eq!(l[k], want, "layers[1].{k}");
    }
    assert!(
        l["created_by"]
            .as_str()
            .is_some_and(|c| c.starts_with("/bin/sh -c mkdir -p /etc/app/conf.d /data")),
        "{}",
        l["created_by"]
    );
    let t = &v["totals"];
    // Blobs: 2,128,384 + 1,583,616 + 3,584 + 4,608 + 2,560 + 1,051,136 + 4,608.
    for (k, want) in [
        ("layers", 7u64),
        ("size_bytes", 4_603_842),
        ("compressed_size_bytes", 4_778_496),
        ("final_size_bytes", 3_030_971),
        ("final_files", 279),
        ("wasted_bytes", 1_572_871),
        ("duplicate_bytes", 0),
    ] {
        assert_eq!(
            t[k].as_u64(),
            Some(want),
            "totals.{k} is the integer {want}"
        );
    }
    assert_eq!(t["efficiency"].as_f64(), Some(3_030_971.0 / 4_603_842.0));
    assert_eq!(
        t["waste_by_kind"],
        serde_json::json!({"overwritten": 3, "metadata-copy-up": 1_048_576,
                           "deleted": 524_288, "hidden-by-opaque": 4})
    );
    assert_eq!(
        v["base"],
        serde_json::json!({"base_layers": 1, "source": "history",
                           "user_size_bytes": 4_603_842u64 - 1_982_365,
                           "user_wasted_bytes": 1_572_871,
                           "user_wasted_ratio": 1_572_871.0 / 2_621_477.0})
    );
    // Dockerfile: ADD, CMD (base), 5 RUN, COPY, CMD: 9 entries, the 2 CMDs empty.
    assert_eq!(
        v["history"],
        serde_json::json!({"entries": 9, "empty_layer_entries": 2, "regular": true, "note": null})
    );
    let w = &v["waste"][0];
    assert_eq!(w["path"], "data/big.bin");
    assert_eq!(w["bytes"], 1_048_576);
    assert_eq!(w["kind"], "metadata-copy-up");
    assert_eq!(
        (w["added_by_layer"].as_u64(), w["hidden_by_layer"].as_u64()),
        (Some(1), Some(5))
    );
    // 1 MiB of zeros: sha256 of `dd if=/dev/zero bs=1k count=1024`.
    assert_eq!(
        w["sha256"],
        "sha256:30e14955ebf1352266dc2ff8067e68104607e750abb9d3b36582b8af909fcb58"
    );
    assert_eq!(v["waste"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["duplicates"], serde_json::json!([]));
    assert_eq!(v["warnings"], serde_json::json!([]));
    assert!(v["filter"].is_null());
    assert!(v["compat_dive"].is_null());
    let largest = &v["largest_files"][0];
    assert_eq!(largest["path"], "bin/busybox");
    assert_eq!(largest["size_bytes"], 1_982_256);
}

#[test]
fn output_is_deterministic() {
    let a = layerscope()
        .args(["analyze", "--format", "json"])
        .arg(fixture("real/overwrite-opaque/image.oci-gzip.tar"))
        .output()
        .unwrap();
    let b = layerscope()
        .args(["analyze", "--format", "json"])
        .arg(fixture("real/overwrite-opaque/image.oci-gzip.tar"))
        .output()
        .unwrap();
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn standard_input() {
    let bytes = std::fs::read(demo()).unwrap();
    layerscope()
        .args(["analyze", "-", "--format", "json"])
        .write_stdin(bytes)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"final_files\": 279"));
}

#[test]
fn output_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    layerscope()
        .args(["analyze", "--format", "json", "--output"])
        .arg(&out)
        .arg(demo())
        .assert()
        .success()
        .stdout("");
    assert!(
        std::fs::read_to_string(out)
            .unwrap()
            .contains("schema_version")
    );
}

#[test]
fn bad_input_exits_2_with_one_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.tar");
    std::fs::write(&empty, b"").unwrap();
    layerscope()
        .arg("analyze")
        .arg(&empty)
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::starts_with("layerscope: error: ")
                .and(predicate::str::contains("empty.tar")),
        );
    layerscope()
        .args(["analyze", "/no/such/image.tar"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/image.tar"));
}

#[test]
fn bad_flags_exit_2() {
    layerscope()
        .args(["analyze", "--format", "yaml", "x.tar"])
        .assert()
        .code(2);
    layerscope()
        .args(["analyze", "--platform", "linux"])
        .arg(demo())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--platform"));
    layerscope().args(["frobnicate"]).assert().code(2);
}

#[test]
fn analyze_compat_dive() {
    let image = fixture("real/overwrite-opaque/image.docker.tar");
    layerscope()
        .args(["analyze", "--compat", "dive"])
        .arg(&image)
        .assert()
        .success()
        .stdout(predicate::str::contains("efficiency 65.8%"))
        .stdout(predicate::str::contains(
            "dive 0.13.1 efficiency 65.8354 %, wastedBytes 2.6 MB (2,621,465 bytes), userWastedPercent 99.9995 %",
        ));
    let out = layerscope()
        .args(["analyze", "--compat", "dive", "--format", "json"])
        .arg(&image)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["compat_dive"]["wasted_bytes"], 2_621_465);
    assert_eq!(v["totals"]["wasted_bytes"], 1_572_871);
    let out = layerscope()
        .args(["analyze", "--format", "json"])
        .arg(&image)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(v["compat_dive"].is_null());
    // One layer: dive prints NaN.
    layerscope()
        .args(["analyze", "--compat", "dive"])
        .arg(fixture("real/busybox-base/image.docker.tar"))
        .assert()
        .success()
        .stdout(predicate::str::contains("userWastedPercent NaN %"));
    layerscope()
        .args(["analyze", "--compat", "podman"])
        .arg(&image)
        .assert()
        .code(2);
}

/// Off a terminal there are no escape codes even without `NO_COLOR`, and tables are 120
/// columns wide whatever the terminal.
#[test]
fn plain_text_off_a_terminal() {
    for args in [
        vec!["analyze"],
        vec!["tree", "--layer", "3"],
        vec!["diff", "--top", "5"],
    ] {
        let mut cmd = Command::cargo_bin("layerscope").unwrap();
        cmd.env_remove("NO_COLOR")
            .env("COLUMNS", "60")
            .args(&args)
            .arg(demo());
        if args[0] == "diff" {
            cmd.arg(fixture("real/busybox-base/image.docker.tar"));
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\u{1b}'), "{args:?} printed escape codes");
        assert!(
            text.lines().all(|l| l.chars().count() <= 120),
            "{args:?}: a line is wider than 120 columns"
        );
        if args[0] == "analyze" {
            assert!(
                text.lines().any(|l| l.chars().count() == 120),
                "tables use 120 columns"
            );
        }
    }
}

/// On a terminal (a pseudo-terminal from util-linux `script`): colours, unless `NO_COLOR`
/// is set, and tables that fit its width either way.
#[test]
fn colour_and_width_on_a_terminal() {
    if !support::tiers::script("colour_and_width_on_a_terminal") {
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("layerscope");
    for (no_color, width) in [(None, 90), (Some("1"), 90), (None, 200)] {
        let shell = format!(
            "stty cols {width} rows 50; exec '{}' analyze --no-progress '{}'",
            bin.display(),
            demo().display()
        );
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &shell, "/dev/null"]);
        match no_color {
            Some(v) => cmd.env("NO_COLOR", v),
            None => cmd.env_remove("NO_COLOR"),
        };
        let out = cmd.output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        let coloured = text.contains("\u{1b}[");
        assert_eq!(coloured, no_color.is_none(), "NO_COLOR={no_color:?}");
        let plain = strip_ansi(&text);
        assert!(plain.contains("Largest waste"));
        let widest = plain.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        assert!(
            widest <= width,
            "{widest} columns on a {width}-column terminal"
        );
        if width == 200 {
            assert!(widest > 120, "tables use a wide terminal ({widest})");
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte
            if chars.next() == Some('[') {
                for d in chars.by_ref() {
                    if ('@'..='~').contains(&d) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn html_needs_a_destination_on_a_terminal_only() {
    // Piped standard output is fine: the page is written to it.
    let out = layerscope()
        .args(["analyze", "--format", "html"])
        .arg(demo())
        .output()
        .unwrap();
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.trim_end().ends_with("</html>"));
}

/// `simulate`, `diff` and `check` write the same self-contained page as `analyze`, with
/// their own sections (the Dockerfile with rebuilt steps, the tables, the gate verdict).
#[test]
fn html_from_simulate_diff_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let bad = fixture("real/node-bad");
    let good = fixture("real/node-good");
    let page = |args: &[&std::ffi::OsStr], name: &str| {
        let out = dir.path().join(name);
        layerscope()
            .args(args)
            .arg("--format")
            .arg("html")
            .arg("--output")
            .arg(&out)
            .assert()
            .success();
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.starts_with("<!DOCTYPE html>"), "{name}");
        for fetch in [
            "src=\"http",
            "href=\"http",
            "url(http",
            "fetch(",
            "XMLHttpRequest",
        ] {
            assert!(
                !text.contains(fetch),
                "{name}: no network references ({fetch})"
            );
        }
        text
    };
    let os = |s: &str| std::ffi::OsString::from(s);
    let sim = page(
        &[
            &os("simulate"),
            bad.join("image.docker.tar").as_os_str(),
            &os("-f"),
            bad.join("Dockerfile").as_os_str(),
            &os("--context"),
            bad.join("context").as_os_str(),
            &os("--changed"),
            &os("src/mod1.js"),
        ],
        "sim.html",
    );
    assert!(sim.contains("\"rebuilds\":true") && sim.contains("src/mod1.js"));
    let diff = page(
        &[
            &os("diff"),
            bad.join("image.docker.tar").as_os_str(),
            good.join("image.docker.tar").as_os_str(),
        ],
        "diff.html",
    );
    assert!(diff.contains("root/.npm/_cacache/left-pad-1.3.0.tgz"));
    let check = page(
        &[&os("check"), bad.join("image.docker.tar").as_os_str()],
        "check.html",
    );
    assert!(check.contains("\"gate\":{\"passed\""));
}

/// `churn` replays the commits of the context's git history: an instruction that rebuilds
/// after every commit touching src/ ranks first.
#[test]
fn churn_over_git_history() {
    if !support::tiers::git("churn_over_git_history") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(d)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.invalid"])
            .args(args)
            .output()
            .unwrap()
            .status
            .success();
        assert!(ok, "git {args:?}");
    };
    std::fs::write(
        d.join("Dockerfile"),
        "FROM scratch\nCOPY package.json /app/\nRUN install\nCOPY src/ /app/src/\n",
    )
    .unwrap();
    std::fs::create_dir_all(d.join("src")).unwrap();
    git(&["init", "-q"]);
    for (i, file) in ["src/a.js", "src/a.js", "package.json", "src/b.js"]
        .iter()
        .enumerate()
    {
        std::fs::write(d.join(file), format!("{i}")).unwrap();
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", &format!("c{i}")]);
    }
    let out = layerscope()
        .args(["churn", "-f"])
        .arg(d.join("Dockerfile"))
        .args(["--git-history", "10", "--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["commits"], 4);
    let by_line: std::collections::BTreeMap<u64, u64> = v["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["line"].as_u64().unwrap(),
                i["rebuild_commits"].as_u64().unwrap(),
            )
        })
        .collect();
    // The first commit adds the Dockerfile and src/a.js; package.json changes once (line 2
    // and everything after it rebuild); src/ changes in three commits (line 4).
    assert_eq!(by_line.get(&4), Some(&4));
    assert_eq!(by_line.get(&2), Some(&1));
    assert_eq!(by_line.get(&3), Some(&1));
}
