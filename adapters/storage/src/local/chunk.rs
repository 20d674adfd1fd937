//! One chunk of a local upload, safe against concurrent writers of the same upload.
//!
//! The body streams into its own hidden part file (`uploads/.<uuid>.<random>.partial`, which
//! `list` skips), never into the upload file. Only when the body is complete is the part
//! appended to `uploads/<uuid>`, under an exclusive lock on that file, and only if the file's
//! length is still the chunk's offset. So of several requests racing for one offset exactly one
//! appends; the others get `InvalidOffset` and never touch the winner's bytes. The upload file
//! only grows by whole chunks; a failed append is cut back to the offset.

use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use quay_ports::storage::{ByteStream, StorageError};

use super::pump;

const WHERE: &str = "uploads/";

fn backend(e: io::Error) -> StorageError {
    StorageError::backend("upload_chunk", WHERE, e)
}

fn missing_or_backend(upload_id: &str, e: io::Error) -> StorageError {
    match e.kind() {
        io::ErrorKind::NotFound => StorageError::UploadNotFound(upload_id.to_owned()),
        _ => backend(e),
    }
}

/// The current length of the upload file.
pub(super) async fn upload_len(upload: &Path, upload_id: &str) -> Result<u64, StorageError> {
    tokio::fs::metadata(upload)
        .await
        .map(|m| m.len())
        .map_err(|e| missing_or_backend(upload_id, e))
}

/// Streams `body` into a fresh part file next to `upload`, then appends it at `offset`.
/// Returns the bytes written.
pub(super) async fn write_chunk(
    upload: &Path,
    upload_id: &str,
    offset: u64,
    body: ByteStream,
) -> Result<u64, StorageError> {
    let len = upload_len(upload, upload_id).await?;
    if offset != len {
        return Err(StorageError::InvalidOffset {
            expected: len,
            got: offset,
        });
    }
    let part = upload.with_file_name(format!(".{upload_id}.{}.partial", uuid::Uuid::new_v4()));
    let result = stream_then_append(upload, &part, upload_id, offset, body).await;
    if let Err(e) = tokio::fs::remove_file(&part).await
        && e.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(upload.id = %upload_id, error = %e, "could not remove a chunk part file");
    }
    result
}

async fn stream_then_append(
    upload: &Path,
    part: &Path,
    upload_id: &str,
    offset: u64,
    body: ByteStream,
) -> Result<u64, StorageError> {
    let mut file = tokio::fs::File::create(part).await.map_err(backend)?;
    let n = pump(&mut file, body, WHERE).await?;
    drop(file);
    let (upload, part, id) = (
        upload.to_path_buf(),
        part.to_path_buf(),
        upload_id.to_owned(),
    );
    tokio::task::spawn_blocking(move || append_locked(&upload, &part, &id, offset))
        .await
        .map_err(|e| backend(io::Error::other(e)))??;
    Ok(n)
}

/// Appends `part` to `upload` when `upload` is exactly `offset` bytes long, holding an exclusive
/// lock on `upload` for the check and the copy (the lock also excludes other processes).
fn append_locked(
    upload: &PathBuf,
    part: &PathBuf,
    upload_id: &str,
    offset: u64,
) -> Result<(), StorageError> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(upload)
        .map_err(|e| missing_or_backend(upload_id, e))?;
    file.lock().map_err(backend)?;
    let meta = file.metadata().map_err(backend)?;
    // Completion may have renamed the file while we waited for the lock: append nothing then.
    match std::fs::metadata(upload) {
        Ok(now) if now.dev() == meta.dev() && now.ino() == meta.ino() => {}
        Ok(_) => return Err(StorageError::UploadNotFound(upload_id.to_owned())),
        Err(e) => return Err(missing_or_backend(upload_id, e)),
    }
    let len = meta.len();
    if len != offset {
        return Err(StorageError::InvalidOffset {
            expected: len,
            got: offset,
        });
    }
    let copied = std::fs::File::open(part)
        .and_then(|mut src| io::copy(&mut src, &mut file))
        .and_then(|_| file.sync_data());
    if let Err(e) = copied {
        // Never leave half a chunk behind: the next attempt must find the file at `offset`.
        if let Err(cut) = file.set_len(offset) {
            tracing::error!(upload.id = %upload_id, error = %cut, "could not cut back a failed chunk");
        }
        return Err(backend(e));
    }
    Ok(())
}

/// Renames the upload file to `target` holding its lock, so no chunk is appended to a blob that
/// has been completed.
pub(super) async fn rename_locked(
    upload: &Path,
    target: &Path,
    upload_id: &str,
    final_path: &str,
) -> Result<(), StorageError> {
    let (upload, target, id, final_path) = (
        upload.to_path_buf(),
        target.to_path_buf(),
        upload_id.to_owned(),
        final_path.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        let file = std::fs::File::open(&upload).map_err(|e| missing_or_backend(&id, e))?;
        file.lock()
            .map_err(|e| StorageError::backend("complete_upload", &final_path, e))?;
        std::fs::rename(&upload, &target)
            .map_err(|e| StorageError::backend("complete_upload", &final_path, e))
    })
    .await
    .map_err(|e| StorageError::backend("complete_upload", "uploads/", io::Error::other(e)))?
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use futures_util::StreamExt;
    use quay_ports::storage::{BlobStorage, StorageError};

    use crate::{LocalStorage, LocalStorageParams};

    fn body(seed: u8, len: usize) -> quay_ports::storage::ByteStream {
        let data: Vec<Result<Bytes, std::io::Error>> = (0..len)
            .step_by(4096)
            .map(|start| Ok(Bytes::from(vec![seed; 4096.min(len - start)])))
            .collect();
        futures_util::stream::iter(data).boxed()
    }

    /// Many writers race for offset 0 of one upload: one wins, the file holds its bytes only.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_chunks_one_winner_and_its_bytes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Arc::new(LocalStorage::new(&LocalStorageParams {
            storage_path: dir.path().to_path_buf(),
        }));
        let st = s.begin_upload().await.expect("begin");
        let mut tasks = Vec::new();
        for seed in 1..=12u8 {
            let (s, st) = (Arc::clone(&s), st.clone());
            let len = 100_000 + usize::from(seed) * 10_000;
            tasks.push(tokio::spawn(async move {
                (seed, len, s.upload_chunk(&st, 0, body(seed, len)).await)
            }));
        }
        let mut winners = Vec::new();
        for t in tasks {
            let (seed, len, r) = t.await.expect("task");
            match r {
                Ok((n, _)) => {
                    assert_eq!(n, len as u64);
                    winners.push((seed, len));
                }
                Err(StorageError::InvalidOffset { got: 0, .. }) => {}
                Err(e) => panic!("unexpected error: {e:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one chunk may win: {winners:?}");
        let (seed, len) = winners[0];
        s.complete_upload(&st, "sha256/ab/abcd")
            .await
            .expect("complete");
        let got = s
            .get_bytes("sha256/ab/abcd", 10_000_000)
            .await
            .expect("get");
        assert_eq!(got.len(), len);
        assert!(got.iter().all(|b| *b == seed), "blob mixes writers' bytes");
        assert!(s.list("uploads/").await.expect("list").is_empty());
    }
}
