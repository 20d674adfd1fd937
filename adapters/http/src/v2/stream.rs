//! Request bodies as [`ByteStream`]s: actix's payload is not `Send` (actix-web #1420), so a task
//! on the worker's local runtime pumps it into a bounded channel whose receiver is the stream.
//! A client that goes away ends the stream with an error, never with a silently short body.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::web;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use quay_application::registry::ByteStream;
use tokio::sync::mpsc;

/// Chunks buffered between the socket and the storage driver.
const CHANNEL_DEPTH: usize = 8;

struct Received(mpsc::Receiver<Result<Bytes, io::Error>>);

impl Stream for Received {
    type Item = Result<Bytes, io::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// The request body as a `Send` stream.
pub(crate) fn body_stream(mut payload: web::Payload) -> ByteStream {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    actix_web::rt::spawn(async move {
        loop {
            let item = poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await;
            let Some(item) = item else { break };
            let item =
                item.map_err(|e| io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()));
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    Box::pin(Received(rx))
}

/// Reads at most `max + 1` bytes of the body (so the caller can tell "too large").
///
/// # Errors
/// The payload's error when the client breaks off.
pub(crate) async fn read_limited(
    mut payload: web::Payload,
    max: usize,
) -> Result<Bytes, actix_web::error::PayloadError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk?;
        let room = (max + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if buf.len() > max {
            break;
        }
    }
    Ok(buf.freeze())
}
