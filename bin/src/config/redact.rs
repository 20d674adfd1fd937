//! Secret detection and the redacted view used for printing configuration.
//!
//! A key is secret when its lower-cased name contains `password`, `passwd`, `secret`, `psk`,
//! `token`, `credential`, `private`, or ends in `key` (`SECRET_KEY`, `s3_access_key`,
//! `PAGE_TOKEN_KEY`). `DB_URI` values keep everything but the password. The rule is
//! deliberately broad: hiding a harmless value costs nothing, printing a secret does.

use std::fmt;

use serde_json::{Map, Value};

/// What replaces a secret in printed output.
pub const REDACTED: &str = "<redacted>";

/// Whether a key (at any depth) holds a secret.
#[must_use]
pub fn is_secret_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "psk",
        "token",
        "credential",
        "private",
    ]
    .iter()
    .any(|needle| k.contains(needle))
        || k.ends_with("key")
}

/// A copy of `value` (found under `key`) with every secret replaced by [`REDACTED`].
#[must_use]
pub fn redact_value(key: &str, value: &Value) -> Value {
    if value.is_null() {
        return Value::Null;
    }
    if key.ends_with("DB_URI") {
        return match value {
            Value::String(s) => Value::String(redact_uri(s)),
            _ => Value::String(REDACTED.to_owned()),
        };
    }
    if is_secret_key(key) && !matches!(value, Value::Bool(_)) {
        return Value::String(REDACTED.to_owned());
    }
    match value {
        Value::Object(map) => Value::Object(redact_map(map)),
        Value::Array(items) => Value::Array(items.iter().map(|v| redact_value(key, v)).collect()),
        other => other.clone(),
    }
}

/// A copy of `map` with secrets redacted.
#[must_use]
pub fn redact_map(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| (k.clone(), redact_value(k, v)))
        .collect()
}

/// A URI with its password (between `user:` and `@`) replaced.
fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return REDACTED.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:{REDACTED}{}", &rest[at..]),
            None => uri.to_owned(),
        },
        None => uri.to_owned(),
    }
}

/// A JSON mapping whose `Debug` output is redacted. Used for driver parameters and the long
/// tail of keys, which may hold secrets quay-rs does not type individually.
#[derive(Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// The raw value of a key (secrets included: do not log it).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }

    /// The redacted copy, safe to print.
    #[must_use]
    pub fn redacted(&self) -> Map<String, Value> {
        redact_map(&self.0)
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys() {
        for k in [
            "SECRET_KEY",
            "DATABASE_SECRET_KEY",
            "PAGE_TOKEN_KEY",
            "s3_secret_key",
            "LDAP_ADMIN_PASSWD",
            "password",
            "SECURITY_SCANNER_V4_PSK",
            "CLIENT_SECRET",
            "cloudfront_privatekey_filename",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["SERVER_HOSTNAME", "s3_bucket", "host", "SUPER_USERS"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redacts_nested_and_uris() {
        let v = json!({"DB_URI": "postgresql://quay:hunter2@db:5432/quay", "BUILDLOGS_REDIS": {"host": "r", "password": "pw"}, "DB_READ_REPLICAS": [{"DB_URI": "postgresql://u:x@h/d"}]});
        let Value::Object(m) = v else { panic!() };
        let out = serde_json::to_string(&redact_map(&m)).unwrap_or_default();
        assert!(!out.contains("hunter2") && !out.contains("\"pw\"") && !out.contains("u:x@"));
        assert!(out.contains("postgresql://quay:<redacted>@db:5432/quay"));
        assert!(out.contains("\"host\":\"r\""));
    }
}
