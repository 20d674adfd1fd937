//! [`ByteStream`]: the body type of every storage call, and small helpers over it.
//!
//! Only `futures-core` is available here, so the helpers poll with `std::future::poll_fn`.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;

use super::StorageError;

/// A boxed, `Send` stream of byte chunks; an `Err` item ends the body with that failure.
pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// The next chunk of `stream`, or `None` at its end.
pub async fn next_chunk(stream: &mut ByteStream) -> Option<Result<Bytes, io::Error>> {
    poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

/// A stream yielding `data` once (nothing when it is empty).
pub fn once(data: impl Into<Bytes>) -> ByteStream {
    let data: Bytes = data.into();
    Box::pin(Once(if data.is_empty() { None } else { Some(data) }))
}

/// A stream with no bytes.
pub fn empty() -> ByteStream {
    Box::pin(Once(None))
}

struct Once(Option<Bytes>);

impl Stream for Once {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Ok))
    }
}

/// Reads `stream` to its end into memory, refusing more than `max` bytes.
///
/// # Errors
/// `Body` when the stream fails; `TooLarge` (path empty) past `max`.
pub async fn collect(mut stream: ByteStream, max: u64) -> Result<Bytes, StorageError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = next_chunk(&mut stream).await {
        let chunk = chunk.map_err(StorageError::Body)?;
        if (buf.len() + chunk.len()) as u64 > max {
            return Err(StorageError::TooLarge {
                path: String::new(),
                max,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Reads from `stream` into `buf` until `buf` holds `want` bytes or the stream ends. Chunks are
/// split so that `buf` never exceeds `want`; the remainder is returned for the next call.
///
/// # Errors
/// `Body` when the stream fails.
pub async fn fill(
    stream: &mut ByteStream,
    carry: &mut Option<Bytes>,
    buf: &mut BytesMut,
    want: usize,
) -> Result<bool, StorageError> {
    while buf.len() < want {
        let mut chunk = match carry.take() {
            Some(c) => c,
            None => match next_chunk(stream).await {
                Some(c) => c.map_err(StorageError::Body)?,
                None => return Ok(false),
            },
        };
        let room = want - buf.len();
        if chunk.len() > room {
            *carry = Some(chunk.split_off(room));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut f = std::pin::pin!(f);
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn collect_respects_max() {
        assert_eq!(
            block_on(collect(once("abc"), 3)).unwrap(),
            Bytes::from("abc")
        );
        assert!(matches!(
            block_on(collect(once("abcd"), 3)),
            Err(StorageError::TooLarge { .. })
        ));
        assert!(block_on(collect(empty(), 0)).unwrap().is_empty());
    }

    #[test]
    fn fill_splits_chunks() {
        let mut s = once("abcdef");
        let mut carry = None;
        let mut buf = BytesMut::new();
        assert!(block_on(fill(&mut s, &mut carry, &mut buf, 4)).unwrap());
        assert_eq!(&buf[..], b"abcd");
        buf.clear();
        assert!(!block_on(fill(&mut s, &mut carry, &mut buf, 4)).unwrap());
        assert_eq!(&buf[..], b"ef");
    }
}
