//! The end of an upload (digest check, storage completion with de-duplication, blob rows) and
//! the cross-repository mount.

use chrono::Duration;
use quay_domain::digest::Digest;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::repository::{Repository, Visibility};
use quay_domain::storage_path::StoragePath;
use quay_domain::upload::{MountRequest, UploadError, verify_commit_digest};
use quay_ports::crypto::HashStream;
use quay_ports::storage::stream::next_chunk;
use quay_ports::store::{CommitBlob, UploadRecord};

use super::{state_of, upload_error};
use crate::registry::{Caller, Registry, RegistryFailure};

impl Registry {
    /// A cross-repository mount: the caller may read the source (or it is public) and the blob
    /// is visible there. Any refusal falls through to a normal upload.
    pub(super) async fn try_mount(
        &self,
        caller: &Caller,
        target: &Repository,
        mount: &MountRequest,
    ) -> Result<bool, RegistryFailure> {
        let Some(source) = self
            .ports
            .repositories
            .find_repository(&mount.from.namespace, &mount.from.repository)
            .await
            .map_err(|e| RegistryFailure::internal("looking up a mount source", e))?
        else {
            return Ok(false);
        };
        let readable = caller.identity.can(&mount.from.full_name(), "pull")
            || (source.visibility == Visibility::Public && self.settings.anonymous_access);
        if !readable {
            return Ok(false);
        }
        let now = self.now();
        let visible = self
            .ports
            .blobs
            .find_repository_blob(source.id, mount.digest.as_str(), now)
            .await
            .map_err(|e| RegistryFailure::internal("looking up a mount source blob", e))?;
        if visible.is_none() {
            return Ok(false);
        }
        let expires = now + Duration::seconds(self.settings.temp_tag_expiration_s);
        self.ports
            .blobs
            .link_blob(target.id, mount.digest.as_str(), now, expires)
            .await
            .map_err(|e| RegistryFailure::internal("mounting a blob", e))
    }

    /// Hashes the stored upload from its temporary object (digesters without state export).
    async fn rehash(&self, upload: &UploadRecord) -> Result<String, RegistryFailure> {
        let mut hasher = self
            .ports
            .digester
            .sha256_stream()
            .map_err(|e| RegistryFailure::internal("starting a hash", e))?;
        let path = StoragePath::for_upload(&upload.uuid);
        let mut body = self
            .ports
            .storage
            .get(path.as_str(), None)
            .await
            .map_err(|e| RegistryFailure::internal("re-reading an upload", e))?;
        while let Some(chunk) = next_chunk(&mut body).await {
            let chunk = chunk.map_err(|e| RegistryFailure::internal("re-reading an upload", e))?;
            hasher
                .update(&chunk)
                .map_err(|e| RegistryFailure::internal("hashing an upload", e))?;
        }
        hasher
            .finish()
            .map_err(|e| RegistryFailure::internal("hashing an upload", e))
    }

    /// Refuses an upload whose temporary object (drivers that keep one, such as local storage)
    /// does not hold exactly the recorded `byte_count`: bytes a client never had acknowledged must
    /// not become part of a blob whose digest was proven by the saved hasher state.
    async fn check_stored_size(&self, upload: &UploadRecord) -> Result<(), RegistryFailure> {
        let path = StoragePath::for_upload(&upload.uuid);
        let stored = self
            .ports
            .storage
            .stat(path.as_str())
            .await
            .map_err(|e| RegistryFailure::internal("checking an upload in storage", e))?;
        match stored {
            Some(meta) if meta.size != upload.byte_count => {
                tracing::warn!(upload.id = %upload.uuid, stored = meta.size, recorded = upload.byte_count, "upload size differs from its row");
                Err(RegistryError::new(ErrorKind::BlobUploadInvalid)
                    .with_detail_reason("the stored upload does not match its recorded size")
                    .into())
            }
            _ => Ok(()),
        }
    }

    /// Refuses (and removes) a just-completed object whose size is not the recorded
    /// `byte_count`: a chunk that slipped in during completion. With chunks only ever appended
    /// at the recorded size, the right size means the bytes are the ones the hasher saw.
    async fn check_completed_size(
        &self,
        upload: &UploadRecord,
        final_path: &str,
    ) -> Result<(), RegistryFailure> {
        let stored = self
            .ports
            .storage
            .stat(final_path)
            .await
            .map_err(|e| RegistryFailure::internal("checking a completed blob", e))?;
        match stored {
            Some(meta) if meta.size != upload.byte_count => {
                tracing::warn!(upload.id = %upload.uuid, stored = meta.size, recorded = upload.byte_count, "completed blob differs from its upload row");
                if let Err(e) = self.ports.storage.delete(final_path).await {
                    tracing::error!(upload.id = %upload.uuid, error = %e, "could not remove a mismatched blob");
                }
                Err(RegistryError::new(ErrorKind::BlobUploadInvalid)
                    .with_detail_reason("the stored upload does not match its recorded size")
                    .into())
            }
            // Not visible yet on an eventually consistent backend: nothing to compare.
            _ => Ok(()),
        }
    }

    /// Verifies the digest and turns the upload into a blob.
    pub(super) async fn commit_upload(
        &self,
        upload: UploadRecord,
        hasher: Option<Box<dyn HashStream>>,
        given: Option<&str>,
    ) -> Result<Digest, RegistryFailure> {
        self.check_stored_size(&upload).await?;
        let computed = match hasher {
            Some(h) => h
                .finish()
                .map_err(|e| RegistryFailure::internal("hashing an upload", e))?,
            None => self.rehash(&upload).await?,
        };
        let computed = Digest::parse(&computed)
            .map_err(|e| RegistryFailure::internal("hashing an upload", e))?;
        let digest = verify_commit_digest(given, &computed).map_err(|e| upload_error(&e))?;
        let final_path = StoragePath::for_blob(digest.as_str())
            .map_err(|_| upload_error(&UploadError::DigestMismatch))?;
        let state = state_of(&upload);
        let exists = self
            .ports
            .storage
            .stat(final_path.as_str())
            .await
            .map_err(|e| RegistryFailure::internal("checking a blob in storage", e))?
            .is_some();
        let stored = if exists {
            self.ports.storage.cancel_upload(&state).await
        } else {
            self.ports
                .storage
                .complete_upload(&state, final_path.as_str())
                .await
        };
        stored.map_err(|e| RegistryFailure::internal("completing an upload in storage", e))?;
        if !exists {
            self.check_completed_size(&upload, final_path.as_str())
                .await?;
        }
        let now = self.now();
        let commit = CommitBlob {
            repository: upload.repository,
            digest: digest.as_str().to_owned(),
            size: upload.byte_count,
            uncompressed_size: upload.uncompressed_byte_count,
            location: upload.location.clone(),
            storage_uuid: self.uuid4()?,
            now,
            link_expires_at: now + Duration::seconds(self.settings.temp_tag_expiration_s),
            finished_upload: Some(upload.uuid.clone()),
        };
        self.ports
            .blobs
            .commit_blob(&commit)
            .await
            .map_err(|e| RegistryFailure::internal("recording a blob", e))?;
        tracing::info!(upload.id = %upload.uuid, blob.digest = %digest, size_bytes = upload.byte_count, "blob upload completed");
        Ok(digest)
    }
}
