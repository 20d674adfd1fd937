//! Tag immutability (Quay's `FEATURE_IMMUTABLE_TAGS`, `data/model/immutability.py` and the
//! `quay.immutable` label): whether a tag written by a push becomes immutable.
//!
//! Rules:
//! - a policy (`repositoryimmutabilitypolicy`, then `namespaceimmutabilitypolicy`) holds a
//!   `tag_pattern` that must match the *whole* tag name, and `tag_pattern_matches` (default
//!   true) saying whether a match or a non-match makes the tag immutable; the first policy that
//!   applies decides;
//! - a pattern that does not compile never matches (Quay treats a regex error as no match).
//!   Quay compiles with Python's `regex` module; quay-rs with the `regex` crate, which has no
//!   look-around or back-references: such patterns never match here (a deliberate difference);
//! - the `quay.immutable` label makes the tag immutable when its value, trimmed and lower-cased,
//!   is `true` ([`immutable_from_labels`]);
//! - the `quay.expires-after` label (`<n>s|m|h|d|w|y`) gives the pushed tag its
//!   `lifetime_end_ms` ([`expiry_from_labels`], [`expiry_seconds`]); an immutable tag keeps no
//!   expiry unless `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`.

use regex::Regex;

/// The `quay.immutable` label key.
pub const IMMUTABLE_LABEL: &str = "quay.immutable";
/// The `quay.expires-after` label key.
pub const EXPIRY_LABEL: &str = "quay.expires-after";

/// One stored immutability policy (the `policy` JSON column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImmutabilityPolicy {
    /// `tag_pattern`.
    pub tag_pattern: String,
    /// `tag_pattern_matches` (absent means true).
    pub tag_pattern_matches: bool,
}

impl ImmutabilityPolicy {
    /// Reads the `policy` column (`{"tag_pattern": ..., "tag_pattern_matches": ...}`); `None`
    /// when it holds no usable pattern (such a policy never applies).
    pub fn from_json(text: &str) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let tag_pattern = value.get("tag_pattern")?.as_str()?.to_owned();
        let tag_pattern_matches = value
            .get("tag_pattern_matches")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true);
        Some(Self {
            tag_pattern,
            tag_pattern_matches,
        })
    }

    /// Whether this policy makes `tag` immutable.
    pub fn applies_to(&self, tag: &str) -> bool {
        let matches = Regex::new(&format!("^(?:{})$", self.tag_pattern))
            .map(|re| re.is_match(tag))
            .unwrap_or(false);
        matches == self.tag_pattern_matches
    }
}

/// Whether any of `policies` (repository ones first, then the namespace's) makes `tag`
/// immutable.
pub fn immutable_by_policy(policies: &[ImmutabilityPolicy], tag: &str) -> bool {
    policies.iter().any(|p| p.applies_to(tag))
}

/// The `quay.immutable` values known for a pushed manifest and its children, each list in label
/// id order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelValues {
    /// Values on the manifest itself.
    pub own: Vec<String>,
    /// Values on each child of a list (one entry per child, possibly empty).
    pub children: Vec<Vec<String>>,
}

fn is_true(value: &str) -> bool {
    value.trim().to_lowercase() == "true"
}

/// Whether the `quay.immutable` label makes the tag immutable (Quay's
/// `create_manifest_and_retarget_tag`).
///
/// For a manifest created by this push (`newly_created`), the manifest's own labels decide; for a
/// list, the labels shared with the same value by every child. For a manifest that already
/// existed, the first own label decides; for a list without one, every child must carry the label
/// (its last value, trimmed and lower-cased) with the same value.
pub fn immutable_from_labels(values: &LabelValues, newly_created: bool, is_list: bool) -> bool {
    if newly_created {
        if is_list && !values.children.is_empty() {
            let mut shared: Option<&str> = None;
            for child in &values.children {
                let Some(v) = child.last() else {
                    return false;
                };
                match shared {
                    None => shared = Some(v),
                    Some(s) if s == v => {}
                    Some(_) => return false,
                }
            }
            return shared.is_some_and(is_true);
        }
        return values.own.last().is_some_and(|v| is_true(v));
    }
    if let Some(first) = values.own.first() {
        return is_true(first);
    }
    if !is_list || values.children.is_empty() {
        return false;
    }
    let mut shared: Option<String> = None;
    for child in &values.children {
        let Some(v) = child.last() else {
            return false;
        };
        let v = v.trim().to_lowercase();
        match &shared {
            None => shared = Some(v),
            Some(s) if *s == v => {}
            Some(_) => return false,
        }
    }
    shared.is_some_and(|s| s == "true")
}

/// The `quay.expires-after` value that applies to a pushed tag (Quay's
/// `create_manifest_and_retarget_tag`): for a new manifest its own label, or for a list the value
/// every child carries identically; for an existing manifest its first own label, else the value
/// every child carries identically (each child's last).
pub fn expiry_from_labels(
    values: &LabelValues,
    newly_created: bool,
    is_list: bool,
) -> Option<&str> {
    let shared_by_children = || {
        let mut shared: Option<&str> = None;
        for child in &values.children {
            let v = child.last()?;
            match shared {
                None => shared = Some(v),
                Some(s) if s == v => {}
                Some(_) => return None,
            }
        }
        shared
    };
    if newly_created {
        if is_list && !values.children.is_empty() {
            return shared_by_children();
        }
        return values.own.last().map(String::as_str);
    }
    if let Some(first) = values.own.first() {
        return Some(first);
    }
    if is_list {
        return shared_by_children();
    }
    None
}

