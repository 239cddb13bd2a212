//! The per-layer summary: what a fleet needs from one layer, read once, kept in a small
//! versioned file that any worker can write and a merge step can read (docs/fleet.md).
//!
//! A summary is keyed by the layer's DiffID (the sha256 of the uncompressed tar, image-spec
//! config.md `rootfs.diff_ids`), so the same layer compressed differently in two images is
//! summarised once.
//!
//! File format, version 1 (all integers little-endian):
//!
//! | offset | bytes | field |
//! |---|---|---|
//! | 0 | 8 | magic `LSLAYER\n` |
//! | 8 | 4 | format version (`1`) |
//! | 12 | 4 | flags (`0`; readers reject other values) |
//! | 16 | 32 | DiffID (raw sha256) |
//! | 48 | 8 | `tar_size`: bytes of the uncompressed tar |
//! | 56 | 8 | `size_bytes`: sum of the regular files' content bytes |
//! | 64 | 8 | `entries`: tar entries recorded (every kind) |
//! | 72 | 8 | `n`: file records |
//! | 80 | 8 | `names_len`: bytes of the path area |
//! | 88 | 48 x n | records: sha256 (32), size (8), path offset (4), path length (4) |
//! | ... | names_len | paths, UTF-8, concatenated (no separators) |
//! | end - 32 | 32 | sha256 of every byte before it |
//!
//! Records are the layer's regular files (hardlinks, which share a target's bytes, and
//! whiteouts, which ship none, are left out), sorted by (sha256, path), one per path (the
//! last tar entry for a path wins, image-spec layer.md "Changeset over existing files").
//! The trailing checksum makes a truncated or altered file detectable: a reader that finds a
//! mismatch must read the layer again, never use the entry.

use crate::digest::{sha256_string, to_hex};
use crate::layer::{EntryKind, LayerContents};
use sha2::{Digest as _, Sha256};

/// Magic bytes opening every summary file.
pub const SUMMARY_MAGIC: &[u8; 8] = b"LSLAYER\n";
/// The summary file format version this build writes and reads.
pub const SUMMARY_VERSION: u32 = 1;

const HEADER_LEN: usize = 88;
const RECORD_LEN: usize = 48;
const TRAILER_LEN: usize = 32;

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
        LayerSummary {
            diff_id: c.diff_id.clone(),
            tar_size: c.tar_size,
            size_bytes,
            entries: c.entries.len() as u64,
            files,
        }
    }

    /// The file format above, as bytes.
    ///
    /// # Errors
    /// A DiffID that is not `sha256:<64 hex>`, or paths exceeding 4 GiB in total.
    pub fn encode(&self) -> Result<Vec<u8>, SummaryDefect> {
        let raw = decode_digest(&self.diff_id).ok_or_else(|| {
            SummaryDefect(format!("DiffID {:?} is not sha256:<hex>", self.diff_id))
        })?;
        let names_len: usize = self.files.iter().map(|f| f.path.len()).sum();
        if u32::try_from(names_len).is_err() {
            return Err(SummaryDefect("paths exceed 4 GiB".into()));
        }
        let mut out =
            Vec::with_capacity(HEADER_LEN + RECORD_LEN * self.files.len() + names_len + 32);
        out.extend_from_slice(SUMMARY_MAGIC);
        out.extend_from_slice(&SUMMARY_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&raw);
        for v in [
            self.tar_size,
            self.size_bytes,
            self.entries,
            self.files.len() as u64,
            names_len as u64,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let mut offset = 0u32;
        for f in &self.files {
            out.extend_from_slice(&f.sha256);
            out.extend_from_slice(&f.size.to_le_bytes());
            out.extend_from_slice(&offset.to_le_bytes());
            let len = f.path.len() as u32;
            out.extend_from_slice(&len.to_le_bytes());
            offset += len;
        }
        for f in &self.files {
            out.extend_from_slice(f.path.as_bytes());
        }
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
        Ok(LayerSummary {
            diff_id: view.diff_id(),
            tar_size: view.tar_size,
            size_bytes: view.size_bytes,
            entries: view.entries,
            files,
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
        let records_len = n
            .checked_mul(RECORD_LEN as u64)
            .and_then(|r| r.checked_add(names_len))
            .and_then(|r| r.checked_add(HEADER_LEN as u64));
        if records_len != Some(body.len() as u64) {
            return bad("record count and path area do not match the file length");
        }
        let split = HEADER_LEN + n as usize * RECORD_LEN;
        let mut diff_id = [0u8; 32];
        diff_id.copy_from_slice(&bytes[16..48]);
        Ok(SummaryView {
            diff_id,
            tar_size: u64_at(bytes, 48),
            size_bytes: u64_at(bytes, 56),
            entries: u64_at(bytes, 64),
            records: &body[HEADER_LEN..split],
            names: &body[split..],
        })
    }

    pub(crate) fn diff_id(&self) -> String {
        sha256_string(&self.diff_id)
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len() / RECORD_LEN
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
        let off = u32_at(r, 40) as usize;
        let len = u32_at(r, 44) as usize;
        let name = self
            .names
            .get(off..off + len)
            .ok_or_else(|| SummaryDefect(format!("record {i}: path outside the path area")))?;
        let path = std::str::from_utf8(name)
            .map_err(|_| SummaryDefect(format!("record {i}: path is not UTF-8")))?;
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
        b[8] = 2;
        let n = b.len();
        let sum: [u8; 32] = Sha256::digest(&b[..n - 32]).into();
        b[n - 32..].copy_from_slice(&sum);
        let e = LayerSummary::decode(&b).unwrap_err();
        assert!(e.0.contains("version 2"), "{e}");
    }
}
