//! `AzureStorage` against Azurite (`cargo xtask services up`), which checks Shared Key and SAS.

use std::sync::Arc;

use async_trait::async_trait;
use quay_adapter_storage::{AzureStorage, AzureStorageParams};
use quay_ports::storage::BlobStorage;
use quay_ports::storage::conformance::Harness;
use url::Url;

use crate::support::{CliCrypto, service_env, unique};

pub const CONTAINER: &str = "quay-conformance";

/// `AzureStorage` parameters for Azurite, as an operator would write them.
pub fn params(root: &str) -> AzureStorageParams {
    serde_json::from_value(serde_json::json!({
        "azure_container": CONTAINER,
        "storage_path": format!("/{root}"),
        "azure_account_name": service_env("QUAY_TEST_AZURITE_ACCOUNT"),
        "azure_account_key": service_env("QUAY_TEST_AZURITE_KEY"),
        "endpoint_url": service_env("QUAY_TEST_AZURITE_BLOB_ENDPOINT"),
    }))
    .expect("valid AzureStorage parameters")
}

pub async fn open(root: &str) -> AzureStorage {
    let s = AzureStorage::new(&params(root), Arc::new(CliCrypto)).expect("driver");
    s.create_container()
        .await
        .expect("creating the test container");
    s
}

struct Azure;

#[async_trait]
impl Harness for Azure {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(open(root).await)
    }
    fn fresh_root(&self) -> String {
        unique("az")
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
}

quay_ports::blob_storage_conformance!(Azure);

#[tokio::test]
async fn storage_metadata_is_what_python_quay_writes() {
    let s = open(&unique("azmeta")).await;
    let st = s.begin_upload().await.unwrap();
    assert_eq!(st.metadata, r#"{"blocks": [], "content-type": null}"#);
    let (_, st) = s
        .upload_chunk(&st, 0, quay_ports::storage::stream::once("hello"))
        .await
        .unwrap();
    assert_eq!(
        st.metadata,
        r#"{"blocks": ["00000"], "content-type": null}"#
    );
    s.complete_upload(&st, "sha256/2c/2cf2").await.unwrap();
    assert_eq!(
        &s.get_bytes("sha256/2c/2cf2", 100).await.unwrap()[..],
        b"hello"
    );
}

#[tokio::test]
async fn a_wrong_key_is_refused_by_the_server() {
    let mut p = params(&unique("azkey"));
    p.azure_account_key = Some("AAAA".to_string().into());
    let s = AzureStorage::new(&p, Arc::new(CliCrypto)).unwrap();
    assert!(
        s.stat("x").await.is_err(),
        "Azurite must reject a bad Shared Key signature"
    );
}
