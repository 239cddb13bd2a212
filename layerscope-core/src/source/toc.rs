//! Layers that carry a table of contents (TOC), read from a registry with `Range` requests
//! instead of fetching the whole blob (`--toc`).
//!
//! - eStargz (stargz-snapshotter docs/estargz.md): a gzip layer whose last 51 bytes are a
//!   footer, an empty gzip member whose extra field (RFC 1952 section 2.3.1.1, subfield
//!   `SG`) holds `%016x` of the TOC's offset followed by `STARGZ`. The TOC is the gzip member
//!   from that offset to the footer: a tar entry `stargz.index.json` (then the tar's end) whose
//!   JSON lists every other tar entry with its type, mode, owner, mtime, size, link target,
//!   xattrs and, for regular files, the sha256 of the content. The layer descriptor's
//!   annotation `containerd.io/snapshot/stargz/toc.digest` is the sha256 of that JSON, and
//!   `io.containers.estargz.uncompressed-size` the size of the uncompressed tar.
//! - zstd:chunked (containers/storage pkg/chunked): the manifest sits in a zstd skippable
//!   frame; the annotations `io.github.containers.zstd-chunked.manifest-position` (or the
//!   older `io.containers.zstd-chunked.manifest-position`, written by skopeo 1.9) give
//!   `offset:length:uncompressed_length:type` and `...manifest-checksum` its digest. The
//!   manifest is fetched and verified, but it records no uncompressed tar size (the tar
//!   headers live only in the blob's own frames), so such a layer is read in full.
//!
//! What a TOC cannot give: the layer's DiffID (the sha256 of the whole uncompressed tar)
//! and the blob's digest cannot be verified without every byte of the blob, and the TOC of an
//! altered blob may still match its annotation. The report marks such a layer (`toc` on the
//! layer) and says so in a warning. A layer whose TOC is absent, does not match its
//! annotation, cannot be fetched by range, or lacks a figure (the tar size) is read in full,
//! with a warning naming the cause; the full read verifies the digest and the DiffID.
//!
//! The TOC's own tar entry (`stargz.index.json`) is a file of the layer for a tar reader
//! (a non-lazy puller extracts it) unless the writer kept the tar's end-of-archive blocks
//! before it, as BuildKit does; [`toc_entry_visible`] tells which from the gzip trailer of the
//! member before the TOC. When visible, it is read from the fetched TOC member by the same tar
//! walk that reads whole layers, and listed last, where the tar has it.

use super::LayerRef;
use super::registry::Registry;
use crate::layer::{
    EntryKind, LayerContents, LayerOptions, SHA256_EMPTY, XattrHash, place_entry, read_layer_with,
};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read;

/// eStargz: sha256 of the TOC JSON.
pub(crate) const ESTARGZ_TOC_DIGEST: &str = "containerd.io/snapshot/stargz/toc.digest";
/// eStargz: bytes of the uncompressed tar (written by BuildKit and containers/image).
pub(crate) const ESTARGZ_UNCOMPRESSED_SIZE: &str = "io.containers.estargz.uncompressed-size";
/// zstd:chunked manifest annotations, current and older names.
const ZSTD_CHUNKED_CHECKSUM: [&str; 2] = [
    "io.github.containers.zstd-chunked.manifest-checksum",
    "io.containers.zstd-chunked.manifest-checksum",
];
const ZSTD_CHUNKED_POSITION: [&str; 2] = [
    "io.github.containers.zstd-chunked.manifest-position",
    "io.containers.zstd-chunked.manifest-position",
];

/// The eStargz footer's size (estargz.md "Footer").
const FOOTER_SIZE: u64 = 51;
/// The name of the TOC's tar entry.
const TOC_TAR_NAME: &str = "stargz.index.json";
/// Largest TOC fetched (compressed) or inflated.
const TOC_LIMIT: u64 = 256 * 1024 * 1024;

/// Which table of contents a layer was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TocFormat {
    /// eStargz (stargz-snapshotter).
    Estargz,
    /// zstd:chunked (containers/storage).
    ZstdChunked,
}

impl std::fmt::Display for TocFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TocFormat::Estargz => "eStargz",
            TocFormat::ZstdChunked => "zstd:chunked",
        })
    }
}

