//! Stream one layer blob, once: blob digest and size, compression sniffed from magic bytes
//! (never from the name or media type), DiffID of the uncompressed tar, and a compact record
//! of every tar entry with a 128-bit content identity (xxh3) and, inline or on demand, the
//! sha256 of its content. Nothing is extracted or kept but the records: memory grows with the
//! number of entries, not their bytes.
//!
//! Content identity and content sha256 (see "the pipeline" below for the cost):
//! - every comparison of file contents (modified or metadata-only, duplicates, "same content"
//!   waste) uses [`ContentId`], the XXH3-128 hash of the bytes (xxHash spec, XXH3 128-bit
//!   variant: <https://github.com/Cyan4973/xxHash/blob/dev/doc/xxhash_spec.md>). Two different
//!   contents collide with probability about 2^-128 per pair; with n files in an image the
//!   chance of any collision is about n^2 / 2^129 (for n = 10^7: 1.5 x 10^-25). XXH3 is not a
//!   cryptographic hash: a crafted collision can make two files *group* together, never change
//!   a digest that is shown, since every sha256 that an output shows is computed from the
//!   bytes (below), so a displayed equality can be confirmed by its sha256;
//! - the DiffID and the blob digest stay sha256, computed over every byte and verified;
//! - a file's sha256 is either computed in the stream for every file (compressed blobs,
//!   streams that cannot be read twice, and callers that need every file's sha256, such as
//!   fleet summaries), or, for a plain tar stored in a file, computed later for the files an
//!   output shows, by reading their byte range again ([`LayerContents::content_sha256`]). The
//!   bytes read again are checked against the identity, so a file changed in between fails
//!   instead of giving a digest of other bytes.

use crate::digest::sha256_string;
use crate::error::Cause;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError, mpsc};
use std::thread;
use xxhash_rust::xxh3::{Xxh3, xxh3_128};

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

/// The identity of a file's content: XXH3-128 of its bytes (see the module notes for why
/// this is enough to compare contents and is never shown as a digest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ContentId(pub(crate) [u8; 16]);

impl ContentId {
    fn of(bytes: &[u8]) -> ContentId {
        ContentId(xxh3_128(bytes).to_le_bytes())
    }

    /// The identity of a content known only by its sha256 (a table of contents).
    pub(crate) fn from_sha256(sha: &[u8; 32]) -> ContentId {
        let mut id = [0u8; 16];
        id.copy_from_slice(sha.get(..16).unwrap_or(&[0; 16]));
        ContentId(id)
    }
}

/// No link target, or no xattrs: see [`Entry`].
const NO_EXTRA: u32 = u32::MAX;

/// One tar entry, compactly (72 bytes: a layer of 200,000 files holds 14 MB of them). Paths
/// live in the layer's name arena; the few entries with a link target or xattrs refer to
/// them in side tables of the layer, so that the others do not carry the room.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) path: Name,
    /// Index in the layer's `links` of a symlink's or hardlink's target ([`NO_EXTRA`]: none).
    link: u32,
    /// Index in the layer's `xattrs` of the hash of the entry's xattrs ([`NO_EXTRA`]: none).
    xattrs: u32,
    pub(crate) kind: EntryKind,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) mtime: u64,
    pub(crate) size: u64,
    /// Content identity of a regular file (zero for other kinds).
    pub(crate) id: ContentId,
    /// Where a regular file's content starts in the uncompressed tar.
    pub(crate) offset: u64,
}

/// Everything one pass over a layer learned.
#[derive(Debug, Default, Clone)]
pub(crate) struct LayerContents {
    names: String,
    pub(crate) entries: Vec<Entry>,
    /// Link targets of symlinks and hardlinks, by [`Entry`]'s `link`.
    links: Vec<Name>,
    /// Hashes of the entries' xattrs ([`XattrHash`]), by [`Entry`]'s `xattrs`.
    xattrs: Vec<u64>,
    pub(crate) blob_digest: String,
    pub(crate) blob_size: u64,
    pub(crate) diff_id: String,
    pub(crate) tar_size: u64,
    pub(crate) compression: Option<Compression>,
    /// Entries whose path climbed above the root (`../x`) and was clamped to it.
    pub(crate) clamped_paths: u64,
    /// Entries of types that do not make files (tar volume labels, unknown types): skipped.
    pub(crate) skipped_entries: u64,
    /// Content sha256 per entry, when computed in the stream (empty otherwise).
    shas: Vec<[u8; 32]>,
    /// Content sha256 of the files whose stored bytes are not their content (GNU sparse),
    /// by entry index, when `shas` is empty.
    known: Vec<(u32, [u8; 32])>,
    /// Where the plain tar can be read again, when `shas` is empty.
    reread: Option<Reread>,
    /// Identities are sha256 prefixes (a layer known from a listing, and every layer of an
    /// image that has one), not XXH3: checked when re-reading.
    sha256_identity: bool,
}

/// The content sha256 of a (layer, entry) source, for layers that kept every file's sha256
/// (read with the default [`LayerOptions`], or built from a listing): a lookup, zero for no
/// source. Fleet's summaries are built this way.
pub(crate) fn kept_sha256(layers: &[LayerContents], source: Option<(u32, u32)>) -> [u8; 32] {
    source
        .and_then(|(l, e)| layers.get(l as usize)?.content_sha256(e).ok())
        .unwrap_or_default()
}

/// A plain layer tar stored in a file: the open file and the tar's first byte in it.
#[derive(Debug, Clone)]
pub(crate) struct Reread {
    pub(crate) file: Arc<File>,
    pub(crate) start: u64,
    /// The file, for messages.
    pub(crate) path: PathBuf,
}

