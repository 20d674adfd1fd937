//! JWTs as Quay signs and checks them (PyJWT 2.x plus Quay's `jwtutil` strict decoder).
//!
//! Signing writes PyJWT's exact bytes: the header with sorted keys, the payload in the caller's
//! key order, both compact with `ensure_ascii`, segments base64url without padding. PKCS#1 v1.5 is
//! deterministic, so an RS256 token is byte-identical to Python's.
//!
//! Verification order follows PyJWT: segments and header, algorithm whitelist, signature, then
//! claims (required claims, `iat`, `nbf`, `exp`, issuer, audience), then Quay's maximum
//! freshness. `none` is never accepted.

mod registry;

pub use registry::{
    REGISTRY_LEEWAY_S, RegistryTokens, STORAGE_PROXY_LIFETIME_S, STORAGE_PROXY_SUBJECT,
    bearer_token,
};

use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private, Public};
use openssl::sign::{Signer, Verifier};
use quay_ports::crypto::{JsonValue, TokenError};

use crate::b64;
use crate::error::CryptoError;
use crate::pyjson::{self, COMPACT, Style};

/// JWT algorithms Quay accepts (its whitelist: RS256, RS384, HS256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// HMAC-SHA256.
    Hs256,
}

impl Alg {
    /// The `alg` header value.
    pub fn name(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Hs256 => "HS256",
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            Alg::Rs256 | Alg::Hs256 => MessageDigest::sha256(),
            Alg::Rs384 => MessageDigest::sha384(),
        }
    }
}

/// A key to sign with.
pub enum SigningKey<'a> {
    /// RSA private key (RS256/RS384).
    Rsa(&'a PKeyRef<Private>),
    /// HMAC secret (HS256).
    Hmac(&'a [u8]),
}

/// A key to verify with.
pub enum VerifyingKey<'a> {
    /// Public key (RSA).
    Public(&'a PKeyRef<Public>),
    /// HMAC secret.
    Hmac(&'a [u8]),
}

fn backend(e: openssl::error::ErrorStack) -> TokenError {
    TokenError::Backend(Box::new(e))
}

/// Signs `payload` with header `{"alg", "typ": "JWT"}` plus `extra_header`, PyJWT-style.
///
/// # Errors
/// `Backend` when signing fails.
pub fn encode(
    payload: &JsonValue,
    alg: Alg,
    key: SigningKey<'_>,
    extra_header: &[(&str, JsonValue)],
) -> Result<String, TokenError> {
    let mut header = vec![
        ("typ".to_owned(), JsonValue::str("JWT")),
        ("alg".to_owned(), JsonValue::str(alg.name())),
    ];
    header.extend(
        extra_header
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone())),
    );
    let header = JsonValue::Object(header);
    let header_json = pyjson::dumps(
        &header,
        Style {
            sort_keys: true,
            ..COMPACT
        },
    );
    let payload_json = pyjson::dumps(payload, COMPACT);
    let signing_input = format!(
        "{}.{}",
        b64::url_nopad_encode(header_json.as_bytes()),
        b64::url_nopad_encode(payload_json.as_bytes())
    );
    let signature = sign_bytes(alg, key, signing_input.as_bytes()).map_err(backend)?;
    Ok(format!(
        "{signing_input}.{}",
        b64::url_nopad_encode(&signature)
    ))
}

/// Signs `data` with `alg` (a detached JWS signature, raw bytes).
///
/// # Errors
/// OpenSSL failure.
pub fn sign_detached(alg: Alg, key: SigningKey<'_>, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(sign_bytes(alg, key, data)?)
}

fn sign_bytes(
    alg: Alg,
    key: SigningKey<'_>,
    data: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    match key {
        SigningKey::Rsa(pkey) => {
            let mut signer = Signer::new(alg.digest(), pkey)?;
            signer.update(data)?;
            signer.sign_to_vec()
        }
        SigningKey::Hmac(secret) => hmac(alg.digest(), secret, data),
    }
}

/// HMAC through the provider.
///
/// # Errors
/// OpenSSL failure (e.g. MD5 under FIPS).
pub fn hmac(
    digest: MessageDigest,
    key: &[u8],
    data: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let pkey = PKey::hmac(key)?;
    let mut signer = Signer::new(digest, &pkey)?;
    signer.update(data)?;
    signer.sign_to_vec()
}

