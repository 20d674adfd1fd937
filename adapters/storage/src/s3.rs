//! The S3 family (`S3Storage`, `RadosGWStorage`, `RHOCSStorage`, `IBMCloudStorage`,
//! `GoogleCloudStorage` through S3 interoperability): one driver over the S3 REST API.
//!
//! - object key = `storage_path` joined with the relative path, leading `/` dropped (Quay's
//!   `_init_path`);
//! - whole-object writes: one streamed `PUT` when the size is known, else a multipart upload of
//!   8 MiB parts buffered one at a time (bounded memory); aborted on failure, so nothing partial
//!   becomes visible;
//! - chunked uploads: every chunk is its own object `uploads/<uuid4>`, recorded in
//!   `{"chunks": [[path, offset, length], ...]}` exactly as Quay's `_CloudStorage` writes it;
//!   completion assembles server-side (single chunk: copy; all non-last chunks at least
//!   `minimum_chunk_size`: multipart `UploadPartCopy`, parts over `maximum_chunk_size` halved)
//!   or streams the chunks client-side into the final object, then deletes the chunks;
//! - direct download: SigV4 presigned `GET`/`HEAD`.

mod chunked;
mod client;
pub mod cloudfront;
pub mod params;
pub mod sigv4;
pub mod sts;

use std::sync::Arc;

use async_trait::async_trait;
use quay_ports::storage::signing::StorageCrypto;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use reqwest::{Method, StatusCode};
use url::Url;

use crate::http;
use client::header_u64;
pub use params::{
    GoogleCloudStorageParams, IbmCloudStorageParams, RadosGwStorageParams, S3Config,
    S3StorageParams,
};
use sigv4::Signer;

/// Part size of multipart writes of unknown length.
const PART: usize = 8 * 1024 * 1024;

/// Bodies up to this size are read into memory first so that their `PUT` can be retried on a
/// transient failure (a streamed body cannot be sent twice).
const RETRYABLE_PUT: u64 = 1024 * 1024;

/// An S3-family storage location.
#[derive(Debug, Clone)]
pub struct S3Storage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: S3Config,
    client: reqwest::Client,
    signer: Signer,
    sts: Option<sts::AssumedRole>,
    chain: Option<Arc<crate::aws_credentials::DefaultChain>>,
}

/// One S3 request before signing.
struct Req<'a> {
    method: Method,
    key: &'a str,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
}

impl<'a> Req<'a> {
    fn new(method: Method, key: &'a str) -> Self {
        Self {
            method,
            key,
            query: Vec::new(),
            headers: Vec::new(),
        }
    }
    fn query(mut self, k: &str, v: impl Into<String>) -> Self {
        self.query.push((k.to_string(), v.into()));
        self
    }
    fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }
}

impl S3Storage {
    /// A driver for `cfg`, signing with `crypto`.
    ///
    /// # Errors
    /// `Backend` when the HTTP client cannot be built.
    pub fn new(cfg: S3Config, crypto: Arc<dyn StorageCrypto>) -> Result<Self, StorageError> {
        let client = http::client(cfg.connect_timeout, cfg.read_timeout)?;
        let signer = Signer::new(crypto, &cfg.region, "s3");
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                client,
                signer,
                sts: None,
                chain: None,
            }),
        })
    }

    /// A driver for `cfg` (whose credentials are ignored) signing with the credentials the AWS
    /// default chain finds (Quay's drivers configured without keys).
    ///
    /// # Errors
    /// `Backend` when the HTTP client cannot be built.
    pub fn with_default_chain(
        cfg: S3Config,
        chain: Arc<crate::aws_credentials::DefaultChain>,
        crypto: Arc<dyn StorageCrypto>,
    ) -> Result<Self, StorageError> {
        let client = http::client(cfg.connect_timeout, cfg.read_timeout)?;
        let signer = Signer::new(crypto, &cfg.region, "s3");
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                client,
                signer,
                sts: None,
                chain: Some(chain),
            }),
        })
    }

    /// `STSS3Storage`: a driver for `cfg` signing with credentials of `role`, assumed through
    /// STS and refreshed before they expire.
    ///
    /// # Errors
    /// `Backend` when the HTTP client cannot be built.
    pub fn with_assumed_role(
        cfg: S3Config,
        role: sts::AssumedRole,
        crypto: Arc<dyn StorageCrypto>,
    ) -> Result<Self, StorageError> {
        let client = http::client(cfg.connect_timeout, cfg.read_timeout)?;
        let signer = Signer::new(crypto, &cfg.region, "s3");
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                client,
                signer,
                sts: Some(role),
                chain: None,
            }),
        })
    }

    /// Creates the bucket (tests and first-time setup); an existing bucket is fine.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn create_bucket(&self) -> Result<(), StorageError> {
        let resp = self.inner.send(Req::new(Method::PUT, ""), None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(http::status_error(resp, "create_bucket", "").await)
        }
    }
}

#[async_trait]
impl BlobStorage for S3Storage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        self.inner.head(&self.inner.key(path), path).await
    }

    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        let key = self.inner.key(path);
        let range = range.unwrap_or(ByteRange::from(0));
        if range.end.is_some_and(|e| e <= range.start) {
            return Ok(quay_ports::storage::stream::empty());
        }
        let resp = self.inner.open_range(&key, path, range).await?;
        let end = header_u64(&resp, "content-length").map(|n| range.start + n);
        let opener = self.inner.opener(key, path.to_string());
        Ok(http::resuming_stream(
            resp,
            opener,
            range.start,
            end,
            path.to_string(),
        ))
    }

    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size_hint: Option<u64>,
    ) -> Result<u64, StorageError> {
        let key = self.inner.key(path);
        match size_hint {
            Some(len) if len <= RETRYABLE_PUT => {
                let data = collect_small(body, len).await?;
                self.inner.put_bytes(&key, path, data).await
            }
            Some(len) if len <= 5 * 1024 * 1024 * 1024 => {
                self.inner.put_streamed(&key, path, body, len).await
            }
            Some(len) => {
                let n = self.inner.put_unsized(&key, path, body).await?;
                if n != len {
                    self.inner.delete_key(&key, path).await?;
                    return Err(StorageError::SizeMismatch {
                        expected: len,
                        actual: n,
                    });
                }
                Ok(n)
            }
            None => self.inner.put_unsized(&key, path, body).await,
        }
    }

    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        self.inner.delete_key(&self.inner.key(path), path).await
    }

    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        self.inner.presign(path, request).await.map(Some)
    }

    fn supports_resumable_downloads(&self) -> bool {
        true
    }

    async fn begin_upload(&self) -> Result<UploadState, StorageError> {
        Ok(chunked::begin())
    }

    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError> {
        chunked::upload_chunk(&self.inner, state, offset, body).await
    }

    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError> {
        chunked::complete(&self.inner, state, final_path).await
    }

    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError> {
        chunked::cancel(&self.inner, state).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.inner.list(prefix).await
    }
}

/// Reads a body announced as `len` bytes (at most [`RETRYABLE_PUT`]) into memory.
async fn collect_small(
    mut body: quay_ports::storage::ByteStream,
    len: u64,
) -> Result<bytes::Bytes, StorageError> {
    use futures_util::StreamExt as _;
    let mut buf = bytes::BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(StorageError::Body)?;
        buf.extend_from_slice(&chunk);
        if buf.len() as u64 > len {
            break;
        }
    }
    let actual = buf.len() as u64;
    if actual != len {
        return Err(StorageError::SizeMismatch {
            expected: len,
            actual,
        });
    }
    Ok(buf.freeze())
}