/// Read exactly `buf.len()` bytes at `offset` without moving a shared cursor.
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0usize;
        while done < buf.len() {
            let Some(rest) = buf.get_mut(done..) else {
                break;
            };
            let n = std::os::windows::fs::FileExt::seek_read(file, rest, offset + done as u64)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// Reads a byte range of a shared file with positioned reads (no shared cursor), so that the
/// same open file serves the first pass and later content re-reads.
pub(crate) struct RangeReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl RangeReader {
    pub(crate) fn new(file: Arc<File>, start: u64, len: u64) -> RangeReader {
        RangeReader {
            file,
            pos: start,
            end: start.saturating_add(len),
        }
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (self.end.saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        let Some(to) = buf.get_mut(..want).filter(|b| !b.is_empty()) else {
            return Ok(0);
        };
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(&*self.file, to, self.pos)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(&*self.file, to, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
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
        self.links.get(e.link as usize).map(|n| self.name(*n))
    }

    /// A hash of the entry's xattrs (0 when it has none), so that xattr-only changes are seen.
    pub(crate) fn xattrs(&self, e: &Entry) -> u64 {
        self.xattrs.get(e.xattrs as usize).copied().unwrap_or(0)
    }

    /// Add an entry, its link target and xattrs hash (0: none) going to the side tables.
    #[allow(clippy::too_many_arguments)]
    fn push_entry(
        &mut self,
        path: Name,
        link: Option<Name>,
        kind: EntryKind,
        (mode, uid, gid, mtime): (u32, u32, u32, u64),
        (size, id, offset): (u64, ContentId, u64),
        xattrs: u64,
    ) -> Result<(), String> {
        let side = |len: usize| u32::try_from(len).ok().filter(|&i| i != NO_EXTRA);
        let link = match link {
            None => NO_EXTRA,
            Some(n) => {
                let i = side(self.links.len()).ok_or("more than 2^32 links in one layer")?;
                self.links.push(n);
                i
            }
        };
        let xattrs = if xattrs == 0 {
            NO_EXTRA
        } else {
            let i = side(self.xattrs.len()).ok_or("more than 2^32 xattr sets in one layer")?;
            self.xattrs.push(xattrs);
            i
        };
        self.entries.push(Entry {
            path,
            link,
            xattrs,
            kind,
            mode,
            uid,
            gid,
            mtime,
            size,
            id,
            offset,
        });
        Ok(())
    }

    pub(crate) fn intern(&mut self, s: &str) -> Option<Name> {
        let start = u32::try_from(self.names.len()).ok()?;
        let len = u32::try_from(s.len()).ok()?;
        start.checked_add(len)?;
        self.names.push_str(s);
        Some(Name { start, len })
    }

    /// Is every file's content sha256 known without reading anything again?
    pub(crate) fn has_inline_sha256(&self) -> bool {
        self.reread.is_none()
    }

    /// The sha256 of entry `i`'s content: from the stream when it was computed there, else
    /// from its byte range read again (checked against the content identity). Zero for
    /// entries that are not regular files.
    pub(crate) fn content_sha256(&self, i: u32) -> Result<[u8; 32], LayerFailure> {
        let Some(e) = self.entries.get(i as usize) else {
            return Ok([0; 32]);
        };
        if e.kind != EntryKind::File {
            return Ok([0; 32]);
        }
        if let Some(s) = self.shas.get(i as usize) {
            return Ok(*s);
        }
        if e.size == 0 {
            return Ok(SHA256_EMPTY);
        }
        if let Ok(k) = self.known.binary_search_by_key(&i, |(j, _)| *j) {
            return Ok(self.known.get(k).map_or([0; 32], |(_, s)| *s));
        }
        let path = self.path(e);
        let Some(r) = &self.reread else {
            return Err(LayerFailure::at(
                Some(path),
                "no content digest was kept for this file",
            ));
        };
        let mut sha = Sha256::new();
        let mut id = Xxh3::new();
        let mut buf = vec![0u8; CHUNK.min(e.size as usize)];
        let mut at = r.start.saturating_add(e.offset);
        let mut left = e.size;
        while left > 0 {
            let n = left.min(buf.len() as u64) as usize;
            let Some(part) = buf.get_mut(..n) else { break };
            read_exact_at(&r.file, part, at).map_err(|err| {
                LayerFailure::at(
                    Some(path),
                    format!(
                        "cannot read the content again from {} at byte {at}: {err}",
                        r.path.display()
                    ),
                )
            })?;
            sha.update(&*part);
            id.update(part);
            at += n as u64;
            left -= n as u64;
        }
        let sha: [u8; 32] = sha.finalize().into();
        let again = if self.sha256_identity {
            ContentId::from_sha256(&sha)
        } else {
            ContentId(id.digest128().to_le_bytes())
        };
        if again != e.id {
            return Err(LayerFailure::at(
                Some(path),
                format!(
                    "the content read again from {} differs from what was read first: the file \
                     changed while it was analysed",
                    r.path.display()
                ),
            ));
        }
        Ok(sha)
    }

    /// Take every file's identity from its content sha256 (its first 16 bytes), so that a
    /// layer known from a listing (which gives sha256 values, not bytes) and layers read
    /// byte by byte compare alike. Reads again the files whose sha256 was not kept.
    pub(crate) fn use_sha256_identity(&mut self) -> Result<(), LayerFailure> {
        let mut ids = Vec::with_capacity(self.entries.len());
        for (i, e) in self.entries.iter().enumerate() {
            ids.push(if e.kind == EntryKind::File {
                ContentId::from_sha256(&self.content_sha256(i as u32)?)
            } else {
                ContentId::default()
            });
        }
        for (e, id) in self.entries.iter_mut().zip(ids) {
            e.id = id;
        }
        self.sha256_identity = true;
        Ok(())
    }

    /// Are the identities taken from sha256 values (see [`LayerContents::use_sha256_identity`])?
    pub(crate) fn has_sha256_identity(&self) -> bool {
        self.sha256_identity
    }

    /// Add an entry described by a listing (a table of contents) rather than a tar header:
    /// `path` and `kind` as [`place_entry`] gave them, `link` the raw link name of a
    /// symlink or hardlink (a hardlink's is cleaned as the tar walk cleans it).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_listed(
        &mut self,
        path: &str,
        kind: EntryKind,
        link: Option<&str>,
        mode: u32,
        uid: u32,
        gid: u32,
        mtime: u64,
        size: u64,
        sha256: [u8; 32],
        xattrs: u64,
    ) -> Result<(), String> {
        let link = match link {
            Some(l) if kind == EntryKind::Hardlink => Some(self.intern(&clean_entry_path(l).0)),
            Some(l) => Some(self.intern(l)),
            None => None,
        };
        let path = self.intern(path);
        let (Some(path), Some(link)) = (path, link.map_or(Some(None), |l| l.map(Some))) else {
            return Err("layer names exceed 4 GiB".into());
        };
        // A listing gives the content's sha256, not its bytes: the identity is taken from
        // the sha256 (see `LayerContents::use_sha256_identity`), and the sha256 is kept.
        self.sha256_identity = true;
        self.shas.resize(self.entries.len(), [0; 32]);
        self.shas.push(if kind == EntryKind::File {
            sha256
        } else {
            [0; 32]
        });
        let id = if kind == EntryKind::File {
            ContentId::from_sha256(&sha256)
        } else {
            ContentId::default()
        };
        self.push_entry(
            path,
            link,
            kind,
            (mode, uid, gid, mtime),
            (size, id, 0),
            xattrs,
        )
    }

    /// Append another pass's entries (and its counts) after these.
    pub(crate) fn append(&mut self, other: &LayerContents) -> Result<(), String> {
        for (i, e) in other.entries.iter().enumerate() {
            // `other` was read with every content sha256 in the stream (a registry stream).
            let sha256 = other
                .content_sha256(i as u32)
                .map_err(|f| format!("{}: {}", f.entry.unwrap_or_default(), f.reason))?;
            self.push_listed(
                other.path(e),
                e.kind,
                other.link(e),
                e.mode,
                e.uid,
                e.gid,
                e.mtime,
                e.size,
                sha256,
                other.xattrs(e),
            )?;
        }
        self.clamped_paths += other.clamped_paths;
        self.skipped_entries += other.skipped_entries;
        Ok(())
    }

    /// A layer with no blob (absent foreign layer): no entries.
    pub(crate) fn missing(digest: Option<&str>) -> LayerContents {
        LayerContents {
            blob_digest: digest.unwrap_or_default().to_string(),
            ..Default::default()
        }
    }
}

/// Why a layer could not be read: the entry (when known), the reason in the reader's words,
/// and the lower-level error that caused it (kept as the [`Error::Layer`](crate::Error::Layer)
/// source, not copied into the reason).
#[derive(Debug)]
pub(crate) struct LayerFailure {
    pub(crate) entry: Option<String>,
    pub(crate) reason: String,
    pub(crate) source: Option<Cause>,
}

impl LayerFailure {
    fn at(entry: Option<&str>, reason: impl Into<String>) -> LayerFailure {
        LayerFailure {
            entry: entry.map(str::to_string),
            reason: reason.into(),
            source: None,
        }
    }

    fn caused(entry: Option<&str>, reason: &str, source: impl Into<Cause>) -> LayerFailure {
        LayerFailure {
            entry: entry.map(str::to_string),
            reason: reason.to_string(),
            source: Some(source.into()),
        }
    }

    /// The failure with its reason and its cause as one line, for readers that report
    /// errors as text (the eStargz TOC member).
    pub(crate) fn text(&self) -> String {
        let mut text = self.reason.clone();
        let mut next: Option<&(dyn std::error::Error + 'static)> = match &self.source {
            Some(cause) => Some(&**cause),
            None => None,
        };
        while let Some(cause) = next {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(cause.to_string().trim_end());
            next = cause.source();
        }
        text
    }
}

/// Clean an entry path the way an extractor confined to its root would: strip `/` and `./`,
/// resolve `.` and `..` lexically, clamping `..` at the root. Returns the path and whether
/// it had to be clamped.
pub(crate) fn clean_entry_path(raw: &str) -> (String, bool) {
    // Most paths are clean already (`usr/bin/env`): one scan, one copy.
    if !raw.is_empty() && raw.split('/').all(|p| !matches!(p, "" | "." | "..")) {
        return (raw.to_string(), false);
    }
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

/// Where a tar entry lands in the merged view: its cleaned path and kind after the whiteout
/// rules, or `None` for an entry that makes nothing there (AUFS metadata, the root itself).
/// Counts clamped paths and skipped entries into `contents`. Shared by the tar walk and by
/// the table-of-contents reader (source/toc.rs), so that both apply the same rules.
pub(crate) fn place_entry(
    contents: &mut LayerContents,
    raw_path: &str,
    base_kind: EntryKind,
) -> Result<Option<(String, EntryKind)>, String> {
    let (mut path, clamped) = clean_entry_path(raw_path);
    if clamped {
        contents.clamped_paths += 1;
    }
    // Whiteouts (image-spec layer.md "Whiteouts"): `.wh..wh..opq` is the opaque marker of
    // its directory; other `.wh..wh.` names are AUFS metadata with no meaning for the merged
    // view; `.wh.<name>` removes `<name>`.
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
            return Ok(None);
        } else if target.is_empty() {
            return Err("invalid whiteout \".wh.\" with no name (image-spec layer.md)".into());
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
        return Ok(None);
    }
    Ok(Some((path, kind)))
}

/// The identity of an entry's extended attributes: 0 when it has none, else a 64-bit hash
/// (low bit set) of its `SCHILY.xattr.*` PAX records in the order given. Go's archive/tar
/// writes PAX records sorted by key, which is the order a table of contents' JSON object
/// gives them in too.
#[derive(Default)]
pub(crate) struct XattrHash {
    h: Option<Sha256>,
}

impl XattrHash {
    /// Add one record: the full PAX key (`SCHILY.xattr.<name>`) and its value.
    pub(crate) fn add(&mut self, key: &[u8], value: &[u8]) {
        let h = self.h.get_or_insert_with(Sha256::new);
        h.update((key.len() as u64).to_le_bytes());
        h.update(key);
        h.update((value.len() as u64).to_le_bytes());
        h.update(value);
    }

    pub(crate) fn finish(self) -> u64 {
        match self.h {
            None => 0,
            Some(h) => {
                let d: [u8; 32] = h.finalize().into();
                u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]) | 1
            }
        }
    }
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

/// The largest zstd window a decoder can use on a 64-bit machine (`ZSTD_WINDOWLOG_MAX_64` in
/// zstd's `lib/zstd.h`): what `zstd --long=31` writes.
pub const ZSTD_WINDOW_LOG_LIMIT: u32 = 31;
/// zstd's own floor for `ZSTD_d_windowLogMax` (`ZSTD_WINDOWLOG_ABSOLUTEMIN`).
pub const ZSTD_WINDOW_LOG_MIN: u32 = 10;

/// How one layer is read.
#[derive(Debug, Clone)]
pub(crate) struct LayerOptions {
    /// Receives the count of blob bytes as they are read.
    pub(crate) progress: Option<Arc<AtomicU64>>,
    /// The largest zstd window accepted, as a power of two (RFC 8878 section 3.1.1.1.2).
    pub(crate) zstd_window_log_max: u32,
    /// Hash on helper threads (true) or on the reading thread.
    pub(crate) threads: bool,
    /// Where the blob can be read again. With it, a plain (uncompressed) tar gets no content
    /// sha256 in the stream: [`LayerContents::content_sha256`] reads the files it is asked
    /// for again. Without it (the default), every file's sha256 is computed in the stream.
    pub(crate) reread: Option<Reread>,
    /// Whether files get a content sha256 at all (in the stream, or by reading them again
    /// with `reread`). Without it only the content identity is computed, and
    /// [`LayerContents::content_sha256`] fails for files with content.
    pub(crate) content_sha256: bool,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            progress: None,
            zstd_window_log_max: ZSTD_WINDOW_LOG_LIMIT,
            threads: true,
            reread: None,
            content_sha256: true,
        }
    }
}

