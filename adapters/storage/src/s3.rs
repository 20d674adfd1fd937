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
pub mod params;
pub mod sigv4;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use quay_domain::storage_path::object_key;
use quay_ports::storage::signing::StorageCrypto;
use quay_ports::storage::stream::fill;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta,
    StorageError, UploadState,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use crate::http::{self, RangeOpener, SizedBody};
pub use params::{
    GoogleCloudStorageParams, IbmCloudStorageParams, RadosGwStorageParams, S3Config,
    S3StorageParams,
};
use sigv4::{Signer, UNSIGNED_PAYLOAD, Unsigned, encode_path};

/// Part size of multipart writes of unknown length.
const PART: usize = 8 * 1024 * 1024;

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
            inner: Arc::new(Inner { cfg, client, signer }),
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

impl Inner {
    fn key(&self, path: &str) -> String {
        object_key(&self.cfg.storage_path, path)
    }

    /// `(url, host, encoded path)` of an object key (empty key = the bucket).
    fn locate(&self, key: &str) -> Result<(Url, String, String), StorageError> {
        let ep = &self.cfg.endpoint;
        let host = ep.host_str().unwrap_or_default();
        let (host, path) = if self.cfg.virtual_host {
            (format!("{}.{host}", self.cfg.bucket), format!("/{}", encode_path(key)))
        } else if key.is_empty() {
            (host.to_string(), format!("/{}", sigv4::encode(&self.cfg.bucket)))
        } else {
            (
                host.to_string(),
                format!("/{}/{}", sigv4::encode(&self.cfg.bucket), encode_path(key)),
            )
        };
        let host = match ep.port() {
            Some(p) => format!("{host}:{p}"),
            None => host,
        };
        let url = Url::parse(&format!("{}://{host}{path}", ep.scheme()))
            .map_err(|e| StorageError::backend("url", key, e))?;
        Ok((url, host, path))
    }

    fn build(&self, req: &Req<'_>) -> Result<RequestBuilder, StorageError> {
        let (mut url, host, path) = self.locate(req.key)?;
        let unsigned = Unsigned {
            method: req.method.as_str(),
            host: &host,
            path: &path,
            query: req.query.clone(),
            headers: req.headers.clone(),
        };
        let signed = self.signer.sign_headers(
            &unsigned,
            UNSIGNED_PAYLOAD,
            crate::now_unix(),
            &self.cfg.credentials,
        )?;
        let q: Vec<String> = req
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", sigv4::encode(k), sigv4::encode(v)))
            .collect();
        url.set_query((!q.is_empty()).then(|| q.join("&")).as_deref());
        let mut rb = self.client.request(req.method.clone(), url);
        for (k, v) in req.headers.iter().chain(signed.iter()) {
            rb = rb.header(k.as_str(), v.as_str());
        }
        Ok(rb)
    }

