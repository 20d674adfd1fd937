//! The storage drivers' crypto (`quay_ports::storage::signing`) through OpenSSL: HMACs for S3
//! SigV4, Azure SharedKey/SAS and Swift TempURL, SHA-256 payload hashes, and CloudFront signed
//! URLs.
//!
//! Under a FIPS provider, HMAC-SHA1 (Swift TempURL) and RSA-SHA1 (CloudFront's default) are
//! refused with an error naming the feature; nothing falls back to a non-FIPS path.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use quay_ports::storage::signing::{
    CdnMetricParams, CdnRewriteSigner, CdnUrlSigner, MacAlgorithm, SigningError, StorageCrypto,
};

use crate::cdn::{CdnParams, CloudFrontHash, akamai_sign, cloudflare_sign, cloudfront_sign};
use crate::error::CryptoError;

/// [`StorageCrypto`] on the process's OpenSSL providers.
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenSslStorageCrypto;

fn backend(e: openssl::error::ErrorStack) -> SigningError {
    SigningError::Backend(Box::new(e))
}

impl StorageCrypto for OpenSslStorageCrypto {
    fn hmac(&self, alg: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SigningError> {
        let digest = match alg {
            MacAlgorithm::Sha1 => MessageDigest::sha1(),
            MacAlgorithm::Sha256 => MessageDigest::sha256(),
        };
        crate::jwt::hmac(digest, key, data).map_err(|e| {
            if alg == MacAlgorithm::Sha1 && crate::provider::fips_enforced() {
                SigningError::Forbidden("HMAC-SHA1 (Swift TempURL, DISTRIBUTED_STORAGE_CONFIG[SwiftStorage].temp_url_key)")
            } else {
                backend(e)
            }
        })
    }

    fn sha256(&self, data: &[u8]) -> Result<[u8; 32], SigningError> {
        let bytes = openssl::hash::hash(MessageDigest::sha256(), data).map_err(backend)?;
        let mut out = [0u8; 32];
        out.copy_from_slice(&bytes);
        Ok(out)
    }
}

/// CloudFront signed URLs with the distribution's key pair (`cloudfront_privatekey_filename`,
/// `cloudfront_keypair_id`).
pub struct CloudFrontSigner {
    key_pair_id: String,
    key: PKey<Private>,
    hash: CloudFrontHash,
}

impl std::fmt::Debug for CloudFrontSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFrontSigner")
            .field("key_pair_id", &self.key_pair_id)
            .finish_non_exhaustive()
    }
}

impl CloudFrontSigner {
    /// A signer from the PEM private key. Quay signs with RSA-SHA1; under FIPS pass
    /// [`CloudFrontHash::Sha256`] (CloudFront accepts `Hash-Algorithm=SHA256`).
    ///
    /// # Errors
    /// When the PEM is not an RSA private key.
    pub fn from_pem(
        key_pair_id: &str,
        pem: &[u8],
        hash: CloudFrontHash,
    ) -> Result<Self, CryptoError> {
        Ok(Self {
            key_pair_id: key_pair_id.to_owned(),
            key: PKey::private_key_from_pem(pem)?,
            hash,
        })
    }
}

impl CdnUrlSigner for CloudFrontSigner {
    fn sign_url(&self, url: &str, expires_unix: i64) -> Result<String, SigningError> {
        cloudfront_sign(url, expires_unix, &self.key_pair_id, &self.key, self.hash)
            .map(|(signed, _policy)| signed)
            .map_err(|e| match e {
                CryptoError::FipsForbidden { .. } => SigningError::Forbidden(
                    "RSA-SHA1 CloudFront signing (DISTRIBUTED_STORAGE_CONFIG[CloudFrontedS3Storage])",
                ),
                other => SigningError::Backend(Box::new(other)),
            })
    }
}

fn cdn_params<'a>(p: &CdnMetricParams<'a>) -> CdnParams<'a> {
    CdnParams {
        namespace: p.namespace,
        username: p.username,
        repo_name: p.repo_name,
    }
}

