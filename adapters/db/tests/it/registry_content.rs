//! The registry stores (manifests, blobs, uploads, audit) on rows a running Python Quay wrote:
//! they read Python's manifests, tags, blobs and uploads, and write new pushes next to them in
//! the same shapes, on PostgreSQL and SQLite.

use anyhow::Result;
use chrono::{DateTime, Duration, TimeZone, Utc};
use quay_adapter_db::{Stores, connect};
use quay_domain::repository::RepositoryId;
use quay_ports::store::{
    AuditEntry, ChunkRecord, CommitBlob, ManifestPush, ManifestStoreError, TagMove, TempTag,
    UploadRecord, UploadStoreError,
};

use crate::support::{self, TestPg, TestSqlite};

const HELLO: RepositoryId = RepositoryId(1);
const CONFORMANCE: RepositoryId = RepositoryId(6);
const OCI_DIGEST: &str = "sha256:be2b0b243985a912e89c8afcfb4abaf611509e72868cfac47091423dd623890f";
const LAYER: &str = "sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47";
const CONFIG: &str = "sha256:128828346610475091b4e4f52c92e8d559bde8dfe1db3d77f0bc4389541a673e";

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0)
        .single()
        .expect("valid time")
}

async fn reads(stores: &Stores) -> Result<()> {
    let m = stores
        .manifests
        .find_manifest(HELLO, OCI_DIGEST)
        .await?
        .expect("Python's manifest");
    // The oracle instance numbered `mediatype` differently from the head seed loaded here
    // (its OCI manifest type is id 18, the seed's 17): the very reason lookups go by name.
    assert_eq!(m.digest, OCI_DIGEST);
    assert!(m.bytes.starts_with("{\"schemaVersion\":2"));
    let tagged = stores
        .manifests
        .find_tagged_manifest(HELLO, "latest", at(12, 0).timestamp_millis())
        .await?
        .expect("latest");
    assert_eq!(tagged.digest, OCI_DIGEST);
    // A tag Python closed is gone.
    assert!(
        stores
            .manifests
            .find_tagged_manifest(CONFORMANCE, "test0", at(12, 0).timestamp_millis())
            .await?
            .is_none()
    );
    let blob = stores
        .blobs
        .find_repository_blob(HELLO, LAYER, at(12, 0))
        .await?
        .expect("linked by a manifest");
    assert_eq!(blob.size, Some(127));
    assert_eq!(blob.uncompressed_size, Some(10240));
    // Python's chunked upload in progress, with its pickled hasher state.
    let upload = stores
        .uploads
        .find_upload(CONFORMANCE, "715dcd5b-a160-4ffa-9287-0fa65b3c248b")
        .await?
        .expect("Python's upload");
    assert_eq!((upload.byte_count, upload.chunk_count), (0, 0));
    assert_eq!(upload.storage_metadata, "{}");
    assert_eq!(upload.sha_state.as_ref().map(Vec::len), Some(160));
    Ok(())
}

fn push(tag: Option<&str>, digest: &str, blobs: &[&str], now: DateTime<Utc>) -> ManifestPush {
    let now_ms = now.timestamp_millis();
    ManifestPush {
        repository: HELLO,
        digest: digest.to_owned(),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        bytes: "{}".into(),
        config_media_type: Some("application/vnd.oci.image.config.v1+json".into()),
        layers_compressed_size: Some(127),
        subject: None,
        artifact_type: None,
        blob_digests: blobs.iter().map(|b| (*b).to_owned()).collect(),
        child_digests: Vec::new(),
        optional_children: Vec::new(),
        labels: vec![quay_ports::store::ManifestLabel {
            uuid: format!("label-{digest}"),
            key: "org.example".into(),
            value: "{\"a\": 1}".into(),
            media_type: "application/json".into(),
        }],
        now,
        tag: tag.map(|t| TagMove {
            name: t.to_owned(),
            now_ms,
            lock_id: 42,
            end_ms: None,
            immutable: false,
            refuse_immutable: true,
            policy_audit: None,
        }),
        temp_tag: tag.is_none().then(|| TempTag {
            name: "$temp-test".into(),
            now_ms,
            end_ms: Some(now_ms + 3_600_000),
        }),
        audit: Some(AuditEntry {
            kind: "push_repo".into(),
            account_id: 2,
            performer_id: Some(1),
            repository_id: Some(1),
            datetime: now,
            ip: Some("127.0.0.1".into()),
            metadata_json: "{\"tag\": \"latest\"}".into(),
        }),
        quota: Default::default(),
    }
}

async fn writes(stores: &Stores) -> Result<()> {
    let now = at(12, 0);
    let digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    // Unknown blob: nothing written.
    let bad = push(Some("latest"), digest, &["sha256:00"], now);
    assert!(matches!(
        stores.manifests.commit_manifest_push(&bad).await,
        Err(ManifestStoreError::UnknownBlob(_))
    ));
    assert!(
        stores
            .manifests
            .find_manifest(HELLO, digest)
            .await?
            .is_none()
    );
    // Retarget `latest` to a new manifest using Python's blobs.
    stores
        .manifests
        .commit_manifest_push(&push(Some("latest"), digest, &[LAYER, CONFIG], now))
        .await?;
    let tagged = stores
        .manifests
        .find_tagged_manifest(HELLO, "latest", now.timestamp_millis() + 1)
        .await?
        .expect("moved");
    assert_eq!(tagged.digest, digest);
    // By digest: a hidden temporary tag keeps it.
    let by_digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    stores
        .manifests
        .commit_manifest_push(&push(None, by_digest, &[LAYER], now))
        .await?;
    assert!(
        stores
            .manifests
            .find_manifest(HELLO, by_digest)
            .await?
            .is_some()
    );
    // Delete the tag.
    let later = now.timestamp_millis() + 10;
    let deletion = quay_ports::store::TagDeletion {
        now_ms: later,
        lock_id: 42,
        refuse_immutable: true,
        clear_pull_statistics: true,
        reset_child_expiration: false,
    };
    assert_eq!(
        stores
            .manifests
            .delete_tag(HELLO, "latest", &deletion)
            .await?,
        Some(digest.to_owned())
    );
    assert!(
        stores
            .manifests
            .delete_tag(HELLO, "latest", &deletion)
            .await?
            .is_none()
    );
    uploads_and_blobs(stores, now).await
}

