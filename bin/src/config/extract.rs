//! Typed reads from the merged JSON map that record every error instead of stopping.
//!
//! Each getter returns `None` when the key is absent or `null` (Quay's `config.get`), and
//! also `None` after recording an error when the value has the wrong type, so validation
//! carries on and reports all problems at once.

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigWarning, type_name};

/// Collects errors and warnings during one load.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    pub(crate) errors: Vec<ConfigError>,
    pub(crate) warnings: Vec<ConfigWarning>,
}

/// A JSON object together with its key path (`""` for the top level).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: &'a str,
}

impl<'a> Node<'a> {
    /// The top-level node.
    pub(crate) fn root(map: &'a Map<String, Value>) -> Self {
        Self { map, path: "" }
    }

    /// The path of `key` under this node.
    pub(crate) fn key_path(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// The raw value of `key`; `null` counts as absent.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }
}

/// `parent.key`, or `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

impl Ctx {
    /// Records an error; a second error at the same path is dropped (the key table and a
    /// typed getter may both see the same wrong value).
    pub(crate) fn error(
        &mut self,
        path: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) {
        let path = path.into();
        if !self.errors.iter().any(|e| e.path == path) {
            self.errors.push(ConfigError {
                path,
                problem: problem.into(),
                fix: fix.into(),
            });
        }
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(ConfigWarning {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records a wrong-type error for `path`.
    pub(crate) fn wrong_type(&mut self, path: impl Into<String>, expected: &str, found: &Value) {
        self.error(
            path,
            format!("expected {expected}, found {}", type_name(found)),
            format!("write {expected} here"),
        );
    }

    /// Records that a required key is missing.
    pub(crate) fn missing(&mut self, path: impl Into<String>, fix: impl Into<String>) {
        self.error(path, "required but not set", fix);
    }

    /// A string value.
    pub(crate) fn str(&mut self, n: Node<'_>, key: &str) -> Option<String> {
        match n.raw(key)? {
            Value::String(s) => Some(s.clone()),
            other => {
                self.wrong_type(n.key_path(key), "a string", other);
                None
            }
        }
    }

    /// A secret string (never echoed in errors).
    pub(crate) fn secret(&mut self, n: Node<'_>, key: &str) -> Option<SecretString> {
        self.str(n, key).map(SecretString::from)
    }

    /// A boolean.
    pub(crate) fn bool(&mut self, n: Node<'_>, key: &str) -> Option<bool> {
        match n.raw(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong_type(n.key_path(key), "true or false", other);
                None
            }
        }
    }

    /// A boolean with a default when absent or wrong.
    pub(crate) fn bool_or(&mut self, n: Node<'_>, key: &str, default: bool) -> bool {
        self.bool(n, key).unwrap_or(default)
    }

    /// A non-negative integer.
    pub(crate) fn u64(&mut self, n: Node<'_>, key: &str) -> Option<u64> {
        match n.raw(key)? {
            Value::Number(num) if num.as_u64().is_some() => num.as_u64(),
            other => {
                self.wrong_type(n.key_path(key), "a non-negative integer", other);
                None
            }
        }
    }

    /// A number (integer or decimal).
    pub(crate) fn f64(&mut self, n: Node<'_>, key: &str) -> Option<f64> {
        match n.raw(key)? {
            Value::Number(num) => num.as_f64(),
            other => {
                self.wrong_type(n.key_path(key), "a number", other);
                None
            }
        }
    }

    /// A TCP port.
    pub(crate) fn port(&mut self, n: Node<'_>, key: &str) -> Option<u16> {
        let v = self.u64(n, key)?;
        match u16::try_from(v) {
            Ok(p) if p > 0 => Some(p),
            _ => {
                self.error(
                    n.key_path(key),
                    format!("{v} is not a TCP port"),
                    "use a port between 1 and 65535",
                );
                None
            }
        }
    }

    /// A list of strings; each bad item is reported with its index.
    pub(crate) fn str_list(&mut self, n: Node<'_>, key: &str) -> Option<Vec<String>> {
        let path = n.key_path(key);
        match n.raw(key)? {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    match item {
                        Value::String(s) => out.push(s.clone()),
                        other => self.wrong_type(format!("{path}[{i}]"), "a string", other),
                    }
                }
                Some(out)
            }
            other => {
                self.wrong_type(path, "a list of strings", other);
                None
            }
        }
    }

    /// A mapping.
    pub(crate) fn object<'a>(&mut self, n: Node<'a>, key: &str) -> Option<&'a Map<String, Value>> {
        match n.raw(key)? {
            Value::Object(m) => Some(m),
            other => {
                self.wrong_type(n.key_path(key), "a mapping", other);
                None
            }
        }
    }

    /// Reports every key of `n` that is not in `allowed` (typo catcher for adapter params).
    pub(crate) fn reject_unknown(&mut self, n: Node<'_>, allowed: &[&str]) {
        for key in n.map.keys() {
            if !allowed.contains(&key.as_str()) {
                self.error(
                    n.key_path(key),
                    "unknown parameter",
                    format!("remove it or use one of: {}", allowed.join(", ")),
                );
            }
        }
    }
}
