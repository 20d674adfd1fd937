//! The backfill pass and loop against an in-memory store.

use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{
    BackendError, BackendErrorKind, BackfillOutcome, NamespaceUsage, QuotaNoticeClaim,
    QuotaNoticeStore, QuotaStoreError,
};

use super::*;
use crate::registry_auth::fakes::ManualClock;

/// Namespaces waiting for their backfill; `fail_on` fails that namespace's backfill.
#[derive(Default)]
struct Waiting {
    pending: Mutex<Vec<i64>>,
    calls: Mutex<Vec<(i64, i64)>>,
    limits: Mutex<Vec<usize>>,
    fail_on: Option<i64>,
    /// Notice check passes (`notified_namespaces` calls).
    checks: std::sync::atomic::AtomicUsize,
}

fn failure() -> QuotaStoreError {
    QuotaStoreError::Backend(BackendError::new(
        BackendErrorKind::Other,
        "backfill",
        std::io::Error::other("down"),
    ))
}

#[async_trait]
impl QuotaBackfillStore for Waiting {
    async fn backfill_candidates(&self, limit: usize) -> Result<Vec<UserId>, QuotaStoreError> {
        self.limits.lock().expect("lock").push(limit);
        Ok(self
            .pending
            .lock()
            .expect("lock")
            .iter()
            .take(limit)
            .map(|n| UserId(*n))
            .collect())
    }

    async fn backfill_namespace(
        &self,
        namespace: UserId,
        now_ms: i64,
    ) -> Result<BackfillOutcome, QuotaStoreError> {
        self.calls.lock().expect("lock").push((namespace.0, now_ms));
        if self.fail_on == Some(namespace.0) {
            return Err(failure());
        }
        self.pending
            .lock()
            .expect("lock")
            .retain(|n| *n != namespace.0);
        Ok(BackfillOutcome {
            namespace_total: Some(namespace.0 * 10),
            repositories: vec![(RepositoryId(namespace.0 * 100), 1)],
            stopped_at_deleted: false,
        })
    }
}

#[async_trait]
impl QuotaNoticeStore for Waiting {
    async fn namespace_notification_uuids(
        &self,
        _: UserId,
        _: &str,
    ) -> Result<Vec<String>, QuotaStoreError> {
        Ok(Vec::new())
    }

    async fn claim_quota_notice(&self, _: &QuotaNoticeClaim) -> Result<bool, QuotaStoreError> {
        Ok(false)
    }

    async fn clear_quota_notice(&self, _: UserId, _: i64) -> Result<bool, QuotaStoreError> {
        Ok(false)
    }

    async fn notified_namespaces(&self) -> Result<Vec<UserId>, QuotaStoreError> {
        self.checks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Vec::new())
    }

    async fn namespace_usage_of(
        &self,
        _: UserId,
    ) -> Result<Option<NamespaceUsage>, QuotaStoreError> {
        Ok(None)
    }
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .expect("valid time"),
    ))
}

fn worker(store: &Arc<Waiting>, settings: QuotaTotalsSettings) -> QuotaTotals {
    QuotaTotals::new(store.clone(), clock(), settings)
}

#[test]
fn quay_defaults_and_gate() {
    let d = QuotaTotalsSettings::default();
    assert_eq!(d.start_delay, Duration::from_secs(1800));
    assert_eq!(d.poll_period, Duration::from_secs(15));
    assert_eq!(d.batch_size, 100);
    assert_eq!(d.notice_poll_period, Duration::from_secs(300));
    assert!(worker_needed(true, true, false));
    assert!(!worker_needed(false, true, false));
    assert!(!worker_needed(true, false, false));
    assert!(!worker_needed(true, true, true));
}

