//! In-memory fakes for registry authentication tests (feature `fakes`): one [`MemoryDirectory`]
//! implementing every store the service reads, a settable clock, a stand-in field cipher and
//! token signer (not cryptography: for tests that exercise rules, not wire formats).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::name::{NamespaceName, RepositoryName, RepositoryNameRules, RobotName};
use quay_domain::permission::{RepositoryGrants, Role, TeamRole};
use quay_domain::repository::{
    Repository, RepositoryId, RepositoryKind, RepositoryState, Visibility,
};
use quay_domain::user::{Account, AccountKind, PasswordHash, UserId};
use quay_ports::clock::Clock;
use quay_ports::crypto::{
    FieldCipher, FieldCipherError, JsonValue, PasswordHashError, PasswordHasher,
    RegistryTokenRequest, TokenError, TokenSigner, VerifiedToken,
};
use quay_ports::store::{
    AppSpecificToken, Consistency, CredentialStore, CredentialStoreError, NewOrganization, NewUser,
    OAuthAccessToken, Page, PageRequest, PermissionStore, PermissionStoreError,
    RepositoryAccessToken, RepositoryStore, RepositoryStoreError, ServiceKey, ServiceKeyStore,
    ServiceKeyStoreError, UserStore, UserStoreError,
};
use secrecy::{ExposeSecret as _, SecretString};

use super::keyring::SignerFactory;

/// `admin`'s UUID in the captures.
pub const ADMIN_UUID: &str = "6e91a6aa-f79c-4698-918f-a4d280aeee86";
/// `user1`'s UUID in the captures.
pub const USER1_UUID: &str = "ff9bfa0c-cf2c-46e9-abd9-6712df724c5d";

/// Everything the stores hold.
#[derive(Debug, Default)]
pub struct Directory {
    /// Accounts.
    pub accounts: Vec<Account>,
    /// Repositories.
    pub repositories: Vec<Repository>,
    /// Permission rows per (account, repository).
    pub grants: HashMap<(UserId, RepositoryId), RepositoryGrants>,
    /// Team roles per (account, organization).
    pub team_roles: HashMap<(UserId, UserId), Vec<TeamRole>>,
    /// Encrypted robot tokens.
    pub robot_tokens: HashMap<UserId, String>,
    /// App-specific tokens.
    pub app_tokens: Vec<AppSpecificToken>,
    /// Service keys (all approved).
    pub service_keys: Vec<ServiceKey>,
    /// Repository access tokens (`$token`).
    pub access_tokens: Vec<RepositoryAccessToken>,
    /// OAuth access tokens (`$oauthtoken`).
    pub oauth_tokens: Vec<OAuthAccessToken>,
    /// Mirror robots per repository, with the state whose configuration names them (`MIRROR`:
    /// `repomirrorconfig`, `ORG_MIRROR`: `orgmirrorconfig`).
    pub mirror_robots: HashMap<RepositoryId, (RepositoryState, UserId)>,
}

/// A shared in-memory [`Directory`].
#[derive(Debug, Default, Clone)]
pub struct MemoryDirectory(pub Arc<Mutex<Directory>>);

