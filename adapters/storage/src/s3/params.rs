//! Parameters of Quay's S3-family drivers, key for key, and the connection settings they mean.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::sigv4::Credentials;
use quay_ports::storage::StorageError;

/// Connection settings shared by every S3-family driver (derived from Quay's parameters).
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `scheme://host[:port]` of the S3 API.
    pub endpoint: Url,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket (Quay's `storage_path`).
    pub storage_path: String,
    /// Signing region.
    pub region: String,
    /// Credentials.
    pub credentials: Credentials,
    /// Virtual-hosted addressing (`bucket.host`); path style otherwise.
    pub virtual_host: bool,
    /// Send `x-amz-server-side-encryption: AES256` on writes (Quay's `S3Storage` does).
    pub server_side_encryption: bool,
    /// Smallest non-last chunk for server-side assembly (S3: 5 MiB).
    pub minimum_chunk_size: u64,
    /// Largest part of a server-side assembly (S3: 5 GiB); bigger chunks are halved.
    pub maximum_chunk_size: Option<u64>,
    /// Whether chunks may be assembled server-side (false for GCS, configurable for RadosGW).
    pub server_side_assembly: bool,
    /// List with `ListObjects` v1 (GCS has no v2).
    pub list_v1: bool,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Idle read timeout.
    pub read_timeout: Duration,
}

const MIB: f64 = 1024.0 * 1024.0;

fn bytes(v: f64, unit: f64) -> u64 {
    (v * unit).max(0.0) as u64
}

fn parse_url(s: &str, key: &'static str) -> Result<Url, StorageError> {
    Url::parse(s).map_err(|e| StorageError::backend("config", key, e))
}

/// Quay's `_build_endpoint_url`: adds the scheme from `is_secure` and the port when missing.
pub fn build_endpoint_url(hostname: &str, port: Option<u16>, is_secure: bool) -> String {
    let mut url = if hostname.starts_with("http://") || hostname.starts_with("https://") {
        hostname.to_string()
    } else if is_secure {
        format!("https://{hostname}")
    } else {
        format!("http://{hostname}")
    };
    if let Some(p) = port {
        let last = url
            .rsplit(':')
            .next()
            .unwrap_or("")
            .trim_matches([' ', '/']);
        if !last.chars().all(|c| c.is_ascii_digit()) || last.is_empty() {
            url = format!("{url}:{p}");
        }
    }
    url
}

fn creds(access: &SecretString, secret: SecretString, token: Option<SecretString>) -> Credentials {
    use secrecy::ExposeSecret;
    Credentials {
        access_key: access.expose_secret().to_string(),
        secret_key: secret,
        session_token: token,
    }
}

/// `S3Storage` parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3StorageParams {
    /// Key prefix inside the bucket.
    pub storage_path: String,
    /// Bucket.
    pub s3_bucket: String,
    /// Access key id (absent with the secret: the AWS default credential chain).
    pub s3_access_key: Option<SecretString>,
    /// Secret key.
    pub s3_secret_key: Option<SecretString>,
    /// Region (`https://s3.<region>.amazonaws.com`, `.cn` for China regions).
    pub s3_region: Option<String>,
    /// Host of an S3-compatible service (boto2 style, no scheme).
    pub host: Option<String>,
    /// Port for `host`.
    pub port: Option<u16>,
    /// Full endpoint URL (boto3 style).
    pub endpoint_url: Option<String>,
    /// Largest server-side part, GB (default 5).
    pub maximum_chunk_size_gb: Option<f64>,
    /// Smallest non-last chunk for server-side assembly, MB (default 5).
    pub minimum_chunk_size_mb: Option<f64>,
    /// Session token.
    pub aws_session_token: Option<SecretString>,
    /// Refreshable credentials object (Python-only; ignored).
    pub deferred_refreshable_credentials: Option<serde_json::Value>,
    /// `s3v4` (the only one supported).
    pub signature_version: Option<String>,
}

impl S3StorageParams {
    /// The connection settings Quay derives from these parameters.
    ///
    /// # Errors
    /// `Unsupported` without static credentials or with a non-v4 signature; `Backend` for a bad
    /// URL.
    pub fn to_config(&self) -> Result<S3Config, StorageError> {
        let (Some(ak), Some(sk)) = (&self.s3_access_key, &self.s3_secret_key) else {
            return Err(StorageError::Unsupported(
                "S3Storage without s3_access_key/s3_secret_key (AWS default credential chain)",
            ));
        };
        self.config_with(creds(ak, sk.clone(), self.aws_session_token.clone()))
    }

