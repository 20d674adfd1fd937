//! `LocalStorage`: blobs as files under `storage_path`, as Python Quay lays them out.
//!
//! - whole-object writes go to a hidden sibling `.<name>.<uuid>.partial` and are renamed into
//!   place, so a failed write never shows a partial file (Quay writes in place; we are stricter);
//! - a chunked upload is the file `uploads/<uuid>`, which grows only by whole chunks: a chunk is
//!   written into it under a file lock only if the upload is still at the chunk's offset
//!   ([`chunk`]), so concurrent writers of one upload cannot mix
//!   their bytes and a failed chunk is cut back; completion flushes the file to disk and renames
//!   it to the final path under the same lock, and no chunk is appended after that; `storage_metadata` is `{}` as in Quay;
//! - bodies are written by a blocking thread fed through a bounded queue ([`write`]), so the
//!   request task reads and hashes while the previous chunks are written;
//! - no direct-download URLs: blobs stream through quay-rs, or are handed to the HTTP layer as
//!   open files ([`BlobStorage::open_region`]) that it writes to the socket itself.

use std::io;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use futures_util::StreamExt;
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, FileRegion, ListedObject, ObjectMeta,
    StorageError, UploadState,
};
use url::Url;

mod chunk;
mod read;
mod write;

/// `LocalStorage` parameters (`DISTRIBUTED_STORAGE_CONFIG[loc] = ["LocalStorage", {...}]`).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalStorageParams {
    /// Directory holding the blobs.
    pub storage_path: PathBuf,
}

/// The local-filesystem driver.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A driver rooted at `params.storage_path` (created on first write).
    pub fn new(params: &LocalStorageParams) -> Self {
        Self {
            root: params.storage_path.clone(),
        }
    }

    fn abs(&self, path: &str) -> Result<PathBuf, StorageError> {
        let rel = path.trim_start_matches('/');
        if rel.split('/').any(|c| c == "..") {
            return Err(StorageError::backend(
                "resolve",
                path,
                io::Error::other("path escapes the storage root"),
            ));
        }
        Ok(if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        })
    }

    fn upload_file(&self, state: &UploadState) -> Result<PathBuf, StorageError> {
        if state.upload_id.is_empty() || state.upload_id.contains(['/', '.']) {
            return Err(StorageError::InvalidUploadState(format!(
                "bad upload id {:?}",
                state.upload_id
            )));
        }
        self.abs(StoragePath::for_upload(&state.upload_id).as_str())
    }
}

fn io_err(operation: &'static str, path: &str, e: io::Error) -> StorageError {
    if e.kind() == io::ErrorKind::NotFound {
        StorageError::NotFound {
            path: path.to_string(),
        }
    } else {
        StorageError::backend(operation, path, e)
    }
}

async fn ensure_parent(p: &Path, path: &str) -> Result<(), StorageError> {
    if let Some(dir) = p.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| StorageError::backend("mkdir", path, e))?;
    }
    Ok(())
}

fn modified_unix(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok())
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<ListedObject>) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&entry.path(), &child_rel, out)?;
        } else if !(name.starts_with('.') && name.ends_with(".partial")) {
            out.push(ListedObject {
                path: child_rel,
                size: meta.len(),
                modified_unix: modified_unix(&meta),
            });
        }
    }
    Ok(())
}

#[async_trait]
impl BlobStorage for LocalStorage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        match tokio::fs::metadata(self.abs(path)?).await {
            Ok(m) if m.is_file() => Ok(Some(ObjectMeta {
                size: m.len(),
                modified_unix: modified_unix(&m),
            })),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StorageError::backend("stat", path, e)),
        }
    }

    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        let stream = read::open(self.abs(path)?, range.map(|r| (r.start, r.end)))
            .await
            .map_err(|e| io_err("read", path, e))?;
        match stream {
            Some(stream) => Ok(stream.boxed()),
            None => Err(StorageError::InvalidRange {
                path: path.to_string(),
            }),
        }
    }

    async fn open_region(
        &self,
        path: &str,
        range: Option<ByteRange>,
    ) -> Result<Option<FileRegion>, StorageError> {
        let opened = read::open_region(self.abs(path)?, range.map(|r| (r.start, r.end)))
            .await
            .map_err(|e| io_err("open", path, e))?;
        match opened {
            Some((file, offset, len)) => Ok(Some(FileRegion { file, offset, len })),
            None => Err(StorageError::InvalidRange {
                path: path.to_string(),
            }),
        }
    }

    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size_hint: Option<u64>,
    ) -> Result<u64, StorageError> {
        let target = self.abs(path)?;
        ensure_parent(&target, path).await?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = target.with_file_name(format!(".{name}.{}.partial", uuid::Uuid::new_v4()));
        let file = tokio::fs::File::create(&tmp)
            .await
            .map_err(|e| StorageError::backend("create", path, e))?
            .into_std()
            .await;
        let result = write::write_body(file, body, write::Durability::Cached, None)
            .await
            .map_err(|e| e.into_storage("write", path))
            .and_then(|(_, n)| match size_hint {
                Some(exp) if exp != n => Err(StorageError::SizeMismatch {
                    expected: exp,
                    actual: n,
                }),
                _ => Ok(n),
            });
        match result {
            Ok(n) => {
                tokio::fs::rename(&tmp, &target)
                    .await
                    .map_err(|e| StorageError::backend("rename", path, e))?;
                Ok(n)
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                Err(e)
            }
        }
    }

    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        let p = self.abs(path)?;
        match tokio::fs::remove_file(&p).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) if p.is_dir() => tokio::fs::remove_dir_all(&p)
                .await
                .map_err(|_| StorageError::backend("delete", path, e)),
            Err(e) => Err(StorageError::backend("delete", path, e)),
        }
    }

    async fn direct_download_url(
        &self,
        _path: &str,
        _request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        Ok(None)
    }

    async fn begin_upload(&self) -> Result<UploadState, StorageError> {
        let state = UploadState {
            upload_id: uuid::Uuid::new_v4().to_string(),
            metadata: "{}".to_string(),
        };
        let p = self.upload_file(&state)?;
        ensure_parent(&p, "uploads/").await?;
        tokio::fs::File::create(&p)
            .await
            .map_err(|e| StorageError::backend("begin_upload", "uploads/", e))?;
        Ok(state)
    }

    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError> {
        let p = self.upload_file(state)?;
        let n = chunk::write_chunk(&p, &state.upload_id, offset, body).await?;
        Ok((n, state.clone()))
    }

    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError> {
        let p = self.upload_file(state)?;
        if !tokio::fs::try_exists(&p).await.unwrap_or(false) {
            return Err(StorageError::UploadNotFound(state.upload_id.clone()));
        }
        let target = self.abs(final_path)?;
        if tokio::fs::try_exists(&target).await.unwrap_or(false) {
            return self.cancel_upload(state).await;
        }
        ensure_parent(&target, final_path).await?;
        chunk::rename_locked(&p, &target, &state.upload_id, final_path).await
    }

    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError> {
        let p = self.upload_file(state)?;
        match tokio::fs::remove_file(&p).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StorageError::backend("cancel_upload", "uploads/", e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        let root = self.root.clone();
        let prefix = prefix.to_string();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            walk(&root, "", &mut out).map_err(|e| StorageError::backend("list", &prefix, e))?;
            out.retain(|o| o.path.starts_with(&prefix));
            Ok(out)
        })
        .await
        .map_err(|e| StorageError::backend("list", "", e))?
    }
}
