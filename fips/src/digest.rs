//! Content digests (`sha256:<hex>`), Quay's storage path layout, PKCE and the `Digester` port.

use openssl::hash::{Hasher, MessageDigest, hash};
use quay_ports::crypto::{DigestError, Digester, HashStream};

use crate::b64;

fn backend(e: openssl::error::ErrorStack) -> DigestError {
    DigestError::Backend(Box::new(e))
}

/// `sha256:<lowercase hex>` of `data`.
///
/// # Errors
/// OpenSSL failure.
pub fn sha256_digest(data: &[u8]) -> Result<String, openssl::error::ErrorStack> {
    Ok(format!(
        "sha256:{}",
        hex::encode(hash(MessageDigest::sha256(), data)?)
    ))
}

/// Why a digest string is refused by [`content_path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid digest")]
pub struct InvalidDigest;

/// Quay's `content_path(digest)`: `<alg with + and . as />/<first two hex chars, zero-filled>/<hex>`
/// (double slashes squeezed, leading `/` removed), for digests `[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+`.
///
/// # Errors
/// [`InvalidDigest`] when `digest` does not have that shape.
pub fn content_path(digest: &str) -> Result<String, InvalidDigest> {
    quay_domain::storage_path::StoragePath::for_blob(digest)
        .map(|p| p.as_str().to_owned())
        .map_err(|_| InvalidDigest)
}

/// PKCE S256 challenge: base64url-no-pad(SHA-256(verifier)); `plain` returns the verifier.
///
/// # Errors
/// OpenSSL failure.
pub fn pkce_challenge(verifier: &str, method: &str) -> Result<String, openssl::error::ErrorStack> {
    if method == "plain" {
        return Ok(verifier.to_owned());
    }
    Ok(b64::url_nopad_encode(&hash(
        MessageDigest::sha256(),
        verifier.as_bytes(),
    )?))
}

/// Advisory lock id of a name: the first 8 bytes of its SHA-256, big-endian, as `i64`.
///
/// # Errors
/// OpenSSL failure.
pub fn advisory_lock_id(name: &str) -> Result<i64, openssl::error::ErrorStack> {
    let d = hash(MessageDigest::sha256(), name.as_bytes())?;
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    Ok(i64::from_be_bytes(first))
}

/// SHA-256 streams from the provider. OpenSSL cannot export a portable hasher state, so
/// [`HashStream::export_state`] returns `None`; callers re-hash from storage instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenSslDigester;

struct Stream(Hasher);

impl HashStream for Stream {
    fn update(&mut self, data: &[u8]) -> Result<(), DigestError> {
        self.0.update(data).map_err(backend)
    }

    fn finish(mut self: Box<Self>) -> Result<String, DigestError> {
        let d = self.0.finish().map_err(backend)?;
        Ok(format!("sha256:{}", hex::encode(d)))
    }

    fn export_state(&self) -> Option<Vec<u8>> {
        None
    }
}

impl Digester for OpenSslDigester {
    fn sha256_digest(&self, data: &[u8]) -> Result<String, DigestError> {
        sha256_digest(data).map_err(backend)
    }

    fn sha256_stream(&self) -> Result<Box<dyn HashStream>, DigestError> {
        Ok(Box::new(Stream(
            Hasher::new(MessageDigest::sha256()).map_err(backend)?,
        )))
    }

    fn resume_sha256(&self, _state: &[u8]) -> Result<Box<dyn HashStream>, DigestError> {
        Err(DigestError::InvalidState)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths() {
        assert_eq!(content_path("sha256:abcd").unwrap(), "sha256/ab/abcd");
        assert_eq!(
            content_path("tarsum+v1.sha256:a").unwrap(),
            "tarsum/v1/sha256/0a/a"
        );
        assert_eq!(content_path("sha256:"), Err(InvalidDigest));
        assert_eq!(content_path("sha256:xyz"), Err(InvalidDigest));
        // big-endian on every host
        assert_eq!(
            advisory_lock_id("").unwrap(),
            i64::from_be_bytes([0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14])
        );
    }
}
