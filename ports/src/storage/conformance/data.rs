//! Deterministic test bodies that are generated and checked while streaming, so a multi-GiB
//! object never sits in the test's memory.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;

use crate::storage::stream::{ByteStream, next_chunk};

/// Byte `i` of the pattern with `seed`.
pub fn pattern_byte(seed: u8, i: u64) -> u8 {
    // 251 is prime, so the pattern does not repeat on power-of-two boundaries.
    ((i % 251) as u8).wrapping_mul(7).wrapping_add(seed)
}

/// `len` bytes of the pattern starting at `start`.
pub fn pattern(seed: u8, start: u64, len: u64) -> Vec<u8> {
    (start..start + len)
        .map(|i| pattern_byte(seed, i))
        .collect()
}

/// A stream of `len` pattern bytes from offset `start`, in chunks of `chunk` bytes.
pub fn pattern_stream(seed: u8, start: u64, len: u64, chunk: usize) -> ByteStream {
    Box::pin(Pattern {
        table: table(seed, chunk),
        pos: start,
        end: start + len,
        chunk,
        fail_at: None,
    })
}

/// Like [`pattern_stream`] but failing with an I/O error once `fail_after` bytes were produced.
pub fn failing_stream(seed: u8, len: u64, fail_after: u64) -> ByteStream {
    Box::pin(Pattern {
        table: table(seed, 16 * 1024),
        pos: 0,
        end: len,
        chunk: 16 * 1024,
        fail_at: Some(fail_after),
    })
}

/// `chunk + 251` pattern bytes from offset 0: any chunk is a slice of it.
fn table(seed: u8, chunk: usize) -> Bytes {
    Bytes::from(pattern(seed, 0, chunk as u64 + 251))
}

struct Pattern {
    table: Bytes,
    pos: u64,
    end: u64,
    chunk: usize,
    fail_at: Option<u64>,
}

impl Stream for Pattern {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if let Some(at) = self.fail_at
            && self.pos >= at
        {
            self.fail_at = None;
            self.pos = self.end;
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "client went away",
            ))));
        }
        if self.pos >= self.end {
            return Poll::Ready(None);
        }
        let mut n = (self.end - self.pos).min(self.chunk as u64);
        if let Some(at) = self.fail_at {
            n = n.min(at - self.pos).max(1);
        }
        let from = (self.pos % 251) as usize;
        let out = self.table.slice(from..from + n as usize);
        self.pos += n;
        Poll::Ready(Some(Ok(out)))
    }
}

/// Reads `stream` and checks it is exactly `len` pattern bytes from `start`.
///
/// # Errors
/// A description of the first difference.
pub async fn verify_stream(
    mut stream: ByteStream,
    seed: u8,
    start: u64,
    len: u64,
) -> Result<(), String> {
    const SPAN: usize = 64 * 1024;
    let table = table(seed, SPAN);
    let mut pos = start;
    while let Some(chunk) = next_chunk(&mut stream).await {
        let chunk = chunk.map_err(|e| format!("stream failed at byte {}: {e}", pos - start))?;
        if pos + chunk.len() as u64 > start + len {
            return Err(format!("stream longer than {len} bytes"));
        }
        for piece in chunk.chunks(SPAN) {
            let from = (pos % 251) as usize;
            if piece != &table[from..from + piece.len()] {
                return Err(format!(
                    "bytes differ in the {} bytes from {}",
                    piece.len(),
                    pos - start
                ));
            }
            pos += piece.len() as u64;
        }
    }
    if pos != start + len {
        return Err(format!("stream ended after {} of {len} bytes", pos - start));
    }
    Ok(())
}