/// How a layer was read from its table of contents instead of its whole blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TocRead {
    /// The TOC's format.
    pub format: TocFormat,
    /// The TOC's digest from the layer's annotation; the fetched TOC matched it.
    pub toc_digest: String,
    /// Bytes of the blob fetched with `Range` requests (footer and TOC).
    pub fetched_bytes: u64,
    /// What was not verified, because that needs every byte of the blob: `diff_id` (the
    /// uncompressed tar's sha256) and `digest` (the blob's sha256).
    pub not_verified: Vec<String>,
}

/// What [`read`] came to for one layer.
pub(crate) enum Outcome {
    /// No table of contents is announced: read the blob.
    Absent,
    /// Read from the TOC.
    Read(Box<LayerContents>, TocRead),
    /// A TOC is announced but cannot stand in for the blob: why (the blob is read in full).
    Fallback(String),
}

/// Read a layer from its table of contents when its annotations announce one.
pub(crate) fn read(registry: &Registry, layer: &LayerRef) -> Outcome {
    let a = &layer.annotations;
    let result = if let Some(toc_digest) = a.get(ESTARGZ_TOC_DIGEST) {
        estargz(registry, layer, toc_digest)
    } else if let Some(checksum) = ZSTD_CHUNKED_CHECKSUM.iter().find_map(|k| a.get(*k)) {
        zstd_chunked(registry, layer, checksum)
    } else {
        return Outcome::Absent;
    };
    match result {
        Ok((contents, toc)) => Outcome::Read(Box::new(contents), toc),
        Err(reason) => Outcome::Fallback(reason),
    }
}

/// The descriptor's size: ranges are computed from it, and the registry must agree.
fn blob_size(layer: &LayerRef) -> Result<u64, String> {
    layer
        .size
        .ok_or_else(|| "the manifest gives no size for the layer".to_string())
}

fn estargz(
    registry: &Registry,
    layer: &LayerRef,
    toc_digest: &str,
) -> Result<(LayerContents, TocRead), String> {
    let want = crate::digest::sha256_hex(toc_digest)
        .ok_or_else(|| format!("{ESTARGZ_TOC_DIGEST} {toc_digest:?} is not a sha256 digest"))?;
    let tar_size: u64 = layer
        .annotations
        .get(ESTARGZ_UNCOMPRESSED_SIZE)
        .ok_or_else(|| {
            format!(
                "no {ESTARGZ_UNCOMPRESSED_SIZE} annotation: the TOC does not give the size \
                 of the uncompressed tar"
            )
        })?
        .parse()
        .map_err(|_| format!("{ESTARGZ_UNCOMPRESSED_SIZE} is not a byte count"))?;
    let size = blob_size(layer)?;
    if size < FOOTER_SIZE {
        return Err(format!(
            "the blob is {size} bytes, shorter than the {FOOTER_SIZE}-byte eStargz footer"
        ));
    }
    let footer_at = size - FOOTER_SIZE;
    let footer = registry.read_range(&layer.member, footer_at, size, size)?;
    let toc_at = parse_footer(&footer)?;
    if toc_at >= footer_at {
        return Err(format!(
            "the footer puts the TOC at byte {toc_at}, not before the footer at {footer_at}"
        ));
    }
    if footer_at - toc_at > TOC_LIMIT {
        return Err(format!(
            "the TOC is {} bytes, more than the {TOC_LIMIT}-byte limit",
            footer_at - toc_at
        ));
    }
    // The TOC member, and before it the gzip trailer (CRC32, ISIZE: RFC 1952 section 2.3.1)
    // of the member that precedes it, which tells whether the tar ends before the TOC entry.
    let before = toc_at.min(8);
    if before != 0 && before != 8 {
        return Err(format!(
            "the footer puts the TOC at byte {toc_at}, inside the first member"
        ));
    }
    let fetched = registry.read_range(&layer.member, toc_at - before, footer_at, size)?;
    let (trailer, member) = fetched.split_at(before as usize);
    let last_member_size = trailer
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(member)
        .take(TOC_LIMIT + 1)
        .read_to_end(&mut tar)
        .map_err(|e| format!("the TOC member at byte {toc_at} is not gzip: {e}"))?;
    // The TOC's tar entry through the same walk as any layer: its header, its content hash.
    let toc_entry = read_layer_with(tar.as_slice(), &LayerOptions::default()).map_err(|f| {
        format!(
            "the TOC member at byte {toc_at} is not a tar: {}{}",
            f.entry
                .as_deref()
                .map(|e| format!("{e}: "))
                .unwrap_or_default(),
            f.text()
        )
    })?;
    let [entry] = toc_entry.entries.as_slice() else {
        return Err(format!(
            "the TOC member holds {} tar entries, not one {TOC_TAR_NAME}",
            toc_entry.entries.len()
        ));
    };
    if toc_entry.path(entry) != TOC_TAR_NAME || entry.kind != EntryKind::File {
        return Err(format!(
            "the TOC member holds {:?}, not {TOC_TAR_NAME}",
            toc_entry.path(entry)
        ));
    }
    let sha = toc_entry.content_sha256(0).map_err(|f| f.text())?;
    let actual = crate::digest::to_hex(&sha);
    if actual != want {
        return Err(format!(
            "TOC digest mismatch: {ESTARGZ_TOC_DIGEST} says {toc_digest}, the TOC is \
             sha256:{actual}"
        ));
    }
    let json = toc_json(&tar)?;
    let toc: Toc =
        serde_json::from_slice(&json).map_err(|e| format!("the TOC is not eStargz JSON: {e}"))?;
    let mut contents = contents_from(&toc)?;
    let visible = match last_member_size {
        None => true,
        Some(isize) => toc_entry_visible(&toc, isize)?,
    };
    if visible {
        contents
            .append(&toc_entry)
            .map_err(|e| format!("TOC: {e}"))?;
    }
    contents.blob_digest = layer.digest.clone().unwrap_or_default();
    contents.blob_size = size;
    contents.diff_id = layer.diff_id.clone().unwrap_or_default();
    contents.tar_size = tar_size;
    contents.compression = Some(crate::layer::Compression::Gzip);
    contents.entries.shrink_to_fit();
    Ok((
        contents,
        TocRead {
            format: TocFormat::Estargz,
            toc_digest: toc_digest.to_string(),
            fetched_bytes: (footer.len() + fetched.len()) as u64,
            not_verified: vec!["diff_id".into(), "digest".into()],
        },
    ))
}

