//! The user store: accounts (users, organizations, robots) in Quay's `user` table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::name::{NamespaceName, RobotName};
use quay_domain::user::{Account, EmailAddress, PasswordHash, UserId};

use super::BackendError;

/// A database user to create, as Python Quay's `create_user` writes it.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// The username (checked with [`NamespaceName::parse_new`]).
    pub username: NamespaceName,
    /// The e-mail address.
    pub email: EmailAddress,
    /// The password hash, if the user has a database password.
    pub password_hash: Option<PasswordHash>,
    /// Whether the e-mail counts as confirmed (Quay's `auto_verify`).
    pub verified: bool,
    /// Seconds deleted tags stay restorable (`DEFAULT_TAG_EXPIRATION`, 1209600 by default).
    pub removed_tag_expiration_s: i64,
    /// `DEFAULT_NAMESPACE_MAXIMUM_BUILD_COUNT`, when configured.
    pub maximum_queued_builds_count: Option<i32>,
    /// Now, from the clock: stored as `creation_date` and `last_invalid_login`.
    pub created_at: DateTime<Utc>,
}

/// An organization to create, as Python Quay's `create_organization` writes it: the `user` row
/// with `organization = true`, an `owners` team with the `admin` team role, and the creating
/// user as its member.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    /// The organization name.
    pub name: NamespaceName,
    /// The e-mail address; `None` stores a fresh uuid4, as Quay does when none is given.
    pub email: Option<String>,
    /// The user who becomes a member of the `owners` team.
    pub creator: UserId,
    /// Refuse an e-mail address a non-organization account already has
    /// (`FEATURE_ORG_SHARED_EMAIL` off).
    pub email_must_be_unused: bool,
    /// Seconds deleted tags stay restorable (`DEFAULT_TAG_EXPIRATION`).
    pub removed_tag_expiration_s: i64,
    /// `DEFAULT_NAMESPACE_MAXIMUM_BUILD_COUNT`, when configured.
    pub maximum_queued_builds_count: Option<i32>,
    /// Now, from the clock: stored as `creation_date` and `last_invalid_login`.
    pub created_at: DateTime<Utc>,
}

/// Errors of [`UserStore`].
#[derive(Debug, thiserror::Error)]
pub enum UserStoreError {
    /// The username is taken by a user, organization or robot, or was used by a deleted
    /// namespace.
    #[error("username {0} is not available")]
    UsernameTaken(String),
    /// Another user (not organization) already has this e-mail address.
    #[error("e-mail address is already used")]
    EmailTaken,
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl UserStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
            Self::UsernameTaken(_) | Self::EmailTaken => false,
        }
    }
}

/// Accounts in Quay's `user` table.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Finds any account (user, organization or robot) by its stored username.
    ///
    /// # Errors
    /// [`UserStoreError::Backend`] when the database fails. An unknown name is `Ok(None)`.
    async fn find_by_username(&self, username: &str) -> Result<Option<Account>, UserStoreError>;

    /// Finds a user or organization (never a robot) by namespace name.
    ///
    /// # Errors
    /// [`UserStoreError::Backend`] when the database fails. An unknown name is `Ok(None)`.
    async fn find_namespace(&self, name: &NamespaceName)
    -> Result<Option<Account>, UserStoreError>;

    /// Finds a robot account by its `namespace+short` name.
    ///
    /// # Errors
    /// [`UserStoreError::Backend`] when the database fails. An unknown robot is `Ok(None)`.
    async fn find_robot(&self, name: &RobotName) -> Result<Option<Account>, UserStoreError>;

    /// Creates a database user, writing every column as Python Quay's `create_user` does, and
    /// returns it as stored. Reads after this use the primary.
    ///
    /// # Errors
    /// - [`UserStoreError::UsernameTaken`]: an account or deleted namespace holds the name;
    /// - [`UserStoreError::EmailTaken`]: a non-organization account holds the e-mail address;
    /// - [`UserStoreError::Backend`]: the database failed.
    async fn create_user(&self, user: NewUser) -> Result<Account, UserStoreError>;

    /// Creates an organization in one transaction as Python Quay's `create_organization` does
    /// (see [`NewOrganization`]) and returns it as stored.
    ///
    /// # Errors
    /// - [`UserStoreError::UsernameTaken`]: an account or deleted namespace holds the name;
    /// - [`UserStoreError::EmailTaken`]: the e-mail must be unused and a non-organization
    ///   account holds it;
    /// - [`UserStoreError::Backend`]: the database failed, or the `admin` team role is missing.
    async fn create_organization(&self, org: NewOrganization) -> Result<Account, UserStoreError>;

    /// Counts active users as Quay's `get_active_user_count`: not organizations, not robots,
    /// not deleted namespaces.
    ///
    /// # Errors
    /// [`UserStoreError::Backend`] when the database fails.
    async fn user_count(&self) -> Result<u64, UserStoreError>;
}
