//! Chunked uploads of the S3 family, in Quay's `storage_metadata` format:
//! `{"chunks": [["uploads/<uuid4>", <upload offset>, <length>], ...]}` (paths relative to the
//! driver's `storage_path`).

use bytes::Bytes;
use futures_util::StreamExt;
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::{BlobStorage, ByteRange, ByteStream, StorageError, UploadState};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::client::ok_xml;
use super::{Inner, Req};
use crate::http;

/// One chunk object: `(path, offset in the upload, length)`, a JSON array as Quay's namedtuple.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk(pub String, pub u64, pub u64);

/// The S3 family's `storage_metadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMetadata {
    /// Chunks written so far, in order.
    pub chunks: Vec<Chunk>,
}

impl ChunkMetadata {
    /// Parses `storage_metadata`.
    ///
    /// # Errors
    /// `InvalidUploadState` for anything but Quay's S3 shape.
    pub fn parse(state: &UploadState) -> Result<Self, StorageError> {
        serde_json::from_str(&state.metadata)
            .map_err(|e| StorageError::InvalidUploadState(format!("S3 chunk metadata: {e}")))
    }

    /// Bytes uploaded so far.
    pub fn length(&self) -> u64 {
        self.chunks.iter().map(|c| c.2).sum()
    }

    fn to_state(&self, upload_id: &str) -> UploadState {
        UploadState {
            upload_id: upload_id.to_string(),
            metadata: crate::pyjson::dumps(self),
        }
    }
}

pub(super) fn begin() -> UploadState {
    ChunkMetadata::default().to_state(&uuid::Uuid::new_v4().to_string())
}

pub(super) async fn upload_chunk(
    inner: &std::sync::Arc<Inner>,
    state: &UploadState,
    offset: u64,
    body: ByteStream,
) -> Result<(u64, UploadState), StorageError> {
    let mut meta = ChunkMetadata::parse(state)?;
    let len = meta.length();
    if offset != len {
        return Err(StorageError::InvalidOffset {
            expected: len,
            got: offset,
        });
    }
    let path = StoragePath::for_upload(&uuid::Uuid::new_v4().to_string());
    let key = inner.key(path.as_str());
    let n = inner.put_unsized(&key, path.as_str(), body).await?;
    if n > 0 {
        meta.chunks.push(Chunk(path.to_string(), offset, n));
    } else {
        inner.delete_key(&key, path.as_str()).await?;
    }
    Ok((n, meta.to_state(&state.upload_id)))
}

pub(super) async fn cancel(inner: &Inner, state: &UploadState) -> Result<(), StorageError> {
    let meta = ChunkMetadata::parse(state)?;
    for c in &meta.chunks {
        inner.delete_key(&inner.key(&c.0), &c.0).await?;
    }
    Ok(())
}

/// Quay's `_rechunk`: halves parts bigger than `max` until they fit. Offsets are within the
/// chunk object.
fn rechunk(start: u64, len: u64, max: Option<u64>, out: &mut Vec<(u64, u64)>) {
    match max {
        Some(m) if len > m && m > 0 => {
            let half = len / 2;
            rechunk(start, half, max, out);
            rechunk(start + half, len - half, max, out);
        }
        _ => out.push((start, len)),
    }
}

pub(super) async fn complete(
    inner: &std::sync::Arc<Inner>,
    state: &UploadState,
    final_path: &str,
) -> Result<(), StorageError> {
    let meta = ChunkMetadata::parse(state)?;
    let final_key = inner.key(final_path);
    if inner.head(&final_key, final_path).await?.is_some() {
        tracing::debug!(
            storage.path = final_path,
            "blob already stored; dropping the chunks"
        );
        return cancel(inner, state).await;
    }
    let chunks = &meta.chunks;
    let server_side = inner.cfg.server_side_assembly
        && !chunks.is_empty()
        && chunks
            .iter()
            .take(chunks.len().saturating_sub(1))
            .all(|c| c.2 >= inner.cfg.minimum_chunk_size);
    if chunks.is_empty() {
        inner
            .put_bytes(&final_key, final_path, Bytes::new())
            .await?;
    } else if server_side && chunks.len() == 1 && chunks[0].2 <= 5 * 1024 * 1024 * 1024 {
        copy_object(inner, &inner.key(&chunks[0].0), &final_key, final_path).await?;
    } else if server_side {
        multipart_copy(inner, chunks, &final_key, final_path).await?;
    } else {
        client_side_join(inner, chunks, &final_key, final_path).await?;
    }
    for c in chunks {
        if let Err(e) = inner.delete_key(&inner.key(&c.0), &c.0).await {
            tracing::warn!(storage.path = %c.0, error = %e, "could not delete an upload chunk");
        }
    }
    Ok(())
}

