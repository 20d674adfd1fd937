//! Swift's `chunk_cleanup` items through Quay's work queue to the chunk-cleanup worker, against
//! the real Swift proxy (`QUAY_TEST_SWIFT_*`) and a SQLite database at Quay's schema head: a
//! chunked upload leaves its segments on the queue, the worker deletes them from Swift and
//! completes the items.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use quay_adapter_db::{ConnectionArgs, DbSettings, DbTarget};
use quay_adapter_storage::{SwiftStorage, SwiftStorageParams};
use quay_application::workers::chunk_cleanup::{self, ChunkCleanupJob};
use quay_application::workers::queue_worker::{ItemOutcome, QueueWorker};
use quay_ports::clock::Clock;
use quay_ports::queue::ClaimOrder;
use quay_ports::storage::{BlobStorage, UploadState, stream};

/// A clock the test moves by hand, so the 30 s cleanup delay needs no sleep.
#[derive(Debug)]
struct ManualClock(Mutex<DateTime<Utc>>);

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

impl ManualClock {
    fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += chrono::Duration::seconds(secs);
    }
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `cargo xtask services up` and load target/services/env")
    })
}

fn swift(
    root: &str,
    sink: Arc<dyn quay_ports::storage::cleanup::ChunkCleanupSink>,
) -> SwiftStorage {
    let params: SwiftStorageParams = serde_json::from_value(serde_json::json!({
        "swift_container": "quay-chunk-cleanup",
        "storage_path": format!("/{root}"),
        "auth_url": env("QUAY_TEST_SWIFT_AUTH_URL"),
        "swift_user": env("QUAY_TEST_SWIFT_USER"),
        "swift_password": env("QUAY_TEST_SWIFT_KEY"),
        "auth_version": 1,
    }))
    .expect("valid SwiftStorage parameters");
    SwiftStorage::new(
        &params,
        Arc::new(quay_fips::storage_signing::OpenSslStorageCrypto),
        Some(("swift_loc".to_string(), sink)),
    )
    .expect("Swift driver")
}

async fn exists(s: &SwiftStorage, path: &str) -> bool {
    s.stat(path).await.expect("stat").is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
async fn swift_segments_are_cleaned_up_through_the_queue() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = quay_adapter_db::connect(DbSettings::new(DbTarget::Sqlite {
        path: dir.path().join("quay.db"),
        connection_args: ConnectionArgs::new(),
    }))
    .await?;
    quay::database::ensure_head(&db, true).await?;
    let start = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 11, 27, 12, 0, 0).unwrap();
    let clock = Arc::new(ManualClock(Mutex::new(start)));
    let queue = db.work_queue(clock.clone());
    let root = format!("cc{}", uuid::Uuid::new_v4().simple());
    let s = swift(&root, quay::workers::chunk_cleanup_sink(queue.clone()));
    s.create_container().await?;

    // Cancel: every written segment goes on the queue, none is deleted yet.
    let st = s.begin_upload().await?;
    let (_, st) = s.upload_chunk(&st, 0, stream::once("hello ")).await?;
    let (_, st) = s.upload_chunk(&st, 6, stream::once("world")).await?;
    let cancelled = st.upload_id.clone();
    s.cancel_upload(&st).await?;
    let seg = |id: &str, n: u32| format!("segments/{id}/{n:09}");
    assert!(exists(&s, &seg(&cancelled, 0)).await && exists(&s, &seg(&cancelled, 1)).await);

    // Completion of a state Python Quay wrote: its trailing empty segment goes on the queue.
    let st = s.begin_upload().await?;
    let (_, st) = s.upload_chunk(&st, 0, stream::once("abc")).await?;
    let done = st.upload_id.clone();
    let empty = seg(&done, 1);
    s.put(&empty, stream::empty(), Some(0)).await?;
    let python = UploadState {
        upload_id: done.clone(),
        metadata: format!(
            r#"{{"segments": [["{}", 0, 3]], "emptysegments": [["{empty}", 3, 0]]}}"#,
            seg(&done, 0)
        ),
    };
    s.complete_upload(&python, "sha256/ab/abcdef").await?;

    assert_eq!(queue.count_alive("chunk_cleanup", &["segment"]).await?, 3);
    let due = queue
        .alive(
            "chunk_cleanup",
            &[&format!("segment/swift_loc/{cancelled}")],
        )
        .await?;
    assert!(!due, "not available before Quay's 30 s delay");
    let locations: BTreeMap<String, Arc<dyn BlobStorage>> = BTreeMap::from([(
        "swift_loc".to_string(),
        Arc::new(s.clone()) as Arc<dyn BlobStorage>,
    )]);
    let worker = QueueWorker::new(
        queue.clone(),
        Arc::new(ChunkCleanupJob::new(locations)),
        chunk_cleanup::timing(),
    );
    assert_eq!(worker.drain().await?, (0, false), "nothing is due yet");

    // A Python worker would read the same rows: canonical names and json.dumps bodies.
    clock.advance(31);
    let peek = queue
        .claim(
            "chunk_cleanup",
            &["segment", "swift_loc", &done],
            Duration::from_secs(1),
            ClaimOrder::Any,
        )
        .await?
        .expect("the completed upload's item");
    assert_eq!(
        peek.body,
        format!(r#"{{"location": "swift_loc", "uuid": "{done}", "path": "{empty}"}}"#)
    );
    assert!(queue.incomplete(&peek, Duration::ZERO, true).await?);

    // The worker deletes the three segments and completes the items.
    assert_eq!(worker.drain().await?, (3, false));
    assert!(!exists(&s, &seg(&cancelled, 0)).await);
    assert!(!exists(&s, &seg(&cancelled, 1)).await);
    assert!(!exists(&s, &empty).await);
    assert!(
        exists(&s, &seg(&done, 0)).await,
        "the blob's own segment stays"
    );
    assert_eq!(&s.get_bytes("sha256/ab/abcdef", 10).await?[..], b"abc");
    assert_eq!(queue.count_alive("chunk_cleanup", &[]).await?, 0);
    assert_eq!(queue.metrics("chunk_cleanup").await?.running, 0);

    // An item whose segment is already gone completes; one naming an unknown location fails
    // and is retried later with one retry fewer.
    let sink = quay::workers::chunk_cleanup_sink(queue.clone());
    let gone = quay_ports::storage::cleanup::ChunkCleanupItem {
        location: "swift_loc".into(),
        uuid: cancelled.clone(),
        path: seg(&cancelled, 0),
    };
    sink.enqueue(gone.clone()).await?;
    sink.enqueue(quay_ports::storage::cleanup::ChunkCleanupItem {
        location: "elsewhere".into(),
        ..gone
    })
    .await?;
    clock.advance(31);
    let mut outcomes = vec![
        worker.process_one().await?.expect("one item"),
        worker.process_one().await?.expect("other item"),
    ];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [
            ItemOutcome::Completed,
            ItemOutcome::Returned { retries_left: true }
        ]
    );
    assert_eq!(worker.process_one().await?, None, "retried after 300 s");
    assert_eq!(queue.count_alive("chunk_cleanup", &[]).await?, 1);
    s.delete("sha256/ab/abcdef").await?;
    Ok(())
}
