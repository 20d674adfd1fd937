//! JSON as Python's `json` module reads and writes it, for documents Quay generates (the
//! referrers index, schema 1 conversions) where byte equality with Quay matters:
//! - [`PyValue`] keeps object keys in document order (a Python `dict`); a repeated key keeps its
//!   first position and its last value;
//! - [`dumps`] writes like `json.dumps(value, indent=..., ensure_ascii=True)`: `", "` and `": "`
//!   separators on one line, `","` plus newline and indentation with `indent`, non-ASCII as
//!   `\uXXXX`. Floats use Rust's shortest form, which matches Python's `repr` for ordinary values.

use std::fmt::{self, Write as _};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A JSON value with ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PyValue {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<PyValue>),
    /// An object, keys in order.
    Object(Vec<(String, PyValue)>),
}

impl PyValue {
    /// An object's value for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            Self::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Whether an object has `key`.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` like `dict[key] = value`: in place if present, appended otherwise.
    pub(crate) fn set(&mut self, key: &str, value: PyValue) {
        if let Self::Object(entries) = self {
            match entries.iter_mut().find(|(k, _)| k == key) {
                Some(slot) => slot.1 = value,
                None => entries.push((key.to_owned(), value)),
            }
        }
    }

    /// Removes `key` like `dict.pop(key, None)`.
    pub(crate) fn remove(&mut self, key: &str) {
        if let Self::Object(entries) = self {
            entries.retain(|(k, _)| k != key);
        }
    }

    /// Python truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            Self::Null => false,
            Self::Bool(b) => *b,
            Self::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
            Self::String(s) => !s.is_empty(),
            Self::Array(a) => !a.is_empty(),
            Self::Object(o) => !o.is_empty(),
        }
    }
}

impl From<&Value> for PyValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Self::Null,
            Value::Bool(b) => Self::Bool(*b),
            Value::Number(n) => Self::Number(n.clone()),
            Value::String(s) => Self::String(s.clone()),
            Value::Array(a) => Self::Array(a.iter().map(Self::from).collect()),
            Value::Object(m) => {
                Self::Object(m.iter().map(|(k, v)| (k.clone(), v.into())).collect())
            }
        }
    }
}

impl From<&str> for PyValue {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

struct PyValueVisitor;

impl<'de> Visitor<'de> for PyValueVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<PyValue, E> {
        Ok(PyValue::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<PyValue, E> {
        Ok(PyValue::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<PyValue, E> {
        Ok(PyValue::Number(n.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<PyValue, E> {
        Number::from_f64(n)
            .map(PyValue::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, s: &str) -> Result<PyValue, E> {
        Ok(PyValue::String(s.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(PyValue::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut object = PyValue::Object(Vec::new());
        while let Some((k, v)) = map.next_entry::<String, PyValue>()? {
            object.set(&k, v);
        }
        Ok(object)
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PyValueVisitor)
    }
}

/// Writes `value` like `json.dumps(value, indent=indent)`.
pub(crate) fn dumps(value: &PyValue, indent: Option<usize>) -> String {
    let mut out = String::new();
    write_value(&mut out, value, indent, 0);
    out
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

fn write_value(out: &mut String, value: &PyValue, indent: Option<usize>, level: usize) {
    let (open, close, len) = match value {
        PyValue::Null => return out.push_str("null"),
        PyValue::Bool(b) => return out.push_str(if *b { "true" } else { "false" }),
        PyValue::Number(n) => return out.push_str(&n.to_string()),
        PyValue::String(s) => return write_string(out, s),
        PyValue::Array(a) => ('[', ']', a.len()),
        PyValue::Object(o) => ('{', '}', o.len()),
    };
    out.push(open);
    for i in 0..len {
        if i > 0 {
            out.push_str(if indent.is_some() { "," } else { ", " });
        }
        newline(out, indent, level + 1);
        match value {
            PyValue::Array(a) => write_value(out, &a[i], indent, level + 1),
            PyValue::Object(o) => {
                write_string(out, &o[i].0);
                out.push_str(": ");
                write_value(out, &o[i].1, indent, level + 1);
            }
            _ => {}
        }
    }
    if len > 0 {
        newline(out, indent, level);
    }
    out.push(close);
}

fn write_string(out: &mut String, s: &str) {
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
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn py(s: &str) -> PyValue {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn matches_python_output() {
        // Python: json.dumps(json.loads(text)) keeps document order.
        let v = py(r#"{"z": [1, {"b": null}], "c": "é\n😀\u007f\"/", "d": {}, "e": [], "a": 1.5}"#);
        assert_eq!(
            dumps(&v, None),
            r#"{"z": [1, {"b": null}], "c": "\u00e9\n\ud83d\ude00\u007f\"/", "d": {}, "e": [], "a": 1.5}"#
        );
        assert_eq!(
            dumps(&py(r#"{"a":[1,2],"b":{}}"#), Some(3)),
            "{\n   \"a\": [\n      1,\n      2\n   ],\n   \"b\": {}\n}"
        );
    }

    #[test]
    fn dict_semantics() {
        let mut v = py(r#"{"b": 1, "a": 2, "b": 3}"#);
        assert_eq!(dumps(&v, None), r#"{"b": 3, "a": 2}"#);
        v.set("a", PyValue::Null);
        v.set("c", "x".into());
        v.remove("b");
        assert_eq!(dumps(&v, None), r#"{"a": null, "c": "x"}"#);
        assert!(v.contains("c") && !v.contains("b"));
        assert!(!PyValue::Null.truthy() && py("[0]").truthy() && !py("\"\"").truthy());
        assert_eq!(
            PyValue::from(&serde_json::json!({"k": [true]})),
            py(r#"{"k": [true]}"#)
        );
    }
}
