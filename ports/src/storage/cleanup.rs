//! The `chunk_cleanup` queue items storage drivers produce (only Swift does, as in Quay).
//!
//! Python Quay's Swift driver never deletes upload segments itself: on completion (segments
//! that stayed empty) and on cancel (every segment) it enqueues, 30 s in the future, one item per
//! segment on the `chunk_cleanup` queue, with path `["segment", <location>, <upload uuid>]` and
//! body `{"location": ..., "uuid": ..., "path": <segment path>}`; the chunk-cleanup worker then
//! deletes `path` from `location`.

use std::time::Duration;

use async_trait::async_trait;

use super::StorageError;

/// Queue name.
pub const CHUNK_CLEANUP_QUEUE: &str = "chunk_cleanup";
/// Delay before a cleanup item becomes available (Quay's `_CHUNK_CLEANUP_DELAY`).
pub const CHUNK_CLEANUP_DELAY: Duration = Duration::from_secs(30);

/// One segment to delete later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkCleanupItem {
    /// Storage location name (the `DISTRIBUTED_STORAGE_CONFIG` key).
    pub location: String,
    /// Upload uuid.
    pub uuid: String,
    /// Segment path relative to the driver's root.
    pub path: String,
}

impl ChunkCleanupItem {
    /// The queue item path: `["segment", location, uuid]`.
    pub fn queue_path(&self) -> [String; 3] {
        ["segment".into(), self.location.clone(), self.uuid.clone()]
    }
}

/// Where drivers put cleanup work (the queue adapter implements it; bin wires it).
#[async_trait]
pub trait ChunkCleanupSink: Send + Sync + std::fmt::Debug {
    /// Enqueues `item`, available after [`CHUNK_CLEANUP_DELAY`].
    ///
    /// # Errors
    /// `Unavailable`/`Backend` when the queue cannot be written.
    async fn enqueue(&self, item: ChunkCleanupItem) -> Result<(), StorageError>;
}
