//! `containers-storage:` images from a real buildah store (a private `--root`/`--runroot`
//! with the vfs driver, named in the image name as `[vfs@ROOT+RUNROOT]`), streamed through
//! skopeo: the report must equal the report of the docker-archive the image was pulled from.
//! Part of the buildah tier: skipped with a message without buildah and skopeo, a failure
//! with `LAYERSCOPE_REQUIRE_BUILDAH=1`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn have(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/real")
        .join(name)
        .join("image.docker.tar")
}

fn run(image: &str) -> std::process::Output {
    Command::cargo_bin("layerscope")
        .unwrap()
        .args(["analyze", "--format", "json", image])
        .output()
        .unwrap()
}

fn figures(mut r: Value) -> Value {
    let image = r["image"].as_object_mut().unwrap();
    for k in ["source", "transport", "reference"] {
        image.remove(k);
    }
    r
}

#[test]
fn buildah_store_report_equals_the_archive_report() {
    let root_ok = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
    if !(have("buildah") && have("skopeo") && root_ok) {
        let msg = "containers-storage: needs root, buildah and skopeo";
        if std::env::var("LAYERSCOPE_REQUIRE_BUILDAH").as_deref() == Ok("1") {
            panic!("{msg} (LAYERSCOPE_REQUIRE_BUILDAH=1)");
        }
        eprintln!("skipped: {msg}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let runroot = dir.path().join("runroot");
    for name in ["node-good", "nonroot"] {
        let archive = fixture(name);
        let out = std::process::Command::new("buildah")
            .arg("--root")
            .arg(&root)
            .arg("--runroot")
            .arg(&runroot)
            .args(["--storage-driver", "vfs", "pull", "-q"])
            .arg(format!("docker-archive:{}", archive.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "buildah pull: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
        let file = run(archive.to_str().unwrap());
        assert!(file.status.success());
        let file: Value = serde_json::from_slice(&file.stdout).unwrap();
        // By the ID buildah printed, in the private store.
        let name = format!(
            "containers-storage:[vfs@{}+{}]{id}",
            root.display(),
            runroot.display()
        );
        let out = run(&name);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let store: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(store["image"]["transport"], "containers-storage");
        assert_eq!(store["image"]["reference"], id.as_str());
        assert_eq!(figures(store), figures(file));
    }
    let name = format!(
        "containers-storage:[vfs@{}+{}]localhost/layerscope-no-such-image",
        root.display(),
        runroot.display()
    );
    let out = run(&name);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not an image") || err.contains("does not resolve"),
        "{err}"
    );
}
