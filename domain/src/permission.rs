//! Roles granted on repositories and within organizations.

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
}
