//! `SecureRandom` from the provider's DRBG (`RAND_bytes`).

use quay_ports::crypto::{RandomError, SecureRandom};

/// Randomness from OpenSSL's DRBG (the FIPS DRBG when the FIPS provider is active).
#[derive(Debug, Clone, Copy, Default)]
pub struct OpenSslRandom;

/// Fills `buf` from the provider's DRBG.
///
/// # Errors
/// The OpenSSL error when the DRBG fails.
pub fn fill(buf: &mut [u8]) -> Result<(), openssl::error::ErrorStack> {
    openssl::rand::rand_bytes(buf)
}

impl SecureRandom for OpenSslRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        fill(buf).map_err(|e| RandomError::Backend(Box::new(e)))
    }

    fn token_urlsafe(&self, n_bytes: usize) -> Result<String, RandomError> {
        let bytes = self.bytes(n_bytes)?;
        Ok(crate::b64::url_encode(&bytes))
    }

    fn string_from(&self, alphabet: &[u8], len: usize) -> Result<String, RandomError> {
        let n = alphabet.len();
        if n == 0 || n > 256 {
            return Err(RandomError::Backend(
                "alphabet must have 1 to 256 symbols".into(),
            ));
        }
        // Rejection sampling: accept bytes below the largest multiple of n.
        let limit = 256 - (256 % n);
        let mut out = String::with_capacity(len);
        let mut buf = [0u8; 64];
        while out.len() < len {
            self.fill(&mut buf)?;
            for b in buf {
                if usize::from(b) < limit && out.len() < len {
                    out.push(char::from(alphabet[usize::from(b) % n]));
                }
            }
        }
        Ok(out)
    }
}

/// A CSRF token as Quay makes it: URL-safe base64 of 48 random bytes (64 characters).
///
/// # Errors
/// `Backend` when the DRBG fails.
pub fn csrf_token() -> Result<String, RandomError> {
    OpenSslRandom.token_urlsafe(48)
}

/// Constant-time comparison of two secrets (different lengths compare unequal).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}
