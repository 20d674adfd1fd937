//! The background workers `quay serve` runs beside the HTTP server, and the queue producers the
//! storage drivers need.
//!
//! - Every location's driver gets Quay's `chunk_cleanup` queue ([`chunk_cleanup_sink`]); only
//!   Swift puts items on it.
//! - The chunk-cleanup worker runs when a location uses `SwiftStorage`, as Quay's
//!   `chunkcleanupworker.py` decides.
//! - The quota backfill worker runs with `FEATURE_QUOTA_MANAGEMENT` and `QUOTA_BACKFILL`, as
//!   Quay's `quotatotalworker.py` decides ([`Workers::with_quota_totals`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quay_adapter_db::Database;
use quay_adapter_storage::DistributedStorage;
use quay_application::quota_notify::QuotaNotifier;
use quay_application::workers::chunk_cleanup::{self, ChunkCleanupJob, ChunkCleanupQueue};
use quay_application::workers::queue_worker::QueueWorker;
use quay_application::workers::quota_totals::{self, QuotaTotals, QuotaTotalsSettings};
use quay_ports::queue::WorkQueue;
use quay_ports::storage::BlobStorage;
use quay_ports::storage::cleanup::ChunkCleanupSink;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SystemClock;
use crate::config::{QuayConfig, RegistryState};

/// How long `stop` waits for a worker to finish its current item.
const STOP_DEADLINE: Duration = Duration::from_secs(30);

/// Quay's work queue on `db`, on the wall clock.
pub fn work_queue(db: &Database) -> Arc<dyn WorkQueue> {
    db.work_queue(Arc::new(SystemClock))
}

/// The `chunk_cleanup` queue as the storage drivers' sink.
pub fn chunk_cleanup_sink(queue: Arc<dyn WorkQueue>) -> Arc<dyn ChunkCleanupSink> {
    Arc::new(ChunkCleanupQueue::new(queue))
}

/// The driver name of every `DISTRIBUTED_STORAGE_CONFIG` location.
fn drivers(config: &QuayConfig) -> Vec<String> {
    config
        .effective
        .get("DISTRIBUTED_STORAGE_CONFIG")
        .and_then(Value::as_object)
        .map(|m| {
            m.values()
                .filter_map(|e| e.get(0).and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Quay's `QUOTA_TOTAL_DELAY_SECONDS`, `QUOTA_BACKFILL_POLL_PERIOD` and
/// `QUOTA_BACKFILL_BATCH_SIZE`, `QUOTA_NOTIFICATION_WORKER_POLL_PERIOD`. A `null` delay means none (Quay sleeps only when the key is not
/// `None`); a poll period under one second is taken as one second.
pub(crate) fn quota_totals_settings(config: &QuayConfig) -> QuotaTotalsSettings {
    let get = |key: &str| config.effective.get(key);
    let defaults = QuotaTotalsSettings::default();
    let start_delay = match get("QUOTA_TOTAL_DELAY_SECONDS") {
        None => defaults.start_delay,
        Some(Value::Null) => Duration::ZERO,
        Some(v) => v.as_u64().map_or(defaults.start_delay, Duration::from_secs),
    };
    let poll_period = get("QUOTA_BACKFILL_POLL_PERIOD")
        .and_then(Value::as_u64)
        .map_or(defaults.poll_period, |s| Duration::from_secs(s.max(1)));
    let batch_size = get("QUOTA_BACKFILL_BATCH_SIZE")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(defaults.batch_size);
    let notice_poll_period = get("QUOTA_NOTIFICATION_WORKER_POLL_PERIOD")
        .and_then(Value::as_u64)
        .map_or(defaults.notice_poll_period, |s| {
            Duration::from_secs(s.max(1))
        });
    QuotaTotalsSettings {
        start_delay,
        poll_period,
        batch_size,
        notice_poll_period,
    }
}

/// Whether the quota backfill worker runs (`FEATURE_QUOTA_MANAGEMENT`, `QUOTA_BACKFILL`
/// default true, not read-only).
pub(crate) fn quota_totals_needed(config: &QuayConfig) -> bool {
    let backfill = config
        .effective
        .get("QUOTA_BACKFILL")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    quota_totals::worker_needed(
        config.features.quota_management,
        backfill,
        config.registry_state == RegistryState::Readonly,
    )
}

/// Running workers.
#[derive(Debug)]
pub struct Workers {
    shutdown: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl Workers {
    /// Starts the workers this configuration needs.
    pub fn start(
        config: &QuayConfig,
        queue: &Arc<dyn WorkQueue>,
        storage: &DistributedStorage,
    ) -> Self {
        let (shutdown, rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let names = drivers(config);
        if chunk_cleanup::worker_needed(names.iter().map(String::as_str)) {
            let locations: BTreeMap<String, Arc<dyn BlobStorage>> = storage
                .location_names()
                .into_iter()
                .filter_map(|n| storage.location(n).map(|s| (n.to_string(), s.clone())))
                .collect();
            let worker = QueueWorker::new(
                queue.clone(),
                Arc::new(ChunkCleanupJob::new(locations)),
                chunk_cleanup::timing(),
            );
            tasks.push(("chunk_cleanup", tokio::spawn(worker.run(rx.clone()))));
        } else {
            tracing::debug!("no SwiftStorage location; the chunk-cleanup worker does not run");
        }
        Self { shutdown, tasks }
    }

    /// Adds Quay's pull-statistics flush worker when `FEATURE_IMAGE_PULL_STATS` is on.
    ///
    /// # Errors
    /// Unusable `PULL_METRICS_REDIS` settings.
    pub fn with_pull_statistics(
        mut self,
        config: &QuayConfig,
        store: Arc<dyn quay_ports::store::PullStatisticsStore>,
    ) -> anyhow::Result<Self> {
        if let Some(worker) = crate::pull_metrics::flush_worker(config, store)? {
            let rx = self.shutdown.subscribe();
            self.tasks
                .push(("pull_stats_flush", tokio::spawn(worker.run(rx))));
        }
        Ok(self)
    }

    /// Adds Quay's quota backfill worker (`quotatotalworker.py`) when
    /// `FEATURE_QUOTA_MANAGEMENT` and `QUOTA_BACKFILL` are on and the registry is not read-only;
    /// with `FEATURE_QUOTA_NOTIFICATIONS` it also checks the notice thresholds.
    #[must_use]
    pub fn with_quota_totals(
        mut self,
        config: &QuayConfig,
        store: Arc<dyn quay_ports::store::QuotaStore>,
    ) -> Self {
        if quota_totals_needed(config) {
            let notifier = QuotaNotifier::new(
                store.clone(),
                Arc::new(SystemClock),
                crate::registry_content::quota_notice_settings(config),
            );
            let worker =
                QuotaTotals::new(store, Arc::new(SystemClock), quota_totals_settings(config))
                    .with_notices(Arc::new(notifier));
            let rx = self.shutdown.subscribe();
            self.tasks
                .push(("quota_totals", tokio::spawn(worker.run(rx))));
        } else {
            tracing::debug!(
                "quota management or QUOTA_BACKFILL off; the quota backfill worker does not run"
            );
        }
        self
    }

    /// Names of the running workers.
    pub fn names(&self) -> Vec<&'static str> {
        self.tasks.iter().map(|(n, _)| *n).collect()
    }

    /// Asks every worker to stop and waits for them (at most 30 s each).
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for (name, task) in self.tasks {
            if tokio::time::timeout(STOP_DEADLINE, task).await.is_err() {
                tracing::warn!(worker.name = name, "worker did not stop in time");
            }
        }
    }
}

#[cfg(test)]
mod tests;
