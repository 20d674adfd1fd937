//! The `SecureRandom` port: bytes and tokens from the crypto module's DRBG.

use super::BoxError;

/// Errors of [`SecureRandom`].
#[derive(Debug, thiserror::Error)]
pub enum RandomError {
    /// The random generator failed (for example the FIPS DRBG is in an error state).
    #[error("random generator failed")]
    Backend(#[source] BoxError),
}

impl RandomError {
    /// Whether retrying the same call may succeed: never, a DRBG failure is persistent.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// Cryptographically secure randomness.
pub trait SecureRandom: Send + Sync {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// [`RandomError::Backend`] when the generator fails.
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError>;

    /// Returns `n` random bytes.
    ///
    /// # Errors
    /// [`RandomError::Backend`] when the generator fails.
    fn bytes(&self, n: usize) -> Result<Vec<u8>, RandomError> {
        let mut out = vec![0u8; n];
        self.fill(&mut out)?;
        Ok(out)
    }

    /// URL-safe base64 (with padding, Python's `base64.urlsafe_b64encode`) of `n_bytes` random
    /// bytes; `token_urlsafe(48)` is Quay's CSRF token.
    ///
    /// # Errors
    /// [`RandomError::Backend`] when the generator fails.
    fn token_urlsafe(&self, n_bytes: usize) -> Result<String, RandomError>;

    /// A string of `len` characters drawn uniformly from `alphabet` (e.g. `[A-Z0-9]` for robot
    /// tokens), without modulo bias.
    ///
    /// # Errors
    /// [`RandomError::Backend`] when the generator fails or `alphabet` is empty.
    fn string_from(&self, alphabet: &[u8], len: usize) -> Result<String, RandomError>;
}