    /// Whether no keys are configured, so the AWS default credential chain signs (Quay's boto3
    /// behaviour). One key without the other is not this case: it is refused by `to_config`.
    pub fn uses_default_chain(&self) -> bool {
        self.s3_access_key.is_none() && self.s3_secret_key.is_none()
    }

    /// The connection settings for the default credential chain (the credentials in it are
    /// empty; the chain supplies them per request).
    ///
    /// # Errors
    /// As [`Self::to_config`], except for the missing keys.
    pub fn to_chain_config(&self) -> Result<S3Config, StorageError> {
        self.config_with(Credentials {
            access_key: String::new(),
            secret_key: SecretString::from(String::new()),
            session_token: None,
        })
    }

    fn config_with(&self, credentials: Credentials) -> Result<S3Config, StorageError> {
        if self
            .signature_version
            .as_deref()
            .is_some_and(|v| v != "s3v4")
        {
            return Err(StorageError::Unsupported(
                "signature_version other than s3v4",
            ));
        }
        let (endpoint, virtual_host, region) = if let Some(region) = &self.s3_region {
            let cn = region.starts_with("cn-");
            let url = format!(
                "https://s3.{region}.amazonaws.com{}",
                if cn { ".cn" } else { "" }
            );
            (parse_url(&url, "s3_region")?, true, region.clone())
        } else if let Some(url) = &self.endpoint_url {
            (
                parse_url(url, "endpoint_url")?,
                false,
                "us-east-1".to_string(),
            )
        } else if let Some(host) = &self.host {
            let url = build_endpoint_url(host, self.port, true);
            (parse_url(&url, "host")?, false, "us-east-1".to_string())
        } else {
            (
                parse_url("https://s3.amazonaws.com", "s3_region")?,
                true,
                "us-east-1".to_string(),
            )
        };
        Ok(S3Config {
            endpoint,
            bucket: self.s3_bucket.clone(),
            storage_path: self.storage_path.clone(),
            region,
            credentials,
            virtual_host,
            server_side_encryption: true,
            minimum_chunk_size: bytes(self.minimum_chunk_size_mb.unwrap_or(5.0), MIB),
            maximum_chunk_size: Some(bytes(
                self.maximum_chunk_size_gb.unwrap_or(5.0),
                1024.0 * MIB,
            )),
            server_side_assembly: true,
            list_v1: false,
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
        })
    }
}

/// `RadosGWStorage` and `RHOCSStorage` parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadosGwStorageParams {
    /// Gateway host.
    pub hostname: String,
    /// HTTPS when true.
    pub is_secure: bool,
    /// Key prefix.
    pub storage_path: String,
    /// Access key.
    pub access_key: SecretString,
    /// Secret key.
    pub secret_key: SecretString,
    /// Bucket.
    pub bucket_name: String,
    /// Region name (signing).
    pub region_name: Option<String>,
    /// Signature version.
    pub signature_version: Option<String>,
    /// Port.
    pub port: Option<u16>,
    /// Smallest non-last chunk, MB.
    pub minimum_chunk_size_mb: Option<f64>,
    /// Largest part, MB.
    pub maximum_chunk_size_mb: Option<f64>,
    /// Assemble chunks server-side (default true).
    pub server_side_assembly: Option<bool>,
}

impl RadosGwStorageParams {
    /// The connection settings.
    ///
    /// # Errors
    /// `Backend` for a bad host.
    pub fn to_config(&self) -> Result<S3Config, StorageError> {
        let url = build_endpoint_url(&self.hostname, self.port, self.is_secure);
        let server_side = self.server_side_assembly.unwrap_or(true);
        let timeout = Duration::from_secs(if server_side { 60 } else { 600 });
        Ok(S3Config {
            endpoint: parse_url(&url, "hostname")?,
            bucket: self.bucket_name.clone(),
            storage_path: self.storage_path.clone(),
            region: self
                .region_name
                .clone()
                .unwrap_or_else(|| "us-east-1".into()),
            credentials: creds(&self.access_key, self.secret_key.clone(), None),
            virtual_host: false,
            server_side_encryption: false,
            minimum_chunk_size: bytes(self.minimum_chunk_size_mb.unwrap_or(5.0), MIB),
            maximum_chunk_size: self.maximum_chunk_size_mb.map(|m| bytes(m, MIB)),
            server_side_assembly: server_side,
            list_v1: false,
            connect_timeout: Duration::from_secs(60),
            read_timeout: timeout,
        })
    }
}

