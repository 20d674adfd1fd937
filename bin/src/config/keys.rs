//! Every top-level key Quay knows, with the JSON type(s) it accepts.
//!
//! Built from Quay's `util/config/schema.py` (properties and the stray top-level entries),
//! `config.py` `DefaultConfig`, and keys Quay's code reads that neither lists (LDAP, JWT,
//! Keystone, OIDC service id, worker tunables). Where the schema and the default disagree
//! both types are accepted; keys whose type Quay does not pin are `Kind::ANY`. Keys ending in
//! `_LOGIN_CONFIG` (OAuth/OIDC providers) and every flag of `Features` are known as well.
//! A key outside this table only warns; a known key with the wrong type is an error.

use quay_application::features::Features;
use serde_json::{Map, Value};

use super::extract::Ctx;

mod table;

use table::KEYS;

/// A set of accepted JSON types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind(u8);

impl Kind {
    pub(crate) const STRING: Kind = Kind(1);
    pub(crate) const BOOL: Kind = Kind(2);
    pub(crate) const INTEGER: Kind = Kind(4);
    /// Any number, integer or decimal (JSON schema `number`).
    pub(crate) const NUMBER: Kind = Kind(8 | 4);
    pub(crate) const ARRAY: Kind = Kind(16);
    pub(crate) const OBJECT: Kind = Kind(32);
    pub(crate) const NULL: Kind = Kind(64);
    pub(crate) const ANY: Kind = Kind(u8::MAX);

    /// The union of two kinds.
    pub(crate) const fn or(self, other: Kind) -> Kind {
        Kind(self.0 | other.0)
    }

    /// Whether `v` is of one of the accepted types.
    pub(crate) fn accepts(self, v: &Value) -> bool {
        let bit = match v {
            Value::Null => return true, // null means "unset" to Quay's config.get
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Number(n) if n.is_f64() => 8,
            Value::Number(_) => 4,
            Value::Array(_) => 16,
            Value::Object(_) => 32,
        };
        self.0 & bit != 0
    }

    /// Human description, e.g. "a string or null".
    pub(crate) fn describe(self) -> String {
        let names = [
            (1, "a string"),
            (2, "true or false"),
            (8, "a number"),
            (4, "an integer"),
            (16, "a list"),
            (32, "a mapping"),
        ];
        let mut parts: Vec<&str> = Vec::new();
        let mut seen_number = false;
        for (bit, name) in names {
            if self.0 & bit != 0 && !(bit == 4 && seen_number) {
                seen_number |= bit == 8;
                parts.push(name);
            }
        }
        parts.join(" or ")
    }
}

/// The accepted kind of a known key, or `None` for an unknown key.
pub(crate) fn known_kind(key: &str) -> Option<Kind> {
    if Features::default_of(key).is_some() {
        return Some(Kind::BOOL);
    }
    if key.ends_with("_LOGIN_CONFIG") {
        return Some(Kind::OBJECT.or(Kind::NULL));
    }
    KEYS.binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| KEYS[i].1)
}

/// Every key of the table plus every feature flag (for `QUAY_CONFIG__<KEY>` lookups).
pub(crate) fn all_known() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .map(|(k, _)| *k)
        .chain(Features::KEYS.iter().copied())
}

/// Warns about unknown top-level keys and reports known keys of the wrong type.
pub(crate) fn check_top_level(ctx: &mut Ctx, map: &Map<String, Value>) {
    for (key, value) in map {
        match known_kind(key) {
            None => ctx.warn(
                key.clone(),
                "unknown key (not in Quay's schema or defaults); it is ignored. Check the spelling",
            ),
            Some(kind) if !kind.accepts(value) => {
                ctx.wrong_type(key.clone(), &kind.describe(), value);
            }
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(KEYS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert_eq!(known_kind("SERVER_HOSTNAME"), Some(Kind::STRING));
        assert_eq!(known_kind("FEATURE_PROXY_CACHE"), Some(Kind::BOOL));
        assert!(known_kind("RHSSO_LOGIN_CONFIG").is_some());
        assert!(known_kind("SERVER_HOSTNAM").is_none());
        assert!(Kind::NUMBER.accepts(&serde_json::json!(3)));
        assert!(!Kind::INTEGER.accepts(&serde_json::json!(3.5)));
        assert_eq!(Kind::STRING.or(Kind::NULL).describe(), "a string");
        assert_eq!(Kind::NUMBER.describe(), "a number");
    }
}
