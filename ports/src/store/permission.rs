//! The permission store: Quay's `repositorypermission`, `team`, `teammember` and their role
//! tables, read as the inputs of [`quay_domain::permission::effective_repository_role`].

use async_trait::async_trait;
use quay_domain::permission::RepositoryGrants;
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;

use super::{BackendError, Consistency};

/// Errors of [`PermissionStore`].
#[derive(Debug, thiserror::Error)]
pub enum PermissionStoreError {
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl PermissionStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
        }
    }
}

/// Repository permissions.
#[async_trait]
pub trait PermissionStore: Send + Sync {
    /// What `account` holds on `repository`: the roles of the permissions naming it or one of its
    /// teams, and its teams' roles in the organization owning the repository. Use
    /// [`Consistency::Primary`] for writes (push), so that a revocation applies at once.
    ///
    /// # Errors
    /// [`PermissionStoreError::Backend`] when the database fails or holds an unknown role name.
    async fn repository_grants(
        &self,
        account: UserId,
        repository: RepositoryId,
        consistency: Consistency,
    ) -> Result<RepositoryGrants, PermissionStoreError>;
}
