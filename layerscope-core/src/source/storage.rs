//! `containers-storage:[[DRIVER@]ROOT[+RUNROOT]]NAME`: buildah's and podman's local store,
//! read through skopeo (containers/image's `containers-storage` transport, which knows every
//! storage driver and the store's locking), as one stream with no temporary copy:
//! `skopeo copy containers-storage:NAME docker-archive:/dev/stdout` writes each layer as it
//! reads it and `manifest.json` last (containers/image `docker/internal/tarfile/writer.go`),
//! so the stream is read exactly as the Docker Engine's export is (`daemon.rs`). The
//! `[DRIVER@ROOT+RUNROOT]` prefix names another store, as `--root`/`--runroot` do for buildah
//! and podman.

use super::daemon::{Exported, read_save_stream};
use crate::error::{Cause, Error, Hint, Hinted, Result};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// The skopeo binary: `LAYERSCOPE_SKOPEO`, else `skopeo` on `PATH`.
fn skopeo() -> String {
    std::env::var("LAYERSCOPE_SKOPEO")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "skopeo".to_string())
}

/// Stream `name` out of the store and read it in one pass.
pub(crate) fn export(name: &str, display: &Path) -> Result<Exported> {
    let fail = |reason: String, source: Option<Cause>| Error::Transport {
        image: display.to_path_buf(),
        reason,
        source,
    };
    let program = skopeo();
    let mut child = Command::new(&program)
        .args(["copy", "--quiet"])
        .arg(format!("containers-storage:{name}"))
        .arg("docker-archive:/dev/stdout")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            fail(
                format!("cannot run {program} to read the containers-storage store"),
                Some(Hinted::new(e, Hint::InstallSkopeo).into()),
            )
        })?;
    // Drain stderr on its own thread so that a chatty skopeo never blocks on a full pipe.
    let stderr = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
    let result = match child.stdout.take() {
        Some(mut out) => {
            let read = read_save_stream(&mut out, "the stream from skopeo", display);
            if read.is_ok() {
                // The reader stops at the archive's end marker; skopeo may still be writing
                // the rest of it. Read to the end, so that skopeo never writes into a closed
                // pipe and fails ("write /dev/stdout: broken pipe").
                let _ = std::io::copy(&mut out, &mut std::io::sink());
            }
            read
        }
        None => Err(fail("skopeo's output could not be read".into(), None)),
    };
    let status = child
        .wait()
        .map_err(|e| fail(format!("waiting for {program}"), Some(e.into())))?;
    let stderr = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    if !status.success() {
        // skopeo's own sentence says what was wrong (unknown image, no such store...).
        return Err(fail(
            format!(
                "{program} could not read it from containers-storage ({status}): {}",
                stderr.trim()
            ),
            None,
        ));
    }
    result
}