/// Read one layer blob. `progress` receives the count of blob bytes as they are read.
pub(crate) fn read_layer(
    reader: impl Read,
    progress: Option<Arc<AtomicU64>>,
) -> Result<LayerContents, LayerFailure> {
    read_layer_with(
        reader,
        &LayerOptions {
            progress,
            ..LayerOptions::default()
        },
    )
}

// ------------------------------------------------------------------------------ the pipeline
//
// The DiffID is the sha256 of the whole uncompressed tar (image-spec config.md
// `rootfs.diff_ids`): one sequential pass that cannot be split, and the floor of the work.
// Each regular file also gets its content identity (XXH3-128, about ten times faster than
// sha256 per core) and, when its sha256 has to be computed in the stream (see the module
// notes), a second sha256 pass over the file bytes. The passes run side by side: the reading
// thread reads (and decompresses) the blob into fixed-size chunks and walks the tar headers;
// the chunks are shared, not copied, with one thread hashing the stream (the DiffID, which
// for a plain tar is also the blob digest) and one hashing file contents; a compressed blob's
// own digest has a third. The tar crate skips content by seeking, which here only moves
// through the chunks, so the walk never copies file bytes. A fixed pool of chunks bounds
// memory per layer, and makes the reader wait when a hasher falls behind. Any `Read` works:
// nothing is re-opened in the stream; only a plain tar stored in a file is read again later,
// for the sha256 of the files an output shows.

/// Bytes per chunk, and chunks per pool (memory per layer: 2 pools x 8 x 256 KiB at most).
const CHUNK: usize = 256 * 1024;
const POOL_CHUNKS: usize = 8;
/// A content batch is handed over when it holds this many segments (or at each new chunk).
const BATCH_SEGMENTS: usize = 256;

/// A fixed set of reusable buffers.
struct Pool {
    state: Mutex<PoolState>,
    freed: Condvar,
}

struct PoolState {
    free: Vec<Vec<u8>>,
    allocated: usize,
}

impl Pool {
    fn new() -> Arc<Pool> {
        Arc::new(Pool {
            state: Mutex::new(PoolState {
                free: Vec::new(),
                allocated: 0,
            }),
            freed: Condvar::new(),
        })
    }

