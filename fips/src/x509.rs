//! Certificate checks of Quay's config validation (`util/security/ssl.py`): load a PEM
//! certificate, check a private key belongs to it, list and match its DNS names, check expiry.

use std::collections::BTreeSet;

use openssl::asn1::Asn1Time;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::X509;

/// Why a certificate or key is refused.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The certificate PEM does not parse (`CertInvalidException`).
    #[error("certificate could not be loaded")]
    InvalidCertificate(#[source] openssl::error::ErrorStack),
    /// The key PEM does not parse (`KeyInvalidException`).
    #[error("private key could not be loaded")]
    InvalidKey(#[source] openssl::error::ErrorStack),
    /// The key does not belong to the certificate (`KeyInvalidException`).
    #[error("private key does not match the certificate")]
    KeyMismatch,
    /// OpenSSL failed otherwise.
    #[error("certificate check failed")]
    OpenSsl(#[from] openssl::error::ErrorStack),
}

/// A loaded certificate.
#[derive(Debug, Clone)]
pub struct Certificate {
    cert: X509,
}

impl Certificate {
    /// `load_certificate`.
    ///
    /// # Errors
    /// [`CertError::InvalidCertificate`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        X509::from_pem(pem)
            .map(|cert| Self { cert })
            .map_err(CertError::InvalidCertificate)
    }

    /// `validate_private_key`: the PEM key's public half equals the certificate's.
    ///
    /// # Errors
    /// [`CertError::InvalidKey`] or [`CertError::KeyMismatch`].
    pub fn validate_private_key(&self, key_pem: &[u8]) -> Result<(), CertError> {
        let key = PKey::private_key_from_pem(key_pem).map_err(CertError::InvalidKey)?;
        let public = self.cert.public_key()?;
        if public.public_eq(&key) {
            Ok(())
        } else {
            Err(CertError::KeyMismatch)
        }
    }

    /// The subject common name, if any.
    pub fn common_name(&self) -> Option<String> {
        self.cert
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
    }

    /// `names`: the common name plus every DNS subject alternative name.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.common_name().into_iter().collect();
        if let Some(sans) = self.cert.subject_alt_names() {
            names.extend(sans.iter().filter_map(|n| n.dnsname().map(str::to_owned)));
        }
        names
    }

    /// `matches_name`: some name matches `host` as a shell pattern (`fnmatch`, case-sensitive).
    pub fn matches_name(&self, host: &str) -> bool {
        self.names().iter().any(|pattern| fnmatch(host, pattern))
    }

    /// Whether the certificate has expired at `now` (Unix seconds).
    ///
    /// # Errors
    /// OpenSSL failure.
    pub fn expired_at(&self, now: i64) -> Result<bool, CertError> {
        let now = Asn1Time::from_unix(now)?;
        Ok(self.cert.not_after() < now)
    }
}

/// POSIX `fnmatch.fnmatchcase`: `*`, `?` and `[...]` (with `!` negation and ranges).
pub fn fnmatch(name: &str, pattern: &str) -> bool {
    let name: Vec<char> = name.chars().collect();
    let pattern: Vec<char> = pattern.chars().collect();
    matches_from(&name, &pattern)
}

fn class_match(c: char, class: &[char]) -> bool {
    let (negate, body) = match class.first() {
        Some('!') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < body.len() {
        if i + 2 < body.len() && body[i + 1] == '-' {
            hit |= body[i] <= c && c <= body[i + 2];
            i += 3;
        } else {
            hit |= body[i] == c;
            i += 1;
        }
    }
    hit != negate
}

fn matches_from(name: &[char], pattern: &[char]) -> bool {
    let Some((&p, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match p {
        '*' => (0..=name.len()).any(|skip| matches_from(&name[skip..], rest)),
        '?' => !name.is_empty() && matches_from(&name[1..], rest),
        '[' => {
            // A class ends at the first `]` after at least one character; otherwise `[` is literal.
            let close = rest.iter().skip(1).position(|c| *c == ']').map(|i| i + 1);
            match (close, name.first()) {
                (Some(end), Some(&c)) => {
                    class_match(c, &rest[..end]) && matches_from(&name[1..], &rest[end + 1..])
                }
                (Some(_), None) => false,
                (None, _) => name.first() == Some(&'[') && matches_from(&name[1..], rest),
            }
        }
        literal => name.first() == Some(&literal) && matches_from(&name[1..], rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("quay.example.com", "*.example.com"));
        assert!(fnmatch("a.b.example.com", "*.example.com"));
        assert!(!fnmatch("example.com", "*.example.com"));
        assert!(fnmatch("q1", "q[0-9]"));
        assert!(!fnmatch("Quay", "quay"));
    }

    #[test]
    fn self_signed_certificate_checks() {
        let (cert, key) = crate::tls::self_signed(&["quay.example.com".to_owned()]).unwrap();
        let c = Certificate::from_pem(cert.as_bytes()).unwrap();
        c.validate_private_key(key.as_bytes()).unwrap();
        let other = crate::tls::generate_ec_p256()
            .unwrap()
            .private_key_to_pem_pkcs8()
            .unwrap();
        assert!(matches!(
            c.validate_private_key(&other),
            Err(CertError::KeyMismatch)
        ));
        assert!(c.matches_name("quay.example.com") && c.matches_name("localhost"));
        assert!(!c.matches_name("other.example.com"));
        assert!(!c.expired_at(1_700_000_000).unwrap());
        assert!(c.expired_at(4_102_444_800).unwrap()); // 2100
        assert!(Certificate::from_pem(b"garbage").is_err());
    }
}
