//! Crypto the storage drivers need, as ports implemented by `quay-fips` (OpenSSL).
//!
//! Drivers sign requests and URLs themselves (S3 SigV4, Azure Shared Key and SAS, Swift TempURL,
//! CloudFront canned policies), so every MAC and signature goes through these traits and so
//! through the FIPS provider. CPU-only, hence synchronous.

use crate::crypto::BoxError;

/// Errors of [`StorageCrypto`] and [`CdnUrlSigner`].
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The algorithm is refused (SHA-1 under FIPS).
    #[error("{0} is not allowed by the crypto provider")]
    Forbidden(&'static str),
    /// The provider failed.
    #[error("crypto provider failed")]
    Backend(#[source] BoxError),
}

/// Hash functions usable in a MAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacAlgorithm {
    /// HMAC-SHA1 (Swift TempURL, as Python Quay signs it).
    Sha1,
    /// HMAC-SHA256 (S3 SigV4, Azure Shared Key and SAS).
    Sha256,
}

/// MACs and hashes for request signing.
pub trait StorageCrypto: Send + Sync + std::fmt::Debug {
    /// `HMAC(alg, key, data)`.
    ///
    /// # Errors
    /// `Forbidden` when the provider refuses `alg`; `Backend` when it fails.
    fn hmac(&self, alg: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SigningError>;

    /// SHA-256 of `data`.
    ///
    /// # Errors
    /// `Backend` when the provider fails.
    fn sha256(&self, data: &[u8]) -> Result<[u8; 32], SigningError>;
}

/// Signs CDN URLs with a private key the signer holds (CloudFront canned policy).
pub trait CdnUrlSigner: Send + Sync + std::fmt::Debug {
    /// Signs `url` (already carrying any query) so that it is valid until `expires_unix`.
    /// Returns the complete signed URL (`…Expires=…&Signature=…&Key-Pair-Id=…`).
    ///
    /// # Errors
    /// `Forbidden` when the provider refuses the signature algorithm; `Backend` when it fails.
    fn sign_url(&self, url: &str, expires_unix: i64) -> Result<String, SigningError>;
}

impl From<SigningError> for super::StorageError {
    fn from(e: SigningError) -> Self {
        Self::Signing(Box::new(e))
    }
}
