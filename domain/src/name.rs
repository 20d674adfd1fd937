//! Names of namespaces, robots, repositories and tags, parsed by Quay's rules.
//!
//! Invariants (Quay's `util/validation.py` and `util/names.py`):
//! - a *new* namespace name (user, organization, robot short name) matches
//!   `^[a-z0-9]+([._-][a-z0-9]+)*$` and is 2 to 255 characters long ([`NamespaceName::parse_new`]);
//! - a namespace name used to *look up* an existing namespace is 1 to 255 characters of
//!   `[a-z0-9._-]` ([`NamespaceName::parse`]), because older Quay versions and LDAP-generated
//!   names stored names that today's creation rule rejects;
//! - a repository name matches `^[a-z0-9][.a-z0-9_-]{0,254}$`, or with extended names enabled
//!   (`FEATURE_EXTENDED_REPOSITORY_NAMES`) `/`-separated components of that shape, 255 characters
//!   at most in total;
//! - a tag matches `^\w[\w.-]{0,127}$` over ASCII.

use std::fmt;

/// Why a name was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name is empty.
    #[error("{kind} name is empty")]
    Empty {
        /// What was being named.
        kind: &'static str,
    },
    /// The name is longer or shorter than allowed.
    #[error("{kind} name must be between {min} and {max} characters long")]
    Length {
        /// What was being named.
        kind: &'static str,
        /// Minimum length.
        min: usize,
        /// Maximum length.
        max: usize,
    },
    /// The name does not match the grammar.
    #[error("invalid {kind} name: must match {rule}")]
    Grammar {
        /// What was being named.
        kind: &'static str,
        /// The rule, as Quay states it.
        rule: &'static str,
    },
}

const NAMESPACE_RULE: &str = "^([a-z0-9]+(?:[._-][a-z0-9]+)*)$";
const REPOSITORY_RULE: &str = "^[a-z0-9][.a-z0-9_-]{0,254}$";
const REPOSITORY_EXTENDED_RULE: &str = "[a-z0-9][.a-z0-9_-]* components separated by '/'";
const TAG_RULE: &str = "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$";

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_name_char(c: char) -> bool {
    is_lower_alnum(c) || matches!(c, '.' | '_' | '-')
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl $name {
            /// The name as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The name as an owned string.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

/// The name of a namespace: a user or an organization (Quay's `user.username` of a non-robot).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespaceName(String);
string_newtype!(NamespaceName);

impl NamespaceName {
    /// Parses a name used to look up an existing namespace: 1 to 255 characters of `[a-z0-9._-]`.
    ///
    /// # Errors
    /// [`NameError`] when the name is empty, too long or has other characters.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let kind = "namespace";
        if s.is_empty() {
            return Err(NameError::Empty { kind });
        }
        if s.len() > 255 {
            return Err(NameError::Length {
                kind,
                min: 1,
                max: 255,
            });
        }
        if !s.chars().all(is_name_char) {
            return Err(NameError::Grammar {
                kind,
                rule: NAMESPACE_RULE,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// Parses the name of a namespace being created (Quay's `validate_username`).
    ///
    /// # Errors
    /// [`NameError`] when the name breaks `^([a-z0-9]+(?:[._-][a-z0-9]+)*)$` or is not 2 to 255
    /// characters long.
    pub fn parse_new(s: &str) -> Result<Self, NameError> {
        validate_new_name(s, "namespace")?;
        Ok(Self(s.to_owned()))
    }
}

fn validate_new_name(s: &str, kind: &'static str) -> Result<(), NameError> {
    if s.is_empty() {
        return Err(NameError::Empty { kind });
    }
    let mut prev_sep = true;
    for c in s.chars() {
        if is_lower_alnum(c) {
            prev_sep = false;
        } else if matches!(c, '.' | '_' | '-') && !prev_sep {
            prev_sep = true;
        } else {
            return Err(NameError::Grammar {
                kind,
                rule: NAMESPACE_RULE,
            });
        }
    }
    if prev_sep {
        return Err(NameError::Grammar {
            kind,
            rule: NAMESPACE_RULE,
        });
    }
    if !(2..=255).contains(&s.len()) {
        return Err(NameError::Length {
            kind,
            min: 2,
            max: 255,
        });
    }
    Ok(())
}

/// A robot account's full name, `namespace+shortname` (Quay's `format_robot_username`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RobotName {
    namespace: NamespaceName,
    short: String,
}

impl RobotName {
    /// Builds a robot name from its owner and a short name valid for creation.
    ///
    /// # Errors
    /// [`NameError`] when the short name breaks Quay's `validate_username` rule.
    pub fn new(namespace: NamespaceName, short: &str) -> Result<Self, NameError> {
        validate_new_name(short, "robot")?;
        Ok(Self {
            namespace,
            short: short.to_owned(),
        })
    }

    /// Parses `namespace+shortname`; the short name follows the lookup grammar of namespaces.
    ///
    /// # Errors
    /// [`NameError`] when there is no `+` or either part is invalid.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let kind = "robot";
        let (ns, short) = s.split_once('+').ok_or(NameError::Grammar {
            kind,
            rule: "namespace+shortname",
        })?;
        let namespace = NamespaceName::parse(ns)?;
        if short.is_empty() || !short.chars().all(is_name_char) {
            return Err(NameError::Grammar {
                kind,
                rule: "namespace+shortname",
            });
        }
        if s.len() > 255 {
            return Err(NameError::Length {
                kind,
                min: 3,
                max: 255,
            });
        }
        Ok(Self {
            namespace,
            short: short.to_owned(),
        })
    }

    /// The owning namespace.
    pub fn namespace(&self) -> &NamespaceName {
        &self.namespace
    }

    /// The short name after the `+`.
    pub fn short_name(&self) -> &str {
        &self.short
    }

    /// The full `namespace+shortname` username stored in Quay's `user` table.
    pub fn username(&self) -> String {
        format!("{}+{}", self.namespace, self.short)
    }
}

impl fmt::Display for RobotName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}+{}", self.namespace, self.short)
    }
}

