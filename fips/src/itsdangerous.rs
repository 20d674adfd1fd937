//! Flask session cookies and signed values (Flask 2.3 / itsdangerous 2.1, HMAC-SHA1), for
//! coexistence with Python Quay's web sessions.
//!
//! Cookie = `payload "." base64url(u64 timestamp, big-endian, minimal bytes) "." signature` where
//! payload is base64url (no padding) of the compact, key-sorted, `ensure_ascii` JSON — zlib
//! compressed and prefixed with `.` when that is shorter — and the signature is
//! HMAC-SHA1 keyed with `HMAC-SHA1(SECRET_KEY, salt)`.

use std::io::Read as _;

use openssl::hash::MessageDigest;
use quay_ports::crypto::JsonValue;

use crate::b64;
use crate::error::CryptoError;
use crate::jwt::hmac;
use crate::pyjson::{self, COMPACT, Style};

/// Flask's session salt.
pub const SESSION_SALT: &str = "cookie-session";
/// Largest decompressed payload accepted.
const MAX_PAYLOAD: u64 = 1 << 20;

/// A Flask datetime value, tagged as `TaggedJSONSerializer` writes it: `{" d": <HTTP date>}`.
pub fn tagged_datetime(unix: i64) -> JsonValue {
    JsonValue::object([(" d", JsonValue::str(crate::civil::http_date(unix)))])
}

fn derived_key(secret_key: &[u8], salt: &str) -> Result<Vec<u8>, CryptoError> {
    Ok(hmac(MessageDigest::sha1(), secret_key, salt.as_bytes())?)
}

