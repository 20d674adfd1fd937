//! `SwiftStorage` against a real Swift (Debian's proxy, account, container and object servers
//! with tempauth, TempURL and DLO, started by `cargo xtask services up`).

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quay_adapter_storage::{SwiftStorage, SwiftStorageParams};
use quay_ports::storage::cleanup::{ChunkCleanupItem, ChunkCleanupSink};
use quay_ports::storage::conformance::Harness;
use quay_ports::storage::{BlobStorage, StorageError, stream};
use url::Url;

use crate::support::{CliCrypto, service_env, unique};

pub const CONTAINER: &str = "quay-conformance";
const TEMP_URL_KEY: &str = "quay-temp-url-key";

/// `SwiftStorage` parameters for the test Swift, as an operator would write them.
pub fn params(root: &str) -> SwiftStorageParams {
    serde_json::from_value(serde_json::json!({
        "swift_container": CONTAINER,
        "storage_path": format!("/{root}"),
        "auth_url": service_env("QUAY_TEST_SWIFT_AUTH_URL"),
        "swift_user": service_env("QUAY_TEST_SWIFT_USER"),
        "swift_password": service_env("QUAY_TEST_SWIFT_KEY"),
        "auth_version": "1",
        "temp_url_key": TEMP_URL_KEY,
    }))
    .expect("valid SwiftStorage parameters")
}

pub async fn open(root: &str, sink: Option<Arc<dyn ChunkCleanupSink>>) -> SwiftStorage {
    let s = SwiftStorage::new(
        &params(root),
        Arc::new(CliCrypto),
        sink.map(|s| ("swift_loc".to_string(), s)),
    )
    .expect("driver");
    s.create_container()
        .await
        .expect("creating the test container");
    s.set_temp_url_key(TEMP_URL_KEY)
        .await
        .expect("setting the TempURL key");
    s
}

struct Swift;

#[async_trait]
impl Harness for Swift {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(open(root, None).await)
    }
    fn fresh_root(&self) -> String {
        unique("swift")
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
    fn blob_parts_prefix(&self) -> Option<&'static str> {
        Some("segments/")
    }
}

quay_ports::blob_storage_conformance!(Swift);

/// Records what the driver would put on the `chunk_cleanup` queue.
#[derive(Debug, Default)]
struct RecordingSink(Mutex<Vec<ChunkCleanupItem>>);

#[async_trait]
impl ChunkCleanupSink for RecordingSink {
    async fn enqueue(&self, item: ChunkCleanupItem) -> Result<(), StorageError> {
        self.0.lock().unwrap().push(item);
        Ok(())
    }
}

#[tokio::test]
async fn segments_dlo_and_chunk_cleanup_like_quay() {
    let sink = Arc::new(RecordingSink::default());
    let s = open(&unique("swiftdlo"), Some(sink.clone())).await;
    let st = s.begin_upload().await.unwrap();
    assert_eq!(st.metadata, r#"{"segments": [], "emptysegments": []}"#);
    let (_, st) = s
        .upload_chunk(&st, 0, stream::once("hello "))
        .await
        .unwrap();
    let (_, st) = s.upload_chunk(&st, 6, stream::once("world")).await.unwrap();
    let id = st.upload_id.clone();
    assert_eq!(
        st.metadata,
        format!(
            r#"{{"segments": [["segments/{id}/000000000", 0, 6], ["segments/{id}/000000001", 6, 5]], "emptysegments": []}}"#
        )
    );
    // A state written by Python Quay: it ends each chunk with an empty segment, which is queued
    // for cleanup at completion unless a later chunk reused its path.
    let python = quay_ports::storage::UploadState {
        upload_id: id.clone(),
        metadata: format!(
            r#"{{"segments": [["segments/{id}/000000000", 0, 6], ["segments/{id}/000000001", 6, 5]], "emptysegments": [["segments/{id}/000000001", 6, 0], ["segments/{id}/000000002", 11, 0]]}}"#
        ),
    };
    s.complete_upload(&python, "sha256/ab/abab").await.unwrap();
    assert_eq!(
        &s.get_bytes("sha256/ab/abab", 100).await.unwrap()[..],
        b"hello world"
    );
    assert_eq!(
        *sink.0.lock().unwrap(),
        [ChunkCleanupItem {
            location: "swift_loc".into(),
            uuid: id.clone(),
            path: format!("segments/{id}/000000002"),
        }]
    );
    assert_eq!(
        sink.0.lock().unwrap()[0].queue_path(),
        ["segment".to_string(), "swift_loc".into(), id.clone()]
    );
    // Deleting the DLO deletes its segments.
    s.delete("sha256/ab/abab").await.unwrap();
    assert!(s.list("").await.unwrap().is_empty());
    // Cancel queues every segment instead of deleting it.
    sink.0.lock().unwrap().clear();
    let st = s.begin_upload().await.unwrap();
    let (_, st) = s.upload_chunk(&st, 0, stream::once("abc")).await.unwrap();
    s.cancel_upload(&st).await.unwrap();
    assert_eq!(sink.0.lock().unwrap().len(), 1);
}
