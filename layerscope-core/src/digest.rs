//! Content digests (`sha256:<hex>`), the hashing reader used while streaming, and hex helpers.

use sha2::{Digest as _, Sha256};
use std::io::{self, Read};

/// The sha256 of 1024 zero bytes: the canonical empty layer (moby `DigestSHA256EmptyTar`).
#[cfg(test)]
pub const EMPTY_TAR_DIFF_ID: &str =
    "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

/// Lower-case hex of a byte slice.
pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// `sha256:<hex>` of a finished hash.
pub(crate) fn sha256_string(hash: &[u8; 32]) -> String {
    format!("sha256:{}", to_hex(hash))
}

/// sha256 of a byte slice as `sha256:<hex>`.
pub(crate) fn sha256_of(bytes: &[u8]) -> String {
    sha256_string(&Sha256::digest(bytes).into())
}

/// The hex part of a well-formed `sha256:<64 hex>` digest, or `None`.
///
/// Used before a digest is turned into a blob path, so that a hostile index cannot name
/// `blobs/sha256/../../etc/passwd`.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
    .then_some(hex)
}

/// Algorithm and encoded part of any `alg:encoded` digest whose parts are safe as path
/// components (image-spec descriptor.md grammar, restricted to `[a-z0-9+._-]` / `[a-zA-Z0-9=_-]`).
pub(crate) fn split_digest(digest: &str) -> Option<(&str, &str)> {
    let (alg, enc) = digest.split_once(':')?;
    let alg_ok = !alg.is_empty()
        && alg
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let enc_ok = !enc.is_empty()
        && enc
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    (alg_ok && enc_ok).then_some((alg, enc))
}

/// A reader that hashes and counts every byte that passes through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }

    /// Finish: the digest and the byte count.
    pub(crate) fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.count)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(chunk) = buf.get(..n) {
            self.hasher.update(chunk);
        }
        self.count += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tar_constant_is_sha256_of_1024_zeros() {
        assert_eq!(sha256_of(&[0u8; 1024]), EMPTY_TAR_DIFF_ID);
    }

    #[test]
    fn digest_validation_rejects_paths() {
        assert!(sha256_hex("sha256:../../etc/passwd").is_none());
        assert!(sha256_hex(EMPTY_TAR_DIFF_ID).is_some());
        assert!(split_digest("sha256:../x").is_none());
        assert_eq!(split_digest("sha512:abc"), Some(("sha512", "abc")));
    }

    #[test]
    fn hashing_reader_counts_and_hashes() {
        let mut r = HashingReader::new(&b"hello"[..]);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        let (h, n) = r.finish();
        assert_eq!(n, 5);
        assert_eq!(sha256_string(&h), sha256_of(b"hello"));
    }
}