    /// Sends an idempotent request (retried), optionally with a small in-memory body.
    async fn send(&self, req: Req<'_>, body: Option<Bytes>) -> Result<Response, StorageError> {
        let op = req.method.as_str().to_string();
        let op: &'static str = match op.as_str() {
            "GET" => "get",
            "HEAD" => "stat",
            "PUT" => "put",
            "DELETE" => "delete",
            _ => "post",
        };
        let key = req.key.to_string();
        http::send_idempotent(
            || {
                let rb = self.build(&req)?;
                Ok(match &body {
                    Some(b) => rb.header("content-length", b.len()).body(b.clone()),
                    None => rb,
                })
            },
            op,
            &key,
        )
        .await
    }

    async fn head(&self, key: &str, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        let resp = self.send(Req::new(Method::HEAD, key), None).await?;
        match resp.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => Ok(Some(ObjectMeta {
                size: header_u64(&resp, "content-length").unwrap_or(0),
                modified_unix: header_time(&resp),
            })),
            _ => Err(http::status_error(resp, "stat", path).await),
        }
    }

    /// Streams `body` into one object with a single `PUT` of `len` bytes.
    async fn put_streamed(
        &self,
        key: &str,
        path: &str,
        body: ByteStream,
        len: u64,
    ) -> Result<u64, StorageError> {
        let mut req = Req::new(Method::PUT, key);
        if self.cfg.server_side_encryption {
            req = req.header("x-amz-server-side-encryption", "AES256");
        }
        let (sized, failure) = SizedBody::new(body, Some(len));
        let rb = self
            .build(&req)?
            .header("content-length", len)
            .body(reqwest::Body::wrap_stream(sized));
        let resp = rb
            .send()
            .await
            .map_err(|e| http::transport_error(e, "put", path, Some(&failure)))?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        if !resp.status().is_success() {
            return Err(http::status_error(resp, "put", path).await);
        }
        Ok(len)
    }

    async fn put_bytes(&self, key: &str, path: &str, data: Bytes) -> Result<u64, StorageError> {
        let mut req = Req::new(Method::PUT, key);
        if self.cfg.server_side_encryption {
            req = req.header("x-amz-server-side-encryption", "AES256");
        }
        let n = data.len() as u64;
        let resp = self.send(req, Some(data)).await?;
        if !resp.status().is_success() {
            return Err(http::status_error(resp, "put", path).await);
        }
        Ok(n)
    }

    /// Writes a body of unknown length: one `PUT` when it fits in a part, else multipart.
    async fn put_unsized(&self, key: &str, path: &str, mut body: ByteStream) -> Result<u64, StorageError> {
        let mut carry = None;
        let mut first = BytesMut::with_capacity(PART);
        let more = fill(&mut body, &mut carry, &mut first, PART).await?;
        if !more {
            return self.put_bytes(key, path, first.freeze()).await;
        }
        let mpu = self.multipart_begin(key, path).await?;
        let result = async {
            let mut etags = Vec::new();
            let mut part = first.freeze();
            let mut total = 0u64;
            loop {
                total += part.len() as u64;
                let n = etags.len() + 1;
                etags.push(self.multipart_part(key, path, &mpu, n, part).await?);
                let mut next = BytesMut::with_capacity(PART);
                let more = fill(&mut body, &mut carry, &mut next, PART).await?;
                if next.is_empty() {
                    break;
                }
                part = next.freeze();
                if !more {
                    total += part.len() as u64;
                    let n = etags.len() + 1;
                    etags.push(self.multipart_part(key, path, &mpu, n, part).await?);
                    break;
                }
            }
            self.multipart_complete(key, path, &mpu, &etags).await?;
            Ok(total)
        }
        .await;
        if result.is_err() {
            self.multipart_abort(key, &mpu).await;
        }
        result
    }

    async fn multipart_begin(&self, key: &str, path: &str) -> Result<String, StorageError> {
        let mut req = Req::new(Method::POST, key).query("uploads", "");
        if self.cfg.server_side_encryption {
            req = req.header("x-amz-server-side-encryption", "AES256");
        }
        let resp = self.send(req, None).await?;
        if !resp.status().is_success() {
            return Err(http::status_error(resp, "multipart", path).await);
        }
        let text = resp
            .text()
            .await
            .map_err(|e| http::transport_error(e, "multipart", path, None))?;
        http::xml_value(&text, "UploadId").ok_or_else(|| {
            StorageError::backend("multipart", path, std::io::Error::other("no UploadId"))
        })
    }

    async fn multipart_part(
        &self,
        key: &str,
        path: &str,
        mpu: &str,
        n: usize,
        data: Bytes,
    ) -> Result<String, StorageError> {
        let req = Req::new(Method::PUT, key)
            .query("partNumber", n.to_string())
            .query("uploadId", mpu);
        let resp = self.send(req, Some(data)).await?;
        if !resp.status().is_success() {
            return Err(http::status_error(resp, "put", path).await);
        }
        etag(&resp, path)
    }

    async fn multipart_complete(
        &self,
        key: &str,
        path: &str,
        mpu: &str,
        etags: &[String],
    ) -> Result<(), StorageError> {
        let mut xml = String::from("<CompleteMultipartUpload>");
        for (i, e) in etags.iter().enumerate() {
            xml.push_str(&format!(
                "<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>",
                i + 1,
                http::xml_escape(e)
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let req = Req::new(Method::POST, key).query("uploadId", mpu);
        let resp = self.send(req, Some(Bytes::from(xml))).await?;
        ok_xml(resp, "complete", path).await.map(|_| ())
    }

    async fn multipart_abort(&self, key: &str, mpu: &str) {
        let req = Req::new(Method::DELETE, key).query("uploadId", mpu);
        if let Err(e) = self.send(req, None).await {
            tracing::warn!(storage.key = key, error = %e, "aborting a multipart upload failed");
        }
    }

    async fn delete_key(&self, key: &str, path: &str) -> Result<(), StorageError> {
        let resp = self.send(Req::new(Method::DELETE, key), None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(http::status_error(resp, "delete", path).await)
        }
    }

    fn opener(self: &Arc<Self>, key: String, path: String) -> RangeOpener {
        let me = self.clone();
        Arc::new(move |start, end| {
            let me = me.clone();
            let key = key.clone();
            let path = path.clone();
            Box::pin(async move { me.open_range(&key, &path, ByteRange { start, end }).await })
        })
    }

    async fn open_range(
        &self,
        key: &str,
        path: &str,
        range: ByteRange,
    ) -> Result<Response, StorageError> {
        let mut req = Req::new(Method::GET, key);
        let ranged = range.start > 0 || range.end.is_some();
        if ranged && let Some(h) = range.http_header() {
            req = req.header("range", h);
        }
        let resp = self.send(req, None).await?;
        match resp.status() {
            s if s.is_success() => Ok(resp),
            StatusCode::NOT_FOUND => Err(StorageError::NotFound {
                path: path.to_string(),
            }),
            StatusCode::RANGE_NOT_SATISFIABLE => Err(StorageError::InvalidRange {
                path: path.to_string(),
            }),
            _ => Err(http::status_error(resp, "get", path).await),
        }
    }
}

fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
}

fn header_time(resp: &Response) -> Option<i64> {
    resp.headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
        .map(|t| t.timestamp())
}

fn etag(resp: &Response, path: &str) -> Result<String, StorageError> {
    resp.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| StorageError::backend("put", path, std::io::Error::other("no ETag")))
}