#[tokio::test]
async fn a_pass_takes_one_batch_in_order() {
    let store = Arc::new(Waiting {
        pending: Mutex::new(vec![3, 5, 8]),
        ..Waiting::default()
    });
    let settings = QuotaTotalsSettings {
        batch_size: 2,
        ..QuotaTotalsSettings::default()
    };
    let w = worker(&store, settings);
    let report = w.backfill_once().await;
    assert_eq!(
        report,
        BackfillReport {
            namespaces: 2,
            namespace_rows: 2,
            repository_rows: 2,
            failed: false,
        }
    );
    let at = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time")
        .timestamp_millis();
    assert_eq!(*store.calls.lock().expect("lock"), vec![(3, at), (5, at)]);
    assert_eq!(*store.limits.lock().expect("lock"), vec![2]);
    // The next pass takes the rest.
    assert_eq!(w.backfill_once().await.namespaces, 1);
    assert!(store.pending.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn a_failure_ends_the_pass() {
    let store = Arc::new(Waiting {
        pending: Mutex::new(vec![1, 2, 3]),
        fail_on: Some(2),
        ..Waiting::default()
    });
    let report = worker(&store, QuotaTotalsSettings::default())
        .backfill_once()
        .await;
    assert!(report.failed);
    assert_eq!(report.namespaces, 1);
    let called: Vec<i64> = store
        .calls
        .lock()
        .expect("lock")
        .iter()
        .map(|c| c.0)
        .collect();
    assert_eq!(called, vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn the_loop_waits_the_delay_then_polls_until_shutdown() {
    let store = Arc::new(Waiting {
        pending: Mutex::new(vec![7]),
        ..Waiting::default()
    });
    let settings = QuotaTotalsSettings {
        start_delay: Duration::from_secs(60),
        poll_period: Duration::from_secs(15),
        batch_size: 10,
        notice_poll_period: Duration::from_secs(100),
    };
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(worker(&store, settings).run(rx));
    // Before the delay and Quay's 5 s: nothing.
    tokio::time::sleep(Duration::from_secs(64)).await;
    assert!(store.limits.lock().expect("lock").is_empty());
    // First pass at 65 s, then every 15 s.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(store.limits.lock().expect("lock").len(), 1);
    assert_eq!(store.calls.lock().expect("lock").len(), 1);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(store.limits.lock().expect("lock").len(), 3);
    // No notices without FEATURE_QUOTA_NOTIFICATIONS.
    assert_eq!(store.checks.load(std::sync::atomic::Ordering::Relaxed), 0);
    tx.send(true).expect("worker listening");
    task.await.expect("worker stops");
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(store.limits.lock().expect("lock").len(), 3);
}

#[tokio::test(start_paused = true)]
async fn with_notices_the_check_runs_on_its_own_period() {
    use crate::quota_notify::{QuotaNoticeSettings, QuotaNotifier};
    use std::sync::atomic::Ordering::Relaxed;
    let store = Arc::new(Waiting::default());
    let settings = QuotaTotalsSettings {
        start_delay: Duration::ZERO,
        poll_period: Duration::from_secs(15),
        batch_size: 10,
        notice_poll_period: Duration::from_secs(100),
    };
    let enabled = QuotaNoticeSettings {
        enabled: true,
        ..QuotaNoticeSettings::default()
    };
    let notifier = Arc::new(QuotaNotifier::new(store.clone(), clock(), enabled));
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(worker(&store, settings).with_notices(notifier).run(rx));
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(store.checks.load(Relaxed), 1);
    assert_eq!(store.limits.lock().expect("lock").len(), 1);
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(store.checks.load(Relaxed), 2);
    // Backfill passes at 5, 20, …, 95 s.
    assert_eq!(store.limits.lock().expect("lock").len(), 7);
    tx.send(true).expect("worker listening");
    task.await.expect("worker stops");

    // A disabled notifier adds no operation.
    let store = Arc::new(Waiting::default());
    let notifier = Arc::new(QuotaNotifier::new(
        store.clone(),
        clock(),
        QuotaNoticeSettings::default(),
    ));
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(worker(&store, settings).with_notices(notifier).run(rx));
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(store.checks.load(Relaxed), 0);
    tx.send(true).expect("worker listening");
    task.await.expect("worker stops");
}