impl MemoryDirectory {
    fn with<R>(&self, f: impl FnOnce(&mut Directory) -> R) -> R {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    /// Adds an account; `password_hash` is stored as given.
    pub fn add_account(
        &self,
        id: i64,
        username: &str,
        kind: AccountKind,
        password_hash: Option<&str>,
    ) -> Account {
        let t = DateTime::from_timestamp(0, 0).unwrap_or_default();
        let account = Account {
            id: UserId(id),
            uuid: Some(format!("uuid-{username}")),
            username: username.to_owned(),
            email: format!("{}@example.com", username.replace('+', ".")),
            password_hash: password_hash.map(|h| PasswordHash::new(h.to_owned())),
            kind,
            verified: true,
            enabled: true,
            invalid_login_attempts: 0,
            last_invalid_login: t,
            removed_tag_expiration_s: 1_209_600,
            maximum_queued_builds_count: None,
            creation_date: None,
            last_accessed: None,
        };
        self.with(|d| d.accounts.push(account.clone()));
        account
    }

    /// The account named `username`, as stored now.
    pub fn account(&self, username: &str) -> Option<Account> {
        self.with(|d| d.accounts.iter().find(|a| a.username == username).cloned())
    }

    /// Changes an account in place.
    pub fn update_account(&self, username: &str, f: impl FnOnce(&mut Account)) {
        self.with(|d| {
            if let Some(a) = d.accounts.iter_mut().find(|a| a.username == username) {
                f(a);
            }
        });
    }

    /// Mutates the directory.
    pub fn edit(&self, f: impl FnOnce(&mut Directory)) {
        self.with(f);
    }

    /// The world of the contract captures (`contract/registry/v2_*.json`), passwords
    /// `plain:password` (see [`PlainHasher`]): `admin` (owns public `admin/publicrepo`, admin
    /// team of `testorg`), `user1`, `builder` (creator team of `testorg`), organization
    /// `testorg` with private `hello` and `robotrepo`, robot `testorg+bot` (token
    /// `ROBOTTOKEN`, read on `robotrepo`), an app-specific token of `user1`
    /// (`"N" * 60 + "S" * 60`), a `$token` with write on `testorg/hello` (`"T" * 32 + "C" * 32`),
    /// and an OAuth token of `admin` with scope `repo:read` (`"O" * 20 + "P" * 20`).
    pub fn capture_world() -> Self {
        let dir = Self::default();
        let admin = dir.add_account(1, "admin", AccountKind::User, Some("plain:password"));
        let user1 = dir.add_account(2, "user1", AccountKind::User, Some("plain:password"));
        let org = dir.add_account(3, "testorg", AccountKind::Organization, None);
        let bot = dir.add_account(4, "testorg+bot", AccountKind::Robot, None);
        let builder = dir.add_account(5, "builder", AccountKind::User, Some("plain:password"));
        // The UUIDs Python Quay gave these users in the captures.
        dir.update_account("admin", |a| a.uuid = Some(ADMIN_UUID.into()));
        dir.update_account("user1", |a| a.uuid = Some(USER1_UUID.into()));
        dir.edit(|d| {
            d.repositories
                .push(repo(10, (1, "admin"), "publicrepo", Visibility::Public));
            d.repositories
                .push(repo(11, (3, "testorg"), "hello", Visibility::Private));
            d.repositories
                .push(repo(12, (3, "testorg"), "robotrepo", Visibility::Private));
            d.team_roles
                .insert((admin.id, org.id), vec![TeamRole::Admin]);
            d.team_roles
                .insert((builder.id, org.id), vec![TeamRole::Creator]);
            d.grants.insert(
                (bot.id, RepositoryId(12)),
                RepositoryGrants {
                    repository_roles: vec![Role::Read],
                    org_team_roles: vec![],
                },
            );
            for repository in [11, 12] {
                d.grants.insert(
                    (admin.id, RepositoryId(repository)),
                    RepositoryGrants {
                        repository_roles: vec![],
                        org_team_roles: vec![TeamRole::Admin],
                    },
                );
            }
            d.robot_tokens.insert(bot.id, "v0$$ROBOTTOKEN".into());
            d.access_tokens.push(RepositoryAccessToken {
                id: 1,
                repository_id: RepositoryId(11),
                role: Role::Write,
                token_name: "T".repeat(32),
                encrypted_code: format!("v0$${}", "C".repeat(32)),
            });
            d.oauth_tokens.push(OAuthAccessToken {
                id: 1,
                uuid: "oauth-uuid".into(),
                authorized_user: admin.id,
                scope: "repo:read".into(),
                expires_at: DateTime::from_timestamp(4_000_000_000, 0).unwrap_or_default(),
                token_name: "O".repeat(20),
                code_hash: format!("plain:{}", "P".repeat(20)),
            });
            d.app_tokens.push(AppSpecificToken {
                id: 1,
                uuid: "app-uuid".into(),
                user_id: user1.id,
                title: "ci".into(),
                token_name: "N".repeat(60),
                encrypted_secret: format!("v0$${}", "S".repeat(60)),
                expiration: None,
            });
        });
        dir
    }
}

fn repo(id: i64, ns: (i64, &str), name: &str, visibility: Visibility) -> Repository {
    Repository {
        id: RepositoryId(id),
        namespace_id: UserId(ns.0),
        namespace: NamespaceName::parse(ns.1)
            .unwrap_or_else(|_| unreachable!("fixed names are valid")),
        name: RepositoryName::parse(name, RepositoryNameRules::Extended)
            .unwrap_or_else(|_| unreachable!("fixed names are valid")),
        visibility,
        kind: RepositoryKind::Image,
        state: RepositoryState::Normal,
        description: None,
        trust_enabled: false,
    }
}

#[async_trait]
impl UserStore for MemoryDirectory {
    async fn find_by_username(&self, username: &str) -> Result<Option<Account>, UserStoreError> {
        Ok(self.account(username))
    }

