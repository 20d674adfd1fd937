//! An order-preserving JSON parser producing [`JsonValue`]. Strict RFC 8259 plus what Python's
//! `json.loads` also accepts by default (`NaN`, `Infinity`, `-Infinity`).

use quay_ports::crypto::JsonValue;

/// A JSON syntax error at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSON at byte {0}")]
pub struct ParseError(pub usize);

/// Parses a JSON document, keeping object key order. Nesting is limited to 128 levels.
///
/// # Errors
/// [`ParseError`] with the offset of the problem.
pub fn parse(text: &str) -> Result<JsonValue, ParseError> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(ParseError(p.i));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err<T>(&self) -> Result<T, ParseError> {
        Err(ParseError(self.i))
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        if depth > 128 {
            return self.err();
        }
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(JsonValue::Str(self.string()?)),
            Some(b't') if self.eat("true") => Ok(JsonValue::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(JsonValue::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(JsonValue::Null),
            Some(b'N') if self.eat("NaN") => Ok(JsonValue::Float(f64::NAN)),
            Some(b'I') if self.eat("Infinity") => Ok(JsonValue::Float(f64::INFINITY)),
            Some(b'-') if self.eat("-Infinity") => Ok(JsonValue::Float(f64::NEG_INFINITY)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => self.err(),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        self.i += 1;
        let mut pairs = Vec::new();
        self.ws();
        if self.eat("}") {
            return Ok(JsonValue::Object(pairs));
        }
        loop {
            self.ws();
            if self.s.get(self.i) != Some(&b'"') {
                return self.err();
            }
            let key = self.string()?;
            self.ws();
            if !self.eat(":") {
                return self.err();
            }
            let v = self.value(depth + 1)?;
            pairs.push((key, v));
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("}") {
                return Ok(JsonValue::Object(pairs));
            }
            return self.err();
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, ParseError> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.eat("]") {
            return Ok(JsonValue::Array(items));
        }
        loop {
            items.push(self.value(depth + 1)?);
            self.ws();
            if self.eat(",") {
                continue;
            }
            if self.eat("]") {
                return Ok(JsonValue::Array(items));
            }
            return self.err();
        }
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or(ParseError(self.i))?;
        let text = std::str::from_utf8(digits).map_err(|_| ParseError(self.i))?;
        let v = u32::from_str_radix(text, 16).map_err(|_| ParseError(self.i))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.i += 1;
        let mut out = String::new();
        loop {
            let start = self.i;
            while let Some(&b) = self.s.get(self.i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.i += 1;
            }
            let chunk =
                std::str::from_utf8(&self.s[start..self.i]).map_err(|_| ParseError(start))?;
            out.push_str(chunk);
            match self.s.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let esc = *self.s.get(self.i).ok_or(ParseError(self.i))?;
                    self.i += 1;
                    match esc {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return self.err(),
                    }
                }
                _ => return self.err(),
            }
        }
    }

    fn unicode_escape(&mut self) -> Result<char, ParseError> {
        let first = self.hex4()?;
        if (0xD800..0xDC00).contains(&first) && self.s[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let second = self.hex4()?;
            if (0xDC00..0xE000).contains(&second) {
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                return char::from_u32(code).ok_or(ParseError(save));
            }
            self.i = save;
        }
        // Lone surrogates cannot be represented in a Rust string.
        char::from_u32(first).ok_or(ParseError(self.i))
    }

    fn number(&mut self) -> Result<JsonValue, ParseError> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        if self.i == int_start || (self.s[int_start] == b'0' && self.i - int_start > 1) {
            return Err(ParseError(start));
        }
        let mut is_float = false;
        if self.s.get(self.i) == Some(&b'.') {
            is_float = true;
            self.i += 1;
            let frac = self.i;
            while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if frac == self.i {
                return Err(ParseError(start));
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            is_float = true;
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let exp = self.i;
            while matches!(self.s.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if exp == self.i {
                return Err(ParseError(start));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| ParseError(start))?;
        if !is_float && let Ok(i) = text.parse::<i64>() {
            return Ok(JsonValue::Int(i));
        }
        text.parse::<f64>()
            .map(JsonValue::Float)
            .map_err(|_| ParseError(start))
    }
}
