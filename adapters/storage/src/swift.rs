//! `SwiftStorage`: OpenStack Swift, as Python Quay uses it.
//!
//! - object name = `storage_path` (leading `/` dropped) joined with the path (`os.path.join`, or
//!   plain concatenation with `simple_path_concat`), trailing `/` dropped;
//! - chunked uploads write segments `segments/<uuid>/%09d` of at most 200,000,000 bytes, each
//!   streamed as its own `PUT`; `storage_metadata` is
//!   `{"segments": [[path, offset, length], ...], "emptysegments": [...]}`; completion writes a
//!   zero-byte object with `X-Object-Manifest: <container>/<root>/segments/<uuid>` (a Dynamic
//!   Large Object), so the blob becomes visible at once and whole;
//! - segments are not deleted in the request path: with a `chunk_cleanup` sink (Quay's
//!   `chunk_cleanup` queue) completion enqueues the empty segments and cancel enqueues every
//!   segment; without a sink cancel deletes them directly;
//! - deleting a DLO deletes its segments; direct download is a TempURL (HMAC-SHA1 through the
//!   crypto port) when `temp_url_key` is set.

pub mod auth;
mod client;
mod segments;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quay_domain::storage_path::{SEGMENTS_PREFIX, StoragePath};
use quay_ports::storage::cleanup::ChunkCleanupSink;
use quay_ports::storage::signing::StorageCrypto;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::http;
use auth::{AuthConfig, Session};

/// Largest segment Quay writes (`_MAXIMUM_SEGMENT_SIZE`).
pub const MAXIMUM_SEGMENT_SIZE: u64 = 200_000_000;

/// `SwiftStorage` parameters (Quay's constructor arguments).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SwiftStorageParams {
    /// Container.
    pub swift_container: String,
    /// Prefix inside the container.
    pub storage_path: String,
    /// Auth endpoint.
    pub auth_url: String,
    /// User.
    pub swift_user: String,
    /// Password or key.
    pub swift_password: SecretString,
    /// 1, 2 (default) or 3; a number or a string.
    pub auth_version: Option<Value>,
    /// Keystone options (`tenant_name`, `project_name`, `region_name`, `object_storage_url`, …).
    pub os_options: Option<serde_json::Map<String, Value>>,
    /// CA bundle (PEM) for the Swift and auth endpoints.
    pub ca_cert_path: Option<std::path::PathBuf>,
    /// `X-Account-Meta-Temp-URL-Key`; enables direct downloads.
    pub temp_url_key: Option<SecretString>,
    /// Join `storage_path` and paths by plain concatenation.
    pub simple_path_concat: Option<bool>,
    /// Connect timeout, seconds.
    pub connect_timeout: Option<u64>,
    /// Retries of idempotent requests (swiftclient's `retries`).
    pub retry_count: Option<Value>,
    /// Retry on 498/429 (always on here).
    pub retry_on_ratelimit: Option<bool>,
}

/// The Swift driver of one location.
#[derive(Debug, Clone)]
pub struct SwiftStorage {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    container: String,
    storage_path: String,
    simple_concat: bool,
    temp_url_key: Option<SecretString>,
    auth: AuthConfig,
    client: reqwest::Client,
    session: tokio::sync::Mutex<Option<Session>>,
    crypto: Arc<dyn StorageCrypto>,
    cleanup: Option<(String, Arc<dyn ChunkCleanupSink>)>,
}

/// Swift's `storage_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentMetadata {
    /// Segments with data: `(path, upload offset, length)`.
    pub segments: Vec<(String, u64, u64)>,
    /// Segments written empty (Python Quay ends every chunk with one).
    pub emptysegments: Vec<(String, u64, u64)>,
}

impl SegmentMetadata {
    fn parse(state: &UploadState) -> Result<Self, StorageError> {
        serde_json::from_str(&state.metadata)
            .map_err(|e| StorageError::InvalidUploadState(format!("Swift segment metadata: {e}")))
    }
    fn to_state(&self, id: &str) -> UploadState {
        UploadState {
            upload_id: id.to_string(),
            metadata: crate::pyjson::dumps(self),
        }
    }
}