/// The TOC offset from an eStargz footer: an empty gzip member whose extra field holds the
/// `SG` subfield `%016xSTARGZ` (estargz.md "Footer").
fn parse_footer(footer: &[u8]) -> Result<u64, String> {
    let mut gz = flate2::read::GzDecoder::new(footer);
    let mut rest = Vec::new();
    gz.read_to_end(&mut rest)
        .map_err(|e| format!("the last {FOOTER_SIZE} bytes are not an eStargz footer: {e}"))?;
    let extra = gz
        .header()
        .and_then(|h| h.extra())
        .ok_or("the last 51 bytes are a gzip member without an extra field: no eStargz footer")?;
    let sub = match extra {
        [b'S', b'G', lo, hi, sub @ ..]
            if usize::from(u16::from_le_bytes([*lo, *hi])) == sub.len() =>
        {
            sub
        }
        _ => return Err("the footer's gzip extra field has no SG subfield".into()),
    };
    let text = std::str::from_utf8(sub).map_err(|_| "the footer's SG subfield is not text")?;
    let hex = text
        .strip_suffix("STARGZ")
        .filter(|h| h.len() == 16)
        .ok_or_else(|| format!("the footer's SG subfield {text:?} is not %016xSTARGZ"))?;
    u64::from_str_radix(hex, 16).map_err(|_| format!("the footer's TOC offset {hex:?} is not hex"))
}

