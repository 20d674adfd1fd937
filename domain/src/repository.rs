//! Repositories: a named collection of manifests and tags inside a namespace.

use crate::name::{NamespaceName, RepositoryName};
use crate::user::UserId;

/// Primary key of a row of Quay's `repository` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepositoryId(pub i64);

/// Who may pull without a permission (Quay's `visibility` table: `public`, `private`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Visibility {
    /// Anyone may pull.
    Public,
    /// Only users with a permission may pull.
    Private,
}

impl Visibility {
    /// Parses Quay's `visibility.name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            _ => None,
        }
    }

    /// Quay's `visibility.name`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
        }
    }
}

/// What a repository holds (Quay's `repositorykind` table: `image`, `application`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepositoryKind {
    /// Container images.
    Image,
    /// App Registry (deprecated) applications.
    Application,
}

impl RepositoryKind {
    /// Parses Quay's `repositorykind.name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "image" => Some(Self::Image),
            "application" => Some(Self::Application),
            _ => None,
        }
    }
}

/// Lifecycle state (Quay's `RepositoryState`, stored as an integer in `repository.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RepositoryState {
    /// All actions allowed (0).
    Normal,
    /// Only reads (1).
    ReadOnly,
    /// Read-only except for the mirror robot (2).
    Mirror,
    /// Being deleted; hidden and unusable (3).
    MarkedForDeletion,
    /// Like `Mirror`, created by organization-level mirroring (4).
    OrgMirror,
}

impl RepositoryState {
    /// Parses the stored integer.
    pub fn from_code(code: i32) -> Option<Self> {
        Some(match code {
            0 => Self::Normal,
            1 => Self::ReadOnly,
            2 => Self::Mirror,
            3 => Self::MarkedForDeletion,
            4 => Self::OrgMirror,
            _ => return None,
        })
    }

    /// The stored integer.
    pub fn code(self) -> i32 {
        match self {
            Self::Normal => 0,
            Self::ReadOnly => 1,
            Self::Mirror => 2,
            Self::MarkedForDeletion => 3,
            Self::OrgMirror => 4,
        }
    }
}

/// A repository with its namespace's name resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Primary key.
    pub id: RepositoryId,
    /// The owning namespace's account id.
    pub namespace_id: UserId,
    /// The owning namespace's name.
    pub namespace: NamespaceName,
    /// The repository's name within the namespace.
    pub name: RepositoryName,
    /// Public or private.
    pub visibility: Visibility,
    /// Image or application.
    pub kind: RepositoryKind,
    /// Lifecycle state.
    pub state: RepositoryState,
    /// Free-text description.
    pub description: Option<String>,
    /// Whether Docker content trust was enabled (legacy).
    pub trust_enabled: bool,
}

impl Repository {
    /// `namespace/name`, as clients write it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_codes_round_trip() {
        for code in 0..5 {
            let s = RepositoryState::from_code(code).expect("known");
            assert_eq!(s.code(), code);
        }
        assert_eq!(RepositoryState::from_code(5), None);
    }

    #[test]
    fn visibility_names() {
        assert_eq!(Visibility::from_name("public"), Some(Visibility::Public));
        assert_eq!(Visibility::Private.name(), "private");
        assert_eq!(Visibility::from_name("x"), None);
    }
}