    fn take(&self) -> Vec<u8> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(b) = s.free.pop() {
                return b;
            }
            if s.allocated < POOL_CHUNKS {
                s.allocated += 1;
                return vec![0u8; CHUNK];
            }
            s = self.freed.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn give(&self, buf: Vec<u8>) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.free.push(buf);
        drop(s);
        self.freed.notify_one();
    }
}

/// A filled buffer, shared by the walk and the hashers; back to its pool when the last
/// holder drops it.
struct Chunk {
    data: Vec<u8>,
    len: usize,
    pool: Arc<Pool>,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }

    /// Fill one chunk from `src` (short only at the end of the stream); `None` at the end.
    fn fill(src: &mut impl Read, pool: &Arc<Pool>) -> io::Result<Option<Arc<Chunk>>> {
        let mut data = pool.take();
        let mut len = 0;
        while len < data.len() {
            let Some(space) = data.get_mut(len..) else {
                break;
            };
            match src.read(space) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    pool.give(data);
                    return Err(e);
                }
            }
        }
        if len == 0 {
            pool.give(data);
            return Ok(None);
        }
        Ok(Some(Arc::new(Chunk {
            data,
            len,
            pool: Arc::clone(pool),
        })))
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.data));
    }
}

/// sha256 and byte count of a stream of chunks, on a helper thread or inline.
enum StreamHash<'s> {
    Inline(Sha256, u64),
    Thread(
        mpsc::Sender<Arc<Chunk>>,
        thread::ScopedJoinHandle<'s, ([u8; 32], u64)>,
    ),
}

impl<'s> StreamHash<'s> {
    fn new<'e>(scope: &'s thread::Scope<'s, 'e>, threads: bool) -> StreamHash<'s> {
        if !threads {
            return StreamHash::Inline(Sha256::new(), 0);
        }
        let (tx, rx) = mpsc::channel::<Arc<Chunk>>();
        let handle = scope.spawn(move || {
            let mut h = Sha256::new();
            let mut n = 0u64;
            for c in rx {
                h.update(c.bytes());
                n += c.len as u64;
            }
            (h.finalize().into(), n)
        });
        StreamHash::Thread(tx, handle)
    }

    fn push(&mut self, c: &Arc<Chunk>) {
        match self {
            StreamHash::Inline(h, n) => {
                h.update(c.bytes());
                *n += c.len as u64;
            }
            // A send fails only if the thread is gone, which `finish` reports.
            StreamHash::Thread(tx, _) => drop(tx.send(Arc::clone(c))),
        }
    }

    fn finish(self) -> Result<([u8; 32], u64), LayerFailure> {
        match self {
            StreamHash::Inline(h, n) => Ok((h.finalize().into(), n)),
            StreamHash::Thread(tx, handle) => {
                drop(tx);
                handle
                    .join()
                    .map_err(|_| LayerFailure::at(None, "a hashing thread failed"))
            }
        }
    }
}

/// Part of one file's content inside one chunk.
struct Segment {
    entry: u32,
    chunk: Arc<Chunk>,
    start: usize,
    end: usize,
    last: bool,
}

/// What the content hasher learned: each file's identity by entry index, and, when asked,
/// each one's sha256 in the same order (kept apart: 20 bytes a file when no sha256 is
/// computed, not 56).
#[derive(Default)]
struct ContentDone {
    ids: Vec<(u32, ContentId)>,
    shas: Vec<[u8; 32]>,
}

impl ContentDone {
    fn push(&mut self, entry: u32, id: ContentId, sha: Option<[u8; 32]>) {
        self.ids.push((entry, id));
        if let Some(sha) = sha {
            self.shas.push(sha);
        }
    }
}

/// Per-file identity (and sha256, when `sha` is set) over segments that arrive in stream
/// order.
struct ContentHasher {
    sha: bool,
    current: Option<(u32, Xxh3, Option<Sha256>)>,
    done: ContentDone,
}

impl ContentHasher {
    fn new(sha: bool) -> ContentHasher {
        ContentHasher {
            sha,
            current: None,
            done: ContentDone::default(),
        }
    }

    fn feed(&mut self, s: &Segment) {
        let bytes = s.chunk.bytes().get(s.start..s.end).unwrap_or(&[]);
        let current = match self.current.take() {
            Some(c) if c.0 == s.entry => Some(c),
            _ => None,
        };
        match current {
            // A whole file in one segment (most files): one-shot hashes, no streaming state.
            None if s.last => {
                let sha = self.sha.then(|| Sha256::digest(bytes).into());
                self.done.push(s.entry, ContentId::of(bytes), sha);
            }
            current => {
                let (entry, mut id, mut sha) =
                    current.unwrap_or_else(|| (s.entry, Xxh3::new(), self.sha.then(Sha256::new)));
                id.update(bytes);
                if let Some(h) = sha.as_mut() {
                    h.update(bytes);
                }
                if s.last {
                    self.done.push(
                        entry,
                        ContentId(id.digest128().to_le_bytes()),
                        sha.map(|h| h.finalize().into()),
                    );
                } else {
                    self.current = Some((entry, id, sha));
                }
            }
        }
    }
}

/// File contents to hash, on a helper thread (in batches) or inline.
enum ContentHash<'s> {
    Inline(Box<ContentHasher>),
    Thread {
        batch: Vec<Segment>,
        tx: mpsc::Sender<Vec<Segment>>,
        handle: thread::ScopedJoinHandle<'s, ContentDone>,
    },
}

impl<'s> ContentHash<'s> {
    fn new<'e>(scope: &'s thread::Scope<'s, 'e>, threads: bool, sha: bool) -> ContentHash<'s> {
        if !threads {
            return ContentHash::Inline(Box::new(ContentHasher::new(sha)));
        }
        let (tx, rx) = mpsc::channel::<Vec<Segment>>();
        let handle = scope.spawn(move || {
            let mut hasher = ContentHasher::new(sha);
            for batch in rx {
                for s in &batch {
                    hasher.feed(s);
                }
            }
            hasher.done
        });
        ContentHash::Thread {
            batch: Vec::with_capacity(BATCH_SEGMENTS),
            tx,
            handle,
        }
    }

    fn push(&mut self, s: Segment) {
        match self {
            ContentHash::Inline(h) => h.feed(&s),
            ContentHash::Thread { batch, .. } => {
                batch.push(s);
                if batch.len() >= BATCH_SEGMENTS {
                    self.flush();
                }
            }
        }
    }

    /// Hand the pending segments over (so that they do not hold chunks the reader waits for).
    fn flush(&mut self) {
        if let ContentHash::Thread { batch, tx, .. } = self
            && !batch.is_empty()
        {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH_SEGMENTS));
            drop(tx.send(full));
        }
    }

    fn finish(mut self) -> Result<ContentDone, LayerFailure> {
        self.flush();
        match self {
            ContentHash::Inline(h) => Ok(h.done),
            ContentHash::Thread { tx, handle, .. } => {
                drop(tx);
                handle
                    .join()
                    .map_err(|_| LayerFailure::at(None, "a hashing thread failed"))
            }
        }
    }
}

/// Where a regular file's content lies in the tar stream.
#[derive(Debug, Clone, Copy)]
struct Claim {
    entry: u32,
    start: u64,
    end: u64,
    started: bool,
}

