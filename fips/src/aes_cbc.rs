//! Quay's "encrypted password" for external-auth users (`util/security/aes.py`): AES-256-CBC with
//! PKCS#7, key `convert_secret_key(SECRET_KEY)`, `base64(iv[16] ‖ ciphertext)` of
//! `json.dumps({"password": pw})`.

use openssl::symm::{Cipher, decrypt, encrypt};
use quay_ports::crypto::JsonValue;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::CryptoError;
use crate::pyjson::{self, DEFAULT};
use crate::secret_key::{SecretKeyError, convert_secret_key};

/// Encrypts and decrypts Quay's encrypted basic-auth passwords.
pub struct EncryptedPasswords {
    key: [u8; 32],
}

impl std::fmt::Debug for EncryptedPasswords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptedPasswords { key: <redacted> }")
    }
}

impl EncryptedPasswords {
    /// Keyed from `SECRET_KEY`.
    ///
    /// # Errors
    /// The key cannot be converted.
    pub fn new(secret_key: &SecretString) -> Result<Self, SecretKeyError> {
        Ok(Self {
            key: convert_secret_key(secret_key.expose_secret())?.0,
        })
    }

    /// The derived AES key (for tests against the vectors).
    pub fn derived_key(&self) -> [u8; 32] {
        self.key
    }

    /// Encrypts with a fresh random IV.
    ///
    /// # Errors
    /// OpenSSL failure.
    pub fn encrypt(&self, password: &str) -> Result<String, CryptoError> {
        let mut iv = [0u8; 16];
        crate::random::fill(&mut iv)?;
        self.encrypt_with_iv(password, &iv)
    }

    /// Encrypts with a given IV (tests).
    ///
    /// # Errors
    /// OpenSSL failure.
    pub fn encrypt_with_iv(&self, password: &str, iv: &[u8; 16]) -> Result<String, CryptoError> {
        let plaintext = Self::plaintext_json(password);
        let ct = encrypt(
            Cipher::aes_256_cbc(),
            &self.key,
            Some(iv),
            plaintext.as_bytes(),
        )?;
        let mut blob = iv.to_vec();
        blob.extend_from_slice(&ct);
        Ok(crate::b64::std_encode(&blob))
    }

    /// `json.dumps({"password": pw})` with Python's defaults.
    pub fn plaintext_json(password: &str) -> String {
        pyjson::dumps(
            &JsonValue::object([("password", JsonValue::str(password))]),
            DEFAULT,
        )
    }

    /// Decrypts; `None` when Quay would reject the value. Quirk kept from Python: valid JSON
    /// without a `password` string member yields the encrypted input itself.
    pub fn decrypt(&self, encrypted: &str) -> Option<String> {
        let blob = crate::b64::std_decode(encrypted)?;
        if blob.len() < 32 || blob.len() % 16 != 0 {
            return None;
        }
        let (iv, ct) = blob.split_at(16);
        let pt = decrypt(Cipher::aes_256_cbc(), &self.key, Some(iv), ct).ok()?;
        let text = String::from_utf8(pt).ok()?;
        let value = pyjson::parse(&text).ok()?;
        match value.get("password") {
            Some(JsonValue::Str(pw)) => Some(pw.clone()),
            Some(_) => None,
            None if matches!(value, JsonValue::Object(_)) => Some(encrypted.to_owned()),
            None => None,
        }
    }
}
