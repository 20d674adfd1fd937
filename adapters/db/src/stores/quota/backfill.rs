//! The quota backfill (Quay's `workers/quotatotalworker.py` `backfill` and
//! `data/model/quota.py` `run_backfill`): namespaces and repositories without a started size row
//! get their totals, computed as Quay's `get_namespace_total` / `get_repository_total` do: the
//! sum of `imagestorage.image_size` over the distinct blobs that `manifestblob` links to the
//! scope's manifests (tagged or not; repositories marked for deletion included in the namespace
//! total, as in Quay).
//!
//! Each row is written in two steps, as Quay writes it: first marked started (`size_bytes = 0`,
//! `backfill_start_ms = now`, `backfill_complete = false`) and committed, so that pushes leave
//! it alone while it is computed; then the total and `backfill_complete = true`. The first step
//! only claims a row still missing or reset (another worker's claim wins; Quay would compute
//! twice).

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::RunQueryDsl;
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{BackfillOutcome, QuotaStoreError};

use super::MARKED_FOR_DELETION;
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;

/// `SUM(image_size)` as a 64-bit integer on both backends (PostgreSQL sums `bigint` to
/// `numeric`).
fn sum_of_sizes() -> diesel::expression::SqlLiteral<Nullable<BigInt>> {
    diesel::dsl::sql::<Nullable<BigInt>>("CAST(SUM(imagestorage.image_size) AS BIGINT)")
}

/// Which size row a step works on.
#[derive(Clone, Copy)]
enum Scope {
    Namespace(i32),
    Repository(i32),
}

impl Scope {
    fn context(self) -> &'static str {
        match self {
            Self::Namespace(_) => "backfilling a namespace size",
            Self::Repository(_) => "backfilling a repository size",
        }
    }
}

/// `(backfill_start_ms, backfill_complete)` of the scope's row.
async fn row_state(
    db: &Database,
    scope: Scope,
) -> Result<Option<(Option<i64>, bool)>, QuotaStoreError> {
    use super::schema::{quotanamespacesize as qns, quotarepositorysize as qrs};
    let mut conn = db.conn(Route::Primary).await?;
    db_run!(conn, |c| match scope {
        Scope::Namespace(ns) => {
            qns::table
                .filter(qns::namespace_user_id.eq(ns))
                .select((qns::backfill_start_ms, qns::backfill_complete))
                .first(c)
                .await
                .optional()
        }
        Scope::Repository(repo) => {
            qrs::table
                .filter(qrs::repository_id.eq(repo))
                .select((qrs::backfill_start_ms, qrs::backfill_complete))
                .first(c)
                .await
                .optional()
        }
    })
    .map_err(|e| QuotaStoreError::Backend(backend(scope.context().to_owned(), e)))
}

/// Marks the size row of `$key` in `$t` (a size table keyed by `$col`) started at `$now`: a
/// new row (`$exists` false; a concurrent insert wins), or one reset by a push (no start, not
/// complete). Evaluates to diesel's `QueryResult<usize>`, the rows written.
macro_rules! start_row {
    ($c:expr, $t:ident, $col:ident, $key:expr, $exists:expr, $now:expr) => {
        if $exists {
            diesel::update(
                $t::table
                    .filter($t::$col.eq($key))
                    .filter($t::backfill_start_ms.is_null())
                    .filter($t::backfill_complete.eq(false)),
            )
            .set((
                $t::size_bytes.eq(0i64),
                $t::backfill_start_ms.eq(Some($now)),
                $t::backfill_complete.eq(false),
            ))
            .execute($c)
            .await
        } else {
            diesel::insert_into($t::table)
                .values((
                    $t::$col.eq($key),
                    $t::size_bytes.eq(0i64),
                    $t::backfill_start_ms.eq(Some($now)),
                    $t::backfill_complete.eq(false),
                ))
                .on_conflict_do_nothing()
                .execute($c)
                .await
        }
    };
}

/// Marks the scope's row started when it is missing or reset; `true` when this call did.
async fn claim(
    db: &Database,
    scope: Scope,
    exists: bool,
    now_ms: i64,
) -> Result<bool, QuotaStoreError> {
    use super::schema::{quotanamespacesize as qns, quotarepositorysize as qrs};
    let mut conn = db.conn(Route::Primary).await?;
    let written: Result<usize, diesel::result::Error> = db_write!(conn, |c| {
        match scope {
            Scope::Namespace(ns) => start_row!(c, qns, namespace_user_id, ns, exists, now_ms),
            Scope::Repository(repo) => start_row!(c, qrs, repository_id, repo, exists, now_ms),
        }
    });
    written
        .map(|n| n == 1)
        .map_err(|e| QuotaStoreError::Backend(backend(scope.context().to_owned(), e)))
}