/// The uncompressed tar as a stream of chunks: `Read` for headers, forward `Seek` over
/// content. Every chunk goes to the DiffID hash; claimed content goes to the content hash.
struct TarStream<'s, R> {
    src: R,
    pool: Arc<Pool>,
    cur: Option<Arc<Chunk>>,
    /// Stream offset of the current chunk's first byte, and the position within it.
    cur_start: u64,
    off: usize,
    diff_id: StreamHash<'s>,
    content: ContentHash<'s>,
    claims: Rc<RefCell<VecDeque<Claim>>>,
    missed: bool,
}

impl<'s, R: Read> TarStream<'s, R> {
    fn pos(&self) -> u64 {
        self.cur_start + self.off as u64
    }

    fn remaining(&self) -> usize {
        self.cur
            .as_ref()
            .map_or(0, |c| c.len.saturating_sub(self.off))
    }

    /// Move to the next chunk; false at the end of the stream.
    fn next_chunk(&mut self) -> io::Result<bool> {
        self.content.flush();
        if let Some(old) = self.cur.take() {
            self.cur_start += old.len as u64;
        }
        self.off = 0;
        match Chunk::fill(&mut self.src, &self.pool)? {
            Some(c) => {
                self.diff_id.push(&c);
                self.cur = Some(c);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Pass `n` bytes of the current chunk (n <= remaining), handing claimed content over.
    fn advance(&mut self, n: usize) {
        let (a, b) = (self.pos(), self.pos() + n as u64);
        if let Some(chunk) = &self.cur {
            let mut claims = self.claims.borrow_mut();
            while let Some(c) = claims.front_mut() {
                if c.start >= b {
                    break;
                }
                if !c.started && c.start < a {
                    // Content the stream passed before the walk claimed it: cannot happen
                    // while the tar crate reads headers only; reported, never guessed.
                    self.missed = true;
                }
                c.started = true;
                let c = *c;
                let (s, e) = (c.start.max(a), c.end.min(b));
                if s < e {
                    self.content.push(Segment {
                        entry: c.entry,
                        chunk: Arc::clone(chunk),
                        start: (s - self.cur_start) as usize,
                        end: (e - self.cur_start) as usize,
                        last: e == c.end,
                    });
                }
                if c.end <= b {
                    claims.pop_front();
                } else {
                    break;
                }
            }
        }
        self.off += n;
    }

    /// Pass everything up to the end of the stream.
    fn drain(&mut self) -> io::Result<()> {
        loop {
            let n = self.remaining();
            self.advance(n);
            if !self.next_chunk()? {
                return Ok(());
            }
        }
    }
}

impl<R: Read> Read for TarStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.remaining() == 0 {
            if !self.next_chunk()? {
                return Ok(0);
            }
        }
        let n = self.remaining().min(buf.len());
        let from = self
            .cur
            .as_ref()
            .and_then(|c| c.bytes().get(self.off..self.off + n))
            .unwrap_or(&[]);
        let n = from.len();
        if let Some(to) = buf.get_mut(..n) {
            to.copy_from_slice(from);
        }
        self.advance(n);
        Ok(n)
    }
}

impl<R: Read> Seek for TarStream<'_, R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Current(d) if d >= 0 => self.pos().saturating_add(d as u64),
            SeekFrom::Start(p) if p >= self.pos() => p,
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the layer stream only moves forward",
                ));
            }
        };
        while self.pos() < target {
            if self.remaining() == 0 && !self.next_chunk()? {
                // Seeking past the end would read as a clean end of archive: it is not.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the layer ends inside an entry's content",
                ));
            }
            let n = (target - self.pos()).min(self.remaining() as u64) as usize;
            self.advance(n);
        }
        Ok(self.pos())
    }
}

/// The compressed blob as a `BufRead` over chunks, each also handed to the blob hash.
struct BlobChunks<'s, R> {
    src: R,
    pool: Arc<Pool>,
    cur: Option<Arc<Chunk>>,
    off: usize,
    hash: StreamHash<'s>,
}

impl<R: Read> Read for BlobChunks<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), avail.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for BlobChunks<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.cur.as_ref().is_none_or(|c| self.off >= c.len) {
            self.cur = None;
            self.off = 0;
            if let Some(c) = Chunk::fill(&mut self.src, &self.pool)? {
                self.hash.push(&c);
                self.cur = Some(c);
            }
        }
        Ok(self
            .cur
            .as_ref()
            .and_then(|c| c.bytes().get(self.off..))
            .unwrap_or(&[]))
    }

    fn consume(&mut self, n: usize) {
        self.off += n;
    }
}

impl<R: Read> BlobChunks<'_, R> {
    /// Read (and hash) whatever follows the compressed stream.
    fn drain(&mut self) -> io::Result<()> {
        loop {
            let n = self.fill_buf()?.len();
            if n == 0 {
                return Ok(());
            }
            self.consume(n);
        }
    }
}

/// The window a zstd frame header asks for (RFC 8878 section 3.1.1.1: Window_Descriptor, or
/// Frame_Content_Size for a single-segment frame), `None` when the header is incomplete.
fn zstd_frame_window(head: &[u8]) -> Option<u64> {
    let fhd = *head.get(4)?;
    let single_segment = fhd & 0x20 != 0;
    if !single_segment {
        let wd = *head.get(5)?;
        let log = 10 + u32::from(wd >> 3);
        let base = 1u64 << log;
        return Some(base + (base / 8) * u64::from(wd & 7));
    }
    let dict_len = [0usize, 1, 2, 4][usize::from(fhd & 3)];
    let at = 5 + dict_len;
    match fhd >> 6 {
        0 => head.get(at).map(|b| u64::from(*b)),
        1 => {
            let b = head.get(at..at + 2)?;
            Some(u64::from(u16::from_le_bytes([b[0], b[1]])) + 256)
        }
        2 => {
            let b = head.get(at..at + 4)?;
            Some(u64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]])))
        }
        _ => {
            let b = head.get(at..at + 8)?;
            let mut x = [0u8; 8];
            x.copy_from_slice(b);
            Some(u64::from_le_bytes(x))
        }
    }
}

/// A zstd frame asks for a larger window than the decoder may use (RFC 8878 section
/// 3.1.1.1.2, `Window_Size`): the layer is refused, not decoded. The cause of an
/// [`Error::Layer`](crate::Error::Layer); its text names the library option that raises the
/// limit ([`AnalysisOptions::zstd_window_log_max`](crate::AnalysisOptions::zstd_window_log_max)),
/// and [`ZstdWindowTooLarge::text`] lets a front end name its own.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.text("the zstd_window_log_max option"))]
#[non_exhaustive]
pub struct ZstdWindowTooLarge {
    /// The window the frame asks for, in bytes, when its header says (a window found too
    /// large while decoding is not reported by size).
    pub window_bytes: Option<u64>,
    /// The limit, as a power of two.
    pub window_log_max: u32,
}

impl ZstdWindowTooLarge {
    /// The message, naming `option` as what raises the limit (when raising it can help).
    pub fn text(&self, option: &str) -> String {
        let asks = self.window_bytes.map_or_else(
            || "a frame's window".to_string(),
            |w| format!("the zstd frame's window of {w} bytes"),
        );
        if self
            .window_bytes
            .is_some_and(|w| w > 1u64 << ZSTD_WINDOW_LOG_LIMIT)
        {
            format!(
                "{asks} is larger than any zstd decoder accepts (2^{ZSTD_WINDOW_LOG_LIMIT} bytes)"
            )
        } else {
            format!(
                "{asks} is above the limit of 2^{} bytes; raise it with {option} (up to \
                 {ZSTD_WINDOW_LOG_LIMIT}, what `zstd --long=31` writes)",
                self.window_log_max
            )
        }
    }
}

