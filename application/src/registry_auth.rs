//! Registry authentication (`/v2`): issuing Quay's registry bearer tokens at `GET /v2/auth` and
//! checking them on every other `/v2` route.
//!
//! # For the content endpoints (blobs, manifests, tags, catalog, referrers)
//!
//! ```ignore
//! let origin = RequestOrigin { host: conn.host(), scheme: conn.scheme() };
//! let header = req.headers().get("Authorization").and_then(|v| v.to_str().ok());
//! let identity = match auth.authorize_bearer(header, &origin).await {
//!     Ok(identity) => identity,          // anonymous when no header was sent
//!     Err(RegistryAuthError::InvalidToken { message }) => {
//!         // Quay: 401, body `{"error": message}` (text/html), WWW-Authenticate with the scope.
//!     }
//!     Err(RegistryAuthError::Backend(_)) => { /* 500 */ }
//! };
//! if !identity.can("ns/repo", "pull") {
//!     // public repository and auth.anonymous_pull_allowed(): allowed (Quay's require_repo_read);
//!     // otherwise 401 UNAUTHORIZED with
//!     // auth.challenge(&origin, Some("ns/repo"), &["pull"]) in WWW-Authenticate.
//! }
//! ```
//!
//! Differences from Quay the content endpoints must cover:
//! - a `push` grant on a repository that does not exist means "may create it": Quay creates the
//!   repository (private unless `CREATE_PRIVATE_REPO_ON_PUSH` is false) and, with
//!   `CREATE_NAMESPACE_ON_PUSH`, the organization while issuing the token; here the first push
//!   creates them;
//! - tests of other crates get in-memory ports and the captures' accounts from `fakes`
//!   (feature `fakes`): `fakes::MemoryDirectory::capture_world()`.
//!
//! Invariants:
//! - tokens are verified with every approved, unexpired key of the `servicekey` table for
//!   `INSTANCE_SERVICE_KEY_SERVICE` (so Python Quay's tokens verify here and ours there); the
//!   key set is reloaded at most every [`keyring::REFRESH_INTERVAL_S`] seconds and, on an
//!   unknown `kid`, at most every [`keyring::UNKNOWN_KID_RETRY_S`] seconds;
//! - the audience is `SERVER_HOSTNAME`, or the request's `Host` when the hostname follows the
//!   request ([`RegistryHost::FromRequest`]);
//! - grants follow Quay's `identity_from_bearer_token`: `*` is admin, `push` write, `pull` read,
//!   and a stronger grant includes the weaker ones.

mod audit;
mod basic;
mod challenge;
#[cfg(any(test, feature = "fakes"))]
pub mod fakes;
mod identity;
mod issue;
pub mod keyring;
mod malformed;
#[cfg(test)]
mod tests;
mod tokens;

use std::sync::Arc;

use quay_ports::clock::Clock;
use quay_ports::crypto::{FieldCipher, PasswordHasher};
use quay_ports::store::{CredentialStore, PermissionStore, RepositoryStore, UserStore};

pub use identity::{EntityKind, RegistryIdentity};
pub use issue::{IssueError, IssuedToken, TokenRequest};
pub use keyring::{Keyring, SignerFactory};

/// Lifetime of issued registry tokens (Quay's `TOKEN_VALIDITY_LIFETIME_S`).
pub const TOKEN_LIFETIME_S: i64 = 3600;
/// Subject of anonymous tokens.
pub const ANONYMOUS_SUBJECT: &str = "(anonymous)";

/// Which hostname tokens and challenges use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistryHost {
    /// `SERVER_HOSTNAME` with `PREFERRED_URL_SCHEME`, as Quay.
    Configured {
        /// `SERVER_HOSTNAME` (`host[:port]`).
        hostname: String,
        /// `http` or `https`.
        scheme: String,
    },
    /// The request's `Host` and scheme (the mirror preset when no hostname was configured).
    FromRequest,
}

/// The request a check or challenge is for.
#[derive(Debug, Clone, Copy)]
pub struct RequestOrigin<'a> {
    /// The `Host` the client used (`host[:port]`).
    pub host: &'a str,
    /// `http` or `https`.
    pub scheme: &'a str,
}