fn copy_source(inner: &Inner, key: &str) -> String {
    format!("/{}/{}", inner.cfg.bucket, super::sigv4::encode_path(key))
}

async fn copy_object(
    inner: &Inner,
    src_key: &str,
    dst_key: &str,
    path: &str,
) -> Result<(), StorageError> {
    let mut req =
        Req::new(Method::PUT, dst_key).header("x-amz-copy-source", copy_source(inner, src_key));
    if inner.cfg.server_side_encryption {
        req = req.header("x-amz-server-side-encryption", "AES256");
    }
    let resp = inner.send(req, None).await?;
    ok_xml(resp, "copy", path).await.map(|_| ())
}

async fn multipart_copy(
    inner: &Inner,
    chunks: &[Chunk],
    dst_key: &str,
    path: &str,
) -> Result<(), StorageError> {
    let mut parts = Vec::new();
    for c in chunks {
        let mut pieces = Vec::new();
        rechunk(0, c.2, inner.cfg.maximum_chunk_size, &mut pieces);
        parts.extend(pieces.into_iter().map(|(s, l)| (c.0.clone(), s, l)));
    }
    let mpu = inner.multipart_begin(dst_key, path).await?;
    let result = async {
        let mut etags = Vec::new();
        for (i, (src, start, len)) in parts.iter().enumerate() {
            let req = Req::new(Method::PUT, dst_key)
                .query("partNumber", (i + 1).to_string())
                .query("uploadId", mpu.clone())
                .header("x-amz-copy-source", copy_source(inner, &inner.key(src)))
                .header(
                    "x-amz-copy-source-range",
                    format!("bytes={start}-{}", start + len - 1),
                );
            let resp = inner.send(req, None).await?;
            let text = ok_xml(resp, "copy", path).await?;
            let etag = http::xml_value(&text, "ETag").ok_or_else(|| {
                StorageError::backend(
                    "copy",
                    path,
                    std::io::Error::other("no ETag in CopyPartResult"),
                )
            })?;
            etags.push(etag);
        }
        inner.multipart_complete(dst_key, path, &mpu, &etags).await
    }
    .await;
    if result.is_err() {
        inner.multipart_abort(dst_key, &mpu).await;
    }
    result
}

/// Streams the chunks, in order, into one `PUT` of the final object. The chunks stay stored
/// until the join succeeded, so a transient failure (a dropped connection, a 5xx from the
/// backend) is retried from the start, as Quay's boto client retries its requests.
async fn client_side_join(
    inner: &std::sync::Arc<Inner>,
    chunks: &[Chunk],
    dst_key: &str,
    path: &str,
) -> Result<(), StorageError> {
    let total: u64 = chunks.iter().map(|c| c.2).sum();
    let storage = super::S3Storage {
        inner: inner.clone(),
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = async {
            let mut streams = Vec::new();
            for c in chunks {
                streams.push(storage.get(&c.0, Some(ByteRange::new(0, c.2))).await?);
            }
            let joined: ByteStream = Box::pin(futures_util::stream::iter(streams).flatten());
            inner.put_streamed(dst_key, path, joined, total).await
        }
        .await;
        match result {
            Err(e) if e.is_retryable() && attempt < http::ATTEMPTS => {
                tracing::debug!(storage.path = path, error = %e, attempt, "retrying the chunk join");
                tokio::time::sleep(http::backoff(attempt)).await;
            }
            r => return r.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_quays_json() {
        let st = UploadState {
            upload_id: "u".into(),
            metadata: r#"{"chunks": [["uploads/a", 0, 5], ["uploads/b", 5, 7]]}"#.into(),
        };
        let m = ChunkMetadata::parse(&st).unwrap();
        assert_eq!(m.length(), 12);
        assert_eq!(
            m.to_state("u").metadata,
            r#"{"chunks": [["uploads/a", 0, 5], ["uploads/b", 5, 7]]}"#
        );
        assert_eq!(begin().metadata, r#"{"chunks": []}"#);
    }

    #[test]
    fn rechunk_halves_like_quay() {
        let mut out = Vec::new();
        rechunk(0, 10, Some(4), &mut out);
        assert_eq!(out, [(0, 2), (2, 3), (5, 2), (7, 3)]);
        let mut out = Vec::new();
        rechunk(0, 10, None, &mut out);
        assert_eq!(out, [(0, 10)]);
    }
}
