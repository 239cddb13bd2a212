//! Every exit-2 path starts with the one `layerscope: error: ...` line (README, "Exit
//! codes"), argument errors included, and an OS error is said once.

use assert_cmd::Command;
use std::path::PathBuf;

fn demo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/image.tar")
}

/// Run with `args`; the exit code and standard error.
fn run(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut c = Command::cargo_bin("layerscope").unwrap();
    c.args(args).env("NO_COLOR", "1");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn argument_errors_start_with_the_error_line() {
    let demo = demo();
    let demo = demo.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["analyze", demo, "--top", "-1"],
            "unexpected argument '-1'",
        ),
        (
            &["analyze", demo, "--min-size", "NaN"],
            "invalid value 'NaN' for '--min-size",
        ),
        (
            &["simulate", "-f", "Dockerfile", "--build-arg", "X"],
            "\"X\" is not NAME=VALUE",
        ),
        (
            &["analyze", demo, "--platform", "a", "--platform", "b"],
            "'--platform <OS/ARCH[/VARIANT]>' cannot be used multiple times",
        ),
    ];
    for (args, what) in cases {
        let (code, err) = run(args, &[]);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        let first = err.lines().next().unwrap_or("");
        assert!(
            first.starts_with("layerscope: error: ") && first.contains(what),
            "{args:?}: first line {first:?}"
        );
        assert_eq!(err.matches("error:").count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn help_and_version_still_exit_0() {
    for args in [&["--help"][..], &["--version"], &["analyze", "--help"]] {
        let out = Command::cargo_bin("layerscope")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn an_os_error_is_said_once() {
    // Named as a file, the OS error is the cause, said once.
    let (code, err) = run(&["analyze", "docker-archive:/nonexistent"], &[]);
    assert_eq!(code, Some(2));
    assert_eq!(
        err,
        "layerscope: error: /nonexistent: No such file or directory (os error 2)\n"
    );
    // A bare argument that is neither an existing path nor an image name says so, once.
    let (code, err) = run(&["analyze", "/nonexistent"], &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(
            "layerscope: error: /nonexistent: no such file or directory, and not an image name"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("os error").count(), 0, "{err}");
    // Standard input is spooled to a temporary file: a TMPDIR that does not exist is named,
    // with its cause, once.
    let demo = std::fs::read(demo()).unwrap();
    let out = Command::cargo_bin("layerscope")
        .unwrap()
        .args(["analyze", "-"])
        .env("TMPDIR", "/nonexistent-tmpdir")
        .write_stdin(demo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("layerscope: error: /nonexistent-tmpdir"),
        "{err}"
    );
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn an_unknown_recommendation_code_in_the_gate_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gate.toml");
    std::fs::write(
        &config,
        "[recommendations]\ncleanup-in-same-layer = \"deny\"\ndelete-in-same-layer = \"deny\"\n",
    )
    .unwrap();
    let demo = demo();
    let (code, err) = run(
        &[
            "check",
            demo.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("layerscope: error: "), "{err}");
    assert!(err.contains("gate.toml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    // The core says the code is unknown; the CLI names the command that lists them.
    assert!(
        err.ends_with(
            "\"delete-in-same-layer\" is not a recommendation code \
             (`layerscope recommend --list-codes` lists them)\n"
        ),
        "{err}"
    );
}

#[test]
fn a_baseline_that_is_not_a_report_names_the_commands_that_write_one() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = dir.path().join("prev.json");
    std::fs::write(&baseline, "{}").unwrap();
    let demo = demo();
    let (code, err) = run(
        &[
            "check",
            demo.to_str().unwrap(),
            "--baseline",
            baseline.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(2), "{err}");
    let b = baseline.display();
    assert_eq!(
        err,
        format!(
            "layerscope: error: --baseline {b}: {b}: not a layerscope report (from \
             `analyze --format json` or `check --format json`): no schema_version\n"
        )
    );
}

/// A registry reached over HTTPS that answers in plain HTTP: the error suggests --insecure.
#[test]
fn a_plain_http_registry_suggests_insecure() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    });
    let image = format!("docker://127.0.0.1:{port}/app");
    let (code, err) = run(&["analyze", &image], &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.starts_with("layerscope: error: "), "{err}");
    assert!(
        err.ends_with(" (a plain-HTTP registry? use --insecure)\n"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
