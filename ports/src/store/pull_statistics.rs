//! The pull-statistics store: Quay's `tagpullstatistics` and `manifestpullstatistics`
//! (migration 7078c84d14e8), filled by the flush worker from the Redis counters
//! (`data/model/pull_statistics.py`).
//!
//! Each upsert is one transaction: a row that exists gets the count added
//! (`count = count + n`, atomic against a concurrent flush), its date moved forward only
//! (`CASE WHEN date < new THEN new ELSE date END`) and, for tags, `current_manifest_digest`
//! replaced; a missing row is inserted. A failure writes nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::BackendError;

/// Errors of [`PullStatisticsStore`].
#[derive(Debug, thiserror::Error)]
pub enum PullStatisticsStoreError {
    /// The database failed (a repository deleted meanwhile fails its foreign key).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// New pulls of one tag since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPullUpdate {
    /// `repository_id`.
    pub repository_id: i64,
    /// `tag_name`.
    pub tag_name: String,
    /// The digest served by the latest pull (`current_manifest_digest`).
    pub manifest_digest: String,
    /// Pulls to add.
    pub pull_count: i64,
    /// The latest pull (`last_tag_pull_date`).
    pub last_pull: DateTime<Utc>,
}

/// New pulls of one manifest since the last flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPullUpdate {
    /// `repository_id`.
    pub repository_id: i64,
    /// `manifest_digest`.
    pub manifest_digest: String,
    /// Pulls to add.
    pub pull_count: i64,
    /// The latest pull (`last_manifest_pull_date`).
    pub last_pull: DateTime<Utc>,
}

/// Flushed pull statistics.
#[async_trait]
pub trait PullStatisticsStore: Send + Sync {
    /// Upserts the tag rows in one transaction; returns the rows written.
    ///
    /// # Errors
    /// `Backend` (nothing written).
    async fn upsert_tag_statistics(
        &self,
        updates: &[TagPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError>;

    /// Upserts the manifest rows in one transaction; returns the rows written.
    ///
    /// # Errors
    /// `Backend` (nothing written).
    async fn upsert_manifest_statistics(
        &self,
        updates: &[ManifestPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError>;
}