/// Configuration of registry authentication (Quay's keys).
#[derive(Debug, Clone)]
pub struct RegistryAuthSettings {
    /// Hostname policy.
    pub host: RegistryHost,
    /// `LIBRARY_NAMESPACE`.
    pub library_namespace: String,
    /// `FEATURE_ANONYMOUS_ACCESS`.
    pub anonymous_access: bool,
    /// `FEATURE_SUPERUSERS_FULL_ACCESS`.
    pub superusers_full_access: bool,
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES`.
    pub extended_repository_names: bool,
    /// `FEATURE_APP_SPECIFIC_TOKENS`.
    pub app_specific_tokens: bool,
    /// `SUPER_USERS` (only with `FEATURE_SUPER_USERS`; empty otherwise).
    pub super_users: Vec<String>,
    /// `FEATURE_RESTRICTED_USERS`: restricted users cannot create repositories in their own
    /// namespace, nor organizations on push.
    pub restricted_users: bool,
    /// `RESTRICTED_USERS_WHITELIST`: users exempt from the restriction; `None` restricts all.
    pub restricted_users_whitelist: Option<Vec<String>>,
    /// `GLOBAL_READONLY_SUPER_USERS`.
    pub global_readonly_super_users: Vec<String>,
    /// `CREATE_NAMESPACE_ON_PUSH`.
    pub create_namespace_on_push: bool,
    /// `ROBOTS_DISALLOW`.
    pub robots_disallow: bool,
    /// `ROBOTS_WHITELIST`.
    pub robots_whitelist: Vec<String>,
    /// `FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH`: users must log in with an encrypted password.
    pub require_encrypted_basic_auth: bool,
    /// `REGISTRY_STATE: readonly`: no failed-login bookkeeping is written.
    pub read_only: bool,
    /// `ACTION_LOG_AUDIT_LOGINS` (Quay default: on): a `docker login` (a token without scopes)
    /// writes a `login_success` action log entry.
    pub audit_logins: bool,
    /// `FEATURE_ADVERTISE_V2`: `GET /v2/` answers 404 when off.
    pub advertise_v2: bool,
    /// `BLACKLIST_V2_SPEC` of the form `<X.Y.Z` (Quay's default `<1.6.0`): Docker clients below
    /// this version get 404 at `GET /v2/`. `None` blacklists nothing.
    pub v2_blacklist_below: Option<(u64, u64, u64)>,
}

impl RegistryAuthSettings {
    /// Quay's defaults for `host`.
    pub fn defaults(host: RegistryHost) -> Self {
        Self {
            host,
            library_namespace: "library".into(),
            anonymous_access: true,
            superusers_full_access: false,
            extended_repository_names: true,
            app_specific_tokens: true,
            super_users: Vec::new(),
            restricted_users: false,
            restricted_users_whitelist: None,
            global_readonly_super_users: Vec::new(),
            create_namespace_on_push: false,
            robots_disallow: false,
            robots_whitelist: Vec::new(),
            require_encrypted_basic_auth: false,
            read_only: false,
            audit_logins: true,
            advertise_v2: true,
            v2_blacklist_below: Some((1, 6, 0)),
        }
    }
}

/// The ports registry authentication uses.
#[derive(Clone)]
pub struct RegistryAuthPorts {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Repositories.
    pub repositories: Arc<dyn RepositoryStore>,
    /// Repository permissions.
    pub permissions: Arc<dyn PermissionStore>,
    /// Credentials and login bookkeeping.
    pub credentials: Arc<dyn CredentialStore>,
    /// bcrypt.
    pub hasher: Arc<dyn PasswordHasher>,
    /// Quay's field encryption (robot and app token secrets).
    pub cipher: Arc<dyn FieldCipher>,
    /// The action log (`login_success` entries); `None` writes none.
    pub audit: Option<Arc<dyn quay_ports::store::AuditLog>>,
    /// Quay's encrypted basic-auth passwords (keyed from `SECRET_KEY`).
    pub encrypted_passwords: Arc<dyn EncryptedPasswords>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

/// Quay's "encrypted passwords" (`util/security/aes.py`, generated in Quay's UI for
/// `docker login`): implemented by the crypto adapter.
pub trait EncryptedPasswords: Send + Sync {
    /// The password inside `text`, or `None` when `text` is not an encrypted password of this
    /// instance (then it is used as typed, unless encrypted passwords are required).
    fn decrypt(&self, text: &str) -> Option<secrecy::SecretString>;
}

/// Why a bearer token was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryAuthError {
    /// The `Authorization` header is not a valid registry token. Quay answers 401 with the body
    /// `{"error": message}` (`Content-Type: text/html; charset=utf-8`) and the challenge headers.
    #[error("invalid registry token: {message}")]
    InvalidToken {
        /// Quay's (PyJWT's) reason, e.g. `Invalid bearer token format`, `Signature has expired`.
        message: String,
    },
    /// Verification failed for an internal reason (crypto provider, key reload): answer 500.
    #[error("registry token check failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Registry authentication: token issuing (`/v2/auth`) and checking (every `/v2` route).
pub struct RegistryAuth {
    settings: RegistryAuthSettings,
    ports: RegistryAuthPorts,
    keyring: Arc<Keyring>,
}

impl std::fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryAuth")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RegistryAuth {
    /// Builds the service.
    pub fn new(
        settings: RegistryAuthSettings,
        ports: RegistryAuthPorts,
        keyring: Arc<Keyring>,
    ) -> Self {
        Self {
            settings,
            ports,
            keyring,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &RegistryAuthSettings {
        &self.settings
    }

    /// The hostname tokens are issued for and checked against: `SERVER_HOSTNAME`, or the
    /// request's host.
    pub fn hostname<'a>(&'a self, origin: &RequestOrigin<'a>) -> &'a str {
        match &self.settings.host {
            RegistryHost::Configured { hostname, .. } => hostname,
            RegistryHost::FromRequest => origin.host,
        }
    }

    /// Whether anonymous callers may pull public repositories (`FEATURE_ANONYMOUS_ACCESS`):
    /// Quay's `require_repo_read` lets a request without a grant through when the repository is
    /// public and this is on.
    pub fn anonymous_pull_allowed(&self) -> bool {
        self.settings.anonymous_access
    }

    /// The `WWW-Authenticate` value of a 401 (Quay's `get_auth_headers`):
    /// `Bearer realm="<scheme>://<host>/v2/auth",service="<host>"` plus
    /// `,scope="repository:<repository>:<actions joined by ,>"` when a repository is given
    /// (`:<actions>` only when `actions` is not empty).
    pub fn challenge(
        &self,
        origin: &RequestOrigin<'_>,
        repository: Option<&str>,
        actions: &[&str],
    ) -> String {
        let (host, scheme) = match &self.settings.host {
            RegistryHost::Configured { hostname, scheme } => (hostname.as_str(), scheme.as_str()),
            RegistryHost::FromRequest => (origin.host, origin.scheme),
        };
        challenge::bearer_challenge(scheme, host, repository, actions)
    }

    /// Checks the `Authorization` header of a `/v2` request (Quay's `process_registry_jwt_auth`).
    ///
    /// No header (or an empty one) gives the anonymous identity: it can do nothing by grant, and
    /// the caller decides about public repositories with [`Self::anonymous_pull_allowed`].
    ///
    /// # Errors
    /// [`RegistryAuthError::InvalidToken`] for anything but a valid token (Quay's 401);
    /// [`RegistryAuthError::Backend`] when the check could not be done.
    pub async fn authorize_bearer(
        &self,
        authorization_header: Option<&str>,
        origin: &RequestOrigin<'_>,
    ) -> Result<RegistryIdentity, RegistryAuthError> {
        let header = authorization_header.map(str::trim).unwrap_or_default();
        if header.is_empty() {
            return Ok(RegistryIdentity::anonymous(
                &self.settings.library_namespace,
            ));
        }
        let token =
            identity::bearer_token(header).ok_or_else(|| RegistryAuthError::InvalidToken {
                message: "Invalid bearer token format".into(),
            })?;
        let now = self.ports.clock.now().timestamp();
        let audience = self.hostname(origin);
        let verified = self
            .keyring
            .verify(token, audience, now)
            .await
            .map_err(|e| identity::refusal(token, e))?;
        RegistryIdentity::from_claims(&verified.claims, &self.settings.library_namespace)
    }

    /// Whether `GET /v2/` answers at all for this `User-Agent` (Quay's `FEATURE_ADVERTISE_V2`
    /// and `BLACKLIST_V2_SPEC` on the Docker version in the agent string).
    pub fn advertises_v2_to(&self, user_agent: &str) -> bool {
        if !self.settings.advertise_v2 {
            return false;
        }
        match (
            self.settings.v2_blacklist_below,
            challenge::docker_version(user_agent),
        ) {
            (Some(below), Some(version)) => version >= below,
            _ => true,
        }
    }

    /// Quay's `is_restricted_user` (robots count as their owner).
    pub fn is_restricted_user(&self, username: &str) -> bool {
        if !self.settings.restricted_users {
            return false;
        }
        let owner = username.split('+').next().unwrap_or_default();
        match &self.settings.restricted_users_whitelist {
            Some(allowed) => !allowed.iter().any(|u| u == owner),
            None => true,
        }
    }

    /// The keyring (signing and verification keys).
    pub fn keyring(&self) -> &Arc<Keyring> {
        &self.keyring
    }
}
