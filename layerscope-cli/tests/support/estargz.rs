//! An eStargz writer for the tests, written from stargz-snapshotter's docs/estargz.md, since
//! no eStargz tool (ctr-remote, nerdctl, buildx) can be installed from the package
//! registries reachable here. The layout the spec fixes:
//!
//! - the blob is a sequence of gzip members; a regular file's content starts a new member
//!   (its `offset` in the TOC), the following headers go into that member, and a large
//!   file's content is split into chunks, each in its own member, listed in the TOC as a
//!   `reg` entry followed by `chunk` entries;
//! - then the TOC member: a tar entry `stargz.index.json` holding the TOC JSON, then the
//!   tar's end-of-archive blocks;
//! - then the 51-byte footer: an empty gzip member whose extra field carries the subfield
//!   `SG` = `%016x` of the TOC member's offset followed by `STARGZ`.
//!
//! The layer descriptor carries `containerd.io/snapshot/stargz/toc.digest` (sha256 of the
//! TOC JSON) and `io.containers.estargz.uncompressed-size` (bytes of the uncompressed tar).
//! The real BuildKit-made eStargz layer in tests/fixtures/dive has the same layout.
#![allow(dead_code, reason = "each test crate uses part of it")]

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;

/// One tar entry to write.
#[derive(Clone, Debug)]
pub struct Item {
    /// The tar name as written (`dir/`, `dir/file`, `dir/.wh.gone`).
    pub name: String,
    pub kind: tar::EntryType,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    pub link: Option<String>,
    pub data: Vec<u8>,
    /// Extended attributes, written as `SCHILY.xattr.<name>` PAX records, sorted by name
    /// (as Go's archive/tar writes them).
    pub xattrs: Vec<(String, Vec<u8>)>,
}

impl Item {
    pub fn dir(name: &str) -> Item {
        Item::new(name, tar::EntryType::Directory, 0o755, b"")
    }
    pub fn file(name: &str, data: &[u8]) -> Item {
        Item::new(name, tar::EntryType::Regular, 0o644, data)
    }
    pub fn symlink(name: &str, target: &str) -> Item {
        let mut i = Item::new(name, tar::EntryType::Symlink, 0o777, b"");
        i.link = Some(target.into());
        i
    }
    pub fn hardlink(name: &str, target: &str) -> Item {
        let mut i = Item::new(name, tar::EntryType::Link, 0o644, b"");
        i.link = Some(target.into());
        i
    }
    pub fn new(name: &str, kind: tar::EntryType, mode: u32, data: &[u8]) -> Item {
        Item {
            name: name.into(),
            kind,
            mode,
            uid: 0,
            gid: 0,
            mtime: 1_700_000_000,
            link: None,
            data: data.to_vec(),
            xattrs: Vec::new(),
        }
    }
    pub fn owner(mut self, uid: u64, gid: u64) -> Item {
        self.uid = uid;
        self.gid = gid;
        self
    }
    pub fn mtime(mut self, mtime: u64) -> Item {
        self.mtime = mtime;
        self
    }
    pub fn xattr(mut self, name: &str, value: &[u8]) -> Item {
        self.xattrs.push((name.into(), value.to_vec()));
        self.xattrs.sort();
        self
    }
}

/// A written eStargz layer.
pub struct Layer {
    pub blob: Vec<u8>,
    pub digest: String,
    pub diff_id: String,
    pub toc_digest: String,
    pub uncompressed_size: u64,
    /// Offset of the TOC member (what the footer says).
    pub toc_offset: u64,
    /// `(start, end)` of every member holding file content, for checking what was fetched.
    pub content_members: Vec<(u64, u64)>,
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The tar type name the TOC uses (estargz.md "TOCEntry").
fn toc_type(kind: tar::EntryType) -> &'static str {
    match kind {
        tar::EntryType::Regular => "reg",
        tar::EntryType::Directory => "dir",
        tar::EntryType::Symlink => "symlink",
        tar::EntryType::Link => "hardlink",
        tar::EntryType::Char => "char",
        tar::EntryType::Block => "block",
        tar::EntryType::Fifo => "fifo",
        other => panic!("no TOC type for {other:?}"),
    }
}

