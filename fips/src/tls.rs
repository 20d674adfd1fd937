//! TLS helpers for the `quay` binary: a self-signed certificate for development and an OpenSSL
//! acceptor (TLS 1.2 or newer) for actix-web's `bind_openssl`.
//!
//! Keys are generated through the EVP path (`PkeyCtx`), so the FIPS provider's rules apply.

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslFiletype, SslMethod, SslVersion};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};

/// Errors of the TLS helpers.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or using the certificate or key failed (path given).
    #[error("cannot load TLS {what} from {path}")]
    Load {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: String,
        /// OpenSSL's reason.
        #[source]
        source: ErrorStack,
    },
    /// The private key does not belong to the certificate.
    #[error("the TLS private key does not match the certificate")]
    KeyMismatch(#[source] ErrorStack),
    /// Any other OpenSSL failure.
    #[error("TLS setup failed")]
    OpenSsl(#[from] ErrorStack),
}

/// Generates an EC P-256 key through the provider.
///
/// # Errors
/// OpenSSL failure.
pub fn generate_ec_p256() -> Result<PKey<Private>, ErrorStack> {
    let mut ctx = PkeyCtx::new_id(Id::EC)?;
    ctx.keygen_init()?;
    ctx.set_ec_paramgen_curve_nid(Nid::X9_62_PRIME256V1)?;
    ctx.keygen()
}

/// A self-signed certificate (EC P-256, SHA-256, one year) whose SAN holds every name of
/// `hosts` plus `localhost` and `127.0.0.1`; returns `(certificate PEM, PKCS#8 key PEM)`.
/// Host entries that parse as IP addresses become IP SANs; a `host:port` keeps only the host.
///
/// # Errors
/// OpenSSL failure.
pub fn self_signed(hosts: &[String]) -> Result<(String, String), TlsError> {
    let key = generate_ec_p256()?;
    let mut names: Vec<String> = hosts.iter().map(|h| strip_port(h).to_owned()).collect();
    for extra in ["localhost", "127.0.0.1"] {
        if !names.iter().any(|n| n == extra) {
            names.push(extra.to_owned());
        }
    }
    let common_name = names.first().map_or("localhost", String::as_str);

    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "quay-rs self-signed")?;
    let name = name.build();

    let mut builder = X509::builder()?;
    builder.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    builder.set_serial_number(&serial)?;
    builder.set_subject_name(&name)?;
    builder.set_issuer_name(&name)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(365)?;
    builder.set_not_before(&not_before)?;
    builder.set_not_after(&not_after)?;
    builder.set_pubkey(&key)?;
    builder.append_extension(BasicConstraints::new().critical().build()?)?;
    builder.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_encipherment()
            .build()?,
    )?;
    builder.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
    let mut san = SubjectAlternativeName::new();
    for n in &names {
        if n.parse::<std::net::IpAddr>().is_ok() {
            san.ip(n);
        } else {
            san.dns(n);
        }
    }
    let san = san.build(&builder.x509v3_context(None, None))?;
    builder.append_extension(san)?;
    let ski = SubjectKeyIdentifier::new().build(&builder.x509v3_context(None, None))?;
    builder.append_extension(ski)?;
    builder.sign(&key, MessageDigest::sha256())?;
    let cert = builder.build();

    let cert_pem = String::from_utf8_lossy(&cert.to_pem()?).into_owned();
    let key_pem = String::from_utf8_lossy(&key.private_key_to_pem_pkcs8()?).into_owned();
    Ok((cert_pem, key_pem))
}

fn strip_port(host: &str) -> &str {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or(inner);
    }
    match host.rsplit_once(':') {
        Some((h, port)) if !h.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    }
}

/// An OpenSSL acceptor for `cert` (PEM chain) and `key` (PEM), TLS 1.2 minimum, Mozilla's
/// intermediate cipher list; hand it to actix-web's `bind_openssl`.
///
/// # Errors
/// [`TlsError::Load`] with the path, [`TlsError::KeyMismatch`], or OpenSSL failure.
pub fn acceptor(cert: &Path, key: &Path) -> Result<SslAcceptorBuilder, TlsError> {
    let mut builder = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls_server())?;
    builder.set_min_proto_version(Some(SslVersion::TLS1_2))?;
    builder
        .set_private_key_file(key, SslFiletype::PEM)
        .map_err(|source| TlsError::Load {
            what: "private key",
            path: key.display().to_string(),
            source,
        })?;
    builder
        .set_certificate_chain_file(cert)
        .map_err(|source| TlsError::Load {
            what: "certificate",
            path: cert.display().to_string(),
            source,
        })?;
    builder.check_private_key().map_err(TlsError::KeyMismatch)?;
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_has_sans_and_loads() {
        let (cert, key) = self_signed(&["quay.example.com:8443".to_owned()]).unwrap();
        let x = X509::from_pem(cert.as_bytes()).unwrap();
        let sans: Vec<String> = x
            .subject_alt_names()
            .unwrap()
            .iter()
            .map(|n| {
                n.dnsname()
                    .map(str::to_owned)
                    .or_else(|| n.ipaddress().map(|ip| format!("{ip:?}")))
                    .unwrap()
            })
            .collect();
        assert_eq!(sans[0], "quay.example.com");
        assert_eq!(sans[1], "localhost");
        assert_eq!(sans[2], "[127, 0, 0, 1]");
        let dir = std::env::temp_dir().join(format!("quay-fips-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("c.pem"), &cert).unwrap();
        std::fs::write(dir.join("k.pem"), &key).unwrap();
        acceptor(&dir.join("c.pem"), &dir.join("k.pem")).unwrap();
        let Err(err) = acceptor(&dir.join("missing.pem"), &dir.join("k.pem")) else {
            panic!("missing certificate accepted");
        };
        assert!(err.to_string().contains("missing.pem"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
