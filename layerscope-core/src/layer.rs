//! Stream one layer blob, once: blob digest and size, compression sniffed from magic bytes
//! (never from the name or media type), DiffID of the uncompressed tar, and a compact record
//! of every tar entry with the sha256 of its content. Nothing is extracted or kept but the
//! records: memory grows with the number of entries, not their bytes.

use crate::digest::{HashingReader, sha256_string};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Read buffer between the blob and the decompressor, and between the decompressor and the
/// tar reader (large buffers keep both sides streaming in big chunks).
const BLOB_BUFFER: usize = 1 << 20;
const TAR_BUFFER: usize = 256 * 1024;
const CONTENT_BUFFER: usize = 256 * 1024;

/// How a layer blob is compressed, decided from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`), eStargz included.
    Gzip,
    /// zstd (`28 b5 2f fd`), zstd:chunked included.
    Zstd,
}

impl Compression {
    pub(crate) fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// The type of a tar entry after whiteout interpretation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EntryKind {
    /// Regular file (sparse files included).
    File,
    /// Directory.
    Dir,
    /// Symbolic link.
    Symlink,
    /// Hard link to another path (`link` names it).
    Hardlink,
    /// Character device.
    CharDevice,
    /// Block device.
    BlockDevice,
    /// Named pipe.
    Fifo,
    /// `.wh.<name>`: removes `path` (and its subtree) from lower layers.
    Whiteout,
    /// `.wh..wh..opq`: hides every lower child of the directory `path`.
    Opaque,
}

/// A span in a layer's name arena.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Name {
    start: u32,
    len: u32,
}

/// One tar entry, compactly. Paths live in the layer's name arena.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) path: Name,
    pub(crate) link: Option<Name>,
    pub(crate) kind: EntryKind,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: u64,
    pub(crate) size: u64,
    pub(crate) sha256: [u8; 32],
    /// A hash of the entry's xattrs (0 when none), so that xattr-only changes are seen.
    pub(crate) xattrs: u64,
}

/// Everything one pass over a layer learned.
#[derive(Debug, Default)]
pub(crate) struct LayerContents {
    names: String,
    pub(crate) entries: Vec<Entry>,
    pub(crate) blob_digest: String,
    pub(crate) blob_size: u64,
    pub(crate) diff_id: String,
    pub(crate) tar_size: u64,
    pub(crate) compression: Option<Compression>,
    /// Entries whose path climbed above the root (`../x`) and was clamped to it.
    pub(crate) clamped_paths: u64,
    /// Entries of types that do not make files (tar volume labels, unknown types): skipped.
    pub(crate) skipped_entries: u64,
}

impl LayerContents {
    pub(crate) fn name(&self, n: Name) -> &str {
        self.names
            .get(n.start as usize..(n.start + n.len) as usize)
            .unwrap_or("")
    }

    pub(crate) fn path(&self, e: &Entry) -> &str {
        self.name(e.path)
    }

    pub(crate) fn link(&self, e: &Entry) -> Option<&str> {
        e.link.map(|n| self.name(n))
    }

    fn intern(&mut self, s: &str) -> Option<Name> {
        let start = u32::try_from(self.names.len()).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        start.checked_add(len)?;
        self.names.push_str(s);
        Some(Name { start, len })
    }

    /// A layer with no blob (absent foreign layer): no entries.
    pub(crate) fn missing(digest: Option<&str>) -> LayerContents {
        LayerContents {
            blob_digest: digest.unwrap_or_default().to_string(),
            ..Default::default()
        }
    }
}

/// Why a layer could not be read: the entry (when known) and the reason.
#[derive(Debug)]
pub(crate) struct LayerFailure {
    pub(crate) entry: Option<String>,
    pub(crate) reason: String,
}

impl LayerFailure {
    fn at(entry: Option<&str>, reason: impl Into<String>) -> LayerFailure {
        LayerFailure {
            entry: entry.map(str::to_string),
            reason: reason.into(),
        }
    }
}

/// Clean an entry path the way an extractor confined to its root would: strip `/` and `./`,
/// resolve `.` and `..` lexically, clamping `..` at the root. Returns the path and whether
/// it had to be clamped.
pub(crate) fn clean_entry_path(raw: &str) -> (String, bool) {
    let mut parts: Vec<&str> = Vec::new();
    let mut clamped = false;
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    clamped = true;
                }
            }
            p => parts.push(p),
        }
    }
    (parts.join("/"), clamped)
}

/// Counts bytes into a shared counter (for a progress bar polled by the caller).
struct Progress<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Tags errors coming out of a decompressor so the message says which stream failed.
struct Tagged<R> {
    inner: R,
    tag: &'static str,
}

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| io::Error::new(e.kind(), format!("{} stream: {e}", self.tag)))
    }
}

