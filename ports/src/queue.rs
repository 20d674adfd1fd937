//! The work-queue port: Quay's `WorkQueue` (`data/queue.py`) over the `queueitem` table.
//!
//! Rows are shared with Python Quay, so an item either side writes, the other can claim:
//! - `queue_name` is the *canonical name* `<queue>/<path…>/` ([`canonical_name`]), e.g.
//!   `chunk_cleanup/segment/<location>/<upload uuid>/`; a queue's items are those whose name
//!   starts with `<queue>/`;
//! - `body` is the job's JSON text, stored and returned verbatim;
//! - `available_after` and `processing_expires` are UTC without a zone;
//! - `state_id` is a fresh UUID (v4, hyphenated) on insert and on every update: claiming is a
//!   compare-and-swap on `(id, state_id)`, so of two processes reading the same row only one
//!   claims it (Quay's own method, which works on PostgreSQL and SQLite alike);
//! - claiming takes one of `retries_remaining`, which must be > 0 for the item to be available.
//!
//! An item is *available* when `available_after <= now`, `retries_remaining > 0`, and either
//! `available` is true or its lease (`processing_expires`) has run out; it is *running* while
//! `available` is false and its lease has not run out.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::store::BackendError;

/// Quay's `MINIMUM_EXTENSION`: a lease is only rewritten when it moves by more than this.
pub const MINIMUM_EXTENSION: Duration = Duration::from_secs(20);

/// Quay's default `retries_remaining` for a new item.
pub const DEFAULT_RETRIES: u32 = 5;

/// The canonical `queue_name` of an item: `queue` and `path` joined by `/`, with a trailing `/`
/// (Quay's `WorkQueue._canonical_name([queue] + path)`).
pub fn canonical_name(queue: &str, path: &[&str]) -> String {
    let mut out = String::from(queue);
    for p in path {
        out.push('/');
        out.push_str(p);
    }
    out.push('/');
    out
}

/// A new item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewQueueItem {
    /// The queue (`chunk_cleanup`, `notification`, …).
    pub queue: String,
    /// The canonical path below the queue (Quay's `canonical_name_list`).
    pub path: Vec<String>,
    /// JSON text of the job, stored verbatim.
    pub body: String,
    /// How long from now before the item may be claimed.
    pub available_after: Duration,
    /// How many claims the item may take.
    pub retries_remaining: u32,
}

/// A claimed item (Quay's `AttrDict` returned by `WorkQueue.get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// `queueitem.id`.
    pub id: i64,
    /// The job's JSON text.
    pub body: String,
    /// Retries left after this claim.
    pub retries_remaining: i32,
}

/// How a queue looks at one moment (Quay's `WorkQueue.get_metrics`): counts of distinct
/// canonical names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueMetrics {
    /// Names with an item under an unexpired lease.
    pub running: u64,
    /// Names with an available item and none running.
    pub available_not_running: u64,
    /// Names with an available item.
    pub available: u64,
}

/// How to pick among available items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOrder {
    /// A random item among the first 50 available (Quay's default, spreads contention).
    Any,
    /// The oldest available item whose canonical name has nothing running
    /// (Quay's `ordering_required=True`).
    Oldest,
}

/// Errors of the [`WorkQueue`] port.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The canonical name would exceed the column's 1024 characters.
    #[error("queue name is longer than 1024 characters: {0}")]
    NameTooLong(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl QueueError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Backend(e) if e.is_retryable())
    }
}

/// Quay's database work queue. The adapter reads the current time from its clock.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Adds an item, available `item.available_after` from now; returns its id.
    ///
    /// # Errors
    /// `NameTooLong` for a canonical name over 1024 characters; `Backend` when the insert fails.
    async fn put(&self, item: &NewQueueItem) -> Result<i64, QueueError>;

    /// Claims an available item of `queue` whose canonical name starts with
    /// `canonical_name(queue, match_path)`, leasing it for `lease_for` and taking one retry.
    /// `None` when nothing is available, or when another process claimed the chosen item first
    /// (as Quay's `get`; the caller polls again).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn claim(
        &self,
        queue: &str,
        match_path: &[&str],
        lease_for: Duration,
        order: ClaimOrder,
    ) -> Result<Option<Lease>, QueueError>;

    /// Deletes a finished item; `false` when it was already gone.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn complete(&self, lease: &Lease) -> Result<bool, QueueError>;

    /// Returns an item to the queue, available again `retry_after` from now, giving back the
    /// retry its claim took when `restore_retry`. Returns whether it has retries left (`false`
    /// too when the item is gone).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn incomplete(
        &self,
        lease: &Lease,
        retry_after: Duration,
        restore_retry: bool,
    ) -> Result<bool, QueueError>;

    /// Extends the lease to `lease_for` from now when that moves it by more than
    /// [`MINIMUM_EXTENSION`], and replaces the body with `updated_body` when it differs.
    /// Returns whether the row changed (`false` when the item is gone).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn extend(
        &self,
        lease: &Lease,
        lease_for: Duration,
        updated_body: Option<&str>,
    ) -> Result<bool, QueueError>;

    /// Whether an item with exactly this canonical name is available or running
    /// (Quay's `alive`).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn alive(&self, queue: &str, path: &[&str]) -> Result<bool, QueueError>;

    /// Items with retries left whose canonical name starts with `<queue>/<prefix…>`
    /// (Quay's `num_alive_jobs`; no trailing `/` is added to the prefix).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn count_alive(&self, queue: &str, prefix: &[&str]) -> Result<u64, QueueError>;

    /// Items available at `max` whose `available_after` is at or after `min`, under
    /// `<queue>/<prefix…>` (Quay's `num_available_jobs_between`).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn count_available_between(
        &self,
        queue: &str,
        prefix: &[&str],
        min: DateTime<Utc>,
        max: DateTime<Utc>,
    ) -> Result<u64, QueueError>;

    /// The queue's counts now (Quay's `get_metrics`).
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn metrics(&self, queue: &str) -> Result<QueueMetrics, QueueError>;

    /// Whether the item exists and has retries left.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn has_retries_remaining(&self, id: i64) -> Result<bool, QueueError>;

    /// Deletes every item whose canonical name starts with `canonical_name(queue, prefix)`
    /// (Quay's `delete_namespaced_items`); returns how many.
    ///
    /// # Errors
    /// `Backend` when the database fails.
    async fn delete_prefixed(&self, queue: &str, prefix: &[&str]) -> Result<u64, QueueError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names_are_quays() {
        assert_eq!(
            canonical_name("chunk_cleanup", &["segment/local_us/abc"]),
            "chunk_cleanup/segment/local_us/abc/"
        );
        assert_eq!(
            canonical_name("chunk_cleanup", &["segment", "local_us", "abc"]),
            "chunk_cleanup/segment/local_us/abc/"
        );
        assert_eq!(canonical_name("notification", &[]), "notification/");
    }
}
