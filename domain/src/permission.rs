//! Roles granted on repositories and within organizations, and how they combine into a user's
//! role on a repository (Quay's `auth/permissions.py`):
//! - every user administers the repositories of their own namespace;
//! - a member of an organization team whose team role is `admin` administers every repository
//!   of that organization (`TEAM_ORGWIDE_REPO_ROLES`; `creator` and `member` give nothing
//!   org-wide);
//! - otherwise the strongest repository permission granted to the user directly or to one of
//!   their teams applies.

use crate::repository::Repository;
use crate::user::{Account, AccountKind};

/// A repository role (Quay's `role` table: `read`, `write`, `admin`), ordered by power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Pull.
    Read,
    /// Pull and push.
    Write,
    /// Everything, including permissions and deletion.
    Admin,
}

impl Role {
    /// Parses Quay's `role.name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "read" => Some(Self::Read),
            "write" => Some(Self::Write),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }

    /// Quay's `role.name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Admin => "admin",
        }
    }

    /// Whether this role includes `other`.
    pub fn includes(self, other: Role) -> bool {
        self >= other
    }
}

/// A team's role in its organization (Quay's `teamrole` table: `member`, `creator`, `admin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRole {
    /// Permissions granted per repository only.
    Member,
    /// May also create repositories.
    Creator,
    /// Administers the organization.
    Admin,
}

impl TeamRole {
    /// Parses Quay's `teamrole.name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "member" => Some(Self::Member),
            "creator" => Some(Self::Creator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// What an account holds on one repository, as read from the permission tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepositoryGrants {
    /// Roles of the repository permissions naming the account or one of its teams.
    pub repository_roles: Vec<Role>,
    /// Roles of the account's teams in the organization owning the repository.
    pub org_team_roles: Vec<TeamRole>,
}

/// The account's effective role on the repository, if any.
pub fn effective_repository_role(
    account: &Account,
    repository: &Repository,
    grants: &RepositoryGrants,
) -> Option<Role> {
    let owns_namespace = account.kind == AccountKind::User && repository.namespace_id == account.id;
    if owns_namespace || grants.org_team_roles.contains(&TeamRole::Admin) {
        return Some(Role::Admin);
    }
    grants.repository_roles.iter().copied().max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.includes(Role::Write));
        assert!(!Role::Read.includes(Role::Write));
        for r in [Role::Read, Role::Write, Role::Admin] {
            assert_eq!(Role::from_name(r.name()), Some(r));
        }
        assert_eq!(TeamRole::from_name("creator"), Some(TeamRole::Creator));
    }

    fn fixtures() -> (Account, Repository) {
        use crate::name::{NamespaceName, RepositoryName, RepositoryNameRules};
        use crate::repository::{RepositoryId, RepositoryKind, RepositoryState, Visibility};
        use crate::user::UserId;
        let t = chrono::DateTime::from_timestamp(0, 0).expect("epoch");
        let account = Account {
            id: UserId(4),
            uuid: None,
            username: "user1".into(),
            email: "user1@example.com".into(),
            password_hash: None,
            kind: AccountKind::User,
            verified: true,
            enabled: true,
            invalid_login_attempts: 0,
            last_invalid_login: t,
            removed_tag_expiration_s: 1_209_600,
            maximum_queued_builds_count: None,
            creation_date: None,
            last_accessed: None,
        };
        let repository = Repository {
            id: RepositoryId(1),
            namespace_id: UserId(2),
            namespace: NamespaceName::parse("testorg").expect("valid"),
            name: RepositoryName::parse("hello", RepositoryNameRules::Standard).expect("valid"),
            visibility: Visibility::Private,
            kind: RepositoryKind::Image,
            state: RepositoryState::Normal,
            description: None,
            trust_enabled: false,
        };
        (account, repository)
    }

    #[test]
    fn effective_roles() {
        let (mut account, repository) = fixtures();
        let none = RepositoryGrants::default();
        assert_eq!(
            effective_repository_role(&account, &repository, &none),
            None
        );
        let grants = RepositoryGrants {
            repository_roles: vec![Role::Read, Role::Write],
            org_team_roles: vec![TeamRole::Member, TeamRole::Creator],
        };
        assert_eq!(
            effective_repository_role(&account, &repository, &grants),
            Some(Role::Write)
        );
        let admin_team = RepositoryGrants {
            repository_roles: vec![],
            org_team_roles: vec![TeamRole::Admin],
        };
        assert_eq!(
            effective_repository_role(&account, &repository, &admin_team),
            Some(Role::Admin)
        );
        account.id = repository.namespace_id;
        assert_eq!(
            effective_repository_role(&account, &repository, &none),
            Some(Role::Admin)
        );
    }
}