/// Whether a tar reader reaches the TOC's own entry (`stargz.index.json`): a writer that
/// keeps the original tar's end-of-archive blocks ("lossless", as BuildKit's layers are) puts
/// them before the TOC member, and a tar reader stops there; otherwise the TOC entry is the
/// tar's last file. The member before the TOC holds the last payload (the last file, or its
/// last chunk, and its padding), the headers of the entries listed after it, and any
/// end-of-archive blocks; its size mod 2^32 is the ISIZE of its gzip trailer. When a header
/// there could be longer than one 512-byte block (long names, xattrs, large ids), the answer
/// is not certain and the caller reads the whole blob.
fn toc_entry_visible(toc: &Toc, isize: u32) -> Result<bool, String> {
    let mut last_payload: Option<usize> = None;
    let mut known = 0u64;
    let mut file_size = 0u64;
    for (i, e) in toc.entries.iter().enumerate() {
        let (offset, piece) = match e.kind.as_str() {
            "reg" => {
                file_size = e.size;
                let piece = if e.chunk_size > 0 && e.chunk_size < e.size {
                    e.chunk_size
                } else {
                    e.size
                };
                (0, piece)
            }
            "chunk" => {
                let piece = if e.chunk_size > 0 {
                    e.chunk_size
                } else {
                    file_size.saturating_sub(e.chunk_offset)
                };
                (e.chunk_offset, piece)
            }
            _ => continue,
        };
        if piece > 0 {
            last_payload = Some(i);
            let end = offset.saturating_add(piece);
            let pad = if end == file_size {
                (512 - file_size % 512) % 512
            } else {
                0
            };
            known = piece.saturating_add(pad);
        }
    }
    let trailing = match last_payload {
        Some(i) => toc.entries.get(i + 1..).unwrap_or_default(),
        None => toc.entries.as_slice(),
    };
    for e in trailing.iter().filter(|e| e.kind != "chunk") {
        let plain = e.name.len() <= 100
            && e.link_name.len() <= 100
            && e.name.is_ascii()
            && e.link_name.is_ascii()
            && e.xattrs.is_empty()
            && (0..0o7_777_777).contains(&e.uid)
            && (0..0o7_777_777).contains(&e.gid);
        if !plain {
            return Err(format!(
                "cannot tell whether the tar ends before the TOC entry: the header of                  {:?}, just before the TOC, may span several blocks",
                e.name
            ));
        }
        known = known.saturating_add(512);
    }
    let end_blocks = u64::from(isize.wrapping_sub((known % (1 << 32)) as u32));
    match end_blocks {
        0 => Ok(true),
        n if n >= 1024 && n % 512 == 0 && n <= 1 << 20 => Ok(false),
        n => Err(format!(
            "cannot tell whether the tar ends before the TOC entry: the member before the              TOC holds {isize} bytes, {known} of them accounted for by the TOC ({n} left)"
        )),
    }
}

/// The TOC JSON: the content of the `stargz.index.json` entry of the TOC member's tar.
fn toc_json(tar_bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut archive = tar::Archive::new(tar_bytes);
    let mut entries = archive
        .entries()
        .map_err(|e| format!("the TOC member is not a tar: {e}"))?;
    let mut entry = entries
        .next()
        .ok_or_else(|| format!("the TOC member holds no {TOC_TAR_NAME}"))?
        .map_err(|e| format!("the TOC member is not a tar: {e}"))?;
    let mut json = Vec::new();
    entry
        .read_to_end(&mut json)
        .map_err(|e| format!("cannot read {TOC_TAR_NAME}: {e}"))?;
    Ok(json)
}

/// A TOC document (estargz.md "TOC, TOCEntries and Footer"; zstd:chunked uses the same
/// entry fields).
#[derive(Deserialize)]
struct Toc {
    version: i64,
    entries: Vec<TocEntry>,
}

#[derive(Deserialize)]
struct TocEntry {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    modtime: Option<String>,
    #[serde(default, rename = "linkName")]
    link_name: String,
    #[serde(default)]
    mode: i64,
    #[serde(default)]
    uid: i64,
    #[serde(default)]
    gid: i64,
    /// Go's `map[string][]byte`: values in standard base64.
    #[serde(default)]
    xattrs: BTreeMap<String, String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default, rename = "chunkOffset")]
    chunk_offset: u64,
    #[serde(default, rename = "chunkSize")]
    chunk_size: u64,
}

