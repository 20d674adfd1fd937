//! The quota backfill worker (Quay's `workers/quotatotalworker.py`, operation `backfill`):
//! namespaces whose sizes were never computed, or were reset by a push with quota management
//! off (`QUOTA_INVALIDATE_TOTALS`), get their `quotanamespacesize` and `quotarepositorysize`
//! rows from the blobs their manifests reference
//! ([`QuotaBackfillStore::backfill_namespace`](quay_ports::store::QuotaBackfillStore::backfill_namespace)).
//!
//! As in Quay's standalone worker: it runs only with `FEATURE_QUOTA_MANAGEMENT` and
//! `QUOTA_BACKFILL` (default true), not in read-only mode; it waits `QUOTA_TOTAL_DELAY_SECONDS`
//! (default 1800, so that a rolling deployment is over), then 5 s, then runs a pass every
//! `QUOTA_BACKFILL_POLL_PERIOD` (default 15 s) over at most `QUOTA_BACKFILL_BATCH_SIZE`
//! (default 100) namespaces. A failure ends the pass (Quay's operation raises and is logged);
//! the next pass starts over. With `FEATURE_QUOTA_NOTIFICATIONS`, the worker's second operation
//! checks the namespaces' thresholds for their notification channels every
//! `QUOTA_NOTIFICATION_WORKER_POLL_PERIOD` (default 300 s; [`QuotaNotifier::check_namespaces`]).

use std::sync::Arc;
use std::time::Duration;

use quay_ports::clock::Clock;
use quay_ports::store::QuotaBackfillStore;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::quota_notify::QuotaNotifier;

/// Quay's pause between the worker's start and its first pass.
const FIRST_PASS_AFTER: Duration = Duration::from_secs(5);

/// Quay's keys, with Quay's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaTotalsSettings {
    /// `QUOTA_TOTAL_DELAY_SECONDS` (default 1800 s): wait before the first pass.
    pub start_delay: Duration,
    /// `QUOTA_BACKFILL_POLL_PERIOD` (default 15 s): time between passes.
    pub poll_period: Duration,
    /// `QUOTA_BACKFILL_BATCH_SIZE` (default 100): namespaces per pass.
    pub batch_size: usize,
    /// `QUOTA_NOTIFICATION_WORKER_POLL_PERIOD` (default 300 s): time between notice checks.
    pub notice_poll_period: Duration,
}

impl Default for QuotaTotalsSettings {
    fn default() -> Self {
        Self {
            start_delay: Duration::from_secs(1800),
            poll_period: Duration::from_secs(15),
            batch_size: 100,
            notice_poll_period: Duration::from_secs(300),
        }
    }
}

/// Whether Quay runs the worker: `FEATURE_QUOTA_MANAGEMENT`, `QUOTA_BACKFILL`, and not
/// read-only (Quay's `Worker.start`).
#[must_use]
pub fn worker_needed(quota_management: bool, quota_backfill: bool, read_only: bool) -> bool {
    quota_management && quota_backfill && !read_only
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Namespaces backfilled.
    pub namespaces: usize,
    /// Namespace rows written.
    pub namespace_rows: usize,
    /// Repository rows written.
    pub repository_rows: usize,
    /// Whether the pass ended on an error.
    pub failed: bool,
}

/// The backfill worker.
pub struct QuotaTotals {
    store: Arc<dyn QuotaBackfillStore>,
    clock: Arc<dyn Clock>,
    settings: QuotaTotalsSettings,
    notices: Option<Arc<QuotaNotifier>>,
}

impl std::fmt::Debug for QuotaTotals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaTotals")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl QuotaTotals {
    /// A worker on `store`.
    #[must_use]
    pub fn new(
        store: Arc<dyn QuotaBackfillStore>,
        clock: Arc<dyn Clock>,
        settings: QuotaTotalsSettings,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            notices: None,
        }
    }

    /// Adds the notice check operation when `notifier` is enabled (`FEATURE_QUOTA_NOTIFICATIONS`).
    #[must_use]
    pub fn with_notices(mut self, notifier: Arc<QuotaNotifier>) -> Self {
        self.notices = notifier.enabled().then_some(notifier);
        self
    }

    /// One pass (Quay's `QuotaTotalWorker.backfill`).
    pub async fn backfill_once(&self) -> BackfillReport {
        let mut report = BackfillReport::default();
        let namespaces = match self
            .store
            .backfill_candidates(self.settings.batch_size)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "quota backfill: could not list namespaces");
                report.failed = true;
                return report;
            }
        };
        for namespace in namespaces {
            let now_ms = self.clock.now().timestamp_millis();
            match self.store.backfill_namespace(namespace, now_ms).await {
                Ok(outcome) => {
                    report.namespaces += 1;
                    report.namespace_rows += usize::from(outcome.namespace_total.is_some());
                    report.repository_rows += outcome.repositories.len();
                    tracing::info!(
                        quota.namespace_id = namespace.0,
                        quota.namespace_total = outcome.namespace_total,
                        quota.repositories = outcome.repositories.len(),
                        "quota backfill: namespace done"
                    );
                }
                Err(e) => {
                    tracing::error!(quota.namespace_id = namespace.0, error = %e, "quota backfill failed; the pass ends here");
                    report.failed = true;
                    break;
                }
            }
        }
        report
    }

    /// Waits the start delay, then runs a backfill pass every poll period and, with notices, a
    /// notice check every notice poll period, until `shutdown` turns true (or its sender is
    /// dropped).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(
            delay_s = self.settings.start_delay.as_secs(),
            poll_s = self.settings.poll_period.as_secs(),
            batch = self.settings.batch_size,
            notices = self.notices.is_some(),
            "quota backfill worker started"
        );
        let first = Instant::now() + self.settings.start_delay.saturating_add(FIRST_PASS_AFTER);
        let mut next_backfill = first;
        let mut next_check = self.notices.as_ref().map(|_| first);
        loop {
            let due = next_check.map_or(next_backfill, |c| c.min(next_backfill));
            if super::shutdown_before(due, &mut shutdown).await {
                break;
            }
            if Instant::now() >= next_backfill {
                self.backfill_once().await;
                next_backfill = Instant::now() + self.settings.poll_period;
            }
            if let (Some(at), Some(notices)) = (next_check, &self.notices)
                && Instant::now() >= at
            {
                notices.check_namespaces().await;
                next_check = Some(Instant::now() + self.settings.notice_poll_period);
            }
        }
        tracing::info!("quota backfill worker stopped");
    }
}

#[cfg(test)]
mod tests;
