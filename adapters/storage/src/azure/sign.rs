//! Azure Storage Shared Key request signing and service SAS for blobs, through the
//! [`StorageCrypto`] port (HMAC-SHA256 keyed with the decoded account key).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use quay_ports::storage::signing::{MacAlgorithm, SigningError, StorageCrypto};
use secrecy::{ExposeSecret, SecretSlice};

/// REST API version sent as `x-ms-version` and used for SAS (`sv`).
pub const API_VERSION: &str = "2021-08-06";

/// Signs with an account key.
pub struct KeySigner {
    crypto: Arc<dyn StorageCrypto>,
    account: String,
    key: SecretSlice<u8>,
}

impl std::fmt::Debug for KeySigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySigner")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// The parts of a request Shared Key covers.
#[derive(Debug, Default)]
pub struct ToSign<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// URL path as sent (`/account/container/blob` on the emulator, `/container/blob` on Azure).
    pub path: &'a str,
    /// Query parameters.
    pub query: &'a [(String, String)],
    /// All `x-ms-*` headers, lowercase names.
    pub ms_headers: &'a [(String, String)],
    /// `Content-Length` (0 and absent are both empty).
    pub content_length: u64,
    /// `Content-Type`.
    pub content_type: &'a str,
    /// `Range`.
    pub range: &'a str,
}

fn utc(unix: i64, fmt: &str) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format(fmt)
        .to_string()
}

/// RFC 1123 date for `x-ms-date`.
pub fn http_date(unix: i64) -> String {
    utc(unix, "%a, %d %b %Y %H:%M:%S GMT")
}

impl KeySigner {
    /// A signer for `account` with the base64 account `key`.
    ///
    /// # Errors
    /// `Backend` when the key is not base64.
    pub fn new(
        crypto: Arc<dyn StorageCrypto>,
        account: &str,
        key_b64: &str,
    ) -> Result<Self, SigningError> {
        let key = STANDARD
            .decode(key_b64.trim())
            .map_err(|e| SigningError::Backend(Box::new(e)))?;
        Ok(Self {
            crypto,
            account: account.to_string(),
            key: key.into(),
        })
    }

    fn mac(&self, text: &str) -> Result<String, SigningError> {
        let sig = self.crypto.hmac(
            MacAlgorithm::Sha256,
            self.key.expose_secret(),
            text.as_bytes(),
        )?;
        Ok(STANDARD.encode(sig))
    }

    /// The `Authorization` header value.
    ///
    /// # Errors
    /// The crypto port's failure.
    pub fn authorization(&self, req: &ToSign<'_>) -> Result<String, SigningError> {
        let length = if req.content_length == 0 {
            String::new()
        } else {
            req.content_length.to_string()
        };
        let ms: BTreeMap<String, String> = req
            .ms_headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let headers: String = ms.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
        let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (k, v) in req.query {
            query
                .entry(k.to_ascii_lowercase())
                .or_default()
                .push(v.clone());
        }
        let mut resource = format!("/{}{}", self.account, req.path);
        for (k, mut vs) in query {
            vs.sort();
            resource.push_str(&format!("\n{k}:{}", vs.join(",")));
        }
        let text = format!(
            "{}\n\n\n{length}\n\n{}\n\n\n\n\n\n{}\n{headers}{resource}",
            req.method, req.content_type, req.range
        );
        Ok(format!("SharedKey {}:{}", self.account, self.mac(&text)?))
    }

    /// Query string of a read-only service SAS for `container/blob`, expiring at `expires_unix`.
    ///
    /// # Errors
    /// The crypto port's failure.
    pub fn blob_sas(
        &self,
        container: &str,
        blob: &str,
        expires_unix: i64,
    ) -> Result<String, SigningError> {
        let se = utc(expires_unix, "%Y-%m-%dT%H:%M:%SZ");
        let canonical = format!("/blob/{}/{container}/{blob}", self.account);
        // sp, st, se, resource, si, sip, spr, sv, sr, snapshot, ses, rscc, rscd, rsce, rscl, rsct
        let fields = [
            "r",
            "",
            se.as_str(),
            canonical.as_str(),
            "",
            "",
            "",
            API_VERSION,
            "b",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
        ];
        let sig = self.mac(&fields.join("\n"))?;
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        Ok(format!(
            "se={}&sp=r&sv={API_VERSION}&sr=b&sig={}",
            enc(&se),
            enc(&sig)
        ))
    }
}