/// `int_to_bytes`: big-endian without leading zero bytes (zero is empty).
fn int_to_bytes(n: u64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

fn zlib_compress(data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    use std::io::Write as _;
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    enc.write_all(data)
        .map_err(|_| CryptoError::InvalidInput("zlib"))?;
    enc.finish().map_err(|_| CryptoError::InvalidInput("zlib"))
}

/// Signs a session (already tagged, see [`tagged_datetime`]) at time `now` with `SECRET_KEY`.
///
/// # Errors
/// OpenSSL failure; `InvalidInput` for a negative time.
pub fn sign_session(
    secret_key: &str,
    session: &JsonValue,
    now: i64,
) -> Result<String, CryptoError> {
    let json = pyjson::dumps(
        session,
        Style {
            sort_keys: true,
            ..COMPACT
        },
    );
    let mut payload = json.into_bytes();
    let compressed = zlib_compress(&payload)?;
    let mut prefix = "";
    if compressed.len() < payload.len().saturating_sub(1) {
        payload = compressed;
        prefix = ".";
    }
    let ts = u64::try_from(now).map_err(|_| CryptoError::InvalidInput("negative time"))?;
    let value = format!(
        "{prefix}{}.{}",
        b64::url_nopad_encode(&payload),
        b64::url_nopad_encode(&int_to_bytes(ts))
    );
    let key = derived_key(secret_key.as_bytes(), SESSION_SALT)?;
    let sig = hmac(MessageDigest::sha1(), &key, value.as_bytes())?;
    Ok(format!("{value}.{}", b64::url_nopad_encode(&sig)))
}

/// Verifies and decodes a session cookie; `max_age_s` is `PERMANENT_SESSION_LIFETIME`.
/// Returns the tagged JSON (datetimes stay `{" d": …}`).
///
/// # Errors
/// `Rejected` for a bad signature or an expired cookie; `InvalidInput` for a malformed one.
pub fn verify_session(
    secret_key: &str,
    cookie: &str,
    now: i64,
    max_age_s: i64,
) -> Result<JsonValue, CryptoError> {
    let (value, sig) = cookie
        .rsplit_once('.')
        .ok_or(CryptoError::InvalidInput("no signature"))?;
    let key = derived_key(secret_key.as_bytes(), SESSION_SALT)?;
    let expected = hmac(MessageDigest::sha1(), &key, value.as_bytes())?;
    let given = b64::url_nopad_decode(sig).ok_or(CryptoError::Rejected("bad signature"))?;
    if !crate::random::secrets_equal(&expected, &given) {
        return Err(CryptoError::Rejected("bad signature"));
    }
    let (payload, ts) = value
        .rsplit_once('.')
        .ok_or(CryptoError::InvalidInput("no timestamp"))?;
    let ts_bytes = b64::url_nopad_decode(ts).ok_or(CryptoError::InvalidInput("timestamp"))?;
    if ts_bytes.len() > 8 {
        return Err(CryptoError::InvalidInput("timestamp"));
    }
    let ts = ts_bytes
        .iter()
        .fold(0i64, |acc, b| (acc << 8) | i64::from(*b));
    if now.saturating_sub(ts) > max_age_s {
        return Err(CryptoError::Rejected("session expired"));
    }
    let (compressed, body) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let mut bytes = b64::url_nopad_decode(body).ok_or(CryptoError::InvalidInput("payload"))?;
    if compressed {
        let mut out = Vec::new();
        flate2::read::ZlibDecoder::new(bytes.as_slice())
            .take(MAX_PAYLOAD)
            .read_to_end(&mut out)
            .map_err(|_| CryptoError::InvalidInput("zlib"))?;
        bytes = out;
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| CryptoError::InvalidInput("utf-8"))?;
    pyjson::parse(text).map_err(|_| CryptoError::InvalidInput("json"))
}

/// Prefix of Quay's signed grants.
pub const SIGNED_GRANT_PREFIX: &str = "sigv2=";

/// `generate_signed_token`: `sigv2=` + a session-serializer signature of
/// `{"grants": …, "user_context": …}`.
///
/// # Errors
/// As [`sign_session`].
pub fn sign_grant(
    secret_key: &str,
    grants: &JsonValue,
    user_context: &JsonValue,
    now: i64,
) -> Result<String, CryptoError> {
    let data = JsonValue::object([
        ("grants", grants.clone()),
        ("user_context", user_context.clone()),
    ]);
    Ok(format!(
        "{SIGNED_GRANT_PREFIX}{}",
        sign_session(secret_key, &data, now)?
    ))
}

/// `validate_signed_grant` on an `Authorization: token sigv2=…` header. `Ok(None)` means "not a
/// signed grant" (the header is missing or another kind); `max_age_s` is
/// `SIGNED_GRANT_EXPIRATION_SEC`.
///
/// # Errors
/// As [`verify_session`] for a signed grant that does not validate.
pub fn validate_signed_grant(
    secret_key: &str,
    header: &str,
    now: i64,
    max_age_s: i64,
) -> Result<Option<JsonValue>, CryptoError> {
    let parts: Vec<&str> = header
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::trim)
        .collect();
    let [kind, token] = parts.as_slice() else {
        return Ok(None);
    };
    if !kind.eq_ignore_ascii_case("token") {
        return Ok(None);
    }
    let Some(signed) = token.strip_prefix(SIGNED_GRANT_PREFIX) else {
        return Ok(None);
    };
    verify_session(secret_key, signed, now, max_age_s).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_grant_round_trip() {
        let grants = JsonValue::object([("repository", JsonValue::str("devtable/simple"))]);
        let ctx = JsonValue::object([("kind", JsonValue::str("user"))]);
        let token = sign_grant("secret", &grants, &ctx, 1_700_000_000).unwrap();
        let header = format!("token {token}");
        let data = validate_signed_grant("secret", &header, 1_700_000_010, 60)
            .unwrap()
            .unwrap();
        assert_eq!(data.get("grants"), Some(&grants));
        assert!(validate_signed_grant("other", &header, 1_700_000_010, 60).is_err());
        assert!(validate_signed_grant("secret", &header, 1_700_001_000, 60).is_err());
        assert!(
            validate_signed_grant("secret", "Bearer x", 0, 60)
                .unwrap()
                .is_none()
        );
    }
}
