//! sha256 digests: validation, hashing while writing, and the final comparison.

use super::error::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::io::Write;

/// Checks `digest` is `sha256:` followed by 64 lowercase hex digits.
pub fn check_digest(digest: &str) -> Result<()> {
    let ok = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidDigest {
            digest: digest.to_string(),
        })
    }
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Compares the digest of some content to the one expected.
pub fn verify_digest(what: &str, expected: &str, actual: &str) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::DigestMismatch {
            what: what.to_string(),
            expected: expected.to_string(),
            actual: actual.to_string(),
        })
    }
}

/// A writer that hashes and counts what goes through it, and refuses to go past a limit.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    written: u64,
    limit: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W, limit: u64) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            written: 0,
            limit,
        }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// The digest of everything written, and the inner writer.
    pub fn finish(self) -> (String, W) {
        (
            format!("sha256:{}", hex(&self.hasher.finalize())),
            self.inner,
        )
    }
}

/// The error [`HashingWriter`] returns past its limit (an `io::Error` wrapping this).
#[derive(Debug)]
pub struct LimitExceeded;

impl std::fmt::Display for LimitExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("size limit exceeded")
    }
}

impl std::error::Error for LimitExceeded {}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written.saturating_add(buf.len() as u64) > self.limit {
            return Err(std::io::Error::other(LimitExceeded));
        }
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

pub(crate) fn is_limit_error(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<LimitExceeded>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_and_validation() {
        let d = sha256_digest(b"");
        assert_eq!(
            d,
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        check_digest(&d).unwrap();
        assert!(check_digest("sha256:E3B0").is_err());
        assert!(check_digest("sha512:00").is_err());
        assert!(check_digest(&d.to_uppercase()).is_err());
    }

    #[test]
    fn the_hashing_writer_detects_a_wrong_digest_and_a_limit() {
        let mut w = HashingWriter::new(Vec::new(), 10);
        w.write_all(b"hello").unwrap();
        let (digest, bytes) = w.finish();
        assert_eq!(digest, sha256_digest(b"hello"));
        assert_eq!(bytes, b"hello");
        let err = verify_digest("blob x", &sha256_digest(b"other"), &digest).unwrap_err();
        assert!(
            err.to_string().contains("digest mismatch for blob x"),
            "{err}"
        );

        let mut w = HashingWriter::new(Vec::new(), 4);
        let err = w.write_all(b"hello").unwrap_err();
        assert!(is_limit_error(&err));
        assert_eq!(w.written(), 0);
    }
}
