//! Docker schema 1 signed manifests (JWS JSON serialisation, libtrust `kid`).

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKeyRef, Private};
use quay_ports::crypto::JsonValue;

use crate::b64;
use crate::error::CryptoError;
use crate::jwk;
use crate::jwt::{self, Alg, SigningKey};
use crate::pyjson::{self, COMPACT, DEFAULT, Style};

const INDENT3: Style = Style {
    indent: Some(3),
    ..DEFAULT
};

/// One layer: its blob digest and v1 JSON.
#[derive(Debug, Clone)]
pub struct Layer<'a> {
    /// `blobSum`.
    pub digest: &'a str,
    /// `v1Compatibility`.
    pub v1_json: &'a str,
}

/// A signed manifest and its digest.
#[derive(Debug, Clone)]
pub struct SignedManifest {
    /// The manifest bytes (with `signatures`).
    pub manifest: String,
    /// SHA-256 digest of the payload without signatures.
    pub digest: String,
    /// The protected header, base64url.
    pub protected: String,
    /// The signature, base64url.
    pub signature: String,
    /// libtrust key id.
    pub kid: String,
}

/// Builds and signs a schema 1 manifest as `DockerSchema1ManifestBuilder.build` does (RS256,
/// `time` = `now` in UTC, architecture `amd64`).
///
/// # Errors
/// OpenSSL failure; `InvalidKey` for a non-RSA key.
pub fn sign(
    namespace: &str,
    repo: &str,
    tag: &str,
    layers: &[Layer<'_>],
    key: &PKeyRef<Private>,
    now: i64,
) -> Result<SignedManifest, CryptoError> {
    let mut payload = vec![
        ("tag".to_owned(), JsonValue::str(tag)),
        (
            "name".to_owned(),
            JsonValue::str(format!("{namespace}/{repo}")),
        ),
        ("architecture".to_owned(), JsonValue::str("amd64")),
        ("schemaVersion".to_owned(), JsonValue::Int(1)),
        (
            "history".to_owned(),
            JsonValue::Array(
                layers
                    .iter()
                    .map(|l| JsonValue::object([("v1Compatibility", JsonValue::str(l.v1_json))]))
                    .collect(),
            ),
        ),
        (
            "fsLayers".to_owned(),
            JsonValue::Array(
                layers
                    .iter()
                    .map(|l| JsonValue::object([("blobSum", JsonValue::str(l.digest))]))
                    .collect(),
            ),
        ),
    ];
    let payload_str = pyjson::dumps(&JsonValue::Object(payload.clone()), INDENT3);
    let split = payload_str
        .rfind("\n}")
        .ok_or(CryptoError::InvalidInput("payload"))?;
    let protected = JsonValue::object([
        (
            "formatTail",
            JsonValue::str(b64::url_nopad_encode(&payload_str.as_bytes()[split..])),
        ),
        (
            "formatLength",
            JsonValue::Int(i64::try_from(split).unwrap_or(i64::MAX)),
        ),
        ("time", JsonValue::str(crate::civil::iso_zulu(now))),
    ]);
    let protected_b64 = b64::url_nopad_encode(pyjson::dumps(&protected, COMPACT).as_bytes());
    let signing_input = format!(
        "{protected_b64}.{}",
        b64::url_nopad_encode(payload_str.as_bytes())
    );
    let token_sig = jwt::sign_detached(Alg::Rs256, SigningKey::Rsa(key), signing_input.as_bytes())?;
    let signature = b64::url_nopad_encode(&token_sig);
    let (e, n) = jwk::rsa_public_members(key)?;
    let kid = jwk::libtrust_kid(key)?;
    let block = JsonValue::object([
        (
            "header",
            JsonValue::object([
                (
                    "jwk",
                    JsonValue::object([
                        ("n", JsonValue::str(n)),
                        ("e", JsonValue::str(e)),
                        ("kid", JsonValue::str(kid.clone())),
                        ("kty", JsonValue::str("RSA")),
                    ]),
                ),
                ("alg", JsonValue::str("RS256")),
            ]),
        ),
        ("signature", JsonValue::str(signature.clone())),
        ("protected", JsonValue::str(protected_b64.clone())),
    ]);
    payload.push(("signatures".to_owned(), JsonValue::Array(vec![block])));
    let manifest = pyjson::dumps(&JsonValue::Object(payload), INDENT3);
    Ok(SignedManifest {
        manifest,
        digest: crate::digest::sha256_digest(payload_str.as_bytes())?,
        protected: protected_b64,
        signature,
        kid,
    })
}

/// Why a schema 1 manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum Schema1Error {
    /// Not JSON or missing members.
    #[error("malformed schema 1 manifest")]
    Malformed,
    /// A signature does not verify (`InvalidSchema1Signature`).
    #[error("invalid schema 1 signature")]
    BadSignature,
}

