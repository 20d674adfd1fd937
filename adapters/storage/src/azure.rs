//! `AzureStorage`: block blobs over the Blob REST API, signed with Shared Key.
//!
//! - blob name = `storage_path` (leading `/` dropped) joined with the path, trailing `/` dropped
//!   (Quay's `_blob_name_from_path`);
//! - whole-object writes: one streamed `Put Blob` when the size is known (up to 256 MiB is one
//!   request), else staged 8 MiB blocks with random ids committed by `Put Block List` — blocks
//!   are invisible until committed, so a failure leaves nothing partial;
//! - chunked uploads: blocks staged on `uploads/<uuid>` with ids `base64("%05d" % index)` and
//!   `storage_metadata` `{"blocks": ["00000", ...], "content-type": null}` as Quay writes it;
//!   completion commits the list, copies the blob to its final name (source authorised by a
//!   short SAS, as Quay does) and deletes the upload blob;
//! - direct download: read-only service SAS.

mod chunked;
mod client;
pub mod sign;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quay_ports::storage::signing::StorageCrypto;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::http;
use sign::KeySigner;

/// Largest single `Put Blob` we send.
const MAX_PUT: u64 = 256 * 1024 * 1024;
/// Block size of staged writes.
const BLOCK: usize = 8 * 1024 * 1024;

/// `AzureStorage` parameters (Quay's constructor arguments).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AzureStorageParams {
    /// Container.
    pub azure_container: String,
    /// Prefix inside the container.
    pub storage_path: String,
    /// Account name.
    pub azure_account_name: String,
    /// Account key (base64).
    pub azure_account_key: Option<SecretString>,
    /// SAS token (accepted by Quay's schema; quay-rs needs the account key to sign).
    pub sas_token: Option<SecretString>,
    /// Account URL (`https://<account>.blob.core.windows.net` when absent).
    pub endpoint_url: Option<String>,
}

/// An Azure Blob storage location.
#[derive(Debug, Clone)]
pub struct AzureStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    account_url: Url,
    container: String,
    storage_path: String,
    signer: KeySigner,
    client: reqwest::Client,
}

impl AzureStorage {
    /// A driver for `params`, signing with `crypto`.
    ///
    /// # Errors
    /// `Unsupported` without an account key; `Backend` for a bad URL or key.
    pub fn new(
        params: &AzureStorageParams,
        crypto: Arc<dyn StorageCrypto>,
    ) -> Result<Self, StorageError> {
        let Some(key) = &params.azure_account_key else {
            return Err(StorageError::Unsupported(
                "AzureStorage without azure_account_key",
            ));
        };
        let url = params.endpoint_url.clone().unwrap_or_else(|| {
            format!(
                "https://{}.blob.core.windows.net",
                params.azure_account_name
            )
        });
        let account_url = Url::parse(url.trim_end_matches('/'))
            .map_err(|e| StorageError::backend("config", "endpoint_url", e))?;
        let signer = KeySigner::new(crypto, &params.azure_account_name, key.expose_secret())?;
        Ok(Self {
            inner: Arc::new(Inner {
                account_url,
                container: params.azure_container.clone(),
                storage_path: params.storage_path.trim_start_matches('/').to_string(),
                signer,
                client: http::client(Duration::from_secs(30), Duration::from_secs(120))?,
            }),
        })
    }

    /// Creates the container (tests and first-time setup); an existing one is fine.
    ///
    /// # Errors
    /// Backend failures.
    pub async fn create_container(&self) -> Result<(), StorageError> {
        let req = Req::new(Method::PUT, None).query("restype", "container");
        let resp = self.inner.send(req, None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::CONFLICT {
            Ok(())
        } else {
            Err(http::status_error(resp, "create_container", "").await)
        }
    }
}

/// One Blob API request before signing; `blob = None` addresses the container.
struct Req {
    method: Method,
    blob: Option<String>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    range: Option<String>,
    content_type: Option<String>,
}

impl Req {
    fn new(method: Method, blob: Option<&str>) -> Self {
        Self {
            method,
            blob: blob.map(str::to_string),
            query: Vec::new(),
            headers: Vec::new(),
            range: None,
            content_type: None,
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

#[async_trait]
impl BlobStorage for AzureStorage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        self.inner.head(&self.inner.blob_name(path), path).await
    }

    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        let blob = self.inner.blob_name(path);
        let range = range.unwrap_or(ByteRange::from(0));
        if range.end.is_some_and(|e| e <= range.start) {
            return Ok(quay_ports::storage::stream::empty());
        }
        let resp = self.inner.open_range(&blob, path, range).await?;
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok());
        let opener = self.inner.opener(blob, path.to_string());
        Ok(http::resuming_stream(
            resp,
            opener,
            range.start,
            len.map(|n| range.start + n),
            path.to_string(),
        ))
    }

    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size_hint: Option<u64>,
    ) -> Result<u64, StorageError> {
        let blob = self.inner.blob_name(path);
        match size_hint {
            Some(len) if len <= MAX_PUT => self.inner.put_streamed(&blob, path, body, len).await,
            _ => {
                let n = self.inner.put_blocks(&blob, path, body).await?;
                if let Some(exp) = size_hint.filter(|e| *e != n) {
                    self.inner.delete_blob(&blob, path).await?;
                    return Err(StorageError::SizeMismatch {
                        expected: exp,
                        actual: n,
                    });
                }
                Ok(n)
            }
        }
    }

    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        self.inner
            .delete_blob(&self.inner.blob_name(path), path)
            .await
    }

    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        let blob = self.inner.blob_name(path);
        self.inner.sas_url(&blob, request.expires_at()).map(Some)
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