    async fn find_namespace(
        &self,
        name: &NamespaceName,
    ) -> Result<Option<Account>, UserStoreError> {
        Ok(self
            .account(name.as_str())
            .filter(|a| a.kind != AccountKind::Robot))
    }

    async fn find_robot(&self, name: &RobotName) -> Result<Option<Account>, UserStoreError> {
        Ok(self
            .account(&name.username())
            .filter(|a| a.kind == AccountKind::Robot))
    }

    async fn create_user(&self, user: NewUser) -> Result<Account, UserStoreError> {
        let id = self.with(|d| d.accounts.len() as i64 + 1000);
        let hash = user.password_hash.as_ref().map(|h| h.expose().to_owned());
        Ok(self.add_account(
            id,
            user.username.as_str(),
            AccountKind::User,
            hash.as_deref(),
        ))
    }

    async fn create_organization(&self, org: NewOrganization) -> Result<Account, UserStoreError> {
        if self.account(org.name.as_str()).is_some() {
            return Err(UserStoreError::UsernameTaken(org.name.as_str().to_owned()));
        }
        let id = self.with(|d| d.accounts.len() as i64 + 1000);
        Ok(self.add_account(id, org.name.as_str(), AccountKind::Organization, None))
    }

    async fn user_count(&self) -> Result<u64, UserStoreError> {
        Ok(self.with(|d| {
            d.accounts
                .iter()
                .filter(|a| a.kind == AccountKind::User)
                .count() as u64
        }))
    }
}

#[async_trait]
impl RepositoryStore for MemoryDirectory {
    async fn find_repository(
        &self,
        namespace: &NamespaceName,
        name: &RepositoryName,
    ) -> Result<Option<Repository>, RepositoryStoreError> {
        Ok(self.with(|d| {
            d.repositories
                .iter()
                .find(|r| r.namespace == *namespace && r.name == *name)
                .cloned()
        }))
    }

    async fn list_repositories(
        &self,
        namespace: &NamespaceName,
        _page: PageRequest,
    ) -> Result<Page<Repository>, RepositoryStoreError> {
        let items = self.with(|d| {
            d.repositories
                .iter()
                .filter(|r| r.namespace == *namespace)
                .cloned()
                .collect()
        });
        Ok(Page { items, next: None })
    }

    async fn mirror_robot(
        &self,
        repository: RepositoryId,
        state: RepositoryState,
    ) -> Result<Option<UserId>, RepositoryStoreError> {
        Ok(self.with(|d| {
            d.mirror_robots
                .get(&repository)
                .filter(|(s, _)| *s == state)
                .map(|(_, robot)| *robot)
        }))
    }
}

#[async_trait]
impl PermissionStore for MemoryDirectory {
    async fn repository_grants(
        &self,
        account: UserId,
        repository: RepositoryId,
        _consistency: Consistency,
    ) -> Result<RepositoryGrants, PermissionStoreError> {
        Ok(self.with(|d| {
            d.grants
                .get(&(account, repository))
                .cloned()
                .unwrap_or_default()
        }))
    }
}

#[async_trait]
impl CredentialStore for MemoryDirectory {
    async fn find_login_account(
        &self,
        name: &str,
    ) -> Result<Option<Account>, CredentialStoreError> {
        Ok(self.with(|d| {
            d.accounts
                .iter()
                .find(|a| {
                    a.username == name || (a.email == name && a.kind != AccountKind::Organization)
                })
                .cloned()
        }))
    }

