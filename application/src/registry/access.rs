//! Access to a repository, as Quay's `require_repo_read` / `require_repo_write` decide it, and
//! repository creation on push.
//!
//! Rules:
//! - read: the token grants `pull` on the repository, or the repository is public and anonymous
//!   access is on; otherwise `UNAUTHORIZED` 401 (checked before existence, so a caller without a
//!   grant cannot probe names);
//! - write: the token grants `push`; otherwise 401;
//! - a granted repository that does not exist is `NAME_UNKNOWN` 404 for reads; for writes it is
//!   created, because Quay's token endpoint creates it when it grants `push` on a missing
//!   repository (`CREATE_PRIVATE_REPO_ON_PUSH` picks the visibility; the creating account gets
//!   `admin` unless it is an organization); a missing namespace is created as an organization
//!   owned by the pushing user when `CREATE_NAMESPACE_ON_PUSH` is on, otherwise `NAME_UNKNOWN`;
//! - repositories marked for deletion are unknown; non-image repositories are `UNSUPPORTED` 405;
//! - writes of a read-only registry are `DENIED` 405 (`is_readonly`), with `DISABLE_PUSHES`
//!   `METHOD NOT ALLOWED` 405, both only for callers who could otherwise push.
//!
//! The repository of a pull the token grants, and the performer of its action log entry, come
//! from a cache of at most [`RegistrySettings::lookup_cache_ttl`](super::RegistrySettings)
//! (as Quay caches repository lookups); a pull relying on public visibility and a push always
//! read the repository afresh, and a push makes the next pull do so too.

use quay_domain::name::NamespaceName;
use quay_domain::reference::RepositoryPath;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::repository::{Repository, RepositoryKind, RepositoryState, Visibility};
use quay_domain::user::{Account, AccountKind, EmailAddress};
use quay_ports::store::{NewOrganization, NewRepository, UserStoreError};

use super::lookup_cache::TtlCache;
use super::{Caller, Registry, RegistryFailure};

/// The pull-side lookups [`Registry`] caches briefly ([`super::lookup_cache`]).
#[derive(Debug)]
pub(crate) struct PullLookups {
    /// `namespace/name` → repository found for a pull.
    repositories: TtlCache<Repository>,
    /// Username → the performer of a pull.
    performers: TtlCache<Account>,
}

impl PullLookups {
    /// Empty caches whose entries live `ttl` (`repository_lookup_cache_ttl`).
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            repositories: TtlCache::new(ttl),
            performers: TtlCache::new(ttl),
        }
    }
}

/// What the caller needs on the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    Pull,
    Push,
}

impl Registry {
    /// Checks access and returns the repository (creating it for a push when missing).
    pub(crate) async fn repository_for(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        need: Need,
    ) -> Result<Repository, RegistryFailure> {
        let full = path.full_name();
        if need == Need::Push {
            // Quay's `check_readonly` and `check_pushes_disabled`, after the permission check.
            let blocked = if self.settings.read_only {
                Some(ErrorKind::ReadOnlyMode)
            } else if self.settings.pushes_disabled {
                Some(ErrorKind::PushesDisabled)
            } else {
                None
            };
            if let Some(kind) = blocked {
                return Err(if caller.identity.can(&full, "push") {
                    RegistryFailure::kind(kind)
                } else {
                    RegistryFailure::kind(ErrorKind::Unauthorized)
                });
            }
        }
        let granted = match need {
            Need::Pull => caller.identity.can(&full, "pull"),
            Need::Push => caller.identity.can(&full, "push"),
        };
        let found = match need {
            // A granted pull does not depend on the visibility: a recent lookup serves.
            Need::Pull if granted => self.pulled_repository(path, &full).await?,
            Need::Pull => self.find_repository(path).await?,
            Need::Push => {
                // A push reads afresh, and so does the next pull (the push may create the
                // repository, or find it changed).
                self.lookups.repositories.forget(&full);
                self.find_repository(path).await?
            }
        };
        if !granted {
            let public_read = need == Need::Pull
                && self.settings.anonymous_access
                && found
                    .as_ref()
                    .is_some_and(|r| r.visibility == Visibility::Public);
            if !public_read {
                return Err(RegistryFailure::kind(ErrorKind::Unauthorized));
            }
        }
        let repo = match (found, need) {
            (Some(r), _) => r,
            (None, Need::Pull) => {
                return Err(RegistryError::new(ErrorKind::NameUnknown)
                    .with_message("repository not found")
                    .into());
            }
            (None, Need::Push) => self.create_on_push(caller, path).await?,
        };
        if repo.kind != RepositoryKind::Image {
            return Err(RegistryError::new(ErrorKind::Unsupported)
                .with_detail(serde_json::Value::String(
                    "Cannot access non-image repository".into(),
                ))
                .into());
        }
        Ok(repo)
    }