/// `CloudFlareStorage` URLs: the S3 presigned URL moved to `cloudflare_domain`, signed with
/// RSA-SHA256 (PKCS#1 v1.5) over `<path>@<expiry>` by the key of
/// `cloudflare_privatekey_filename`.
pub struct CloudFlareSigner {
    domain: String,
    region: String,
    key: PKey<Private>,
}

impl std::fmt::Debug for CloudFlareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudFlareSigner")
            .field("domain", &self.domain)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl CloudFlareSigner {
    /// A signer for `domain` and the bucket's `region` with the PEM private key.
    ///
    /// # Errors
    /// When the PEM is not a private key.
    pub fn from_pem(domain: &str, region: &str, pem: &[u8]) -> Result<Self, CryptoError> {
        Ok(Self {
            domain: domain.to_owned(),
            region: region.to_owned(),
            key: PKey::private_key_from_pem(pem)?,
        })
    }
}

impl CdnRewriteSigner for CloudFlareSigner {
    fn sign_s3_url(
        &self,
        s3_presigned_url: &str,
        now_unix: i64,
        expires_in_secs: u64,
        params: &CdnMetricParams<'_>,
    ) -> Result<String, SigningError> {
        let expires = now_unix.saturating_add(i64::try_from(expires_in_secs).unwrap_or(i64::MAX));
        cloudflare_sign(
            s3_presigned_url,
            &self.domain,
            &self.region,
            expires,
            &cdn_params(params),
            &self.key,
        )
        .map(|(url, _)| url)
        .map_err(|e| SigningError::Backend(Box::new(e)))
    }
}

/// `AkamaiS3Storage` URLs: the S3 presigned URL moved to `akamai_domain` with an EdgeAuth token
/// (HMAC-SHA256 under the hex `akamai_shared_secret`, 900 s window).
pub struct AkamaiSigner {
    domain: String,
    region: String,
    secret_hex: String,
}

impl std::fmt::Debug for AkamaiSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AkamaiSigner")
            .field("domain", &self.domain)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl AkamaiSigner {
    /// A signer for `domain` and the bucket's `region`.
    ///
    /// # Errors
    /// `InvalidKey` when the secret is not hex (EdgeAuth decodes it as hex).
    pub fn new(domain: &str, region: &str, shared_secret_hex: &str) -> Result<Self, CryptoError> {
        if hex::decode(shared_secret_hex).is_err() {
            return Err(CryptoError::InvalidKey("Akamai secret is not hex"));
        }
        Ok(Self {
            domain: domain.to_owned(),
            region: region.to_owned(),
            secret_hex: shared_secret_hex.to_owned(),
        })
    }
}

impl CdnRewriteSigner for AkamaiSigner {
    fn sign_s3_url(
        &self,
        s3_presigned_url: &str,
        now_unix: i64,
        _expires_in_secs: u64,
        params: &CdnMetricParams<'_>,
    ) -> Result<String, SigningError> {
        akamai_sign(
            s3_presigned_url,
            &self.domain,
            &self.region,
            &cdn_params(params),
            &self.secret_hex,
            now_unix,
        )
        .map_err(|e| SigningError::Backend(Box::new(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha256_matches_rfc4231_case_2() {
        let mac = OpenSslStorageCrypto
            .hmac(
                MacAlgorithm::Sha256,
                b"Jefe",
                b"what do ya want for nothing?",
            )
            .unwrap();
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn sha256_of_empty() {
        let d = OpenSslStorageCrypto.sha256(b"").unwrap();
        assert_eq!(d[0], 0xe3);
        assert_eq!(d[31], 0x55);
    }

    #[test]
    fn cloudfront_signs_sha256() {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let pem = rsa.private_key_to_pem().unwrap();
        let signer = CloudFrontSigner::from_pem("KID", &pem, CloudFrontHash::Sha256).unwrap();
        let url = signer
            .sign_url("https://cdn.example.com/sha256/ab/abc", 2_000_000_000)
            .unwrap();
        assert!(
            url.contains("Expires=2000000000") && url.contains("Key-Pair-Id=KID"),
            "{url}"
        );
    }
}
