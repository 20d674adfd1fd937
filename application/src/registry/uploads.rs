//! Blob uploads (Quay's `endpoints/v2/blob.py` with `data/registry_model/blobuploader.py`):
//! start (`POST`, with cross-repository mount and monolithic upload), chunk (`PATCH`), finish
//! (`PUT`), status (`GET`) and cancel (`DELETE`).
//!
//! Invariants:
//! - a chunk must start at the upload's `byte_count` (else 416 with the current size);
//! - bytes are hashed while the driver writes them; the hasher state is saved in the row
//!   (`sha_state`, Python's pickle) so any process can take the next chunk; a digester that cannot
//!   export its state (FIPS) saves none, and the finished upload is re-hashed from storage;
//! - the upload row is updated only after the driver stored the chunk, with a compare-and-swap
//!   on the previous size; a failed or refused chunk leaves the row as it was;
//! - concurrent chunks for one offset: the driver lets at most one of them into the upload
//!   (local storage appends a whole chunk under a file lock only while the upload is still at the
//!   chunk's offset) and the row's compare-and-swap records at most one, so the losers get 416
//!   and never change the winner's bytes; at completion a driver's temporary object must still
//!   hold exactly `byte_count` bytes (else `BLOB_UPLOAD_INVALID`);
//! - at completion the content must hash to the client's `digest`; an existing object at the
//!   blob's path is kept (the chunks are discarded), then `imagestorage`, its placement and an
//!   `uploadedblob` link are recorded and the row is deleted, in one transaction.

use quay_domain::digest::Digest;
use quay_domain::reference::RepositoryPath;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::repository::RepositoryId;
use quay_domain::upload::{
    ChunkRange, StartPlan, UploadError, UploadProgress, parse_content_range, plan_chunk,
};
use quay_ports::crypto::HashStream;
use quay_ports::storage::{ByteStream, StorageError, UploadState};
use quay_ports::store::{ChunkRecord, UploadRecord, UploadStoreError};

mod commit;

use super::access::Need;
use super::body::{Gunzip, SharedTally, tallied};
use super::{Caller, Registry, RegistryFailure};

/// What `POST .../blobs/uploads/` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadStart {
    /// The blob was mounted from another repository (201).
    Mounted(Digest),
    /// The whole blob came with the request and was stored (201).
    Completed(Digest),
    /// An upload was started (202); its uuid.
    Started(String),
}

/// The state of an upload after `PATCH` or for `GET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadOutcome {
    /// The upload's uuid.
    pub uuid: String,
    /// Bytes stored so far.
    pub byte_count: u64,
}

fn upload_error(e: &UploadError) -> RegistryFailure {
    match e {
        UploadError::RangeNotSatisfiable { byte_count, .. } => {
            RegistryFailure::RangeNotSatisfiable {
                byte_count: *byte_count,
            }
        }
        other => match other.to_registry_error() {
            Some(r) => RegistryFailure::Error(r),
            None => RegistryFailure::kind(ErrorKind::BlobUploadInvalid),
        },
    }
}

fn unknown_upload() -> RegistryFailure {
    RegistryFailure::kind(ErrorKind::BlobUploadUnknown)
}

fn state_of(upload: &UploadRecord) -> UploadState {
    UploadState {
        upload_id: upload.uuid.clone(),
        metadata: upload.storage_metadata.clone(),
    }
}