/// Seconds of a `quay.expires-after` value (Quay's `convert_to_timedelta`: an integer, possibly
/// signed, then `s`, `m`, `h`, `d`, `w` or `y`); `None` when it does not parse or overflows, or
/// is zero (no expiry).
pub fn expiry_seconds(value: &str) -> Option<i64> {
    let mut chars = value.chars();
    let unit = chars.next_back()?;
    let number: i64 = chars.as_str().trim().replace('_', "").parse().ok()?;
    let factor: i64 = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        'y' => 365 * 86_400,
        _ => return None,
    };
    number.checked_mul(factor).filter(|s| *s != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pattern: &str, matches: bool) -> ImmutabilityPolicy {
        ImmutabilityPolicy {
            tag_pattern: pattern.into(),
            tag_pattern_matches: matches,
        }
    }

    #[test]
    fn patterns_match_the_whole_name() {
        let p = policy("v[0-9]+", true);
        assert!(p.applies_to("v1"));
        assert!(!p.applies_to("v1-rc"));
        assert!(!p.applies_to("xv1"));
        let alt = policy("a|b", true);
        assert!(alt.applies_to("b"));
        assert!(!alt.applies_to("ab"));
    }

    #[test]
    fn non_matching_policies_invert() {
        let p = policy("dev-.*", false);
        assert!(p.applies_to("release"));
        assert!(!p.applies_to("dev-1"));
    }

    #[test]
    fn broken_patterns_never_match() {
        assert!(!policy("(", true).applies_to("("));
        // Not compiled by the `regex` crate: treated as no match.
        assert!(!policy("(?=v)v1", true).applies_to("v1"));
        // ... and a non-match under `tag_pattern_matches: false` makes the tag immutable.
        assert!(policy("(", false).applies_to("x"));
    }

    #[test]
    fn policy_json() {
        assert_eq!(
            ImmutabilityPolicy::from_json(r#"{"tag_pattern": "v.*"}"#),
            Some(policy("v.*", true))
        );
        assert_eq!(
            ImmutabilityPolicy::from_json(
                r#"{"tag_pattern": "v.*", "tag_pattern_matches": false}"#
            ),
            Some(policy("v.*", false))
        );
        assert_eq!(ImmutabilityPolicy::from_json("{}"), None);
        assert_eq!(ImmutabilityPolicy::from_json("nope"), None);
        let list = [policy("x", true), policy("v.*", true)];
        assert!(immutable_by_policy(&list, "v2"));
        assert!(!immutable_by_policy(&list, "w"));
        assert!(!immutable_by_policy(&[], "w"));
    }

    fn vals(own: &[&str], children: &[&[&str]]) -> LabelValues {
        LabelValues {
            own: own.iter().map(|s| (*s).to_owned()).collect(),
            children: children
                .iter()
                .map(|c| c.iter().map(|s| (*s).to_owned()).collect())
                .collect(),
        }
    }

    #[test]
    fn labels_of_new_manifests() {
        assert!(immutable_from_labels(&vals(&[" TRUE "], &[]), true, false));
        assert!(!immutable_from_labels(&vals(&["yes"], &[]), true, false));
        assert!(!immutable_from_labels(&vals(&[], &[]), true, false));
        // Lists: the value shared by every child, compared as written.
        assert!(immutable_from_labels(
            &vals(&[], &[&["true"], &["true"]]),
            true,
            true
        ));
        assert!(!immutable_from_labels(
            &vals(&[], &[&["true"], &["True"]]),
            true,
            true
        ));
        assert!(!immutable_from_labels(
            &vals(&[], &[&["true"], &[]]),
            true,
            true
        ));
    }

    #[test]
    fn expiry_values() {
        assert_eq!(expiry_seconds("2w"), Some(1_209_600));
        assert_eq!(expiry_seconds("1d"), Some(86_400));
        assert_eq!(expiry_seconds("90m"), Some(5_400));
        assert_eq!(expiry_seconds(" 5h"), Some(18_000));
        assert_eq!(expiry_seconds("1y"), Some(31_536_000));
        assert_eq!(expiry_seconds("-1h"), Some(-3600));
        for bad in ["", "h", "5", "5x", "1.5h", "0s", "99999999999999999d"] {
            assert_eq!(expiry_seconds(bad), None, "{bad}");
        }
        let v = vals(&["1d", "2d"], &[]);
        assert_eq!(expiry_from_labels(&v, false, false), Some("1d"));
        assert_eq!(expiry_from_labels(&v, true, false), Some("2d"));
        let list = vals(&[], &[&["1d"], &["1d"]]);
        assert_eq!(expiry_from_labels(&list, true, true), Some("1d"));
        assert_eq!(expiry_from_labels(&list, false, true), Some("1d"));
        let mixed = vals(&[], &[&["1d"], &["2d"]]);
        assert_eq!(expiry_from_labels(&mixed, true, true), None);
        assert_eq!(expiry_from_labels(&vals(&[], &[]), true, false), None);
    }

    #[test]
    fn labels_of_existing_manifests() {
        assert!(immutable_from_labels(
            &vals(&["true", "false"], &[]),
            false,
            false
        ));
        assert!(!immutable_from_labels(
            &vals(&["false", "true"], &[]),
            false,
            false
        ));
        // Lists: children's values are normalised before they are compared.
        assert!(immutable_from_labels(
            &vals(&[], &[&["true"], &["True "]]),
            false,
            true
        ));
        assert!(!immutable_from_labels(
            &vals(&[], &[&["true"], &["false"]]),
            false,
            true
        ));
        assert!(!immutable_from_labels(&vals(&[], &[]), false, true));
    }
}
