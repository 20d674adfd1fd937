//! Azure Blob HTTP plumbing: blob names and URLs, Shared Key signed requests, block writes,
//! SAS URLs, ranged reads and listings.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::{Bytes, BytesMut};
use quay_domain::storage_path::object_key;
use quay_ports::storage::stream::fill;
use quay_ports::storage::{ByteRange, ByteStream, ListedObject, ObjectMeta, StorageError};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use url::Url;

use super::sign::{API_VERSION, ToSign, http_date};
use super::{BLOCK, Inner, Req};
use crate::http::{self, RangeOpener, SizedBody};

impl Inner {
    pub(super) fn blob_name(&self, path: &str) -> String {
        object_key(&self.storage_path, path)
            .trim_end_matches('/')
            .to_string()
    }

    pub(super) fn blob_url(&self, blob: Option<&str>) -> Result<(Url, String), StorageError> {
        let base = self.account_url.path().trim_end_matches('/');
        let path = match blob {
            Some(b) => format!("{base}/{}/{}", enc_path(&self.container), enc_path(b)),
            None => format!("{base}/{}", enc_path(&self.container)),
        };
        let mut url = self.account_url.clone();
        url.set_path(&path);
        Ok((url, path))
    }

    pub(super) fn build(
        &self,
        req: &Req,
        content_length: u64,
    ) -> Result<RequestBuilder, StorageError> {
        let (mut url, path) = self.blob_url(req.blob.as_deref())?;
        let mut ms = req.headers.clone();
        ms.push(("x-ms-date".into(), http_date(crate::now_unix())));
        ms.push(("x-ms-version".into(), API_VERSION.into()));
        let auth = self.signer.authorization(&ToSign {
            method: req.method.as_str(),
            path: &path,
            query: &req.query,
            ms_headers: &ms,
            content_length,
            content_type: req.content_type.as_deref().unwrap_or(""),
            range: req.range.as_deref().unwrap_or(""),
        })?;
        if !req.query.is_empty() {
            let q: Vec<String> = req
                .query
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}={}",
                        crate::s3::sigv4::encode(k),
                        crate::s3::sigv4::encode(v)
                    )
                })
                .collect();
            url.set_query(Some(&q.join("&")));
        }
        let mut rb = self.client.request(req.method.clone(), url);
        for (k, v) in &ms {
            rb = rb.header(k.as_str(), v.as_str());
        }
        if let Some(r) = &req.range {
            rb = rb.header("range", r.as_str());
        }
        if let Some(ct) = &req.content_type {
            rb = rb.header("content-type", ct.as_str());
        }
        rb = rb.header("authorization", auth);
        if matches!(req.method, Method::PUT | Method::POST) {
            rb = rb.header("content-length", content_length);
        }
        Ok(rb)
    }

    pub(super) async fn send(
        &self,
        req: Req,
        body: Option<Bytes>,
    ) -> Result<Response, StorageError> {
        let path = req.blob.clone().unwrap_or_default();
        let op: &'static str = match req.method.as_str() {
            "GET" => "get",
            "HEAD" => "stat",
            "DELETE" => "delete",
            _ => "put",
        };
        let len = body.as_ref().map_or(0, |b| b.len() as u64);
        http::send_idempotent(
            || {
                let rb = self.build(&req, len)?;
                Ok(match &body {
                    Some(b) => rb.body(b.clone()),
                    None => rb,
                })
            },
            op,
            &path,
        )
        .await
    }

    pub(super) async fn expect_ok(
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
        blob: &str,
        path: &str,
    ) -> Result<Option<ObjectMeta>, StorageError> {
        let resp = self.send(Req::new(Method::HEAD, Some(blob)), None).await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self.expect_ok(resp, "stat", path).await?;
        let h = resp.headers();
        Ok(Some(ObjectMeta {
            size: h
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.parse().ok())
                .unwrap_or(0),
            modified_unix: h
                .get("last-modified")
                .and_then(|v| v.to_str().ok())
                .and_then(|s| chrono::DateTime::parse_from_rfc2822(s).ok())
                .map(|t| t.timestamp()),
        }))
    }

    pub(super) async fn put_streamed(
        &self,
        blob: &str,
        path: &str,
        body: ByteStream,
        len: u64,
    ) -> Result<u64, StorageError> {
        let req = Req::new(Method::PUT, Some(blob)).header("x-ms-blob-type", "BlockBlob");
        let (sized, failure) = SizedBody::new(body, Some(len));
        let rb = self
            .build(&req, len)?
            .body(reqwest::Body::wrap_stream(sized));
        let resp = rb
            .send()
            .await
            .map_err(|e| http::transport_error(e, "put", path, Some(&failure)))?;
        if let Some(e) = failure.take() {
            return Err(e);
        }
        self.expect_ok(resp, "put", path).await?;
        Ok(len)
    }

    pub(super) async fn put_block(
        &self,
        blob: &str,
        path: &str,
        id: &str,
        data: Bytes,
    ) -> Result<(), StorageError> {
        let req = Req::new(Method::PUT, Some(blob))
            .query("comp", "block")
            .query("blockid", id);
        let resp = self.send(req, Some(data)).await?;
        self.expect_ok(resp, "put", path).await.map(|_| ())
    }

    pub(super) async fn put_block_list(
        &self,
        blob: &str,
        path: &str,
        ids: &[String],
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in ids {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let mut req = Req::new(Method::PUT, Some(blob)).query("comp", "blocklist");
        if let Some(ct) = content_type {
            req = req.header("x-ms-blob-content-type", ct);
        }
        let resp = self.send(req, Some(Bytes::from(xml))).await?;
        self.expect_ok(resp, "put", path).await.map(|_| ())
    }

    /// Writes a body of unknown length as staged blocks committed at the end.
    pub(super) async fn put_blocks(
        &self,
        blob: &str,
        path: &str,
        mut body: ByteStream,
    ) -> Result<u64, StorageError> {
        let prefix = uuid::Uuid::new_v4().simple().to_string();
        let mut ids = Vec::new();
        let mut carry = None;
        let mut total = 0;
        loop {
            let mut buf = BytesMut::with_capacity(BLOCK);
            let more = fill(&mut body, &mut carry, &mut buf, BLOCK).await?;
            if !buf.is_empty() {
                let id = STANDARD.encode(format!("{prefix}-{:06}", ids.len()));
                total += buf.len() as u64;
                self.put_block(blob, path, &id, buf.freeze()).await?;
                ids.push(id);
            }
            if !more {
                break;
            }
        }
        self.put_block_list(blob, path, &ids, None).await?;
        Ok(total)
    }

    pub(super) async fn delete_blob(&self, blob: &str, path: &str) -> Result<(), StorageError> {
        let resp = self
            .send(Req::new(Method::DELETE, Some(blob)), None)
            .await?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_FOUND {
            Ok(())
        } else {
            Err(http::status_error(resp, "delete", path).await)
        }
    }

    pub(super) fn sas_url(&self, blob: &str, expires_unix: i64) -> Result<Url, StorageError> {
        let (mut url, _) = self.blob_url(Some(blob))?;
        let q = self.signer.blob_sas(&self.container, blob, expires_unix)?;
        url.set_query(Some(&q));
        Ok(url)
    }

    pub(super) async fn open_range(
        &self,
        blob: &str,
        path: &str,
        range: ByteRange,
    ) -> Result<Response, StorageError> {
        let mut req = Req::new(Method::GET, Some(blob));
        if range.start > 0 || range.end.is_some() {
            req.range = range.http_header();
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

    pub(super) fn opener(self: &Arc<Self>, blob: String, path: String) -> RangeOpener {
        let me = self.clone();
        Arc::new(move |start, end| {
            let me = me.clone();
            let blob = blob.clone();
            let path = path.clone();
            Box::pin(async move { me.open_range(&blob, &path, ByteRange { start, end }).await })
        })
    }

    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let root = self.blob_name("");
        let root = if root.is_empty() {
            root
        } else {
            format!("{root}/")
        };
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = Req::new(Method::GET, None)
                .query("restype", "container")
                .query("comp", "list")
                .query("prefix", format!("{root}{prefix}"));
            if let Some(m) = &marker {
                req = req.query("marker", m.clone());
            }
            let resp = self.send(req, None).await?;
            let resp = self.expect_ok(resp, "list", prefix).await?;
            let text = resp
                .text()
                .await
                .map_err(|e| http::transport_error(e, "list", prefix, None))?;
            for item in http::xml_elements(&text, "Blob") {
                let name = http::xml_value(item, "Name").unwrap_or_default();
                let Some(rel) = name.strip_prefix(&root) else {
                    continue;
                };
                out.push(ListedObject {
                    path: rel.to_string(),
                    size: http::xml_value(item, "Content-Length")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    modified_unix: http::xml_value(item, "Last-Modified")
                        .and_then(|s| chrono::DateTime::parse_from_rfc2822(&s).ok())
                        .map(|t| t.timestamp()),
                });
            }
            marker = http::xml_value(&text, "NextMarker").filter(|m| !m.is_empty());
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
}

fn enc_path(s: &str) -> String {
    s.split('/')
        .map(crate::s3::sigv4::encode)
        .collect::<Vec<_>>()
        .join("/")
}
