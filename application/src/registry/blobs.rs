//! `HEAD`/`GET /v2/<name>/blobs/<digest>` (Quay's `check_blob_exists` and `download_blob`).
//!
//! A blob is served when it is visible in the repository (linked by a manifest or a recent
//! upload). When the storage can sign a direct URL the client is redirected there; otherwise
//! the bytes are streamed, optionally a single byte range of them.

use quay_domain::digest::Digest;
use quay_domain::reference::RepositoryPath;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::{ByteRange, ByteStream, DownloadUrlRequest, StorageError};

use super::access::Need;
use super::{Caller, Registry, RegistryFailure};

/// What `HEAD` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

/// What `GET` answers.
pub enum BlobBody {
    /// Redirect (302) to a signed URL.
    Redirect {
        /// The blob.
        meta: BlobMeta,
        /// Where to fetch it.
        url: String,
    },
    /// The bytes (all of them, or `range` of them).
    Stream {
        /// The blob.
        meta: BlobMeta,
        /// The range served, when the client asked for one.
        range: Option<(u64, u64)>,
        /// The body.
        body: ByteStream,
    },
}

impl std::fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redirect { meta, .. } => write!(f, "Redirect({})", meta.digest),
            Self::Stream { meta, range, .. } => write!(f, "Stream({}, {range:?})", meta.digest),
        }
    }
}

fn blob_unknown() -> RegistryFailure {
    RegistryFailure::kind(ErrorKind::BlobUnknown)
}

impl Registry {
    /// Checks a blob (`HEAD`).
    ///
    /// # Errors
    /// `UNAUTHORIZED`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`; `Internal`.
    pub async fn blob_meta(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        digest: &Digest,
    ) -> Result<BlobMeta, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Pull).await?;
        let record = self
            .ports
            .blobs
            .find_repository_blob(repo.id, digest.as_str(), self.now())
            .await
            .map_err(|e| RegistryFailure::internal("looking up a blob", e))?
            .ok_or_else(blob_unknown)?;
        let size = match record.size {
            Some(size) => size,
            None => self.stored_size(digest).await?,
        };
        Ok(BlobMeta {
            digest: digest.clone(),
            size,
        })
    }

    async fn stored_size(&self, digest: &Digest) -> Result<u64, RegistryFailure> {
        let path = StoragePath::for_blob(digest.as_str()).map_err(|_| blob_unknown())?;
        self.ports
            .storage
            .stat(path.as_str())
            .await
            .map_err(|e| RegistryFailure::internal("reading blob metadata", e))?
            .map(|m| m.size)
            .ok_or_else(blob_unknown)
    }

    /// Downloads a blob (`GET`); `range` is the parsed `Range` header (`start`, inclusive
    /// `end` or to the end).
    ///
    /// # Errors
    /// As [`Self::blob_meta`]; `INVALID_REQUEST`-free: an unsatisfiable range is answered with
    /// `RangeNotSatisfiable`; `Internal` for storage failures.
    pub async fn blob_body(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        digest: &Digest,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<BlobBody, RegistryFailure> {
        let meta = self.blob_meta(caller, path, digest).await?;
        let storage_path = StoragePath::for_blob(digest.as_str()).map_err(|_| blob_unknown())?;
        let request = DownloadUrlRequest {
            namespace: Some(path.namespace.as_str().to_owned()),
            ..DownloadUrlRequest::get(self.now().timestamp(), std::time::Duration::from_secs(600))
        };
        let url = self
            .ports
            .storage
            .direct_download_url(storage_path.as_str(), &request)
            .await
            .map_err(|e| RegistryFailure::internal("signing a download URL", e))?;
        if let Some(url) = url {
            return Ok(BlobBody::Redirect {
                meta,
                url: url.to_string(),
            });
        }
        let range = match range {
            None => None,
            Some((start, _)) if start >= meta.size => {
                return Err(RegistryFailure::RangeNotSatisfiable {
                    byte_count: meta.size,
                });
            }
            Some((start, end)) => {
                let last = end.map_or(meta.size - 1, |e| e.min(meta.size - 1));
                if last < start {
                    return Err(RegistryFailure::RangeNotSatisfiable {
                        byte_count: meta.size,
                    });
                }
                Some((start, last))
            }
        };
        let body = self
            .ports
            .storage
            .get(
                storage_path.as_str(),
                range.map(|(s, e)| ByteRange::new(s, e + 1)),
            )
            .await
            .map_err(|e| match e {
                StorageError::NotFound { .. } => {
                    RegistryFailure::Error(RegistryError::new(ErrorKind::BlobUnknown))
                }
                e => RegistryFailure::internal("reading a blob", e),
            })?;
        Ok(BlobBody::Stream { meta, range, body })
    }
}
