//! Fernet page tokens (`PAGE_TOKEN_KEY`): `base64url(0x80 ‖ u64_be(ts) ‖ iv ‖ AES-128-CBC ‖
//! HMAC-SHA256)`. The timestamp is written big-endian explicitly.

use openssl::hash::MessageDigest;
use openssl::symm::{Cipher, decrypt, encrypt};

use crate::b64;
use crate::error::CryptoError;
use crate::jwt::hmac;

/// Quay's page-token lifetime: two days.
pub const PAGE_TOKEN_TTL_S: i64 = 172_800;
const MAX_CLOCK_SKEW_S: i64 = 60;

/// A Fernet key (16 bytes HMAC key, 16 bytes AES key).
pub struct Fernet {
    signing: [u8; 16],
    encryption: [u8; 16],
}

impl std::fmt::Debug for Fernet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fernet { key: <redacted> }")
    }
}

impl Fernet {
    /// From the URL-safe base64 of 32 bytes.
    ///
    /// # Errors
    /// `InvalidKey` for anything else.
    pub fn new(key_b64: &str) -> Result<Self, CryptoError> {
        let key = b64::url_decode(key_b64)
            .ok_or(CryptoError::InvalidKey("Fernet key is not base64url"))?;
        if key.len() != 32 {
            return Err(CryptoError::InvalidKey("Fernet key must be 32 bytes"));
        }
        let mut signing = [0u8; 16];
        let mut encryption = [0u8; 16];
        signing.copy_from_slice(&key[..16]);
        encryption.copy_from_slice(&key[16..]);
        Ok(Self {
            signing,
            encryption,
        })
    }

    /// Encrypts at time `now` with `iv`.
    ///
    /// # Errors
    /// OpenSSL failure; `InvalidInput` for a negative time.
    pub fn encrypt_at(
        &self,
        plaintext: &[u8],
        now: i64,
        iv: &[u8; 16],
    ) -> Result<String, CryptoError> {
        let ts = u64::try_from(now).map_err(|_| CryptoError::InvalidInput("negative time"))?;
        let ct = encrypt(Cipher::aes_128_cbc(), &self.encryption, Some(iv), plaintext)?;
        let mut blob = vec![0x80];
        blob.extend_from_slice(&ts.to_be_bytes());
        blob.extend_from_slice(iv);
        blob.extend_from_slice(&ct);
        let mac = hmac(MessageDigest::sha256(), &self.signing, &blob)?;
        blob.extend_from_slice(&mac);
        Ok(b64::url_encode(&blob))
    }

    /// Encrypts at time `now` with a random IV.
    ///
    /// # Errors
    /// As [`Fernet::encrypt_at`].
    pub fn encrypt(&self, plaintext: &[u8], now: i64) -> Result<String, CryptoError> {
        let mut iv = [0u8; 16];
        crate::random::fill(&mut iv)?;
        self.encrypt_at(plaintext, now, &iv)
    }

    /// Decrypts; `Rejected` for a bad MAC, expired or future token, `InvalidInput` for bad shape.
    ///
    /// # Errors
    /// As described.
    pub fn decrypt(&self, token: &str, now: i64, ttl: i64) -> Result<Vec<u8>, CryptoError> {
        let blob =
            b64::url_decode(token).ok_or(CryptoError::InvalidInput("token is not base64url"))?;
        if blob.len() < 1 + 8 + 16 + 16 + 32 || blob[0] != 0x80 || (blob.len() - 57) % 16 != 0 {
            return Err(CryptoError::InvalidInput("token has the wrong shape"));
        }
        let mut ts_bytes = [0u8; 8];
        ts_bytes.copy_from_slice(&blob[1..9]);
        let ts = i64::try_from(u64::from_be_bytes(ts_bytes))
            .map_err(|_| CryptoError::Rejected("timestamp"))?;
        if ts.saturating_add(ttl) < now {
            return Err(CryptoError::Rejected("token expired"));
        }
        if now.saturating_add(MAX_CLOCK_SKEW_S) < ts {
            return Err(CryptoError::Rejected("token from the future"));
        }
        let (body, mac) = blob.split_at(blob.len() - 32);
        let expected = hmac(MessageDigest::sha256(), &self.signing, body)?;
        if !crate::random::secrets_equal(&expected, mac) {
            return Err(CryptoError::Rejected("bad MAC"));
        }
        let iv = &body[9..25];
        decrypt(
            Cipher::aes_128_cbc(),
            &self.encryption,
            Some(iv),
            &body[25..],
        )
        .map_err(|_| CryptoError::Rejected("bad padding"))
    }
}
