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

/// The usage parameters Quay adds to CloudFlare and Akamai URLs (its `namespace`, `username`,
/// `repo_name` keyword arguments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CdnMetricParams<'a> {
    /// Namespace pulled from.
    pub namespace: Option<&'a str>,
    /// Pulling user.
    pub username: Option<&'a str>,
    /// Repository name.
    pub repo_name: Option<&'a str>,
}

/// Moves an S3 presigned URL onto a CDN domain and signs it there (CloudFlare: RSA-SHA256 over
/// `<path>@<expiry>`; Akamai EdgeAuth: HMAC-SHA256 token valid 900 s from `now`).
pub trait CdnRewriteSigner: Send + Sync + std::fmt::Debug {
    /// The signed CDN URL for `s3_presigned_url`, valid `expires_in_secs` from `now_unix` (Akamai
    /// uses its fixed 900 s window instead).
    ///
    /// # Errors
    /// `Forbidden` when the provider refuses the algorithm; `Backend` when signing fails.
    fn sign_s3_url(
        &self,
        s3_presigned_url: &str,
        now_unix: i64,
        expires_in_secs: u64,
        params: &CdnMetricParams<'_>,
    ) -> Result<String, SigningError>;
}

/// Builds the CDN signers of `DISTRIBUTED_STORAGE_CONFIG` entries from their parameters (key
/// files are read from the configuration directory, as Quay's config provider does).
pub trait CdnSignerFactory: Send + Sync + std::fmt::Debug {
    /// `CloudFrontedS3Storage`: `cloudfront_key_id` and `cloudfront_privatekey_filename`.
    ///
    /// # Errors
    /// `Backend` when the key cannot be read or is not an RSA private key.
    fn cloudfront(
        &self,
        key_id: &str,
        private_key_filename: &str,
    ) -> Result<std::sync::Arc<dyn CdnUrlSigner>, SigningError>;

    /// `CloudFlareStorage`: `cloudflare_domain`, `cloudflare_privatekey_filename`, `s3_region`.
    ///
    /// # Errors
    /// As [`Self::cloudfront`].
    fn cloudflare(
        &self,
        domain: &str,
        private_key_filename: &str,
        region: &str,
    ) -> Result<std::sync::Arc<dyn CdnRewriteSigner>, SigningError>;

    /// `AkamaiS3Storage`: `akamai_domain`, `akamai_shared_secret` (hex), `s3_region`.
    ///
    /// # Errors
    /// `Backend` when the secret is not hex.
    fn akamai(
        &self,
        domain: &str,
        shared_secret: &str,
        region: &str,
    ) -> Result<std::sync::Arc<dyn CdnRewriteSigner>, SigningError>;
}

impl From<SigningError> for super::StorageError {
    fn from(e: SigningError) -> Self {
        Self::Signing(Box::new(e))
    }
}
