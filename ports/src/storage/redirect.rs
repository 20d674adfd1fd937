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

use crate::crypto::{JsonValue, RegistryTokenRequest};

/// Tells whether a client address is inside AWS and in which region (Quay's `ip_resolver`, fed
/// by AWS's published ip-ranges); CDN drivers hand same-region clients plain S3 URLs.
pub trait ClientNetwork: Send + Sync + std::fmt::Debug {
    /// The AWS region `ip` belongs to, or `None` outside AWS.
    fn aws_region(&self, ip: std::net::IpAddr) -> Option<String>;

    /// The GeoIP continent code of `ip` (`AF`, `AN`, `AS`, `EU`, `NA`, `OC`, `SA`), when a
    /// geolocation database is loaded (`MultiCDNStorage` continent rules).
    fn continent(&self, _ip: std::net::IpAddr) -> Option<String> {
        None
    }
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

/// A backend response relayed through `/_storage_proxy/`.
pub struct ProxiedResponse {
    /// HTTP status of the backend.
    pub status: u16,
    /// The backend headers worth relaying (`content-type`, `content-length`, `content-range`,
    /// `accept-ranges`, `etag`, `last-modified`), lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: super::ByteStream,
}

impl std::fmt::Debug for ProxiedResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxiedResponse")
            .field("status", &self.status)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// Fetches the storage URL a storage-proxy JWT granted (what Quay's nginx `proxy_pass` does).
#[async_trait::async_trait]
pub trait DownloadProxyBackend: Send + Sync + std::fmt::Debug {
    /// `GET url`, forwarding the client's `Range` header when given; the body streams.
    ///
    /// # Errors
    /// `Unavailable`/`Timeout` when the backend cannot be reached.
    async fn fetch(
        &self,
        url: &str,
        range: Option<&str>,
    ) -> Result<ProxiedResponse, super::StorageError>;
}

/// Lifetime of a storage-proxy JWT (`PROXY_STORAGE_MAX_LIFETIME_S`).
pub const PROXY_STORAGE_MAX_LIFETIME_S: i64 = 600;

/// Subject and access type of storage-proxy JWTs.
pub const STORAGE_PROXY_SUBJECT: &str = "storageproxy";

impl ProxyAccess {
    /// The registry token Quay signs for this access (`generate_bearer_token(SERVER_HOSTNAME,
    /// "storageproxy", {}, [access], 600, instance_keys)`), the access keys in Quay's order.
    pub fn token_request(&self, server_hostname: &str) -> RegistryTokenRequest {
        RegistryTokenRequest {
            audience: server_hostname.to_owned(),
            subject: STORAGE_PROXY_SUBJECT.to_owned(),
            access: JsonValue::Array(vec![JsonValue::object([
                ("type", JsonValue::str(STORAGE_PROXY_SUBJECT)),
                ("uri", JsonValue::str(self.uri.clone())),
                ("host", JsonValue::str(self.host.clone())),
                ("scheme", JsonValue::str(self.scheme.clone())),
            ])]),
            context: JsonValue::Object(Vec::new()),
            lifetime_s: PROXY_STORAGE_MAX_LIFETIME_S,
        }
    }
}

/// URL-safe base64 (with padding) of a JWT, as it appears in a `/_storage_proxy/` URL.
pub fn encode_proxy_token(jwt: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = jwt.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes the URL-safe base64 of a `/_storage_proxy/` URL back to the JWT (Python's
/// `urlsafe_b64decode`: padding required, standard alphabet characters refused).
pub fn decode_proxy_token(encoded: &str) -> Option<String> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        })
    };
    let bytes = encoded.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    for (i, chunk) in bytes.chunks(4).enumerate() {
        let last = i + 1 == bytes.len() / 4;
        let pad = chunk.iter().rev().take_while(|c| **c == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut n = 0u32;
        for (j, c) in chunk[..4 - pad].iter().enumerate() {
            n |= val(*c)? << (18 - 6 * j);
        }
        let b = n.to_be_bytes();
        out.extend_from_slice(&b[1..4 - pad]);
    }
    String::from_utf8(out).ok()
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
    fn proxy_token_is_urlsafe_base64_with_padding() {
        // Python: base64.urlsafe_b64encode(b"a.b?>~") == b"YS5iPz5-", and padding kept.
        assert_eq!(encode_proxy_token("a.b?>~"), "YS5iPz5-");
        assert_eq!(encode_proxy_token("ab"), "YWI=");
        assert_eq!(encode_proxy_token("a"), "YQ==");
        assert_eq!(encode_proxy_token("\u{ff}\u{ff}"), "w7_Dvw==");
    }

    #[test]
    fn proxy_token_round_trips_and_bad_base64_is_refused() {
        for jwt in [
            "a",
            "ab",
            "abc",
            "eyJ0eXAiOiJKV1QifQ.e30.c2ln",
            "\u{e9}t\u{e9}",
        ] {
            assert_eq!(
                decode_proxy_token(&encode_proxy_token(jwt)).as_deref(),
                Some(jwt)
            );
        }
        assert_eq!(decode_proxy_token("YWI"), None);
        assert_eq!(decode_proxy_token("YW+="), None);
        assert_eq!(decode_proxy_token("YQ==YQ=="), None);
    }

    #[test]
    fn proxy_token_request_is_quays() {
        let access = ProxyAccess {
            scheme: "https".into(),
            host: "s3.example".into(),
            uri: "b/k?x=1".into(),
        };
        let req = access.token_request("quay.example");
        assert_eq!(req.subject, "storageproxy");
        assert_eq!(req.lifetime_s, 600);
        let JsonValue::Array(items) = &req.access else {
            panic!("access is an array")
        };
        let JsonValue::Object(pairs) = &items[0] else {
            panic!("an object")
        };
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["type", "uri", "host", "scheme"]);
    }

    #[test]
    fn cdn_specific_namespaces() {
        assert!(policy(false).is_cdn_specific("protected"));
        assert!(!policy(false).is_cdn_specific("other"));
    }
}
