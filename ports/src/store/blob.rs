//! The blob metadata store: Quay's `imagestorage`, `imagestorageplacement` and `uploadedblob`.
//!
//! A blob is visible in a repository when a manifest of the repository references it
//! (`manifestblob`) or an unexpired `uploadedblob` row links it (Quay's
//! `lookup_repo_storages_by_content_checksum(with_uploads=True)`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::repository::RepositoryId;

use super::BackendError;

/// Errors of [`BlobMetaStore`].
#[derive(Debug, thiserror::Error)]
pub enum BlobStoreError {
    /// The storage location is not in `imagestoragelocation`.
    #[error("unknown storage location {0}")]
    UnknownLocation(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A blob as stored in `imagestorage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRecord {
    /// `content_checksum`.
    pub digest: String,
    /// `image_size`.
    pub size: Option<u64>,
    /// `uncompressed_size`.
    pub uncompressed_size: Option<u64>,
    /// Names of the locations holding it (`imagestorageplacement`).
    pub locations: Vec<String>,
}

/// A finished upload to record (Quay's `store_blob_record_and_temp_link_in_repo`, plus the
/// deletion of the `blobupload` row in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitBlob {
    /// The repository the blob is linked to.
    pub repository: RepositoryId,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Uncompressed size when known.
    pub uncompressed_size: Option<u64>,
    /// Location name (`imagestoragelocation.name`).
    pub location: String,
    /// New `imagestorage.uuid` if the row must be created.
    pub storage_uuid: String,
    /// `uploadedblob.uploaded_at`.
    pub now: DateTime<Utc>,
    /// `uploadedblob.expires_at` (`now + PUSH_TEMP_TAG_EXPIRATION_SEC`).
    pub link_expires_at: DateTime<Utc>,
    /// The `blobupload` uuid to delete, for chunked uploads.
    pub finished_upload: Option<String>,
}

/// Blob metadata.
#[async_trait]
pub trait BlobMetaStore: Send + Sync {
    /// The blob `digest` if it is visible in `repository` at `now`.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn find_repository_blob(
        &self,
        repository: RepositoryId,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<BlobRecord>, BlobStoreError>;

    /// Creates or reuses the `imagestorage` row, its placement, and a temporary
    /// `uploadedblob` link, in one transaction.
    ///
    /// # Errors
    /// [`BlobStoreError::UnknownLocation`]; `Backend`.
    async fn commit_blob(&self, blob: &CommitBlob) -> Result<(), BlobStoreError>;

    /// Links an existing blob to `repository` until `expires_at` (a cross-repository mount,
    /// Quay's `temp_link_blob`). Returns `false` when no such blob exists.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn link_blob(
        &self,
        repository: RepositoryId,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, BlobStoreError>;

    /// Inserts the missing `imagestoragelocation` rows for the configured locations (Quay's
    /// `sync_database_with_config` at boot).
    ///
    /// # Errors
    /// `Backend` when the database fails (e.g. it is read-only).
    async fn ensure_locations(&self, names: &[String]) -> Result<(), BlobStoreError>;
}
