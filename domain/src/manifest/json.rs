//! Typed reads from a parsed JSON document, with jsonschema-like messages naming the path.
//!
//! Quay validates manifests with JSON Schema: `type: number` admits integers and floats but not
//! booleans; `type: object` admits only objects. We keep that, except that sizes must be integers
//! (a fractional size cannot describe bytes).

use serde_json::{Map, Value};

/// A schema violation message.
pub(crate) type SchemaResult<T> = Result<T, String>;

pub(crate) fn object<'a>(v: &'a Value, path: &str) -> SchemaResult<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{path}: {v} is not of type 'object'"))
}

pub(crate) fn required<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> SchemaResult<&'a Value> {
    m.get(key)
        .ok_or_else(|| format!("{path}: '{key}' is a required property"))
}

pub(crate) fn string<'a>(v: &'a Value, path: &str) -> SchemaResult<&'a str> {
    v.as_str()
        .ok_or_else(|| format!("{path}: {v} is not of type 'string'"))
}

pub(crate) fn required_string<'a>(
    m: &'a Map<String, Value>,
    key: &str,
    path: &str,
) -> SchemaResult<&'a str> {
    string(required(m, key, path)?, &format!("{path}.{key}"))
}

pub(crate) fn optional_string(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> SchemaResult<Option<String>> {
    m.get(key)
        .map(|v| string(v, &format!("{path}.{key}")).map(str::to_owned))
        .transpose()
}

pub(crate) fn optional_object(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> SchemaResult<Option<Map<String, Value>>> {
    m.get(key)
        .map(|v| object(v, &format!("{path}.{key}")).cloned())
        .transpose()
}

pub(crate) fn array<'a>(v: &'a Value, path: &str) -> SchemaResult<&'a Vec<Value>> {
    v.as_array()
        .ok_or_else(|| format!("{path}: {v} is not of type 'array'"))
}

pub(crate) fn optional_string_array(
    m: &Map<String, Value>,
    key: &str,
    path: &str,
) -> SchemaResult<Option<Vec<String>>> {
    let Some(v) = m.get(key) else {
        return Ok(None);
    };
    let p = format!("{path}.{key}");
    array(v, &p)?
        .iter()
        .enumerate()
        .map(|(i, s)| string(s, &format!("{p}[{i}]")).map(str::to_owned))
        .collect::<SchemaResult<Vec<_>>>()
        .map(Some)
}

/// A JSON Schema `number` that must also be a whole number fitting `i64`.
pub(crate) fn integer(v: &Value, path: &str) -> SchemaResult<i64> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    match v.as_f64() {
        Some(_) => Err(format!("{path}: {v} is not a whole number of bytes")),
        None => Err(format!("{path}: {v} is not of type 'number'")),
    }
}

/// `schemaVersion`: a number equal to 2 (`2` or `2.0`), as `minimum: 2, maximum: 2` allows.
pub(crate) fn schema_version_2(m: &Map<String, Value>, path: &str) -> SchemaResult<()> {
    let v = required(m, "schemaVersion", path)?;
    match v.as_f64() {
        Some(n) if v.is_number() && (n - 2.0).abs() < f64::EPSILON => Ok(()),
        Some(_) if v.is_number() => Err(format!("{path}.schemaVersion: {v} is not 2")),
        _ => Err(format!("{path}.schemaVersion: {v} is not of type 'number'")),
    }
}

/// An optional `mediaType` that must equal `expected` when present (or always, if `required`).
pub(crate) fn own_media_type(
    m: &Map<String, Value>,
    expected: &str,
    required_here: bool,
    path: &str,
) -> SchemaResult<bool> {
    match m.get("mediaType") {
        None if required_here => Err(format!("{path}: 'mediaType' is a required property")),
        None => Ok(false),
        Some(v) => {
            let s = string(v, &format!("{path}.mediaType"))?;
            if s == expected {
                Ok(true)
            } else {
                Err(format!(
                    "{path}.mediaType: '{s}' is not one of ['{expected}']"
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_follow_json_schema() {
        assert_eq!(integer(&json!(5), "s"), Ok(5));
        assert_eq!(integer(&json!(-5), "s"), Ok(-5));
        assert!(integer(&json!(1.5), "s").is_err());
        assert!(integer(&json!(true), "s").is_err());
        assert!(integer(&json!("5"), "s").is_err());
        for ok in [json!({"schemaVersion": 2}), json!({"schemaVersion": 2.0})] {
            assert!(schema_version_2(ok.as_object().unwrap(), "$").is_ok());
        }
        for bad in [
            json!({"schemaVersion": 1}),
            json!({"schemaVersion": "2"}),
            json!({}),
        ] {
            assert!(schema_version_2(bad.as_object().unwrap(), "$").is_err());
        }
    }

    #[test]
    fn own_media_type_rules() {
        let m = json!({"mediaType": "a/b"});
        let m = m.as_object().unwrap();
        assert_eq!(own_media_type(m, "a/b", true, "$"), Ok(true));
        assert!(own_media_type(m, "a/c", false, "$").is_err());
        let empty = Map::new();
        assert_eq!(own_media_type(&empty, "a/b", false, "$"), Ok(false));
        assert!(own_media_type(&empty, "a/b", true, "$").is_err());
    }
}
