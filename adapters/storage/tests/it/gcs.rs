//! `GoogleCloudStorage` as Quay runs it (S3 interoperability API, HMAC keys, chunks always joined
//! client-side, `ListObjects` v1), against moto standing in for storage.googleapis.com.

use std::sync::Arc;

use async_trait::async_trait;
use quay_adapter_storage::S3Storage;
use quay_adapter_storage::s3::params::GoogleCloudStorageParams;
use quay_ports::storage::BlobStorage;
use quay_ports::storage::conformance::Harness;
use url::Url;

use crate::support::{CliCrypto, service_env, unique};

fn params(root: &str) -> GoogleCloudStorageParams {
    serde_json::from_value(serde_json::json!({
        "storage_path": format!("/{root}"),
        "bucket_name": "quay-gcs-conformance",
        "access_key": service_env("QUAY_TEST_S3_ACCESS_KEY"),
        "secret_key": service_env("QUAY_TEST_S3_SECRET_KEY"),
        "boto_timeout": 60,
    }))
    .expect("valid GoogleCloudStorage parameters")
}

struct Gcs;

#[async_trait]
impl Harness for Gcs {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        let endpoint = service_env("QUAY_TEST_S3_ENDPOINT");
        let cfg = params(root).to_config(Some(&endpoint)).expect("config");
        assert!(!cfg.server_side_assembly && cfg.list_v1, "GCS interop mode");
        let s = S3Storage::new(cfg, Arc::new(CliCrypto)).expect("driver");
        s.create_bucket().await.expect("creating the test bucket");
        Arc::new(s)
    }
    fn fresh_root(&self) -> String {
        unique("gcs")
    }
    fn now_unix(&self) -> i64 {
        quay_adapter_storage::now_unix()
    }
    async fn fetch(&self, url: &Url) -> (u16, Vec<u8>) {
        crate::support::fetch(url).await
    }
    fn signs_urls(&self) -> bool {
        true
    }
    fn server_checks_url_signatures(&self) -> bool {
        false
    }
}

quay_ports::blob_storage_conformance!(Gcs);

#[test]
fn quays_fixed_endpoint_without_override() {
    let cfg = params("r").to_config(None).unwrap();
    assert_eq!(cfg.endpoint.as_str(), "https://storage.googleapis.com/");
}