    async fn find_account(&self, id: UserId) -> Result<Option<Account>, CredentialStoreError> {
        Ok(self.with(|d| d.accounts.iter().find(|a| a.id == id).cloned()))
    }

    async fn record_failed_login(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        self.with(|d| {
            if let Some(a) = d.accounts.iter_mut().find(|a| a.id == user) {
                a.invalid_login_attempts += 1;
                a.last_invalid_login = at;
            }
        });
        Ok(())
    }

    async fn clear_failed_logins(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        self.with(|d| {
            if let Some(a) = d.accounts.iter_mut().find(|a| a.id == user) {
                a.invalid_login_attempts = 0;
                a.last_accessed = Some(at);
            }
        });
        Ok(())
    }

    async fn touch_account(
        &self,
        user: UserId,
        at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        self.with(|d| {
            if let Some(a) = d.accounts.iter_mut().find(|a| a.id == user) {
                a.last_accessed = Some(at);
            }
        });
        Ok(())
    }

    async fn robot_token(&self, robot: UserId) -> Result<Option<String>, CredentialStoreError> {
        Ok(self.with(|d| d.robot_tokens.get(&robot).cloned()))
    }

    async fn namespace_team_roles(
        &self,
        account: UserId,
        namespace: UserId,
    ) -> Result<Vec<TeamRole>, CredentialStoreError> {
        Ok(self.with(|d| {
            d.team_roles
                .get(&(account, namespace))
                .cloned()
                .unwrap_or_default()
        }))
    }

