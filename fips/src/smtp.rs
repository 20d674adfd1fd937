//! SMTP CRAM-MD5 (only with the default provider) and other small encodings.

use openssl::hash::MessageDigest;

use crate::b64;
use crate::error::{CryptoError, Forbidden};
use crate::jwt::hmac;

const CRAM_MD5: Forbidden = Forbidden {
    feature: "SMTP CRAM-MD5 authentication",
    algorithm: "HMAC-MD5",
    config_key: "FEATURE_FIPS / MAIL_USE_TLS",
    remedy: "authenticate with PLAIN or LOGIN over TLS (MAIL_USE_TLS: true)",
};

/// The CRAM-MD5 response `"<user> <hex HMAC-MD5(password, challenge)>"` and its base64.
///
/// # Errors
/// [`CryptoError::FipsForbidden`] under FIPS (MD5 is not in the provider); `InvalidInput` for a
/// challenge that is not base64.
pub fn cram_md5_response(
    user: &str,
    password: &str,
    challenge_b64: &str,
) -> Result<(String, String), CryptoError> {
    let challenge = b64::std_decode(challenge_b64)
        .ok_or(CryptoError::InvalidInput("challenge is not base64"))?;
    let mac =
        hmac(MessageDigest::md5(), password.as_bytes(), &challenge).map_err(|e| CRAM_MD5.map(e))?;
    let response = format!("{user} {}", hex::encode(mac));
    let encoded = b64::std_encode(response.as_bytes());
    Ok((response, encoded))
}

/// `encode_public_private_token`: base64 of `"<public>:<private>"`.
pub fn encode_public_private_token(public_code: &str, private_token: &str) -> String {
    b64::std_encode(format!("{public_code}:{private_token}").as_bytes())
}

/// `decode_public_private_token`: `None` unless the decoded text splits on `:` (at most twice)
/// into exactly two parts.
pub fn decode_public_private_token(encoded: &str) -> Option<(String, String)> {
    let bytes = b64::std_decode(encoded)?;
    let text = String::from_utf8(bytes).ok()?;
    let parts: Vec<&str> = text.splitn(3, ':').collect();
    match parts.as_slice() {
        [a, b] => Some(((*a).to_owned(), (*b).to_owned())),
        _ => None,
    }
}