/// Verifies an RSA PKCS#1 v1.5 signature.
///
/// # Errors
/// OpenSSL failure other than a mismatch.
pub fn verify_rsa<T: HasPublic>(
    digest: MessageDigest,
    key: &PKeyRef<T>,
    data: &[u8],
    signature: &[u8],
) -> Result<bool, openssl::error::ErrorStack> {
    let mut verifier = Verifier::new(digest, key)?;
    verifier.update(data)?;
    // A wrong-length or garbage signature makes OpenSSL raise an error; both mean "no".
    Ok(verifier.verify(signature).unwrap_or(false))
}

/// The parts of a compact JWT, with the header parsed.
#[derive(Debug)]
pub struct Parts<'t> {
    /// Parsed header.
    pub header: JsonValue,
    signing_input: &'t str,
    payload_b64: &'t str,
    signature: Vec<u8>,
}

/// Splits a token and parses its header (PyJWT's `get_unverified_header`).
///
/// # Errors
/// `Malformed` for anything that is not three base64url segments with a JSON-object header.
pub fn split(token: &str) -> Result<Parts<'_>, TokenError> {
    let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    let header_bytes = b64::url_nopad_decode(header_b64).ok_or(TokenError::Malformed)?;
    let header_text = std::str::from_utf8(&header_bytes).map_err(|_| TokenError::Malformed)?;
    let header = pyjson::parse(header_text).map_err(|_| TokenError::Malformed)?;
    if !matches!(header, JsonValue::Object(_)) {
        return Err(TokenError::Malformed);
    }
    b64::url_nopad_decode(payload_b64).ok_or(TokenError::Malformed)?;
    let signature = b64::url_nopad_decode(sig_b64).ok_or(TokenError::Malformed)?;
    Ok(Parts {
        header,
        signing_input,
        payload_b64,
        signature,
    })
}

/// Claim rules of one verification.
#[derive(Debug, Clone)]
pub struct Rules<'a> {
    /// Accepted algorithms.
    pub algorithms: &'a [Alg],
    /// Claims that must be present.
    pub require: &'a [&'static str],
    /// Expected audience (a string `aud`, or a list containing it).
    pub audience: Option<&'a str>,
    /// Expected issuer.
    pub issuer: Option<&'a str>,
    /// Seconds of clock skew allowed on `exp`, `nbf`, `iat`.
    pub leeway: i64,
    /// Maximum `exp - iat` (Quay's `REGISTRY_JWT_AUTH_MAX_FRESH_S`).
    pub max_fresh_s: Option<i64>,
    /// Current time, Unix seconds.
    pub now: i64,
}

/// Verifies signature and claims; returns the payload.
///
/// # Errors
/// One [`TokenError`] variant per refusal.
pub fn verify(
    parts: &Parts<'_>,
    key: VerifyingKey<'_>,
    rules: &Rules<'_>,
) -> Result<JsonValue, TokenError> {
    let alg_name = parts.header.get("alg").and_then(JsonValue::as_str);
    let alg = rules
        .algorithms
        .iter()
        .copied()
        .find(|a| Some(a.name()) == alg_name)
        .ok_or(TokenError::AlgNotAllowed)?;
    let data = parts.signing_input.as_bytes();
    let ok = match (alg, key) {
        (Alg::Hs256, VerifyingKey::Hmac(secret)) => {
            let expected = hmac(alg.digest(), secret, data).map_err(backend)?;
            crate::random::secrets_equal(&expected, &parts.signature)
        }
        (Alg::Rs256 | Alg::Rs384, VerifyingKey::Public(pkey)) => {
            verify_rsa(alg.digest(), pkey, data, &parts.signature).map_err(backend)?
        }
        _ => return Err(TokenError::AlgNotAllowed),
    };
    if !ok {
        return Err(TokenError::BadSignature);
    }
    let payload_bytes = b64::url_nopad_decode(parts.payload_b64).ok_or(TokenError::Malformed)?;
    let payload_text = std::str::from_utf8(&payload_bytes).map_err(|_| TokenError::Malformed)?;
    let payload = pyjson::parse(payload_text).map_err(|_| TokenError::Malformed)?;
    if !matches!(payload, JsonValue::Object(_)) {
        return Err(TokenError::Malformed);
    }
    check_claims(&payload, rules)?;
    Ok(payload)
}

