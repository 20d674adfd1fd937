//! The `BlobStorage` port: one storage location (a bucket, a container, a directory).
//!
//! Paths are relative to the driver's `storage_path` and follow Quay's layout
//! ([`quay_domain::storage_path`]); drivers add their root. Bodies are [`ByteStream`]s, so a
//! multi-GiB blob never has to fit in memory.
//!
//! Chunked uploads carry an [`UploadState`]: the upload's uuid and the JSON text Python Quay keeps
//! in `blobupload.storage_metadata` for the same driver, so a replica of either runtime can take
//! the next chunk. Drivers document their metadata shape:
//! - local: `{}`;
//! - S3 family: `{"chunks": [[path, offset, length], ...]}`;
//! - Azure: `{"blocks": ["00000", ...], "content-type": null}`;
//! - Swift: `{"segments": [[path, offset, length], ...], "emptysegments": [...]}`.
//!
//! Invariants every driver keeps (checked by the conformance suite, feature `conformance`):
//! - a blob becomes visible at its final path only when complete: a failed `put` or
//!   `complete_upload` leaves either nothing or the previous complete object;
//! - `delete` of a missing object succeeds;
//! - `upload_chunk` accepts only `offset == ` the upload's current length.

pub mod cleanup;
pub mod error;
pub mod locations;
pub mod redirect;
pub mod signing;
pub mod stream;

#[cfg(feature = "conformance")]
pub mod conformance;

use std::fmt::Debug;
use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use url::Url;

pub use error::StorageError;
pub use stream::ByteStream;

/// What `stat` knows about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Size in bytes.
    pub size: u64,
    /// Last modification, Unix seconds, when the backend reports it.
    pub modified_unix: Option<i64>,
}

/// Part of an object that is a file on this machine (see [`BlobStorage::open_region`]).
#[derive(Debug)]
pub struct FileRegion {
    /// The open file.
    pub file: std::fs::File,
    /// First byte of the region.
    pub offset: u64,
    /// Bytes in the region (already clipped to the file's size).
    pub len: u64,
}

/// A byte range of an object: `start..end` (end exclusive); `end = None` reads to the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte, or `None` for "to the end".
    pub end: Option<u64>,
}

impl ByteRange {
    /// `start..` to the end of the object.
    pub fn from(start: u64) -> Self {
        Self { start, end: None }
    }

    /// `start..end` (end exclusive).
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            start,
            end: Some(end),
        }
    }

    /// The HTTP `Range` header value (`bytes=a-b`, inclusive), or `None` for an empty range.
    pub fn http_header(&self) -> Option<String> {
        match self.end {
            None => Some(format!("bytes={}-", self.start)),
            Some(end) if end > self.start => Some(format!("bytes={}-{}", self.start, end - 1)),
            Some(_) => None,
        }
    }
}

/// The serialisable state of a chunked upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UploadState {
    /// The upload's uuid (Quay's `blobupload.uuid`; drivers name their temporary objects after it).
    pub upload_id: String,
    /// JSON text, byte-for-byte what goes into `blobupload.storage_metadata`.
    pub metadata: String,
}

/// One object found by [`BlobStorage::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    /// Path relative to the driver's root.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification, Unix seconds, when known.
    pub modified_unix: Option<i64>,
}

/// What a signed direct-download URL is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadUrlRequest {
    /// The current time, Unix seconds (from the `Clock` port).
    pub now_unix: i64,
    /// How long the URL stays valid (Quay: 600 s through `DistributedStorage`).
    pub expires_in: Duration,
    /// A URL for `HEAD` instead of `GET`.
    pub head: bool,
    /// The client's address (CloudFront's same-region bypass).
    pub client_ip: Option<IpAddr>,
    /// The namespace being pulled (`CDN_SPECIFIC_NAMESPACES`, CloudFront org overrides).
    pub namespace: Option<String>,
    /// Extra arguments CDN drivers append to their URL, in order (Quay passes `username`,
    /// `namespace`, `repo_name`, `cdn_specific` and CloudFront url-encodes them onto the URL).
    pub cdn_arguments: Vec<(String, String)>,
    /// The pulling user (`None` for anonymous pulls); CloudFlare and Akamai add it to the URL.
    pub username: Option<String>,
    /// The repository name (without namespace); CloudFlare and Akamai add it to the URL.
    pub repo_name: Option<String>,
    /// The namespace is in `CDN_SPECIFIC_NAMESPACES`: CloudFlare and Akamai never bypass the
    /// CDN for it.
    pub cdn_specific: bool,
    /// The request's `Host` header (`MultiCDNStorage` host rules).
    pub host: Option<String>,
}

impl DownloadUrlRequest {
    /// A `GET` URL valid for `expires_in` from `now_unix`.
    pub fn get(now_unix: i64, expires_in: Duration) -> Self {
        Self {
            now_unix,
            expires_in,
            head: false,
            client_ip: None,
            namespace: None,
            cdn_arguments: Vec::new(),
            username: None,
            repo_name: None,
            cdn_specific: false,
            host: None,
        }
    }

