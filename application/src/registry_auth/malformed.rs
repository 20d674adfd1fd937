//! PyJWT's message for a token that does not decode, so a 401 says what Python Quay says
//! (`Not enough segments`, `Invalid header padding`, `Invalid header string: 'utf-8' codec can't
//! decode byte 0xb7 in position 1: invalid start byte`, ...).

fn b64_value(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    }))
}

/// Python's `base64.urlsafe_b64decode` after PyJWT's re-padding: characters outside the
/// alphabet are dropped; a length of 1 modulo 4 is a padding error.
pub(crate) fn urlsafe_decode(text: &str) -> Option<Vec<u8>> {
    let values: Vec<u32> = text.bytes().filter_map(b64_value).collect();
    if values.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(values.len() * 3 / 4);
    for chunk in values.chunks(4) {
        let mut acc = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            acc |= v << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Python's `UnicodeDecodeError` text for invalid UTF-8.
fn utf8_error(bytes: &[u8], error: std::str::Utf8Error) -> String {
    let at = error.valid_up_to();
    let byte = bytes.get(at).copied().unwrap_or_default();
    let reason = match error.error_len() {
        None => "unexpected end of data",
        Some(_) if (0xc2..=0xf4).contains(&byte) => "invalid continuation byte",
        Some(_) => "invalid start byte",
    };
    format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: {reason}")
}

/// The reason PyJWT gives for a token that does not decode.
pub(crate) fn reason(token: &str) -> String {
    let Some((signing_input, crypto)) = token.rsplit_once('.') else {
        return "Not enough segments".into();
    };
    let Some((header, payload)) = signing_input.split_once('.') else {
        return "Not enough segments".into();
    };
    let Some(header_bytes) = urlsafe_decode(header) else {
        return "Invalid header padding".into();
    };
    let text = match std::str::from_utf8(&header_bytes) {
        Ok(text) => text,
        Err(e) => return format!("Invalid header string: {}", utf8_error(&header_bytes, e)),
    };
    let trimmed = text.trim_start();
    if !trimmed.starts_with('{') {
        return if trimmed.is_empty()
            || !trimmed.starts_with([
                '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
            ]) {
            "Invalid header string: Expecting value: line 1 column 1 (char 0)".into()
        } else {
            "Invalid header string: must be a json object".into()
        };
    }
    if urlsafe_decode(payload).is_none() {
        return "Invalid payload padding".into();
    }
    if urlsafe_decode(crypto).is_none() {
        return "Invalid crypto padding".into();
    }
    "Invalid payload string".into()
}

/// PyJWT's `get_unverified_header` succeeds and `typ` is `JWT` or `at+jwt` (Quay's `is_jwt`,
/// which tells a robot's JWT credential from its plain token).
pub(crate) fn is_jwt(token: &str) -> bool {
    let Some((signing_input, crypto)) = token.rsplit_once('.') else {
        return false;
    };
    let Some((header, payload)) = signing_input.split_once('.') else {
        return false;
    };
    let (Some(header), Some(_), Some(_)) = (
        urlsafe_decode(header),
        urlsafe_decode(payload),
        urlsafe_decode(crypto),
    ) else {
        return false;
    };
    match serde_json::from_slice::<serde_json::Value>(&header) {
        Ok(serde_json::Value::Object(map)) => map
            .get("typ")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("jwt") || t.eq_ignore_ascii_case("at+jwt")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_like_python() {
        assert_eq!(urlsafe_decode("eyJhIjoxfQ"), Some(br#"{"a":1}"#.to_vec()));
        assert_eq!(urlsafe_decode("a"), None);
        assert_eq!(urlsafe_decode(""), Some(vec![]));
    }

    #[test]
    fn recognises_jwts() {
        // {"typ":"JWT","alg":"RS256"}
        assert!(is_jwt("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30.c2ln"));
        assert!(!is_jwt("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"));
        assert!(!is_jwt(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ01"
        ));
    }

    #[test]
    fn reasons() {
        assert_eq!(reason("abc"), "Not enough segments");
        assert_eq!(reason("a.b"), "Not enough segments");
        assert_eq!(reason("a.b.c"), "Invalid header padding");
        assert_eq!(
            reason("garbage.garbage.garbage"),
            "Invalid header string: 'utf-8' codec can't decode byte 0x81 in position 0: invalid start byte"
        );
        assert_eq!(
            reason("Z3.x.y"),
            "Invalid header string: Expecting value: line 1 column 1 (char 0)"
        );
    }
}
