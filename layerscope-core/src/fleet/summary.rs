//! The per-layer summary: what a fleet needs from one layer, read once, kept in a small
//! versioned file that any worker can write and a merge step can read (docs/fleet.md).
//!
//! A summary is keyed by the layer's DiffID (the sha256 of the uncompressed tar, image-spec
//! config.md `rootfs.diff_ids`), so the same layer compressed differently in two images is
//! summarised once.
//!
//! File format, version 2 (all integers little-endian):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `LSLAYER\n` |
//! | 8 | 4 | format version (`2`) |
//! | 12 | 4 | flags (`0`; readers reject other values) |
//! | 16 | 32 | DiffID (raw sha256) |
//! | 48 | 8 | `tar_size`: bytes of the uncompressed tar |
//! | 56 | 8 | `size_bytes`: sum of the regular files' content bytes |
//! | 64 | 8 | `entries`: tar entries recorded (every kind) |
//! | 72 | 8 | `n`: file records |
//! | 80 | 8 | `names_len`: bytes of the name area |
//! | 88 | 8 | `m`: extra contents |
//! | 96 | 48 x n | file records: sha256 (32), size (8), path offset (4), path length (4) |
//! | ... | 24 x entries | entry records, in tar order: kind (1), zero (3), path offset (4), path length (4), link offset (4), link length (4), content (4) |
//! | ... | 40 x m | extra contents: sha256 (32), size (8) |
//! | ... | names_len | paths and link targets, UTF-8, concatenated (no separators) |
//! | end - 32 | 32 | sha256 of every byte before it |
//!
//! File records are the layer's regular files (hardlinks, which share a target's bytes, and
//! whiteouts, which ship none, are left out), sorted by (sha256, path), one per path (the
//! last tar entry for a path wins, image-spec layer.md "Changeset over existing files").
//! Entry records are every tar entry in order, so that the layer's effect on the merged
//! filesystem (whiteouts, opaque directories, links) can be replayed without the layer:
//! kind is 0 file, 1 directory, 2 symlink, 3 hardlink, 4 character device, 5 block device,
//! 6 fifo, 7 whiteout, 8 opaque marker; a link length of `u32::MAX` means no link; content
//! is, for a regular file, the index of its file record (below `n`) or, for an entry that a
//! later entry of the same path replaced, `n` plus an index in the extra contents; otherwise
//! `u32::MAX`. The trailing checksum makes a truncated or altered file detectable: a reader
//! that finds a mismatch must read the layer again, never use the entry.

use crate::digest::{sha256_string, to_hex};
use crate::layer::{EntryKind, LayerContents};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;

/// Magic bytes opening every summary file.
pub const SUMMARY_MAGIC: &[u8; 8] = b"LSLAYER\n";
/// The summary file format version this build writes and reads.
pub const SUMMARY_VERSION: u32 = 2;

const HEADER_LEN: usize = 96;
const RECORD_LEN: usize = 48;
const ENTRY_LEN: usize = 24;
const EXTRA_LEN: usize = 40;
const TRAILER_LEN: usize = 32;
/// "No link" and "no content" in an entry record.
const NONE: u32 = u32::MAX;

/// One regular file of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// sha256 of the content.
    pub sha256: [u8; 32],
    /// Content bytes.
    pub size: u64,
    /// Path inside the layer, cleaned (no leading `/` or `./`).
    pub path: String,
}

/// What a fleet keeps of one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerSummary {
    /// `sha256:<hex>` of the uncompressed tar.
    pub diff_id: String,
    /// Bytes of the uncompressed tar.
    pub tar_size: u64,
    /// Sum of the regular files' content bytes (the layer `size_bytes` of `analyze`).
    pub size_bytes: u64,
    /// Tar entries recorded, of every kind.
    pub entries: u64,
    /// Regular files, sorted by (sha256, path).
    pub files: Vec<FileSummary>,
    /// Every tar entry, in tar order (`entries` of them).
    pub tree: Vec<EntrySummary>,
}

