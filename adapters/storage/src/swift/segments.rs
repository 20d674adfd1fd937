//! Splitting one request body into Swift segments of at most `max` bytes, each streamed as its
//! own `PUT` (chunked transfer encoding) without buffering a segment in memory.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use quay_ports::storage::{ByteStream, StorageError};

struct State {
    body: ByteStream,
    carry: Option<Bytes>,
    ended: bool,
    failure: Option<io::Error>,
}

/// A body being cut into segments.
#[derive(Clone)]
pub struct Splitter(Arc<Mutex<State>>);

impl Splitter {
    /// Wraps `body`.
    pub fn new(body: ByteStream) -> Self {
        Self(Arc::new(Mutex::new(State {
            body,
            carry: None,
            ended: false,
            failure: None,
        })))
    }

    /// Whether the body has more bytes (reads ahead one chunk).
    ///
    /// # Errors
    /// `Body` when the body fails.
    pub async fn has_more(&self) -> Result<bool, StorageError> {
        std::future::poll_fn(|cx| {
            let Ok(mut st) = self.0.lock() else {
                return Poll::Ready(Err(StorageError::Body(io::Error::other("poisoned"))));
            };
            if st.carry.as_ref().is_some_and(|c| !c.is_empty()) {
                return Poll::Ready(Ok(true));
            }
            if st.ended {
                return Poll::Ready(Ok(false));
            }
            match st.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(b))) if b.is_empty() => {
                    cx.waker().wake_by_ref();
                    Poll::Pending
                }
                Poll::Ready(Some(Ok(b))) => {
                    st.carry = Some(b);
                    Poll::Ready(Ok(true))
                }
                Poll::Ready(Some(Err(e))) => {
                    st.ended = true;
                    Poll::Ready(Err(StorageError::Body(e)))
                }
                Poll::Ready(None) => {
                    st.ended = true;
                    Poll::Ready(Ok(false))
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// The next segment: at most `max` bytes of the body, and a counter of the bytes it handed
    /// out.
    pub fn segment(&self, max: u64) -> (Segment, Arc<AtomicU64>) {
        let sent = Arc::new(AtomicU64::new(0));
        (
            Segment {
                shared: self.0.clone(),
                left: max,
                sent: sent.clone(),
            },
            sent,
        )
    }

    /// The body's own failure during the last segment, if any.
    pub fn take_failure(&self) -> Option<StorageError> {
        self.0
            .lock()
            .ok()
            .and_then(|mut s| s.failure.take())
            .map(StorageError::Body)
    }
}

/// One segment's body.
pub struct Segment {
    shared: Arc<Mutex<State>>,
    left: u64,
    sent: Arc<AtomicU64>,
}

impl Stream for Segment {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let shared = self.shared.clone();
        let Ok(mut st) = shared.lock() else {
            return Poll::Ready(Some(Err(io::Error::other("poisoned"))));
        };
        let mut chunk = match st.carry.take() {
            Some(c) => c,
            None if st.ended => return Poll::Ready(None),
            None => match st.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(c))) => c,
                Poll::Ready(Some(Err(e))) => {
                    st.ended = true;
                    let copy = io::Error::new(e.kind(), e.to_string());
                    st.failure = Some(e);
                    return Poll::Ready(Some(Err(copy)));
                }
                Poll::Ready(None) => {
                    st.ended = true;
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            },
        };
        if chunk.len() as u64 > self.left {
            let rest = chunk.split_off(usize::try_from(self.left).unwrap_or(usize::MAX));
            st.carry = Some(rest);
        }
        drop(st);
        self.left -= chunk.len() as u64;
        self.sent.fetch_add(chunk.len() as u64, Ordering::SeqCst);
        Poll::Ready(Some(Ok(chunk)))
    }
}
