//! The pull-statistics flush (Quay's `workers/pullstatsredisflushworker.py`): every
//! `REDIS_FLUSH_INTERVAL_SECONDS` the Redis pull counters are claimed, aggregated and added to
//! `tagpullstatistics` and `manifestpullstatistics`.
//!
//! One pass, in Quay's order:
//! 1. up to `REDIS_FLUSH_WORKER_BATCH_SIZE` keys matching `pull_events:*`; counters claimed by an
//!    earlier pass that did not finish (`…:processing:…`) are taken again;
//! 2. each fresh counter is claimed by renaming it to `<key>:processing:<ms>:<8 hex>` (new pulls
//!    start a new counter), then read;
//! 3. an empty, malformed (missing field, non-integer, repository id ≤ 0, negative count or time,
//!    bad digest) or zero-count counter is deleted at once;
//! 4. counts are summed per manifest (tag and digest pulls alike) and per tag (tag pulls), each
//!    keeping its latest time (and, for a tag, the digest of that latest pull);
//! 5. the tag rows, then the manifest rows, are upserted; only when that succeeds are the
//!    claimed counters deleted, so a failed write is retried by a later pass.
//!
//! Difference kept on purpose: a counter whose `last_pull_timestamp` is 0 (never written by
//! Quay's or quay-rs's script) is discarded as malformed; Quay would fail the whole pass on it
//! forever.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use quay_ports::clock::Clock;
use quay_ports::crypto::SecureRandom;
use quay_ports::pull_metrics::PullCounters;
use quay_ports::store::{ManifestPullUpdate, PullStatisticsStore, TagPullUpdate};
use tokio::sync::watch;

/// Quay's defaults: `REDIS_FLUSH_INTERVAL_SECONDS` and `REDIS_FLUSH_WORKER_BATCH_SIZE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushSettings {
    /// Time between passes (default 300 s).
    pub interval: Duration,
    /// Keys read per pass (default 1000).
    pub batch_size: usize,
}

impl Default for FlushSettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(300),
            batch_size: 1000,
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Tag rows written.
    pub tags: u64,
    /// Manifest rows written.
    pub manifests: u64,
    /// Claimed counters deleted after the write.
    pub flushed_keys: usize,
    /// Counters deleted as empty, malformed or zero.
    pub discarded_keys: usize,
    /// Whether the database write failed (the claimed counters are kept for the next pass).
    pub write_failed: bool,
}

/// The flush worker.
pub struct PullStatsFlush {
    counters: Arc<dyn PullCounters>,
    store: Arc<dyn PullStatisticsStore>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn SecureRandom>,
    settings: FlushSettings,
}

impl std::fmt::Debug for PullStatsFlush {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullStatsFlush")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// One valid counter.
struct Counter {
    repository_id: i64,
    tag_name: String,
    manifest_digest: String,
    pull_count: i64,
    last_pull: DateTime<Utc>,
    by_tag: bool,
}

/// Quay's `Digest.parse_digest`: `<algorithm>:<hex>`.
fn is_digest(s: &str) -> bool {
    let Some((algorithm, hex)) = s.split_once(':') else {
        return false;
    };
    !algorithm.is_empty()
        && algorithm
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+.-".contains(c))
        && !hex.is_empty()
        && hex.chars().all(|c| c.is_ascii_hexdigit())
}

/// Quay's `_validate_redis_key_data` plus the zero checks; `None` means discard.
fn parse(fields: &[(String, String)]) -> Option<Counter> {
    let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.as_str());
    let int = |k: &str| get(k)?.trim().parse::<i64>().ok();
    let repository_id = int("repository_id")?;
    let pull_count = int("pull_count")?;
    let timestamp = int("last_pull_timestamp")?;
    let manifest_digest = get("manifest_digest")?;
    if repository_id <= 0 || pull_count <= 0 || timestamp <= 0 || !is_digest(manifest_digest) {
        return None;
    }
    Some(Counter {
        repository_id,
        tag_name: get("tag_name").unwrap_or_default().to_owned(),
        manifest_digest: manifest_digest.to_owned(),
        pull_count,
        last_pull: DateTime::from_timestamp(timestamp, 0)?,
        by_tag: get("pull_method") == Some("tag"),
    })
}

/// Sums counters per manifest and per tag (Quay's `_process_redis_events`).
fn aggregate(counters: &[Counter]) -> (Vec<TagPullUpdate>, Vec<ManifestPullUpdate>) {
    let mut manifests: BTreeMap<(i64, &str), ManifestPullUpdate> = BTreeMap::new();
    let mut tags: BTreeMap<(i64, &str), TagPullUpdate> = BTreeMap::new();
    for c in counters {
        manifests
            .entry((c.repository_id, c.manifest_digest.as_str()))
            .and_modify(|m| {
                m.pull_count += c.pull_count;
                m.last_pull = m.last_pull.max(c.last_pull);
            })
            .or_insert_with(|| ManifestPullUpdate {
                repository_id: c.repository_id,
                manifest_digest: c.manifest_digest.clone(),
                pull_count: c.pull_count,
                last_pull: c.last_pull,
            });
        if c.by_tag && !c.tag_name.is_empty() {
            tags.entry((c.repository_id, c.tag_name.as_str()))
                .and_modify(|t| {
                    t.pull_count += c.pull_count;
                    if c.last_pull > t.last_pull {
                        t.last_pull = c.last_pull;
                        t.manifest_digest.clone_from(&c.manifest_digest);
                    }
                })
                .or_insert_with(|| TagPullUpdate {
                    repository_id: c.repository_id,
                    tag_name: c.tag_name.clone(),
                    manifest_digest: c.manifest_digest.clone(),
                    pull_count: c.pull_count,
                    last_pull: c.last_pull,
                });
        }
    }
    (
        tags.into_values().collect(),
        manifests.into_values().collect(),
    )
}

