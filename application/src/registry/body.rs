//! A request body on its way to storage: hashed and counted as the driver reads it, and cut off
//! with an error as soon as it exceeds the allowed size, so an oversize layer never lands in
//! storage whole and a hash never needs a second pass (except under FIPS, see `uploads`).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use quay_ports::crypto::HashStream;
use quay_ports::storage::ByteStream;

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
    /// The running SHA-256, when one is kept.
    pub(crate) hasher: Option<Box<dyn HashStream>>,
    /// The uncompressed-size counter, on the first chunk of an upload.
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
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Tallied {
    inner: ByteStream,
    tally: SharedTally,
    allowance: u64,
    done: bool,
}

impl Stream for Tallied {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let item = match self.inner.as_mut().poll_next(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(item) => item,
        };
        let Some(Ok(chunk)) = item else {
            if item.is_none() {
                self.done = true;
            }
            return Poll::Ready(item);
        };
        let allowance = self.allowance;
        let mut t = self.tally.0.lock().unwrap_or_else(PoisonError::into_inner);
        let written = t.written.saturating_add(chunk.len() as u64);
        if written > allowance {
            t.too_large = true;
            drop(t);
            self.done = true;
            return Poll::Ready(Some(Err(io::Error::other("blob exceeds the allowed size"))));
        }
        t.written = written;
        if let Some(g) = t.gunzip.as_mut() {
            g.update(&chunk);
        }
        if let Some(h) = t.hasher.as_mut()
            && let Err(e) = h.update(&chunk)
        {
            drop(t);
            self.done = true;
            return Poll::Ready(Some(Err(io::Error::other(e))));
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// Wraps `body`: every byte goes through `tally`'s hasher; more than `allowance` bytes end the
/// stream with an error and set `too_large`.
pub(crate) fn tallied(body: ByteStream, tally: SharedTally, allowance: u64) -> ByteStream {
    Box::pin(Tallied {
        inner: body,
        tally,
        allowance,
        done: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunzip_counts_the_first_member_only() {
        let raw = vec![7u8; 10_240];
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut enc, &raw).unwrap();
        let gz = enc.finish().unwrap();
        let mut g = Gunzip::new();
        for part in gz.chunks(7) {
            g.update(part);
        }
        assert_eq!(g.finish(), Some(10_240));
        let mut not_gzip = Gunzip::new();
        not_gzip.update(b"{\"architecture\":\"amd64\"}");
        assert_eq!(not_gzip.finish(), None);
    }
}