    async fn find_app_token(
        &self,
        token_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AppSpecificToken>, CredentialStoreError> {
        Ok(self.with(|d| {
            d.app_tokens
                .iter()
                .find(|t| t.token_name == token_name && t.expiration.is_none_or(|e| e > now))
                .cloned()
        }))
    }

    async fn touch_app_token(
        &self,
        _id: i64,
        _at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        Ok(())
    }

    async fn find_access_token(
        &self,
        token_name: &str,
    ) -> Result<Option<RepositoryAccessToken>, CredentialStoreError> {
        Ok(self.with(|d| {
            d.access_tokens
                .iter()
                .find(|t| t.token_name == token_name)
                .cloned()
        }))
    }

    async fn find_oauth_token(
        &self,
        token_name: &str,
    ) -> Result<Option<OAuthAccessToken>, CredentialStoreError> {
        Ok(self.with(|d| {
            d.oauth_tokens
                .iter()
                .find(|t| t.token_name == token_name)
                .cloned()
        }))
    }

    async fn touch_oauth_token(
        &self,
        _id: i64,
        _at: DateTime<Utc>,
    ) -> Result<(), CredentialStoreError> {
        Ok(())
    }
}

#[async_trait]
impl ServiceKeyStore for MemoryDirectory {
    async fn list_approved_keys(
        &self,
        service: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceKey>, ServiceKeyStoreError> {
        Ok(self.with(|d| {
            d.service_keys
                .iter()
                .filter(|k| k.service == service && k.expiration_date.is_none_or(|e| e > now))
                .cloned()
                .collect()
        }))
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock reading `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self(Mutex::new(now))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        match self.0.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        }
    }
}

/// "Hashes" passwords as `plain:<password>` (tests only).
#[derive(Debug, Default)]
pub struct PlainHasher;

impl PasswordHasher for PlainHasher {
    fn hash(&self, password: &SecretString) -> Result<String, PasswordHashError> {
        Ok(format!("plain:{}", password.expose_secret()))
    }

    fn verify(&self, password: &SecretString, hash: &str) -> Result<bool, PasswordHashError> {
        Ok(hash.strip_prefix("plain:") == Some(password.expose_secret()))
    }
}

/// "Encrypts" as `v0$$<plaintext>` (tests only).
#[derive(Debug, Default)]
pub struct PlainCipher;

impl FieldCipher for PlainCipher {
    fn encrypt(
        &self,
        plaintext: &SecretString,
        _max: Option<usize>,
    ) -> Result<String, FieldCipherError> {
        Ok(format!("v0$${}", plaintext.expose_secret()))
    }

    fn decrypt(&self, stored: &str) -> Result<SecretString, FieldCipherError> {
        stored
            .strip_prefix("v0$$")
            .map(|s| SecretString::from(s.to_owned()))
            .ok_or(FieldCipherError::UnknownVersion)
    }
}

/// A token "signer" keeping issued claims in memory, keyed by an opaque `kid.n.sig` string.
#[derive(Debug, Default)]
pub struct MemorySigner {
    issued: Mutex<Vec<(String, JsonValue)>>,
}

impl MemorySigner {
    /// The claims of an issued token.
    pub fn claims(&self, token: &str) -> Option<JsonValue> {
        let guard = match self.issued.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        guard
            .iter()
            .find(|(t, _)| t == token)
            .map(|(_, c)| c.clone())
    }
}

impl TokenSigner for MemorySigner {
    fn sign(&self, request: &RegistryTokenRequest, now: i64) -> Result<String, TokenError> {
        let claims = JsonValue::object([
            ("aud", JsonValue::str(request.audience.clone())),
            ("exp", JsonValue::Int(now + request.lifetime_s)),
            ("sub", JsonValue::str(request.subject.clone())),
            ("access", request.access.clone()),
            ("context", request.context.clone()),
        ]);
        let mut guard = match self.issued.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let token = format!("fake.{}.sig", guard.len());
        guard.push((token.clone(), claims));
        Ok(token)
    }

    fn verify(&self, token: &str, audience: &str, now: i64) -> Result<VerifiedToken, TokenError> {
        let claims = self.claims(token).ok_or(TokenError::UnknownKid)?;
        if claims.get("aud").and_then(JsonValue::as_str) != Some(audience) {
            return Err(TokenError::BadAudience);
        }
        if claims
            .get("exp")
            .and_then(JsonValue::as_i64)
            .is_some_and(|e| e <= now)
        {
            return Err(TokenError::Expired);
        }
        Ok(VerifiedToken {
            kid: "fake".into(),
            claims,
        })
    }
}

/// Always hands out the same signer.
#[derive(Clone)]
pub struct FixedSigner(pub Arc<dyn TokenSigner>);

impl std::fmt::Debug for FixedSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FixedSigner")
    }
}

impl SignerFactory for FixedSigner {
    fn build(&self, _keys: &[ServiceKey]) -> Result<Arc<dyn TokenSigner>, TokenError> {
        Ok(self.0.clone())
    }
}

/// Encrypted passwords of the form `enc:<password>` (tests only).
#[derive(Debug, Default)]
pub struct PrefixPasswords;

impl super::EncryptedPasswords for PrefixPasswords {
    fn decrypt(&self, text: &str) -> Option<SecretString> {
        text.strip_prefix("enc:")
            .map(|p| SecretString::from(p.to_owned()))
    }
}

/// An action log keeping entries in memory.
#[derive(Debug, Default)]
pub struct MemoryAudit(pub Mutex<Vec<quay_ports::store::AuditEntry>>);

#[async_trait]
impl quay_ports::store::AuditLog for MemoryAudit {
    async fn log_action(
        &self,
        entry: &quay_ports::store::AuditEntry,
    ) -> Result<(), quay_ports::store::AuditLogError> {
        match self.0.lock() {
            Ok(mut g) => g.push(entry.clone()),
            Err(p) => p.into_inner().push(entry.clone()),
        }
        Ok(())
    }
}