impl Registry {
    /// Starts an upload: tries the mount, else creates the upload and, with `digest=`, stores
    /// `body` as the whole blob.
    ///
    /// # Errors
    /// `UNAUTHORIZED`; upload errors of the monolithic body (`BLOB_UPLOAD_INVALID`, `DENIED`);
    /// `Internal`.
    pub async fn start_upload(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        plan: StartPlan,
        body: ByteStream,
    ) -> Result<UploadStart, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        self.check_upload_quota(caller, &repo, None).await?;
        if let Some(mount) = &plan.mount
            && self.try_mount(caller, &repo, mount).await?
        {
            return Ok(UploadStart::Mounted(mount.digest.clone()));
        }
        let state = self
            .ports
            .storage
            .begin_upload()
            .await
            .map_err(|e| RegistryFailure::internal("starting an upload in storage", e))?;
        let hasher = self
            .ports
            .digester
            .sha256_stream()
            .map_err(|e| RegistryFailure::internal("starting a hash", e))?;
        let upload = UploadRecord {
            repository: repo.id,
            uuid: state.upload_id.clone(),
            byte_count: 0,
            chunk_count: 0,
            uncompressed_byte_count: None,
            sha_state: hasher.export_state(),
            storage_metadata: state.metadata.clone(),
            location: self.settings.upload_location.clone(),
            created: self.now(),
        };
        self.ports
            .uploads
            .create_upload(&upload)
            .await
            .map_err(|e| RegistryFailure::internal("recording an upload", e))?;
        let Some(given) = plan.monolithic_digest else {
            return Ok(UploadStart::Started(upload.uuid));
        };
        let result = async {
            let (upload, hasher) = self
                .write_chunk(&upload, ChunkRange::Unbounded, body)
                .await?;
            self.commit_upload(upload, hasher, Some(&given)).await
        }
        .await;
        match result {
            Ok(digest) => Ok(UploadStart::Completed(digest)),
            Err(e) => {
                self.discard(repo.id, &state).await;
                Err(e)
            }
        }
    }

    /// Appends a chunk (`PATCH`); `content_range` is the raw header.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`, `INVALID_REQUEST` (bad range), `RangeNotSatisfiable`, `DENIED`
    /// (too large), `BLOB_UPLOAD_INVALID` (body broken off), `Internal`.
    pub async fn upload_chunk(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        uuid: &str,
        content_range: Option<&str>,
        body: ByteStream,
    ) -> Result<UploadOutcome, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let upload = self.find_upload(repo.id, uuid).await?;
        self.check_upload_quota(caller, &repo, Some(&upload))
            .await?;
        let range = parse_content_range(content_range).map_err(|e| upload_error(&e))?;
        let (upload, _) = self.write_chunk(&upload, range, body).await?;
        Ok(UploadOutcome {
            uuid: upload.uuid,
            byte_count: upload.byte_count,
        })
    }

    /// Stores the last chunk and commits the blob (`PUT ...?digest=`).
    ///
    /// # Errors
    /// As [`Self::upload_chunk`]; `BLOB_UPLOAD_INVALID` when `digest` is missing or does not
    /// match.
    pub async fn finish_upload(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        uuid: &str,
        digest: Option<&str>,
        content_range: Option<&str>,
        body: ByteStream,
    ) -> Result<Digest, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let upload = self.find_upload(repo.id, uuid).await?;
        let given = digest.ok_or_else(|| upload_error(&UploadError::MissingDigest))?;
        self.check_upload_quota(caller, &repo, Some(&upload))
            .await?;
        let range = parse_content_range(content_range).map_err(|e| upload_error(&e))?;
        let (upload, hasher) = self.write_chunk(&upload, range, body).await?;
        self.commit_upload(upload, hasher, Some(given)).await
    }

    /// The upload's progress (`GET`).
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`, `UNAUTHORIZED`, `Internal`.
    pub async fn upload_status(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        uuid: &str,
    ) -> Result<UploadOutcome, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let upload = self.find_upload(repo.id, uuid).await?;
        Ok(UploadOutcome {
            uuid: upload.uuid,
            byte_count: upload.byte_count,
        })
    }

    /// Cancels an upload (`DELETE`): its chunks and its row go.
    ///
    /// # Errors
    /// `BLOB_UPLOAD_UNKNOWN`, `UNAUTHORIZED`, `Internal`.
    pub async fn cancel_upload(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        uuid: &str,
    ) -> Result<(), RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let upload = self.find_upload(repo.id, uuid).await?;
        self.ports
            .storage
            .cancel_upload(&state_of(&upload))
            .await
            .map_err(|e| RegistryFailure::internal("cancelling an upload in storage", e))?;
        self.ports
            .uploads
            .delete_upload(repo.id, uuid)
            .await
            .map_err(|e| RegistryFailure::internal("deleting an upload", e))
    }

    async fn find_upload(
        &self,
        repo: RepositoryId,
        uuid: &str,
    ) -> Result<UploadRecord, RegistryFailure> {
        self.ports
            .uploads
            .find_upload(repo, uuid)
            .await
            .map_err(|e| RegistryFailure::internal("looking up an upload", e))?
            .ok_or_else(unknown_upload)
    }

    /// Removes a failed upload's chunks and row (best effort, as Quay's `complete_when_uploaded`).
    async fn discard(&self, repo: RepositoryId, state: &UploadState) {
        if let Err(e) = self.ports.storage.cancel_upload(state).await {
            tracing::warn!(upload.id = %state.upload_id, error = %e, "could not remove upload chunks");
        }
        if let Err(e) = self
            .ports
            .uploads
            .delete_upload(repo, &state.upload_id)
            .await
        {
            tracing::warn!(upload.id = %state.upload_id, error = %e, "could not delete an upload row");
        }
    }

    /// Stores one chunk and records it; returns the updated row and the running hasher.
    async fn write_chunk(
        &self,
        upload: &UploadRecord,
        range: ChunkRange,
        body: ByteStream,
    ) -> Result<(UploadRecord, Option<Box<dyn HashStream>>), RegistryFailure> {
        let limit = self.settings.max_layer_size;
        let progress = UploadProgress {
            byte_count: upload.byte_count,
            chunk_count: upload.chunk_count,
            uncompressed_byte_count: upload.uncompressed_byte_count,
        };
        let plan = plan_chunk(range, &progress, limit).map_err(|e| upload_error(&e))?;
        if plan.declared_len == Some(0) {
            return Ok((upload.clone(), self.resume_hasher(upload)));
        }
        let gunzip = plan.measure_uncompressed.then(Gunzip::new);
        let tally = SharedTally::new(self.resume_hasher(upload), gunzip);
        let allowance = limit.0.saturating_sub(plan.offset);
        let body = tallied(body, tally.clone(), allowance);
        let stored = self
            .ports
            .storage
            .upload_chunk(&state_of(upload), plan.offset, body)
            .await;
        let mut seen = tally.take();
        let measured = seen.gunzip.take().and_then(Gunzip::finish);
        let (written, state) = match stored {
            Ok(ok) => ok,
            Err(StorageError::InvalidOffset { .. }) => {
                return Err(RegistryFailure::RangeNotSatisfiable {
                    byte_count: upload.byte_count,
                });
            }
            Err(StorageError::Body(_)) if seen.too_large => {
                return Err(upload_error(&UploadError::TooLarge {
                    uploaded: plan.offset.saturating_add(seen.written).saturating_add(1),
                    max_allowed: limit.0,
                }));
            }
            Err(StorageError::Body(e)) => {
                tracing::info!(upload.id = %upload.uuid, error = %e, "upload body broke off");
                return Err(RegistryError::new(ErrorKind::BlobUploadInvalid)
                    .with_detail_reason("the request body could not be read")
                    .into());
            }
            Err(e) => return Err(RegistryFailure::internal("storing an upload chunk", e)),
        };
        let after = progress
            .after_chunk(written, measured, limit)
            .map_err(|e| upload_error(&e))?;
        let chunk = ChunkRecord {
            byte_count: after.byte_count,
            chunk_count: after.chunk_count,
            uncompressed_byte_count: after.uncompressed_byte_count,
            sha_state: seen.hasher.as_ref().and_then(|h| h.export_state()),
            storage_metadata: state.metadata.clone(),
        };
        match self
            .ports
            .uploads
            .record_chunk(upload.repository, &upload.uuid, upload.byte_count, &chunk)
            .await
        {
            Ok(()) => {}
            Err(UploadStoreError::Conflict | UploadStoreError::NotFound) => {
                return Err(RegistryFailure::RangeNotSatisfiable {
                    byte_count: upload.byte_count,
                });
            }
            Err(e) => return Err(RegistryFailure::internal("recording an upload chunk", e)),
        }
        let updated = UploadRecord {
            byte_count: chunk.byte_count,
            chunk_count: chunk.chunk_count,
            uncompressed_byte_count: chunk.uncompressed_byte_count,
            sha_state: chunk.sha_state,
            storage_metadata: chunk.storage_metadata,
            ..upload.clone()
        };
        Ok((updated, seen.hasher))
    }

    /// The hasher continuing `upload`: resumed from `sha_state`, fresh for an empty upload, or
    /// none (re-hash at completion).
    fn resume_hasher(&self, upload: &UploadRecord) -> Option<Box<dyn HashStream>> {
        match &upload.sha_state {
            Some(state) => self.ports.digester.resume_sha256(state).ok(),
            None if upload.byte_count == 0 => self.ports.digester.sha256_stream().ok(),
            None => None,
        }
    }
}
