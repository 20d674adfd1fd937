//! AWS Signature Version 4 for S3 (header and query/presigned forms), with every MAC and hash
//! done by the [`StorageCrypto`] port. Payloads are sent as `UNSIGNED-PAYLOAD`, which S3 and
//! compatible servers accept, so bodies stream without being hashed first.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use quay_ports::storage::signing::{MacAlgorithm, SigningError, StorageCrypto};
use secrecy::{ExposeSecret, SecretString};

/// Characters SigV4 leaves unencoded: `A-Za-z0-9-_.~`.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The payload hash for streamed bodies.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// URI-encodes one query key or value, or one path segment.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, UNRESERVED).to_string()
}

/// URI-encodes an object path, keeping `/`.
pub fn encode_path(path: &str) -> String {
    path.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// Static credentials.
#[derive(Clone)]
pub struct Credentials {
    /// Access key id.
    pub access_key: String,
    /// Secret access key.
    pub secret_key: SecretString,
    /// Session token of temporary credentials.
    pub session_token: Option<SecretString>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key", &self.access_key)
            .finish_non_exhaustive()
    }
}

/// A request to sign: method, host, encoded path and the query and headers to cover.
#[derive(Debug, Clone)]
pub struct Unsigned<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// `Host` header value (`host[:port]`).
    pub host: &'a str,
    /// Already URI-encoded absolute path.
    pub path: &'a str,
    /// Query parameters (raw; encoded here).
    pub query: Vec<(String, String)>,
    /// Extra headers to sign (`host` and `x-amz-date` are added), lowercase names.
    pub headers: Vec<(String, String)>,
}

/// Signs requests for one region and service.
#[derive(Debug)]
pub struct Signer {
    crypto: Arc<dyn StorageCrypto>,
    region: String,
    service: &'static str,
    /// Signing key per `(date, access key)`.
    keys: Mutex<Option<(String, String, Vec<u8>)>>,
}

/// `YYYYMMDDTHHMMSSZ` of a Unix time.
pub fn amz_date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

impl Signer {
    /// A signer for `region` and `service` (`s3`, `sts`).
    pub fn new(crypto: Arc<dyn StorageCrypto>, region: &str, service: &'static str) -> Self {
        Self {
            crypto,
            region: region.to_string(),
            service,
            keys: Mutex::new(None),
        }
    }

    fn signing_key(&self, date: &str, creds: &Credentials) -> Result<Vec<u8>, SigningError> {
        if let Ok(cache) = self.keys.lock()
            && let Some((d, ak, key)) = cache.as_ref()
            && d == date
            && *ak == creds.access_key
        {
            return Ok(key.clone());
        }
        let mac = |k: &[u8], d: &[u8]| self.crypto.hmac(MacAlgorithm::Sha256, k, d);
        let secret = format!("AWS4{}", creds.secret_key.expose_secret());
        let k = mac(secret.as_bytes(), date.as_bytes())?;
        let k = mac(&k, self.region.as_bytes())?;
        let k = mac(&k, self.service.as_bytes())?;
        let k = mac(&k, b"aws4_request")?;
        if let Ok(mut cache) = self.keys.lock() {
            *cache = Some((date.to_string(), creds.access_key.clone(), k.clone()));
        }
        Ok(k)
    }

    fn scope(&self, date: &str) -> String {
        format!("{date}/{}/{}/aws4_request", self.region, self.service)
    }

    fn signature(
        &self,
        req: &Unsigned<'_>,
        query: &[(String, String)],
        headers: &BTreeMap<String, String>,
        payload_hash: &str,
        now: &str,
        creds: &Credentials,
    ) -> Result<String, SigningError> {
        let mut q: Vec<(String, String)> =
            query.iter().map(|(k, v)| (encode(k), encode(v))).collect();
        q.sort();
        let canonical_query = q
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let canonical_headers: String = headers
            .iter()
            .map(|(k, v)| format!("{k}:{}\n", v.trim()))
            .collect();
        let signed: Vec<&str> = headers.keys().map(String::as_str).collect();
        let canonical = format!(
            "{}\n{}\n{canonical_query}\n{canonical_headers}\n{}\n{payload_hash}",
            req.method,
            req.path,
            signed.join(";")
        );
        let date = &now[..8];
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{now}\n{}\n{}",
            self.scope(date),
            hex::encode(self.crypto.sha256(canonical.as_bytes())?)
        );
        let key = self.signing_key(date, creds)?;
        Ok(hex::encode(self.crypto.hmac(
            MacAlgorithm::Sha256,
            &key,
            to_sign.as_bytes(),
        )?))
    }

    /// Headers to add to `req` (`x-amz-date`, `x-amz-content-sha256`, optional
    /// `x-amz-security-token`, `authorization`).
    ///
    /// # Errors
    /// The crypto port's failure.
    pub fn sign_headers(
        &self,
        req: &Unsigned<'_>,
        payload_hash: &str,
        unix: i64,
        creds: &Credentials,
    ) -> Result<Vec<(String, String)>, SigningError> {
        let now = amz_date(unix);
        let mut headers: BTreeMap<String, String> = req.headers.iter().cloned().collect();
        let mut added = vec![
            ("x-amz-date".to_string(), now.clone()),
            ("x-amz-content-sha256".to_string(), payload_hash.to_string()),
        ];
        if let Some(t) = &creds.session_token {
            added.push((
                "x-amz-security-token".to_string(),
                t.expose_secret().to_string(),
            ));
        }
        headers.insert("host".to_string(), req.host.to_string());
        headers.extend(added.iter().cloned());
        let sig = self.signature(req, &req.query, &headers, payload_hash, &now, creds)?;
        let signed: Vec<&str> = headers.keys().map(String::as_str).collect();
        added.push((
            "authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={}, Signature={sig}",
                creds.access_key,
                self.scope(&now[..8]),
                signed.join(";")
            ),
        ));
        Ok(added)
    }

    /// The query string (already encoded) of a presigned URL for `req`, valid `expires` seconds
    /// from `unix`.
    ///
    /// # Errors
    /// The crypto port's failure.
    pub fn presign_query(
        &self,
        req: &Unsigned<'_>,
        unix: i64,
        expires: u64,
        creds: &Credentials,
    ) -> Result<String, SigningError> {
        let now = amz_date(unix);
        let mut query = req.query.clone();
        query.push(("X-Amz-Algorithm".into(), "AWS4-HMAC-SHA256".into()));
        query.push((
            "X-Amz-Credential".into(),
            format!("{}/{}", creds.access_key, self.scope(&now[..8])),
        ));
        query.push(("X-Amz-Date".into(), now.clone()));
        query.push(("X-Amz-Expires".into(), expires.to_string()));
        if let Some(t) = &creds.session_token {
            query.push(("X-Amz-Security-Token".into(), t.expose_secret().to_string()));
        }
        query.push(("X-Amz-SignedHeaders".into(), "host".into()));
        let mut headers = BTreeMap::new();
        headers.insert("host".to_string(), req.host.to_string());
        let sig = self.signature(req, &query, &headers, UNSIGNED_PAYLOAD, &now, creds)?;
        query.push(("X-Amz-Signature".into(), sig));
        Ok(query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect::<Vec<_>>()
            .join("&"))
    }
}
