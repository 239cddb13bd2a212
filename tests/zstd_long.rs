//! A layer written by `zstd --long=31` (tests/fixtures/zstd-long, rebuilt by its
//! rebuild.sh): its frame asks for a 2^31-byte window, which zstd's default decoder limit
//! (2^27, `ZSTD_WINDOWLOG_LIMIT_DEFAULT` in zstd's lib/zstd.h) refuses with "Frame requires
//! too much memory for decoding". layerscope accepts windows up to 2^31 unless
//! `zstd_window_log_max` (CLI `--zstd-window-log-max`) is lower, and then names that option
//! (the CLI names its flag: layerscope-cli/tests/zstd_window.rs).

use layerscope_core::{Analysis, AnalysisOptions, Image};
use std::path::PathBuf;

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zstd-long/image.oci-layout")
}

/// The layer blob is the one blob that starts with the zstd magic.
fn layer_blob() -> Vec<u8> {
    let dir = fixture().join("blobs/sha256");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if bytes.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            found.push(bytes);
        }
    }
    assert_eq!(found.len(), 1, "one zstd blob in {}", dir.display());
    found.remove(0)
}

#[test]
fn the_fixture_really_asks_for_a_two_gib_window() {
    // Frame_Header_Descriptor 0x04 (checksum, no single segment), Window_Descriptor 0xA8:
    // exponent 21, mantissa 0 -> 2^(10+21) bytes (RFC 8878 section 3.1.1.1.2).
    let blob = layer_blob();
    assert_eq!(blob.get(4..6), Some(&[0x04, 0xa8][..]));
    // And zstd's own default limit refuses it: the failure this option exists for.
    let err = zstd::stream::decode_all(&blob[..]).unwrap_err();
    assert!(err.to_string().contains("memory"), "{err}");
}

#[test]
fn long_window_layer_is_read_by_default_with_its_diff_id_verified() {
    let image = Image::open(fixture()).unwrap();
    let analysis = Analysis::run(&image, &AnalysisOptions::default()).unwrap();
    let report = analysis.report();
    // rebuild.sh writes etc/motd ("hello", 5 bytes) and opt/data.bin (300,000 bytes).
    assert_eq!(report.totals.size_bytes, 300_005);
    assert_eq!(report.totals.final_files, 2);
    let layer = &report.layers[0];
    assert_eq!(
        serde_json::to_value(layer.compression).unwrap(),
        serde_json::json!("zstd")
    );
    // Run verifies the config's diff_id (sha256 of the tar Python wrote) and the manifest's
    // blob digest: equal here means both were checked and matched.
    assert_eq!(
        layer.diff_id,
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(config_path()).unwrap())
            .unwrap()["rootfs"]["diff_ids"][0]
    );
}

fn config_path() -> PathBuf {
    let dir = fixture().join("blobs/sha256");
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::read(p).unwrap().starts_with(b"{\"architecture\""))
        .expect("config blob")
}

#[test]
fn a_lower_limit_refuses_the_frame_and_names_the_option() {
    let image = Image::open(fixture()).unwrap();
    let err = Analysis::run(&image, &AnalysisOptions::default().zstd_window_log_max(27))
        .unwrap_err()
        .chain_text();
    assert!(err.contains("layer 0"), "{err}");
    assert!(err.contains("2147483648 bytes"), "{err}");
    assert!(err.contains("2^27"), "{err}");
    assert!(err.contains("the zstd_window_log_max option"), "{err}");
    // 31 is enough; 32 does not exist in any zstd decoder and is refused before reading.
    assert!(Analysis::run(&image, &AnalysisOptions::default().zstd_window_log_max(31)).is_ok());
    let err = Analysis::run(&image, &AnalysisOptions::default().zstd_window_log_max(32))
        .unwrap_err()
        .to_string();
    assert!(err.contains("from 10 to 31"), "{err}");
}