fn drain(r: &mut impl Read) -> io::Result<u64> {
    io::copy(r, &mut io::sink())
}

/// Read one layer blob. `progress` receives the count of blob bytes as they are read.
pub(crate) fn read_layer(
    reader: impl Read,
    progress: Option<Arc<AtomicU64>>,
) -> Result<LayerContents, LayerFailure> {
    let blob = HashingReader::new(Progress {
        inner: reader,
        counter: progress,
    });
    let mut buffered = BufReader::with_capacity(BLOB_BUFFER, blob);
    let head = buffered
        .fill_buf()
        .map_err(|e| LayerFailure::at(None, format!("read error: {e}")))?;
    if head.is_empty() {
        return Err(LayerFailure::at(None, "the layer blob is empty"));
    }
    let compression = Compression::sniff(head);
    let mut contents = LayerContents {
        compression: Some(compression),
        ..Default::default()
    };
    let blob = match compression {
        Compression::None => {
            let mut rest = walk(buffered, &mut contents)?;
            drain(&mut rest).map_err(|e| {
                LayerFailure::at(None, format!("read error after the archive end: {e}"))
            })?;
            let blob = rest.into_inner();
            let (hash, size) = blob.finish();
            contents.tar_size = size;
            contents.diff_id = sha256_string(&hash);
            return Ok(finish_blob(contents, hash, size));
        }
        Compression::Gzip => {
            let dec = HashingReader::new(Tagged {
                inner: flate2::bufread::MultiGzDecoder::new(buffered),
                tag: "gzip",
            });
            let rest = walk(BufReader::with_capacity(TAR_BUFFER, dec), &mut contents)?;
            let dec = finish_uncompressed(rest, &mut contents)?;
            let mut inner = dec.inner.into_inner();
            drain(&mut inner).map_err(|e| LayerFailure::at(None, format!("read error: {e}")))?;
            inner.into_inner()
        }
        Compression::Zstd => {
            let zstd = zstd::stream::read::Decoder::with_buffer(buffered)
                .map_err(|e| LayerFailure::at(None, format!("zstd stream: {e}")))?;
            let dec = HashingReader::new(Tagged {
                inner: zstd,
                tag: "zstd",
            });
            let rest = walk(BufReader::with_capacity(TAR_BUFFER, dec), &mut contents)?;
            let dec = finish_uncompressed(rest, &mut contents)?;
            let mut inner = dec.inner.finish();
            drain(&mut inner).map_err(|e| LayerFailure::at(None, format!("read error: {e}")))?;
            inner.into_inner()
        }
    };
    let (hash, size) = blob.finish();
    Ok(finish_blob(contents, hash, size))
}

fn finish_blob(mut contents: LayerContents, hash: [u8; 32], size: u64) -> LayerContents {
    contents.blob_digest = sha256_string(&hash);
    contents.blob_size = size;
    contents
}

/// After the tar walk of a compressed layer: read the rest of the decompressed stream (tar
/// padding) into the DiffID hash, and record it.
fn finish_uncompressed<D: Read>(
    rest: BufReader<HashingReader<D>>,
    contents: &mut LayerContents,
) -> Result<D, LayerFailure> {
    let mut rest = rest;
    drain(&mut rest).map_err(|e| LayerFailure::at(None, e.to_string()))?;
    let (hash, size, inner) = rest.into_inner().into_parts();
    contents.diff_id = sha256_string(&hash);
    contents.tar_size = size;
    Ok(inner)
}

