//! `DistributedStorage` over two real locations: a local directory and moto.

use std::sync::Arc;
use std::time::Duration;

use quay_adapter_storage::{
    DistributedConfigError, DistributedStorage, LocalStorage, LocalStorageParams,
};
use quay_ports::storage::conformance::data::{pattern_stream, verify_stream};
use quay_ports::storage::{BlobStorage, DownloadUrlRequest, StorageError};

async fn two_locations(readonly: bool) -> (DistributedStorage, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn BlobStorage> = Arc::new(LocalStorage::new(&LocalStorageParams {
        storage_path: dir.path().to_path_buf(),
    }));
    let s3: Arc<dyn BlobStorage> = Arc::new(crate::s3::open(&crate::support::unique("dist")).await);
    let d = DistributedStorage::new(
        vec![("local_us".into(), local), ("s3_eu".into(), s3)],
        Some(vec!["local_us".into()]),
        vec!["s3_eu".into()],
        readonly,
    )
    .unwrap();
    (d, dir)
}

fn names(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_string()).collect()
}

#[tokio::test]
async fn uploads_go_to_the_first_preference_and_replicate_to_defaults() {
    let (d, _dir) = two_locations(false).await;
    let (name, up) = d.upload_location().unwrap();
    assert_eq!(name, "local_us");
    let path = "sha256/ab/abcd";
    up.put(path, pattern_stream(60, 0, 300_000, 4096), Some(300_000))
        .await
        .unwrap();
    let placed = d
        .replicate(path, &names(&["local_us"]), d.default_locations())
        .await
        .unwrap();
    assert_eq!(placed, ["s3_eu"]);
    let s3 = d.location("s3_eu").unwrap();
    verify_stream(s3.get(path, None).await.unwrap(), 60, 0, 300_000)
        .await
        .unwrap();
    // A retried job finds the blob there and copies nothing.
    let again = d
        .replicate(path, &names(&["local_us"]), d.default_locations())
        .await
        .unwrap();
    assert_eq!(again, ["s3_eu"]);
    // Already placed everywhere: nothing to do.
    let none = d
        .replicate(path, &names(&["local_us", "s3_eu"]), d.default_locations())
        .await
        .unwrap();
    assert!(none.is_empty());
}

#[tokio::test]
async fn reads_prefer_the_preferred_placement() {
    let (d, _dir) = two_locations(false).await;
    assert_eq!(
        d.for_read(&names(&["s3_eu", "local_us"]), "p").unwrap().0,
        "local_us"
    );
    assert_eq!(d.for_read(&names(&["s3_eu"]), "p").unwrap().0, "s3_eu");
    assert!(matches!(
        d.for_read(&names(&["gone"]), "p"),
        Err(StorageError::NotFound { .. })
    ));
    // Local storage cannot sign: the registry streams; S3 can: it redirects.
    let req = DownloadUrlRequest::get(quay_adapter_storage::now_unix(), Duration::from_secs(600));
    assert_eq!(
        d.direct_download_url(&names(&["local_us"]), "p", &req)
            .await
            .unwrap(),
        None
    );
    assert!(
        d.direct_download_url(&names(&["s3_eu"]), "p", &req)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn read_only_refuses_writes() {
    let (d, _dir) = two_locations(true).await;
    assert!(matches!(d.upload_location(), Err(StorageError::ReadOnly)));
    assert!(matches!(
        d.copy_between("p", "local_us", "s3_eu").await,
        Err(StorageError::ReadOnly)
    ));
    assert!(d.for_read(&names(&["local_us"]), "p").is_ok());
}

#[tokio::test]
async fn a_missing_source_fails_the_copy() {
    let (d, _dir) = two_locations(false).await;
    assert!(matches!(
        d.copy_between("sha256/00/none", "local_us", "s3_eu").await,
        Err(StorageError::NotFound { .. })
    ));
}

#[test]
fn config_names_must_exist() {
    let dir = tempfile::tempdir().unwrap();
    let local: Arc<dyn BlobStorage> = Arc::new(LocalStorage::new(&LocalStorageParams {
        storage_path: dir.path().to_path_buf(),
    }));
    let err = DistributedStorage::new(
        vec![("a".into(), local.clone())],
        Some(vec!["b".into()]),
        vec![],
        false,
    )
    .unwrap_err();
    assert_eq!(
        err,
        DistributedConfigError::UnknownLocation {
            key: "DISTRIBUTED_STORAGE_PREFERENCE",
            location: "b".into()
        }
    );
    let d = DistributedStorage::new(vec![("a".into(), local)], None, vec![], false).unwrap();
    assert_eq!(d.upload_location().unwrap().0, "a");
    assert_eq!(
        DistributedStorage::new(vec![], None, vec![], false).unwrap_err(),
        DistributedConfigError::NoLocation
    );
}