/// `IBMCloudStorage` parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IbmCloudStorageParams {
    /// Host.
    pub hostname: String,
    /// HTTPS when true.
    pub is_secure: bool,
    /// Key prefix.
    pub storage_path: String,
    /// Access key.
    pub access_key: SecretString,
    /// Secret key.
    pub secret_key: SecretString,
    /// Bucket.
    pub bucket_name: String,
    /// Port.
    pub port: Option<u16>,
    /// Largest part, MB (default 100, IBM's recommendation).
    pub maximum_chunk_size_mb: Option<f64>,
    /// Signature version.
    pub signature_version: Option<String>,
}

impl IbmCloudStorageParams {
    /// The connection settings.
    ///
    /// # Errors
    /// `Backend` for a bad host.
    pub fn to_config(&self) -> Result<S3Config, StorageError> {
        let url = build_endpoint_url(&self.hostname, self.port, self.is_secure);
        Ok(S3Config {
            endpoint: parse_url(&url, "hostname")?,
            bucket: self.bucket_name.clone(),
            storage_path: self.storage_path.clone(),
            region: "us-east-1".into(),
            credentials: creds(&self.access_key, self.secret_key.clone(), None),
            virtual_host: false,
            server_side_encryption: false,
            minimum_chunk_size: 5 * 1024 * 1024,
            maximum_chunk_size: Some(bytes(self.maximum_chunk_size_mb.unwrap_or(100.0), MIB)),
            server_side_assembly: true,
            list_v1: false,
            connect_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(60),
        })
    }
}

/// `GoogleCloudStorage` parameters (S3 interoperability API with HMAC keys).
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoogleCloudStorageParams {
    /// Key prefix.
    pub storage_path: String,
    /// HMAC access id.
    pub access_key: SecretString,
    /// HMAC secret.
    pub secret_key: SecretString,
    /// Bucket.
    pub bucket_name: String,
    /// Connect and read timeout, seconds (default 60).
    pub boto_timeout: Option<u64>,
    /// Smallest chunk, MB (unused: GCS always joins client-side).
    pub minimum_chunk_size_mb: Option<f64>,
    /// Signature version.
    pub signature_version: Option<String>,
}

/// Quay's fixed GCS interoperability endpoint.
pub const GCS_ENDPOINT: &str = "https://storage.googleapis.com";

impl GoogleCloudStorageParams {
    /// The connection settings; `endpoint_override` replaces Quay's fixed endpoint (tests).
    ///
    /// # Errors
    /// `Backend` for a bad override URL.
    pub fn to_config(&self, endpoint_override: Option<&str>) -> Result<S3Config, StorageError> {
        let timeout = Duration::from_secs(self.boto_timeout.unwrap_or(60));
        Ok(S3Config {
            endpoint: parse_url(endpoint_override.unwrap_or(GCS_ENDPOINT), "endpoint")?,
            bucket: self.bucket_name.clone(),
            storage_path: self.storage_path.clone(),
            region: "us-east-1".into(),
            credentials: creds(&self.access_key, self.secret_key.clone(), None),
            virtual_host: false,
            server_side_encryption: false,
            minimum_chunk_size: bytes(self.minimum_chunk_size_mb.unwrap_or(5.0), MIB),
            maximum_chunk_size: None,
            server_side_assembly: false,
            list_v1: true,
            connect_timeout: timeout,
            read_timeout: timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls_like_quay() {
        assert_eq!(
            build_endpoint_url("rgw.local", Some(8080), false),
            "http://rgw.local:8080"
        );
        assert_eq!(
            build_endpoint_url("rgw.local", None, true),
            "https://rgw.local"
        );
        assert_eq!(
            build_endpoint_url("https://rgw.local:443", Some(8080), true),
            "https://rgw.local:443"
        );
    }

    #[test]
    fn s3_region_endpoint() {
        let p: S3StorageParams = serde_json::from_value(serde_json::json!({
            "storage_path": "/registry", "s3_bucket": "b", "s3_access_key": "a",
            "s3_secret_key": "s", "s3_region": "cn-north-1"
        }))
        .unwrap();
        let c = p.to_config().unwrap();
        assert_eq!(
            c.endpoint.as_str(),
            "https://s3.cn-north-1.amazonaws.com.cn/"
        );
        assert!(c.virtual_host);
        assert_eq!(c.minimum_chunk_size, 5 * 1024 * 1024);
        assert_eq!(c.maximum_chunk_size, Some(5 * 1024 * 1024 * 1024));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<S3StorageParams, _> = serde_json::from_value(serde_json::json!({
            "storage_path": "/", "s3_bucket": "b", "s3_bukket": "typo"
        }));
        assert!(r.is_err());
    }
}
