//! Accounts: users, organizations and robots, which all live in Quay's `user` table.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::name::{NamespaceName, RobotName};

/// Primary key of a row of Quay's `user` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(pub i64);

/// What an account row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AccountKind {
    /// A person who logs in (`organization = false`, `robot = false`).
    User,
    /// An organization (`organization = true`).
    Organization,
    /// A robot account, named `namespace+shortname` (`robot = true`).
    Robot,
}

/// A stored password hash (bcrypt in Quay). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps an already computed hash.
    pub fn new(hash: String) -> Self {
        Self(hash)
    }

    /// The hash text, for the password hasher and the database only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// An e-mail address, checked by Quay's `validate_email` rule: at most 254 characters, exactly one
/// `@`, a non-empty local part and a domain of at least two non-empty dot-separated labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why an e-mail address was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    /// Parses an address.
    ///
    /// # Errors
    /// [`InvalidEmail`] when the address breaks Quay's rule.
    pub fn parse(s: &str) -> Result<Self, InvalidEmail> {
        if s.is_empty() || s.len() > 254 {
            return Err(InvalidEmail);
        }
        let mut parts = s.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidEmail);
        };
        let labels: Vec<&str> = domain.split('.').collect();
        if local.is_empty() || labels.len() < 2 || labels.iter().any(|l| l.is_empty()) {
            return Err(InvalidEmail);
        }
        Ok(Self(s.to_owned()))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A row of Quay's `user` table: a user, an organization or a robot.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    /// Primary key.
    pub id: UserId,
    /// Stable UUID (`user.uuid`); old rows may lack it.
    pub uuid: Option<String>,
    /// The stored username: a namespace name, or `namespace+short` for robots.
    pub username: String,
    /// E-mail address as stored (robots and some organizations hold a random UUID here).
    pub email: String,
    /// Password hash, when the account has a database password.
    pub password_hash: Option<PasswordHash>,
    /// User, organization or robot.
    pub kind: AccountKind,
    /// Whether the e-mail address was confirmed.
    pub verified: bool,
    /// Whether the account may log in and be used.
    pub enabled: bool,
    /// Failed logins since the last success.
    pub invalid_login_attempts: i32,
    /// Time of the last failed login (set at creation by Quay).
    pub last_invalid_login: DateTime<Utc>,
    /// How long deleted tags stay restorable, in seconds.
    pub removed_tag_expiration_s: i64,
    /// Cap on queued builds, when set.
    pub maximum_queued_builds_count: Option<i32>,
    /// Creation time; rows written by old Quay versions may lack it.
    pub creation_date: Option<DateTime<Utc>>,
    /// Last time the account was seen, when tracked.
    pub last_accessed: Option<DateTime<Utc>>,
}

impl Account {
    /// The account's namespace name, for users and organizations that satisfy the lookup rule.
    pub fn namespace_name(&self) -> Option<NamespaceName> {
        match self.kind {
            AccountKind::Robot => None,
            AccountKind::User | AccountKind::Organization => {
                NamespaceName::parse(&self.username).ok()
            }
        }
    }

    /// The robot's name, for robot accounts.
    pub fn robot_name(&self) -> Option<RobotName> {
        match self.kind {
            AccountKind::Robot => RobotName::parse(&self.username).ok(),
            AccountKind::User | AccountKind::Organization => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_rule() {
        for ok in ["a@b.c", "user1@example.com", "x.y@a.b.c"] {
            assert!(EmailAddress::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.c",
            "a@b..c",
            "a@@b.c",
            "a@b.c@d.e",
            "a@.c",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_hash_is_redacted() {
        let h = PasswordHash::new("$2b$12$secret".into());
        assert!(!format!("{h:?}").contains("secret"));
    }
}