/// One tar entry of a layer, as the merged filesystem needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntrySummary {
    /// What the entry makes.
    pub kind: EntryKind,
    /// Path inside the layer, cleaned; for a whiteout or opaque marker, the path it removes
    /// or the directory it makes opaque.
    pub path: String,
    /// Symlink target, or the path a hardlink points at.
    pub link: Option<String>,
    /// For a regular file: content sha256 and size.
    pub content: Option<([u8; 32], u64)>,
}

fn kind_code(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
        EntryKind::Hardlink => 3,
        EntryKind::CharDevice => 4,
        EntryKind::BlockDevice => 5,
        EntryKind::Fifo => 6,
        EntryKind::Whiteout => 7,
        EntryKind::Opaque => 8,
    }
}

fn kind_of(code: u8) -> Option<EntryKind> {
    Some(match code {
        0 => EntryKind::File,
        1 => EntryKind::Dir,
        2 => EntryKind::Symlink,
        3 => EntryKind::Hardlink,
        4 => EntryKind::CharDevice,
        5 => EntryKind::BlockDevice,
        6 => EntryKind::Fifo,
        7 => EntryKind::Whiteout,
        8 => EntryKind::Opaque,
        _ => return None,
    })
}

/// Why a summary file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryDefect(pub String);

