//! Read one file's content back out of a layer blob, on demand (the explorer's pager and its
//! extract key). The analysis keeps hashes, not content, so the blob is streamed again up to
//! the entry. Paths are cleaned as the analysis cleans them (`./`, `/`, `..` clamped), so a
//! path from a listing finds its entry. A hardlink is followed to its target, in the same
//! layer or below (image-spec layer.md "Hardlinks").

use crate::error::{Error, Result};
use crate::layer::{Compression, clean_entry_path};
use crate::source::Image;
use std::io::{BufRead, BufReader, Read};

/// A file's content read from a layer blob.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileContent {
    /// The layer whose entry held the bytes (the target's layer for a hardlink).
    pub layer: usize,
    /// The entry's full size in bytes.
    pub size_bytes: u64,
    /// The first `limit` bytes (all of them when the file is no larger).
    pub bytes: Vec<u8>,
}

impl FileContent {
    /// Whether `bytes` holds the whole file.
    pub fn is_complete(&self) -> bool {
        self.bytes.len() as u64 == self.size_bytes
    }
}

/// What the walk of one layer found at a path.
enum Found {
    Content(FileContent),
    Link(String),
    NotRegular(String),
    Absent,
}

impl Image {
    /// The content of the regular file (or hardlink to one) at `path` as shipped by `layer`,
    /// at most `limit` bytes of it.
    ///
    /// # Errors
    /// The layer does not exist or is not in the archive, its blob cannot be decompressed or
    /// walked, `path` is not an entry of that layer, or it is not a regular file.
    pub fn read_file(&self, layer: usize, path: &str, limit: u64) -> Result<FileContent> {
        let (wanted, _) = clean_entry_path(path);
        let mut target = wanted.clone();
        let mut from = layer;
        // A hardlink names a path of its own layer or of a lower one: look there, down to 0.
        for _ in 0..64 {
            let mut l = from;
            loop {
                match self.find_in_layer(l, &target, limit)? {
                    Found::Content(c) => return Ok(c),
                    Found::Link(to) => {
                        target = clean_entry_path(&to).0;
                        from = l;
                        break;
                    }
                    Found::NotRegular(kind) => {
                        return Err(self.layer_error(
                            l,
                            &target,
                            format!("{kind}, not a regular file: it has no content to read"),
                        ));
                    }
                    Found::Absent if target != wanted && l > 0 => l -= 1,
                    Found::Absent => {
                        return Err(self.layer_error(
                            l,
                            &target,
                            "no such entry in this layer".to_string(),
                        ));
                    }
                }
            }
        }
        Err(self.layer_error(layer, path, "hardlinks chained more than 64 deep".into()))
    }

    fn layer_error(&self, index: usize, path: &str, reason: String) -> Error {
        self.layer_error_from(index, path, reason, None)
    }

    fn layer_error_from(
        &self,
        index: usize,
        path: &str,
        reason: String,
        source: Option<std::io::Error>,
    ) -> Error {
        let digest = self
            .layers()
            .get(index)
            .and_then(|l| l.digest.clone().or_else(|| l.diff_id.clone()))
            .unwrap_or_default();
        Error::Layer {
            image: self.path().to_path_buf(),
            index,
            digest,
            entry: format!(", entry {path:?}"),
            reason,
            source: source.map(Into::into),
        }
    }

    /// Walk one layer's tar for `path`; the last entry for a path wins, as in the merge.
    fn find_in_layer(&self, index: usize, path: &str, limit: u64) -> Result<Found> {
        let Some(lref) = self.layers().get(index) else {
            return Err(self.layer_error(index, path, "the image has no such layer".into()));
        };
        let Some((raw, _)) = self.open_layer(lref)? else {
            return Err(self.layer_error(
                index,
                path,
                "the layer blob is not in the archive (a foreign layer)".into(),
            ));
        };
        let fail = |e: std::io::Error| self.layer_error_from(index, path, String::new(), Some(e));
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let head = buffered.fill_buf().map_err(fail)?;
        let tar_stream: Box<dyn Read> = match Compression::sniff(head) {
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
            Compression::Zstd => {
                Box::new(zstd::stream::read::Decoder::new(buffered).map_err(fail)?)
            }
            _ => Box::new(buffered),
        };
        let mut archive = tar::Archive::new(tar_stream);
        let mut found = Found::Absent;
        for entry in archive.entries().map_err(fail)? {
            let mut entry = entry.map_err(fail)?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if clean_entry_path(&name).0 != path {
                continue;
            }
            let kind = entry.header().entry_type();
            found = if kind.is_hard_link() {
                let to = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                Found::Link(to)
            } else if kind.is_file() || kind == tar::EntryType::Continuous {
                let size = entry.size();
                let mut bytes = Vec::with_capacity(size.min(limit) as usize);
                (&mut entry)
                    .take(limit)
                    .read_to_end(&mut bytes)
                    .map_err(fail)?;
                Found::Content(FileContent {
                    layer: index,
                    size_bytes: size,
                    bytes,
                })
            } else {
                Found::NotRegular(format!("{kind:?}").to_lowercase())
            };
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use crate::Image;
    use crate::testkit::{ImageBuilder, LayerBuilder, Layout};

    #[test]
    fn reads_files_and_follows_hardlinks() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = ImageBuilder::new()
            .layer(
                LayerBuilder::new()
                    .dir("etc")
                    .file("etc/a.txt", b"hello\n")
                    .hardlink("etc/b", "etc/a.txt"),
            )
            .layer(
                LayerBuilder::new()
                    .file("etc/a.txt", b"second version\n")
                    .hardlink("x", "etc/b"),
            )
            .archive(Layout::OciArchive);
        let path = dir.path().join("image.tar");
        std::fs::write(&path, bytes).unwrap();
        let image = Image::open(&path).unwrap();
        let c = image.read_file(0, "/etc/a.txt", 1024).unwrap();
        assert_eq!(c.bytes, b"hello\n");
        assert!(c.is_complete());
        let c = image.read_file(1, "etc/a.txt", 6).unwrap();
        assert_eq!((c.bytes.as_slice(), c.size_bytes), (&b"second"[..], 15));
        assert!(!c.is_complete());
        // Layer 1's `x` links to layer 0's `etc/b`, itself a link to layer 0's first a.txt.
        let c = image.read_file(1, "x", 1024).unwrap();
        assert_eq!((c.layer, c.bytes.as_slice()), (0, &b"hello\n"[..]));
        let e = image
            .read_file(0, "etc/missing", 10)
            .unwrap_err()
            .to_string();
        assert!(e.contains("layer 0") && e.contains("etc/missing"), "{e}");
        let e = image.read_file(0, "etc", 10).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let e = image.read_file(7, "etc/a.txt", 10).unwrap_err().to_string();
        assert!(e.contains("no such layer"), "{e}");
    }
}
