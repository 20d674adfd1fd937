//! The credential store: what `/v2/auth` needs to check basic credentials and keep Quay's
//! bookkeeping — logins by name or e-mail, failed-login backoff columns of `user`, robot tokens
//! (`robotaccounttoken`), app-specific tokens (`appspecificauthtoken`), and the team roles that
//! give namespace-wide rights.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::permission::{Role, TeamRole};
use quay_domain::repository::RepositoryId;
use quay_domain::user::{Account, UserId};

use super::BackendError;

/// An app-specific token as stored (`appspecificauthtoken`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppSpecificToken {
    /// Primary key.
    pub id: i64,
    /// `uuid`, the token's reference in signed contexts.
    pub uuid: String,
    /// Owner.
    pub user_id: UserId,
    /// Human title.
    pub title: String,
    /// `token_name`: the first 60 characters of the token.
    pub token_name: String,
    /// `token_secret`: the rest, encrypted with Quay's field encryption (`v0$$…`).
    pub encrypted_secret: String,
    /// Expiry, if any.
    pub expiration: Option<DateTime<Utc>>,
}

/// A repository access token as stored (`accesstoken`, Quay's legacy `$token` credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryAccessToken {
    /// Primary key.
    pub id: i64,
    /// The one repository it grants on.
    pub repository_id: RepositoryId,
    /// The role it grants there.
    pub role: Role,
    /// `token_name`: the first 32 characters of the code.
    pub token_name: String,
    /// `token_code`: the rest, encrypted with Quay's field encryption (`v0$$…`).
    pub encrypted_code: String,
}

/// An OAuth access token as stored (`oauthaccesstoken`, `$oauthtoken` credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthAccessToken {
    /// Primary key.
    pub id: i64,
    /// `uuid`, the token's reference in signed contexts.
    pub uuid: String,
    /// The user the token acts for.
    pub authorized_user: UserId,
    /// Granted scopes, space (or comma) separated, e.g. `repo:read repo:write`.
    pub scope: String,
    /// Expiry.
    pub expires_at: DateTime<Utc>,
    /// `token_name`: the first 20 characters of the token.
    pub token_name: String,
    /// `token_code`: bcrypt hash of the rest.
    pub code_hash: String,
}

/// Errors of [`CredentialStore`].
#[derive(Debug, thiserror::Error)]
pub enum CredentialStoreError {
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl CredentialStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
        }
    }
}

/// Credentials and login bookkeeping.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Finds the account a login names: the account whose username is `name`, or the
    /// non-organization account whose e-mail is `name` (Quay's `verify_user` lookup). Reads the
    /// primary, since the backoff columns must be current.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails. No match is `Ok(None)`.
    async fn find_login_account(&self, name: &str)
    -> Result<Option<Account>, CredentialStoreError>;

    /// Finds an account by primary key.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails. No match is `Ok(None)`.
    async fn find_account(&self, id: UserId) -> Result<Option<Account>, CredentialStoreError>;

    /// Counts a failed login: `invalid_login_attempts + 1` and `last_invalid_login = at`, in one
    /// statement (Quay's update).
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails (a read-only database included).
    async fn record_failed_login(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;

    /// After a successful login that followed failures: `invalid_login_attempts = 0` and
    /// `last_accessed = at`.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails.
    async fn clear_failed_logins(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;

    /// Sets `last_accessed = at` (Quay's `update_last_accessed`, used for robots).
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails.
    async fn touch_account(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;

    /// The encrypted token of a robot (`robotaccounttoken.token`), if it has one.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails.
    async fn robot_token(&self, robot: UserId) -> Result<Option<String>, CredentialStoreError>;

    /// The roles of `account`'s teams in organization `namespace` (empty for a user namespace).
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails or holds an unknown role.
    async fn namespace_team_roles(
        &self,
        account: UserId,
        namespace: UserId,
    ) -> Result<Vec<TeamRole>, CredentialStoreError>;

    /// The app-specific token named `token_name` that has not expired at `now`.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails. No match is `Ok(None)`.
    async fn find_app_token(
        &self,
        token_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AppSpecificToken>, CredentialStoreError>;

    /// Sets an app-specific token's `last_accessed = at`.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails.
    async fn touch_app_token(&self, id: i64, at: DateTime<Utc>)
    -> Result<(), CredentialStoreError>;

    /// The repository access token named `token_name` (any age: Quay does not expire them).
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails or holds an unknown role. No
    /// match is `Ok(None)`.
    async fn find_access_token(
        &self,
        token_name: &str,
    ) -> Result<Option<RepositoryAccessToken>, CredentialStoreError>;

    /// The OAuth access token named `token_name`, expired or not (the caller checks).
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails. No match is `Ok(None)`.
    async fn find_oauth_token(
        &self,
        token_name: &str,
    ) -> Result<Option<OAuthAccessToken>, CredentialStoreError>;

    /// Sets an OAuth token's `last_accessed = at`.
    ///
    /// # Errors
    /// [`CredentialStoreError::Backend`] when the database fails.
    async fn touch_oauth_token(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError>;
}