impl std::fmt::Display for SummaryDefect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl LayerSummary {
    /// Summarise a layer that was just read.
    pub(crate) fn from_contents(c: &LayerContents) -> LayerSummary {
        // Last entry for a path wins within one layer.
        let mut by_path: hashbrown::HashMap<&str, (u64, [u8; 32])> = hashbrown::HashMap::new();
        let mut size_bytes = 0u64;
        for (i, e) in c.entries.iter().enumerate() {
            let path = c.path(e);
            match e.kind {
                EntryKind::File => {
                    size_bytes += e.size;
                    // Fleet reads layers with every content sha256 computed in the stream
                    // (`read_layer`), so this is a lookup that cannot fail.
                    let sha = c.content_sha256(i as u32).unwrap_or_default();
                    by_path.insert(path, (e.size, sha));
                }
                _ => {
                    by_path.remove(path);
                }
            }
        }
        let mut files: Vec<FileSummary> = by_path
            .into_iter()
            .map(|(path, (size, sha256))| FileSummary {
                sha256,
                size,
                path: path.to_string(),
            })
            .collect();
        files.sort_unstable_by(|a, b| a.sha256.cmp(&b.sha256).then_with(|| a.path.cmp(&b.path)));
        let tree = c
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| EntrySummary {
                kind: e.kind,
                path: c.path(e).to_string(),
                link: c.link(e).map(str::to_string),
                // Fleet reads layers with every content sha256 kept: a lookup.
                content: (e.kind == EntryKind::File)
                    .then(|| (c.content_sha256(i as u32).unwrap_or_default(), e.size)),
            })
            .collect();
        LayerSummary {
            diff_id: c.diff_id.clone(),
            tar_size: c.tar_size,
            size_bytes,
            entries: c.entries.len() as u64,
            files,
            tree,
        }
    }

    /// The layer as the merged-filesystem code reads it (entries in tar order; modes,
    /// owners and times are not kept and read as zero).
    pub(crate) fn to_contents(&self) -> Option<LayerContents> {
        let mut c = LayerContents::default();
        c.diff_id = self.diff_id.clone();
        c.tar_size = self.tar_size;
        c.entries.reserve(self.tree.len());
        for t in &self.tree {
            // A summary keeps sha256 values, not bytes: the entries compare by them.
            let (sha256, size) = t.content.unwrap_or(([0; 32], 0));
            c.push_listed(
                &t.path,
                t.kind,
                t.link.as_deref(),
                0,
                0,
                0,
                0,
                size,
                sha256,
                0,
            )
            .ok()?;
        }
        Some(c)
    }

    /// The file format above, as bytes.
    ///
    /// # Errors
    /// A DiffID that is not `sha256:<64 hex>`, or paths exceeding 4 GiB in total.
    pub fn encode(&self) -> Result<Vec<u8>, SummaryDefect> {
        let raw = decode_digest(&self.diff_id).ok_or_else(|| {
            SummaryDefect(format!("DiffID {:?} is not sha256:<hex>", self.diff_id))
        })?;
        if self.tree.len() as u64 != self.entries {
            return Err(SummaryDefect(format!(
                "{} entry records for {} entries",
                self.tree.len(),
                self.entries
            )));
        }
        let too_big = || SummaryDefect("names exceed 4 GiB".into());
        // The name area: file paths first (in record order), then the other names once each.
        let mut names = String::new();
        let mut at: HashMap<&str, u32> = HashMap::new();
        let mut file_index: HashMap<(&str, [u8; 32], u64), u32> = HashMap::new();
        let mut offsets = Vec::with_capacity(self.files.len());
        for (i, f) in self.files.iter().enumerate() {
            let off = u32::try_from(names.len()).map_err(|_| too_big())?;
            names.push_str(&f.path);
            at.entry(&f.path).or_insert(off);
            offsets.push(off);
            file_index.insert((&f.path, f.sha256, f.size), i as u32);
        }
        fn intern<'s>(
            at: &mut HashMap<&'s str, u32>,
            names: &mut String,
            s: &'s str,
        ) -> Result<u32, SummaryDefect> {
            if let Some(&o) = at.get(s) {
                return Ok(o);
            }
            let off = u32::try_from(names.len())
                .map_err(|_| SummaryDefect("names exceed 4 GiB".into()))?;
            names.push_str(s);
            at.insert(s, off);
            Ok(off)
        }
        // The last entry of a path is the one its file record describes; earlier copies of
        // the path go to the extra contents.
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, t) in self.tree.iter().enumerate() {
            last.insert(&t.path, i);
        }
        let mut entries = Vec::with_capacity(self.tree.len() * ENTRY_LEN);
        let mut extra: Vec<([u8; 32], u64)> = Vec::new();
        let n = u32::try_from(self.files.len()).map_err(|_| too_big())?;
        for (i, t) in self.tree.iter().enumerate() {
            let path_off = intern(&mut at, &mut names, &t.path)?;
            let (link_off, link_len) = match &t.link {
                Some(l) => (
                    intern(&mut at, &mut names, l)?,
                    u32::try_from(l.len()).map_err(|_| too_big())?,
                ),
                None => (0, NONE),
            };
            let content = match (t.kind, t.content) {
                (EntryKind::File, Some((sha, size))) => {
                    let record = (last.get(t.path.as_str()) == Some(&i))
                        .then(|| file_index.get(&(t.path.as_str(), sha, size)))
                        .flatten();
                    match record {
                        Some(&r) => r,
                        None => {
                            extra.push((sha, size));
                            n.checked_add(u32::try_from(extra.len() - 1).map_err(|_| too_big())?)
                                .filter(|&c| c != NONE)
                                .ok_or_else(too_big)?
                        }
                    }
                }
                (EntryKind::File, None) => {
                    return Err(SummaryDefect(format!(
                        "entry {i} ({:?}) is a regular file without content",
                        t.path
                    )));
                }
                _ => NONE,
            };
            entries.push(kind_code(t.kind));
            entries.extend_from_slice(&[0, 0, 0]);
            entries.extend_from_slice(&path_off.to_le_bytes());
            entries.extend_from_slice(&(t.path.len() as u32).to_le_bytes());
            entries.extend_from_slice(&link_off.to_le_bytes());
            entries.extend_from_slice(&link_len.to_le_bytes());
            entries.extend_from_slice(&content.to_le_bytes());
        }
        u32::try_from(names.len()).map_err(|_| too_big())?;
        let mut out = Vec::with_capacity(
            HEADER_LEN
                + RECORD_LEN * self.files.len()
                + entries.len()
                + EXTRA_LEN * extra.len()
                + names.len()
                + TRAILER_LEN,
        );
        out.extend_from_slice(SUMMARY_MAGIC);
        out.extend_from_slice(&SUMMARY_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&raw);
        for v in [
            self.tar_size,
            self.size_bytes,
            self.entries,
            self.files.len() as u64,
            names.len() as u64,
            extra.len() as u64,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for (f, off) in self.files.iter().zip(&offsets) {
            out.extend_from_slice(&f.sha256);
            out.extend_from_slice(&f.size.to_le_bytes());
            out.extend_from_slice(&off.to_le_bytes());
            out.extend_from_slice(&(f.path.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(&entries);
        for (sha, size) in &extra {
            out.extend_from_slice(sha);
            out.extend_from_slice(&size.to_le_bytes());
        }
        out.extend_from_slice(names.as_bytes());
        let sum: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&sum);
        Ok(out)
    }

    /// Read a summary file's bytes, checking magic, version, checksum and structure.
    ///
    /// # Errors
    /// Anything that makes the file unusable, described in one sentence.
    pub fn decode(bytes: &[u8]) -> Result<LayerSummary, SummaryDefect> {
        let view = SummaryView::parse(bytes)?;
        let mut files = Vec::with_capacity(view.len());
        for i in 0..view.len() {
            let (sha256, size, path) = view.record(i)?;
            files.push(FileSummary {
                sha256,
                size,
                path: path.to_string(),
            });
        }
        let tree = (0..view.entries as usize)
            .map(|i| view.entry(i))
            .collect::<Result<_, _>>()?;
        Ok(LayerSummary {
            diff_id: view.diff_id(),
            tar_size: view.tar_size,
            size_bytes: view.size_bytes,
            entries: view.entries,
            files,
            tree,
        })
    }
}

/// A checked summary file, read in place (the fleet's merge walks records without copying
/// paths it does not need).
#[derive(Debug)]
pub(crate) struct SummaryView<'a> {
    diff_id: [u8; 32],
    pub(crate) tar_size: u64,
    pub(crate) size_bytes: u64,
    pub(crate) entries: u64,
    records: &'a [u8],
    tree: &'a [u8],
    extra: &'a [u8],
    names: &'a [u8],
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        a.copy_from_slice(s);
    }
    u64::from_le_bytes(a)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

