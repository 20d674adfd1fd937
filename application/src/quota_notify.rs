//! Quota notices through namespace notification channels, `FEATURE_QUOTA_NOTIFICATIONS`
//! (Quay's `data/model/namespacequota.py` `maybe_trigger_quota_notification` and the
//! `_check_quotas` operation of `workers/quotatotalworker.py`).
//!
//! - [`QuotaNotifier::trigger`] (blob upload checks that reach a `Warning` or `Reject`
//!   threshold, and the worker check): with the flag on and a channel
//!   (`namespacenotification`) for the event (`quota_warning` / `quota_error`), claims the
//!   namespace's slot for the threshold (at most one notice per `QUOTA_NOTIFICATION_COOLDOWN_SECONDS`
//!   until it is cleared) and puts one `notification` queue item per channel. Never fails:
//!   errors are logged, as Quay's.
//! - [`QuotaNotifier::check_namespaces`] (every `QUOTA_NOTIFICATION_WORKER_POLL_PERIOD`): for
//!   each namespace with a channel and a quota, every threshold reached is triggered (no
//!   performer) and every threshold no longer reached has its slot cleared.
//!
//! These notices are independent of the `notification` rows written to the namespace's
//! administrators (`notify_organization_admins`), which Quay writes whatever the flag.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use quay_domain::quota::namespace_notice::{
    Performer, QuotaEventData, namespace_event, queue_body,
};
use quay_domain::quota::{QuotaCheck, bytes_allowed};
use quay_domain::user::UserId;
use quay_ports::clock::Clock;
use quay_ports::queue::NewQueueItem;
use quay_ports::store::{QuotaNoticeClaim, QuotaNoticeStore, QuotaStoreError};

/// Quay's default `QUOTA_NOTIFICATION_COOLDOWN_SECONDS`.
const DEFAULT_COOLDOWN: Duration = Duration::from_secs(86_400);
/// Quay's `WorkQueue.put` default.
const QUEUE_RETRIES: u32 = 5;

/// Quay's keys for the notices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaNoticeSettings {
    /// `FEATURE_QUOTA_NOTIFICATIONS` (default false).
    pub enabled: bool,
    /// `QUOTA_NOTIFICATION_COOLDOWN_SECONDS` (default 86400).
    pub cooldown: Duration,
    /// `<PREFERRED_URL_SCHEME>://<SERVER_HOSTNAME>` (the notice's `homepage`; Quay's defaults
    /// give `http://localhost:5000`).
    pub base_url: String,
    /// `NOTIFICATION_QUEUE_NAME` (default `notification`).
    pub queue: String,
}

impl Default for QuotaNoticeSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            cooldown: DEFAULT_COOLDOWN,
            base_url: "http://localhost:5000".to_owned(),
            queue: "notification".to_owned(),
        }
    }
}

/// What [`QuotaNotifier::check_namespaces`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticeCheckReport {
    /// Namespaces looked at.
    pub namespaces: usize,
    /// Notices put on the queue (claims won).
    pub queued: usize,
    /// Slots cleared.
    pub cleared: usize,
    /// Namespaces whose check failed (logged).
    pub failed: usize,
}

/// Sends quota notices to namespace notification channels.
pub struct QuotaNotifier {
    store: Arc<dyn QuotaNoticeStore>,
    clock: Arc<dyn Clock>,
    settings: QuotaNoticeSettings,
}

