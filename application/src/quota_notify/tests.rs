//! The notifier against an in-memory store (the claim rules themselves are tested on the
//! databases in `adapters/db/tests/it/quota_notices.rs`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use quay_domain::quota::{NamespaceQuota, QuotaLimit, QuotaSeverity};
use quay_ports::store::NamespaceUsage;

use super::*;
use crate::registry_auth::fakes::ManualClock;

const ORG: UserId = UserId(2);

/// `(last_notified_at, cleared)` per `(namespace, threshold)`.
type Slots = BTreeMap<(i64, i64), (Option<DateTime<Utc>>, bool)>;

#[derive(Default)]
struct Memory {
    channels: Vec<(i64, &'static str, &'static str)>,
    usage: Option<NamespaceUsage>,
    slots: Mutex<Slots>,
    queued: Mutex<Vec<NewQueueItem>>,
}

#[async_trait]
impl QuotaNoticeStore for Memory {
    async fn namespace_notification_uuids(
        &self,
        namespace: UserId,
        event: &str,
    ) -> Result<Vec<String>, QuotaStoreError> {
        Ok(self
            .channels
            .iter()
            .filter(|(n, e, _)| *n == namespace.0 && *e == event)
            .map(|(_, _, u)| (*u).to_owned())
            .collect())
    }

    async fn claim_quota_notice(&self, claim: &QuotaNoticeClaim) -> Result<bool, QuotaStoreError> {
        let mut slots = self.slots.lock().expect("lock");
        let key = (claim.namespace.0, claim.threshold_percent);
        let cooldown = chrono::Duration::from_std(claim.cooldown).expect("cooldown");
        if let Some((Some(last), false)) = slots.get(&key)
            && *last > claim.now - cooldown
        {
            return Ok(false);
        }
        slots.insert(key, (Some(claim.now), false));
        self.queued
            .lock()
            .expect("lock")
            .extend(claim.items.iter().cloned());
        Ok(true)
    }

    async fn clear_quota_notice(
        &self,
        namespace: UserId,
        threshold_percent: i64,
    ) -> Result<bool, QuotaStoreError> {
        let mut slots = self.slots.lock().expect("lock");
        Ok(match slots.get_mut(&(namespace.0, threshold_percent)) {
            Some(slot) if !slot.1 => {
                slot.1 = true;
                true
            }
            _ => false,
        })
    }

    async fn notified_namespaces(&self) -> Result<Vec<UserId>, QuotaStoreError> {
        let mut ids: Vec<i64> = self.channels.iter().map(|c| c.0).collect();
        ids.dedup();
        Ok(ids.into_iter().map(UserId).collect())
    }