/// The entries a TOC lists, as the tar walk would record them.
fn contents_from(toc: &Toc) -> Result<LayerContents, String> {
    if toc.version != 1 {
        return Err(format!("TOC version {} (only 1 is known)", toc.version));
    }
    let mut contents = LayerContents::default();
    for e in &toc.entries {
        let at = |reason: String| format!("TOC entry {:?}: {reason}", e.name);
        let base_kind = match e.kind.as_str() {
            "reg" => EntryKind::File,
            "dir" => EntryKind::Dir,
            "symlink" => EntryKind::Symlink,
            "hardlink" => EntryKind::Hardlink,
            "char" => EntryKind::CharDevice,
            "block" => EntryKind::BlockDevice,
            "fifo" => EntryKind::Fifo,
            // The further chunks of a large regular file listed before it.
            "chunk" => continue,
            other => return Err(at(format!("unknown type {other:?}"))),
        };
        let Some((path, kind)) = place_entry(&mut contents, &e.name, base_kind).map_err(at)? else {
            continue;
        };
        let (mut size, mut sha256) = (0, [0u8; 32]);
        if kind == EntryKind::File {
            size = e.size;
            sha256 = if size == 0 {
                SHA256_EMPTY
            } else {
                let d = e.digest.as_deref().unwrap_or("");
                hex32(crate::digest::sha256_hex(d).unwrap_or(""))
                    .ok_or_else(|| at(format!("no sha256 content digest ({d:?})")))?
            };
        }
        let mtime = match &e.modtime {
            Some(t) => {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|err| at(format!("modtime {t:?}: {err}")))?
                    .unix_timestamp()
            }
            None => 0,
        };
        let number = |v: i64, what: &str| {
            u32::try_from(v).map_err(|_| at(format!("{what} {v} is out of range")))
        };
        let mut xattrs = XattrHash::default();
        for (k, v) in &e.xattrs {
            let value = base64::engine::general_purpose::STANDARD
                .decode(v)
                .map_err(|err| at(format!("xattr {k:?} is not base64: {err}")))?;
            xattrs.add(format!("SCHILY.xattr.{k}").as_bytes(), &value);
        }
        let link = matches!(base_kind, EntryKind::Symlink | EntryKind::Hardlink)
            .then_some(e.link_name.as_str());
        contents
            .push_listed(
                &path,
                kind,
                link,
                number(e.mode, "mode")?,
                number(e.uid, "uid")?,
                number(e.gid, "gid")?,
                u64::try_from(mtime).map_err(|_| at(format!("modtime {mtime} is before 1970")))?,
                size,
                sha256,
                xattrs.finish(),
            )
            .map_err(at)?;
    }
    Ok(contents)
}