impl std::fmt::Debug for QuotaNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuotaNotifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl QuotaNotifier {
    /// A notifier on `store`.
    #[must_use]
    pub fn new(
        store: Arc<dyn QuotaNoticeStore>,
        clock: Arc<dyn Clock>,
        settings: QuotaNoticeSettings,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
        }
    }

    /// Whether `FEATURE_QUOTA_NOTIFICATIONS` is on.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// Quay's `maybe_trigger_quota_notification` for `check` on a namespace; `performer` is
    /// asked only when a channel exists. `true` when notices were queued; failures are logged.
    pub async fn trigger<F, Fut>(
        &self,
        namespace: UserId,
        namespace_name: &str,
        check: &QuotaCheck,
        performer: F,
    ) -> bool
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Option<Performer>> + Send,
    {
        match self
            .try_trigger(namespace, namespace_name, check, performer)
            .await
        {
            Ok(queued) => queued,
            Err(e) => {
                tracing::error!(repo.namespace = namespace_name, error = %e, "could not trigger a quota notification");
                false
            }
        }
    }

    async fn try_trigger<F, Fut>(
        &self,
        namespace: UserId,
        namespace_name: &str,
        check: &QuotaCheck,
        performer: F,
    ) -> Result<bool, QuotaStoreError>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = Option<Performer>> + Send,
    {
        if !self.settings.enabled {
            return Ok(false);
        }
        let Some((event, threshold_percent)) = namespace_event(check) else {
            return Ok(false);
        };
        let channels = self
            .store
            .namespace_notification_uuids(namespace, event)
            .await?;
        if channels.is_empty() {
            return Ok(false);
        }
        let performer = performer().await;
        let data = QuotaEventData {
            namespace: namespace_name.to_owned(),
            base_url: self.settings.base_url.clone(),
            threshold_percent,
            usage_bytes: check.usage_bytes,
            limit_bytes: check.quota_limit_bytes,
        };
        let items = channels
            .iter()
            .map(|uuid| NewQueueItem {
                queue: self.settings.queue.clone(),
                path: vec![namespace_name.to_owned(), event.to_owned()],
                body: queue_body(uuid, &data, performer.as_ref()),
                available_after: Duration::ZERO,
                retries_remaining: QUEUE_RETRIES,
            })
            .collect();
        let claimed = self
            .store
            .claim_quota_notice(&QuotaNoticeClaim {
                namespace,
                threshold_percent,
                now: self.clock.now(),
                cooldown: self.settings.cooldown,
                items,
            })
            .await?;
        if claimed {
            tracing::info!(
                repo.namespace = namespace_name,
                quota.event = event,
                quota.threshold_percent = threshold_percent,
                quota.channels = channels.len(),
                "quota notification triggered"
            );
        }
        Ok(claimed)
    }

    /// Quay's `QuotaTotalWorker._check_quotas`: one pass over the namespaces with a channel.
    pub async fn check_namespaces(&self) -> NoticeCheckReport {
        let mut report = NoticeCheckReport::default();
        if !self.settings.enabled {
            return report;
        }
        let namespaces = match self.store.notified_namespaces().await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "quota notifications: could not list namespaces");
                report.failed += 1;
                return report;
            }
        };
        for namespace in namespaces {
            report.namespaces += 1;
            if let Err(e) = self.check_namespace(namespace, &mut report).await {
                tracing::error!(quota.namespace_id = namespace.0, error = %e, "error checking quota notifications");
                report.failed += 1;
            }
        }
        report
    }

    async fn check_namespace(
        &self,
        namespace: UserId,
        report: &mut NoticeCheckReport,
    ) -> Result<(), QuotaStoreError> {
        let Some(usage) = self.store.namespace_usage_of(namespace).await? else {
            return Ok(());
        };
        let Some(quota) = &usage.quota else {
            return Ok(());
        };
        for limit in &quota.limits {
            let allowed = bytes_allowed(quota.limit_bytes, limit.percent_of_limit);
            if usage.size_bytes >= allowed {
                let check = QuotaCheck {
                    limit_bytes: allowed,
                    severity: Some(limit.severity.clone()),
                    usage_bytes: usage.size_bytes,
                    quota_limit_bytes: quota.limit_bytes,
                    threshold_percent: Some(limit.percent_of_limit),
                };
                if self
                    .trigger(namespace, &usage.namespace, &check, || async { None })
                    .await
                {
                    report.queued += 1;
                }
            } else if self
                .store
                .clear_quota_notice(namespace, limit.percent_of_limit)
                .await?
            {
                tracing::info!(
                    repo.namespace = %usage.namespace,
                    quota.threshold_percent = limit.percent_of_limit,
                    "cleared quota notification state"
                );
                report.cleared += 1;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
