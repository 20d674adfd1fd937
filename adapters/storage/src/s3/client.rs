//! S3 HTTP plumbing: object keys and URLs, signed requests with retries, streamed and
//! multipart writes, ranged reads, presigned URLs and listings.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use quay_domain::storage_path::object_key;
use quay_ports::storage::stream::fill;
use quay_ports::storage::{
    ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::sigv4::{self, Credentials, UNSIGNED_PAYLOAD, Unsigned, encode_path};
use super::{Inner, PART, Req};
use crate::http::{self, RangeOpener, SizedBody};

impl Inner {
    pub(super) fn key(&self, path: &str) -> String {
        object_key(&self.cfg.storage_path, path)
    }

    /// `(url, host, encoded path)` of an object key (empty key = the bucket).
    pub(super) fn locate(&self, key: &str) -> Result<(Url, String, String), StorageError> {
        let ep = &self.cfg.endpoint;
        let host = ep.host_str().unwrap_or_default();
        let (host, path) = if self.cfg.virtual_host {
            (
                format!("{}.{host}", self.cfg.bucket),
                format!("/{}", encode_path(key)),
            )
        } else if key.is_empty() {
            (
                host.to_string(),
                format!("/{}", sigv4::encode(&self.cfg.bucket)),
            )
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

    /// The credentials to sign with: static, the current assumed-role ones, or the default
    /// chain's.
    pub(super) async fn creds(&self) -> Result<Credentials, StorageError> {
        match (&self.sts, &self.chain) {
            (Some(role), _) => role.credentials(&self.client).await,
            (None, Some(chain)) => chain.credentials(&self.client).await,
            (None, None) => Ok(self.cfg.credentials.clone()),
        }
    }

    pub(super) fn build(
        &self,
        req: &Req<'_>,
        creds: &Credentials,
    ) -> Result<RequestBuilder, StorageError> {
        let (mut url, host, path) = self.locate(req.key)?;
        let unsigned = Unsigned {
            method: req.method.as_str(),
            host: &host,
            path: &path,
            query: req.query.clone(),
            headers: req.headers.clone(),
        };
        let signed =
            self.signer
                .sign_headers(&unsigned, UNSIGNED_PAYLOAD, crate::now_unix(), creds)?;
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
    pub(super) async fn send(
        &self,
        req: Req<'_>,
        body: Option<Bytes>,
    ) -> Result<Response, StorageError> {
        let op = req.method.as_str().to_string();
        let op: &'static str = match op.as_str() {
            "GET" => "get",
            "HEAD" => "stat",
            "PUT" => "put",
            "DELETE" => "delete",
            _ => "post",
        };
        let key = req.key.to_string();
        let creds = self.creds().await?;
        http::send_idempotent(
            || {
                let rb = self.build(&req, &creds)?;
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

    pub(super) async fn head(
        &self,
        key: &str,
        path: &str,
    ) -> Result<Option<ObjectMeta>, StorageError> {
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
    pub(super) async fn put_streamed(
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
        let creds = self.creds().await?;
        let rb = self
            .build(&req, &creds)?
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

    pub(super) async fn put_bytes(
        &self,
        key: &str,
        path: &str,
        data: Bytes,
    ) -> Result<u64, StorageError> {
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
    pub(super) async fn put_unsized(
        &self,
        key: &str,
        path: &str,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
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

    pub(super) async fn multipart_begin(
        &self,
        key: &str,
        path: &str,
    ) -> Result<String, StorageError> {
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

    pub(super) async fn multipart_part(
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

    pub(super) async fn multipart_complete(
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

    pub(super) async fn multipart_abort(&self, key: &str, mpu: &str) {
        let req = Req::new(Method::DELETE, key).query("uploadId", mpu);
        if let Err(e) = self.send(req, None).await {
            tracing::warn!(storage.key = key, error = %e, "aborting a multipart upload failed");
        }
    }

    pub(super) async fn delete_key(&self, key: &str, path: &str) -> Result<(), StorageError> {
        let resp = self.send(Req::new(Method::DELETE, key), None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(http::status_error(resp, "delete", path).await)
        }
    }

    pub(super) fn opener(self: &Arc<Self>, key: String, path: String) -> RangeOpener {
        let me = self.clone();
        Arc::new(move |start, end| {
            let me = me.clone();
            let key = key.clone();
            let path = path.clone();
            Box::pin(async move { me.open_range(&key, &path, ByteRange { start, end }).await })
        })
    }

    pub(super) async fn open_range(
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

pub(super) fn header_u64(resp: &Response, name: &str) -> Option<u64> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.parse().ok())
}

pub(super) fn header_time(resp: &Response) -> Option<i64> {
    resp.headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
        .map(|t| t.timestamp())
}

pub(super) fn etag(resp: &Response, path: &str) -> Result<String, StorageError> {
    resp.headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| StorageError::backend("put", path, std::io::Error::other("no ETag")))
}

/// Reads a 200 reply that may still carry `<Error>` (S3's "InternalError with 200").
pub(super) async fn ok_xml(
    resp: Response,
    op: &'static str,
    path: &str,
) -> Result<String, StorageError> {
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

impl Inner {
    pub(super) async fn presign(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Url, StorageError> {
        let creds = self.creds().await?;
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
            &creds,
        )?;
        url.set_query(Some(&q));
        Ok(url)
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
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
                let k = if self.cfg.list_v1 {
                    "marker"
                } else {
                    "continuation-token"
                };
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
