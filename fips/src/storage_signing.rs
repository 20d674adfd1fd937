//! The storage drivers' crypto (`quay_ports::storage::signing`) through OpenSSL: HMACs for S3
//! SigV4, Azure SharedKey/SAS and Swift TempURL, SHA-256 payload hashes, and CloudFront signed
//! URLs.
//!
//! Under a FIPS provider, HMAC-SHA1 (Swift TempURL) and RSA-SHA1 (CloudFront's default) are
//! refused with an error naming the feature; nothing falls back to a non-FIPS path.

use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use quay_ports::storage::signing::{CdnUrlSigner, MacAlgorithm, SigningError, StorageCrypto};

use crate::cdn::{CloudFrontHash, cloudfront_sign};
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
