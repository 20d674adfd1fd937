//! Signed download URLs: CloudFront (RSA-SHA1 canned policy, or RSA-SHA256 in FIPS mode),
//! CloudFlare (RSA-SHA256), Akamai EdgeAuth (HMAC-SHA256) and Swift TempURL (HMAC-SHA1).
//!
//! All times are Unix seconds passed in by the caller (Quay's naive-local-time arithmetic is only
//! correct in UTC, which is what these functions compute).

mod pyurl;

pub use pyurl::{quote_plus, urlencode};

/// `os.path.join(a, b)` for two POSIX components.
pub fn pyurl_join(a: &str, b: &str) -> String {
    pyurl::os_path_join(a, b)
}

use openssl::hash::MessageDigest;
use openssl::pkey::{PKeyRef, Private};
use openssl::sign::Signer;
use quay_ports::crypto::JsonValue;

use crate::b64;
use crate::error::{CryptoError, Forbidden};
use crate::jwt::hmac;
use crate::pyjson::{self, COMPACT};

/// Which digest CloudFront signatures use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudFrontHash {
    /// RSA-SHA1, byte-compatible with Python Quay (botocore). Refused under FIPS.
    Sha1,
    /// RSA-SHA256 with `Hash-Algorithm=SHA256` in the URL (accepted by CloudFront; FIPS).
    Sha256,
}

const CLOUDFRONT_SHA1: Forbidden = Forbidden {
    feature: "CloudFront signed URLs (CloudFrontedS3Storage)",
    algorithm: "RSA-SHA1 signing",
    config_key: "DISTRIBUTED_STORAGE_CONFIG.<location>[CloudFrontedS3Storage]",
    remedy: "use the SHA-256 CloudFront signature (CloudFrontHash::Sha256) or another storage driver",
};

/// A CloudFront signed URL for `url` (already carrying any query), expiring at `expires`.
/// Returns `(signed url, canned policy)`.
///
/// # Errors
/// [`CryptoError::FipsForbidden`] for SHA-1 under FIPS; OpenSSL failure.
pub fn cloudfront_sign(
    url: &str,
    expires: i64,
    key_pair_id: &str,
    key: &PKeyRef<Private>,
    hash: CloudFrontHash,
) -> Result<(String, String), CryptoError> {
    let policy = JsonValue::object([(
        "Statement",
        JsonValue::Array(vec![JsonValue::object([
            ("Resource", JsonValue::str(url)),
            (
                "Condition",
                JsonValue::object([(
                    "DateLessThan",
                    JsonValue::object([("AWS:EpochTime", JsonValue::Int(expires))]),
                )]),
            ),
        ])]),
    )]);
    let policy = pyjson::dumps(&policy, COMPACT);
    let (digest, forbidden) = match hash {
        CloudFrontHash::Sha1 => (MessageDigest::sha1(), Some(CLOUDFRONT_SHA1)),
        CloudFrontHash::Sha256 => (MessageDigest::sha256(), None),
    };
    let signature = rsa_sign(digest, key, policy.as_bytes()).map_err(|e| match forbidden {
        Some(f) => f.map(e),
        None => CryptoError::OpenSsl(e),
    })?;
    let sig = b64::std_encode(&signature)
        .replace('+', "-")
        .replace('=', "_")
        .replace('/', "~");
    let sep = if url.contains('?') { '&' } else { '?' };
    let mut signed =
        format!("{url}{sep}Expires={expires}&Signature={sig}&Key-Pair-Id={key_pair_id}");
    if hash == CloudFrontHash::Sha256 {
        signed.push_str("&Hash-Algorithm=SHA256");
    }
    Ok((signed, policy))
}

/// The URL Quay's `CloudFrontedS3Storage` signs: `https://<domain>/<path>` plus, when there are
/// kwargs, `?urlencode(kwargs)`; `domain_override` is the per-namespace override, if any.
pub fn cloudfront_resource(domain: &str, path: &str, kwargs: &[(&str, String)]) -> String {
    let mut url = format!("https://{domain}/{path}");
    if !kwargs.is_empty() {
        url.push('?');
        url.push_str(&urlencode(kwargs));
    }
    url
}

fn rsa_sign(
    digest: MessageDigest,
    key: &PKeyRef<Private>,
    data: &[u8],
) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut signer = Signer::new(digest, key)?;
    signer.update(data)?;
    signer.sign_to_vec()
}

/// Splits `scheme://netloc/path?query` (fragment dropped).
fn split_url(url: &str) -> Result<(&str, &str, &str, &str), CryptoError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or(CryptoError::InvalidInput("URL without scheme"))?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (netloc, path) = match before_query.find('/') {
        Some(i) => before_query.split_at(i),
        None => (before_query, ""),
    };
    Ok((scheme, netloc, path, query))
}

/// Metric parameters Quay appends to CDN URLs, in its order.
#[derive(Debug, Clone, Default)]
pub struct CdnParams<'a> {
    /// `namespace` kwarg.
    pub namespace: Option<&'a str>,
    /// `username` kwarg.
    pub username: Option<&'a str>,
    /// `repo_name` kwarg.
    pub repo_name: Option<&'a str>,
}

