//! What a registry push of the image would send for each layer, measured, never guessed.
//!
//! `docker push` of a layer stored uncompressed (a docker-archive, the classic image store)
//! gzips it on the way: moby's `distribution/registry.go` `compress()` wraps the layer in Go's
//! `gzip.NewWriter`, whose `DefaultCompression` is flate level 6 (Go `compress/flate`). Here
//! each such layer is gzip-compressed at that level (zlib-rs through flate2; the deflate
//! encoder is not Go's, so the bytes, not the level, may differ slightly from what docker
//! sends), layers in parallel. A layer already stored compressed (gzip or zstd, an OCI
//! layout) is pushed as stored: its push size is its blob size.

use crate::layer::Compression;
use crate::source::{Image, LayerAvailability, LayerRef};
use crate::{Error, Result};
use rayon::prelude::*;
use std::io::{self, BufRead, BufReader, Write};

/// The gzip level `docker push` compresses uncompressed layers with (see the module docs).
pub(crate) const DOCKER_PUSH_GZIP_LEVEL: u32 = 6;

/// The push size of each layer of `image`, in layer order: its gzip size at
/// gzip level 6 (what `docker push` uses) when it is stored uncompressed, else its blob size; `None` for
/// a foreign layer that is not in the image. The layers are compressed in parallel.
///
/// # Errors
/// A layer blob cannot be read (named by its index and digest).
pub fn push_sizes(image: &Image) -> Result<Vec<Option<u64>>> {
    image
        .layers()
        .par_iter()
        .map(|layer| push_size(image, layer))
        .collect()
}

/// Counts the bytes written to it.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn push_size(image: &Image, layer: &LayerRef) -> Result<Option<u64>> {
    if layer.availability == LayerAvailability::MissingForeign {
        return Ok(None);
    }
    let Some((reader, stored_bytes)) = image.open_layer(layer)? else {
        return Ok(None);
    };
    let fail = |source: io::Error| Error::PushSize {
        image: image.path().to_path_buf(),
        index: layer.index,
        digest: layer
            .digest
            .clone()
            .or_else(|| layer.diff_id.clone())
            .unwrap_or_default(),
        source,
    };
    let mut r = BufReader::with_capacity(1 << 20, reader);
    let head = r.fill_buf().map_err(fail)?;
    if Compression::sniff(head) != Compression::None {
        return Ok(Some(stored_bytes));
    }
    let mut gz =
        flate2::write::GzEncoder::new(Counter(0), flate2::Compression::new(DOCKER_PUSH_GZIP_LEVEL));
    io::copy(&mut r, &mut gz).map_err(fail)?;
    Ok(Some(gz.finish().map_err(fail)?.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{ImageBuilder, LayerBuilder, Layout};

    /// Figures worked out independently: each layer tar is gzipped here with flate2 at
    /// level 6 into memory and its length taken, and a gzip layer's push size is the
    /// length of the blob the builder wrote.
    #[test]
    fn uncompressed_layers_are_gzipped_at_level_6_and_compressed_ones_pushed_as_stored() {
        let text: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i} of a text file\n").into_bytes())
            .collect();
        let l0 = LayerBuilder::new().file("a.txt", &text);
        let l1 = LayerBuilder::new().file("b.bin", &[7u8; 50_000]);
        let expected = |tar: &[u8]| {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(tar).unwrap();
            e.finish().unwrap().len() as u64
        };
        let (e0, e1) = (expected(&l0.tar()), expected(&l1.tar()));
        // The text compresses well, and level 6 is not level 1.
        assert!(e0 < l0.tar().len() as u64 / 3);
        let fast = {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
            e.write_all(&l0.tar()).unwrap();
            e.finish().unwrap().len() as u64
        };
        assert_ne!(e0, fast);

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("i.tar");
        std::fs::write(
            &path,
            ImageBuilder::new()
                .layer(l0.clone())
                .layer(l1.clone())
                .archive(Layout::DockerClassic),
        )
        .unwrap();
        let image = Image::open(&path).unwrap();
        assert_eq!(push_sizes(&image).unwrap(), [Some(e0), Some(e1)]);

        let gz = l1.gzip();
        let path = dir.path().join("oci.tar");
        std::fs::write(
            &path,
            ImageBuilder::new()
                .layer_as(l1, crate::testkit::Blob::Gzip)
                .archive(Layout::OciArchive),
        )
        .unwrap();
        let image = Image::open(&path).unwrap();
        assert_eq!(push_sizes(&image).unwrap(), [Some(gz.len() as u64)]);
    }
}
