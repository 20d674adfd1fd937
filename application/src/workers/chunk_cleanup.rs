//! The `chunk_cleanup` queue: Swift storage puts the upload segments it no longer needs on it
//! ([`ChunkCleanupQueue`], the producer), and the chunk-cleanup worker deletes them
//! ([`ChunkCleanupJob`], Quay's `workers/chunkcleanupworker.py`).
//!
//! Items are Python Quay's: queue name `chunk_cleanup/segment/<location>/<upload uuid>/`, body
//! `{"location": …, "uuid": …, "path": …}` as `json.dumps` writes it, available 30 s after the
//! upload completes or is cancelled, five retries. The worker runs only when a location uses
//! `SwiftStorage` (as Quay decides), polls every 10 s, and for each item deletes `path` from
//! `location` unless it is already gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quay_ports::queue::{DEFAULT_RETRIES, NewQueueItem, WorkQueue};
use quay_ports::storage::cleanup::{
    CHUNK_CLEANUP_DELAY, CHUNK_CLEANUP_QUEUE, ChunkCleanupItem, ChunkCleanupSink,
};
use quay_ports::storage::{BlobStorage, StorageError};

use super::queue_worker::{JobError, QueueJob, WorkerTiming};

/// Quay's `POLL_PERIOD_SECONDS` of the chunk-cleanup worker.
pub const POLL_PERIOD: Duration = Duration::from_secs(10);

/// The worker's timing in Quay: a 10 s poll, the `QueueWorker` defaults otherwise.
pub fn timing() -> WorkerTiming {
    WorkerTiming {
        poll_period: POLL_PERIOD,
        ..WorkerTiming::default()
    }
}

/// Whether Quay runs the chunk-cleanup worker: some location's driver is `SwiftStorage`.
pub fn worker_needed<'a>(drivers: impl IntoIterator<Item = &'a str>) -> bool {
    drivers.into_iter().any(|d| d == "SwiftStorage")
}

/// `s` as Python's `json.dumps` writes a string (`ensure_ascii`).
fn py_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c @ ' '..='~' => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// The item's body exactly as Python Quay's Swift driver writes it.
pub fn item_body(item: &ChunkCleanupItem) -> String {
    let mut out = String::from("{\"location\": ");
    py_string(&item.location, &mut out);
    out.push_str(", \"uuid\": ");
    py_string(&item.uuid, &mut out);
    out.push_str(", \"path\": ");
    py_string(&item.path, &mut out);
    out.push('}');
    out
}

/// The producer side: Swift's [`ChunkCleanupSink`] over the work queue.
#[derive(Clone)]
pub struct ChunkCleanupQueue {
    queue: Arc<dyn WorkQueue>,
}

impl std::fmt::Debug for ChunkCleanupQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChunkCleanupQueue")
    }
}

impl ChunkCleanupQueue {
    /// Puts items on `queue`.
    pub fn new(queue: Arc<dyn WorkQueue>) -> Self {
        Self { queue }
    }
}

#[async_trait]
impl ChunkCleanupSink for ChunkCleanupQueue {
    async fn enqueue(&self, item: ChunkCleanupItem) -> Result<(), StorageError> {
        let new = NewQueueItem {
            queue: CHUNK_CLEANUP_QUEUE.to_string(),
            path: vec![format!("segment/{}/{}", item.location, item.uuid)],
            body: item_body(&item),
            available_after: CHUNK_CLEANUP_DELAY,
            retries_remaining: DEFAULT_RETRIES,
        };
        match self.queue.put(&new).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_retryable() => {
                Err(StorageError::unavailable("chunk_cleanup", item.path, e))
            }
            Err(e) => Err(StorageError::backend("chunk_cleanup", item.path, e)),
        }
    }
}

struct Details {
    location: String,
    path: String,
}

/// The consumer side: deletes the segment an item names.
pub struct ChunkCleanupJob {
    locations: BTreeMap<String, Arc<dyn BlobStorage>>,
}

impl ChunkCleanupJob {
    /// A job deleting from these locations (by `DISTRIBUTED_STORAGE_CONFIG` name).
    pub fn new(locations: BTreeMap<String, Arc<dyn BlobStorage>>) -> Self {
        Self { locations }
    }
}

#[async_trait]
impl QueueJob for ChunkCleanupJob {
    fn queue(&self) -> &str {
        CHUNK_CLEANUP_QUEUE
    }

    async fn process(&self, body: &str) -> Result<(), JobError> {
        let details: serde_json::Value = serde_json::from_str(body)
            .map_err(|e| JobError::Failed(format!("malformed chunk_cleanup item: {e}")))?;
        let field = |k: &str| {
            details[k].as_str().map(str::to_string).ok_or_else(|| {
                JobError::Failed(format!("chunk_cleanup item without a `{k}` string"))
            })
        };
        let details = Details {
            location: field("location")?,
            path: field("path")?,
        };
        let storage = self.locations.get(&details.location).ok_or_else(|| {
            JobError::Failed(format!(
                "chunk_cleanup item names unknown storage location `{}`",
                details.location
            ))
        })?;
        let failed = |e: StorageError| JobError::Failed(format!("{}: {e}", details.path));
        if storage.stat(&details.path).await.map_err(failed)?.is_none() {
            tracing::debug!(storage.location = %details.location, storage.path = %details.path, "chunk already deleted");
            return Ok(());
        }
        storage.delete(&details.path).await.map_err(failed)?;
        tracing::debug!(storage.location = %details.location, storage.path = %details.path, "chunk deleted");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_pythons_json_dumps() {
        let item = ChunkCleanupItem {
            location: "swift_us".into(),
            uuid: "0f1e2d3c-aaaa-bbbb-cccc-0123456789ab".into(),
            path: "segments/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab/000000002".into(),
        };
        // json.dumps({"location": ..., "uuid": ..., "path": ...})
        assert_eq!(
            item_body(&item),
            r#"{"location": "swift_us", "uuid": "0f1e2d3c-aaaa-bbbb-cccc-0123456789ab", "path": "segments/0f1e2d3c-aaaa-bbbb-cccc-0123456789ab/000000002"}"#
        );
        let odd = ChunkCleanupItem {
            location: "l\"\\\n\u{1}é😀\u{7f}".into(),
            uuid: String::new(),
            path: "p".into(),
        };
        // json.dumps({"location": 'l"\\\n\x01é😀\x7f', "uuid": "", "path": "p"})
        assert_eq!(
            item_body(&odd),
            r#"{"location": "l\"\\\n\u0001\u00e9\ud83d\ude00\u007f", "uuid": "", "path": "p"}"#
        );
    }

    #[test]
    fn worker_runs_only_with_swift() {
        assert!(worker_needed(["LocalStorage", "SwiftStorage"]));
        assert!(!worker_needed(["LocalStorage", "S3Storage"]));
        assert_eq!(timing().poll_period, Duration::from_secs(10));
        assert_eq!(timing().reservation, Duration::from_secs(300));
    }
}