/// 64 hex digits as 32 bytes.
fn hex32(hex: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    if hex.len() != 64 {
        return None;
    }
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn zstd_chunked(
    registry: &Registry,
    layer: &LayerRef,
    checksum: &str,
) -> Result<(LayerContents, TocRead), String> {
    let want = crate::digest::sha256_hex(checksum)
        .ok_or_else(|| format!("zstd:chunked manifest checksum {checksum:?} is not sha256"))?;
    let position = ZSTD_CHUNKED_POSITION
        .iter()
        .find_map(|k| layer.annotations.get(*k))
        .ok_or("no zstd:chunked manifest-position annotation")?;
    let fields: Vec<u64> = position
        .split(':')
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|_| format!("manifest-position {position:?} is not offset:length:size:type"))?;
    let [offset, length, _uncompressed, _kind] = fields.as_slice() else {
        return Err(format!(
            "manifest-position {position:?} is not offset:length:size:type"
        ));
    };
    let size = blob_size(layer)?;
    let end = offset
        .checked_add(*length)
        .filter(|e| *e <= size && *length <= TOC_LIMIT)
        .ok_or_else(|| format!("manifest-position {position:?} is outside the {size}-byte blob"))?;
    let manifest = registry.read_range(&layer.member, *offset, end, size)?;
    let actual = crate::digest::sha256_of(&manifest);
    if actual.strip_prefix("sha256:") != Some(want) {
        return Err(format!(
            "zstd:chunked manifest digest mismatch: the annotation says {checksum}, the \
             manifest is {actual}"
        ));
    }
    Err(
        "its zstd:chunked manifest (verified) records no uncompressed tar size: the tar \
         headers are only in the blob's own frames"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn footer_of_buildx_estargz() {
        // The last 51 bytes of dive's test-oci-estargz-image.tar layer (BuildKit).
        let mut f = vec![
            0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0x00, 0xff, 0x1a, 0x00, b'S', b'G', 0x16, 0x00,
        ];
        f.extend_from_slice(b"0000000000001038STARGZ");
        f.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(f.len(), 51);
        assert_eq!(parse_footer(&f), Ok(0x1038));
        let mut bad = f.clone();
        bad[12] = b'X';
        assert!(parse_footer(&bad).unwrap_err().contains("SG"));
        assert!(parse_footer(&f[..30]).is_err());
    }

    #[test]
    fn toc_entries_become_layer_entries() {
        let toc: Toc = serde_json::from_str(
            r#"{"version":1,"entries":[
            {"name":"./","type":"dir","mode":493},
            {"name":"a/","type":"dir","mode":493,"modtime":"2024-01-02T03:04:05Z"},
            {"name":"a/f","type":"reg","size":3,"mode":420,"uid":1000,"gid":1000,
             "digest":"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
             "xattrs":{"user.k":"dg=="}},
            {"name":"a/f","type":"chunk","size":3},
            {"name":"a/l","type":"hardlink","linkName":"./a/f"},
            {"name":"a/.wh.gone","type":"reg","size":0},
            {"name":"a/e","type":"reg","size":0}
            ]}"#,
        )
        .unwrap();
        let c = contents_from(&toc).unwrap();
        let listed: Vec<(&str, EntryKind, u64)> = c
            .entries
            .iter()
            .map(|e| (c.path(e), e.kind, e.size))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("a", EntryKind::Dir, 0),
                ("a/f", EntryKind::File, 3),
                ("a/l", EntryKind::Hardlink, 0),
                ("a/gone", EntryKind::Whiteout, 0),
                ("a/e", EntryKind::File, 0),
            ]
        );
        assert_eq!(c.entries[0].mtime, 1_704_164_645);
        assert_eq!(c.entries[1].uid, 1000);
        assert_ne!(c.xattrs(&c.entries[1]), 0);
        assert_eq!(c.link(&c.entries[2]), Some("a/f"));
        assert_eq!(c.content_sha256(4).unwrap(), SHA256_EMPTY);
        assert_eq!(
            crate::digest::to_hex(&c.content_sha256(1).unwrap())[..8],
            *"ba7816bf"
        );
    }

    #[test]
    fn end_blocks_before_the_toc_are_told_from_the_last_member_size() {
        // The last payload: 11,189 bytes (padded to 11,264), then one plain header.
        let toc: Toc = serde_json::from_str(
            r#"{"version":1,"entries":[
            {"name":"a","type":"reg","size":11189,"digest":"sha256:00"},
            {"name":"d/","type":"dir"}]}"#,
        )
        .unwrap();
        assert_eq!(toc_entry_visible(&toc, 11_264 + 512), Ok(true));
        assert_eq!(toc_entry_visible(&toc, 11_264 + 512 + 1024), Ok(false));
        assert!(toc_entry_visible(&toc, 11_264 + 512 + 100).is_err());
        assert!(toc_entry_visible(&toc, 11_264).is_err());
        // A trailing header that may span several blocks: not certain.
        let long: Toc = serde_json::from_str(&format!(
            r#"{{"version":1,"entries":[{{"name":"{}","type":"dir"}}]}}"#,
            "x".repeat(150)
        ))
        .unwrap();
        assert!(
            toc_entry_visible(&long, 1536)
                .unwrap_err()
                .contains("several blocks")
        );
        // A chunked file: the last chunk (1,000 of 3,000 bytes) is the last member.
        let chunked: Toc = serde_json::from_str(
            r#"{"version":1,"entries":[
            {"name":"big","type":"reg","size":3000,"chunkSize":2000,"digest":"sha256:00"},
            {"name":"big","type":"chunk","chunkOffset":2000,"chunkSize":1000}]}"#,
        )
        .unwrap();
        assert_eq!(toc_entry_visible(&chunked, 1000 + 72), Ok(true));
        assert_eq!(toc_entry_visible(&chunked, 1000 + 72 + 1024), Ok(false));
    }

    #[test]
    fn a_regular_file_without_digest_is_refused() {
        let toc: Toc =
            serde_json::from_str(r#"{"version":1,"entries":[{"name":"f","type":"reg","size":5}]}"#)
                .unwrap();
        assert!(contents_from(&toc).unwrap_err().contains("\"f\""));
    }
}
