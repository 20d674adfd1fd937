//! Reading and merging the layers: Quay defaults < preset < config file < environment.
//!
//! Merging is by top-level key, like Quay's `app.config.update(...)`: a key in a higher
//! layer replaces the whole value below (a file's `DISTRIBUTED_STORAGE_CONFIG` replaces the
//! preset's, it is not merged into it).
//!
//! Environment overrides, applied in this order:
//! 1. `QUAY_OVERRIDE_CONFIG`: a JSON object of Quay keys (as Python Quay reads it).
//! 2. `QUAY_CONFIG__<KEY>=<value>` for any known key, e.g. `QUAY_CONFIG__SERVER_HOSTNAME=quay.example.com`
//!    or `QUAY_CONFIG__FEATURE_PROXY_CACHE=true`. The value is read as a YAML scalar or flow
//!    collection (`true`, `5`, `[a, b]`, `{host: r}`); for a key expecting a string, a value
//!    YAML reads otherwise (`QUAY_CONFIG__SECRET_KEY=12345`) is kept as the string.
//! 3. `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`: space-separated locations (as Python Quay reads it).

use std::path::Path;

use serde_json::{Map, Value};

use super::extract::Ctx;
use super::keys;

/// Top-level config map.
pub(crate) type RawMap = Map<String, Value>;

/// Prefix of the per-key environment overrides.
pub const ENV_PREFIX: &str = "QUAY_CONFIG__";
/// Python Quay's JSON override variable.
pub const ENV_OVERRIDE_JSON: &str = "QUAY_OVERRIDE_CONFIG";
/// Python Quay's storage preference override variable.
pub const ENV_STORAGE_PREFERENCE: &str = "QUAY_DISTRIBUTED_STORAGE_PREFERENCE";

/// Parses YAML text into a top-level map; syntax errors carry line and column.
pub(crate) fn parse_yaml(ctx: &mut Ctx, origin: &str, text: &str) -> Option<RawMap> {
    match serde_yaml_ng::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Some(m),
        Ok(Value::Null) => Some(Map::new()),
        Ok(other) => {
            ctx.error(
                origin,
                format!(
                    "the top level is {}, not a mapping",
                    super::error::type_name(&other)
                ),
                "write `KEY: value` lines",
            );
            None
        }
        Err(e) => {
            let at = e
                .location()
                .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                .unwrap_or_default();
            ctx.error(
                format!("{origin}{at}"),
                format!("YAML syntax error: {e}"),
                "correct the YAML syntax there",
            );
            None
        }
    }
}

/// Reads the config file.
pub(crate) fn read_file(ctx: &mut Ctx, path: &Path) -> Option<RawMap> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_yaml(ctx, &path.display().to_string(), &text).map(|mut m| {
            yaml11_booleans(ctx, &mut m);
            m
        }),
        Err(e) => {
            ctx.error(
                path.display().to_string(),
                format!("cannot read the config file: {e}"),
                "check the path given to --config",
            );
            None
        }
    }
}

/// Python Quay reads config.yaml with PyYAML (YAML 1.1), where unquoted `yes`, `no`, `on`,
/// `off`, `y` and `n` are booleans; serde_yaml_ng (YAML 1.2) reads them as strings. For
/// top-level keys that take a boolean, such words become booleans (with a warning), so
/// configs Python Quay accepts keep loading.
fn yaml11_booleans(ctx: &mut Ctx, map: &mut RawMap) {
    for (key, value) in map.iter_mut() {
        let Some(kind) = keys::known_kind(key) else {
            continue;
        };
        let Value::String(word) = &*value else {
            continue;
        };
        if !kind.accepts(&Value::Bool(true)) || kind.accepts(&Value::String(String::new())) {
            continue;
        }
        let b = match word.to_ascii_lowercase().as_str() {
            "yes" | "y" | "on" => true,
            "no" | "n" | "off" => false,
            _ => continue,
        };
        ctx.warn(
            key.clone(),
            format!("`{word}` read as {b} (YAML 1.1, as Python Quay does); write {b}"),
        );
        *value = Value::Bool(b);
    }
}

/// Collects the environment overrides.
pub(crate) fn env_layer(ctx: &mut Ctx, env: &dyn Fn(&str) -> Option<String>) -> RawMap {
    let mut out = Map::new();
    if let Some(json) = env(ENV_OVERRIDE_JSON) {
        match serde_json::from_str::<Value>(&json) {
            Ok(Value::Object(m)) => out.extend(m),
            Ok(_) => ctx.error(
                ENV_OVERRIDE_JSON,
                "not a JSON object",
                r#"set it to a JSON object, e.g. {"SERVER_HOSTNAME": "quay.example.com"}"#,
            ),
            Err(e) => ctx.error(
                ENV_OVERRIDE_JSON,
                format!(
                    "invalid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
                "set it to a JSON object",
            ),
        }
    }
    for key in keys::all_known() {
        let var = format!("{ENV_PREFIX}{key}");
        let Some(text) = env(&var) else { continue };
        let kind = keys::known_kind(key);
        let parsed = serde_yaml_ng::from_str::<Value>(&text).unwrap_or(Value::String(text.clone()));
        let value = match kind {
            Some(k) if !k.accepts(&parsed) && k.accepts(&Value::String(String::new())) => {
                Value::String(text)
            }
            _ => parsed,
        };
        out.insert(key.to_owned(), value);
    }
    if let Some(pref) = env(ENV_STORAGE_PREFERENCE) {
        let list: Vec<Value> = pref
            .split_whitespace()
            .map(|s| Value::String(s.to_owned()))
            .collect();
        if !list.is_empty() {
            out.insert(
                "DISTRIBUTED_STORAGE_PREFERENCE".to_owned(),
                Value::Array(list),
            );
        }
    }
    out
}

/// Applies `over` on top of `base`, key by key.
pub(crate) fn merge(base: &mut RawMap, over: RawMap) {
    base.extend(over);
}
