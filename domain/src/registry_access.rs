//! Which actions a registry token grants on one requested scope (Quay's
//! `_authorize_or_downscope_request` in `endpoints/v2/v2auth.py`), as a pure function of facts
//! the application has looked up.
//!
//! Rules, in Quay's order; the granted list is always ordered `push`, `pull`, `*`:
//! - a namespace that does not exist, without `CREATE_NAMESPACE_ON_PUSH`, grants nothing;
//! - `push` (authenticated callers only): on an existing repository, needs the `write` role (or a
//!   superuser with `FEATURE_SUPERUSERS_FULL_ACCESS`) and state `NORMAL`; `MIRROR` and
//!   `ORG_MIRROR` repositories accept only their mirror robot; `READ_ONLY` nothing. On a missing
//!   repository it needs the right to create repositories in the namespace;
//! - `pull`: the `read` role, a public repository, a global read-only superuser, or a superuser
//!   with full access;
//! - `*`: the `admin` role (or a superuser with full access) on an existing repository in state
//!   `NORMAL`;
//! - a repository that is not an `image` repository refuses any granted action with
//!   [`AccessError::NotImageRepository`].

use crate::permission::Role;
use crate::repository::{RepositoryKind, RepositoryState, Visibility};
use crate::scope::ScopeAction;

/// What is known about an existing repository named by the scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryFacts {
    /// Public or private.
    pub visibility: Visibility,
    /// Image or application.
    pub kind: RepositoryKind,
    /// Lifecycle state.
    pub state: RepositoryState,
    /// Whether the caller is the repository's (or organization's) mirror robot.
    pub caller_is_mirror_robot: bool,
}

/// The facts one scope decision needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeFacts {
    /// Whether the caller presented valid credentials (not anonymous).
    pub authenticated: bool,
    /// Whether the namespace exists (or will be created on push, see below).
    pub namespace_exists: bool,
    /// `CREATE_NAMESPACE_ON_PUSH`.
    pub create_namespace_on_push: bool,
    /// The repository, when it exists.
    pub repository: Option<RepositoryFacts>,
    /// The caller's effective role on the repository (for a missing repository: the role its
    /// namespace-wide grants would give, e.g. `admin` in the caller's own namespace).
    pub role: Option<Role>,
    /// Whether the caller may create the missing repository (Quay's
    /// `CreateRepositoryPermission` plus the restricted-user and org-mirror checks).
    pub can_create_repository: bool,
    /// A superuser while `FEATURE_SUPERUSERS_FULL_ACCESS` is on.
    pub superuser_full_access: bool,
    /// A global read-only superuser.
    pub global_readonly_superuser: bool,
}

/// Why a scope cannot be granted at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The repository holds something else than container images (Quay's `Unsupported`).
    #[error("This repository is for managing {kind} and not container images.")]
    NotImageRepository {
        /// Quay's kind name, e.g. `application`.
        kind: &'static str,
    },
}

fn kind_name(kind: RepositoryKind) -> &'static str {
    match kind {
        RepositoryKind::Image => "image",
        RepositoryKind::Application => "application",
    }
}

fn ensure_image(repository: Option<&RepositoryFacts>) -> Result<(), AccessError> {
    match repository {
        Some(r) if r.kind != RepositoryKind::Image => Err(AccessError::NotImageRepository {
            kind: kind_name(r.kind),
        }),
        _ => Ok(()),
    }
}

fn has(role: Option<Role>, needed: Role) -> bool {
    role.is_some_and(|r| r.includes(needed))
}

