//! The tag store: Quay's `tag` table.

use async_trait::async_trait;
use quay_domain::name::TagName;
use quay_domain::repository::RepositoryId;
use quay_domain::tag::Tag;

use super::{BackendError, Page, PageRequest};

/// Errors of [`TagStore`].
#[derive(Debug, thiserror::Error)]
pub enum TagStoreError {
    /// The page cursor was not produced by this listing.
    #[error("invalid page cursor")]
    InvalidCursor,
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl TagStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
            Self::InvalidCursor => false,
        }
    }
}

/// Tags.
#[async_trait]
pub trait TagStore: Send + Sync {
    /// Lists the live, visible tags of a repository by name: `lifetime_end_ms` absent or after
    /// `now_ms`, and not hidden.
    ///
    /// # Errors
    /// - [`TagStoreError::InvalidCursor`]: `page.after` is not a cursor of this listing;
    /// - [`TagStoreError::Backend`]: the database failed.
    async fn list_live_tags(
        &self,
        repository: RepositoryId,
        now_ms: i64,
        page: PageRequest,
    ) -> Result<Page<Tag>, TagStoreError>;

    /// Finds the live, visible tag with this name.
    ///
    /// # Errors
    /// [`TagStoreError::Backend`] when the database fails. No such live tag is `Ok(None)`.
    async fn find_live_tag(
        &self,
        repository: RepositoryId,
        name: &TagName,
        now_ms: i64,
    ) -> Result<Option<Tag>, TagStoreError>;
}
