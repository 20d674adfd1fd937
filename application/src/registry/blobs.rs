//! `HEAD`/`GET /v2/<name>/blobs/<digest>` (Quay's `check_blob_exists` and `download_blob`).
//!
//! A blob is served when it is visible in the repository (linked by a manifest or a recent
//! upload). It is read from the location its placements (`imagestorageplacement`) prefer
//! (`DISTRIBUTED_STORAGE_PREFERENCE` order, as Quay's `DistributedStorage`). When that
//! location's driver signs a direct URL the client is redirected there — through
//! `/_storage_proxy/` with `FEATURE_PROXY_STORAGE` — with the pulling user, namespace,
//! repository, `CDN_SPECIFIC_NAMESPACES` and the client address passed to CDN drivers; otherwise
//! the bytes are streamed, optionally a single byte range of them. `Accept-Ranges: bytes` is
//! announced when the location supports resumable downloads (the S3 family).

use std::sync::Arc;

use quay_domain::digest::Digest;
use quay_domain::reference::RepositoryPath;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::redirect::{
    BlobDelivery, DIRECT_DOWNLOAD_EXPIRY_SECS, encode_proxy_token,
};
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, FileRegion, StorageError,
};

use super::access::Need;
use super::{Caller, Registry, RegistryFailure};

/// What `HEAD` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobMeta {
    /// The digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// The storage it is read from supports range requests (`Accept-Ranges: bytes`).
    pub accept_ranges: bool,
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
    /// The bytes as a region of a local file, for a caller that can send files itself
    /// (`zero_copy` in [`Registry::blob_body`]).
    File {
        /// The blob.
        meta: BlobMeta,
        /// The range served, when the client asked for one.
        range: Option<(u64, u64)>,
        /// The open file and the region of it to send.
        region: FileRegion,
    },
}

impl std::fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Redirect { meta, .. } => write!(f, "Redirect({})", meta.digest),
            Self::Stream { meta, range, .. } => write!(f, "Stream({}, {range:?})", meta.digest),
            Self::File { meta, range, .. } => write!(f, "File({}, {range:?})", meta.digest),
        }
    }
}

fn blob_unknown() -> RegistryFailure {
    RegistryFailure::kind(ErrorKind::BlobUnknown)
}

/// A visible blob and the storage to read it from.
struct Located {
    meta: BlobMeta,
    storage: Arc<dyn BlobStorage>,
}

impl Registry {
    /// The storage to read a blob placed in `placements` from: the preferred placement's
    /// location; the upload location when no placement names a configured location (Quay would
    /// fail; rows written before a location was renamed stay readable where uploads go).
    pub(crate) fn read_storage(&self, placements: &[String]) -> Arc<dyn BlobStorage> {
        match self.ports.locations.for_read(placements) {
            Some((_, storage)) => storage,
            None => {
                tracing::debug!(
                    ?placements,
                    "no configured location holds the blob; reading the upload location"
                );
                Arc::clone(&self.ports.storage)
            }
        }
    }

    async fn locate_blob(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        digest: &Digest,
    ) -> Result<Located, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Pull).await?;
        let record = self
            .ports
            .blobs
            .find_repository_blob(repo.id, digest.as_str(), self.now())
            .await
            .map_err(|e| RegistryFailure::internal("looking up a blob", e))?
            .ok_or_else(blob_unknown)?;
        let storage = self.read_storage(&record.locations);
        let size = match record.size {
            Some(size) => size,
            None => stored_size(storage.as_ref(), digest).await?,
        };
        Ok(Located {
            meta: BlobMeta {
                digest: digest.clone(),
                size,
                accept_ranges: storage.supports_resumable_downloads(),
            },
            storage,
        })
    }

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
        Ok(self.locate_blob(caller, path, digest).await?.meta)
    }

    /// The direct-download answer for a blob at `storage_path`: the driver's signed URL, passed
    /// through the download policy (`FEATURE_PROXY_STORAGE`), or `Stream`.
    async fn delivery(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        storage: &dyn BlobStorage,
        storage_path: &str,
    ) -> Result<BlobDelivery, RegistryFailure> {
        let policy = &self.settings.download;
        let namespace = path.namespace.as_str();
        let now = self.now().timestamp();
        let mut request = DownloadUrlRequest::get(
            now,
            std::time::Duration::from_secs(DIRECT_DOWNLOAD_EXPIRY_SECS),
        )
        .with_pull_context(
            caller.identity.subject.as_deref(),
            namespace,
            path.repository.as_str(),
            policy.is_cdn_specific(namespace),
        );
        request.client_ip = caller.ip.as_deref().and_then(|ip| ip.parse().ok());
        request.host.clone_from(&caller.host);
        let url = storage
            .direct_download_url(storage_path, &request)
            .await
            .map_err(|e| RegistryFailure::internal("signing a download URL", e))?;
        policy.decide(url.as_ref(), |access| {
            let Some(signer) = &self.ports.proxy_tokens else {
                return Err(RegistryFailure::internal(
                    "signing a storage proxy token",
                    "FEATURE_PROXY_STORAGE is on but no instance key signs tokens",
                ));
            };
            let jwt = signer
                .sign(&access.token_request(&policy.server_hostname), now)
                .map_err(|e| RegistryFailure::internal("signing a storage proxy token", e))?;
            Ok(encode_proxy_token(&jwt))
        })
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
        zero_copy: bool,
    ) -> Result<BlobBody, RegistryFailure> {
        let Located { meta, storage } = self.locate_blob(caller, path, digest).await?;
        let storage_path = StoragePath::for_blob(digest.as_str()).map_err(|_| blob_unknown())?;
        if let BlobDelivery::Redirect(url) = self
            .delivery(caller, path, storage.as_ref(), storage_path.as_str())
            .await?
        {
            return Ok(BlobBody::Redirect { meta, url });
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
        let wanted = range.map(|(s, e)| ByteRange::new(s, e + 1));
        let failed = |e| match e {
            StorageError::NotFound { .. } => {
                RegistryFailure::Error(RegistryError::new(ErrorKind::BlobUnknown))
            }
            e => RegistryFailure::internal("reading a blob", e),
        };
        if zero_copy {
            let region = storage
                .open_region(storage_path.as_str(), wanted)
                .await
                .map_err(failed)?;
            if let Some(region) = region {
                return Ok(BlobBody::File {
                    meta,
                    range,
                    region,
                });
            }
        }
        let body = storage
            .get(storage_path.as_str(), wanted)
            .await
            .map_err(failed)?;
        Ok(BlobBody::Stream { meta, range, body })
    }
}

async fn stored_size(storage: &dyn BlobStorage, digest: &Digest) -> Result<u64, RegistryFailure> {
    let path = StoragePath::for_blob(digest.as_str()).map_err(|_| blob_unknown())?;
    storage
        .stat(path.as_str())
        .await
        .map_err(|e| RegistryFailure::internal("reading blob metadata", e))?
        .map(|m| m.size)
        .ok_or_else(blob_unknown)
}
