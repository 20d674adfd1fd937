//! Field encryption `v0`: Quay's encrypted database columns.
//!
//! Layout: `"v0$$" + base64_std_padded(nonce[13] ‖ ciphertext[len(pt)] ‖ tag[16])`, AES-256-CCM,
//! no associated data, key from [`crate::secret_key::convert_secret_key`]. With a 13-byte nonce
//! CCM's length field is 2 bytes, so a plaintext is at most 65 535 bytes.
//!
//! CCM goes through `CipherCtx` in the order OpenSSL 3 needs (cipher, IV length, tag length, then
//! key and nonce, then the data length): `openssl::symm::encrypt_aead` sets the key before the tag
//! length and cannot produce a 16-byte CCM tag.

use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::error::ErrorStack;
use quay_ports::crypto::{FieldCipher, FieldCipherError};
use secrecy::{ExposeSecret as _, SecretString};

use crate::secret_key::{SecretKeyError, convert_secret_key};

/// CCM nonce length used by Quay.
pub const NONCE_LEN: usize = 13;
/// CCM tag length used by Quay.
pub const TAG_LEN: usize = 16;
/// Largest plaintext a 13-byte nonce allows.
pub const MAX_PLAINTEXT: usize = 65_535;

/// Quay's field encrypter, version `v0`.
pub struct FieldEncrypterV0 {
    key: [u8; 32],
}

impl std::fmt::Debug for FieldEncrypterV0 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FieldEncrypterV0 { key: <redacted> }")
    }
}

impl FieldEncrypterV0 {
    /// Builds the encrypter from `DATABASE_SECRET_KEY`.
    ///
    /// # Errors
    /// The key cannot be converted (empty, or a character above U+00FF).
    pub fn new(database_secret_key: &SecretString) -> Result<Self, SecretKeyError> {
        let (key, _) = convert_secret_key(database_secret_key.expose_secret())?;
        Ok(Self { key })
    }

    /// Encrypts with a caller-chosen nonce (tests and vectors); use [`FieldCipher::encrypt`]
    /// otherwise.
    ///
    /// # Errors
    /// `PlaintextTooLarge`, `TooLongForColumn`, `Backend`.
    pub fn encrypt_with_nonce(
        &self,
        plaintext: &[u8],
        nonce: &[u8; NONCE_LEN],
        max_length: Option<usize>,
    ) -> Result<String, FieldCipherError> {
        if plaintext.len() > MAX_PLAINTEXT {
            return Err(FieldCipherError::PlaintextTooLarge {
                len: plaintext.len(),
            });
        }
        let sealed = ccm_seal(&self.key, nonce, plaintext).map_err(backend)?;
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(nonce);
        blob.extend_from_slice(&sealed);
        let encoded = crate::b64::std_encode(&blob);
        if let Some(max) = max_length {
            let len = encoded.len() + 4;
            if len > max {
                return Err(FieldCipherError::TooLongForColumn { len, max });
            }
        }
        Ok(format!("v0$${encoded}"))
    }

    /// Decrypts to bytes.
    ///
    /// # Errors
    /// `UnknownVersion` or `DecryptionFailed`.
    pub fn decrypt_bytes(&self, stored: &str) -> Result<Vec<u8>, FieldCipherError> {
        let (version, data) = stored
            .split_once("$$")
            .ok_or(FieldCipherError::UnknownVersion)?;
        if version != "v0" {
            return Err(FieldCipherError::UnknownVersion);
        }
        let blob = crate::b64::std_decode(data).ok_or(FieldCipherError::DecryptionFailed)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(FieldCipherError::DecryptionFailed);
        }
        let (nonce, rest) = blob.split_at(NONCE_LEN);
        let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
        ccm_open(&self.key, nonce, ciphertext, tag).map_err(|_| FieldCipherError::DecryptionFailed)
    }
}

fn backend(e: ErrorStack) -> FieldCipherError {
    FieldCipherError::Backend(Box::new(e))
}

/// AES-256-CCM seal with a 13-byte nonce and 16-byte tag: `ciphertext ‖ tag`.
fn ccm_seal(key: &[u8; 32], nonce: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = CipherCtx::new()?;
    ctx.encrypt_init(Some(Cipher::aes_256_ccm()), None, None)?;
    ctx.set_iv_length(NONCE_LEN)?;
    ctx.set_tag_length(TAG_LEN)?;
    ctx.encrypt_init(None, Some(key), Some(nonce))?;
    ctx.set_data_len(plaintext.len())?;
    let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
    ctx.cipher_update_vec(plaintext, &mut out)?;
    ctx.cipher_final_vec(&mut out)?;
    let mut tag = [0u8; TAG_LEN];
    ctx.tag(&mut tag)?;
    out.extend_from_slice(&tag);
    Ok(out)
}

/// AES-256-CCM open; fails on a wrong key or a bad tag.
fn ccm_open(
    key: &[u8; 32],
    nonce: &[u8],
    ciphertext: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    let mut ctx = CipherCtx::new()?;
    ctx.decrypt_init(Some(Cipher::aes_256_ccm()), None, None)?;
    ctx.set_iv_length(NONCE_LEN)?;
    ctx.set_tag(tag)?;
    ctx.decrypt_init(None, Some(key), Some(nonce))?;
    ctx.set_data_len(ciphertext.len())?;
    let mut out = Vec::with_capacity(ciphertext.len());
    ctx.cipher_update_vec(ciphertext, &mut out)?;
    Ok(out)
}

impl FieldCipher for FieldEncrypterV0 {
    fn encrypt(
        &self,
        plaintext: &SecretString,
        max_length: Option<usize>,
    ) -> Result<String, FieldCipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        crate::random::fill(&mut nonce).map_err(backend)?;
        self.encrypt_with_nonce(plaintext.expose_secret().as_bytes(), &nonce, max_length)
    }

    fn decrypt(&self, stored: &str) -> Result<SecretString, FieldCipherError> {
        let bytes = self.decrypt_bytes(stored)?;
        let text = String::from_utf8(bytes).map_err(|_| FieldCipherError::DecryptionFailed)?;
        Ok(SecretString::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_nonce_ciphertext_tag() {
        let enc = FieldEncrypterV0::new(&SecretString::from("4096".to_owned())).unwrap();
        let nonce = [7u8; NONCE_LEN];
        let out = enc.encrypt_with_nonce(b"abc", &nonce, None).unwrap();
        let blob = crate::b64::std_decode(out.strip_prefix("v0$$").unwrap()).unwrap();
        assert_eq!(blob.len(), NONCE_LEN + 3 + TAG_LEN);
        assert_eq!(&blob[..NONCE_LEN], &nonce);
        assert_eq!(enc.decrypt_bytes(&out).unwrap(), b"abc");
        // truncated tag, wrong version, garbage: typed errors, no panic
        let short = format!("v0$${}", crate::b64::std_encode(&blob[..blob.len() - 1]));
        assert!(matches!(
            enc.decrypt_bytes(&short),
            Err(FieldCipherError::DecryptionFailed)
        ));
        assert!(matches!(
            enc.decrypt_bytes("v9$$AAAA"),
            Err(FieldCipherError::UnknownVersion)
        ));
        assert!(matches!(
            enc.decrypt_bytes("nodollar"),
            Err(FieldCipherError::UnknownVersion)
        ));
        assert!(matches!(
            enc.decrypt_bytes("v0$$!!"),
            Err(FieldCipherError::DecryptionFailed)
        ));
    }
}
