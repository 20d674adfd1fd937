//! [`DownloadProxyBackend`] over HTTP: relays a granted storage URL to the client for
//! `/_storage_proxy/` downloads, as Quay's nginx does (`proxy_pass`, no buffering, the client's
//! `Range` passed on, no `Authorization` forwarded, 60 s read timeout).

use std::time::Duration;

use async_trait::async_trait;
use futures_util::TryStreamExt as _;
use quay_ports::storage::StorageError;
use quay_ports::storage::redirect::{DownloadProxyBackend, ProxiedResponse};

use crate::http;

/// Backend headers relayed to the client.
pub const RELAYED_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-range",
    "accept-ranges",
    "etag",
    "last-modified",
];

/// The HTTP relay.
#[derive(Debug, Clone)]
pub struct HttpProxyBackend {
    client: reqwest::Client,
}

impl HttpProxyBackend {
    /// A relay with nginx's timeouts (connect 60 s, read 60 s).
    ///
    /// # Errors
    /// `Backend` when the HTTP client cannot be built.
    pub fn new() -> Result<Self, StorageError> {
        Ok(Self {
            client: http::client(Duration::from_secs(60), Duration::from_secs(60))?,
        })
    }
}

#[async_trait]
impl DownloadProxyBackend for HttpProxyBackend {
    async fn fetch(&self, url: &str, range: Option<&str>) -> Result<ProxiedResponse, StorageError> {
        let mut rb = self.client.get(url);
        if let Some(r) = range {
            rb = rb.header("range", r);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| http::transport_error(e, "proxy", "", None))?;
        let headers = RELAYED_HEADERS
            .iter()
            .filter_map(|name| {
                resp.headers()
                    .get(*name)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| ((*name).to_owned(), v.to_owned()))
            })
            .collect();
        Ok(ProxiedResponse {
            status: resp.status().as_u16(),
            headers,
            body: Box::pin(resp.bytes_stream().map_err(std::io::Error::other)),
        })
    }
}
