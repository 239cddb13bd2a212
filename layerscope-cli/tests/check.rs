//! `layerscope check` as CI runs it: every rule passing and failing through the binary, the
//! exit-code contract (0 pass, 1 a rule failed, 2 could not run), a baseline regression,
//! dive's `.dive-ci`, schema-valid SARIF, JUnit, and snapshots of the Markdown comment.
//!
//! Figures used below (README, "What the numbers mean"; `analyze --format json`):
//! - demo (examples/demo/image.tar): size 4,603,842, compressed 4,778,496, 7 layers, largest
//!   layer 1,982,365, wasted 1,572,871 (overwritten 3, metadata-copy-up 1,048,576, deleted
//!   524,288, hidden-by-opaque 4), efficiency 0.6584, user waste ratio 0.59999.
//! - node-good: size 2,508,453, compressed 2,683,392, 5 layers, 729 bytes of metadata-copy-up
//!   waste (package.json and tools/fake-npm-install.sh copied again by `COPY . .`).
//! - node-bad: size 3,032,013 (+523,560, +20.87 % on node-good), compressed 3,201,024
//!   (+517,632, +19.29 %), 3 layers, no waste; its npm cache root/.npm/... stays in layer 2
//!   (`RUN sh tools/fake-npm-install.sh`, Dockerfile line 5).

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn demo() -> PathBuf {
    root().join("examples/demo/image.tar")
}

fn real(name: &str) -> PathBuf {
    root().join("tests/fixtures/real").join(name)
}

fn image(name: &str) -> PathBuf {
    real(name).join("image.docker.tar")
}

/// The binary, run in `dir` so that config discovery sees only what a test puts there.
fn layerscope(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("layerscope").unwrap();
    c.env("NO_COLOR", "1").current_dir(dir);
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = layerscope(dir).args(args).output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Check `image` with `config` (a .layerscope.toml body) and extra args; the parsed JSON.
fn check_json(image: &Path, config: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".layerscope.toml"), config).unwrap();
    let mut args = vec!["check", s(image), "--format", "json"];
    args.extend_from_slice(extra);
    let r = run(dir.path(), &args);
    assert!(r.code == 0 || r.code == 1, "exit {}: {}", r.code, r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    (r.code, v)
}

fn status_of(v: &serde_json::Value, id: &str) -> String {
    v["gate"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no rule {id}: {v}"))["status"]
        .as_str()
        .unwrap()
        .to_string()
}

/// (rule key, value that passes, value that fails) for the demo image.
const DEMO_RULES: &[(&str, &str, &str)] = &[
    ("lowest-efficiency", "0.6", "0.7"),
    ("highest-wasted-bytes", "\"1.6MB\"", "\"1.5MB\""),
    ("highest-user-wasted-percent", "0.6", "0.59"),
    ("max-size", "\"4.7MB\"", "\"4.6MB\""),
    ("max-compressed-size", "\"4.8MB\"", "\"4.7MB\""),
    ("max-layers", "7", "6"),
    ("max-layer-size", "\"2MB\"", "\"1.9MB\""),
    (
        "deny-paths",
        "[\"**/*.pem\", \"**/.git/**\"]",
        "[\"data/blob.bin\"]",
    ),
];

#[test]
fn every_image_rule_passes_and_fails() {
    for (key, pass, fail) in DEMO_RULES {
        let (code, v) = check_json(&demo(), &format!("[rules]\n{key} = {pass}\n"), &[]);
        assert_eq!(
            (code, status_of(&v, key).as_str()),
            (0, "pass"),
            "{key} = {pass}"
        );
        let (code, v) = check_json(&demo(), &format!("[rules]\n{key} = {fail}\n"), &[]);
        assert_eq!(
            (code, status_of(&v, key).as_str()),
            (1, "fail"),
            "{key} = {fail}"
        );
    }
    for (kind, pass, fail) in [
        ("overwritten", "3", "2"),
        ("metadata-copy-up", "\"1MiB\"", "\"1MB\""),
        ("deleted", "\"512KiB\"", "\"500kB\""),
        ("hidden-by-opaque", "4", "3"),
    ] {
        let id = format!("max-waste.{kind}");
        let (code, v) = check_json(
            &demo(),
            &format!("[rules.max-waste]\n{kind} = {pass}\n"),
            &[],
        );
        assert_eq!((code, status_of(&v, &id).as_str()), (0, "pass"), "{id}");
        let (code, v) = check_json(
            &demo(),
            &format!("[rules.max-waste]\n{kind} = {fail}\n"),
            &[],
        );
        assert_eq!((code, status_of(&v, &id).as_str()), (1, "fail"), "{id}");
    }
}

#[test]
fn floor_and_ignored_paths() {
    // 1.57 MB wasted: under a 2 MB floor the 90 % efficiency rule cannot fail.
    let (code, v) = check_json(
        &demo(),
        "[rules]\nlowest-efficiency = 0.9\npercent-floor = \"2MB\"\n",
        &[],
    );
    assert_eq!(
        (code, status_of(&v, "lowest-efficiency").as_str()),
        (0, "pass")
    );
    let (code, _) = check_json(
        &demo(),
        "[rules]\nlowest-efficiency = 0.9\npercent-floor = \"1MB\"\n",
        &[],
    );
    assert_eq!(code, 1);
    let (code, v) = check_json(
        &demo(),
        "[rules]\nhighest-wasted-bytes = 7\nignore-waste-paths = [\"data/**\"]\n",
        &[],
    );
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["gate"]["figures"]["ignored_waste_bytes"], 1_572_864);
}