impl PullStatsFlush {
    /// A worker over the counters and the statistics tables.
    pub fn new(
        counters: Arc<dyn PullCounters>,
        store: Arc<dyn PullStatisticsStore>,
        clock: Arc<dyn Clock>,
        random: Arc<dyn SecureRandom>,
        settings: FlushSettings,
    ) -> Self {
        Self {
            counters,
            store,
            clock,
            random,
            settings,
        }
    }

    fn processing_key(&self, key: &str) -> String {
        let mut b = [0u8; 4];
        if self.random.fill(&mut b).is_err() {
            tracing::warn!("no randomness for a processing key; using zeros");
        }
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!(
            "{key}:processing:{}:{hex}",
            self.clock.now().timestamp_millis()
        )
    }

    async fn discard(&self, key: &str, report: &mut FlushReport) {
        match self.counters.delete(&[key.to_owned()]).await {
            Ok(_) => report.discarded_keys += 1,
            Err(e) => tracing::warn!(error = %e, pull.key = key, "could not delete a counter"),
        }
    }

    /// Claims and reads one counter; `None` when it vanished or Redis failed.
    async fn claim(&self, key: &str) -> Option<(String, Vec<(String, String)>)> {
        let processing = if key.contains(":processing:") {
            key.to_owned()
        } else {
            let to = self.processing_key(key);
            match self.counters.claim(key, &to).await {
                Ok(true) => to,
                Ok(false) => return None,
                Err(e) => {
                    tracing::warn!(error = %e, pull.key = key, "could not claim a counter");
                    return None;
                }
            }
        };
        match self.counters.read(&processing).await {
            Ok(fields) => Some((processing, fields)),
            Err(e) => {
                tracing::warn!(error = %e, pull.key = key, "could not read a counter");
                None
            }
        }
    }

    /// One pass.
    pub async fn flush_once(&self) -> FlushReport {
        let mut report = FlushReport::default();
        let keys = match self.counters.scan(self.settings.batch_size).await {
            Ok(k) => k,
            Err(e) => {
                tracing::warn!(error = %e, "pull statistics flush: cannot list the counters");
                return report;
            }
        };
        let (orphans, fresh): (Vec<String>, Vec<String>) =
            keys.into_iter().partition(|k| k.contains(":processing:"));
        let mut counters = Vec::new();
        let mut claimed = Vec::new();
        for key in fresh.iter().chain(&orphans) {
            if !key.starts_with("pull_events:") {
                continue;
            }
            let Some((processing, fields)) = self.claim(key).await else {
                continue;
            };
            match parse(&fields) {
                Some(c) => {
                    counters.push(c);
                    claimed.push(processing);
                }
                None => self.discard(&processing, &mut report).await,
            }
        }
        if claimed.is_empty() {
            return report;
        }
        let (tags, manifests) = aggregate(&counters);
        let written = async {
            let t = self.store.upsert_tag_statistics(&tags).await?;
            let m = self.store.upsert_manifest_statistics(&manifests).await?;
            Ok::<_, quay_ports::store::PullStatisticsStoreError>((t, m))
        }
        .await;
        match written {
            Ok((t, m)) => {
                report.tags = t;
                report.manifests = m;
                match self.counters.delete(&claimed).await {
                    Ok(_) => report.flushed_keys = claimed.len(),
                    Err(e) => tracing::warn!(error = %e, "could not delete flushed counters"),
                }
                tracing::info!(
                    pull.tags = t,
                    pull.manifests = m,
                    pull.keys = claimed.len(),
                    "pull statistics flushed"
                );
            }
            Err(e) => {
                report.write_failed = true;
                tracing::warn!(error = %e, pull.keys = claimed.len(), "pull statistics flush failed; the counters are kept for the next pass");
            }
        }
        report
    }

    /// Runs a pass every interval until `shutdown` turns true (or its sender is dropped).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(
            interval_s = self.settings.interval.as_secs(),
            "pull statistics flush worker started"
        );
        loop {
            let next = tokio::time::Instant::now() + self.settings.interval;
            if super::shutdown_before(next, &mut shutdown).await {
                break;
            }
            self.flush_once().await;
        }
        tracing::info!("pull statistics flush worker stopped");
    }
}

#[cfg(test)]
mod tests;
