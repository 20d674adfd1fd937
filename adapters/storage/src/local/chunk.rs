//! One chunk of a local upload, safe against concurrent writers of the same upload.
//!
//! The chunk is written straight into `uploads/<uuid>` (no second copy), by one writer at a time:
//! the writer takes an exclusive lock on the file (which also excludes other processes), checks
//! that the file is still the upload (completion renames it away) and still `offset` bytes long,
//! and keeps the lock until the chunk is written (flushed to disk along the way; completion
//! flushes the rest before the rename, so a completed blob is on disk). So of several requests racing for
//! one offset exactly one writes; the others wait for the lock, then get `InvalidOffset` and never
//! touch the winner's bytes. A body that fails (or whose request goes away) is cut back to the
//! offset by the writing thread before the lock goes, so the file only ever grows by whole chunks. (A process killed in the middle of a chunk leaves its
//! partial bytes: the upload then refuses further chunks with `InvalidOffset`, and completion
//! refuses it for its size, so a client starts a new upload; no blob is ever built from them.)

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use quay_ports::storage::{ByteStream, StorageError};

use super::write::{Durability, WriteError, write_body};

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

fn joined(e: tokio::task::JoinError) -> StorageError {
    backend(io::Error::other(e))
}

/// Writes `body` into `upload` at `offset` under the upload's lock. Returns the bytes written.
pub(super) async fn write_chunk(
    upload: &Path,
    upload_id: &str,
    offset: u64,
    body: ByteStream,
) -> Result<u64, StorageError> {
    let (path, id) = (upload.to_path_buf(), upload_id.to_owned());
    let file = tokio::task::spawn_blocking(move || lock_at(&path, &id, offset))
        .await
        .map_err(joined)??;
    // On failure the writing thread cuts the file back to `offset` before closing it (and so
    // before the lock goes): the next attempt must find the file at `offset`.
    write_body(file, body, Durability::FlushAlong, Some(offset))
        .await
        .map(|(_file, n)| n)
        .map_err(|e| match e {
            WriteError::Body(e) => StorageError::Body(e),
            WriteError::File(e) => backend(e),
        })
}

/// Opens `upload` for appending and locks it exclusively, once it is still the upload file and
/// exactly `offset` bytes long.
fn lock_at(upload: &PathBuf, upload_id: &str, offset: u64) -> Result<File, StorageError> {
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(upload)
        .map_err(|e| missing_or_backend(upload_id, e))?;
    file.lock().map_err(backend)?;
    let meta = file.metadata().map_err(backend)?;
    // Completion may have renamed the file while we waited for the lock: write nothing then.
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
    Ok(file)
}

/// Flushes the upload file to disk and renames it to `target` holding its lock, so no chunk is
/// appended to a blob that has been completed.
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
        file.sync_data()
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
    use std::time::Duration;

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

    /// A chunk whose request goes away midway (its future dropped, as actix does when the client
    /// disconnects) is cut back and unlocks the upload, which then takes the retry.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropped_chunk_is_cut_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = LocalStorage::new(&LocalStorageParams {
            storage_path: dir.path().to_path_buf(),
        });
        let st = s.begin_upload().await.expect("begin");
        s.upload_chunk(&st, 0, body(1, 10_000))
            .await
            .expect("first");
        let stalled = body(2, 50_000)
            .chain(futures_util::stream::pending())
            .boxed();
        let dropped = tokio::time::timeout(
            Duration::from_millis(300),
            s.upload_chunk(&st, 10_000, stalled),
        )
        .await;
        assert!(dropped.is_err(), "the stalled chunk must still be running");
        let retry = tokio::time::timeout(
            Duration::from_secs(10),
            s.upload_chunk(&st, 10_000, body(3, 5_000)),
        )
        .await
        .expect("the lock was released")
        .expect("retry at the old offset");
        assert_eq!(retry.0, 5_000);
        s.complete_upload(&st, "sha256/cd/cdef")
            .await
            .expect("complete");
        let got = s.get_bytes("sha256/cd/cdef", 1_000_000).await.expect("get");
        assert_eq!(got.len(), 15_000);
        assert!(got[..10_000].iter().all(|b| *b == 1));
        assert!(got[10_000..].iter().all(|b| *b == 3));
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
