//! The `FieldCipher` port: Quay's encrypted database columns (`v0$$…`, AES-256-CCM).

use secrecy::SecretString;

use super::BoxError;

/// Errors of [`FieldCipher`].
#[derive(Debug, thiserror::Error)]
pub enum FieldCipherError {
    /// The stored value has no `$$` separator or an unknown version prefix.
    #[error("encrypted field has an unknown or missing version prefix")]
    UnknownVersion,
    /// The stored value does not decrypt: bad base64, too short, wrong key, tampered or
    /// truncated tag, or not UTF-8 (Python's `DecryptionFailureException`).
    #[error("encrypted field could not be decrypted")]
    DecryptionFailed,
    /// The plaintext is longer than the 65 535 bytes a 13-byte CCM nonce allows.
    #[error("plaintext of {len} bytes is too large for field encryption")]
    PlaintextTooLarge {
        /// Length of the plaintext in bytes.
        len: usize,
    },
    /// The encrypted value would not fit the column (`max_length` of `EncryptedCharField`).
    #[error("encrypted value of {len} characters exceeds the column limit of {max}")]
    TooLongForColumn {
        /// Length of the encrypted value.
        len: usize,
        /// The column limit.
        max: usize,
    },
    /// Any other failure (random generator, provider).
    #[error("field encryption failed")]
    Backend(#[source] BoxError),
}

impl FieldCipherError {
    /// Whether retrying may succeed: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Encrypts and decrypts values of Quay's encrypted columns, keyed from `DATABASE_SECRET_KEY`.
pub trait FieldCipher: Send + Sync {
    /// Encrypts `plaintext` with a fresh random nonce. `max_length` is the column limit for
    /// `EncryptedCharField` columns (`None` for text columns).
    ///
    /// # Errors
    /// `PlaintextTooLarge`, `TooLongForColumn`, or `Backend`.
    fn encrypt(
        &self,
        plaintext: &SecretString,
        max_length: Option<usize>,
    ) -> Result<String, FieldCipherError>;

    /// Decrypts a stored `v0$$…` value.
    ///
    /// # Errors
    /// `UnknownVersion` or `DecryptionFailed`.
    fn decrypt(&self, stored: &str) -> Result<SecretString, FieldCipherError>;
}