impl<'a> SummaryView<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<SummaryView<'a>, SummaryDefect> {
        let bad = |s: &str| Err(SummaryDefect(s.to_string()));
        if bytes.len() < HEADER_LEN + TRAILER_LEN {
            return bad("shorter than a summary header: truncated");
        }
        if &bytes[..8] != SUMMARY_MAGIC {
            return bad("not a layerscope layer summary (bad magic)");
        }
        let version = u32_at(bytes, 8);
        if version != SUMMARY_VERSION {
            return Err(SummaryDefect(format!(
                "summary format version {version}, this build reads {SUMMARY_VERSION}"
            )));
        }
        if u32_at(bytes, 12) != 0 {
            return bad("unknown flags");
        }
        let (body, sum) = bytes.split_at(bytes.len() - TRAILER_LEN);
        let actual: [u8; 32] = Sha256::digest(body).into();
        if actual[..] != sum[..] {
            return bad("checksum mismatch: the file is corrupt or truncated");
        }
        let n = u64_at(bytes, 72);
        let names_len = u64_at(bytes, 80);
        let m = u64_at(bytes, 88);
        let entries = u64_at(bytes, 64);
        let sections = [
            (n, RECORD_LEN as u64),
            (entries, ENTRY_LEN as u64),
            (m, EXTRA_LEN as u64),
        ];
        let expected = sections
            .iter()
            .try_fold(HEADER_LEN as u64 + names_len, |acc, (count, len)| {
                count.checked_mul(*len).and_then(|b| acc.checked_add(b))
            });
        if expected != Some(body.len() as u64) {
            return bad("record counts and name area do not match the file length");
        }
        if names_len > u64::from(u32::MAX) || n + m >= u64::from(NONE) {
            return bad("more names or contents than the records can address");
        }
        let files_end = HEADER_LEN + n as usize * RECORD_LEN;
        let tree_end = files_end + entries as usize * ENTRY_LEN;
        let extra_end = tree_end + m as usize * EXTRA_LEN;
        let mut diff_id = [0u8; 32];
        diff_id.copy_from_slice(&bytes[16..48]);
        Ok(SummaryView {
            diff_id,
            tar_size: u64_at(bytes, 48),
            size_bytes: u64_at(bytes, 56),
            entries,
            records: &body[HEADER_LEN..files_end],
            tree: &body[files_end..tree_end],
            extra: &body[tree_end..extra_end],
            names: &body[extra_end..],
        })
    }

    pub(crate) fn diff_id(&self) -> String {
        sha256_string(&self.diff_id)
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len() / RECORD_LEN
    }

    fn name(&self, off: u32, len: u32, what: &str) -> Result<&'a str, SummaryDefect> {
        let (off, len) = (off as usize, len as usize);
        let name = self
            .names
            .get(off..off + len)
            .ok_or_else(|| SummaryDefect(format!("{what}: name outside the name area")))?;
        std::str::from_utf8(name).map_err(|_| SummaryDefect(format!("{what}: name is not UTF-8")))
    }

    /// Entry `i`, in tar order.
    pub(crate) fn entry(&self, i: usize) -> Result<EntrySummary, SummaryDefect> {
        let what = format!("entry {i}");
        let at = i * ENTRY_LEN;
        let r = self
            .tree
            .get(at..at + ENTRY_LEN)
            .ok_or_else(|| SummaryDefect(format!("{what} is out of range")))?;
        let kind = kind_of(r[0])
            .filter(|_| r[1..4] == [0, 0, 0])
            .ok_or_else(|| SummaryDefect(format!("{what}: unknown kind {}", r[0])))?;
        let path = self.name(u32_at(r, 4), u32_at(r, 8), &what)?.to_string();
        let link = match u32_at(r, 16) {
            NONE => None,
            len => Some(self.name(u32_at(r, 12), len, &what)?.to_string()),
        };
        let content = match (kind, u32_at(r, 20)) {
            (_, NONE) if kind != EntryKind::File => None,
            (EntryKind::File, c) if (c as usize) < self.len() => {
                let (sha, size, file) = self.record(c as usize)?;
                if file != path {
                    return Err(SummaryDefect(format!(
                        "{what} ({path:?}) points at the file record of {file:?}"
                    )));
                }
                Some((sha, size))
            }
            (EntryKind::File, c) => {
                let x = (c as usize - self.len()) * EXTRA_LEN;
                let e = self
                    .extra
                    .get(x..x + EXTRA_LEN)
                    .ok_or_else(|| SummaryDefect(format!("{what}: content out of range")))?;
                let mut sha = [0u8; 32];
                sha.copy_from_slice(&e[..32]);
                Some((sha, u64_at(e, 32)))
            }
            _ => {
                return Err(SummaryDefect(format!(
                    "{what}: content on an entry that is not a regular file"
                )));
            }
        };
        Ok(EntrySummary {
            kind,
            path,
            link,
            content,
        })
    }

    /// Record `i`: content sha256, size, path.
    pub(crate) fn record(&self, i: usize) -> Result<([u8; 32], u64, &'a str), SummaryDefect> {
        let at = i * RECORD_LEN;
        let r = self
            .records
            .get(at..at + RECORD_LEN)
            .ok_or_else(|| SummaryDefect(format!("record {i} is out of range")))?;
        let mut sha = [0u8; 32];
        sha.copy_from_slice(&r[..32]);
        let size = u64_at(r, 32);
        let path = self.name(u32_at(r, 40), u32_at(r, 44), &format!("record {i}"))?;
        Ok((sha, size, path))
    }
}

