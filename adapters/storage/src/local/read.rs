//! Downloads of [`super::LocalStorage`]: a blob is read in large chunks with `pread`, one chunk
//! ahead of the consumer, each read on tokio's blocking pool; the chunk buffers are recycled.
//!
//! - Opening, sizing and a small first chunk take one trip to the blocking pool (a blob of up to
//!   64 KiB is answered whole from it: one hop, which keeps the time to first byte low).
//! - While the consumer sends a chunk, the next one is being read (one read in flight per
//!   download, so a download holds at most [`IN_FLIGHT`] buffers besides those it handed out).
//!   No blocking thread is held between chunks: a slow client costs no thread.
//! - Buffers are allocated zeroed once and reused: a chunk is a [`Bytes`] whose owner gives the
//!   buffer back to the download's pool when the consumer drops it, so no chunk is zeroed or
//!   allocated anew (and no `unsafe` is needed to read into uninitialised memory).
//! - A file that shrinks while it is read ends the stream with `UnexpectedEof`.

use std::fs::File;
use std::future::Future as _;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::task::JoinHandle;

/// Bytes per read (and per chunk handed to the consumer).
pub(crate) const CHUNK: usize = 512 * 1024;
/// Bytes of the first read: small, so the first bytes leave soon (time to first byte).
const FIRST_CHUNK: usize = 64 * 1024;
/// Reads in flight per download besides the chunk being consumed.
const IN_FLIGHT: usize = 1;
/// Buffers a download keeps for reuse: the one in flight and the one the consumer is copying
/// (actix copies a chunk into its write buffer and drops it at once).
const POOL_MAX: usize = IN_FLIGHT + 1;

/// Free buffers of one download.
type Pool = Arc<Mutex<Vec<Vec<u8>>>>;
/// A byte range: first byte, and one past the last (`None`: to the end of the file).
pub(crate) type Range = (u64, Option<u64>);
/// A chunk read: its buffer and how many bytes of it are the chunk.
type Chunk = io::Result<(Vec<u8>, usize)>;

/// A chunk's buffer; going back to its pool when the last `Bytes` over it is dropped.
struct Recycled {
    buf: Vec<u8>,
    len: usize,
    pool: Pool,
}

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < POOL_MAX {
            pool.push(buf);
        }
    }
}

fn take_buffer(pool: &Pool, want: usize) -> Vec<u8> {
    let reused = pool.lock().unwrap_or_else(PoisonError::into_inner).pop();
    match reused {
        Some(buf) if buf.len() >= want => buf,
        _ => vec![0; CHUNK.max(want)],
    }
}

/// Whether `range` can be served from a file of `size` bytes: a start past the end is invalid,
/// and so is a range starting exactly at the end of a non-empty file.
pub(crate) fn range_fits(size: u64, range: Option<Range>) -> bool {
    match range {
        None => true,
        Some((start, _)) => start < size || (start == size && size == 0),
    }
}

/// Fills `buf[..want]` from `offset`; a short file is `UnexpectedEof`.
fn read_chunk(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank while read")
        } else {
            e
        }
    })
}

/// Opens and sizes `path` (blocking): the file and `range` as `start..end` clipped to its
/// size; `None` when the range does not fit ([`range_fits`]).
fn open_clipped(
    path: &std::path::Path,
    range: Option<Range>,
) -> io::Result<Option<(File, u64, u64)>> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    if !range_fits(size, range) {
        return Ok(None);
    }
    let (start, end) = match range {
        None => (0, size),
        Some((start, end)) => (start, end.unwrap_or(size).min(size)),
    };
    Ok(Some((file, start, end)))
}

/// Opens `path` for sending without reading it: the file, the first byte and the length of
/// `range` clipped to the file; `None` when the range does not fit ([`range_fits`]).
///
/// # Errors
/// The open or stat failure.
pub(crate) async fn open_region(
    path: std::path::PathBuf,
    range: Option<Range>,
) -> io::Result<Option<(File, u64, u64)>> {
    tokio::task::spawn_blocking(move || {
        open_clipped(&path, range)
            .map(|opened| opened.map(|(file, start, end)| (file, start, end.saturating_sub(start))))
    })
    .await
    .map_err(io::Error::other)?
}

/// Opens `path`, sizes it and reads the first chunk of `range` (its end clipped to the size,
/// `None` for the whole file); `None` when the range does not fit the file ([`range_fits`]).
///
/// # Errors
/// The open, stat or first read failure.
pub(crate) async fn open(
    path: std::path::PathBuf,
    range: Option<Range>,
) -> io::Result<Option<ReadStream>> {
    let pool: Pool = Arc::new(Mutex::new(Vec::new()));
    let job_pool = Arc::clone(&pool);
    let opened = tokio::task::spawn_blocking(move || -> io::Result<_> {
        let Some((file, start, end)) = open_clipped(&path, range)? else {
            return Ok(None);
        };
        let left = end.saturating_sub(start);
        let want = usize::try_from(left.min(FIRST_CHUNK as u64)).unwrap_or(FIRST_CHUNK);
        let first = if want == 0 {
            None
        } else {
            let mut buf = take_buffer(&job_pool, want);
            read_chunk(&file, &mut buf[..want], start)?;
            Some((buf, want))
        };
        Ok(Some((file, start, end, first)))
    })
    .await
    .map_err(io::Error::other)??;
    Ok(opened.map(|(file, start, end, first)| {
        let offset = start + first.as_ref().map_or(0, |(_, n)| *n as u64);
        let mut stream = ReadStream {
            file: Arc::new(file),
            offset,
            end,
            pool,
            ready: first.map(|(buf, len)| Ok((buf, len))),
            pending: None,
        };
        stream.prefetch();
        stream
    }))
}

