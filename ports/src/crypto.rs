//! Crypto ports, implemented by `quay-fips` (the only crate that calls OpenSSL).
//!
//! Crypto is CPU-only, so these traits are synchronous. Each port has its own error enum with a
//! `Backend` variant holding the boxed source. Times are passed in as Unix seconds (read them from
//! the [`crate::clock::Clock`] port) so that every operation is deterministic under test.

pub mod digest;
pub mod field;
pub mod json;
pub mod password;
pub mod random;
pub mod schema1;
pub mod token;

pub use digest::{DigestError, Digester, HashStream};
pub use field::{FieldCipher, FieldCipherError};
pub use json::JsonValue;
pub use password::{PasswordHashError, PasswordHasher};
pub use random::{RandomError, SecureRandom};
pub use token::{RegistryTokenRequest, TokenError, TokenSigner, VerifiedToken};

/// A boxed error source carried by the `Backend` variants.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
