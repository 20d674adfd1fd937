//! `STSS3Storage`: S3 with temporary credentials of an IAM role, assumed through STS
//! (`AssumeRole`, session name `quay`, as Quay's refreshable credentials do) and refreshed five
//! minutes before they expire.

use std::sync::Arc;
use std::time::Duration;

use quay_ports::storage::StorageError;
use quay_ports::storage::signing::StorageCrypto;
use reqwest::Method;
use secrecy::SecretString;
use tokio::sync::Mutex;
use url::Url;

use super::params::{S3Config, S3StorageParams};
use super::sigv4::{Credentials, Signer, UNSIGNED_PAYLOAD, Unsigned, encode};
use crate::http;

/// AWS's global STS endpoint (boto3's default for `sts` clients).
pub const STS_ENDPOINT: &str = "https://sts.amazonaws.com";

/// `STSS3Storage` parameters.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StsS3StorageParams {
    /// Key prefix.
    pub storage_path: String,
    /// Bucket.
    pub s3_bucket: String,
    /// Role to assume.
    pub sts_role_arn: String,
    /// Access key of the user allowed to assume the role.
    pub sts_user_access_key: SecretString,
    /// Its secret key.
    pub sts_user_secret_key: SecretString,
    /// Region.
    pub s3_region: Option<String>,
    /// S3 endpoint URL.
    pub endpoint_url: Option<String>,
    /// Largest server-side part, GB.
    pub maximum_chunk_size_gb: Option<f64>,
    /// Signature version.
    pub signature_version: Option<String>,
}

impl StsS3StorageParams {
    /// The S3 connection settings (the credentials in it are the user's; requests are signed
    /// with the role's, from [`AssumedRole`]).
    ///
    /// # Errors
    /// As [`S3StorageParams::to_config`].
    pub fn to_config(&self) -> Result<S3Config, StorageError> {
        S3StorageParams {
            storage_path: self.storage_path.clone(),
            s3_bucket: self.s3_bucket.clone(),
            s3_access_key: Some(self.sts_user_access_key.clone()),
            s3_secret_key: Some(self.sts_user_secret_key.clone()),
            s3_region: self.s3_region.clone(),
            host: None,
            port: None,
            endpoint_url: self.endpoint_url.clone(),
            maximum_chunk_size_gb: self.maximum_chunk_size_gb,
            minimum_chunk_size_mb: None,
            aws_session_token: None,
            deferred_refreshable_credentials: None,
            signature_version: self.signature_version.clone(),
        }
        .to_config()
    }

    /// The role to assume; `sts_endpoint` overrides [`STS_ENDPOINT`] (tests).
    ///
    /// # Errors
    /// `Backend` for a bad endpoint URL.
    pub fn role(
        &self,
        crypto: Arc<dyn StorageCrypto>,
        sts_endpoint: Option<&str>,
    ) -> Result<AssumedRole, StorageError> {
        use secrecy::ExposeSecret;
        let endpoint = Url::parse(sts_endpoint.unwrap_or(STS_ENDPOINT))
            .map_err(|e| StorageError::backend("config", "sts_endpoint", e))?;
        Ok(AssumedRole {
            endpoint,
            role_arn: self.sts_role_arn.clone(),
            user: Credentials {
                access_key: self.sts_user_access_key.expose_secret().to_string(),
                secret_key: self.sts_user_secret_key.clone(),
                session_token: None,
            },
            signer: Signer::new(crypto, "us-east-1", "sts"),
            current: Mutex::new(None),
        })
    }
}

/// Credentials of an assumed role, cached until shortly before they expire.
#[derive(Debug)]
pub struct AssumedRole {
    endpoint: Url,
    role_arn: String,
    user: Credentials,
    signer: Signer,
    current: Mutex<Option<(Credentials, i64)>>,
}

const REFRESH_MARGIN_SECS: i64 = 300;

impl AssumedRole {
    /// The role's current credentials, assuming the role again when they are about to expire.
    ///
    /// # Errors
    /// `Unavailable` when STS cannot be reached or refuses.
    pub async fn credentials(&self, client: &reqwest::Client) -> Result<Credentials, StorageError> {
        let mut slot = self.current.lock().await;
        let now = crate::now_unix();
        if let Some((c, exp)) = slot.as_ref()
            && *exp - REFRESH_MARGIN_SECS > now
        {
            return Ok(c.clone());
        }
        let fresh = self.assume(client, now).await?;
        *slot = Some(fresh.clone());
        Ok(fresh.0)
    }

    async fn assume(
        &self,
        client: &reqwest::Client,
        now: i64,
    ) -> Result<(Credentials, i64), StorageError> {
        let query = vec![
            ("Action".to_string(), "AssumeRole".to_string()),
            ("RoleArn".to_string(), self.role_arn.clone()),
            ("RoleSessionName".to_string(), "quay".to_string()),
            ("Version".to_string(), "2011-06-15".to_string()),
        ];
        let host = match self.endpoint.port() {
            Some(p) => format!("{}:{p}", self.endpoint.host_str().unwrap_or_default()),
            None => self.endpoint.host_str().unwrap_or_default().to_string(),
        };
        let unsigned = Unsigned {
            method: "GET",
            host: &host,
            path: "/",
            query: query.clone(),
            headers: Vec::new(),
        };
        let headers = self
            .signer
            .sign_headers(&unsigned, UNSIGNED_PAYLOAD, now, &self.user)?;
        let mut url = self.endpoint.clone();
        url.set_path("/");
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        url.set_query(Some(&q.join("&")));
        let resp = http::send_idempotent(
            || {
                let mut rb = client
                    .request(Method::GET, url.clone())
                    .timeout(Duration::from_secs(30));
                for (k, v) in &headers {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                Ok(rb)
            },
            "assume_role",
            "",
        )
        .await?;
        if !resp.status().is_success() {
            let e = http::status_error(resp, "assume_role", "").await;
            return Err(StorageError::unavailable("assume_role", "", e));
        }
        let text = resp
            .text()
            .await
            .map_err(|e| http::transport_error(e, "assume_role", "", None))?;
        let field = |t: &str| {
            http::xml_value(&text, t).ok_or_else(|| {
                StorageError::unavailable(
                    "assume_role",
                    "",
                    std::io::Error::other(format!("no {t} in AssumeRole reply")),
                )
            })
        };
        let expires = chrono::DateTime::parse_from_rfc3339(&field("Expiration")?)
            .map(|t| t.timestamp())
            .unwrap_or(now + 900);
        Ok((
            Credentials {
                access_key: field("AccessKeyId")?,
                secret_key: field("SecretAccessKey")?.into(),
                session_token: Some(field("SessionToken")?.into()),
            },
            expires,
        ))
    }
}
