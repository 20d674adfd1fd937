//! Redirect or stream: how a blob `GET` on `/v2` is answered, as Python Quay decides it.
//!
//! Quay (`endpoints/v2/blob.py::download_blob`) asks the storage of the blob's preferred
//! placement for a direct-download URL (600 s) and answers `302 Found` with `Location` set to it
//! plus `Docker-Content-Digest` (and `Accept-Ranges: bytes` when the driver supports ranges)
//! whenever one comes back; otherwise it streams the blob with `Content-Length` and
//! `Content-Type: application/octet-stream`. Quay has no `FEATURE_DIRECT_DOWNLOAD` switch: a
//! driver that can sign always redirects. `CDN_SPECIFIC_NAMESPACES` only tells CDN drivers not
//! to bypass the CDN for same-region clients. With `FEATURE_PROXY_STORAGE` the URL is rewritten
//! to `<PREFERRED_URL_SCHEME>://<SERVER_HOSTNAME>/_storage_proxy/<b64url(jwt)>/<scheme>/<host>/<path?query>`,
//! the JWT granting exactly one [`ProxyAccess`].

use url::Url;

/// Tells whether a client address is inside AWS and in which region (Quay's `ip_resolver`, fed
/// by AWS's published ip-ranges); CDN drivers hand same-region clients plain S3 URLs.
pub trait ClientNetwork: Send + Sync + std::fmt::Debug {
    /// The AWS region `ip` belongs to, or `None` outside AWS.
    fn aws_region(&self, ip: std::net::IpAddr) -> Option<String>;
}

/// Default lifetime of a direct-download URL (`DistributedStorage.get_direct_download_url`).
pub const DIRECT_DOWNLOAD_EXPIRY_SECS: u64 = 600;

/// The configuration keys that shape the answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadPolicy {
    /// `FEATURE_PROXY_STORAGE`.
    pub proxy_storage: bool,
    /// `PREFERRED_URL_SCHEME`.
    pub preferred_url_scheme: String,
    /// `SERVER_HOSTNAME`.
    pub server_hostname: String,
    /// `CDN_SPECIFIC_NAMESPACES`.
    pub cdn_specific_namespaces: Vec<String>,
}

/// How to answer a blob download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlobDelivery {
    /// `302 Found` to this URL.
    Redirect(String),
    /// Stream the bytes through quay-rs.
    Stream,
}

/// What a storage-proxy JWT grants (one `access` entry, type `storageproxy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyAccess {
    /// URL scheme of the backend URL.
    pub scheme: String,
    /// `host[:port]` of the backend URL.
    pub host: String,
    /// Path and query, without the leading `/`.
    pub uri: String,
}

impl DownloadPolicy {
    /// Whether `namespace` is listed in `CDN_SPECIFIC_NAMESPACES`.
    pub fn is_cdn_specific(&self, namespace: &str) -> bool {
        self.cdn_specific_namespaces.iter().any(|n| n == namespace)
    }

    /// Decides from the driver's answer. With proxy storage on, `proxy_token` is called with the
    /// access to grant and returns the URL-safe base64 of the signed JWT.
    pub fn decide<E>(
        &self,
        direct_url: Option<&Url>,
        proxy_token: impl FnOnce(&ProxyAccess) -> Result<String, E>,
    ) -> Result<BlobDelivery, E> {
        let Some(url) = direct_url else {
            return Ok(BlobDelivery::Stream);
        };
        if !self.proxy_storage {
            return Ok(BlobDelivery::Redirect(url.to_string()));
        }
        let access = proxy_access(url);
        let token = proxy_token(&access)?;
        Ok(BlobDelivery::Redirect(format!(
            "{}://{}/_storage_proxy/{}/{}/{}/{}",
            self.preferred_url_scheme,
            self.server_hostname,
            token,
            access.scheme,
            access.host,
            access.uri
        )))
    }
}

/// The access a storage-proxy JWT grants for `url`.
pub fn proxy_access(url: &Url) -> ProxyAccess {
    let mut uri = url.path().trim_start_matches('/').to_string();
    if let Some(q) = url.query().filter(|q| !q.is_empty()) {
        uri.push('?');
        uri.push_str(q);
    }
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => String::new(),
    };
    ProxyAccess {
        scheme: url.scheme().to_string(),
        host,
        uri,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(proxy: bool) -> DownloadPolicy {
        DownloadPolicy {
            proxy_storage: proxy,
            preferred_url_scheme: "https".into(),
            server_hostname: "quay.example".into(),
            cdn_specific_namespaces: vec!["protected".into()],
        }
    }

    #[test]
    fn no_url_streams() {
        let d = policy(true).decide::<()>(None, |_| panic!("no token needed"));
        assert_eq!(d, Ok(BlobDelivery::Stream));
    }

    #[test]
    fn signed_url_redirects() {
        let url = Url::parse("https://bucket.s3.amazonaws.com/p/sha256/ab/abc?X-Amz-Signature=1")
            .unwrap();
        let d = policy(false).decide::<()>(Some(&url), |_| panic!("no proxy"));
        assert_eq!(d, Ok(BlobDelivery::Redirect(url.to_string())));
    }

    #[test]
    fn proxy_storage_rewrites_like_quay() {
        let url = Url::parse("http://127.0.0.1:9000/bucket/sha256/ab/abc?sig=x&e=1").unwrap();
        let d = policy(true).decide::<()>(Some(&url), |access| {
            assert_eq!(
                access,
                &ProxyAccess {
                    scheme: "http".into(),
                    host: "127.0.0.1:9000".into(),
                    uri: "bucket/sha256/ab/abc?sig=x&e=1".into()
                }
            );
            Ok("VE9LRU4=".into())
        });
        assert_eq!(
            d,
            Ok(BlobDelivery::Redirect(
                "https://quay.example/_storage_proxy/VE9LRU4=/http/127.0.0.1:9000/bucket/sha256/ab/abc?sig=x&e=1"
                    .into()
            ))
        );
    }

    #[test]
    fn cdn_specific_namespaces() {
        assert!(policy(false).is_cdn_specific("protected"));
        assert!(!policy(false).is_cdn_specific("other"));
    }
}
