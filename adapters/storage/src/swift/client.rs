//! Swift HTTP plumbing: object names, sessions, requests with re-authentication, listings,
//! TempURLs and the `chunk_cleanup` queue.

use std::sync::Arc;

use quay_ports::storage::cleanup::ChunkCleanupItem;
use quay_ports::storage::signing::MacAlgorithm;
use quay_ports::storage::{ByteRange, ByteStream, DownloadUrlRequest, StorageError};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::ExposeSecret;
use serde_json::Value;
use url::Url;

use super::Inner;
use super::auth::{self, Session};
use crate::http::{self, RangeOpener, SizedBody};

impl Inner {
    pub(super) fn object(&self, path: &str) -> String {
        let joined = if self.simple_concat {
            format!("{}{path}", self.storage_path)
        } else {
            quay_domain::storage_path::object_key(&self.storage_path, path)
        };
        joined.trim_end_matches('/').to_string()
    }

    pub(super) async fn session(&self) -> Result<Session, StorageError> {
        let mut slot = self.session.lock().await;
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let s = auth::authenticate(&self.client, &self.auth).await?;
        *slot = Some(s.clone());
        Ok(s)
    }

    pub(super) fn url(
        &self,
        session: &Session,
        object: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<Url, StorageError> {
        let enc = |s: &str| {
            s.split('/')
                .map(crate::s3::sigv4::encode)
                .collect::<Vec<_>>()
                .join("/")
        };
        let mut text = format!(
            "{}/{}",
            session.storage_url.trim_end_matches('/'),
            enc(&self.container)
        );
        if let Some(o) = object {
            text.push('/');
            text.push_str(&enc(o));
        }
        let mut url =
            Url::parse(&text).map_err(|e| StorageError::backend("url", object.unwrap_or(""), e))?;
        if !query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }

    pub(super) fn request(
        &self,
        session: &Session,
        method: Method,
        object: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<RequestBuilder, StorageError> {
        Ok(self
            .client
            .request(method, self.url(session, object, query)?)
            .header("x-auth-token", session.token.expose_secret()))
    }

    /// An idempotent request with headers, retried; re-authenticates once on 401.
    pub(super) async fn send(
        &self,
        method: Method,
        object: Option<&str>,
        headers: &[(&str, String)],
        query: Option<&[(&str, String)]>,
    ) -> Result<Response, StorageError> {
        let path = object.unwrap_or("").to_string();
        let op: &'static str = match method.as_str() {
            "GET" => "get",
            "HEAD" => "stat",
            "DELETE" => "delete",
            _ => "put",
        };
        for attempt in 0..2 {
            let session = self.session().await?;
            let resp = http::send_idempotent(
                || {
                    let mut rb =
                        self.request(&session, method.clone(), object, query.unwrap_or(&[]))?;
                    for (k, v) in headers {
                        rb = rb.header(*k, v.as_str());
                    }
                    if method == Method::PUT {
                        rb = rb.header("content-length", 0);
                    }
                    Ok(rb)
                },
                op,
                &path,
            )
            .await?;
            if resp.status() == StatusCode::UNAUTHORIZED && attempt == 0 {
                *self.session.lock().await = None;
                continue;
            }
            return Ok(resp);
        }
        Err(StorageError::unavailable(
            op,
            path,
            std::io::Error::other("Swift refused a fresh token"),
        ))
    }

    pub(super) async fn ok(
        &self,
        resp: Response,
        op: &'static str,
        path: &str,
    ) -> Result<Response, StorageError> {
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(http::status_error(resp, op, path).await)
        }
    }

    pub(super) async fn head(
        &self,
        object: &str,
        path: &str,
    ) -> Result<Option<reqwest::header::HeaderMap>, StorageError> {
        let resp = self.send(Method::HEAD, Some(object), &[], None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Ok(Some(self.ok(resp, "stat", path).await?.headers().clone()))
    }

    /// Streams `body` into `object` (chunked transfer encoding when `len` is unknown).
    pub(super) async fn put_stream(
        &self,
        object: &str,
        path: &str,
        body: ByteStream,
        len: Option<u64>,
    ) -> Result<u64, StorageError> {
        let session = self.session().await?;
        let (sized, failure) = SizedBody::new(body, len);
        let mut rb = self.request(&session, Method::PUT, Some(object), &[])?;
        if let Some(n) = len {
            rb = rb.header("content-length", n);
        }
        let resp = rb
            .body(reqwest::Body::wrap_stream(sized))
            .send()
            .await
            .map_err(|e| http::transport_error(e, "put", path, Some(&failure)))?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        self.ok(resp, "put", path).await?;
        Ok(len.unwrap_or(0))
    }

    pub(super) async fn delete_object(&self, object: &str, path: &str) -> Result<(), StorageError> {
        let resp = self.send(Method::DELETE, Some(object), &[], None).await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(http::status_error(resp, "delete", path).await)
        }
    }

