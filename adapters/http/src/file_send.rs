//! Blob downloads from local files on plain-HTTP/1 connections, written to the socket directly in
//! large writes from a blocking thread instead of through actix's response encoder.
//!
//! actix-web's response bodies are streams of [`bytes::Bytes`] that its HTTP/1 encoder copies
//! into the connection's write buffer, chunk by chunk, on the connection's worker thread. For a
//! multi-GiB blob that is one more copy of every byte and a trip through the worker for every
//! chunk. The path here works below the encoder:
//! - every plain-HTTP connection's socket is wrapped in a [`FileSendStream`] (see [`server`]),
//!   which carries a [`Sender`] reachable from handlers as connection data;
//! - a handler with a file to send builds its response with [`file_response`]: the file goes in
//!   the connection's queue, the response gets a `Content-Length` and a streaming body with no
//!   bytes of its own that ends once the file is sent (so actix's keep-alive and shutdown timers
//!   treat the response as in progress meanwhile), and its head gets one marker header naming
//!   the queued file (an unguessable token);
//! - the socket wrapper watches what the encoder writes while files are queued. At the marker it
//!   drops the marker line, writes the rest of the head, sends the file, and only then accepts
//!   the next bytes, so pipelined responses stay in order.
//!
//! The file is sent by runs on tokio's blocking pool (reading a file that is not cached blocks:
//! NFS, cold disks; it must not stall the connection's worker), each `pread`ing 1 MiB at a time
//! into one buffer and `write`ing it to the socket, up to 64 MiB per run. Within a run a full
//! socket is waited for briefly; a client that stalls longer sends the download back to the
//! reactor, which waits for the socket to be writable, so a slow client holds no thread.
//! A file that shrinks while it is sent fails the connection, never a silently short body.
//!
//! Why not `sendfile(2)`: it was measured on this path first. Over loopback (a reverse proxy on
//! the same host, and the benchmark) it sent 512 MiB at 1.45 GB/s for 0.65 CPU-s/GB, against
//! 2.3 GB/s for 0.40 CPU-s/GB with 1 MiB copies: the page cache's 4 KiB pages make skbs of many
//! small fragments, costlier to send and receive than the copy is.
//!
//! TLS connections (where the bytes must be encrypted in user space) and drivers without local
//! files use the ordinary streaming body.

mod server;
mod stream;
#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use actix_web::body::{BodySize, MessageBody};
use actix_web::{HttpRequest, HttpResponseBuilder};
use bytes::Bytes;

pub use server::bind_plain;
pub use stream::FileSendStream;

/// Name of the marker header (removed by [`FileSendStream`] before the head is sent).
const MARKER_NAME: &str = "x-quay-file-send";

/// A file region waiting for its response head to be written.
#[derive(Debug)]
struct Job {
    /// The whole marker line as the encoder writes it: `x-quay-file-send: <token>\r\n`.
    marker: Vec<u8>,
    id: u64,
    file: Arc<File>,
    offset: u64,
    len: u64,
    /// Shared with the response body, which ends when the file has been sent.
    progress: Progress,
}

impl Job {
    /// The file has been sent: its response body may end.
    fn finish(&self) {
        let mut progress = self.progress.borrow_mut();
        progress.done = true;
        if let Some(waker) = progress.waker.take() {
            waker.wake();
        }
    }
}

/// Whether a queued file has been sent, and who waits for it.
#[derive(Debug, Default)]
struct SendState {
    done: bool,
    waker: Option<Waker>,
}

type Progress = Rc<RefCell<SendState>>;

#[derive(Debug, Default)]
struct Queue {
    jobs: VecDeque<Job>,
    next_id: u64,
}

/// A connection's queue of files to send, shared by its socket wrapper and its handlers.
#[derive(Debug, Clone)]
pub struct Sender {
    queue: Rc<RefCell<Queue>>,
    /// Per-connection secret part of every marker, so no response content can imitate one.
    secret: String,
}

impl Sender {
    fn new() -> Self {
        // Two SipHash outputs under std's randomly keyed hasher: 128 unpredictable bits.
        let state = std::collections::hash_map::RandomState::new();
        let mut first = state.build_hasher();
        first.write_u8(1);
        let mut second = state.build_hasher();
        second.write_u8(2);
        Self {
            queue: Rc::default(),
            secret: format!("{:016x}{:016x}", first.finish(), second.finish()),
        }
    }

    /// Queues `len` bytes of `file` from `offset`; returns the job id and the marker value.
    fn push(&self, file: File, offset: u64, len: u64) -> (u64, String, Progress) {
        let progress = Progress::default();
        let mut queue = self.queue.borrow_mut();
        let id = queue.next_id;
        queue.next_id += 1;
        let value = format!("{}-{id}", self.secret);
        queue.jobs.push_back(Job {
            marker: format!("{MARKER_NAME}: {value}\r\n").into_bytes(),
            id,
            file: Arc::new(file),
            offset,
            len,
            progress: Rc::clone(&progress),
        });
        (id, value, progress)
    }

    /// Forgets job `id` if it is still queued (its response was never written).
    fn cancel(&self, id: u64) {
        self.queue.borrow_mut().jobs.retain(|job| job.id != id);
    }
}

/// Whether `req` arrived on a connection that can send files ([`FileSendStream`]).
pub(crate) fn available(req: &HttpRequest) -> bool {
    req.conn_data::<Sender>().is_some()
}

/// Finishes `response` as `len` bytes of `file` from `offset`, sent by the socket wrapper; `None` when
/// the connection cannot send files (then the caller streams the bytes itself).
pub(crate) fn file_response(
    req: &HttpRequest,
    response: &mut HttpResponseBuilder,
    file: File,
    offset: u64,
    len: u64,
) -> Option<actix_web::HttpResponse> {
    let sender = req.conn_data::<Sender>()?;
    let (id, marker, progress) = sender.push(file, offset, len);
    response
        .insert_header((MARKER_NAME, marker))
        // A streaming body with a fixed `Content-Length`: the encoder writes no framing and
        // expects no bytes from the body; the socket wrapper supplies them.
        .no_chunking(len);
    Some(response.body(QueuedFile {
        sender: sender.clone(),
        id,
        progress,
        polled: false,
    }))
}

/// The body of a [`file_response`]: no bytes of its own, because they bypass the encoder; it
/// ends when the socket wrapper has sent the file. Until then the response is in progress for
/// actix, as a streamed one is: keep-alive timing starts after the file, not after the head.
/// Dropped without ever being polled (the response was replaced before its head was written),
/// it takes its file out of the queue.
struct QueuedFile {
    sender: Sender,
    id: u64,
    progress: Progress,
    polled: bool,
}

impl MessageBody for QueuedFile {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        self.polled = true;
        let mut progress = self.progress.borrow_mut();
        if progress.done {
            Poll::Ready(None)
        } else {
            progress.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

impl Drop for QueuedFile {
    fn drop(&mut self) {
        if !self.polled {
            self.sender.cancel(self.id);
        }
    }
}
