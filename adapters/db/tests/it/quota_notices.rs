//! Quota notices through namespace notification channels (`FEATURE_QUOTA_NOTIFICATIONS`) on
//! PostgreSQL and SQLite: the channel reads, Quay's `claim_notification` rules on
//! `quotanotificationstate` (new slot, cooldown, cleared slot) with the `notification` queue
//! items written in the same transaction, and `clear_notification`.

use std::time::Duration;

use anyhow::Result;
use chrono::Duration as Span;
use quay_adapter_db::{Stores, connect};
use quay_domain::user::UserId;
use quay_ports::queue::NewQueueItem;
use quay_ports::store::QuotaNoticeClaim;

use crate::quota::at;
use crate::support::{self, Raw, TestPg, TestSqlite};

const ORG: UserId = UserId(2);

/// Three channels of `testorg`: two on `quota_warning` (ids 7 and 5: id order is 5, 7), one on
/// `quota_error`; its quota (1000 bytes, warning at 80 %), and its size (850 bytes).
const SETUP: &str = "
INSERT INTO namespacenotification (id, uuid, namespace_id, event_id, method_id, title, config_json, event_config_json, number_of_failures) VALUES
 (7, 'uuid-hook', 2, (SELECT id FROM externalnotificationevent WHERE name = 'quota_warning'), (SELECT id FROM externalnotificationmethod WHERE name = 'webhook'), NULL, '{}', '{}', 0),
 (5, 'uuid-mail', 2, (SELECT id FROM externalnotificationevent WHERE name = 'quota_warning'), (SELECT id FROM externalnotificationmethod WHERE name = 'email'), NULL, '{}', '{}', 0),
 (9, 'uuid-slack', 2, (SELECT id FROM externalnotificationevent WHERE name = 'quota_error'), (SELECT id FROM externalnotificationmethod WHERE name = 'slack'), NULL, '{}', '{}', 0);
INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES (2, 1000);
INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES
 ((SELECT id FROM userorganizationquota WHERE namespace_id = 2), (SELECT id FROM quotatype WHERE name = 'Warning'), 80);
INSERT INTO quotanamespacesize (namespace_user_id, size_bytes, backfill_start_ms, backfill_complete) VALUES (2, 850, 0, TRUE);
";

fn item(body: &str) -> NewQueueItem {
    NewQueueItem {
        queue: "notification".into(),
        path: vec!["testorg".into(), "quota_warning".into()],
        body: body.into(),
        available_after: Duration::ZERO,
        retries_remaining: 5,
    }
}

fn claim(threshold_percent: i64, after: Span) -> QuotaNoticeClaim {
    QuotaNoticeClaim {
        namespace: ORG,
        threshold_percent,
        now: at() + after,
        cooldown: Duration::from_secs(86_400),
        items: vec![item("{\"n\": 1}"), item("{\"n\": 2}")],
    }
}

async fn scenario(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    let q = &stores.quota;
    // Channels, in id order, by event.
    assert_eq!(
        q.namespace_notification_uuids(ORG, "quota_warning").await?,
        vec!["uuid-mail".to_owned(), "uuid-hook".to_owned()]
    );
    assert_eq!(
        q.namespace_notification_uuids(ORG, "quota_error").await?,
        vec!["uuid-slack".to_owned()]
    );
    assert!(
        q.namespace_notification_uuids(UserId(4), "quota_warning")
            .await?
            .is_empty()
    );
    assert_eq!(q.notified_namespaces().await?, vec![ORG]);
    let usage = q.namespace_usage_of(ORG).await?.expect("testorg");
    assert_eq!(
        (usage.namespace.as_str(), usage.size_bytes),
        ("testorg", 850)
    );
    assert_eq!(usage.quota.map(|q| q.limit_bytes), Some(1000));
    assert!(q.namespace_usage_of(UserId(999)).await?.is_none());

    let items = "SELECT count(*) FROM queueitem WHERE queue_name = 'notification/testorg/quota_warning/' \
                 AND available AND retries_remaining = 5 AND processing_expires IS NULL";
    let slot = |cleared: bool| {
        format!(
            "SELECT count(*) FROM quotanotificationstate WHERE namespace_id = 2 AND threshold_percent = 80 \
             AND cleared = {}",
            if cleared { "TRUE" } else { "FALSE" }
        )
    };

    // A new slot: claimed, both items queued.
    assert!(q.claim_quota_notice(&claim(80, Span::zero())).await?);
    assert_eq!(raw.scalar(items).await?, 2);
    assert_eq!(raw.scalar(&slot(false)).await?, 1);
    assert_eq!(
        raw.scalar("SELECT count(*) FROM queueitem WHERE body = '{\"n\": 2}'")
            .await?,
        1
    );
    // Within the cooldown: refused, nothing written.
    assert!(!q.claim_quota_notice(&claim(80, Span::hours(23))).await?);
    assert_eq!(raw.scalar(items).await?, 2);
    // Another threshold has its own slot.
    assert!(q.claim_quota_notice(&claim(100, Span::hours(1))).await?);
    assert_eq!(raw.scalar(items).await?, 4);
    // Cleared: the next claim wins at once.
    assert!(q.clear_quota_notice(ORG, 80).await?);
    assert!(!q.clear_quota_notice(ORG, 80).await?);
    assert!(!q.clear_quota_notice(ORG, 50).await?);
    assert_eq!(raw.scalar(&slot(true)).await?, 1);
    assert!(q.claim_quota_notice(&claim(80, Span::hours(2))).await?);
    assert_eq!(raw.scalar(&slot(false)).await?, 1);
    assert_eq!(raw.scalar(items).await?, 6);
    // The cooldown counts from the last notice: refused just before, claimed once it is over.
    assert!(
        !q.claim_quota_notice(&claim(80, Span::hours(26) - Span::seconds(1)))
            .await?
    );
    assert!(q.claim_quota_notice(&claim(80, Span::hours(26))).await?);
    assert_eq!(raw.scalar(items).await?, 8);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_notices_postgres() -> Result<()> {
    let pg = TestPg::with_accounts(SETUP).await?;
    let db = connect(support::settings(pg.target())).await?;
    scenario(&db.stores(), &Raw::Pg(&pg)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_notices_sqlite() -> Result<()> {
    let file = TestSqlite::with_accounts(SETUP)?;
    let db = connect(support::settings(file.target())).await?;
    scenario(&db.stores(), &Raw::Sqlite(&file)).await
}