/// The signed payload: the manifest bytes up to `formatLength` plus the decoded `formatTail`.
fn signed_payload(manifest: &str, protected_b64: &str) -> Result<Vec<u8>, Schema1Error> {
    let protected = b64::url_nopad_decode(protected_b64).ok_or(Schema1Error::Malformed)?;
    let protected =
        pyjson::parse(std::str::from_utf8(&protected).map_err(|_| Schema1Error::Malformed)?)
            .map_err(|_| Schema1Error::Malformed)?;
    let length = protected
        .get("formatLength")
        .and_then(JsonValue::as_i64)
        .ok_or(Schema1Error::Malformed)?;
    let length = usize::try_from(length).map_err(|_| Schema1Error::Malformed)?;
    let tail = protected
        .get("formatTail")
        .and_then(JsonValue::as_str)
        .ok_or(Schema1Error::Malformed)?;
    let head = manifest
        .as_bytes()
        .get(..length)
        .ok_or(Schema1Error::Malformed)?;
    let mut payload = head.to_vec();
    payload.extend(b64::url_nopad_decode(tail).ok_or(Schema1Error::Malformed)?);
    Ok(payload)
}

/// Verifies every signature (RS256/RS384 with an RSA JWK, ES256/ES384 with an EC JWK) and returns
/// the manifest digest. An unsigned manifest is accepted, as in Quay.
///
/// # Errors
/// [`Schema1Error`].
pub fn verify(manifest: &str) -> Result<String, Schema1Error> {
    let doc = pyjson::parse(manifest).map_err(|_| Schema1Error::Malformed)?;
    let signatures = match doc.get("signatures") {
        None => {
            return crate::digest::sha256_digest(manifest.as_bytes())
                .map_err(|_| Schema1Error::Malformed);
        }
        Some(JsonValue::Array(s)) if !s.is_empty() => s,
        Some(_) => return Err(Schema1Error::Malformed),
    };
    let mut payload_digest = None;
    for sig in signatures {
        let protected = sig
            .get("protected")
            .and_then(JsonValue::as_str)
            .ok_or(Schema1Error::Malformed)?;
        let signature = sig
            .get("signature")
            .and_then(JsonValue::as_str)
            .ok_or(Schema1Error::Malformed)?;
        let header = sig.get("header").ok_or(Schema1Error::Malformed)?;
        let alg = header
            .get("alg")
            .and_then(JsonValue::as_str)
            .ok_or(Schema1Error::Malformed)?;
        let key = jwk::jwk_to_public_key(header.get("jwk").ok_or(Schema1Error::Malformed)?)
            .map_err(|_| Schema1Error::BadSignature)?;
        let payload = signed_payload(manifest, protected)?;
        let input = format!("{protected}.{}", b64::url_nopad_encode(&payload));
        let raw = b64::url_nopad_decode(signature).ok_or(Schema1Error::BadSignature)?;
        let (digest, ec) = match alg {
            "RS256" => (MessageDigest::sha256(), false),
            "RS384" => (MessageDigest::sha384(), false),
            "ES256" => (MessageDigest::sha256(), true),
            "ES384" => (MessageDigest::sha384(), true),
            _ => return Err(Schema1Error::BadSignature),
        };
        let der;
        let sig_bytes: &[u8] = if ec {
            let half = raw.len() / 2;
            let r = BigNum::from_slice(&raw[..half]).map_err(|_| Schema1Error::BadSignature)?;
            let s = BigNum::from_slice(&raw[half..]).map_err(|_| Schema1Error::BadSignature)?;
            der = EcdsaSig::from_private_components(r, s)
                .and_then(|sig| sig.to_der())
                .map_err(|_| Schema1Error::BadSignature)?;
            &der
        } else {
            &raw
        };
        let ok = jwt::verify_rsa(digest, &key, input.as_bytes(), sig_bytes)
            .map_err(|_| Schema1Error::BadSignature)?;
        if !ok {
            return Err(Schema1Error::BadSignature);
        }
        payload_digest.get_or_insert(
            crate::digest::sha256_digest(&payload).map_err(|_| Schema1Error::Malformed)?,
        );
    }
    payload_digest.ok_or(Schema1Error::Malformed)
}

/// [`verify`] behind the [`quay_ports::crypto::schema1::Schema1Verifier`] port.
#[derive(Debug, Clone, Copy, Default)]
pub struct FipsSchema1Verifier;

impl quay_ports::crypto::schema1::Schema1Verifier for FipsSchema1Verifier {
    fn verify(
        &self,
        manifest: &str,
    ) -> Result<String, quay_ports::crypto::schema1::Schema1VerifyError> {
        use quay_ports::crypto::schema1::Schema1VerifyError as E;
        verify(manifest).map_err(|e| match e {
            Schema1Error::Malformed => E::Malformed,
            Schema1Error::BadSignature => E::BadSignature,
        })
    }
}
