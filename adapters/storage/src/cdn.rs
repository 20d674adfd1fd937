//! CDN-fronted S3 drivers: `CloudFlareStorage`, `AkamaiS3Storage` and `MultiCDNStorage`.
//!
//! `CloudFlareStorage` (Quay's `CloudFlareS3Storage`) and `AkamaiS3Storage` store exactly like
//! `S3Storage` and differ only in direct downloads, which Quay derives from the S3 presigned URL:
//! - no client address: the S3 URL;
//! - a client inside AWS in the bucket's region (AWS ip-ranges, [`ClientNetwork`]): the S3 URL,
//!   unless the namespace is in `CDN_SPECIFIC_NAMESPACES`;
//! - otherwise the S3 URL moved to the CDN domain and signed by the [`CdnRewriteSigner`] port
//!   (`quay-fips`): CloudFlare signs `<path>@<expiry>` with RSA-SHA256 and adds `cf_sign`,
//!   `cf_expiry`, `region` and the usage parameters; Akamai appends `region`, the usage
//!   parameters and an EdgeAuth token. An Akamai signing failure falls back to the S3 URL, as
//!   Quay does; a CloudFlare one is an error.
//!
//! The S3 URL is path-style (`https://s3.<region>.amazonaws.com/<bucket>/<key>`), as boto3 builds
//! it for Quay's explicit regional endpoint, so the CDN path is `/<bucket>/<key>` as Quay's.
//!
//! `MultiCDNStorage` stores through its default provider and picks the provider of a download
//! by the first matching rule (namespace, client continent, `Host`), see [`multi`].

pub mod multi;

use std::sync::Arc;

use async_trait::async_trait;
use quay_ports::storage::redirect::ClientNetwork;
use quay_ports::storage::signing::{CdnMetricParams, CdnRewriteSigner};
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use url::Url;

use crate::S3Storage;
use crate::s3::S3StorageParams;

pub use multi::{MultiCdnStorage, MultiCdnStorageParams};

/// `CloudFlareStorage` parameters: Quay's CloudFlare keys plus every `S3Storage` key
/// (`s3_region` is required).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CloudFlareStorageParams {
    /// The CloudFlare domain URLs are moved to.
    pub cloudflare_domain: String,
    /// PEM private key (in the config directory) signing the URLs.
    pub cloudflare_privatekey_filename: String,
    /// The S3 parameters.
    #[serde(flatten)]
    pub s3: S3StorageParams,
}

/// `AkamaiS3Storage` parameters: Quay's Akamai keys plus every `S3Storage` key (`s3_region` is
/// required).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AkamaiS3StorageParams {
    /// The Akamai domain URLs are moved to.
    pub akamai_domain: String,
    /// EdgeAuth key, hex.
    pub akamai_shared_secret: secrecy::SecretString,
    /// The S3 parameters.
    #[serde(flatten)]
    pub s3: S3StorageParams,
}

/// Which CDN a [`CdnS3Storage`] fronts (logs and error policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CdnKind {
    /// `CloudFlareStorage`: signing failures are errors.
    CloudFlare,
    /// `AkamaiS3Storage`: signing failures fall back to the S3 URL.
    Akamai,
}

/// An S3 location whose direct downloads go through CloudFlare or Akamai.
#[derive(Debug, Clone)]
pub struct CdnS3Storage {
    kind: CdnKind,
    s3: S3Storage,
    region: String,
    signer: Arc<dyn CdnRewriteSigner>,
    network: Option<Arc<dyn ClientNetwork>>,
}

/// The region a CDN driver needs (Quay's positional `s3_region`).
///
/// # Errors
/// `Unsupported` when `s3_region` is missing.
pub fn required_region(params: &S3StorageParams) -> Result<String, StorageError> {
    params.s3_region.clone().ok_or(StorageError::Unsupported(
        "a CDN storage driver without s3_region",
    ))
}

impl CdnS3Storage {
    /// Wraps `s3` (built with path-style addressing, see the module notes); `network` resolves
    /// client addresses (none: every client is outside AWS).
    pub fn new(
        kind: CdnKind,
        s3: S3Storage,
        region: String,
        signer: Arc<dyn CdnRewriteSigner>,
        network: Option<Arc<dyn ClientNetwork>>,
    ) -> Self {
        Self {
            kind,
            s3,
            region,
            signer,
            network,
        }
    }

    /// The wrapped S3 driver.
    pub fn s3(&self) -> &S3Storage {
        &self.s3
    }

    fn in_network(&self, request: &DownloadUrlRequest) -> bool {
        match (request.client_ip, &self.network) {
            (Some(ip), Some(n)) => n
                .aws_region(ip)
                .is_some_and(|r| r.as_str() == self.region.as_str()),
            _ => false,
        }
    }
}

#[async_trait]
impl BlobStorage for CdnS3Storage {
    async fn stat(&self, path: &str) -> Result<Option<ObjectMeta>, StorageError> {
        self.s3.stat(path).await
    }
    async fn get(&self, path: &str, range: Option<ByteRange>) -> Result<ByteStream, StorageError> {
        self.s3.get(path, range).await
    }
    async fn put(
        &self,
        path: &str,
        body: ByteStream,
        size: Option<u64>,
    ) -> Result<u64, StorageError> {
        self.s3.put(path, body, size).await
    }
    async fn delete(&self, path: &str) -> Result<(), StorageError> {
        self.s3.delete(path).await
    }
    async fn direct_download_url(
        &self,
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        let Some(s3_url) = self.s3.direct_download_url(path, request).await? else {
            return Ok(None);
        };
        if request.client_ip.is_none() {
            return Ok(Some(s3_url));
        }
        if self.in_network(request) {
            if !request.cdn_specific {
                tracing::debug!(
                    storage.path = path,
                    "client in the bucket's AWS region: S3 URL"
                );
                return Ok(Some(s3_url));
            }
            tracing::debug!(
                storage.path = path,
                "client in the bucket's AWS region but the namespace is CDN-specific"
            );
        }
        let params = CdnMetricParams {
            namespace: request.namespace.as_deref(),
            username: request.username.as_deref(),
            repo_name: request.repo_name.as_deref(),
        };
        let signed = match self.signer.sign_s3_url(
            s3_url.as_str(),
            request.now_unix,
            request.expires_in.as_secs(),
            &params,
        ) {
            Ok(signed) => signed,
            Err(e) if self.kind == CdnKind::Akamai => {
                tracing::error!(error = %e, storage.path = path, "Akamai token failed; S3 URL");
                return Ok(Some(s3_url));
            }
            Err(e) => return Err(e.into()),
        };
        Url::parse(&signed)
            .map(Some)
            .map_err(|e| StorageError::backend("sign", path, e))
    }
    fn supports_resumable_downloads(&self) -> bool {
        true
    }
    async fn begin_upload(&self) -> Result<UploadState, StorageError> {
        self.s3.begin_upload().await
    }
    async fn upload_chunk(
        &self,
        state: &UploadState,
        offset: u64,
        body: ByteStream,
    ) -> Result<(u64, UploadState), StorageError> {
        self.s3.upload_chunk(state, offset, body).await
    }
    async fn complete_upload(
        &self,
        state: &UploadState,
        final_path: &str,
    ) -> Result<(), StorageError> {
        self.s3.complete_upload(state, final_path).await
    }
    async fn cancel_upload(&self, state: &UploadState) -> Result<(), StorageError> {
        self.s3.cancel_upload(state).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ListedObject>, StorageError> {
        self.s3.list(prefix).await
    }
}
