//! The pull-metrics port: Quay's `FEATURE_IMAGE_PULL_STATS` counters, kept in Redis
//! (`PULL_METRICS_REDIS`) by the `/v2` manifest pulls and flushed into `tagpullstatistics` and
//! `manifestpullstatistics` by a worker.
//!
//! Keys and values (Quay's `util/pullmetrics.py`), hashes without expiry:
//! - a pull by tag: `pull_events:repo:<repository id>:tag:<tag>:<manifest digest>` with fields
//!   `repository_id`, `tag_name`, `manifest_digest`, `pull_count`, `last_pull_timestamp` (Unix
//!   seconds) and `pull_method` = `tag`;
//! - a pull by digest: `pull_events:repo:<repository id>:digest:<manifest digest>` with the same
//!   fields, `tag_name` empty and `pull_method` = `digest`.
//!
//! The first pull writes every field with `pull_count` 1; later pulls add one to `pull_count`
//! and overwrite `last_pull_timestamp`, atomically.
//!
//! [`PullCounters`] is the flush worker's side: it claims a counter by renaming it to
//! `<key>:processing:<ms>:<8 hex>` (new pulls then start a new counter), reads it, and deletes
//! the claimed key once the database has the counts.

/// One manifest pull to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PullEvent {
    /// `GET /v2/<name>/manifests/<tag>`: the tag and the digest of the manifest served.
    Tag {
        /// `repository.id`.
        repository_id: i64,
        /// The tag pulled.
        tag: String,
        /// The digest of the manifest served.
        manifest_digest: String,
        /// Unix seconds.
        timestamp_s: i64,
    },
    /// `GET /v2/<name>/manifests/<digest>`.
    Digest {
        /// `repository.id`.
        repository_id: i64,
        /// The digest requested.
        manifest_digest: String,
        /// Unix seconds.
        timestamp_s: i64,
    },
}

impl PullEvent {
    /// The Redis key of the counter this event increments.
    pub fn key(&self) -> String {
        match self {
            Self::Tag {
                repository_id,
                tag,
                manifest_digest,
                ..
            } => format!("pull_events:repo:{repository_id}:tag:{tag}:{manifest_digest}"),
            Self::Digest {
                repository_id,
                manifest_digest,
                ..
            } => format!("pull_events:repo:{repository_id}:digest:{manifest_digest}"),
        }
    }
}

/// Why the counter store failed.
#[derive(Debug, thiserror::Error)]
pub enum PullCountersError {
    /// Redis is unreachable, timed out or refused the command.
    #[error("pull counters: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// The counters as the flush worker sees them.
#[async_trait::async_trait]
pub trait PullCounters: Send + Sync {
    /// Up to `limit` distinct keys matching `pull_events:*` (claimed `:processing:` ones
    /// included), in no particular order.
    ///
    /// # Errors
    /// [`PullCountersError::Backend`].
    async fn scan(&self, limit: usize) -> Result<Vec<String>, PullCountersError>;

    /// Renames `key` to `to` atomically; `false` when `key` no longer exists.
    ///
    /// # Errors
    /// [`PullCountersError::Backend`] (any other refusal).
    async fn claim(&self, key: &str, to: &str) -> Result<bool, PullCountersError>;

    /// The fields of the hash at `key` (empty when missing).
    ///
    /// # Errors
    /// [`PullCountersError::Backend`].
    async fn read(&self, key: &str) -> Result<Vec<(String, String)>, PullCountersError>;

    /// Deletes `keys`; returns how many existed.
    ///
    /// # Errors
    /// [`PullCountersError::Backend`].
    async fn delete(&self, keys: &[String]) -> Result<u64, PullCountersError>;
}

/// Records pulls. Quay counts pulls off the request path (a thread pool), and a failure only
/// logs a warning: implementations must return at once and never fail the pull.
pub trait PullMetrics: Send + Sync {
    /// Queues `event` to be counted; drops it (with a warning) when the backend is unreachable
    /// or its queue is full.
    fn record(&self, event: PullEvent);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_quays() {
        let tag = PullEvent::Tag {
            repository_id: 7,
            tag: "latest".into(),
            manifest_digest: "sha256:ab".into(),
            timestamp_s: 1,
        };
        assert_eq!(tag.key(), "pull_events:repo:7:tag:latest:sha256:ab");
        let digest = PullEvent::Digest {
            repository_id: 7,
            manifest_digest: "sha256:ab".into(),
            timestamp_s: 1,
        };
        assert_eq!(digest.key(), "pull_events:repo:7:digest:sha256:ab");
    }
}