    async fn find_repository(
        &self,
        path: &RepositoryPath,
    ) -> Result<Option<Repository>, RegistryFailure> {
        Ok(self
            .ports
            .repositories
            .find_repository(&path.namespace, &path.repository)
            .await
            .map_err(|e| RegistryFailure::internal("looking up a repository", e))?
            .filter(|r| r.state != RepositoryState::MarkedForDeletion))
    }

    /// The repository a pull reads, from the short-lived cache when it was found recently
    /// ([`super::lookup_cache`]; misses are never cached).
    async fn pulled_repository(
        &self,
        path: &RepositoryPath,
        full: &str,
    ) -> Result<Option<Repository>, RegistryFailure> {
        let now = self.now();
        if let Some(repo) = self.lookups.repositories.get(full, now) {
            return Ok(Some(repo));
        }
        let found = self.find_repository(path).await?;
        if let Some(repo) = &found {
            self.lookups.repositories.put(full, repo.clone(), now);
        }
        Ok(found)
    }

    /// The performer of a pull's action log entry: [`Self::performer`], from the short-lived
    /// cache when it was found recently (misses are never cached).
    pub(crate) async fn pull_performer(
        &self,
        caller: &Caller,
    ) -> Result<Option<Account>, RegistryFailure> {
        let Some(subject) = caller.identity.subject.as_deref() else {
            return Ok(None);
        };
        let now = self.now();
        if let Some(account) = self.lookups.performers.get(subject, now) {
            return Ok(Some(account));
        }
        let found = self.performer(caller).await?;
        if let Some(account) = &found {
            self.lookups.performers.put(subject, account.clone(), now);
        }
        Ok(found)
    }

    /// The account behind the caller's token, if any.
    pub(crate) async fn performer(
        &self,
        caller: &Caller,
    ) -> Result<Option<Account>, RegistryFailure> {
        let Some(subject) = caller.identity.subject.as_deref() else {
            return Ok(None);
        };
        self.ports
            .users
            .find_by_username(subject)
            .await
            .map_err(|e| RegistryFailure::internal("looking up the performer", e))
    }

    async fn create_on_push(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
    ) -> Result<Repository, RegistryFailure> {
        let performer = self.performer(caller).await?;
        let found = self
            .ports
            .users
            .find_namespace(&path.namespace)
            .await
            .map_err(|e| RegistryFailure::internal("looking up a namespace", e))?;
        let namespace = match found {
            Some(n) => n,
            None => self.create_namespace(path, performer.as_ref()).await?,
        };
        let admin = performer
            .as_ref()
            .filter(|a| a.kind != AccountKind::Organization)
            .map(|a| a.id);
        let visibility = if self.settings.create_private_repo_on_push {
            "private"
        } else {
            "public"
        };
        let new = NewRepository {
            namespace_id: namespace.id,
            namespace: path.namespace.clone(),
            name: path.repository.clone(),
            visibility: visibility.to_owned(),
            admin,
            badge_token: self.uuid4()?,
            now: self.now(),
        };
        let repo = self
            .ports
            .manifests
            .create_repository(&new)
            .await
            .map_err(|e| RegistryFailure::internal("creating a repository", e))?;
        tracing::info!(repo.name = %path, "created repository on push");
        Ok(repo)
    }