impl SwiftStorage {
    /// A driver for `params`. `cleanup` is `(location name, sink)` for `chunk_cleanup` items.
    ///
    /// # Errors
    /// `Backend` for an unreadable CA bundle or a client that cannot be built.
    pub fn new(
        params: &SwiftStorageParams,
        crypto: Arc<dyn StorageCrypto>,
        cleanup: Option<(String, Arc<dyn ChunkCleanupSink>)>,
    ) -> Result<Self, StorageError> {
        let version = match &params.auth_version {
            Some(Value::Number(n)) => n.as_u64().unwrap_or(2),
            Some(Value::String(s)) => s.parse().unwrap_or(2),
            _ => 2,
        };
        let timeout = Duration::from_secs(params.connect_timeout.unwrap_or(10));
        let mut builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            .read_timeout(Duration::from_secs(120));
        if let Some(ca) = &params.ca_cert_path {
            let pem = std::fs::read(ca)
                .map_err(|e| StorageError::backend("config", "ca_cert_path", e))?;
            let cert = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| StorageError::backend("config", "ca_cert_path", e))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| StorageError::backend("client", "", e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                container: params.swift_container.clone(),
                storage_path: params.storage_path.trim_start_matches('/').to_string(),
                simple_concat: params.simple_path_concat.unwrap_or(false),
                temp_url_key: params.temp_url_key.clone(),
                auth: AuthConfig {
                    auth_url: params.auth_url.clone(),
                    user: params.swift_user.clone(),
                    password: params.swift_password.clone(),
                    version: u8::try_from(version).unwrap_or(2),
                    os_options: params.os_options.clone().unwrap_or_default(),
                },
                client,
                session: tokio::sync::Mutex::new(None),
                crypto,
                cleanup,
            }),
        })
    }

    /// Creates the container (tests and first-time setup).
    ///
    /// # Errors
    /// Backend failures.
    pub async fn create_container(&self) -> Result<(), StorageError> {
        let resp = self.inner.send(Method::PUT, None, &[], None).await?;
        self.inner
            .ok(resp, "create_container", "")
            .await
            .map(|_| ())
    }

    /// Sets the account's TempURL key (tests and first-time setup).
    ///
    /// # Errors
    /// Backend failures.
    pub async fn set_temp_url_key(&self, key: &str) -> Result<(), StorageError> {
        let session = self.inner.session().await?;
        let resp = self
            .inner
            .client
            .post(&session.storage_url)
            .header("x-auth-token", session.token.expose_secret())
            .header("x-account-meta-temp-url-key", key)
            .send()
            .await
            .map_err(|e| http::transport_error(e, "config", "", None))?;
        self.inner.ok(resp, "config", "").await.map(|_| ())
    }
}