/// A decompressor's error, shown in the chain as `"{tag} stream: {source}"`.
#[derive(Debug, thiserror::Error)]
#[error("{tag} stream")]
struct StreamError {
    tag: &'static str,
    #[source]
    source: ZstdWindowTooLarge,
}

/// Read one layer blob.
pub(crate) fn read_layer_with(
    reader: impl Read,
    options: &LayerOptions,
) -> Result<LayerContents, LayerFailure> {
    let mut raw = Progress {
        inner: reader,
        counter: options.progress.clone(),
    };
    let raw_pool = Pool::new();
    let first = Chunk::fill(&mut raw, &raw_pool)
        .map_err(|e| LayerFailure::caused(None, "read error", e))?
        .ok_or_else(|| LayerFailure::at(None, "the layer blob is empty"))?;
    let compression = Compression::sniff(first.bytes());
    if compression == Compression::Zstd {
        let window = zstd_frame_window(first.bytes());
        if window.is_some_and(|w| w > 1u64 << options.zstd_window_log_max) {
            return Err(LayerFailure::caused(
                None,
                "",
                ZstdWindowTooLarge {
                    window_bytes: window,
                    window_log_max: options.zstd_window_log_max,
                },
            ));
        }
    }
    let mut contents = LayerContents {
        compression: Some(compression),
        ..Default::default()
    };
    let threads = options.threads;
    thread::scope(|scope| {
        let claims = Rc::new(RefCell::new(VecDeque::new()));
        let tar_pool = Pool::new();
        match compression {
            Compression::None => {
                let mut diff_id = StreamHash::new(scope, threads);
                diff_id.push(&first);
                let stream = TarStream {
                    src: raw,
                    pool: raw_pool,
                    cur: Some(first),
                    cur_start: 0,
                    off: 0,
                    diff_id,
                    content: ContentHash::new(
                        scope,
                        threads,
                        options.content_sha256 && options.reread.is_none(),
                    ),
                    claims: Rc::clone(&claims),
                    missed: false,
                };
                let stream = walk(stream, &claims, &mut contents)?;
                let (hash, size) = stream.diff_id.finish()?;
                if options.content_sha256 {
                    contents.reread.clone_from(&options.reread);
                }
                let streamed = options.content_sha256 && contents.reread.is_none();
                apply_content(&mut contents, stream.content.finish()?, streamed);
                contents.diff_id = sha256_string(&hash);
                contents.tar_size = size;
                contents.blob_digest = contents.diff_id.clone();
                contents.blob_size = size;
            }
            Compression::Gzip | Compression::Zstd => {
                let mut blob_hash = StreamHash::new(scope, threads);
                blob_hash.push(&first);
                let blob = BlobChunks {
                    src: raw,
                    pool: raw_pool,
                    cur: Some(first),
                    off: 0,
                    hash: blob_hash,
                };
                let read_err = |e: io::Error| LayerFailure::caused(None, "read error", e);
                let (hash, size, mut blob) = if compression == Compression::Gzip {
                    let dec = Tagged {
                        inner: flate2::bufread::MultiGzDecoder::new(blob),
                        tag: "gzip",
                    };
                    let (h, n, dec) =
                        decompressed(scope, options, dec, tar_pool, &claims, &mut contents)?;
                    (h, n, dec.inner.into_inner())
                } else {
                    let log_max = options.zstd_window_log_max;
                    let mut zstd = zstd::stream::read::Decoder::with_buffer(blob)
                        .map_err(|e| LayerFailure::caused(None, "zstd stream", e))?;
                    zstd.window_log_max(log_max)
                        .map_err(|e| LayerFailure::caused(None, "zstd stream", e))?;
                    let dec = ZstdLimit {
                        inner: zstd,
                        log_max,
                    };
                    let (h, n, dec) =
                        decompressed(scope, options, dec, tar_pool, &claims, &mut contents)?;
                    (h, n, dec.inner.finish())
                };
                contents.diff_id = sha256_string(&hash);
                contents.tar_size = size;
                blob.drain().map_err(read_err)?;
                let (hash, size) = blob.hash.finish()?;
                contents.blob_digest = sha256_string(&hash);
                contents.blob_size = size;
            }
        }
        Ok(())
    })?;
    Ok(contents)
}

/// Names the option that raises the zstd window limit when a later frame asks for more.
struct ZstdLimit<R> {
    inner: R,
    log_max: u32,
}

impl<R: Read> Read for ZstdLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| {
            let text = e.to_string();
            if text.contains("too much memory") || text.contains("indowLog") {
                io::Error::new(
                    e.kind(),
                    StreamError {
                        tag: "zstd",
                        source: ZstdWindowTooLarge {
                            window_bytes: None,
                            window_log_max: self.log_max,
                        },
                    },
                )
            } else {
                io::Error::new(e.kind(), format!("zstd stream: {e}"))
            }
        })
    }
}

/// Walk the decompressed tar of a compressed blob, hashing as `options` say; the DiffID, tar
/// size and the decoder back.
fn decompressed<'s, 'e, D: Read>(
    scope: &'s thread::Scope<'s, 'e>,
    options: &LayerOptions,
    dec: D,
    pool: Arc<Pool>,
    claims: &Rc<RefCell<VecDeque<Claim>>>,
    contents: &mut LayerContents,
) -> Result<([u8; 32], u64, D), LayerFailure> {
    let stream = TarStream {
        src: dec,
        pool,
        cur: None,
        cur_start: 0,
        off: 0,
        diff_id: StreamHash::new(scope, options.threads),
        content: ContentHash::new(scope, options.threads, options.content_sha256),
        claims: Rc::clone(claims),
        missed: false,
    };
    let stream = walk(stream, claims, contents)?;
    let TarStream {
        src,
        diff_id,
        content,
        ..
    } = stream;
    let (hash, size) = diff_id.finish()?;
    apply_content(contents, content.finish()?, options.content_sha256);
    Ok((hash, size, src))
}

/// Record what the content hasher learned: identities, and (when the stream computed them,
/// `streamed`) every file's sha256, empty and sparse files included.
fn apply_content(contents: &mut LayerContents, hashes: ContentDone, streamed: bool) {
    if streamed {
        contents.shas = vec![[0; 32]; contents.entries.len()];
        for (e, s) in contents.entries.iter().zip(contents.shas.iter_mut()) {
            if e.kind == EntryKind::File && e.size == 0 {
                *s = SHA256_EMPTY;
            }
        }
        for (i, sha) in std::mem::take(&mut contents.known) {
            if let Some(s) = contents.shas.get_mut(i as usize) {
                *s = sha;
            }
        }
    }
    for &(i, id) in &hashes.ids {
        if let Some(e) = contents.entries.get_mut(i as usize) {
            e.id = id;
        }
    }
    for (&(i, _), sha) in hashes.ids.iter().zip(hashes.shas) {
        if let Some(s) = contents.shas.get_mut(i as usize) {
            *s = sha;
        }
    }
}

