//! What the loader reports: every error found (with key path, problem and fix) and warnings.

use std::fmt;

/// One problem in the configuration that stops the binary from starting.
///
/// `path` names the key (`DISTRIBUTED_STORAGE_CONFIG.default[1].storage_path`), `problem`
/// says what is wrong and `fix` what would make it right. None of them ever holds a secret
/// value: type errors name the JSON type found, never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// Key path: top-level key, `.field` for nested keys, `[i]` for list items.
    pub path: String,
    /// What is wrong.
    pub problem: String,
    /// What would fix it.
    pub fix: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "error: {}: {} (fix: {})",
            self.path, self.problem, self.fix
        )
    }
}

/// Something suspicious that does not stop the binary (an unknown key, a deprecated key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// Key path, as in [`ConfigError::path`].
    pub path: String,
    /// What looks wrong, and what to do about it.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning: {}: {}", self.path, self.message)
    }
}

/// Every error found while loading, never just the first, plus the warnings seen on the way.
///
/// `Display` prints one error per line (warnings are not part of `Display`; print them from
/// [`ConfigErrors::warnings`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigErrors {
    /// The errors, in the order they were found (file syntax first, then by key).
    pub errors: Vec<ConfigError>,
    /// Warnings collected before loading failed.
    pub warnings: Vec<ConfigWarning>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The JSON type of a value, for error messages (values themselves are never printed).
pub(crate) fn type_name(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(n) if n.is_f64() => "a decimal number",
        serde_json::Value::Number(_) => "an integer",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}