/// Computes the scope's total and completes its row; returns the total.
async fn complete(db: &Database, scope: Scope) -> Result<i64, QuotaStoreError> {
    use super::schema::{
        imagestorage as st, manifestblob as mb, quotanamespacesize as qns,
        quotarepositorysize as qrs, repository as r,
    };
    let mut conn = db.conn(Route::Primary).await?;
    let result: Result<i64, diesel::result::Error> = db_write!(conn, |c| {
        match scope {
            Scope::Namespace(ns) => {
                let total: Option<i64> = st::table
                    .filter(
                        st::id.eq_any(
                            mb::table
                                .filter(mb::repository_id.eq_any(
                                    r::table.filter(r::namespace_user_id.eq(ns)).select(r::id),
                                ))
                                .select(mb::blob_id),
                        ),
                    )
                    .select(sum_of_sizes())
                    .first(c)
                    .await?;
                let total = total.unwrap_or(0);
                diesel::update(qns::table.filter(qns::namespace_user_id.eq(ns)))
                    .set((qns::size_bytes.eq(total), qns::backfill_complete.eq(true)))
                    .execute(c)
                    .await?;
                Ok(total)
            }
            Scope::Repository(repo) => {
                let total: Option<i64> = st::table
                    .filter(
                        st::id.eq_any(
                            mb::table
                                .filter(mb::repository_id.eq(repo))
                                .select(mb::blob_id),
                        ),
                    )
                    .select(sum_of_sizes())
                    .first(c)
                    .await?;
                let total = total.unwrap_or(0);
                diesel::update(qrs::table.filter(qrs::repository_id.eq(repo)))
                    .set((qrs::size_bytes.eq(total), qrs::backfill_complete.eq(true)))
                    .execute(c)
                    .await?;
                Ok(total)
            }
        }
    });
    result.map_err(|e| QuotaStoreError::Backend(backend(scope.context().to_owned(), e)))
}

/// Backfills the scope's row when it is missing or reset; the total written, if any.
async fn backfill_row(
    db: &Database,
    scope: Scope,
    now_ms: i64,
) -> Result<Option<i64>, QuotaStoreError> {
    let exists = match row_state(db, scope).await? {
        None => false,
        Some((None, false)) => true,
        Some(_) => return Ok(None),
    };
    if !claim(db, scope, exists, now_ms).await? {
        return Ok(None);
    }
    complete(db, scope).await.map(Some)
}

/// See [`quay_ports::store::QuotaBackfillStore::backfill_candidates`].
pub(crate) async fn candidates(
    db: &Database,
    limit: usize,
) -> Result<Vec<UserId>, QuotaStoreError> {
    use super::schema::{quotanamespacesize as qns, user as u};
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut conn = db.conn(Route::Primary).await?;
    let ids: Vec<i32> = db_run!(conn, |c| {
        u::table
            .filter(u::enabled.eq(true))
            .filter(u::robot.eq(false))
            .filter(
                u::id.ne_all(
                    qns::table
                        .filter(qns::backfill_start_ms.is_not_null())
                        .select(qns::namespace_user_id),
                ),
            )
            .select(u::id)
            .order(u::id.asc())
            .limit(limit)
            .load(c)
            .await
    })
    .map_err(|e| backend("listing namespaces for the quota backfill", e))?;
    Ok(ids.into_iter().map(|i| UserId(i64::from(i))).collect())
}

/// See [`quay_ports::store::QuotaBackfillStore::backfill_namespace`].
pub(crate) async fn namespace(
    db: &Database,
    ns: i32,
    now_ms: i64,
) -> Result<BackfillOutcome, QuotaStoreError> {
    use super::schema::repository as r;
    let mut outcome = BackfillOutcome {
        namespace_total: backfill_row(db, Scope::Namespace(ns), now_ms).await?,
        ..BackfillOutcome::default()
    };
    let repositories: Vec<i32> = {
        let mut conn = db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            r::table
                .filter(r::namespace_user_id.eq(ns))
                .filter(r::state.ne(MARKED_FOR_DELETION))
                .select(r::id)
                .order(r::id.asc())
                .load(c)
                .await
        })
        .map_err(|e| backend("listing repositories for the quota backfill", e))?
    };
    for repo in repositories {
        let state: Option<i32> = {
            let mut conn = db.conn(Route::Primary).await?;
            db_run!(conn, |c| {
                r::table
                    .filter(r::id.eq(repo))
                    .select(r::state)
                    .first(c)
                    .await
                    .optional()
            })
            .map_err(|e| backend("reading a repository for the quota backfill", e))?
        };
        if state.is_none_or(|s| s == MARKED_FOR_DELETION) {
            outcome.stopped_at_deleted = true;
            break;
        }
        if let Some(total) = backfill_row(db, Scope::Repository(repo), now_ms).await? {
            outcome
                .repositories
                .push((RepositoryId(i64::from(repo)), total));
        }
    }
    Ok(outcome)
}