/// The actions granted for `requested`, ordered `push`, `pull`, `*`.
///
/// # Errors
/// [`AccessError::NotImageRepository`] when an action would be granted on a non-image repository.
pub fn granted_actions(
    requested: &[ScopeAction],
    facts: &ScopeFacts,
) -> Result<Vec<ScopeAction>, AccessError> {
    let mut granted = Vec::new();
    if !facts.namespace_exists && !facts.create_namespace_on_push {
        return Ok(granted);
    }
    let repo = facts.repository.as_ref();
    let full = facts.superuser_full_access;
    if requested.contains(&ScopeAction::Push) && facts.authenticated {
        match repo {
            Some(r) if has(facts.role, Role::Write) || full => {
                ensure_image(repo)?;
                let allowed = match r.state {
                    RepositoryState::Normal => true,
                    RepositoryState::Mirror | RepositoryState::OrgMirror => {
                        r.caller_is_mirror_robot
                    }
                    RepositoryState::ReadOnly | RepositoryState::MarkedForDeletion => false,
                };
                if allowed {
                    granted.push(ScopeAction::Push);
                }
            }
            Some(_) => {}
            None => {
                if facts.can_create_repository {
                    granted.push(ScopeAction::Push);
                }
            }
        }
    }
    if requested.contains(&ScopeAction::Pull) {
        let public = repo.is_some_and(|r| r.visibility == Visibility::Public);
        if has(facts.role, Role::Read) || public || facts.global_readonly_superuser || full {
            ensure_image(repo)?;
            granted.push(ScopeAction::Pull);
        }
    }
    if requested.contains(&ScopeAction::All) && (has(facts.role, Role::Admin) || full) {
        ensure_image(repo)?;
        // Quay fails on a missing repository here; granting nothing is the safe reading.
        if repo.is_some_and(|r| r.state == RepositoryState::Normal) {
            granted.push(ScopeAction::All);
        }
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScopeAction::{All, Pull, Push};

    fn repo(visibility: Visibility, state: RepositoryState) -> RepositoryFacts {
        RepositoryFacts {
            visibility,
            kind: RepositoryKind::Image,
            state,
            caller_is_mirror_robot: false,
        }
    }

    fn facts(role: Option<Role>, repository: Option<RepositoryFacts>) -> ScopeFacts {
        ScopeFacts {
            authenticated: true,
            namespace_exists: true,
            create_namespace_on_push: false,
            repository,
            role,
            can_create_repository: false,
            superuser_full_access: false,
            global_readonly_superuser: false,
        }
    }

    const ALL: &[ScopeAction] = &[Pull, Push, All];

    #[test]
    fn roles_downscope() {
        let private = Some(repo(Visibility::Private, RepositoryState::Normal));
        let cases = [
            (None, vec![]),
            (Some(Role::Read), vec![Pull]),
            (Some(Role::Write), vec![Push, Pull]),
            (Some(Role::Admin), vec![Push, Pull, All]),
        ];
        for (role, expected) in cases {
            assert_eq!(
                granted_actions(ALL, &facts(role, private.clone())),
                Ok(expected)
            );
        }
    }

    #[test]
    fn public_anonymous_and_states() {
        let public = Some(repo(Visibility::Public, RepositoryState::Normal));
        let mut anon = facts(None, public);
        anon.authenticated = false;
        assert_eq!(granted_actions(&[Pull, Push], &anon), Ok(vec![Pull]));
        for state in [RepositoryState::ReadOnly, RepositoryState::Mirror] {
            let f = facts(Some(Role::Admin), Some(repo(Visibility::Private, state)));
            assert_eq!(granted_actions(ALL, &f), Ok(vec![Pull]), "{state:?}");
        }
        let mut mirror = repo(Visibility::Private, RepositoryState::Mirror);
        mirror.caller_is_mirror_robot = true;
        let f = facts(Some(Role::Write), Some(mirror));
        assert_eq!(granted_actions(&[Push], &f), Ok(vec![Push]));
    }

    #[test]
    fn missing_repository_and_namespace() {
        let mut f = facts(Some(Role::Admin), None);
        f.can_create_repository = true;
        assert_eq!(granted_actions(&[Pull, Push], &f), Ok(vec![Push, Pull]));
        assert_eq!(granted_actions(&[All], &f), Ok(vec![]));
        f.namespace_exists = false;
        assert_eq!(granted_actions(&[Pull, Push], &f), Ok(vec![]));
        f.create_namespace_on_push = true;
        assert_eq!(granted_actions(&[Push], &f), Ok(vec![Push]));
    }

    #[test]
    fn superusers_and_kinds() {
        let private = Some(repo(Visibility::Private, RepositoryState::Normal));
        let mut f = facts(None, private);
        f.global_readonly_superuser = true;
        assert_eq!(granted_actions(ALL, &f), Ok(vec![Pull]));
        f.superuser_full_access = true;
        assert_eq!(granted_actions(ALL, &f), Ok(vec![Push, Pull, All]));
        let mut app = repo(Visibility::Public, RepositoryState::Normal);
        app.kind = RepositoryKind::Application;
        let f = facts(None, Some(app));
        assert_eq!(
            granted_actions(&[Pull], &f),
            Err(AccessError::NotImageRepository {
                kind: "application"
            })
        );
    }
}
