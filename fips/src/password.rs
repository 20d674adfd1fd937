//! bcrypt password hashes, compatible with Python Quay (bcrypt 3.1.7).
//!
//! bcrypt is not a FIPS-approved algorithm and OpenSSL does not implement it; this is the one
//! primitive that comes from the pure-Rust `bcrypt` crate. Policy (see the crate README): it is
//! outside the FIPS boundary, used only for password and credential-code storage, and the salt
//! comes from the provider's DRBG. Python Quay keeps bcrypt with `FEATURE_FIPS` on as well.

use quay_ports::crypto::{PasswordHashError, PasswordHasher};
use secrecy::{ExposeSecret as _, SecretString};

/// Quay's default bcrypt cost.
pub const DEFAULT_COST: u32 = 12;

/// bcrypt hasher writing `$2b$` hashes.
#[derive(Debug, Clone, Copy)]
pub struct BcryptHasher {
    cost: u32,
}

impl Default for BcryptHasher {
    fn default() -> Self {
        Self { cost: DEFAULT_COST }
    }
}

impl BcryptHasher {
    /// A hasher with the given cost (4..=31).
    pub fn with_cost(cost: u32) -> Self {
        Self { cost }
    }
}

fn bcrypt_err(e: bcrypt::BcryptError) -> PasswordHashError {
    PasswordHashError::Backend(e.to_string().into())
}

fn check_nul(password: &[u8]) -> Result<(), PasswordHashError> {
    if password.contains(&0) {
        Err(PasswordHashError::NulByte)
    } else {
        Ok(())
    }
}

/// Hashes with an explicit bcrypt salt string (`$2b$NN$` + 22 characters), as Python's
/// `bcrypt.hashpw(pw, salt)`; the output keeps the salt's `$2a$`/`$2b$`/`$2y$` prefix.
///
/// # Errors
/// `NulByte`, or `MalformedHash` when `salt` is not a bcrypt salt.
pub fn hash_with_salt_str(password: &[u8], salt: &str) -> Result<String, PasswordHashError> {
    check_nul(password)?;
    let bytes = salt.as_bytes();
    if !salt.is_ascii()
        || bytes.len() < 29
        || bytes[0] != b'$'
        || bytes[3] != b'$'
        || bytes[6] != b'$'
    {
        return Err(PasswordHashError::MalformedHash);
    }
    let prefix = &salt[..4];
    let version = match prefix {
        "$2a$" => bcrypt::Version::TwoA,
        "$2b$" => bcrypt::Version::TwoB,
        "$2y$" => bcrypt::Version::TwoY,
        _ => return Err(PasswordHashError::MalformedHash),
    };
    let cost: u32 = salt[4..6]
        .parse()
        .map_err(|_| PasswordHashError::MalformedHash)?;
    // Reuse the crate's parser: a dummy 31-character hash after the 22 salt characters.
    let probe = format!("{}{}", &salt[..29], "a".repeat(31));
    let parts: bcrypt::HashParts = probe
        .parse()
        .map_err(|_| PasswordHashError::MalformedHash)?;
    let hashed =
        bcrypt::hash_with_salt(password, cost, parts.get_salt_raw()).map_err(bcrypt_err)?;
    Ok(hashed.format_for_version(version))
}

impl PasswordHasher for BcryptHasher {
    fn hash(&self, password: &SecretString) -> Result<String, PasswordHashError> {
        let pw = password.expose_secret().as_bytes();
        check_nul(pw)?;
        let mut salt = [0u8; 16];
        crate::random::fill(&mut salt).map_err(|e| PasswordHashError::Backend(Box::new(e)))?;
        let parts = bcrypt::hash_with_salt(pw, self.cost, salt).map_err(bcrypt_err)?;
        Ok(parts.format_for_version(bcrypt::Version::TwoB))
    }

    fn verify(&self, password: &SecretString, hash: &str) -> Result<bool, PasswordHashError> {
        let pw = password.expose_secret().as_bytes();
        check_nul(pw)?;
        if hash.len() != 60 || !hash.is_ascii() {
            return Err(PasswordHashError::MalformedHash);
        }
        let salt = &hash[..29];
        let recomputed = hash_with_salt_str(pw, salt)?;
        Ok(crate::random::secrets_equal(
            recomputed.as_bytes(),
            hash.as_bytes(),
        ))
    }
}
