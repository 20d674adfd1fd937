//! HTTP plumbing shared by the cloud drivers: a native-tls `reqwest` client, request bodies
//! that enforce their announced size and remember whether *they* failed, bounded retries of
//! idempotent requests, and download streams that resume after a dropped connection.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use quay_ports::storage::{ByteStream, StorageError};
use reqwest::{Response, StatusCode};

/// Attempts of an idempotent request (first try included).
pub const ATTEMPTS: u32 = 5;

/// Backoff before retry `n` (1-based): 100 ms, 400 ms, …
pub fn backoff(n: u32) -> Duration {
    Duration::from_millis(100 * 4u64.pow(n.saturating_sub(1).min(4)))
}

/// A client for one backend: native-tls (OpenSSL), bounded connect time, no global timeout
/// (bodies may take long), an idle read timeout so a stalled backend is noticed.
///
/// # Errors
/// `Backend` when the TLS stack cannot be initialised.
pub fn client(
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<reqwest::Client, StorageError> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .read_timeout(read_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| StorageError::backend("client", "", e))
}

/// Remembers a failure of the request body (as opposed to the connection).
#[derive(Debug, Clone, Default)]
pub struct BodyFailure(Arc<Mutex<Option<StorageError>>>);

impl BodyFailure {
    fn set(&self, e: StorageError) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(e);
        }
    }

    /// The body's own failure, if any.
    pub fn take(&self) -> Option<StorageError> {
        self.0.lock().ok().and_then(|mut s| s.take())
    }
}

/// A request body that counts bytes, fails past `expected`, and records its own failures.
pub struct SizedBody {
    inner: ByteStream,
    expected: Option<u64>,
    seen: u64,
    failure: BodyFailure,
}

impl SizedBody {
    /// Wraps `inner`; `expected` is the announced length.
    pub fn new(inner: ByteStream, expected: Option<u64>) -> (Self, BodyFailure) {
        let failure = BodyFailure::default();
        (
            Self {
                inner,
                expected,
                seen: 0,
                failure: failure.clone(),
            },
            failure,
        )
    }
}

impl Stream for SizedBody {
    type Item = Result<Bytes, io::Error>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(b))) => {
                self.seen += b.len() as u64;
                if let Some(exp) = self.expected
                    && self.seen > exp
                {
                    let seen = self.seen;
                    self.failure.set(StorageError::SizeMismatch {
                        expected: exp,
                        actual: seen,
                    });
                    return Poll::Ready(Some(Err(io::Error::other("body longer than announced"))));
                }
                Poll::Ready(Some(Ok(b)))
            }
            Poll::Ready(Some(Err(e))) => {
                let kind = e.kind();
                let msg = e.to_string();
                self.failure.set(StorageError::Body(e));
                Poll::Ready(Some(Err(io::Error::new(kind, msg))))
            }
            Poll::Ready(None) => {
                if let Some(exp) = self.expected
                    && self.seen != exp
                {
                    let seen = self.seen;
                    self.failure.set(StorageError::SizeMismatch {
                        expected: exp,
                        actual: seen,
                    });
                    return Poll::Ready(Some(Err(io::Error::other("body shorter than announced"))));
                }
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Maps a transport error: the body's own failure wins; timeouts and connection failures are
/// retryable; the rest is `Backend`.
pub fn transport_error(
    e: reqwest::Error,
    operation: &'static str,
    path: &str,
    body: Option<&BodyFailure>,
) -> StorageError {
    if let Some(b) = body.and_then(BodyFailure::take) {
        return b;
    }
    if e.is_timeout() {
        StorageError::Timeout {
            operation,
            path: path.to_string(),
        }
    } else if e.is_connect() || e.is_request() || e.is_body() {
        StorageError::unavailable(operation, path, e)
    } else {
        StorageError::backend(operation, path, e)
    }
}

/// An error for an unexpected HTTP status, with the backend's error body.
pub async fn status_error(resp: Response, operation: &'static str, path: &str) -> StorageError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let msg = format!(
        "HTTP {status}: {}",
        text.chars().take(500).collect::<String>()
    );
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        StorageError::unavailable(operation, path, io::Error::other(msg))
    } else {
        StorageError::backend(operation, path, io::Error::other(msg))
    }
}