    /// Object names (full, with the root) under `full_prefix`, with sizes and times.
    pub(super) async fn list_full(
        &self,
        full_prefix: &str,
    ) -> Result<Vec<(String, u64, Option<i64>)>, StorageError> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let mut q = vec![
                ("format", "json".to_string()),
                ("prefix", full_prefix.to_string()),
            ];
            if !marker.is_empty() {
                q.push(("marker", marker.clone()));
            }
            let resp = self.send(Method::GET, None, &[], Some(&q)).await?;
            if resp.status() == StatusCode::NO_CONTENT {
                return Ok(out);
            }
            let resp = self.ok(resp, "list", full_prefix).await?;
            let items: Vec<Value> = resp
                .json()
                .await
                .map_err(|e| http::transport_error(e, "list", full_prefix, None))?;
            if items.is_empty() {
                return Ok(out);
            }
            for item in &items {
                let name = item["name"].as_str().unwrap_or_default().to_string();
                let modified = item["last_modified"]
                    .as_str()
                    .and_then(|s| {
                        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
                    })
                    .map(|t| t.and_utc().timestamp());
                marker.clone_from(&name);
                out.push((name, item["bytes"].as_u64().unwrap_or(0), modified));
            }
        }
    }

    pub(super) fn opener(self: &Arc<Self>, object: String, path: String) -> RangeOpener {
        let me = self.clone();
        Arc::new(move |start, end| {
            let me = me.clone();
            let object = object.clone();
            let path = path.clone();
            Box::pin(async move {
                me.open_range(&object, &path, ByteRange { start, end })
                    .await
            })
        })
    }

    pub(super) async fn open_range(
        &self,
        object: &str,
        path: &str,
        range: ByteRange,
    ) -> Result<Response, StorageError> {
        let mut headers = Vec::new();
        if (range.start > 0 || range.end.is_some())
            && let Some(h) = range.http_header()
        {
            headers.push(("range", h));
        }
        let resp = self.send(Method::GET, Some(object), &headers, None).await?;
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

    pub(super) async fn enqueue_cleanup(
        &self,
        upload_id: &str,
        paths: &[String],
    ) -> Result<bool, StorageError> {
        let Some((location, sink)) = &self.cleanup else {
            return Ok(false);
        };
        for p in paths {
            sink.enqueue(ChunkCleanupItem {
                location: location.clone(),
                uuid: upload_id.to_string(),
                path: p.clone(),
            })
            .await?;
        }
        Ok(true)
    }

    /// The TempURL of `object` (Quay's `get_direct_download_url`).
    pub(super) async fn temp_url(
        &self,
        object: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        let Some(key) = &self.temp_url_key else {
            return Ok(None);
        };
        let session = self.session().await?;
        let storage = Url::parse(&session.storage_url)
            .map_err(|e| StorageError::backend("sign", object, e))?;
        let base = storage.path().trim_end_matches('/');
        let full_path = format!("{base}/{}/{object}", self.container);
        let method = if request.head { "HEAD" } else { "GET" };
        let expires = request.expires_at();
        let body = format!("{method}\n{expires}\n{full_path}");
        let sig = self.crypto.hmac(
            MacAlgorithm::Sha1,
            key.expose_secret().as_bytes(),
            body.as_bytes(),
        )?;
        let host = match storage.port() {
            Some(p) => format!("{}:{p}", storage.host_str().unwrap_or_default()),
            None => storage.host_str().unwrap_or_default().to_string(),
        };
        let url = format!(
            "{}://{host}{full_path}?temp_url_sig={}&temp_url_expires={expires}",
            storage.scheme(),
            hex::encode(sig)
        );
        Url::parse(&url)
            .map(Some)
            .map_err(|e| StorageError::backend("sign", object, e))
    }
}
