//! Quay's `convert_secret_key`: how `DATABASE_SECRET_KEY` and `SECRET_KEY` become an AES-256 key.
//!
//! Three attempts, first success wins (Python `util/security/secret.py`):
//! 1. the string as a Python decimal integer, written as lowercase hex (`{:02x}`) and read back as
//!    bytes — an odd number of hex digits or a negative number abandons this attempt;
//! 2. the string as a Python UUID — its 16 bytes, big-endian;
//! 3. each character as one byte (Latin-1); a character above U+00FF is an error.
//!
//! The bytes are then repeated end to end and cut at 32. There is no hashing. Byte order is
//! explicit everywhere (big-endian, as Python's `int`/`fromhex`/`UUID.bytes` give it), so the result
//! does not depend on the host's endianness.

mod pyint;

pub use pyint::{parse_python_hex_int, parse_python_int};

/// Why a secret key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    /// The key is empty (Python fails an `assert`).
    #[error("secret key is empty")]
    Empty,
    /// The key has a character above U+00FF and is neither an integer nor a UUID (Python raises
    /// `ValueError`).
    #[error("secret key has a character above U+00FF at position {position}")]
    NotLatin1 {
        /// Character index of the first offending character.
        position: usize,
    },
}

/// Which attempt produced the key bytes (an annotation for tests and diagnostics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyBranch {
    /// Decimal integer.
    Int,
    /// UUID.
    Uuid,
    /// Characters as Latin-1 bytes.
    Latin1,
}

/// The raw key bytes before cycling, and the branch that produced them.
///
/// # Errors
/// [`SecretKeyError`] as described on its variants.
pub fn raw_key_bytes(secret: &str) -> Result<(Vec<u8>, KeyBranch), SecretKeyError> {
    if let Some(bytes) = int_bytes(secret) {
        return Ok((bytes, KeyBranch::Int));
    }
    if let Some(bytes) = uuid_bytes(secret) {
        return Ok((bytes.to_vec(), KeyBranch::Uuid));
    }
    let mut out = Vec::with_capacity(secret.len());
    for (position, c) in secret.chars().enumerate() {
        let code = u32::from(c);
        let byte = u8::try_from(code).map_err(|_| SecretKeyError::NotLatin1 { position })?;
        out.push(byte);
    }
    Ok((out, KeyBranch::Latin1))
}

/// Quay's `convert_secret_key`: the 32-byte AES key for `secret`.
///
/// # Errors
/// [`SecretKeyError::Empty`] for an empty key (or one whose bytes are empty);
/// [`SecretKeyError::NotLatin1`] as described there.
pub fn convert_secret_key(secret: &str) -> Result<([u8; 32], KeyBranch), SecretKeyError> {
    if secret.is_empty() {
        return Err(SecretKeyError::Empty);
    }
    let (raw, branch) = raw_key_bytes(secret)?;
    if raw.is_empty() {
        return Err(SecretKeyError::Empty);
    }
    let mut key = [0u8; 32];
    for (slot, byte) in key.iter_mut().zip(raw.iter().cycle()) {
        *slot = *byte;
    }
    Ok((key, branch))
}

/// Attempt 1: `bytearray.fromhex("{:02x}".format(int(secret)))`.
fn int_bytes(secret: &str) -> Option<Vec<u8>> {
    let (negative, magnitude) = parse_python_int(secret)?;
    let first_nonzero = magnitude.iter().position(|b| *b != 0);
    let Some(start) = first_nonzero else {
        // zero (also "-0"): "{:02x}" gives "00"
        return Some(vec![0]);
    };
    if negative {
        return None; // "-…" is not hex: fromhex fails, attempt abandoned
    }
    let bytes = &magnitude[start..];
    // The leading byte written with one hex digit makes the string odd: fromhex fails.
    if bytes.first().is_some_and(|b| *b < 0x10) {
        return None;
    }
    Some(bytes.to_vec())
}

/// Attempt 2: Python's `uuid.UUID(secret).bytes`.
fn uuid_bytes(secret: &str) -> Option<[u8; 16]> {
    let cleaned = secret.replace("urn:", "").replace("uuid:", "");
    let cleaned = cleaned
        .trim_matches(|c| c == '{' || c == '}')
        .replace('-', "");
    if cleaned.chars().count() != 32 {
        return None;
    }
    let (negative, magnitude) = parse_python_hex_int(&cleaned)?;
    let start = magnitude.iter().position(|b| *b != 0);
    let digits = start.map_or(&[][..], |s| &magnitude[s..]);
    if negative && !digits.is_empty() {
        return None;
    }
    if digits.len() > 16 {
        return None;
    }
    let mut out = [0u8; 16];
    out[16 - digits.len()..].copy_from_slice(digits);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_key(s: &str) -> String {
        hex::encode(convert_secret_key(s).map(|(k, _)| k).unwrap_or([0xEE; 32]))
    }

    #[test]
    fn pinned_bytes_are_big_endian() {
        // 0x0102 would be "102" (odd): falls back to the ASCII "258".
        assert_eq!(
            raw_key_bytes("258").unwrap(),
            (b"258".to_vec(), KeyBranch::Latin1)
        );
        // 0x1234 = 4660: bytes 12 34 in this order on every host.
        assert_eq!(
            raw_key_bytes("4660").unwrap(),
            (vec![0x12, 0x34], KeyBranch::Int)
        );
        assert_eq!(&hex_key("4660")[..8], "12341234");
        assert_eq!(
            raw_key_bytes("00112233-4455-6677-8899-aabbccddeeff")
                .unwrap()
                .0,
            hex::decode("00112233445566778899aabbccddeeff").unwrap()
        );
        assert_eq!(raw_key_bytes("0").unwrap().0, vec![0]);
        assert_eq!(raw_key_bytes("é").unwrap().0, vec![0xE9]);
        assert_eq!(convert_secret_key(""), Err(SecretKeyError::Empty));
        assert!(matches!(
            convert_secret_key("€"),
            Err(SecretKeyError::NotLatin1 { .. })
        ));
    }
}
