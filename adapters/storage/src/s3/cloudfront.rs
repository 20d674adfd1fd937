//! `CloudFrontedS3Storage`: an S3 location whose direct downloads go through a CloudFront
//! distribution, except for clients inside AWS in the bucket's region (plain S3 presigned URL).
//!
//! As in Quay: without a client IP, or for a same-region AWS client, the URL is S3's; otherwise
//! it is `https://<domain>/<path>` — `domain` per namespace from
//! `cloudfront_distribution_org_overrides`, the path relative to `storage_path` — with the
//! request's CDN arguments url-encoded onto it, signed with a canned policy by the
//! [`CdnUrlSigner`] port (RSA-SHA1 in Quay; `quay-fips` holds the key from
//! `cloudfront_privatekey_filename` and `cloudfront_key_id`).

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use quay_ports::storage::redirect::ClientNetwork;
use quay_ports::storage::signing::CdnUrlSigner;
use quay_ports::storage::{
    BlobStorage, ByteRange, ByteStream, DownloadUrlRequest, ListedObject, ObjectMeta, StorageError,
    UploadState,
};
use url::Url;

use super::{S3Storage, S3StorageParams};

/// `CloudFrontedS3Storage` parameters: Quay's CloudFront keys plus every `S3Storage` key.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct CloudFrontedS3StorageParams {
    /// Distribution domain.
    pub cloudfront_distribution_domain: String,
    /// CloudFront key pair id.
    pub cloudfront_key_id: String,
    /// Private key file (read by the signer, in the config directory).
    pub cloudfront_privatekey_filename: String,
    /// Namespace → distribution domain.
    pub cloudfront_distribution_org_overrides: Option<BTreeMap<String, String>>,
    /// The S3 parameters.
    #[serde(flatten)]
    pub s3: S3StorageParams,
}

/// The CloudFront-fronted S3 driver.
#[derive(Debug, Clone)]
pub struct CloudFrontedS3Storage {
    s3: S3Storage,
    domain: String,
    overrides: BTreeMap<String, String>,
    region: Option<String>,
    signer: Arc<dyn CdnUrlSigner>,
    network: Option<Arc<dyn ClientNetwork>>,
}

impl CloudFrontedS3Storage {
    /// Wraps `s3`; `network` resolves client addresses (none: every client is outside AWS).
    pub fn new(
        s3: S3Storage,
        params: &CloudFrontedS3StorageParams,
        signer: Arc<dyn CdnUrlSigner>,
        network: Option<Arc<dyn ClientNetwork>>,
    ) -> Self {
        Self {
            s3,
            domain: params.cloudfront_distribution_domain.clone(),
            overrides: params
                .cloudfront_distribution_org_overrides
                .clone()
                .unwrap_or_default(),
            region: params.s3.s3_region.clone(),
            signer,
            network,
        }
    }

    fn in_network(&self, request: &DownloadUrlRequest) -> bool {
        match (request.client_ip, &self.network) {
            (Some(ip), Some(n)) => n.aws_region(ip).is_some_and(|r| Some(r) == self.region),
            _ => false,
        }
    }

    /// The unsigned CloudFront URL of `path` for `request`.
    pub fn cloudfront_url(&self, path: &str, request: &DownloadUrlRequest) -> String {
        let domain = request
            .namespace
            .as_ref()
            .and_then(|ns| self.overrides.get(ns))
            .unwrap_or(&self.domain);
        let mut url = format!("https://{domain}/{path}");
        if !request.cdn_arguments.is_empty() {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(request.cdn_arguments.iter())
                .finish();
            url.push('?');
            url.push_str(&query);
        }
        url
    }
}

#[async_trait]
impl BlobStorage for CloudFrontedS3Storage {
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
        if request.client_ip.is_none() || self.in_network(request) {
            return self.s3.direct_download_url(path, request).await;
        }
        let url = self.cloudfront_url(path, request);
        let signed = self.signer.sign_url(&url, request.expires_at())?;
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