/// sha256 of no bytes: the content digest of every empty file.
pub(crate) const SHA256_EMPTY: [u8; 32] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Walk the tar entries; gives the stream back, read to its end, so its hashes are complete.
fn walk<'s, R: Read>(
    stream: TarStream<'s, R>,
    claims: &Rc<RefCell<VecDeque<Claim>>>,
    contents: &mut LayerContents,
) -> Result<TarStream<'s, R>, LayerFailure> {
    let mut archive = tar::Archive::new(stream);
    let mut last_path = String::new();
    {
        let entries = archive
            .entries_with_seek()
            .map_err(|e| LayerFailure::caused(None, "not a tar archive", e))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                if last_path.is_empty() {
                    LayerFailure::caused(None, "not a tar archive or corrupt first header", e)
                } else {
                    LayerFailure::caused(
                        Some(&last_path),
                        "corrupt or truncated tar after this entry",
                        e,
                    )
                }
            })?;
            last_path.clear();
            last_path.push_str(&String::from_utf8_lossy(&entry.path_bytes()));
            let raw_path = last_path.as_str();
            let at = |reason: String| LayerFailure::at(Some(raw_path), reason);
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
            let field = |name: &'static str| {
                move |e: io::Error| LayerFailure::caused(Some(raw_path), name, e)
            };
            let mode = numeric(header.mode(), &old.mode).map_err(field("bad mode field"))?;
            let mut uid = numeric(header.uid(), &old.uid).map_err(field("bad uid field"))?;
            let mut gid = numeric(header.gid(), &old.gid).map_err(field("bad gid field"))?;
            let mut mtime =
                numeric(header.mtime(), &old.mtime).map_err(field("bad mtime field"))?;
            let mut xattrs = 0u64;
            if let Ok(Some(pax)) = entry.pax_extensions() {
                let mut h = XattrHash::default();
                for ext in pax.flatten() {
                    let key = ext.key_bytes();
                    let value = ext.value_bytes();
                    match key {
                        b"uid" => uid = parse_pax_number(value).unwrap_or(uid),
                        b"gid" => gid = parse_pax_number(value).unwrap_or(gid),
                        b"mtime" => mtime = parse_pax_number(value).unwrap_or(mtime),
                        k if k.starts_with(b"SCHILY.xattr.") => h.add(k, value),
                        _ => {}
                    }
                }
                xattrs = h.finish();
            }
            let link_raw = match base_kind {
                EntryKind::Symlink | EntryKind::Hardlink => entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned()),
                _ => None,
            };
            let Some((path, kind)) = place_entry(contents, raw_path, base_kind).map_err(at)? else {
                continue;
            };
            let index = u32::try_from(contents.entries.len())
                .map_err(|_| at("more than 2^32 entries in one layer".into()))?;
            let mut size = 0u64;
            let mut id = ContentId::default();
            let mut offset = 0u64;
            if kind == EntryKind::File {
                if entry_type == tar::EntryType::GNUSparse {
                    // The stored bytes of a sparse file are not its content: read it through
                    // the tar crate, which fills the holes, and hash here (rare).
                    let mut h = Sha256::new();
                    let mut x = Xxh3::new();
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = entry.read(&mut buf).map_err(|e| {
                            LayerFailure::caused(Some(raw_path), "cannot read content", e)
                        })?;
                        let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                            break;
                        };
                        h.update(chunk);
                        x.update(chunk);
                        size += n as u64;
                    }
                    id = ContentId(x.digest128().to_le_bytes());
                    contents.known.push((index, h.finalize().into()));
                } else {
                    size = entry.size();
                    offset = entry.raw_file_position();
                    if size == 0 {
                        id = ContentId::of(&[]);
                    } else {
                        // Hashed by the content hasher as the stream passes these bytes.
                        claims.borrow_mut().push_back(Claim {
                            entry: index,
                            start: offset,
                            end: offset.saturating_add(size),
                            started: false,
                        });
                    }
                }
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
            contents
                .push_entry(
                    path_name,
                    link,
                    kind,
                    (mode, uid as u32, gid as u32, mtime),
                    (size, id, offset),
                    xattrs,
                )
                .map_err(at)?;
        }
    }
    // Growth slack would otherwise stay for the whole analysis.
    contents.entries.shrink_to_fit();
    contents.names.shrink_to_fit();
    contents.links.shrink_to_fit();
    contents.xattrs.shrink_to_fit();
    let mut stream = archive.into_inner();
    let at_end = |e: io::Error| LayerFailure::caused(None, "read error after the archive end", e);
    stream.drain().map_err(at_end)?;
    if stream.missed || !claims.borrow().is_empty() {
        let entry = claims
            .borrow()
            .front()
            .and_then(|c| contents.entries.get(c.entry as usize))
            .map(|e| contents.path(e).to_string());
        return Err(LayerFailure {
            entry,
            reason: "the layer ends inside this entry's content".into(),
            source: None,
        });
    }
    Ok(stream)
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
    fn an_entry_stays_small() {
        // An analysis holds every entry of every layer (211,510 in the `many` benchmark
        // image): link targets and xattrs live in side tables, not in each entry.
        assert!(size_of::<Entry>() <= 72, "{} bytes", size_of::<Entry>());
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
        assert_eq!(
            sha256_string(&plain.content_sha256(0).unwrap()),
            crate::digest::sha256_of(b"hello")
        );
        assert_eq!(f.id, ContentId::of(b"hello"));
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
        let err = read_layer(&gz[..], None).unwrap_err().text();
        assert!(
            err.contains("gzip") || err.contains("EOF") || err.contains("eof"),
            "{err}"
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

    fn pseudo_random(len: usize, seed: u8) -> Vec<u8> {
        let mut x = 0x9e37_79b9_u32 ^ u32::from(seed);
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect()
    }

    /// Files that start, end and span chunk boundaries, many small files sharing a chunk, and
    /// empty files: every content sha256 and the DiffID/blob digest equal sha256 computed over
    /// the same bytes directly, with helper threads and without, for each compression.
    #[test]
    fn pipelined_hashes_equal_direct_sha256_at_chunk_boundaries() {
        let sizes = [
            0,
            1,
            CHUNK - 513,
            CHUNK - 512,
            CHUNK,
            CHUNK + 1,
            3 * CHUNK + 17,
            POOL_CHUNKS * CHUNK + 5,
        ];
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, s) in sizes.iter().enumerate() {
            files.push((format!("big/f{i}"), pseudo_random(*s, i as u8)));
        }
        for i in 0..1500 {
            files.push((
                format!("small/s{i:04}"),
                pseudo_random(i % 700, (i % 251) as u8),
            ));
        }
        let mut b = LayerBuilder::new().dir("big").whiteout("gone");
        for (p, d) in &files {
            b = b.file(p, d);
        }
        let tar = b.tar();
        let direct_diff_id = crate::digest::sha256_of(&tar);
        for (blob, compressed) in [(tar.clone(), false), (b.gzip(), true), (b.zstd(), true)] {
            for threads in [true, false] {
                let options = LayerOptions {
                    threads,
                    ..LayerOptions::default()
                };
                let c = read_layer_with(&blob[..], &options).unwrap();
                assert_eq!(c.diff_id, direct_diff_id, "threads {threads}");
                assert_eq!(c.tar_size, tar.len() as u64);
                assert_eq!(c.blob_size, blob.len() as u64);
                assert_eq!(c.blob_digest, crate::digest::sha256_of(&blob));
                assert_eq!(c.blob_digest == c.diff_id, !compressed);
                assert_eq!(file_digests(&c), want_digests(&files), "threads {threads}");
                // Without content sha256: the same digests and identities, no file digest.
                let ids_only = read_layer_with(
                    &blob[..],
                    &LayerOptions {
                        threads,
                        content_sha256: false,
                        ..LayerOptions::default()
                    },
                )
                .unwrap();
                assert_eq!(ids_only.diff_id, c.diff_id);
                assert_eq!(ids_only.blob_digest, c.blob_digest);
                assert!(ids_only.shas.is_empty());
                let ids = |c: &LayerContents| -> Vec<(String, ContentId)> {
                    c.entries
                        .iter()
                        .map(|e| (c.path(e).to_string(), e.id))
                        .collect()
                };
                assert_eq!(ids(&ids_only), ids(&c), "threads {threads}");
                let big = ids_only
                    .entries
                    .iter()
                    .position(|e| e.size > 0)
                    .and_then(|i| u32::try_from(i).ok())
                    .unwrap();
                assert!(ids_only.content_sha256(big).is_err());
            }
        }
        // A plain tar stored in a file: no content sha256 in the stream; each is read again
        // on demand and equals the direct one, identities included.
        let mut stored = tempfile::NamedTempFile::new().unwrap();
        let pad = b"outer archive bytes before the layer";
        std::io::Write::write_all(&mut stored, pad).unwrap();
        std::io::Write::write_all(&mut stored, &tar).unwrap();
        for threads in [true, false] {
            let file = Arc::new(File::open(stored.path()).unwrap());
            let options = LayerOptions {
                threads,
                reread: Some(Reread {
                    file: Arc::clone(&file),
                    start: pad.len() as u64,
                    path: stored.path().to_path_buf(),
                }),
                ..LayerOptions::default()
            };
            let reader = RangeReader::new(file, pad.len() as u64, tar.len() as u64);
            let c = read_layer_with(reader, &options).unwrap();
            assert!(!c.has_inline_sha256());
            assert!(c.shas.is_empty());
            assert_eq!(c.diff_id, direct_diff_id);
            assert_eq!(file_digests(&c), want_digests(&files), "threads {threads}");
        }
    }

    /// (path, size, sha256, identity) of every regular file, the sha256 via `content_sha256`.
    fn file_digests(c: &LayerContents) -> Vec<(String, u64, String, ContentId)> {
        c.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.kind == EntryKind::File)
            .map(|(i, e)| {
                (
                    c.path(e).to_string(),
                    e.size,
                    sha256_string(&c.content_sha256(i as u32).unwrap()),
                    e.id,
                )
            })
            .collect()
    }

    fn want_digests(files: &[(String, Vec<u8>)]) -> Vec<(String, u64, String, ContentId)> {
        files
            .iter()
            .map(|(p, d)| {
                (
                    p.clone(),
                    d.len() as u64,
                    crate::digest::sha256_of(d),
                    ContentId::of(d),
                )
            })
            .collect()
    }

    /// Content read again that is not what the stream passed (the file changed in between)
    /// fails naming the entry, instead of giving the digest of other bytes.
    #[test]
    fn content_read_again_is_checked_against_the_identity() {
        let tar = LayerBuilder::new()
            .file("etc/a", b"first content")
            .file("etc/b", &pseudo_random(CHUNK + 3, 1))
            .tar();
        let mut stored = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut stored, &tar).unwrap();
        let file = Arc::new(File::open(stored.path()).unwrap());
        let options = LayerOptions {
            reread: Some(Reread {
                file: Arc::clone(&file),
                start: 0,
                path: stored.path().to_path_buf(),
            }),
            ..LayerOptions::default()
        };
        let c = read_layer_with(RangeReader::new(file, 0, tar.len() as u64), &options).unwrap();
        let at = c.entries[0].offset as usize;
        let mut changed = tar.clone();
        changed[at] ^= 0xff;
        std::fs::write(stored.path(), &changed).unwrap();
        let err = c.content_sha256(0).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("etc/a"));
        assert!(err.reason.contains("changed"), "{}", err.reason);
        // The other file is untouched and still reads.
        assert_eq!(
            sha256_string(&c.content_sha256(1).unwrap()),
            crate::digest::sha256_of(&pseudo_random(CHUNK + 3, 1))
        );
        // Cut short: the read fails and says where.
        std::fs::write(stored.path(), &tar[..600]).unwrap();
        let err = c.content_sha256(1).unwrap_err();
        assert_eq!(err.entry.as_deref(), Some("etc/b"));
        assert!(
            err.reason.contains("cannot read the content again"),
            "{}",
            err.reason
        );
    }

    #[test]
    fn truncated_inside_a_multi_chunk_file_names_it() {
        let data = pseudo_random(3 * CHUNK, 7);
        let tar = LayerBuilder::new().file("a", b"x").file("big", &data).tar();
        for cut in [CHUNK + 100, 2 * CHUNK + 600] {
            for threads in [true, false] {
                let options = LayerOptions {
                    threads,
                    ..LayerOptions::default()
                };
                let err = read_layer_with(&tar[..cut], &options).unwrap_err();
                assert_eq!(err.entry.as_deref(), Some("big"), "cut {cut}");
            }
        }
    }

    /// A zstd frame header asking for a 2^31-byte window (Window_Descriptor 0xA8: exponent
    /// 21, mantissa 0, RFC 8878 section 3.1.1.1.2) is refused under a lower limit, naming
    /// the option, before anything is decoded; single-segment frames use their content size.
    #[test]
    fn zstd_window_from_the_frame_header() {
        assert_eq!(
            zstd_frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8]),
            Some(1 << 31)
        );
        assert_eq!(
            zstd_frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x59]),
            Some((1 << 21) + (1 << 18))
        );
        // Single segment, 2-byte content size 0x0100 (+256).
        assert_eq!(
            zstd_frame_window(&[0x28, 0xb5, 0x2f, 0xfd, 0x60, 0x00, 0x01]),
            Some(512)
        );
        assert_eq!(zstd_frame_window(&[0x28, 0xb5, 0x2f, 0xfd]), None);
        let options = LayerOptions {
            zstd_window_log_max: 27,
            ..LayerOptions::default()
        };
        let err =
            read_layer_with(&[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa8, 0, 0][..], &options).unwrap_err();
        // The limit travels as a value, so that a front end can name its own option.
        let limit = err
            .source
            .as_deref()
            .and_then(|c| c.downcast_ref::<ZstdWindowTooLarge>())
            .expect("a ZstdWindowTooLarge cause");
        assert_eq!(limit.window_bytes, Some(1 << 31));
        assert_eq!(limit.window_log_max, 27);
        let text = err.text();
        assert!(text.contains("2147483648 bytes"), "{text}");
        assert!(text.contains("2^27"), "{text}");
        assert!(text.contains("the zstd_window_log_max option"), "{text}");
        assert!(limit.text("--flag").contains("raise it with --flag"));
        // 2^32 is beyond every decoder: no option helps, and the message says so.
        let err = read_layer_with(
            &[0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xb0, 0, 0][..],
            &LayerOptions::default(),
        )
        .unwrap_err()
        .text();
        assert!(err.contains("larger than any zstd decoder"), "{err}");
    }
}
