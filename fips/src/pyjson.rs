//! Python-compatible JSON for signed payloads: `json.dumps` output byte for byte (key order kept,
//! `ensure_ascii`, Python's separators and indentation) and an order-preserving parser.

mod parse;

pub use parse::parse;
use quay_ports::crypto::JsonValue;

/// How to lay out the output.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// `(item separator, key separator)`, e.g. `(",", ":")` or Python's default `(", ", ": ")`.
    pub separators: (&'static str, &'static str),
    /// `indent=N` (items on their own lines; item separator then loses its trailing space).
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
}

/// `separators=(",", ":")` — JWT segments, Flask sessions, CloudFront policies.
pub const COMPACT: Style = Style {
    separators: (",", ":"),
    indent: None,
    sort_keys: false,
};
/// Python's default `json.dumps` layout.
pub const DEFAULT: Style = Style {
    separators: (", ", ": "),
    indent: None,
    sort_keys: false,
};

/// `json.dumps(value, ensure_ascii=True, ...)` with the given style.
pub fn dumps(value: &JsonValue, style: Style) -> String {
    let mut out = String::new();
    write_value(&mut out, value, style, 0);
    out
}

/// Python's `json.dumps` escaping of a string with `ensure_ascii=True`, quotes included.
pub fn escape_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e && (c as u32) != 0x7f => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn python_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        if f > 0.0 {
            "Infinity".to_owned()
        } else {
            "-Infinity".to_owned()
        }
    } else if f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

fn newline(out: &mut String, indent: usize, level: usize) {
    out.push('\n');
    out.push_str(&" ".repeat(indent * level));
}

fn write_value(out: &mut String, value: &JsonValue, style: Style, level: usize) {
    match value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonValue::Int(i) => out.push_str(&i.to_string()),
        JsonValue::Float(f) => out.push_str(&python_float(*f)),
        JsonValue::Str(s) => escape_str(out, s),
        JsonValue::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                separator(out, style, level, i);
                write_value(out, item, style, level + 1);
            }
            close(out, style, level, ']');
        }
        JsonValue::Object(pairs) => {
            if pairs.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut refs: Vec<&(String, JsonValue)> = pairs.iter().collect();
            if style.sort_keys {
                refs.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push('{');
            for (i, (k, v)) in refs.into_iter().enumerate() {
                separator(out, style, level, i);
                escape_str(out, k);
                out.push_str(style.separators.1);
                write_value(out, v, style, level + 1);
            }
            close(out, style, level, '}');
        }
    }
}

fn separator(out: &mut String, style: Style, level: usize, index: usize) {
    match style.indent {
        Some(indent) => {
            if index > 0 {
                out.push_str(style.separators.0.trim_end());
            }
            newline(out, indent, level + 1);
        }
        None => {
            if index > 0 {
                out.push_str(style.separators.0);
            }
        }
    }
}

fn close(out: &mut String, style: Style, level: usize, bracket: char) {
    if let Some(indent) = style.indent {
        newline(out, indent, level);
    }
    out.push(bracket);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python() {
        let v = parse(r#"{"b": [1, 2.0, "é\n/"], "a": {}, "c": null}"#).unwrap();
        assert_eq!(
            dumps(&v, COMPACT),
            r#"{"b":[1,2.0,"\u00e9\n/"],"a":{},"c":null}"#
        );
        assert_eq!(
            dumps(&v, DEFAULT),
            r#"{"b": [1, 2.0, "\u00e9\n/"], "a": {}, "c": null}"#
        );
        let sorted = Style {
            sort_keys: true,
            ..COMPACT
        };
        assert_eq!(
            dumps(&v, sorted),
            r#"{"a":{},"b":[1,2.0,"\u00e9\n/"],"c":null}"#
        );
        let indented = Style {
            indent: Some(3),
            ..DEFAULT
        };
        assert_eq!(
            dumps(&parse(r#"{"a": [1], "b": {}}"#).unwrap(), indented),
            "{\n   \"a\": [\n      1\n   ],\n   \"b\": {}\n}"
        );
        assert_eq!(dumps(&JsonValue::str("😀"), COMPACT), r#""\ud83d\ude00""#);
    }
}