/// CloudFlare: swaps the host of the S3 presigned URL for `domain`, signs `"<path>@<expires>"` with
/// RSA-SHA256, and rebuilds the query. Returns `(url, signed data)`.
///
/// # Errors
/// `InvalidInput` for a URL without scheme; OpenSSL failure.
pub fn cloudflare_sign(
    s3_presigned_url: &str,
    domain: &str,
    region: &str,
    expires: i64,
    params: &CdnParams<'_>,
    key: &PKeyRef<Private>,
) -> Result<(String, String), CryptoError> {
    let (scheme, _, path, query) = split_url(s3_presigned_url)?;
    let sign_data = format!("{path}@{expires}");
    let signature = rsa_sign(MessageDigest::sha256(), key, sign_data.as_bytes())?;
    let mut pairs = pyurl::parse_qsl(query);
    let mut set = |k: &str, v: String| match pairs.iter_mut().find(|(pk, _)| pk == k) {
        Some(slot) => slot.1 = v,
        None => pairs.push((k.to_owned(), v)),
    };
    set("cf_sign", b64::std_encode(&signature));
    set("cf_expiry", expires.to_string());
    set("region", region.to_owned());
    for (name, value) in [
        ("namespace", params.namespace),
        ("username", params.username),
        ("repo_name", params.repo_name),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            set(name, v.to_owned());
        }
    }
    let borrowed: Vec<(&str, String)> =
        pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    Ok((
        format!("{scheme}://{domain}{path}?{}", urlencode(&borrowed)),
        sign_data,
    ))
}

/// Akamai EdgeAuth (`escape_early`, 900 s window, token `akamai_signature`): swaps the host, appends
/// `region` and the metric parameters unencoded, then the token
/// `exp=<now+900>~hmac=<hex HMAC-SHA256(unhex(secret), "exp=<t>~url=<escaped path>")>`.
///
/// # Errors
/// `InvalidKey` for a non-hex secret; `InvalidInput` for a bad URL; OpenSSL failure.
pub fn akamai_sign(
    s3_presigned_url: &str,
    domain: &str,
    region: &str,
    params: &CdnParams<'_>,
    shared_secret_hex: &str,
    now: i64,
) -> Result<String, CryptoError> {
    let key = hex::decode(shared_secret_hex)
        .map_err(|_| CryptoError::InvalidKey("Akamai secret is not hex"))?;
    let (scheme, _, path, query) = split_url(s3_presigned_url)?;
    let mut query = format!("{query}&region={region}");
    for (name, value) in [
        ("namespace", params.namespace),
        ("username", params.username),
        ("repo_name", params.repo_name),
    ] {
        if let Some(v) = value {
            query.push_str(&format!("&{name}={v}"));
        }
    }
    let exp = now + 900;
    let escaped = pyurl::lowercase_escapes(&quote_plus(path));
    let mac = hmac(
        MessageDigest::sha256(),
        &key,
        format!("exp={exp}~url={escaped}").as_bytes(),
    )?;
    Ok(format!(
        "{scheme}://{domain}{path}?{query}&akamai_signature=exp={exp}~hmac={}",
        hex::encode(mac)
    ))
}

/// Swift TempURL parameters.
#[derive(Debug, Clone)]
pub struct SwiftTempUrl<'a> {
    /// The account's storage URL (`…/v1/AUTH_x`).
    pub storage_url: &'a str,
    /// Container.
    pub container: &'a str,
    /// Driver `storage_path` (its leading `/` is dropped, as Quay does).
    pub storage_path: &'a str,
    /// Driver `simple_path_concat`.
    pub simple_path_concat: bool,
    /// `X-Account-Meta-Temp-URL-Key`.
    pub temp_url_key: &'a str,
}

/// A Swift TempURL for `object_path`, valid until `expires` (HMAC-SHA1, lowercase hex).
///
/// # Errors
/// `InvalidInput` for a bad storage URL; OpenSSL failure.
pub fn swift_temp_url(
    cfg: &SwiftTempUrl<'_>,
    object_path: &str,
    head: bool,
    expires: i64,
) -> Result<String, CryptoError> {
    let (scheme, netloc, path, _) = split_url(cfg.storage_url)?;
    let path = path.trim_end_matches('/');
    let storage_path = cfg.storage_path.trim_start_matches('/');
    let object = if cfg.simple_path_concat {
        format!("{storage_path}{object_path}")
    } else {
        pyurl::os_path_join(storage_path, object_path)
    };
    let object = object.trim_end_matches('/');
    let method = if head { "HEAD" } else { "GET" };
    let full_path = format!("{path}/{}/{object}", cfg.container);
    let body = format!("{method}\n{expires}\n{full_path}");
    let sig = hmac(
        MessageDigest::sha1(),
        cfg.temp_url_key.as_bytes(),
        body.as_bytes(),
    )?;
    Ok(format!(
        "{scheme}://{netloc}{full_path}?temp_url_sig={}&temp_url_expires={expires}",
        hex::encode(sig)
    ))
}
