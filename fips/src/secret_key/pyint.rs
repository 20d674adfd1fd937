//! Python's `int(s)` and `int(s, 16)` string parsing, to big-endian magnitude bytes.
//!
//! Python accepts surrounding Unicode whitespace, one sign, single underscores between digits and
//! any Unicode decimal digit (category Nd); base 16 also takes a `0x` prefix and ASCII letters.

/// Python's `str.isspace()` code points.
const PY_SPACE: &[u32] = &[
    0x9, 0xA, 0xB, 0xC, 0xD, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001,
    0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F,
    0x205F, 0x3000,
];

/// The digit-zero code point of every Unicode 14 (Python 3.11) decimal digit run of ten.
const ND_ZEROS: &[u32] = &[
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn is_py_space(c: char) -> bool {
    PY_SPACE.contains(&u32::from(c))
}

/// Value of a Unicode decimal digit, if `c` is one.
fn decimal_value(c: char) -> Option<u8> {
    let code = u32::from(c);
    ND_ZEROS
        .iter()
        .find(|zero| code >= **zero && code < **zero + 10)
        .and_then(|zero| u8::try_from(code - zero).ok())
}

fn digit_value(c: char, radix: u8) -> Option<u8> {
    if let Some(d) = decimal_value(c) {
        return Some(d);
    }
    if radix == 16 {
        return c.to_digit(16).and_then(|d| u8::try_from(d).ok());
    }
    None
}

/// `magnitude = magnitude * radix + digit`, big-endian bytes.
fn mul_add(magnitude: &mut Vec<u8>, radix: u8, digit: u8) {
    let mut carry = u16::from(digit);
    for byte in magnitude.iter_mut().rev() {
        let v = u16::from(*byte) * u16::from(radix) + carry;
        *byte = (v & 0xFF) as u8;
        carry = v >> 8;
    }
    while carry > 0 {
        magnitude.insert(0, (carry & 0xFF) as u8);
        carry >>= 8;
    }
}

fn parse(s: &str, radix: u8) -> Option<(bool, Vec<u8>)> {
    let s = s.trim_matches(is_py_space);
    let (negative, mut rest) = match s.chars().next() {
        Some('-') => (true, &s[1..]),
        Some('+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut allow_leading_underscore = false;
    if radix == 16
        && let Some(r) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X"))
    {
        rest = r;
        allow_leading_underscore = true;
    }
    let mut magnitude = Vec::new();
    let mut seen_digit = false;
    let mut prev_underscore = false;
    for c in rest.chars() {
        if c == '_' {
            if prev_underscore || (!seen_digit && !allow_leading_underscore) {
                return None;
            }
            prev_underscore = true;
            continue;
        }
        let d = digit_value(c, radix)?;
        mul_add(&mut magnitude, radix, d);
        seen_digit = true;
        prev_underscore = false;
    }
    if !seen_digit || prev_underscore {
        return None;
    }
    Some((negative, magnitude))
}

/// Python `int(s)`: `(negative, big-endian magnitude)`, or `None` where Python raises.
pub fn parse_python_int(s: &str) -> Option<(bool, Vec<u8>)> {
    parse(s, 10)
}

/// Python `int(s, 16)`: `(negative, big-endian magnitude)`, or `None` where Python raises.
pub fn parse_python_hex_int(s: &str) -> Option<(bool, Vec<u8>)> {
    parse(s, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_int_rules() {
        assert_eq!(
            parse_python_int(" 10_000\n"),
            Some((false, vec![0x27, 0x10]))
        );
        assert_eq!(parse_python_int("١٢٣"), Some((false, vec![123])));
        assert_eq!(parse_python_int("１２"), Some((false, vec![12])));
        assert_eq!(parse_python_int("-5"), Some((true, vec![5])));
        assert_eq!(parse_python_int("1__0"), None);
        assert_eq!(parse_python_int("_1"), None);
        assert_eq!(parse_python_int("1_"), None);
        assert_eq!(parse_python_int(""), None);
        assert_eq!(parse_python_int("abc"), None);
        assert_eq!(parse_python_hex_int("0x_ff"), Some((false, vec![0xFF])));
    }
}
