//! JSON text as Python's `json.dumps` writes it by default (`", "` and `": "` separators), so
//! `blobupload.storage_metadata` written by quay-rs is byte-identical to Python Quay's.

use std::io;

use serde::Serialize;
use serde_json::ser::Formatter;

struct PythonFormatter;

impl Formatter for PythonFormatter {
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }
}

/// `json.dumps(value)` of a serialisable value.
pub fn dumps<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, PythonFormatter);
    if value.serialize(&mut ser).is_err() {
        return "null".to_string();
    }
    String::from_utf8(out).unwrap_or_else(|_| "null".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn separators_like_python() {
        let v = serde_json::json!({"chunks": [["uploads/a", 0, 5], ["uploads/b", 5, 7]]});
        assert_eq!(
            super::dumps(&v),
            r#"{"chunks": [["uploads/a", 0, 5], ["uploads/b", 5, 7]]}"#
        );
        assert_eq!(super::dumps(&serde_json::json!({})), "{}");
    }
}