/// Walk the tar entries; gives the reader back so the caller can hash the remainder.
fn walk<R: Read>(reader: R, contents: &mut LayerContents) -> Result<R, LayerFailure> {
    let mut archive = tar::Archive::new(reader);
    let mut buf = vec![0u8; CONTENT_BUFFER];
    let mut last_path: Option<String> = None;
    {
        let entries = archive
            .entries()
            .map_err(|e| LayerFailure::at(None, format!("not a tar archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                let reason = match &last_path {
                    Some(_) => format!("corrupt or truncated tar after this entry: {e}"),
                    None => format!("not a tar archive or corrupt first header: {e}"),
                };
                LayerFailure {
                    entry: last_path.clone(),
                    reason,
                }
            })?;
            let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            last_path = Some(raw_path.clone());
            let at = |reason: String| LayerFailure {
                entry: Some(raw_path.clone()),
                reason,
            };
            let header = entry.header();
            let entry_type = header.entry_type();
            let base_kind = match entry_type {
                tar::EntryType::Regular
                | tar::EntryType::Continuous
                | tar::EntryType::GNUSparse => EntryKind::File,
                tar::EntryType::Directory => EntryKind::Dir,
                tar::EntryType::Symlink => EntryKind::Symlink,
                tar::EntryType::Link => EntryKind::Hardlink,
                tar::EntryType::Char => EntryKind::CharDevice,
                tar::EntryType::Block => EntryKind::BlockDevice,
                tar::EntryType::Fifo => EntryKind::Fifo,
                // PAX global headers are ignored, as containerd does (layer.md has no use
                // for them); volume labels and unknown types make no file.
                _ => {
                    contents.skipped_entries += 1;
                    continue;
                }
            };
            // Blank numeric fields read as 0, as Go's archive/tar (and so Docker) reads them;
            // anything else that is not a number is a corrupt header.
            let old = header.as_old();
            let mode = numeric(header.mode(), &old.mode)
                .map_err(|e| at(format!("bad mode field: {e}")))?;
            let mut uid =
                numeric(header.uid(), &old.uid).map_err(|e| at(format!("bad uid field: {e}")))?;
            let mut gid =
                numeric(header.gid(), &old.gid).map_err(|e| at(format!("bad gid field: {e}")))?;
            let mut mtime = numeric(header.mtime(), &old.mtime)
                .map_err(|e| at(format!("bad mtime field: {e}")))?;
            let mut xattrs = 0u64;
            if let Ok(Some(pax)) = entry.pax_extensions() {
                let mut h = Sha256::new();
                for ext in pax.flatten() {
                    let key = ext.key_bytes();
                    let value = ext.value_bytes();
                    match key {
                        b"uid" => uid = parse_pax_number(value).unwrap_or(uid),
                        b"gid" => gid = parse_pax_number(value).unwrap_or(gid),
                        b"mtime" => mtime = parse_pax_number(value).unwrap_or(mtime),
                        k if k.starts_with(b"SCHILY.xattr.") => {
                            h.update((k.len() as u64).to_le_bytes());
                            h.update(k);
                            h.update((value.len() as u64).to_le_bytes());
                            h.update(value);
                            xattrs = 1;
                        }
                        _ => {}
                    }
                }
                if xattrs != 0 {
                    let d: [u8; 32] = h.finalize().into();
                    xattrs =
                        u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) | 1;
                }
            }
            let link_raw = match base_kind {
                EntryKind::Symlink | EntryKind::Hardlink => entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
                _ => None,
            };
            let (mut path, clamped) = clean_entry_path(&raw_path);
            if clamped {
                contents.clamped_paths += 1;
            }
            // Whiteouts (image-spec layer.md "Whiteouts"): `.wh..wh..opq` is the opaque
            // marker of its directory; other `.wh..wh.` names are AUFS metadata with no
            // meaning for the merged view; `.wh.<name>` removes `<name>`.
            let mut kind = base_kind;
            let (dir, base) = match path.rfind('/') {
                Some(i) => (&path[..i], &path[i + 1..]),
                None => ("", path.as_str()),
            };
            if let Some(target) = base.strip_prefix(".wh.") {
                if base == ".wh..wh..opq" {
                    kind = EntryKind::Opaque;
                    path = dir.to_string();
                } else if target.starts_with(".wh.") {
                    contents.skipped_entries += 1;
                    continue;
                } else if target.is_empty() {
                    return Err(at(
                        "invalid whiteout \".wh.\" with no name (image-spec layer.md)".into(),
                    ));
                } else {
                    kind = EntryKind::Whiteout;
                    path = if dir.is_empty() {
                        target.to_string()
                    } else {
                        format!("{dir}/{target}")
                    };
                }
            }
            if path.is_empty() && kind != EntryKind::Opaque {
                // The root directory itself ("./"): attributes of `/` only.
                continue;
            }
            let mut size = 0u64;
            let mut sha256 = [0u8; 32];
            if kind == EntryKind::File {
                let mut h = Sha256::new();
                loop {
                    let n = entry
                        .read(&mut buf)
                        .map_err(|e| at(format!("cannot read content: {e}")))?;
                    if n == 0 {
                        break;
                    }
                    if let Some(chunk) = buf.get(..n) {
                        h.update(chunk);
                    }
                    size += n as u64;
                }
                sha256 = h.finalize().into();
            }
            let link = match link_raw {
                Some(l) if kind == EntryKind::Hardlink => {
                    let (clean, _) = clean_entry_path(&l);
                    contents.intern(&clean)
                }
                Some(l) => contents.intern(&l),
                None => None,
            };
            let Some(path_name) = contents.intern(&path) else {
                return Err(at("layer names exceed 4 GiB".into()));
            };
            contents.entries.push(Entry {
                path: path_name,
                link,
                kind,
                mode,
                uid: uid as u32,
                gid: gid as u32,
                mtime,
                size,
                sha256,
                xattrs,
            });
        }
    }
    // Growth slack would otherwise stay for the whole analysis.
    contents.entries.shrink_to_fit();
    contents.names.shrink_to_fit();
    Ok(archive.into_inner())
}