fn int_claim(payload: &JsonValue, name: &'static str) -> Result<Option<i64>, TokenError> {
    match payload.get(name) {
        None => Ok(None),
        Some(JsonValue::Int(i)) => Ok(Some(*i)),
        // PyJWT truncates float times with int()
        #[expect(clippy::cast_possible_truncation, reason = "PyJWT's int() truncation")]
        Some(JsonValue::Float(f)) if f.is_finite() => Ok(Some(*f as i64)),
        Some(_) => Err(TokenError::Malformed),
    }
}

fn check_claims(payload: &JsonValue, rules: &Rules<'_>) -> Result<(), TokenError> {
    for claim in rules.require {
        if payload.get(claim).is_none() {
            return Err(TokenError::MissingClaim(claim));
        }
    }
    let (now, leeway) = (rules.now, rules.leeway);
    let iat = int_claim(payload, "iat")?;
    if iat.is_some_and(|iat| iat > now + leeway) {
        return Err(TokenError::NotYetValid);
    }
    if int_claim(payload, "nbf")?.is_some_and(|nbf| nbf > now + leeway) {
        return Err(TokenError::NotYetValid);
    }
    let exp = int_claim(payload, "exp")?;
    if exp.is_some_and(|exp| exp <= now - leeway) {
        return Err(TokenError::Expired);
    }
    if let Some(issuer) = rules.issuer {
        match payload.get("iss") {
            None => return Err(TokenError::MissingClaim("iss")),
            Some(JsonValue::Str(iss)) if iss == issuer => {}
            Some(_) => return Err(TokenError::BadIssuer),
        }
    }
    if let Some(audience) = rules.audience {
        let matches = match payload.get("aud") {
            None => return Err(TokenError::MissingClaim("aud")),
            Some(JsonValue::Str(aud)) => aud == audience,
            Some(JsonValue::Array(items)) => items.iter().any(|a| a.as_str() == Some(audience)),
            Some(_) => return Err(TokenError::BadAudience),
        };
        if !matches {
            return Err(TokenError::BadAudience);
        }
    }
    if let (Some(max), Some(exp)) = (rules.max_fresh_s, exp) {
        let start = iat.unwrap_or(now);
        if exp > start + max {
            return Err(TokenError::LifetimeTooLong);
        }
    }
    Ok(())
}

/// Decodes Clair's notification tokens: HS256 with the base64-decoded PSK, `nbf`, `iat`, `exp`
/// required, no leeway, no audience or issuer check (Quay's `endpoints/secscan.py`).
///
/// # Errors
/// One [`TokenError`] variant per refusal.
pub fn verify_secscan(token: &str, psk: &[u8], now: i64) -> Result<JsonValue, TokenError> {
    let parts = split(token)?;
    let rules = Rules {
        algorithms: &[Alg::Hs256],
        require: &["nbf", "iat", "exp"],
        audience: None,
        issuer: None,
        leeway: 0,
        max_fresh_s: None,
        now,
    };
    verify(&parts, VerifyingKey::Hmac(psk), &rules)
}

/// Signs Quay's outgoing Clair token: `{"iss":"quay","exp":now+300}`, HS256.
///
/// # Errors
/// `Backend` when signing fails.
pub fn sign_secscan(psk: &[u8], now: i64) -> Result<String, TokenError> {
    let payload = JsonValue::object([
        ("iss", JsonValue::str("quay")),
        ("exp", JsonValue::Int(now + 300)),
    ]);
    encode(&payload, Alg::Hs256, SigningKey::Hmac(psk), &[])
}

/// Verifies an OIDC ID token or external JWT with a public key: `algorithms` from the caller
/// (RS256/RS384), `nbf`, `iat`, `exp` required (Quay's strict decoder), leeway 30 s, issuer
/// compared with trailing `/` stripped on both sides.
///
/// # Errors
/// One [`TokenError`] variant per refusal.
pub fn verify_oidc(
    token: &str,
    key: &PKey<Public>,
    algorithms: &[Alg],
    audience: &str,
    issuer: &str,
    now: i64,
) -> Result<JsonValue, TokenError> {
    let parts = split(token)?;
    let rules = Rules {
        algorithms,
        require: &["nbf", "iat", "exp"],
        audience: Some(audience),
        issuer: None,
        leeway: 30,
        max_fresh_s: None,
        now,
    };
    let payload = verify(&parts, VerifyingKey::Public(key), &rules)?;
    let iss = payload
        .get("iss")
        .and_then(JsonValue::as_str)
        .ok_or(TokenError::MissingClaim("iss"))?;
    if iss.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(TokenError::BadIssuer);
    }
    Ok(payload)
}