/// RFC 3339 (UTC, seconds) of a Unix time: Howard Hinnant's days-to-civil algorithm.
pub fn rfc3339(t: u64) -> String {
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Write `items` as an eStargz layer; regular files above `chunk` bytes are chunked. As
/// stargz-snapshotter's writer does, an entry's headers go into the member already open,
/// each piece of a file's content starts a new member (the TOC's `offset`), and the next
/// headers follow in that member. `lossless` keeps the tar's end-of-archive blocks before the
/// TOC (as BuildKit's layers have them: a tar reader then stops before `stargz.index.json`).
pub fn layer(items: &[Item], chunk: usize, lossless: bool) -> Layer {
    let mut blob = Vec::new();
    let mut tar_bytes = Vec::new();
    let mut entries = Vec::new();
    let mut content_members = Vec::new();
    // The open member: its uncompressed bytes, and whether it holds file content.
    let mut open: Vec<u8> = Vec::new();
    let mut open_has_content = false;
    let mut close = |open: &mut Vec<u8>, has: &mut bool, blob: &mut Vec<u8>| {
        if open.is_empty() {
            return;
        }
        let start = blob.len() as u64;
        blob.extend_from_slice(&gzip(open));
        if *has {
            content_members.push((start, blob.len() as u64));
        }
        open.clear();
        *has = false;
    };
    for item in items {
        // The entry's tar bytes: PAX records (xattrs), then the header, then the content.
        let mut b = tar::Builder::new(Vec::new());
        if !item.xattrs.is_empty() {
            let keys: Vec<(String, &[u8])> = item
                .xattrs
                .iter()
                .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
                .collect();
            b.append_pax_extensions(keys.iter().map(|(k, v)| (k.as_str(), *v)))
                .unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(item.kind);
        h.set_mode(item.mode);
        h.set_uid(item.uid);
        h.set_gid(item.gid);
        h.set_mtime(item.mtime);
        h.set_size(item.data.len() as u64);
        if let Some(l) = &item.link {
            b.append_link(&mut h, &item.name, l).unwrap();
        } else {
            b.append_data(&mut h, &item.name, item.data.as_slice())
                .unwrap();
        }
        let bytes = b.into_inner().unwrap();
        // `into_inner` wrote the end-of-archive blocks: the entry is what precedes them.
        let bytes = &bytes[..bytes.len() - 1024];
        tar_bytes.extend_from_slice(bytes);
        let content_len = item.data.len().div_ceil(512) * 512;
        let header_len = bytes.len() - content_len;
        open.extend_from_slice(&bytes[..header_len]);
        let mut toc = serde_json::json!({
            "name": item.name,
            "type": toc_type(item.kind),
            "modtime": rfc3339(item.mtime),
            "mode": item.mode,
            "uid": item.uid,
            "gid": item.gid,
        });
        if let Some(l) = &item.link {
            toc["linkName"] = l.as_str().into();
        }
        if !item.xattrs.is_empty() {
            let map: serde_json::Map<String, serde_json::Value> = item
                .xattrs
                .iter()
                .map(|(k, v)| (k.clone(), super::registry::b64(v).into()))
                .collect();
            toc["xattrs"] = map.into();
        }
        if item.kind == tar::EntryType::Regular {
            toc["size"] = item.data.len().into();
            toc["digest"] = sha256(&item.data).into();
        }
        if item.data.is_empty() {
            entries.push(toc);
            continue;
        }
        let pieces: Vec<&[u8]> = bytes[header_len..].chunks(chunk).collect();
        for (i, piece) in pieces.iter().enumerate() {
            close(&mut open, &mut open_has_content, &mut blob);
            let start = blob.len() as u64;
            open.extend_from_slice(piece);
            open_has_content = true;
            if i == 0 {
                toc["offset"] = start.into();
                if pieces.len() > 1 {
                    toc["chunkSize"] = chunk.into();
                }
                entries.push(toc.clone());
            } else {
                let from = i * chunk;
                let to = (from + chunk).min(item.data.len());
                entries.push(serde_json::json!({
                    "name": item.name,
                    "type": "chunk",
                    "offset": start,
                    "chunkOffset": from,
                    "chunkSize": to - from,
                    "chunkDigest": sha256(&item.data[from..to]),
                }));
            }
        }
    }
    if lossless {
        open.extend_from_slice(&[0u8; 1024]);
        tar_bytes.extend_from_slice(&[0u8; 1024]);
    }
    close(&mut open, &mut open_has_content, &mut blob);
    let json =
        serde_json::to_vec_pretty(&serde_json::json!({"version": 1, "entries": entries})).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(json.len() as u64);
    b.append_data(&mut h, "stargz.index.json", json.as_slice())
        .unwrap();
    let toc_tar = b.into_inner().unwrap();
    tar_bytes.extend_from_slice(&toc_tar);
    let toc_offset = blob.len() as u64;
    blob.extend_from_slice(&gzip(&toc_tar));
    blob.extend_from_slice(&footer(toc_offset));
    Layer {
        digest: sha256(&blob),
        diff_id: sha256(&tar_bytes),
        toc_digest: sha256(&json),
        uncompressed_size: tar_bytes.len() as u64,
        toc_offset,
        content_members,
        blob,
    }
}

/// The 51-byte footer (estargz.md "Footer"): gzip header with FEXTRA, XLEN 26, subfield `SG`
/// of 22 bytes, an empty stored deflate block, CRC32 0 and ISIZE 0.
pub fn footer(toc_offset: u64) -> Vec<u8> {
    let mut f = vec![
        0x1f, 0x8b, 0x08, 0x04, 0, 0, 0, 0, 0x00, 0xff, 26, 0, b'S', b'G', 22, 0,
    ];
    f.extend_from_slice(format!("{toc_offset:016x}STARGZ").as_bytes());
    f.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(f.len(), 51);
    f
}

/// Write an OCI layout directory holding one linux/amd64 image of these layers; each
/// layer's descriptor gets the eStargz annotations, changed by `annotate`.
pub fn oci_layout(
    dir: &Path,
    layers: &[Layer],
    annotate: impl Fn(usize, &mut serde_json::Map<String, serde_json::Value>),
) {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| -> String {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes).unwrap();
        d
    };
    let history: Vec<serde_json::Value> = (0..layers.len())
        .map(|i| serde_json::json!({"created_by": format!("COPY layer{i} / # buildkit")}))
        .collect();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>()},
        "history": history,
    }))
    .unwrap();
    let config_digest = put(&config);
    let descs: Vec<serde_json::Value> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            put(&l.blob);
            let mut a = serde_json::Map::new();
            a.insert(
                "containerd.io/snapshot/stargz/toc.digest".into(),
                l.toc_digest.clone().into(),
            );
            a.insert(
                "io.containers.estargz.uncompressed-size".into(),
                l.uncompressed_size.to_string().into(),
            );
            annotate(i, &mut a);
            serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": l.digest,
                "size": l.blob.len(),
                "annotations": a,
            })
        })
        .collect();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest.len(),
            }],
        }))
        .unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}