/// A download in progress; see the module documentation.
pub(crate) struct ReadStream {
    file: Arc<File>,
    /// Next byte to read.
    offset: u64,
    /// One past the last byte to read.
    end: u64,
    pool: Pool,
    /// A chunk read and not yet handed out (or the failure that ends the stream).
    ready: Option<Chunk>,
    /// The read in flight.
    pending: Option<JoinHandle<Chunk>>,
}

impl ReadStream {
    /// Starts reading the next chunk, when there is one and no read is in flight.
    fn prefetch(&mut self) {
        if self.pending.is_some() || self.offset >= self.end {
            return;
        }
        let want = usize::try_from((self.end - self.offset).min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = take_buffer(&self.pool, want);
        let file = Arc::clone(&self.file);
        let offset = self.offset;
        self.offset += want as u64;
        self.pending = Some(tokio::task::spawn_blocking(move || {
            read_chunk(&file, &mut buf[..want], offset).map(|()| (buf, want))
        }));
    }

    fn hand_out(&mut self, read: Chunk) -> Option<io::Result<Bytes>> {
        match read {
            Ok((buf, len)) => {
                self.prefetch();
                Some(Ok(Bytes::from_owner(Recycled {
                    buf,
                    len,
                    pool: Arc::clone(&self.pool),
                })))
            }
            Err(e) => {
                // A failure ends the stream: nothing more is read.
                self.offset = self.end;
                self.pending = None;
                Some(Err(e))
            }
        }
    }
}

impl Stream for ReadStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if let Some(read) = this.ready.take() {
            return Poll::Ready(this.hand_out(read));
        }
        let Some(pending) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        let read = match Pin::new(pending).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(joined) => joined.unwrap_or_else(|e| Err(io::Error::other(e))),
        };
        this.pending = None;
        Poll::Ready(this.hand_out(read))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    async fn read_all(path: &std::path::Path, range: Option<Range>) -> io::Result<Vec<u8>> {
        let mut stream = open(path.to_path_buf(), range).await?.expect("range fits");
        let mut out = Vec::new();
        while let Some(chunk) = stream.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn whole_files_and_ranges_across_chunks() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("blob");
        let size = 2 * CHUNK + 12_345;
        let data = pattern(size);
        std::fs::write(&path, &data)?;
        assert_eq!(read_all(&path, None).await?, data);
        let cases = [
            (0, Some(1)),
            (CHUNK as u64 - 10, Some(CHUNK as u64 + 10)),
            (CHUNK as u64, Some(2 * CHUNK as u64)),
            (7, None),
            (size as u64 - 1, None),
            (5, Some(size as u64 + 100)),
            (9, Some(9)),
        ];
        for (start, end) in cases {
            let want_end = end.map_or(size, |e| (e as usize).min(size));
            let want = data.get(start as usize..want_end).unwrap_or_default();
            assert_eq!(
                read_all(&path, Some((start, end))).await?,
                want,
                "{start}..{end:?}"
            );
        }
        // An empty file reads as nothing; ranges past the end do not fit.
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"")?;
        assert!(read_all(&empty, None).await?.is_empty());
        let past = open(path.clone(), Some((size as u64, None))).await?;
        assert!(past.is_none());
        let missing = open(dir.path().join("nope"), None).await;
        assert_eq!(
            missing.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
        Ok(())
    }

    #[tokio::test]
    async fn regions_are_clipped_to_the_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("blob");
        std::fs::write(&path, pattern(1000))?;
        let region = |range| {
            let path = path.clone();
            async move {
                open_region(path, range)
                    .await
                    .map(|r| r.map(|(_, start, len)| (start, len)))
            }
        };
        assert_eq!(region(None).await?, Some((0, 1000)));
        assert_eq!(region(Some((10, Some(20)))).await?, Some((10, 10)));
        assert_eq!(region(Some((990, Some(5000)))).await?, Some((990, 10)));
        assert_eq!(region(Some((999, None))).await?, Some((999, 1)));
        assert_eq!(region(Some((1000, None))).await?, None);
        let missing = open_region(dir.path().join("nope"), None).await;
        assert_eq!(
            missing.err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_file_that_shrinks_ends_the_stream_with_an_error() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("blob");
        std::fs::write(&path, pattern(4 * CHUNK))?;
        let mut stream = open(path.clone(), None).await?.expect("fits");
        let first = stream.next().await.expect("a chunk")?;
        assert_eq!(first.len(), FIRST_CHUNK);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)?
            .set_len(CHUNK as u64 + 5)?;
        let mut read = first.len();
        let mut failure = None;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(c) => read += c.len(),
                Err(e) => {
                    failure = Some(e.kind());
                    break;
                }
            }
        }
        assert_eq!(failure, Some(io::ErrorKind::UnexpectedEof));
        assert!(read < 4 * CHUNK);
        assert!(stream.next().await.is_none(), "nothing after the failure");
        Ok(())
    }

    #[tokio::test]
    async fn chunk_buffers_are_reused() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("blob");
        std::fs::write(&path, pattern(8 * CHUNK))?;
        let mut stream = open(path, None).await?.expect("fits");
        let mut buffers = std::collections::HashSet::new();
        let mut chunks = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            buffers.insert(chunk.as_ptr() as usize);
            chunks += 1;
            // Dropped here, as the HTTP layer drops a chunk once it is copied out.
        }
        assert_eq!(
            chunks, 9,
            "a small first chunk, then whole ones and the rest"
        );
        assert!(buffers.len() <= POOL_MAX + 1, "{} buffers", buffers.len());
        Ok(())
    }
}