    /// Sets what Quay's blob download passes as keyword arguments (`username`, `namespace`,
    /// `repo_name`, `cdn_specific`), including their Python text in `cdn_arguments`
    /// (`None`/`True`/`False` as `str()` writes them, which CloudFront url-encodes).
    #[must_use]
    pub fn with_pull_context(
        mut self,
        username: Option<&str>,
        namespace: &str,
        repo_name: &str,
        cdn_specific: bool,
    ) -> Self {
        let py = |v: Option<&str>| v.map_or_else(|| "None".to_owned(), str::to_owned);
        self.cdn_arguments = vec![
            ("username".to_owned(), py(username)),
            ("namespace".to_owned(), namespace.to_owned()),
            ("repo_name".to_owned(), repo_name.to_owned()),
            (
                "cdn_specific".to_owned(),
                if cdn_specific { "True" } else { "False" }.to_owned(),
            ),
        ];
        self.username = username.map(str::to_owned);
        self.namespace = Some(namespace.to_owned());
        self.repo_name = Some(repo_name.to_owned());
        self.cdn_specific = cdn_specific;
        self
    }

    /// The expiry instant, Unix seconds.
    pub fn expires_at(&self) -> i64 {
        self.now_unix
            .saturating_add(i64::try_from(self.expires_in.as_secs()).unwrap_or(i64::MAX))
    }
}

/// One storage location.
#[async_trait]
pub trait BlobStorage: Send + Sync + Debug {
    /// Size and modification time of `path`, or `None` when it does not exist.
    ///
    /// # Errors
    /// `Unavailable`/`Timeout` when the backend cannot be reached; `Backend` otherwise.
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError>;

    /// Streams `path`, or the part of it in `range`.
    ///
    /// # Errors
    /// `NotFound` when the object does not exist; `InvalidRange` when `range` starts past its
    /// end; `Unavailable`/`Timeout`/`Backend` as for `stat`. Errors while streaming arrive as
    /// `io::Error`s in the stream (never as a silently short body).
    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError>;

    /// Opens `path` (or the part of it in `range`) as a file of this machine, for drivers whose
    /// objects are local files; `None` for every other driver (the default). The HTTP layer
    /// writes such a region to the socket itself instead of streaming it as a [`ByteStream`].
    ///
    /// # Errors
    /// As `get`: `NotFound`, `InvalidRange`, `Backend`.
    async fn open_region(
        &self,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<Option<FileRegion>, StorageError> {
        let _ = (path, range);
        Ok(None)
    }

    /// Reads a whole small object into memory.
    ///
    /// # Errors
    /// As `get`; `TooLarge` when the object is bigger than `max`.
    async fn get_bytes(&self, path: &str, max: u64) -> Result<Bytes, StorageError> {
        let body = self.get(path, None).await?;
        stream::collect(body, max).await
    }

    /// Writes `path` from `body`, replacing any previous object atomically. `size_hint` is the
    /// exact length when known (lets drivers send one request). Returns the bytes written.
    ///
    /// # Errors
    /// `ReadOnly` for a read-only location; `Body` when reading `body` failed (nothing becomes
    /// visible); `SizeMismatch` when `size_hint` was wrong; `Unavailable`/`Timeout`/`Backend`.
    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size_hint: Option<u64>,
    ) -> Result<u64, StorageError>;

    /// Deletes `path`. Deleting a missing object succeeds.
    ///
    /// # Errors
    /// `ReadOnly`; `Unavailable`/`Timeout`/`Backend`.
    async fn delete(&self, path: &str) -> Result<(), StorageError>;

    /// A signed URL a client can fetch `path` from directly, or `None` when this driver cannot
    /// sign (local storage) or signing is not configured (Swift without `temp_url_key`).
    ///
    /// # Errors
    /// `Signing` when the crypto provider fails; `Backend` for other failures.
    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError>;

    /// Whether clients may resume downloads with byte ranges (Quay's
    /// `get_supports_resumable_downloads`: true for the S3 family, which answers `Accept-Ranges`).
    fn supports_resumable_downloads(&self) -> bool {
        false
    }

    /// Starts a chunked upload.
    ///
    /// # Errors
    /// `ReadOnly`; `Unavailable`/`Timeout`/`Backend`.
    async fn begin_upload(&self) -> Result<UploadState, StorageError>;

    /// Appends `body` at `offset` and returns the bytes written with the new state.
    ///
    /// # Errors
    /// `InvalidOffset` when `offset` is not the upload's current length (out of order);
    /// `InvalidUploadState` when `state` cannot be read; `UploadNotFound` when the upload is
    /// gone; `Body` when reading `body` failed (the state passed in stays valid);
    /// `Unavailable`/`Timeout`/`Backend`.
    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError>;

    /// Assembles the upload at `final_path` and removes its temporary objects. When an object
    /// already exists at `final_path` (same digest pushed twice) it is kept.
    ///
    /// # Errors
    /// `InvalidUploadState`; `UploadNotFound`; `Unavailable`/`Timeout`/`Backend` (nothing new
    /// becomes visible at `final_path`).
    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError>;

    /// Abandons the upload and removes its temporary objects. Cancelling twice succeeds.
    ///
    /// # Errors
    /// `InvalidUploadState`; `Unavailable`/`Timeout`/`Backend`.
    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError>;

    /// Lists objects whose path starts with `prefix` (e.g. `uploads/` for the cleanup worker).
    ///
    /// # Errors
    /// `Unavailable`/`Timeout`/`Backend`.
    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError>;

    /// Copies `path` from this location to `destination` (the storage-replication worker).
    ///
    /// # Errors
    /// `NotFound` when `path` is missing here; errors of `get` and `put`.
    async fn copy_to(&self, destination: &dyn BlobStorage, path: &str) -> Result<(), StorageError> {
        let size = self.stat(path).await?.map(|m| m.size);
        if size.is_none() {
            return Err(StorageError::NotFound {
                path: path.to_string(),
            });
        }
        let body = self.get(path, None).await?;
        destination.put(path, body, size).await?;
        Ok(())
    }
}
