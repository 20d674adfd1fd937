//! Python `urllib.parse` behaviour needed for byte-identical URLs.

/// `urllib.parse.quote_plus(s)` (safe = ""): unreserved ASCII kept, space → `+`, the rest `%XX`
/// upper-case over the UTF-8 bytes.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b))
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `urllib.parse.urlencode(pairs)`: `quote_plus(key)=quote_plus(value)` joined with `&`.
pub fn urlencode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 3 <= bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `dict(urllib.parse.parse_qsl(query))` as ordered pairs: blank values dropped, later duplicates
/// overwrite earlier ones in place.
pub fn parse_qsl(query: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for part in query.split('&') {
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        if v.is_empty() {
            continue;
        }
        let (k, v) = (unquote_plus(k), unquote_plus(v));
        match out.iter_mut().find(|(ok, _)| *ok == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

/// EdgeAuth's early escaping: `%XX` escapes lower-cased.
pub fn lowercase_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for _ in 0..2 {
                if let Some(h) = chars.next() {
                    out.push(h.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// `os.path.join(a, b)` for two POSIX components.
pub fn os_path_join(a: &str, b: &str) -> String {
    if b.starts_with('/') || a.is_empty() {
        b.to_owned()
    } else if a.ends_with('/') {
        format!("{a}{b}")
    } else {
        format!("{a}/{b}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_url_helpers() {
        assert_eq!(quote_plus("a b/c+é"), "a+b%2Fc%2B%C3%A9");
        assert_eq!(
            parse_qsl("a=1&b=%2F&a=3&c="),
            vec![("a".into(), "3".into()), ("b".into(), "/".into())]
        );
        assert_eq!(lowercase_escapes("%2F%C3"), "%2f%c3");
        assert_eq!(os_path_join("x", "y"), "x/y");
        assert_eq!(unquote_plus("%4"), "%4");
    }
}
