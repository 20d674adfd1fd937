//! `LocalStorage` against a temporary directory.

use std::sync::Arc;

use async_trait::async_trait;
use quay_adapter_storage::{LocalStorage, LocalStorageParams};
use quay_ports::storage::BlobStorage;
use quay_ports::storage::conformance::Harness;
use url::Url;

struct Local {
    dir: Arc<tempfile::TempDir>,
}

fn harness() -> Local {
    Local {
        dir: Arc::new(tempfile::tempdir().expect("temporary directory")),
    }
}

#[async_trait]
impl Harness for Local {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(LocalStorage::new(&LocalStorageParams {
            storage_path: self.dir.path().join(root),
        }))
    }
    fn fresh_root(&self) -> String {
        crate::support::unique("local")
    }
    fn now_unix(&self) -> i64 {
        quay_adapter_storage::now_unix()
    }
    async fn fetch(&self, url: &Url) -> (u16, Vec<u8>) {
        crate::support::fetch(url).await
    }
    fn signs_urls(&self) -> bool {
        false
    }
}

quay_ports::blob_storage_conformance!(harness());
