//! A request body on its way to storage: hashed and counted as the driver reads it, and cut off
//! with an error as soon as it exceeds the allowed size, so an oversize layer never lands in
//! storage whole and a hash never needs a second pass (except under FIPS, see `uploads`).
//!
//! The first [`INLINE_BYTES`] are hashed on the request's task; a longer body's hash (and its
//! uncompressed-size count) moves to a thread of its own, fed through a bounded queue, so the
//! socket is read, the bytes hashed and the driver writes them on different cores. The stream
//! ends only once that thread has hashed every byte it passed on: a driver sees the end of the
//! body (and the caller records the chunk and its hash state) only after the hash is complete,
//! and a hash failure ends the body with an error instead.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::StreamExt as _;
use quay_ports::crypto::{DigestError, HashStream};
use quay_ports::storage::ByteStream;
use quay_ports::storage::stream::next_chunk;
use tokio::sync::{mpsc, oneshot};

/// Bytes hashed on the request's task before the hash moves to its own thread (a small blob
/// costs no thread).
const INLINE_BYTES: u64 = 1 << 20;

/// Chunks queued for the hashing thread (a request body's chunks are at most tens of KiB, so
/// this bounds the bytes waiting for the hash to a few MiB).
const HASH_QUEUE_DEPTH: usize = 32;

/// Counts the bytes a gzip stream inflates to (Quay's `calculate_size_handler`: the first
/// member only; anything that is not gzip gives no size).
pub(crate) struct Gunzip {
    decoder: flate2::write::GzDecoder<Counter>,
    failed: bool,
}

pub(crate) struct Counter(u64);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Gunzip {
    pub(crate) fn new() -> Self {
        Self {
            decoder: flate2::write::GzDecoder::new(Counter(0)),
            failed: false,
        }
    }

    fn update(&mut self, data: &[u8]) {
        if !self.failed && io::Write::write_all(&mut self.decoder, data).is_err() {
            self.failed = true;
        }
    }

    /// The inflated size, when the bytes were one valid gzip member.
    pub(crate) fn finish(mut self) -> Option<u64> {
        if self.failed || self.decoder.try_finish().is_err() {
            return None;
        }
        Some(self.decoder.get_ref().0)
    }
}

/// What the body saw, read after the driver is done with it.
#[derive(Default)]
pub(crate) struct Tally {
    /// The running SHA-256, when one is kept (set back once the body has ended normally).
    pub(crate) hasher: Option<Box<dyn HashStream>>,
    /// The uncompressed-size counter, on the first chunk of an upload (as `hasher`).
    pub(crate) gunzip: Option<Gunzip>,
    /// Bytes passed through.
    pub(crate) written: u64,
    /// The body went past its allowance.
    pub(crate) too_large: bool,
}

/// Shared access to a [`Tally`].
#[derive(Clone, Default)]
pub(crate) struct SharedTally(Arc<Mutex<Tally>>);

impl SharedTally {
    pub(crate) fn new(hasher: Option<Box<dyn HashStream>>, gunzip: Option<Gunzip>) -> Self {
        Self(Arc::new(Mutex::new(Tally {
            hasher,
            gunzip,
            written: 0,
            too_large: false,
        })))
    }

