//! [`QuotaStore`] on Quay's quota tables and `notification`, plus the quota steps of a manifest
//! push ([`push`]), written as Python Quay's `data/model/quota.py`, `namespacequota.py` and
//! `notification.py` write them:
//! - `quotanamespacesize` / `quotarepositorysize`: inserted complete (`backfill_start_ms = 0`)
//!   by the first manifest of their scope, then `size_bytes = size_bytes ± n`; a concurrent
//!   first insert adds to the row the other transaction created (Quay would fail the push);
//! - `notification`: a uuid4, the kind by name, `metadata_json` as `json.dumps`, not dismissed;
//! - the backfill of missing or reset size rows ([`backfill`], Quay's `run_backfill`) and the
//!   channel notices of `FEATURE_QUOTA_NOTIFICATIONS` ([`notify`]: `quotanotificationstate`
//!   claims with their `notification` queue items).

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{
    BackfillOutcome, NamespaceUsage, NewNotification, NotificationTarget, QuotaBackfillStore,
    QuotaNoticeClaim, QuotaNoticeStore, QuotaStore, QuotaStoreError, SizeRowState,
};

use super::registry_sql::id_by_name;
use super::{key, naive};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;

mod backfill;
mod notify;
mod push;
pub(crate) mod schema;

pub(crate) use push::{
    account_new_manifest, invalidate_sizes, namespace_usage, refuse_over_quota,
    track_added_manifest, usage_of_namespace,
};

/// `RepositoryState.MARKED_FOR_DELETION`.
pub(crate) const MARKED_FOR_DELETION: i32 = 3;

pub(crate) struct DbQuotaStore {
    pub(crate) db: Database,
}