/// Whether repository names may contain `/` (Quay's `FEATURE_EXTENDED_REPOSITORY_NAMES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepositoryNameRules {
    /// One component: `^[a-z0-9][.a-z0-9_-]{0,254}$`.
    Standard,
    /// `/`-separated components (Quay's default since 3.6).
    #[default]
    Extended,
}

/// The name of a repository within its namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryName(String);
string_newtype!(RepositoryName);

impl RepositoryName {
    /// Parses a repository name under the given rules.
    ///
    /// # Errors
    /// [`NameError`] when the name is empty, longer than 255 characters or breaks the grammar.
    pub fn parse(s: &str, rules: RepositoryNameRules) -> Result<Self, NameError> {
        let kind = "repository";
        if s.is_empty() {
            return Err(NameError::Empty { kind });
        }
        if s.len() > 255 {
            return Err(NameError::Length {
                kind,
                min: 1,
                max: 255,
            });
        }
        let component_ok = |c: &str| {
            let mut chars = c.chars();
            chars.next().is_some_and(is_lower_alnum) && chars.all(is_name_char)
        };
        let ok = match rules {
            RepositoryNameRules::Standard => component_ok(s),
            RepositoryNameRules::Extended => s.split('/').all(component_ok),
        };
        if !ok {
            let rule = match rules {
                RepositoryNameRules::Standard => REPOSITORY_RULE,
                RepositoryNameRules::Extended => REPOSITORY_EXTENDED_RULE,
            };
            return Err(NameError::Grammar { kind, rule });
        }
        Ok(Self(s.to_owned()))
    }
}

/// A tag name (Quay's `FULL_TAG_PATTERN`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagName(String);
string_newtype!(TagName);

impl TagName {
    /// Parses a tag name.
    ///
    /// # Errors
    /// [`NameError`] when the name is empty, longer than 128 characters or breaks
    /// `^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        let kind = "tag";
        let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
        let mut chars = s.chars();
        match chars.next() {
            None => return Err(NameError::Empty { kind }),
            Some(c) if !word(c) => {
                return Err(NameError::Grammar {
                    kind,
                    rule: TAG_RULE,
                });
            }
            Some(_) => {}
        }
        if !chars.all(|c| word(c) || c == '.' || c == '-') {
            return Err(NameError::Grammar {
                kind,
                rule: TAG_RULE,
            });
        }
        if s.len() > 128 {
            return Err(NameError::Length {
                kind,
                min: 1,
                max: 128,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// Wraps a tag name read from Quay's database without checking it.
    ///
    /// Quay stores internal tags such as `$temp-<uuid>` (hidden tags that keep a manifest alive
    /// during a push) which no client may create; these are still real rows.
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_creation_rule() {
        for ok in ["ab", "a1", "a.b", "a_b-c", "testorg", "0x"] {
            assert!(NamespaceName::parse_new(ok).is_ok(), "{ok}");
        }
        for bad in ["a", "", "A", "a..b", "-ab", "ab-", "a+b", "a/b", "a b", "é"] {
            assert!(NamespaceName::parse_new(bad).is_err(), "{bad}");
        }
        assert!(NamespaceName::parse_new(&"a".repeat(256)).is_err());
        assert!(NamespaceName::parse_new(&"a".repeat(255)).is_ok());
    }

    #[test]
    fn namespace_lookup_rule_is_lenient() {
        assert!(NamespaceName::parse("a-_b").is_ok());
        assert!(NamespaceName::parse("x").is_ok());
        assert!(NamespaceName::parse("a+b").is_err());
        assert!(NamespaceName::parse("A").is_err());
        assert!(NamespaceName::parse("").is_err());
    }

    #[test]
    fn robot_names() {
        let r = RobotName::parse("testorg+bot").expect("valid");
        assert_eq!(r.namespace().as_str(), "testorg");
        assert_eq!(r.short_name(), "bot");
        assert_eq!(r.username(), "testorg+bot");
        assert!(RobotName::parse("testorg").is_err());
        assert!(RobotName::parse("testorg+").is_err());
        assert!(RobotName::new(NamespaceName::parse("o").expect("valid"), "b").is_err());
    }

    #[test]
    fn repository_names() {
        use RepositoryNameRules::{Extended, Standard};
        for ok in ["hello", "a", "0.x_y-z", "conformance-xmount"] {
            assert!(RepositoryName::parse(ok, Standard).is_ok(), "{ok}");
        }
        for bad in ["", ".a", "_a", "A", "a/b", "a b"] {
            assert!(RepositoryName::parse(bad, Standard).is_err(), "{bad}");
        }
        assert!(RepositoryName::parse("a/b/c", Extended).is_ok());
        for bad in ["a//b", "/a", "a/", "a/.b"] {
            assert!(RepositoryName::parse(bad, Extended).is_err(), "{bad}");
        }
        assert!(RepositoryName::parse(&"a".repeat(255), Standard).is_ok());
        assert!(RepositoryName::parse(&"a".repeat(256), Extended).is_err());
    }

    #[test]
    fn tag_names() {
        for ok in ["latest", "v1.0", "_x", "A-b.C", &"a".repeat(128)] {
            assert!(TagName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".a", "-a", "a:b", "a/b", "ü", &"a".repeat(129)] {
            assert!(TagName::parse(bad).is_err(), "{bad}");
        }
    }
}