async fn uploads_and_blobs(stores: &Stores, now: DateTime<Utc>) -> Result<()> {
    // Upload lifecycle with a compare-and-swap on the size.
    let upload = UploadRecord {
        repository: HELLO,
        uuid: "00000000-0000-4000-8000-000000000001".into(),
        byte_count: 0,
        chunk_count: 0,
        uncompressed_byte_count: None,
        sha_state: Some(vec![1, 2, 3]),
        storage_metadata: "{}".into(),
        location: "default".into(),
        created: now,
    };
    stores.uploads.create_upload(&upload).await?;
    let chunk = ChunkRecord {
        byte_count: 10,
        chunk_count: 1,
        uncompressed_byte_count: None,
        sha_state: Some(vec![4, 5]),
        storage_metadata: "{}".into(),
    };
    stores
        .uploads
        .record_chunk(HELLO, &upload.uuid, 0, &chunk)
        .await?;
    assert!(matches!(
        stores
            .uploads
            .record_chunk(HELLO, &upload.uuid, 0, &chunk)
            .await,
        Err(UploadStoreError::Conflict)
    ));
    let stored = stores
        .uploads
        .find_upload(HELLO, &upload.uuid)
        .await?
        .expect("upload");
    assert_eq!(
        (stored.byte_count, stored.sha_state),
        (10, Some(vec![4, 5]))
    );
    assert_eq!(stored.created, now);
    // Commit: a new blob, placed, linked, the upload row gone.
    let blob = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    stores
        .blobs
        .commit_blob(&CommitBlob {
            repository: HELLO,
            digest: blob.into(),
            size: 10,
            uncompressed_size: None,
            location: "default".into(),
            storage_uuid: "00000000-0000-4000-8000-000000000002".into(),
            now,
            link_expires_at: now + Duration::hours(1),
            finished_upload: Some(upload.uuid.clone()),
        })
        .await?;
    assert!(
        stores
            .uploads
            .find_upload(HELLO, &upload.uuid)
            .await?
            .is_none()
    );
    let found = stores
        .blobs
        .find_repository_blob(HELLO, blob, now)
        .await?
        .expect("linked");
    assert_eq!(
        (found.size, found.locations),
        (Some(10), vec!["default".to_owned()])
    );
    // The temporary link expires.
    assert!(
        stores
            .blobs
            .find_repository_blob(HELLO, blob, now + Duration::hours(2))
            .await?
            .is_none()
    );
    // Mount into another repository.
    assert!(
        stores
            .blobs
            .link_blob(RepositoryId(3), blob, now, now + Duration::hours(1))
            .await?
    );
    assert!(
        !stores
            .blobs
            .link_blob(RepositoryId(3), "sha256:44", now, now + Duration::hours(1))
            .await?
    );
    Ok(())
}

/// Moves PostgreSQL's sequences past the ids the dump inserted explicitly.
const PG_SEQUENCES: &str = "
SELECT setval(pg_get_serial_sequence('manifest', 'id'), (SELECT max(id) FROM manifest));
SELECT setval(pg_get_serial_sequence('manifestblob', 'id'), (SELECT max(id) FROM manifestblob));
SELECT setval(pg_get_serial_sequence('tag', 'id'), (SELECT max(id) FROM tag));
SELECT setval(pg_get_serial_sequence('imagestorage', 'id'), (SELECT max(id) FROM imagestorage));
SELECT setval(pg_get_serial_sequence('imagestorageplacement', 'id'), (SELECT max(id) FROM imagestorageplacement));
SELECT setval(pg_get_serial_sequence('uploadedblob', 'id'), (SELECT max(id) FROM uploadedblob));
SELECT setval(pg_get_serial_sequence('blobupload', 'id'), (SELECT max(id) FROM blobupload));
SELECT setval(pg_get_serial_sequence('logentry3', 'id'), (SELECT max(id) FROM logentry3));
SELECT setval(pg_get_serial_sequence('label', 'id'), (SELECT max(id) FROM label));
SELECT setval(pg_get_serial_sequence('manifestlabel', 'id'), (SELECT max(id) FROM manifestlabel));
";

#[tokio::test(flavor = "multi_thread")]
async fn registry_stores_on_python_rows_postgres() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    pg.execute(support::PYTHON_ACCOUNTS).await?;
    pg.execute(support::ORACLE_ROWS).await?;
    pg.execute(PG_SEQUENCES).await?;
    let db = connect(support::settings(pg.target())).await?;
    let stores = db.stores();
    reads(&stores).await?;
    writes(&stores).await
}

#[tokio::test(flavor = "multi_thread")]
async fn registry_stores_on_python_rows_sqlite() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    file.execute(support::PYTHON_ACCOUNTS)?;
    file.execute(&support::oracle_rows_for_sqlite())?;
    let db = connect(support::settings(file.target())).await?;
    let stores = db.stores();
    reads(&stores).await?;
    writes(&stores).await
}
