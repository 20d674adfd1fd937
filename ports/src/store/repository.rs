//! The repository store: Quay's `repository` table.

use async_trait::async_trait;
use quay_domain::name::{NamespaceName, RepositoryName};
use quay_domain::repository::{Repository, RepositoryId, RepositoryState};
use quay_domain::user::UserId;

use super::{BackendError, Page, PageRequest};

/// Errors of [`RepositoryStore`].
#[derive(Debug, thiserror::Error)]
pub enum RepositoryStoreError {
    /// The page cursor was not produced by this listing.
    #[error("invalid page cursor")]
    InvalidCursor,
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl RepositoryStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
            Self::InvalidCursor => false,
        }
    }
}

/// Repositories.
#[async_trait]
pub trait RepositoryStore: Send + Sync {
    /// Finds a repository by namespace and name, in any state (callers check
    /// [`Repository::state`]).
    ///
    /// # Errors
    /// [`RepositoryStoreError::Backend`] when the database fails. An unknown repository is
    /// `Ok(None)`.
    async fn find_repository(
        &self,
        namespace: &NamespaceName,
        name: &RepositoryName,
    ) -> Result<Option<Repository>, RepositoryStoreError>;

    /// Lists a namespace's repositories by name, skipping those marked for deletion.
    ///
    /// # Errors
    /// - [`RepositoryStoreError::InvalidCursor`]: `page.after` is not a cursor of this listing;
    /// - [`RepositoryStoreError::Backend`]: the database failed.
    async fn list_repositories(
        &self,
        namespace: &NamespaceName,
        page: PageRequest,
    ) -> Result<Page<Repository>, RepositoryStoreError>;

    /// The robot allowed to push into a mirrored repository: for `MIRROR`, the
    /// `internal_robot` of its `repomirrorconfig` (Quay's `get_mirror`, which requires the root
    /// rule); for `ORG_MIRROR`, that of the `orgmirrorconfig` its `orgmirrorrepository` row
    /// belongs to. `None` for other states or without a configuration.
    ///
    /// # Errors
    /// [`RepositoryStoreError::Backend`] when the database fails.
    async fn mirror_robot(
        &self,
        repository: RepositoryId,
        state: RepositoryState,
    ) -> Result<Option<UserId>, RepositoryStoreError>;
}
