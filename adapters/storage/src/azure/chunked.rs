//! Chunked uploads of `AzureStorage`, in Quay's `storage_metadata` format:
//! `{"blocks": ["00000", "00001", ...], "content-type": null}`. Block `i` is staged on the blob
//! `uploads/<uuid>` with id `base64("%05d" % i)` (what Quay's SDK sends for id `"%05d"`).

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::BytesMut;
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::stream::fill;
use quay_ports::storage::{ByteStream, StorageError, UploadState};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::{BLOCK, Inner, Req};
use crate::http;

/// Azure's `storage_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockMetadata {
    /// Block ids (before base64), in order.
    pub blocks: Vec<String>,
    /// Content type recorded by the first chunk, if any.
    #[serde(rename = "content-type")]
    pub content_type: Option<String>,
}

impl BlockMetadata {
    fn parse(state: &UploadState) -> Result<Self, StorageError> {
        serde_json::from_str(&state.metadata)
            .map_err(|e| StorageError::InvalidUploadState(format!("Azure block metadata: {e}")))
    }

    fn to_state(&self, id: &str) -> UploadState {
        UploadState {
            upload_id: id.to_string(),
            metadata: crate::pyjson::dumps(self),
        }
    }
}

fn upload_blob(inner: &Inner, state: &UploadState) -> String {
    inner.blob_name(StoragePath::for_upload(&state.upload_id).as_str())
}

pub(super) fn begin() -> UploadState {
    BlockMetadata::default().to_state(&uuid::Uuid::new_v4().to_string())
}

/// Sizes of the staged (uncommitted) blocks of `blob`, by base64 id.
async fn staged_sizes(inner: &Inner, blob: &str) -> Result<Vec<(String, u64)>, StorageError> {
    let req = Req::new(Method::GET, Some(blob))
        .query("comp", "blocklist")
        .query("blocklisttype", "uncommitted");
    let resp = inner.send(req, None).await?;
    if resp.status() == StatusCode::NOT_FOUND {
        return Ok(Vec::new());
    }
    let resp = inner.expect_ok(resp, "upload_chunk", "uploads/").await?;
    let text = resp
        .text()
        .await
        .map_err(|e| http::transport_error(e, "upload_chunk", "uploads/", None))?;
    Ok(http::xml_elements(&text, "Block")
        .into_iter()
        .map(|b| {
            (
                http::xml_value(b, "Name").unwrap_or_default(),
                http::xml_value(b, "Size")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            )
        })
        .collect())
}

pub(super) async fn upload_chunk(
    inner: &Inner,
    state: &UploadState,
    offset: u64,
    mut body: ByteStream,
) -> Result<(u64, UploadState), StorageError> {
    let mut meta = BlockMetadata::parse(state)?;
    let blob = upload_blob(inner, state);
    let length = if meta.blocks.is_empty() {
        0
    } else {
        let staged = staged_sizes(inner, &blob).await?;
        let mut total = 0;
        for id in &meta.blocks {
            let b64 = STANDARD.encode(id);
            match staged.iter().find(|(n, _)| *n == b64) {
                Some((_, size)) => total += size,
                None => return Err(StorageError::UploadNotFound(state.upload_id.clone())),
            }
        }
        total
    };
    if offset != length {
        return Err(StorageError::InvalidOffset {
            expected: length,
            got: offset,
        });
    }
    let mut carry = None;
    let mut written = 0;
    loop {
        let mut buf = BytesMut::with_capacity(BLOCK);
        let more = fill(&mut body, &mut carry, &mut buf, BLOCK).await?;
        if !buf.is_empty() {
            let id = format!("{:05}", meta.blocks.len());
            written += buf.len() as u64;
            inner
                .put_block(&blob, "uploads/", &STANDARD.encode(&id), buf.freeze())
                .await?;
            meta.blocks.push(id);
        }
        if !more {
            break;
        }
    }
    Ok((written, meta.to_state(&state.upload_id)))
}

pub(super) async fn complete(
    inner: &Inner,
    state: &UploadState,
    final_path: &str,
) -> Result<(), StorageError> {
    let meta = BlockMetadata::parse(state)?;
    let final_blob = inner.blob_name(final_path);
    if inner.head(&final_blob, final_path).await?.is_some() {
        return cancel(inner, state).await;
    }
    if meta.blocks.is_empty() {
        let empty = quay_ports::storage::stream::empty();
        inner
            .put_streamed(&final_blob, final_path, empty, 0)
            .await?;
        return Ok(());
    }
    let blob = upload_blob(inner, state);
    let ids: Vec<String> = meta.blocks.iter().map(|b| STANDARD.encode(b)).collect();
    inner
        .put_block_list(&blob, final_path, &ids, meta.content_type.as_deref())
        .await?;
    // A source in the same account is authorised by this request's Shared Key (Quay passes a
    // five-minute SAS URL instead; both name the same blob).
    let (source, _) = inner.blob_url(Some(&blob))?;
    let req = Req::new(Method::PUT, Some(&final_blob)).header("x-ms-copy-source", source.as_str());
    let resp = inner.send(req, None).await?;
    let resp = inner.expect_ok(resp, "copy", final_path).await?;
    let mut status = copy_status(resp.headers());
    let started = Instant::now();
    while status.as_deref() == Some("pending") {
        if started.elapsed() > Duration::from_secs(600) {
            return Err(StorageError::Timeout {
                operation: "copy",
                path: final_path.to_string(),
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let resp = inner
            .send(Req::new(Method::HEAD, Some(&final_blob)), None)
            .await?;
        let resp = inner.expect_ok(resp, "copy", final_path).await?;
        status = copy_status(resp.headers());
    }
    if status.as_deref().is_some_and(|s| s != "success") {
        let _ = inner.delete_blob(&final_blob, final_path).await;
        return Err(StorageError::backend(
            "copy",
            final_path,
            std::io::Error::other(format!("copy ended {status:?}")),
        ));
    }
    inner.delete_blob(&blob, "uploads/").await
}

fn copy_status(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get("x-ms-copy-status")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

pub(super) async fn cancel(inner: &Inner, state: &UploadState) -> Result<(), StorageError> {
    let meta = BlockMetadata::parse(state)?;
    let blob = upload_blob(inner, state);
    if !meta.blocks.is_empty() && inner.head(&blob, "uploads/").await?.is_none() {
        // Committing an empty list discards the staged blocks at once (instead of after Azure's
        // one-week garbage collection); the empty blob is deleted below.
        inner.put_block_list(&blob, "uploads/", &[], None).await?;
    }
    inner.delete_blob(&blob, "uploads/").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_quays_json() {
        assert_eq!(begin().metadata, r#"{"blocks": [], "content-type": null}"#);
        let st = UploadState {
            upload_id: "u".into(),
            metadata: r#"{"blocks": ["00000", "00001"], "content-type": null}"#.into(),
        };
        let m = BlockMetadata::parse(&st).unwrap();
        assert_eq!(m.blocks, ["00000", "00001"]);
        assert_eq!(m.to_state("u"), st);
    }
}
