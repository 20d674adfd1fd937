//! The upload store: Quay's `blobupload` table (one row per chunked upload in progress).
//!
//! Invariants: the row is the only shared state of an upload, so any process sharing the
//! database can take the next chunk; `byte_count` only grows, and a chunk is recorded with a
//! compare-and-swap on the previous `byte_count` ([`UploadStore::record_chunk`]), so two
//! concurrent PATCHes of one upload cannot both succeed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::repository::RepositoryId;

use super::BackendError;

/// Errors of [`UploadStore`].
#[derive(Debug, thiserror::Error)]
pub enum UploadStoreError {
    /// The upload does not exist (any more) in that repository.
    #[error("upload not found")]
    NotFound,
    /// The upload moved on since it was read (another request stored a chunk).
    #[error("upload changed concurrently")]
    Conflict,
    /// The storage location is not in `imagestoragelocation`.
    #[error("unknown storage location {0}")]
    UnknownLocation(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// An upload as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// The repository.
    pub repository: RepositoryId,
    /// `uuid`.
    pub uuid: String,
    /// Bytes stored so far.
    pub byte_count: u64,
    /// Chunks stored so far.
    pub chunk_count: u64,
    /// Uncompressed size, when known.
    pub uncompressed_byte_count: Option<u64>,
    /// The resumable hasher state (Python's pickle, decoded from base64), if any.
    pub sha_state: Option<Vec<u8>>,
    /// `storage_metadata` JSON text.
    pub storage_metadata: String,
    /// Name of the storage location.
    pub location: String,
    /// When the upload started.
    pub created: DateTime<Utc>,
}

/// The columns a chunk changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRecord {
    /// New `byte_count`.
    pub byte_count: u64,
    /// New `chunk_count`.
    pub chunk_count: u64,
    /// New `uncompressed_byte_count`.
    pub uncompressed_byte_count: Option<u64>,
    /// New hasher state (`None` when the digester cannot export it).
    pub sha_state: Option<Vec<u8>>,
    /// New `storage_metadata`.
    pub storage_metadata: String,
}

/// Blob uploads.
#[async_trait]
pub trait UploadStore: Send + Sync {
    /// Inserts a new upload row (`byte_count` 0, `chunk_count` 0, `created` as given).
    ///
    /// # Errors
    /// [`UploadStoreError::UnknownLocation`] when the location is not in
    /// `imagestoragelocation`; `Backend` otherwise.
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), UploadStoreError>;

    /// Finds an upload by repository and uuid.
    ///
    /// # Errors
    /// `Backend` when the database fails; an unknown upload is `Ok(None)`.
    async fn find_upload(
        &self,
        repository: RepositoryId,
        uuid: &str,
    ) -> Result<Option<UploadRecord>, UploadStoreError>;

    /// Records a stored chunk, only if the row still has `previous_byte_count`.
    ///
    /// # Errors
    /// [`UploadStoreError::Conflict`] when the row changed or disappeared; `Backend` otherwise.
    async fn record_chunk(
        &self,
        repository: RepositoryId,
        uuid: &str,
        previous_byte_count: u64,
        chunk: &ChunkRecord,
    ) -> Result<(), UploadStoreError>;

    /// Deletes an upload row. Deleting a missing row succeeds.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn delete_upload(
        &self,
        repository: RepositoryId,
        uuid: &str,
    ) -> Result<(), UploadStoreError>;
}
