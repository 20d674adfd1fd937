//! Writing a body to a local file off the async runtime: the request task reads (and, upstream,
//! hashes) the body and hands its chunks through a bounded queue to one blocking thread that
//! writes them with plain `write(2)` calls, so reading, hashing and writing overlap while at
//! most [`QUEUE_DEPTH`] chunks are held in memory. With [`Durability::FlushAlong`] a second
//! thread flushes the file to disk (`fdatasync`) every [`SYNC_EVERY`] bytes while the body is
//! still arriving and being written, so the disk works alongside and the `fdatasync` that makes
//! the file durable later (local `complete_upload`) has little left to do.

use std::fs::File;
use std::io::{self, Write as _};

use bytes::Bytes;
use quay_ports::storage::stream::next_chunk;
use quay_ports::storage::{ByteStream, StorageError};
use tokio::sync::mpsc;

/// Chunks queued between the body and the writing thread (a request body's chunks are at most
/// tens of KiB, so this bounds the bytes in flight to a few MiB).
const QUEUE_DEPTH: usize = 32;

/// Bytes written between two flushes to disk while a synced write goes on.
const SYNC_EVERY: u64 = 4 << 20;

/// How the written bytes reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Durability {
    /// Flushed by a second thread while the body is written (chunks of an upload, made durable
    /// as a whole when the upload completes, as distribution does); whatever was written last may
    /// still be in the page cache when the write returns.
    FlushAlong,
    /// Left to the page cache (whole-object writes, renamed into place afterwards).
    Cached,
}

enum Piece {
    Data(Bytes),
    /// The body ended normally: flush and report.
    End,
}

/// How a write went wrong.
pub(super) enum WriteError {
    /// The body failed (client went away, size limit, hash failure upstream).
    Body(io::Error),
    /// The file could not be written.
    File(io::Error),
}

impl WriteError {
    /// As a storage error about `path` (`operation` names the file step).
    pub(super) fn into_storage(self, operation: &'static str, path: &str) -> StorageError {
        match self {
            WriteError::Body(e) => StorageError::Body(e),
            WriteError::File(e) => StorageError::backend(operation, path, e),
        }
    }
}

/// Appends `body` to `file` at its current position; returns the file (still open, so a lock
/// held on it is kept) and the byte count. On error the file is closed; with `cut_back_to` the
/// writing thread first truncates it to that length, so a failed body leaves nothing behind even
/// when the caller's future is dropped midway (a client that goes away); without, it may hold
/// part of the body and the caller removes it.
pub(super) async fn write_body(
    file: File,
    mut body: ByteStream,
    durability: Durability,
    cut_back_to: Option<u64>,
) -> Result<(File, u64), WriteError> {
    let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
    let writer = tokio::task::spawn_blocking(move || {
        let keep = match cut_back_to {
            Some(_) => Some(file.try_clone()?),
            None => None,
        };
        let written = write_queued(file, rx, durability);
        if written.is_err()
            && let (Some(keep), Some(len)) = (keep, cut_back_to)
            && let Err(e) = keep.set_len(len)
        {
            tracing::error!(error = %e, "could not cut back a failed write");
        }
        written
    });
    let mut body_error = None;
    loop {
        let piece = match next_chunk(&mut body).await {
            Some(Ok(chunk)) if chunk.is_empty() => continue,
            Some(Ok(chunk)) => Piece::Data(chunk),
            Some(Err(e)) => {
                body_error = Some(e);
                break;
            }
            None => Piece::End,
        };
        let end = matches!(piece, Piece::End);
        // A send fails only when the writer stopped on an error, which `writer` reports.
        if tx.send(piece).await.is_err() || end {
            break;
        }
    }
    drop(tx);
    let written = writer
        .await
        .map_err(|e| WriteError::File(io::Error::other(e)))?;
    if let Some(e) = body_error {
        return Err(WriteError::Body(e));
    }
    written.map_err(WriteError::File)
}

/// The writing thread: writes until [`Piece::End`]; a queue closed without it means the body
/// failed, and nothing is flushed.
fn write_queued(
    file: File,
    rx: mpsc::Receiver<Piece>,
    durability: Durability,
) -> io::Result<(File, u64)> {
    if durability == Durability::Cached {
        return write_all_queued(file, rx, || Ok(()));
    }
    let syncing = file.try_clone()?;
    // One pending request at most: a request made while a flush runs is folded into the next.
    let (ask, asked) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::scope(|scope| {
        let syncer = scope.spawn(move || -> io::Result<()> {
            while asked.recv().is_ok() {
                syncing.sync_data()?;
            }
            Ok(())
        });
        let written = write_all_queued(file, rx, move || match ask.try_send(()) {
            Ok(()) | Err(std::sync::mpsc::TrySendError::Full(())) => Ok(()),
            Err(std::sync::mpsc::TrySendError::Disconnected(())) => {
                Err(io::Error::other("the flushing thread stopped"))
            }
        });
        // The writer has dropped `ask`: the syncer ends after its current flush.
        let synced = syncer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the flushing thread panicked")));
        let (file, n) = written?;
        // A failed flush may have lost pages: the write fails, even if later flushes succeeded.
        synced?;
        Ok((file, n))
    })
}

/// Writes the queued pieces, calling `flush_soon` every [`SYNC_EVERY`] bytes.
fn write_all_queued(
    mut file: File,
    mut rx: mpsc::Receiver<Piece>,
    flush_soon: impl Fn() -> io::Result<()>,
) -> io::Result<(File, u64)> {
    let (mut written, mut unsynced) = (0u64, 0u64);
    while let Some(piece) = rx.blocking_recv() {
        match piece {
            Piece::Data(chunk) => {
                file.write_all(&chunk)?;
                written += chunk.len() as u64;
                unsynced += chunk.len() as u64;
                if unsynced >= SYNC_EVERY {
                    flush_soon()?;
                    unsynced = 0;
                }
            }
            Piece::End => return Ok((file, written)),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::Interrupted,
        "the body ended with an error",
    ))
}