/// Baseline rules: node-good is the main-branch baseline, node-bad the pull request (and
/// the other way round for the new-waste rules).
#[test]
fn every_baseline_rule_passes_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    let bad = dir.path().join("bad.json");
    for (img, out) in [("node-good", &good), ("node-bad", &bad)] {
        let r = run(
            dir.path(),
            &[
                "analyze",
                s(&image(img)),
                "--format",
                "json",
                "--output",
                s(out),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let dockerfile = real("node-bad").join("Dockerfile");
    let pr = [
        ("max-growth-bytes", "\"600kB\"", "\"500kB\""),
        ("max-growth-percent", "21", "20"),
        ("max-compressed-growth-bytes", "\"600kB\"", "\"500kB\""),
        ("max-compressed-growth-percent", "20", "19"),
        ("max-layer-growth-bytes", "\"1.1MB\"", "\"1MB\""),
        ("max-layer-growth-percent", "200000", "100"),
        ("max-instruction-growth-bytes", "\"1.1MB\"", "\"1MB\""),
        ("max-instruction-growth-percent", "1", "0.05"),
    ];
    let extra = ["--baseline", s(&good), "--dockerfile", s(&dockerfile)];
    for (key, pass, fail) in pr {
        let (code, v) = check_json(
            &image("node-bad"),
            &format!("[rules]\n{key} = {pass}\n"),
            &extra,
        );
        assert_eq!(
            (code, status_of(&v, key).as_str()),
            (0, "pass"),
            "{key} = {pass}: {v}"
        );
        let (code, v) = check_json(
            &image("node-bad"),
            &format!("[rules]\n{key} = {fail}\n"),
            &extra,
        );
        assert_eq!(
            (code, status_of(&v, key).as_str()),
            (1, "fail"),
            "{key} = {fail}"
        );
    }
    let extra = ["--baseline", s(&bad)];
    for (key, pass, fail) in [
        ("max-new-waste-items", "2", "1"),
        ("max-new-waste-bytes", "729", "728"),
    ] {
        let (code, v) = check_json(
            &image("node-good"),
            &format!("[rules]\n{key} = {pass}\n"),
            &extra,
        );
        assert_eq!((code, status_of(&v, key).as_str()), (0, "pass"), "{key}");
        let (code, v) = check_json(
            &image("node-good"),
            &format!("[rules]\n{key} = {fail}\n"),
            &extra,
        );
        assert_eq!((code, status_of(&v, key).as_str()), (1, "fail"), "{key}");
    }
    // Without --baseline the growth rules are skipped, and the gate passes.
    let (code, v) = check_json(&image("node-bad"), "[rules]\nmax-growth-bytes = 0\n", &[]);
    assert_eq!(
        (code, status_of(&v, "max-growth-bytes").as_str()),
        (0, "skip")
    );
}

#[test]
fn a_baseline_regression_is_caught_and_check_json_is_the_next_baseline() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".layerscope.toml"),
        "[rules]\nmax-growth-bytes = \"10MB\"\nmax-growth-percent = 5\ndeny-paths = [\"root/.npm/**\"]\n",
    )
    .unwrap();
    // The main branch: passes, and its check JSON is kept as the baseline artifact.
    let r = run(
        dir.path(),
        &[
            "check",
            s(&image("node-good")),
            "--format",
            "json",
            "--output",
            "main.json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("layerscope check: pass"), "{}", r.stderr);
    // The pull request: 20.9 % bigger, and it ships the npm cache.
    let r = run(
        dir.path(),
        &[
            "check",
            s(&image("node-bad")),
            "--baseline",
            "main.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["gate"]["verdict"], "fail");
    assert_eq!(status_of(&v, "max-growth-bytes"), "pass");
    assert_eq!(status_of(&v, "max-growth-percent"), "fail");
    assert_eq!(status_of(&v, "deny-paths"), "fail");
    let cmp = &v["gate"]["comparison"];
    assert_eq!(cmp["size_bytes"]["change"], 523_560);
    assert_eq!(cmp["baseline"], "main.json");
    assert_eq!(cmp["baseline_image"], "localhost/node-good:latest");
    // The embedded report is the analyze report.
    assert_eq!(v["report"]["totals"]["size_bytes"], 3_032_013);
}

#[test]
fn no_config_applies_dive_defaults_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(dir.path(), &["check", s(&demo())]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("dive's default rules apply"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("| ❌ | `lowest-efficiency` |"));
    let r = run(dir.path(), &["check", s(&image("node-good"))]);
    assert_eq!(r.code, 0, "{}", r.stdout);
}

#[test]
fn a_dive_ci_file_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let dive_ci = dir.path().join(".dive-ci");
    // dive's own format: camelCase keys, `disabled`.
    std::fs::write(
        &dive_ci,
        "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: disabled\n",
    )
    .unwrap();
    let r = run(dir.path(), &["check", s(&demo()), "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["gate"]["config"]["format"], "dive-ci");
    assert_eq!(v["gate"]["config"]["source"], ".dive-ci");
    assert_eq!(status_of(&v, "highest-user-wasted-percent"), "skip");
    assert_eq!(status_of(&v, "highest-wasted-bytes"), "skip");
    // kebab-case keys and dive's sizes: 1,572,871 > 20MiB? no; > 1MB? yes.
    std::fs::write(&dive_ci, "rules:\n  highest-wasted-bytes: 1MB\n  lowest-efficiency: off\n  highestUserWastedPercent: off\n").unwrap();
    assert_eq!(run(dir.path(), &["check", s(&demo())]).code, 1);
    std::fs::write(&dive_ci, "rules:\n  highestWastedBytes: 20MiB\n  lowestEfficiency: off\n  highestUserWastedPercent: off\n").unwrap();
    assert_eq!(run(dir.path(), &["check", s(&demo())]).code, 0);
    // .layerscope.toml wins over .dive-ci; --config wins over both.
    std::fs::write(
        dir.path().join(".layerscope.toml"),
        "[rules]\nmax-layers = 1\n",
    )
    .unwrap();
    assert_eq!(run(dir.path(), &["check", s(&demo())]).code, 1);
    assert_eq!(
        run(dir.path(), &["check", s(&demo()), "--config", ".dive-ci"]).code,
        0
    );
    // A typo in .dive-ci is an error naming the file and the key.
    std::fs::write(&dive_ci, "rules:\n  lowestEfficency: 0.5\n").unwrap();
    let r = run(dir.path(), &["check", s(&demo()), "--config", ".dive-ci"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains(".dive-ci") && r.stderr.contains("lowestEfficency"),
        "{}",
        r.stderr
    );
}

#[test]
fn could_not_run_exits_2_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).unwrap();
    write("unknown.toml", "[rules]\nmax-sise = \"1GB\"\n");
    write("badvalue.toml", "[rules]\nlowest-efficiency = 90\n");
    write("nodockerfile.toml", "dockerfile = \"missing/Dockerfile\"\n");
    write("notjson.json", "{ this is not json");
    write("empty.json", "{}");
    let demo = demo();
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--config", "unknown.toml"],
            &["unknown.toml", "unknown field `max-sise`", "line 2"],
        ),
        (
            &["--config", "badvalue.toml"],
            &["badvalue.toml", "90 is not a ratio"],
        ),
        (&["--config", "nope.toml"], &["nope.toml"]),
        (&["--config", "nodockerfile.toml"], &["missing/Dockerfile"]),
        (
            &["--baseline", "missing.json"],
            &["--baseline missing.json"],
        ),
        (
            &["--baseline", "notjson.json"],
            &["notjson.json", "not JSON"],
        ),
        (
            &["--baseline", "empty.json"],
            &["empty.json", "not a layerscope report"],
        ),
        (
            &["--format", "json", "--format", "sarif"],
            &["standard output"],
        ),
        (
            &["--output", "a.md", "--format", "json"],
            &["--output a.md comes before any --format"],
        ),
        (
            &["--format", "json", "--output", "a", "--output", "b"],
            &["two outputs"],
        ),
        (
            &[
                "--format", "json", "--output", "a", "--format", "sarif", "--output", "a",
            ],
            &["given for two formats"],
        ),
        (&["--format", "yaml"], &["yaml"]),
    ];
    for (extra, expect) in cases {
        let mut args = vec!["check", s(&demo)];
        args.extend_from_slice(extra);
        let r = run(d, &args);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        for e in *expect {
            assert!(r.stderr.contains(e), "{extra:?}: {e:?} not in {}", r.stderr);
        }
        assert!(r.stdout.is_empty(), "{extra:?}: nothing rendered");
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    // An unreadable image is exit 2 as well (dive exits 1 for both).
    write("garbage.tar", "not an image");
    let r = run(d, &["check", "garbage.tar"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("layerscope: error: "), "{}", r.stderr);
    assert!(r.stderr.contains("garbage.tar"), "{}", r.stderr);
    // Nothing is written for a run that could not start.
    assert!(!d.join("a").exists() && !d.join("a.md").exists());
}

#[test]
fn formats_go_to_their_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = run(
        d,
        &[
            "check",
            s(&demo()),
            "--format",
            "markdown",
            "--output",
            "pr.md",
            "--format",
            "sarif",
            "-o",
            "gate.sarif",
            "--format",
            "junit",
            "--output",
            "junit.xml",
            "--format",
            "json",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["gate"]["verdict"], "fail");
    let md = std::fs::read_to_string(d.join("pr.md")).unwrap();
    assert!(md.starts_with("<!-- layerscope-check -->\n## ❌"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("gate.sarif")).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        std::fs::read_to_string(d.join("junit.xml"))
            .unwrap()
            .contains("<testsuites")
    );
    // Markdown is the default, on standard output; a lone --output takes it.
    let r = run(d, &["check", s(&demo()), "--output", "only.md"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr
            .contains("layerscope check: FAIL: 2 of 3 rule(s) failed"),
        "{}",
        r.stderr
    );
    assert!(
        std::fs::read_to_string(d.join("only.md"))
            .unwrap()
            .contains("## ❌")
    );
}

fn sarif_validator() -> jsonschema::Validator {
    // The OASIS SARIF 2.1.0 schema as shipped in the serde-sarif crate (tests/data/README.md).
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sarif-schema-2.1.0.json"),
    )
    .unwrap();
    // SARIF 2.1.0 erratum (OASIS sarif-spec issue 488, fixed in 2.1.0 Errata 01): the
    // `language` pattern has a stray `]` that strict regex engines reject when the schema
    // itself is checked. Apply the errata's pattern; layerscope never writes `language`.
    let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    assert!(text.contains(broken), "the vendored schema changed");
    let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_sarif(validator: &jsonschema::Validator, log: &serde_json::Value) {
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema errors: {errors:#?}\n{log:#}"
    );
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema_and_located_on_dockerfile_lines() {
    let validator = sarif_validator();
    // A document the schema must reject, so that the check is known to bite.
    assert!(
        !validator.is_valid(&serde_json::json!({"version": "2.1.0", "runs": [{"results": []}]}))
    );

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(real("node-bad").join("Dockerfile"), d.join("Dockerfile")).unwrap();
    std::fs::write(
        d.join(".layerscope.toml"),
        "dockerfile = \"Dockerfile\"\n[rules]\nmax-size = \"1MB\"\ndeny-paths = [\"root/.npm/**\"]\nlowest-efficiency = 0.9\n",
    )
    .unwrap();
    let r = run(d, &["check", s(&image("node-bad")), "--format", "sarif"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_valid_sarif(&validator, &log);
    let run0 = &log["runs"][0];
    let rules: Vec<&str> = run0["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(rules[..3], ["lowest-efficiency", "max-size", "deny-paths"]);
    // Recommendations come after the rules, each code a SARIF rule of its own.
    assert!(
        rules[3..].contains(&"recommendation/cleanup-in-same-layer"),
        "{rules:?}"
    );
    assert!(
        rules[3..].iter().all(|r| r.starts_with("recommendation")),
        "{rules:?}"
    );
    let located: Vec<(String, String, u64)> = run0["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|res| {
            let loc = &res["locations"][0]["physicalLocation"];
            (
                res["ruleId"].as_str().unwrap().to_string(),
                loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                loc["region"]["startLine"].as_u64().unwrap(),
            )
        })
        .collect();
    let (recommended, located): (Vec<_>, Vec<_>) = located
        .into_iter()
        .partition(|(id, _, _)| id.starts_with("recommendation"));
    // The npm cache left by the RUN on line 5 is located there.
    assert!(
        recommended.contains(&(
            "recommendation/cleanup-in-same-layer".to_string(),
            "Dockerfile".to_string(),
            5
        )),
        "{recommended:?}"
    );
    // max-size points at the layers that weigh most (the RUN on line 5, the COPY on line
    // 4, and the base image on the FROM line); the npm cache at the RUN that wrote it.
    assert_eq!(
        located,
        [
            ("max-size".to_string(), "Dockerfile".to_string(), 1),
            ("max-size".to_string(), "Dockerfile".to_string(), 5),
            ("max-size".to_string(), "Dockerfile".to_string(), 4),
            ("deny-paths".to_string(), "Dockerfile".to_string(), 5),
        ]
    );

    // Without a Dockerfile the results have no location, and the log is still valid; a
    // passing run has no results.
    for (img, results) in [(demo(), 10), (image("node-good"), 0)] {
        let empty = tempfile::tempdir().unwrap();
        let r = run(empty.path(), &["check", s(&img), "--format", "sarif"]);
        let log: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
        assert_valid_sarif(&validator, &log);
        let res = log["runs"][0]["results"].as_array().unwrap();
        // Rule results; recommendations (warnings, not failures here) come on top.
        let rule_results = res
            .iter()
            .filter(|r| !r["ruleId"].as_str().unwrap().starts_with("recommendation"))
            .count();
        assert_eq!(rule_results, results);
        let note = &log["runs"][0]["invocations"][0]["toolConfigurationNotifications"][0];
        assert!(
            note["message"]["text"]
                .as_str()
                .unwrap()
                .contains("dive's default rules")
        );
        assert!(res.iter().all(|r| r.get("locations").is_none()));
    }
}

#[test]
fn junit_has_one_test_case_per_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".layerscope.toml"),
        "[rules]\nlowest-efficiency = 0.9\nmax-size = \"10MB\"\nmax-layers = \"off\"\nmax-growth-bytes = 0\n",
    )
    .unwrap();
    let r = run(dir.path(), &["check", s(&demo()), "--format", "junit"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let doc = roxmltree::Document::parse(&r.stdout).expect("well-formed XML");
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    assert_eq!(suites.attribute("tests"), Some("5"));
    assert_eq!(suites.attribute("failures"), Some("1"));
    assert_eq!(suites.attribute("skipped"), Some("2"));
    let cases: Vec<(String, &str)> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            let outcome = n
                .children()
                .find(|c| c.is_element())
                .map_or("none", |c| c.tag_name().name());
            (n.attribute("name").unwrap().to_string(), outcome)
        })
        .collect();
    assert_eq!(
        cases,
        [
            ("lowest-efficiency".to_string(), "failure"),
            ("max-size".to_string(), "system-out"),
            ("max-layers".to_string(), "skipped"),
            ("max-growth-bytes".to_string(), "skipped"),
            // The image's recommendations: warnings unless the config denies their code.
            ("recommendations".to_string(), "system-out"),
        ]
    );
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert!(failure.text().unwrap().contains("data/big.bin"));
}

/// The Markdown comment, snapshotted. Run from a temporary directory holding the config,
/// baseline and Dockerfile under relative names, so that no machine path is in the text.
#[test]
fn markdown_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let r = run(d, &["check", s(&demo())]);
    assert_eq!(r.code, 1);
    insta::assert_snapshot!("markdown_dive_defaults", r.stdout);

    let r = run(
        d,
        &[
            "analyze",
            s(&image("node-good")),
            "--format",
            "json",
            "-o",
            "main.json",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::fs::copy(real("node-bad").join("Dockerfile"), d.join("Dockerfile")).unwrap();
    std::fs::write(
        d.join(".layerscope.toml"),
        "dockerfile = \"Dockerfile\"\n\n[rules]\nlowest-efficiency = 0.9\nhighest-wasted-bytes = \"20MB\"\n\
         max-size = \"500MB\"\nmax-growth-bytes = \"10MB\"\nmax-growth-percent = 5\n\
         max-instruction-growth-bytes = \"1MB\"\ndeny-paths = [\"**/*.pem\", \"**/.git/**\", \"root/.npm/**\"]\n",
    )
    .unwrap();
    let r = run(
        d,
        &["check", s(&image("node-bad")), "--baseline", "main.json"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    insta::assert_snapshot!("markdown_baseline_regression", r.stdout);

    // The pull request reverted: passes against the same baseline.
    std::fs::copy(real("node-good").join("Dockerfile"), d.join("Dockerfile")).unwrap();
    let r = run(
        d,
        &["check", s(&image("node-good")), "--baseline", "main.json"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    insta::assert_snapshot!("markdown_pass", r.stdout);
}

#[test]
fn the_ci_examples_are_valid_yaml_and_keep_a_baseline() {
    for file in ["github-actions.yml", "gitlab-ci.yml"] {
        let path = root().join("examples/ci").join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let _: yaml_serde::Value =
            yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        for needed in [
            "layerscope check",
            "--baseline",
            "--format markdown",
            "--format json",
        ] {
            assert!(text.contains(needed), "{file} lacks {needed:?}");
        }
    }
    // The sample config is a valid config: the run gets to a verdict (not exit 2).
    let dir = tempfile::tempdir().unwrap();
    let sample = root().join("examples/ci/layerscope.toml");
    let r = run(dir.path(), &["check", s(&demo()), "--config", s(&sample)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let r = run(
        dir.path(),
        &["check", s(&image("node-good")), "--config", s(&sample)],
    );
    assert_eq!(r.code, 0, "{}", r.stdout);
}