fn numeric<T: Default>(parsed: io::Result<T>, raw: &[u8]) -> io::Result<T> {
    match parsed {
        Ok(v) => Ok(v),
        Err(_) if raw.iter().all(|b| *b == 0 || *b == b' ') => Ok(T::default()),
        Err(e) => Err(e),
    }
}

fn parse_pax_number(v: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(v).ok()?;
    let int = s.split('.').next()?;
    int.parse::<u64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::LayerBuilder;

    fn read(bytes: Vec<u8>) -> LayerContents {
        read_layer(&bytes[..], None).unwrap()
    }

    #[test]
    fn plain_gzip_zstd_give_same_entries_and_diff_id() {
        let b = LayerBuilder::new()
            .file("a/b.txt", b"hello")
            .dir("a")
            .symlink("l", "a/b.txt")
            .whiteout("gone")
            .opaque("a");
        let plain = read(b.tar());
        let gz = read(b.gzip());
        let zs = read(b.zstd());
        assert_eq!(plain.diff_id, gz.diff_id);
        assert_eq!(plain.diff_id, zs.diff_id);
        assert_eq!(plain.blob_digest, plain.diff_id);
        assert_ne!(gz.blob_digest, gz.diff_id);
        assert_eq!(gz.compression, Some(Compression::Gzip));
        assert_eq!(zs.compression, Some(Compression::Zstd));
        let kinds: Vec<_> = plain
            .entries
            .iter()
            .map(|e| (plain.path(e).to_string(), e.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("a/b.txt".to_string(), EntryKind::File),
                ("a".to_string(), EntryKind::Dir),
                ("l".to_string(), EntryKind::Symlink),
                ("gone".to_string(), EntryKind::Whiteout),
                ("a".to_string(), EntryKind::Opaque),
            ]
        );
        let f = &plain.entries[0];
        assert_eq!(f.size, 5);
        assert_eq!(sha256_string(&f.sha256), crate::digest::sha256_of(b"hello"));
    }

    #[test]
    fn hostile_paths_are_clamped_not_followed() {
        let b = LayerBuilder::new()
            .raw_file("../../etc/passwd", b"x")
            .raw_file("/abs/path", b"y");
        let c = read(b.tar());
        let paths: Vec<_> = c.entries.iter().map(|e| c.path(e)).collect();
        assert_eq!(paths, vec!["etc/passwd", "abs/path"]);
        assert_eq!(c.clamped_paths, 1);
    }

    #[test]
    fn long_names_via_gnu_and_pax() {
        let long = format!("{}/file", "d".repeat(5000));
        let c = read(LayerBuilder::new().file(&long, b"z").tar());
        assert_eq!(c.path(&c.entries[0]), long);
    }

    #[test]
    fn truncated_and_corrupt_layers_fail_cleanly() {
        let tar = LayerBuilder::new().file("big", &vec![7u8; 100_000]).tar();
        let err = read_layer(&tar[..50_000], None).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("big"));
        let mut gz = LayerBuilder::new().file("f", &vec![1u8; 100_000]).gzip();
        let n = gz.len();
        gz.truncate(n / 2);
        let err = read_layer(&gz[..], None).unwrap_err();
        assert!(
            err.reason.contains("gzip") || err.reason.contains("EOF") || err.reason.contains("eof"),
            "{}",
            err.reason
        );
        let mut zs = LayerBuilder::new().file("f", &vec![1u8; 100_000]).zstd();
        for b in zs.iter_mut().skip(20).take(10) {
            *b ^= 0xff;
        }
        assert!(read_layer(&zs[..], None).is_err());
        assert!(read_layer(&b"\x1f\x8bgarbage"[..], None).is_err());
        assert!(read_layer(&b""[..], None).is_err());
    }

    #[test]
    fn header_claiming_a_huge_size_is_an_error_not_an_allocation() {
        let mut tar = LayerBuilder::new().file("x", b"abc").tar();
        // Rewrite the size field to 1 TB in base-256 and fix the checksum.
        let mut h = tar::Header::new_gnu();
        h.as_mut_bytes().copy_from_slice(&tar[..512]);
        h.set_size(1 << 40);
        h.set_cksum();
        tar[..512].copy_from_slice(h.as_bytes());
        let err = read_layer(&tar[..], None).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("x"));
    }
}