    /// Takes the tally out (after the stream is finished).
    pub(crate) fn take(&self) -> Tally {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tally> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The hash and the uncompressed-size count of a body.
struct Digests {
    hasher: Option<Box<dyn HashStream>>,
    gunzip: Option<Gunzip>,
}

impl Digests {
    fn update(&mut self, chunk: &[u8]) -> Result<(), DigestError> {
        if let Some(g) = self.gunzip.as_mut() {
            g.update(chunk);
        }
        match self.hasher.as_mut() {
            Some(h) => h.update(chunk),
            None => Ok(()),
        }
    }

    fn is_empty(&self) -> bool {
        self.hasher.is_none() && self.gunzip.is_none()
    }
}

/// Where the digests are computed.
enum Digesting {
    /// On the request's task.
    Here(Box<Digests>),
    /// On a thread of their own, fed by `queue`; `done` gives them back when the queue closes.
    Thread {
        queue: mpsc::Sender<Bytes>,
        done: oneshot::Receiver<Result<Box<Digests>, DigestError>>,
    },
    /// The body has ended (normally or not).
    Over,
}

/// Moves `digests` to a thread of their own (or keeps them here when no thread can start).
fn offload(digests: Box<Digests>) -> Digesting {
    let (queue, mut chunks) = mpsc::channel::<Bytes>(HASH_QUEUE_DEPTH);
    let (report, done) = oneshot::channel();
    let shared = Arc::new(Mutex::new(Some((digests, report))));
    let taken = Arc::clone(&shared);
    let started = std::thread::Builder::new()
        .name("quay-body-hash".into())
        .spawn(move || {
            let Some((mut digests, report)) =
                taken.lock().unwrap_or_else(PoisonError::into_inner).take()
            else {
                return;
            };
            let mut result = Ok(());
            while let Some(chunk) = chunks.blocking_recv() {
                result = digests.update(&chunk);
                if result.is_err() {
                    break;
                }
            }
            // The receiver is gone when the body was abandoned: nothing to report then.
            let _ = report.send(result.map(|()| digests));
        });
    match started {
        Ok(_) => Digesting::Thread { queue, done },
        Err(e) => {
            tracing::debug!(error = %e, "no thread for hashing a body: hashing it in place");
            let back = shared.lock().unwrap_or_else(PoisonError::into_inner).take();
            match back {
                Some((digests, _)) => Digesting::Here(digests),
                None => Digesting::Over,
            }
        }
    }
}

struct Tallied {
    inner: ByteStream,
    tally: SharedTally,
    allowance: u64,
    digesting: Digesting,
}

impl Tallied {
    /// The next item of the body, or `None` after its end (or after an error).
    async fn next(mut self) -> Option<(Result<Bytes, io::Error>, Self)> {
        if matches!(self.digesting, Digesting::Over) {
            return None;
        }
        let chunk = match next_chunk(&mut self.inner).await {
            None => {
                let digesting = std::mem::replace(&mut self.digesting, Digesting::Over);
                return self.finish(digesting).await.map(|e| (Err(e), self));
            }
            Some(Err(e)) => return Some((Err(e), self.over())),
            Some(Ok(chunk)) => chunk,
        };
        let written = {
            let mut t = self.tally.lock();
            let written = t.written.saturating_add(chunk.len() as u64);
            if written > self.allowance {
                t.too_large = true;
                drop(t);
                let e = io::Error::other("blob exceeds the allowed size");
                return Some((Err(e), self.over()));
            }
            t.written = written;
            written
        };
        self.digesting = match std::mem::replace(&mut self.digesting, Digesting::Over) {
            Digesting::Here(mut digests) => {
                if let Err(e) = digests.update(&chunk) {
                    return Some((Err(io::Error::other(e)), self));
                }
                if written >= INLINE_BYTES && !digests.is_empty() {
                    offload(digests)
                } else {
                    Digesting::Here(digests)
                }
            }
            Digesting::Thread { queue, done } => {
                // The thread stops early only when the hash failed: `finish` says how.
                if queue.send(chunk.clone()).await.is_err() {
                    let stopped = Digesting::Thread { queue, done };
                    let e = self
                        .finish(stopped)
                        .await
                        .unwrap_or_else(|| io::Error::other("the hashing thread stopped"));
                    return Some((Err(e), self));
                }
                Digesting::Thread { queue, done }
            }
            Digesting::Over => return None,
        };
        Some((Ok(chunk), self))
    }

    /// Ends `digesting`: waits for the hashing thread to hash everything queued and puts the
    /// digests back in the tally. An error when the hash failed.
    async fn finish(&mut self, digesting: Digesting) -> Option<io::Error> {
        let digests = match digesting {
            Digesting::Here(digests) => digests,
            Digesting::Thread { queue, done } => {
                drop(queue);
                match done.await {
                    Ok(Ok(digests)) => digests,
                    Ok(Err(e)) => return Some(io::Error::other(e)),
                    Err(_) => return Some(io::Error::other("the hashing thread stopped")),
                }
            }
            Digesting::Over => return None,
        };
        let Digests { hasher, gunzip } = *digests;
        let mut t = self.tally.lock();
        t.hasher = hasher;
        t.gunzip = gunzip;
        None
    }

    fn over(mut self) -> Self {
        self.digesting = Digesting::Over;
        self
    }
}

/// Wraps `body`: every byte goes through `tally`'s hasher; more than `allowance` bytes end the
/// stream with an error and set `too_large`.
pub(crate) fn tallied(body: ByteStream, tally: SharedTally, allowance: u64) -> ByteStream {
    let digests = {
        let mut t = tally.lock();
        Digests {
            hasher: t.hasher.take(),
            gunzip: t.gunzip.take(),
        }
    };
    let state = Tallied {
        inner: body,
        tally,
        allowance,
        digesting: Digesting::Here(Box::new(digests)),
    };
    // Fused: a driver may poll again after the end (an unfold would panic then).
    Box::pin(futures_util::stream::unfold(state, Tallied::next).fuse())
}

#[cfg(test)]
mod tests;
