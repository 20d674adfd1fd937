//! Content digests (`algorithm:hex`), as Quay parses them.
//!
//! Quay accepts any digest matching `[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+` in full (`digest_tools`).
//! Content it computes itself is always `sha256`; [`Digest::is_sha256`] tells whether a parsed
//! digest is one this registry can verify. The textual form is kept exactly as given, because
//! Quay stores and compares digests as strings.

use std::fmt;

/// A parsed digest. Comparing two digests compares their text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
    colon: usize,
}

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid digest: {0:?}")]
pub struct InvalidDigest(pub String);

fn is_alg_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '.' | '-')
}

impl Digest {
    /// Parses `algorithm:hex` with Quay's grammar.
    ///
    /// # Errors
    /// [`InvalidDigest`] when the algorithm or the hex part is empty or has other characters.
    pub fn parse(s: &str) -> Result<Self, InvalidDigest> {
        let bad = || InvalidDigest(s.to_owned());
        let colon = s.find(':').ok_or_else(bad)?;
        let (alg, hex) = (&s[..colon], &s[colon + 1..]);
        if alg.is_empty() || !alg.chars().all(is_alg_char) {
            return Err(bad());
        }
        if hex.is_empty() || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Self {
            text: s.to_owned(),
            colon,
        })
    }

    /// A `sha256:` digest from 32 raw bytes.
    pub fn sha256_from_bytes(bytes: &[u8; 32]) -> Self {
        let mut text = String::with_capacity(71);
        text.push_str("sha256:");
        for b in bytes {
            text.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(b & 0x0f)]));
        }
        Self { text, colon: 6 }
    }

    /// The algorithm (`sha256`).
    pub fn algorithm(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The hex-encoded hash.
    pub fn hex(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The whole digest as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a well-formed SHA-256 digest (lower-case, 64 hex digits), the only kind
    /// this registry computes and verifies.
    pub fn is_sha256(&self) -> bool {
        self.algorithm() == "sha256"
            && self.hex().len() == 64
            && self
                .hex()
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Digest {
    type Err = InvalidDigest;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_quay_grammar() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.algorithm(), "sha256");
        assert_eq!(d.hex().len(), 64);
        assert!(d.is_sha256());
        assert_eq!(d.to_string(), EMPTY);
        for ok in ["sha512:abc", "tarsum.v1+sha256:00", "a_b-c:F"] {
            assert!(Digest::parse(ok).is_ok(), "{ok}");
        }
        assert!(!Digest::parse("sha256:ABC").unwrap().is_sha256());
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "sha256",
            "sha256:",
            ":abc",
            "sha256:xyz",
            "sha 256:ab",
            "sha256:ab\n",
            "sha256:ab:cd",
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn from_bytes_is_lower_hex_big_endian_order() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x01;
        let d = Digest::sha256_from_bytes(&bytes);
        assert!(d.as_str().starts_with("sha256:ab00"));
        assert!(d.as_str().ends_with("0001"));
        assert!(d.is_sha256());
    }
}