/// Raw bytes of `sha256:<64 hex>`.
pub(crate) fn decode_digest(d: &str) -> Option<[u8; 32]> {
    let hex = crate::digest::sha256_hex(d)?;
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The cache file name of a DiffID (`<hex>.lsum`).
pub(crate) fn file_name(diff_id: &str) -> Option<String> {
    decode_digest(diff_id).map(|raw| format!("{}.lsum", to_hex(&raw)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layer::read_layer;
    use crate::testkit::LayerBuilder;

    fn summary() -> LayerSummary {
        let tar = LayerBuilder::new()
            .dir("etc")
            .file("etc/a", b"hello")
            .file("etc/b", b"hello")
            .file("etc/c", b"")
            .file("etc/a", b"rewritten")
            .symlink("etc/l", "a")
            .hardlink("etc/h", "etc/b")
            .whiteout("gone")
            .tar();
        LayerSummary::from_contents(&read_layer(&tar[..], None).unwrap())
    }

    #[test]
    fn last_entry_wins_and_only_regular_files_are_kept() {
        let s = summary();
        let paths: Vec<_> = s.files.iter().map(|f| (f.path.as_str(), f.size)).collect();
        // Sorted by sha256: sha256("") = e3b0..., "hello" = 2cf2..., "rewritten" = ...
        let mut expected = vec![("etc/a", 9), ("etc/b", 5), ("etc/c", 0)];
        expected.sort_by_key(|(p, _)| {
            let f = s.files.iter().find(|f| f.path == *p).unwrap();
            f.sha256
        });
        assert_eq!(paths, expected);
        // Both copies of etc/a shipped bytes: 5 + 5 + 0 + 9.
        assert_eq!(s.size_bytes, 19);
        assert_eq!(s.entries, 8);
    }

    /// Replaying a layer from its summary's entry records gives the merged filesystem the
    /// layer itself gives: whiteouts, opaque directories, symlinks, hardlinks (one to a copy
    /// of a path that a later entry replaced) and a directory replaced by a symlink.
    #[test]
    fn entries_replay_the_merged_filesystem() {
        let layers = [
            LayerBuilder::new()
                .dir("etc")
                .file("etc/a", b"first")
                .file("etc/gone", b"deleted later")
                .file("var/cache/x", b"hidden by opaque")
                .file("opt/d/y", b"under a dir that becomes a symlink")
                .symlink("etc/l", "a")
                .tar(),
            LayerBuilder::new()
                .file("etc/a", b"old")
                .hardlink("etc/keep", "etc/a")
                .file("etc/a", b"new")
                .whiteout("etc/gone")
                .opaque("var/cache")
                .file("var/cache/z", b"z")
                .symlink("opt/d", "/elsewhere")
                .symlink("etc/l", "keep")
                .tar(),
        ];
        let direct: Vec<LayerContents> = layers
            .iter()
            .map(|t| read_layer(&t[..], None).unwrap())
            .collect();
        let replayed: Vec<LayerContents> = direct
            .iter()
            .map(|c| {
                let bytes = LayerSummary::from_contents(c).encode().unwrap();
                LayerSummary::decode(&bytes).unwrap().to_contents().unwrap()
            })
            .collect();
        let view = |layers: &[LayerContents]| {
            let tree = crate::tree::Tree::merge(layers);
            let links = crate::analysis::symlink_targets(layers, &tree);
            let files: Vec<(String, EntryKind, u64, [u8; 32])> = tree
                .listing(layers, true)
                .into_iter()
                .map(|v| {
                    let sha = crate::layer::kept_sha256(layers, v.source);
                    (v.path, v.kind, v.size, sha)
                })
                .collect();
            let mut links: Vec<(String, String)> = links.into_iter().collect();
            links.sort();
            (files, links)
        };
        let (files, links) = view(&replayed);
        assert_eq!((&files, &links), (&view(&direct).0, &view(&direct).1));
        let paths: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "etc",
                "etc/a",
                "etc/keep",
                "etc/l",
                "opt",
                "opt/d",
                "var",
                "var/cache",
                "var/cache/z"
            ]
        );
        // etc/keep still holds the replaced copy of etc/a.
        let keep = files.iter().find(|f| f.0 == "etc/keep").unwrap();
        assert_eq!(keep.3, <[u8; 32]>::from(Sha256::digest(b"old")));
        assert_eq!(
            links,
            [
                ("etc/l".to_string(), "keep".to_string()),
                ("opt/d".to_string(), "/elsewhere".to_string())
            ]
        );
    }

    #[test]
    fn round_trip() {
        let s = summary();
        let bytes = s.encode().unwrap();
        assert_eq!(LayerSummary::decode(&bytes).unwrap(), s);
    }

    #[test]
    fn every_single_byte_flip_and_truncation_is_detected() {
        let bytes = summary().encode().unwrap();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(LayerSummary::decode(&b).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(
                LayerSummary::decode(&bytes[..n]).is_err(),
                "truncation to {n} accepted"
            );
        }
    }

    #[test]
    fn other_versions_are_refused_by_name() {
        let mut b = summary().encode().unwrap();
        b[8] = 3;
        let n = b.len();
        let sum: [u8; 32] = Sha256::digest(&b[..n - 32]).into();
        b[n - 32..].copy_from_slice(&sum);
        let e = LayerSummary::decode(&b).unwrap_err();
        assert!(e.0.contains("version 3"), "{e}");
    }
}
