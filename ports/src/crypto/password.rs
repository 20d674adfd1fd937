//! The `PasswordHasher` port: bcrypt, compatible with the hashes Python Quay stored.

use secrecy::SecretString;

use super::BoxError;

/// Errors of [`PasswordHasher`].
#[derive(Debug, thiserror::Error)]
pub enum PasswordHashError {
    /// The password cannot be hashed: it contains a NUL byte (Python's bcrypt refuses it too).
    #[error("password contains a NUL byte")]
    NulByte,
    /// The stored hash is not a bcrypt hash (`$2a$`, `$2b$`, `$2y$`, cost, 53 characters).
    #[error("stored hash is not a valid bcrypt hash")]
    MalformedHash,
    /// Any other failure (random generator, backend).
    #[error("password hashing failed")]
    Backend(#[source] BoxError),
}

impl PasswordHashError {
    /// Whether retrying may succeed: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Hashes and verifies passwords and credential codes (bcrypt, `$2b$`, cost 12 by default).
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password with a fresh salt. Only the first 72 bytes of the UTF-8 password count,
    /// as in Python Quay.
    ///
    /// # Errors
    /// [`PasswordHashError::NulByte`] for a password containing NUL; `Backend` otherwise.
    fn hash(&self, password: &SecretString) -> Result<String, PasswordHashError>;

    /// Checks a password against a stored hash in constant time. `Ok(false)` means "wrong
    /// password".
    ///
    /// # Errors
    /// [`PasswordHashError::MalformedHash`] when `hash` is not a bcrypt hash;
    /// [`PasswordHashError::NulByte`] for a password containing NUL.
    fn verify(&self, password: &SecretString, hash: &str) -> Result<bool, PasswordHashError>;
}