#[derive(Debug, thiserror::Error)]
enum TxError {
    #[error("missing lookup {0}")]
    Lookup(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl TxError {
    fn into_port(self, context: &str) -> QuotaStoreError {
        match self {
            Self::Lookup(l) => QuotaStoreError::MissingLookup(l),
            Self::Db(e) => QuotaStoreError::Backend(backend(context.to_owned(), e)),
        }
    }
}

type SizeRowTuple = (i64, Option<i64>, bool);

fn size_row(r: SizeRowTuple) -> SizeRowState {
    SizeRowState {
        size_bytes: r.0,
        backfill_start_ms: r.1,
        backfill_complete: r.2,
    }
}

#[async_trait]
impl QuotaStore for DbQuotaStore {
    async fn namespace_usage(
        &self,
        repository: RepositoryId,
        with_uploads: bool,
    ) -> Result<NamespaceUsage, QuotaStoreError> {
        let repo = key(repository.0).ok_or(QuotaStoreError::NotFound)?;
        let mut conn = self.db.conn(Route::Primary).await?;
        let usage: Option<NamespaceUsage> =
            db_run!(conn, |c| namespace_usage!(c, repo, with_uploads))
                .map_err(|e| backend("reading a namespace's quota", e))?;
        usage.ok_or(QuotaStoreError::NotFound)
    }

    async fn notification_targets(
        &self,
        namespace: UserId,
        kind: &str,
    ) -> Result<Vec<NotificationTarget>, QuotaStoreError> {
        use crate::schema::{team, teammember, teamrole, user};
        use schema::{notification as n, notificationkind as nk};
        let Some(ns) = key(namespace.0) else {
            return Ok(Vec::new());
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let result: Result<Vec<NotificationTarget>, TxError> = db_run!(conn, |c| {
            async {
                let kind_id = id_by_name!(c, nk, kind)?
                    .ok_or_else(|| TxError::Lookup(format!("notificationkind {kind}")))?;
                let organization: Option<bool> = user::table
                    .filter(user::id.eq(ns))
                    .select(user::organization)
                    .first(c)
                    .await
                    .optional()?;
                let users: Vec<i32> =
                    match organization {
                        None => Vec::new(),
                        Some(false) => vec![ns],
                        Some(true) => {
                            teammember::table
                                .filter(
                                    teammember::team_id.eq_any(
                                        team::table
                                            .filter(team::organization_id.eq(ns))
                                            .filter(
                                                team::role_id.eq_any(
                                                    teamrole::table
                                                        .filter(teamrole::name.eq("admin"))
                                                        .select(teamrole::id),
                                                ),
                                            )
                                            .select(team::id),
                                    ),
                                )
                                .filter(teammember::user_id.eq_any(
                                    user::table.filter(user::robot.eq(false)).select(user::id),
                                ))
                                .select(teammember::user_id)
                                .distinct()
                                .order(teammember::user_id.asc())
                                .load(c)
                                .await?
                        }
                    };
                let mut targets = Vec::with_capacity(users.len());
                for u in users {
                    let existing_metadata: Vec<String> = n::table
                        .filter(n::target_id.eq(u))
                        .filter(n::kind_id.eq(kind_id))
                        .select(n::metadata_json)
                        .order(n::id.asc())
                        .load(c)
                        .await?;
                    targets.push(NotificationTarget {
                        user: UserId(i64::from(u)),
                        existing_metadata,
                    });
                }
                Ok(targets)
            }
            .await
        });
        result.map_err(|e| e.into_port("reading quota notification targets"))
    }

    async fn create_notifications(
        &self,
        notifications: &[NewNotification],
    ) -> Result<(), QuotaStoreError> {
        use schema::{notification as n, notificationkind as nk};
        if notifications.is_empty() {
            return Ok(());
        }
        let mut conn = self.db.conn(Route::Primary).await?;
        let result: Result<(), TxError> = db_write!(conn, |c| {
            for note in notifications {
                let kind_id = id_by_name!(c, nk, note.kind.as_str())?
                    .ok_or_else(|| TxError::Lookup(format!("notificationkind {}", note.kind)))?;
                let target = key(note.target.0).ok_or_else(|| {
                    TxError::Lookup(format!("notification target {}", note.target.0))
                })?;
                diesel::insert_into(n::table)
                    .values((
                        n::uuid.eq(note.uuid.as_str()),
                        n::kind_id.eq(kind_id),
                        n::target_id.eq(target),
                        n::metadata_json.eq(note.metadata_json.as_str()),
                        n::created.eq(naive(note.created)),
                        n::dismissed.eq(false),
                        n::lookup_path.eq(None::<String>),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok(())
        });
        result.map_err(|e| e.into_port("writing quota notifications"))
    }

    async fn size_rows(
        &self,
        repository: RepositoryId,
    ) -> Result<(Option<SizeRowState>, Option<SizeRowState>), QuotaStoreError> {
        use crate::schema::repository as r;
        use schema::{quotanamespacesize as qns, quotarepositorysize as qrs};
        let repo = key(repository.0).ok_or(QuotaStoreError::NotFound)?;
        let mut conn = self.db.conn(Route::Primary).await?;
        type Rows = Option<(Option<SizeRowTuple>, Option<SizeRowTuple>)>;
        let rows: Rows = db_run!(conn, |c| {
            async {
                let Some(ns) = r::table
                    .filter(r::id.eq(repo))
                    .select(r::namespace_user_id)
                    .first::<Option<i32>>(c)
                    .await
                    .optional()?
                else {
                    return Ok::<_, diesel::result::Error>(None);
                };
                let ns_row: Option<SizeRowTuple> = match ns {
                    None => None,
                    Some(ns) => qns::table
                        .filter(qns::namespace_user_id.eq(ns))
                        .select((
                            qns::size_bytes,
                            qns::backfill_start_ms,
                            qns::backfill_complete,
                        ))
                        .first(c)
                        .await
                        .optional()?,
                };
                let repo_row: Option<SizeRowTuple> = qrs::table
                    .filter(qrs::repository_id.eq(repo))
                    .select((
                        qrs::size_bytes,
                        qrs::backfill_start_ms,
                        qrs::backfill_complete,
                    ))
                    .first(c)
                    .await
                    .optional()?;
                Ok(Some((ns_row, repo_row)))
            }
            .await
        })
        .map_err(|e| backend("reading quota sizes", e))?;
        let (ns, repo) = rows.ok_or(QuotaStoreError::NotFound)?;
        Ok((ns.map(size_row), repo.map(size_row)))
    }
}

#[async_trait]
impl QuotaBackfillStore for DbQuotaStore {
    async fn backfill_candidates(&self, limit: usize) -> Result<Vec<UserId>, QuotaStoreError> {
        backfill::candidates(&self.db, limit).await
    }

    async fn backfill_namespace(
        &self,
        namespace: UserId,
        now_ms: i64,
    ) -> Result<BackfillOutcome, QuotaStoreError> {
        let Some(ns) = key(namespace.0) else {
            return Ok(BackfillOutcome::default());
        };
        backfill::namespace(&self.db, ns, now_ms).await
    }
}

#[async_trait]
impl QuotaNoticeStore for DbQuotaStore {
    async fn namespace_notification_uuids(
        &self,
        namespace: UserId,
        event: &str,
    ) -> Result<Vec<String>, QuotaStoreError> {
        let Some(ns) = key(namespace.0) else {
            return Ok(Vec::new());
        };
        notify::channel_uuids(&self.db, ns, event).await
    }

    async fn claim_quota_notice(&self, claim: &QuotaNoticeClaim) -> Result<bool, QuotaStoreError> {
        let Some(ns) = key(claim.namespace.0) else {
            return Ok(false);
        };
        notify::claim(&self.db, ns, claim).await
    }

    async fn clear_quota_notice(
        &self,
        namespace: UserId,
        threshold_percent: i64,
    ) -> Result<bool, QuotaStoreError> {
        let Some(ns) = key(namespace.0) else {
            return Ok(false);
        };
        notify::clear(&self.db, ns, threshold_percent).await
    }

    async fn notified_namespaces(&self) -> Result<Vec<UserId>, QuotaStoreError> {
        notify::notified_namespaces(&self.db).await
    }

    async fn namespace_usage_of(
        &self,
        namespace: UserId,
    ) -> Result<Option<NamespaceUsage>, QuotaStoreError> {
        let Some(ns) = key(namespace.0) else {
            return Ok(None);
        };
        notify::usage(&self.db, ns).await
    }
}
