//! Base64 flavours used by Quay, all strict (canonical padding, no stray characters).

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};

/// Standard alphabet, padded (Python `base64.b64encode`).
pub fn std_encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// Standard alphabet, padded, strict.
pub fn std_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// URL-safe alphabet, padded (Python `base64.urlsafe_b64encode`).
pub fn url_encode(data: &[u8]) -> String {
    URL_SAFE.encode(data)
}

/// URL-safe alphabet, padded, strict.
pub fn url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE.decode(s).ok()
}

/// URL-safe alphabet without padding (JWT segments).
pub fn url_nopad_encode(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// URL-safe alphabet without padding; also accepts padded input (PyJWT adds the padding back).
pub fn url_nopad_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok()
}