/// Sends an idempotent request up to [`ATTEMPTS`] times while the failure is transient
/// (connection, timeout, 5xx, 429). `build` makes a fresh request for every attempt.
///
/// # Errors
/// The last failure, mapped as by [`transport_error`]; a non-retryable status is returned as
/// the response for the caller to interpret.
pub async fn send_idempotent<F>(
    build: F,
    operation: &'static str,
    path: &str,
) -> Result<Response, StorageError>
where
    F: Fn() -> Result<reqwest::RequestBuilder, StorageError>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let result = build()?.send().await;
        let last = attempt >= ATTEMPTS;
        match result {
            Ok(resp)
                if !last
                    && (resp.status().is_server_error()
                        || resp.status() == StatusCode::TOO_MANY_REQUESTS) =>
            {
                tracing::debug!(storage.operation = operation, status = %resp.status(), "retrying storage request");
            }
            Ok(resp) => return Ok(resp),
            Err(e) => {
                let mapped = transport_error(e, operation, path, None);
                if last || !mapped.is_retryable() {
                    return Err(mapped);
                }
                tracing::debug!(storage.operation = operation, error = %mapped, "retrying storage request");
            }
        }
        tokio::time::sleep(backoff(attempt)).await;
    }
}

/// Opens a ranged GET of `start..end` (end exclusive, `None` = to the end) and returns the
/// response; called again by [`resuming_stream`] after a dropped connection.
pub type RangeOpener = Arc<
    dyn Fn(u64, Option<u64>) -> BoxFuture<'static, Result<Response, StorageError>> + Send + Sync,
>;

/// A download stream of `start..end` that, when the connection drops mid-body, re-opens the
/// object from the first byte not yet delivered (content-addressed blobs do not change), up to
/// [`ATTEMPTS`] times. A short body is an error, never a silent end.
pub fn resuming_stream(
    first: Response,
    open: RangeOpener,
    start: u64,
    end: Option<u64>,
    path: String,
) -> ByteStream {
    struct State {
        body: Option<futures_util::stream::BoxStream<'static, reqwest::Result<Bytes>>>,
        open: RangeOpener,
        pos: u64,
        end: Option<u64>,
        retries: u32,
        done: bool,
        path: String,
    }
    let state = State {
        body: Some(first.bytes_stream().boxed()),
        open,
        pos: start,
        end,
        retries: 0,
        done: false,
        path,
    };
    Box::pin(futures_util::stream::unfold(state, |mut st| async move {
        if st.done {
            return None;
        }
        loop {
            let body = match st.body.as_mut() {
                Some(b) => b,
                None => match (st.open)(st.pos, st.end).await {
                    Ok(resp) => st.body.insert(resp.bytes_stream().boxed()),
                    Err(e) => {
                        st.done = true;
                        return Some((Err(io::Error::other(e)), st));
                    }
                },
            };
            match body.next().await {
                Some(Ok(b)) => {
                    st.pos += b.len() as u64;
                    st.retries = 0;
                    return Some((Ok(b), st));
                }
                None => {
                    if let Some(end) = st.end
                        && st.pos < end
                    {
                        st.done = true;
                        let e = io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{}: body ended at byte {} of {end}", st.path, st.pos),
                        );
                        return Some((Err(e), st));
                    }
                    return None;
                }
                Some(Err(e)) => {
                    st.body = None;
                    st.retries += 1;
                    if st.retries >= ATTEMPTS {
                        st.done = true;
                        let e = io::Error::new(
                            io::ErrorKind::ConnectionAborted,
                            format!(
                                "{}: storage connection lost at byte {}: {e}",
                                st.path, st.pos
                            ),
                        );
                        return Some((Err(e), st));
                    }
                    tracing::debug!(storage.path = %st.path, offset = st.pos, "resuming download");
                    tokio::time::sleep(backoff(st.retries)).await;
                }
            }
        }
    }))
}

/// Inner texts of every `<tag>…</tag>` in `xml`, unescaped (enough for S3 and Azure replies).
pub fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(xml_unescape(&after[..j]));
        rest = &after[j + close.len()..];
    }
    out
}

/// The first `<tag>` value.
pub fn xml_value(xml: &str, tag: &str) -> Option<String> {
    xml_values(xml, tag).into_iter().next()
}

/// Raw inner XML of every `<tag>…</tag>` element (for nested records).
pub fn xml_elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Escapes text for an XML body.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_helpers() {
        let x = "<R><Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c</Key></Contents></R>";
        assert_eq!(xml_values(x, "Key"), ["a&b", "c"]);
        assert_eq!(xml_elements(x, "Contents").len(), 2);
        assert_eq!(xml_value(x, "Size").as_deref(), Some("3"));
        assert_eq!(xml_value(x, "Nope"), None);
    }

    #[test]
    fn backoff_is_bounded() {
        assert_eq!(backoff(1), Duration::from_millis(100));
        assert_eq!(backoff(2), Duration::from_millis(400));
        assert!(backoff(50) <= Duration::from_millis(100 * 256));
    }
}
