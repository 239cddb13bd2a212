//! `--zstd-window-log-max` end to end, on the layer `zstd --long=31` wrote
//! (tests/fixtures/zstd-long at the workspace root; tests/zstd_long.rs checks the library).

use assert_cmd::Command;
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/zstd-long/image.oci-layout")
}

fn layerscope() -> Command {
    Command::cargo_bin("layerscope").unwrap()
}

#[test]
fn long_window_layer_is_read_by_default() {
    let out = layerscope()
        .args(["analyze", "--format", "json"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["totals"]["size_bytes"], 300_005);
    assert_eq!(report["layers"][0]["compression"], "zstd");
}

#[test]
fn a_lower_limit_fails_with_exit_2_naming_the_option() {
    let out = layerscope()
        .args(["analyze", "--zstd-window-log-max", "27"])
        .arg(fixture())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("layerscope: error: "), "{err}");
    assert!(err.contains("layer 0"), "{err}");
    // The core carries the window and the limit; the CLI names its flag.
    assert!(
        err.ends_with(
            "): the zstd frame's window of 2147483648 bytes is above the limit of 2^27 bytes; \
             raise it with --zstd-window-log-max (up to 31, what `zstd --long=31` writes)\n"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn out_of_range_values_are_refused_before_reading() {
    for bad in ["9", "32", "x"] {
        let out = layerscope()
            .args(["analyze", "--zstd-window-log-max", bad])
            .arg(fixture())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--zstd-window-log-max"), "{bad}: {err}");
    }
}
