//! Quota notices through namespace notification channels (`FEATURE_QUOTA_NOTIFICATIONS`):
//! Quay's `data/model/quota_notification_state.py` (`claim_notification`,
//! `clear_notification`), `notification.list_namespace_notifications` and the `notification`
//! queue items of `spawn_namespace_notification`.
//!
//! The claim and the queue items are written in one transaction: a claim whose items cannot be
//! written leaves nothing behind (Quay deletes the slot afterwards with `release_claim`). A
//! claim lost to a concurrent one (a unique-key conflict, or a slot changed since it was read)
//! writes nothing and answers `false`, as Quay's.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::user::UserId;
use quay_ports::store::{
    BackendError, BackendErrorKind, NamespaceUsage, QuotaNoticeClaim, QuotaStoreError,
};

use super::schema::{
    externalnotificationevent as ev, namespacenotification as nn, quotanotificationstate as qs,
};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;
use crate::stores::queue::{QueueRow, insert_queue_row};
use crate::stores::{minus, naive};

/// See [`quay_ports::store::QuotaNoticeStore::namespace_notification_uuids`].
pub(crate) async fn channel_uuids(
    db: &Database,
    ns: i32,
    event: &str,
) -> Result<Vec<String>, QuotaStoreError> {
    let mut conn = db.conn(Route::Primary).await?;
    db_run!(conn, |c| {
        nn::table
            .inner_join(ev::table)
            .filter(nn::namespace_id.eq(ns))
            .filter(ev::name.eq(event))
            .select(nn::uuid)
            .order(nn::id.asc())
            .load(c)
            .await
    })
    .map_err(|e| QuotaStoreError::Backend(backend("listing namespace notifications", e)))
}

/// See [`quay_ports::store::QuotaNoticeStore::claim_quota_notice`].
pub(crate) async fn claim(
    db: &Database,
    ns: i32,
    notice: &QuotaNoticeClaim,
) -> Result<bool, QuotaStoreError> {
    let threshold = i32::try_from(notice.threshold_percent).unwrap_or(i32::MAX);
    let now = naive(notice.now);
    let cutoff = minus(now, notice.cooldown);
    let items = notice
        .items
        .iter()
        .map(|item| QueueRow::new(item, now))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|name| {
            QuotaStoreError::Backend(BackendError::msg(
                BackendErrorKind::Other,
                format!("quota notice queue name over 1024 characters: {name}"),
            ))
        })?;
    let mut conn = db.conn(Route::Primary).await?;
    let result: Result<bool, diesel::result::Error> = db_write!(conn, |c| {
        let state: Option<(i32, Option<NaiveDateTime>, bool)> = qs::table
            .filter(qs::namespace_id.eq(ns))
            .filter(qs::threshold_percent.eq(threshold))
            .select((qs::id, qs::last_notified_at, qs::cleared))
            .first(c)
            .await
            .optional()?;
        let claimed = match state {
            None => {
                diesel::insert_into(qs::table)
                    .values((
                        qs::namespace_id.eq(ns),
                        qs::threshold_percent.eq(threshold),
                        qs::last_notified_at.eq(Some(now)),
                        qs::cleared.eq(false),
                    ))
                    .on_conflict_do_nothing()
                    .execute(c)
                    .await?
                    == 1
            }
            Some((_, Some(last), false)) if last > cutoff => false,
            Some((id, last, cleared)) => {
                let target = qs::table
                    .filter(qs::id.eq(id))
                    .filter(qs::cleared.eq(cleared));
                let update = (qs::last_notified_at.eq(Some(now)), qs::cleared.eq(false));
                let n = match last {
                    Some(last) => {
                        diesel::update(target.filter(qs::last_notified_at.eq(last)))
                            .set(update)
                            .execute(c)
                            .await?
                    }
                    None => {
                        diesel::update(target.filter(qs::last_notified_at.is_null()))
                            .set(update)
                            .execute(c)
                            .await?
                    }
                };
                n == 1
            }
        };
        if claimed {
            for row in &items {
                insert_queue_row!(c, row)?;
            }
        }
        Ok(claimed)
    });
    result.map_err(|e| QuotaStoreError::Backend(backend("claiming a quota notice", e)))
}

/// See [`quay_ports::store::QuotaNoticeStore::clear_quota_notice`].
pub(crate) async fn clear(db: &Database, ns: i32, threshold: i64) -> Result<bool, QuotaStoreError> {
    let threshold = i32::try_from(threshold).unwrap_or(i32::MAX);
    let mut conn = db.conn(Route::Primary).await?;
    let changed: Result<usize, diesel::result::Error> = db_write!(conn, |c| {
        let was_set: usize = diesel::update(
            qs::table
                .filter(qs::namespace_id.eq(ns))
                .filter(qs::threshold_percent.eq(threshold))
                .filter(qs::cleared.eq(false)),
        )
        .set(qs::cleared.eq(true))
        .execute(c)
        .await?;
        Ok(was_set)
    });
    changed
        .map(|n| n > 0)
        .map_err(|e| QuotaStoreError::Backend(backend("clearing a quota notice", e)))
}

/// See [`quay_ports::store::QuotaNoticeStore::notified_namespaces`].
pub(crate) async fn notified_namespaces(db: &Database) -> Result<Vec<UserId>, QuotaStoreError> {
    let mut conn = db.conn(Route::Primary).await?;
    let ids: Vec<i32> = db_run!(conn, |c| {
        nn::table
            .select(nn::namespace_id)
            .distinct()
            .order(nn::namespace_id.asc())
            .load(c)
            .await
    })
    .map_err(|e| backend("listing namespaces with notifications", e))?;
    Ok(ids.into_iter().map(|i| UserId(i64::from(i))).collect())
}

/// See [`quay_ports::store::QuotaNoticeStore::namespace_usage_of`].
pub(crate) async fn usage(
    db: &Database,
    ns: i32,
) -> Result<Option<NamespaceUsage>, QuotaStoreError> {
    let mut conn = db.conn(Route::Primary).await?;
    db_run!(conn, |c| super::usage_of_namespace!(c, ns, None))
        .map_err(|e| QuotaStoreError::Backend(backend("reading a namespace's quota", e)))
}