#[async_trait]
impl BlobStorage for SwiftStorage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let Some(h) = self.inner.head(&self.inner.object(path), path).await? else {
            return Ok(None);
        };
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
        Ok(Some(ObjectMeta {
            size: get("content-length")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            modified_unix: get("last-modified")
                .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
                .map(|t| t.timestamp()),
        }))
    }

    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        let object = self.inner.object(path);
        let range = range.unwrap_or(ByteRange::from(0));
        if range.end.is_some_and(|e| e <= range.start) {
            return Ok(quay_ports::storage::stream::empty());
        }
        let resp = self.inner.open_range(&object, path, range).await?;
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<u64>().ok());
        let opener = self.inner.opener(object, path.to_string());
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
        let object = self.inner.object(path);
        match size_hint {
            Some(n) => self.inner.put_stream(&object, path, body, Some(n)).await,
            None => {
                // Count while streaming with chunked encoding.
                let counted = Arc::new(std::sync::atomic::AtomicU64::new(0));
                let c = counted.clone();
                let body: ByteStream = Box::pin(futures_util::StreamExt::inspect(body, move |r| {
                    if let Ok(b) = r {
                        c.fetch_add(b.len() as u64, std::sync::atomic::Ordering::SeqCst);
                    }
                }));
                self.inner.put_stream(&object, path, body, None).await?;
                Ok(counted.load(std::sync::atomic::Ordering::SeqCst))
            }
        }
    }

    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        let object = self.inner.object(path);
        let Some(h) = self.inner.head(&object, path).await? else {
            return Ok(());
        };
        self.inner.delete_object(&object, path).await?;
        if let Some(manifest) = h.get("x-object-manifest").and_then(|v| v.to_str().ok()) {
            let (container, prefix) = manifest.split_once('/').unwrap_or(("", manifest));
            if container != self.inner.container {
                return Err(StorageError::backend(
                    "delete",
                    path,
                    std::io::Error::other("DLO in another container"),
                ));
            }
            for (name, _, _) in self.inner.list_full(prefix).await? {
                self.inner.delete_object(&name, path).await?;
            }
        }
        Ok(())
    }

    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        self.inner.temp_url(&self.inner.object(path), request).await
    }

    async fn begin_upload(&self) -> Result<UploadState, StorageError> {
        Ok(SegmentMetadata::default().to_state(&uuid::Uuid::new_v4().to_string()))
    }

    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError> {
        let mut meta = SegmentMetadata::parse(state)?;
        let length: u64 = meta.segments.iter().map(|s| s.2).sum();
        if offset != length {
            return Err(StorageError::InvalidOffset {
                expected: length,
                got: offset,
            });
        }
        let splitter = segments::Splitter::new(body);
        let mut written = 0;
        while splitter.has_more().await? {
            let index = u32::try_from(meta.segments.len()).unwrap_or(u32::MAX);
            let seg_path = StoragePath::for_swift_segment(&state.upload_id, index).to_string();
            let (segment, sent) = splitter.segment(MAXIMUM_SEGMENT_SIZE);
            let result = self
                .inner
                .put_stream(
                    &self.inner.object(&seg_path),
                    &seg_path,
                    Box::pin(segment),
                    None,
                )
                .await;
            if let Some(e) = splitter.take_failure() {
                return Err(e);
            }
            result?;
            let n = sent.load(std::sync::atomic::Ordering::SeqCst);
            meta.segments.push((seg_path, offset + written, n));
            written += n;
        }
        Ok((written, meta.to_state(&state.upload_id)))
    }

    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError> {
        let meta = SegmentMetadata::parse(state)?;
        let object = self.inner.object(final_path);
        if self.inner.head(&object, final_path).await?.is_some() {
            return self.cancel_upload(state).await;
        }
        let used: Vec<&String> = meta.segments.iter().map(|s| &s.0).collect();
        let empty: Vec<String> = meta
            .emptysegments
            .iter()
            .filter(|s| !used.contains(&&s.0))
            .map(|s| s.0.clone())
            .collect();
        self.inner.enqueue_cleanup(&state.upload_id, &empty).await?;
        // Segments a failed chunk left behind past the recorded ones would join the DLO.
        let prefix = self
            .inner
            .object(&format!("{SEGMENTS_PREFIX}{}", state.upload_id));
        let recorded: Vec<String> = meta
            .segments
            .iter()
            .map(|s| self.inner.object(&s.0))
            .collect();
        for (name, _, _) in self.inner.list_full(&format!("{prefix}/")).await? {
            if !recorded.contains(&name) {
                self.inner.delete_object(&name, final_path).await?;
            }
        }
        let manifest = format!("{}/{prefix}", self.inner.container);
        let resp = self
            .inner
            .send(
                Method::PUT,
                Some(&object),
                &[("x-object-manifest", manifest)],
                None,
            )
            .await?;
        self.inner
            .ok(resp, "complete_upload", final_path)
            .await
            .map(|_| ())
    }

    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError> {
        let meta = SegmentMetadata::parse(state)?;
        let all: Vec<String> = meta
            .segments
            .iter()
            .chain(meta.emptysegments.iter())
            .map(|s| s.0.clone())
            .collect();
        if self.inner.enqueue_cleanup(&state.upload_id, &all).await? {
            return Ok(());
        }
        let prefix = self
            .inner
            .object(&format!("{SEGMENTS_PREFIX}{}/", state.upload_id));
        for (name, _, _) in self.inner.list_full(&prefix).await? {
            self.inner.delete_object(&name, "segments/").await?;
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let root = self.inner.object("");
        let root = if root.is_empty() || self.inner.simple_concat {
            root
        } else {
            format!("{root}/")
        };
        Ok(self
            .inner
            .list_full(&format!("{root}{prefix}"))
            .await?
            .into_iter()
            .filter_map(|(name, size, modified)| {
                name.strip_prefix(&root).map(|rel| ListedObject {
                    path: rel.to_string(),
                    size,
                    modified_unix: modified,
                })
            })
            .collect())
    }
}