    /// Quay's `CREATE_NAMESPACE_ON_PUSH`: a missing namespace becomes an organization whose
    /// `owners` team holds the pusher, with the pusher's e-mail plus-addressed by the namespace
    /// (`me@x.org` becomes `me+ns@x.org`). Without the setting, or for a caller who is not a
    /// user, the namespace stays unknown.
    async fn create_namespace(
        &self,
        path: &RepositoryPath,
        performer: Option<&Account>,
    ) -> Result<Account, RegistryFailure> {
        let unknown = || {
            RegistryFailure::Error(
                RegistryError::new(ErrorKind::NameUnknown).with_message("repository not found"),
            )
        };
        let Some(user) = performer.filter(|a| a.kind == AccountKind::User) else {
            return Err(unknown());
        };
        if !self.settings.create_namespace_on_push {
            return Err(unknown());
        }
        // Quay's `create_organization` refuses a name `validate_username` rejects and, with
        // `FEATURE_MAILING`, an invalid e-mail address.
        let name =
            NamespaceName::parse_new(path.namespace.as_str()).map_err(|_| cannot_create())?;
        let email = plus_address(&user.email, name.as_str());
        if self.settings.mailing && EmailAddress::parse(&email).is_err() {
            return Err(cannot_create());
        }
        let org = NewOrganization {
            name,
            email: Some(email),
            creator: user.id,
            email_must_be_unused: !self.settings.org_shared_email,
            removed_tag_expiration_s: self.settings.namespace_tag_expiration_s,
            maximum_queued_builds_count: self.settings.namespace_max_queued_builds,
            created_at: self.now(),
        };
        match self.ports.users.create_organization(org).await {
            Ok(created) => {
                tracing::info!(
                    namespace = %path.namespace.as_str(),
                    user.name = %user.username,
                    "created organization on push"
                );
                Ok(created)
            }
            // A concurrent request of the same push created it first.
            Err(UserStoreError::UsernameTaken(_)) => self
                .ports
                .users
                .find_namespace(&path.namespace)
                .await
                .map_err(|e| RegistryFailure::internal("looking up a namespace", e))?
                .filter(|a| a.kind == AccountKind::Organization)
                .ok_or_else(cannot_create),
            Err(UserStoreError::EmailTaken) => Err(cannot_create()),
            Err(e) => Err(RegistryFailure::internal("creating an organization", e)),
        }
    }
}

/// Quay's answer when the organization cannot be created (`Unsupported`).
fn cannot_create() -> RegistryFailure {
    RegistryFailure::Error(
        RegistryError::new(ErrorKind::Unsupported).with_message("Cannot create organization"),
    )
}

/// The e-mail of an organization created on push: every `@` of the pusher's address becomes
/// `+namespace@`, as Quay joins the split address.
fn plus_address(email: &str, namespace: &str) -> String {
    email.replace('@', &format!("+{namespace}@"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::test_repository as repo;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use quay_domain::repository::RepositoryId;
    use quay_domain::user::UserId;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    fn account() -> Account {
        Account {
            id: UserId(5),
            uuid: None,
            username: "joe".into(),
            email: "joe@example.com".into(),
            password_hash: None,
            kind: AccountKind::User,
            verified: true,
            enabled: true,
            invalid_login_attempts: 0,
            last_invalid_login: t0(),
            removed_tag_expiration_s: 1_209_600,
            maximum_queued_builds_count: None,
            creation_date: None,
            last_accessed: None,
        }
    }

    #[test]
    fn both_pull_lookups_live_the_configured_ttl() {
        let lookups = PullLookups::new(std::time::Duration::from_secs(45));
        lookups.repositories.put("acme/app", repo(), t0());
        lookups.performers.put("joe", account(), t0());
        let before = t0() + Duration::seconds(44);
        let after = t0() + Duration::seconds(45);
        assert_eq!(
            lookups.repositories.get("acme/app", before).map(|r| r.id),
            Some(RepositoryId(12))
        );
        assert_eq!(
            lookups.performers.get("joe", before).map(|a| a.id),
            Some(UserId(5))
        );
        assert!(lookups.repositories.get("acme/app", after).is_none());
        assert!(lookups.performers.get("joe", after).is_none());
    }

    #[test]
    fn a_zero_ttl_turns_pull_lookups_off() {
        let lookups = PullLookups::new(std::time::Duration::ZERO);
        lookups.repositories.put("acme/app", repo(), t0());
        lookups.performers.put("joe", account(), t0());
        assert!(lookups.repositories.get("acme/app", t0()).is_none());
        assert!(lookups.performers.get("joe", t0()).is_none());
    }

    #[test]
    fn plus_addresses_like_quay() {
        assert_eq!(plus_address("me@x.org", "neworg"), "me+neworg@x.org");
        assert_eq!(plus_address("a@b@c", "ns"), "a+ns@b+ns@c");
        assert_eq!(plus_address("nobody", "ns"), "nobody");
    }
}