    async fn namespace_usage_of(
        &self,
        namespace: UserId,
    ) -> Result<Option<NamespaceUsage>, QuotaStoreError> {
        Ok(self.usage.clone().filter(|u| u.namespace_id == namespace))
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn settings(enabled: bool) -> QuotaNoticeSettings {
    QuotaNoticeSettings {
        enabled,
        base_url: "https://quay.example.com".into(),
        ..QuotaNoticeSettings::default()
    }
}

fn warning_at_80(usage_bytes: i64) -> QuotaCheck {
    QuotaCheck {
        limit_bytes: 800,
        severity: Some(QuotaSeverity::Warning),
        usage_bytes,
        quota_limit_bytes: 1000,
        threshold_percent: Some(80),
    }
}

fn store() -> Memory {
    Memory {
        channels: vec![
            (2, "quota_warning", "uuid-mail"),
            (2, "quota_warning", "uuid-hook"),
            (2, "quota_error", "uuid-slack"),
        ],
        usage: Some(NamespaceUsage {
            namespace_id: ORG,
            namespace: "testorg".into(),
            size_bytes: 850,
            upload_bytes: 0,
            quota: Some(NamespaceQuota {
                limit_bytes: 1000,
                limits: vec![
                    QuotaLimit {
                        percent_of_limit: 80,
                        severity: QuotaSeverity::Warning,
                    },
                    QuotaLimit {
                        percent_of_limit: 100,
                        severity: QuotaSeverity::Reject,
                    },
                ],
            }),
        }),
        ..Memory::default()
    }
}

fn admin() -> Performer {
    Performer {
        id: 1,
        username: "admin".into(),
    }
}

#[tokio::test]
async fn off_or_without_a_channel_nothing_is_sent() {
    let asked = AtomicUsize::new(0);
    let ask = || async {
        asked.fetch_add(1, Ordering::Relaxed);
        Some(admin())
    };
    let memory = Arc::new(store());
    let clock = Arc::new(ManualClock::new(t0()));
    let off = QuotaNotifier::new(memory.clone(), clock.clone(), settings(false));
    assert!(!off.trigger(ORG, "testorg", &warning_at_80(850), ask).await);
    let on = QuotaNotifier::new(memory.clone(), clock, settings(true));
    // user1 (4) has no channel.
    assert!(
        !on.trigger(UserId(4), "user1", &warning_at_80(850), ask)
            .await
    );
    // Below every threshold: nothing to send.
    let below = QuotaCheck {
        severity: None,
        threshold_percent: None,
        ..warning_at_80(10)
    };
    assert!(!on.trigger(ORG, "testorg", &below, ask).await);
    assert_eq!(asked.load(Ordering::Relaxed), 0);
    assert!(memory.queued.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn one_item_per_channel_then_the_cooldown() {
    let memory = Arc::new(store());
    let clock = Arc::new(ManualClock::new(t0()));
    let on = QuotaNotifier::new(memory.clone(), clock.clone(), settings(true));
    assert!(
        on.trigger(ORG, "testorg", &warning_at_80(850), || async {
            Some(admin())
        })
        .await
    );
    {
        let queued = memory.queued.lock().expect("lock");
        assert_eq!(queued.len(), 2);
        assert!(queued.iter().all(|i| i.queue == "notification"
            && i.path == ["testorg", "quota_warning"]
            && i.retries_remaining == 5
            && i.available_after == Duration::ZERO));
        assert!(queued[0].body.starts_with(
            "{\"notification_uuid\": \"uuid-mail\", \"event_data\": {\"namespace\": \"testorg\", \
             \"homepage\": \"https://quay.example.com/organization/testorg\", \"threshold_percent\": 80, \
             \"usage_bytes\": 850, \"limit_bytes\": 1000, \"usage_percent\": 85,"
        ));
        assert!(
            queued[1]
                .body
                .contains("\"performer_data\": {\"entity_id\": 1, \"entity_name\": \"admin\"}")
        );
    }
    // Within the cooldown: not again.
    clock.advance(chrono::Duration::hours(23));
    assert!(
        !on.trigger(ORG, "testorg", &warning_at_80(900), || async { None })
            .await
    );
    // After it: again.
    clock.advance(chrono::Duration::hours(1));
    assert!(
        on.trigger(ORG, "testorg", &warning_at_80(900), || async { None })
            .await
    );
    assert_eq!(memory.queued.lock().expect("lock").len(), 4);
}

#[tokio::test]
async fn the_worker_check_sends_reached_thresholds_and_clears_the_others() {
    let memory = Arc::new(store());
    memory
        .slots
        .lock()
        .expect("lock")
        .insert((2, 100), (Some(t0()), false));
    let on = QuotaNotifier::new(
        memory.clone(),
        Arc::new(ManualClock::new(t0())),
        settings(true),
    );
    let report = on.check_namespaces().await;
    assert_eq!(
        report,
        NoticeCheckReport {
            namespaces: 1,
            queued: 1,
            cleared: 1,
            failed: 0,
        }
    );
    {
        let queued = memory.queued.lock().expect("lock");
        assert_eq!(queued.len(), 2);
        // The worker has no performer.
        assert!(queued[0].body.contains("\"performer_data\": {}, "));
    }
    assert_eq!(
        memory.slots.lock().expect("lock").get(&(2, 100)),
        Some(&(Some(t0()), true))
    );
    // Off: the check does nothing.
    let off = QuotaNotifier::new(
        memory.clone(),
        Arc::new(ManualClock::new(t0())),
        settings(false),
    );
    assert_eq!(off.check_namespaces().await, NoticeCheckReport::default());
}
