//! The background workers `quay serve` runs beside the HTTP server, and the queue producers the
//! storage drivers need.
//!
//! - Every location's driver gets Quay's `chunk_cleanup` queue ([`chunk_cleanup_sink`]); only
//!   Swift puts items on it.
//! - The chunk-cleanup worker runs when a location uses `SwiftStorage`, as Quay's
//!   `chunkcleanupworker.py` decides.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use quay_adapter_db::Database;
use quay_adapter_storage::DistributedStorage;
use quay_application::workers::chunk_cleanup::{self, ChunkCleanupJob, ChunkCleanupQueue};
use quay_application::workers::queue_worker::QueueWorker;
use quay_ports::queue::WorkQueue;
use quay_ports::storage::BlobStorage;
use quay_ports::storage::cleanup::ChunkCleanupSink;
use serde_json::Value;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::clock::SystemClock;
use crate::config::QuayConfig;

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