/// Reads a 200 reply that may still carry `<Error>` (S3's "InternalError with 200").
async fn ok_xml(resp: Response, op: &'static str, path: &str) -> Result<String, StorageError> {
    if !resp.status().is_success() {
        return Err(http::status_error(resp, op, path).await);
    }
    let text = resp
        .text()
        .await
        .map_err(|e| http::transport_error(e, op, path, None))?;
    if text.contains("<Error>") {
        let code = http::xml_value(&text, "Code").unwrap_or_default();
        let err = std::io::Error::other(format!("S3 error {code} in a 200 reply"));
        return Err(if code == "InternalError" || code == "SlowDown" {
            StorageError::unavailable(op, path, err)
        } else {
            StorageError::backend(op, path, err)
        });
    }
    Ok(text)
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
        Ok(http::resuming_stream(resp, opener, range.start, end, path.to_string()))
    }

    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size_hint: Option<u64>,
    ) -> Result<u64, StorageError> {
        let key = self.inner.key(path);
        match size_hint {
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
        self.inner.presign(path, request).map(Some)
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

impl Inner {
    fn presign(&self, path: &str, request: &DownloadUrlRequest) -> Result<Url, StorageError> {
        let key = self.key(path);
        let (mut url, host, epath) = self.locate(&key)?;
        let method = if request.head { "HEAD" } else { "GET" };
        let unsigned = Unsigned {
            method,
            host: &host,
            path: &epath,
            query: Vec::new(),
            headers: Vec::new(),
        };
        let q = self.signer.presign_query(
            &unsigned,
            request.now_unix,
            request.expires_in.as_secs(),
            &self.cfg.credentials,
        )?;
        url.set_query(Some(&q));
        Ok(url)
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let root = self.key("");
        let root = if root.is_empty() || root.ends_with('/') {
            root
        } else {
            format!("{root}/")
        };
        let full = format!("{root}{prefix}");
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = Req::new(Method::GET, "").query("prefix", full.clone());
            if !self.cfg.list_v1 {
                req = req.query("list-type", "2");
            }
            if let Some(t) = &token {
                let k = if self.cfg.list_v1 { "marker" } else { "continuation-token" };
                req = req.query(k, t.clone());
            }
            let resp = self.send(req, None).await?;
            let text = ok_xml(resp, "list", prefix).await?;
            let mut last_key = None;
            for item in http::xml_elements(&text, "Contents") {
                let key = http::xml_value(item, "Key").unwrap_or_default();
                last_key = Some(key.clone());
                let size = http::xml_value(item, "Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let modified = http::xml_value(item, "LastModified")
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(&s).ok())
                    .map(|t| t.timestamp());
                if let Some(rel) = key.strip_prefix(&root) {
                    out.push(ListedObject {
                        path: rel.to_string(),
                        size,
                        modified_unix: modified,
                    });
                }
            }
            if http::xml_value(&text, "IsTruncated").as_deref() != Some("true") {
                return Ok(out);
            }
            token = if self.cfg.list_v1 {
                http::xml_value(&text, "NextMarker").or(last_key)
            } else {
                http::xml_value(&text, "NextContinuationToken")
            };
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
