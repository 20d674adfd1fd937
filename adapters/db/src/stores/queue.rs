//! [`WorkQueue`] on Quay's `queueitem` table, row for row what Python's `data/queue.py` writes.
//!
//! - `state_id` is a fresh hyphenated UUID v4 on insert and on every update (Quay's
//!   `QueueItem.save` override), so a claim, which is an update keyed on `(id, state_id)`,
//!   succeeds for exactly one of two processes that read the same row;
//! - times come from the injected clock, truncated to microseconds as Python's `utcnow()`;
//! - a queue's items are matched by a `LIKE '<queue>/…%'` prefix with `%`, `_` and `\` escaped
//!   (Quay uses an unescaped `ILIKE`, which also matches e.g. `chunkXcleanup/`; canonical names
//!   never contain wildcards, so both select the same rows).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::clock::Clock;
use quay_ports::queue::{
    ClaimOrder, Lease, MINIMUM_EXTENSION, NewQueueItem, QueueError, QueueMetrics, WorkQueue,
    canonical_name,
};

mod metrics;

use super::{naive, plus};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;

diesel::table! {
    queueitem (id) {
        id -> Integer,
        queue_name -> Varchar,
        body -> Text,
        available_after -> Timestamp,
        available -> Bool,
        processing_expires -> Nullable<Timestamp>,
        retries_remaining -> Integer,
        state_id -> Varchar,
    }
}

// The same table under another name, for the "not running" subqueries.
diesel::alias!(queueitem as queueitem_running: QueueItemRunning);

/// Quay's `_available_jobs` condition at `now`: due, free (or its lease expired), retries left.
macro_rules! available_at {
    ($now:expr) => {
        queueitem::available_after
            .le($now)
            .and(
                queueitem::available
                    .eq(true)
                    .or(queueitem::processing_expires.le($now)),
            )
            .and(queueitem::retries_remaining.gt(0))
    };
}

/// Quay's `_running_jobs` as a subquery on [`queueitem_running`]: the names matching the `LIKE`
/// pattern held under a lease that has not expired at `now`.
macro_rules! running_names {
    ($pattern:expr, $now:expr) => {
        queueitem_running
            .filter(
                queueitem_running
                    .field(queueitem::queue_name)
                    .like($pattern)
                    .escape('\\'),
            )
            .filter(queueitem_running.field(queueitem::available).eq(false))
            .filter(
                queueitem_running
                    .field(queueitem::processing_expires)
                    .gt($now),
            )
            .select(queueitem_running.field(queueitem::queue_name))
    };
}

use {available_at, running_names};

/// Longest `queue_name` the column holds.
const MAX_NAME: usize = 1024;
/// Quay picks a random item among this many available ones.
const CANDIDATES: i64 = 50;

impl Database {
    /// Quay's work queue on this database, reading the time from `clock`.
    pub fn work_queue(&self, clock: Arc<dyn Clock>) -> Arc<dyn WorkQueue> {
        Arc::new(DbWorkQueue {
            db: self.clone(),
            clock,
        })
    }
}

struct DbWorkQueue {
    db: Database,
    clock: Arc<dyn Clock>,
}

fn state_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A new `queueitem` row as Python's `WorkQueue.put` writes it: canonical name, available at
/// once or after the item's delay, a fresh `state_id`.
pub(crate) struct QueueRow {
    pub(crate) name: String,
    pub(crate) body: String,
    pub(crate) available_after: NaiveDateTime,
    pub(crate) retries_remaining: i32,
    pub(crate) state_id: String,
}

impl QueueRow {
    /// The row of `item` put at `now`; `Err` with the canonical name when it is longer than
    /// Quay's column.
    pub(crate) fn new(item: &NewQueueItem, now: NaiveDateTime) -> Result<Self, String> {
        let parts: Vec<&str> = item.path.iter().map(String::as_str).collect();
        let name = canonical_name(&item.queue, &parts);
        if name.chars().count() > MAX_NAME {
            return Err(name);
        }
        Ok(Self {
            name,
            body: item.body.clone(),
            available_after: plus(now, item.available_after),
            retries_remaining: i32::try_from(item.retries_remaining).unwrap_or(i32::MAX),
            state_id: state_id(),
        })
    }
}

/// Inserts a [`QueueRow`] on the connection `$c` (inside the caller's transaction, if any);
/// evaluates to diesel's `QueryResult<usize>`.
macro_rules! insert_queue_row {
    ($c:expr, $row:expr) => {{
        use $crate::stores::queue::queueitem as q;
        let row: &$crate::stores::queue::QueueRow = $row;
        diesel::insert_into(q::table)
            .values((
                q::queue_name.eq(row.name.as_str()),
                q::body.eq(row.body.as_str()),
                q::available_after.eq(row.available_after),
                q::available.eq(true),
                q::processing_expires.eq(None::<NaiveDateTime>),
                q::retries_remaining.eq(row.retries_remaining),
                q::state_id.eq(row.state_id.as_str()),
            ))
            .execute($c)
            .await
    }};
}
pub(crate) use insert_queue_row;

/// `prefix` as a `LIKE` pattern matching names that start with it.
fn prefix_pattern(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for ch in prefix.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}

fn to_count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// `<queue>/<prefix joined by '/'>` with leading `/` of each part stripped (Quay's
/// `num_alive_jobs` prefix: no trailing `/`).
fn joined_prefix(queue: &str, prefix: &[&str]) -> String {
    std::iter::once(queue)
        .chain(prefix.iter().map(|p| p.trim_start_matches('/')))
        .collect::<Vec<_>>()
        .join("/")
}

type Candidate = (i32, String, String, i32);

impl DbWorkQueue {
    fn now(&self) -> NaiveDateTime {
        naive(self.clock.now())
    }

    async fn candidates(
        &self,
        pattern: &str,
        now: NaiveDateTime,
        order: ClaimOrder,
    ) -> Result<Vec<Candidate>, QueueError> {
        let mut conn = self.db.conn(Route::Primary).await?;
        let available = available_at!(now);
        let rows: Vec<Candidate> = match order {
            ClaimOrder::Any => db_run!(conn, |c| {
                queueitem::table
                    .filter(queueitem::queue_name.like(pattern).escape('\\'))
                    .filter(available)
                    .select((
                        queueitem::id,
                        queueitem::state_id,
                        queueitem::body,
                        queueitem::retries_remaining,
                    ))
                    .limit(CANDIDATES)
                    .load(c)
                    .await
            }),
            ClaimOrder::Oldest => {
                let running = running_names!(pattern, now);
                db_run!(conn, |c| {
                    queueitem::table
                        .filter(queueitem::queue_name.like(pattern).escape('\\'))
                        .filter(available)
                        .filter(queueitem::queue_name.ne_all(running))
                        .select((
                            queueitem::id,
                            queueitem::state_id,
                            queueitem::body,
                            queueitem::retries_remaining,
                        ))
                        .order(queueitem::id)
                        .limit(1)
                        .load(c)
                        .await
                })
            }
        }
        .map_err(|e| backend("selecting an available queue item", e))?;
        Ok(rows)
    }
}

#[async_trait]
impl WorkQueue for DbWorkQueue {
    async fn put(&self, item: &NewQueueItem) -> Result<i64, QueueError> {
        let row = QueueRow::new(item, self.now()).map_err(QueueError::NameTooLong)?;
        let mut conn = self.db.conn(Route::Primary).await?;
        let id: i32 = db_write!(conn, |c| {
            insert_queue_row!(c, &row)?;
            queueitem::table
                .filter(queueitem::state_id.eq(row.state_id.as_str()))
                .select(queueitem::id)
                .first(c)
                .await
        })
        .map_err(|e| backend("adding a queue item", e))?;
        Ok(i64::from(id))
    }

    async fn claim(
        &self,
        queue: &str,
        match_path: &[&str],
        lease_for: Duration,
        order: ClaimOrder,
    ) -> Result<Option<Lease>, QueueError> {
        let now = self.now();
        let pattern = prefix_pattern(&canonical_name(queue, match_path));
        let rows = self.candidates(&pattern, now, order).await?;
        let Some((id, old_state, body, retries)) = pick(rows) else {
            return Ok(None);
        };
        let expires = plus(now, lease_for);
        let new_state = state_id();
        let mut conn = self.db.conn(Route::Primary).await?;
        let changed: usize = db_run!(conn, |c| {
            diesel::update(
                queueitem::table
                    .filter(queueitem::id.eq(id))
                    .filter(queueitem::state_id.eq(old_state.as_str())),
            )
            .set((
                queueitem::available.eq(false),
                queueitem::processing_expires.eq(Some(expires)),
                queueitem::retries_remaining.eq(queueitem::retries_remaining - 1),
                queueitem::state_id.eq(new_state.as_str()),
            ))
            .execute(c)
            .await
        })
        .map_err(|e| backend("claiming a queue item", e))?;
        Ok((changed == 1).then(|| Lease {
            id: i64::from(id),
            body,
            retries_remaining: retries - 1,
        }))
    }

    async fn complete(&self, lease: &Lease) -> Result<bool, QueueError> {
        let Ok(id) = i32::try_from(lease.id) else {
            return Ok(false);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let n: usize = db_run!(conn, |c| {
            diesel::delete(queueitem::table.filter(queueitem::id.eq(id)))
                .execute(c)
                .await
        })
        .map_err(|e| backend("completing a queue item", e))?;
        Ok(n > 0)
    }

    async fn incomplete(
        &self,
        lease: &Lease,
        retry_after: Duration,
        restore_retry: bool,
    ) -> Result<bool, QueueError> {
        let Ok(id) = i32::try_from(lease.id) else {
            return Ok(false);
        };
        let retry_date = plus(self.now(), retry_after);
        let bonus = i32::from(restore_retry);
        let sid = state_id();
        let mut conn = self.db.conn(Route::Primary).await?;
        let left: Option<i32> = db_write!(conn, |c| {
            let n = diesel::update(queueitem::table.filter(queueitem::id.eq(id)))
                .set((
                    queueitem::available_after.eq(retry_date),
                    queueitem::available.eq(true),
                    queueitem::retries_remaining.eq(queueitem::retries_remaining + bonus),
                    queueitem::state_id.eq(sid.as_str()),
                ))
                .execute(c)
                .await?;
            if n == 0 {
                return Ok::<_, diesel::result::Error>(None);
            }
            queueitem::table
                .filter(queueitem::id.eq(id))
                .select(queueitem::retries_remaining)
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("returning a queue item", e))?;
        Ok(left.is_some_and(|r| r > 0))
    }

    async fn extend(
        &self,
        lease: &Lease,
        lease_for: Duration,
        updated_body: Option<&str>,
    ) -> Result<bool, QueueError> {
        let Ok(id) = i32::try_from(lease.id) else {
            return Ok(false);
        };
        let new_expiration = plus(self.now(), lease_for);
        let min = chrono::Duration::from_std(MINIMUM_EXTENSION).unwrap_or_default();
        let mut conn = self.db.conn(Route::Primary).await?;
        db_write!(conn, |c| {
            let Some((expires, body)) = queueitem::table
                .filter(queueitem::id.eq(id))
                .select((queueitem::processing_expires, queueitem::body))
                .first::<(Option<NaiveDateTime>, String)>(c)
                .await
                .optional()?
            else {
                return Ok::<_, diesel::result::Error>(false);
            };
            let move_lease = expires.is_none_or(|e| new_expiration - e > min);
            let new_body = updated_body.filter(|b| *b != body);
            if !move_lease && new_body.is_none() {
                return Ok(false);
            }
            let expires = if move_lease {
                Some(new_expiration)
            } else {
                expires
            };
            diesel::update(queueitem::table.filter(queueitem::id.eq(id)))
                .set((
                    queueitem::processing_expires.eq(expires),
                    queueitem::body.eq(new_body.unwrap_or(&body)),
                    queueitem::state_id.eq(state_id()),
                ))
                .execute(c)
                .await?;
            Ok(true)
        })
        .map_err(|e| backend("extending a queue item", e).into())
    }

    async fn alive(&self, queue: &str, path: &[&str]) -> Result<bool, QueueError> {
        let name = canonical_name(queue, path);
        let now = self.now();
        let mut conn = self.db.conn(Route::Primary).await?;
        let n: i64 = db_run!(conn, |c| {
            queueitem::table
                .filter(queueitem::queue_name.eq(name.as_str()))
                .filter(
                    queueitem::available_after
                        .le(now)
                        .and(
                            queueitem::available
                                .eq(true)
                                .or(queueitem::processing_expires.le(now)),
                        )
                        .and(queueitem::retries_remaining.gt(0))
                        .or(queueitem::available
                            .eq(false)
                            .and(queueitem::processing_expires.gt(now))),
                )
                .count()
                .get_result(c)
                .await
        })
        .map_err(|e| backend("checking a queue item", e))?;
        Ok(n > 0)
    }

    async fn count_alive(&self, queue: &str, prefix: &[&str]) -> Result<u64, QueueError> {
        let pattern = prefix_pattern(&joined_prefix(queue, prefix));
        let mut conn = self.db.conn(Route::Primary).await?;
        let n: i64 = db_run!(conn, |c| {
            queueitem::table
                .filter(queueitem::queue_name.like(pattern.as_str()).escape('\\'))
                .filter(queueitem::retries_remaining.gt(0))
                .count()
                .get_result(c)
                .await
        })
        .map_err(|e| backend("counting queue items", e))?;
        Ok(to_count(n))
    }

    async fn count_available_between(
        &self,
        queue: &str,
        prefix: &[&str],
        min: DateTime<Utc>,
        max: DateTime<Utc>,
    ) -> Result<u64, QueueError> {
        let pattern = prefix_pattern(&joined_prefix(queue, prefix));
        let (min, max) = (naive(min), naive(max));
        let mut conn = self.db.conn(Route::Primary).await?;
        let n: i64 = db_run!(conn, |c| {
            queueitem::table
                .filter(queueitem::queue_name.like(pattern.as_str()).escape('\\'))
                .filter(queueitem::available_after.le(max))
                .filter(
                    queueitem::available
                        .eq(true)
                        .or(queueitem::processing_expires.le(max)),
                )
                .filter(queueitem::retries_remaining.gt(0))
                .filter(queueitem::available_after.ge(min))
                .count()
                .get_result(c)
                .await
        })
        .map_err(|e| backend("counting available queue items", e))?;
        Ok(to_count(n))
    }

    async fn metrics(&self, queue: &str) -> Result<QueueMetrics, QueueError> {
        metrics::metrics(&self.db, queue, self.now()).await
    }

    async fn has_retries_remaining(&self, id: i64) -> Result<bool, QueueError> {
        let Ok(id) = i32::try_from(id) else {
            return Ok(false);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let left: Option<i32> = db_run!(conn, |c| {
            queueitem::table
                .filter(queueitem::id.eq(id))
                .select(queueitem::retries_remaining)
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("reading a queue item", e))?;
        Ok(left.is_some_and(|r| r > 0))
    }

    async fn delete_prefixed(&self, queue: &str, prefix: &[&str]) -> Result<u64, QueueError> {
        let pattern = prefix_pattern(&canonical_name(queue, prefix));
        let mut conn = self.db.conn(Route::Primary).await?;
        let n: usize = db_run!(conn, |c| {
            diesel::delete(
                queueitem::table.filter(queueitem::queue_name.like(pattern.as_str()).escape('\\')),
            )
            .execute(c)
            .await
        })
        .map_err(|e| backend("deleting queue items", e))?;
        Ok(n as u64)
    }
}

/// One of `rows` at random (Quay orders its 50 candidates by `random()`).
fn pick(mut rows: Vec<Candidate>) -> Option<Candidate> {
    if rows.len() <= 1 {
        return rows.pop();
    }
    let r = uuid::Uuid::new_v4().as_u128();
    let i = usize::try_from(r % rows.len() as u128).unwrap_or(0);
    Some(rows.swap_remove(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(prefix_pattern("chunk_cleanup/"), "chunk\\_cleanup/%");
        assert_eq!(prefix_pattern("a%b\\"), "a\\%b\\\\%");
        assert_eq!(joined_prefix("q", &["/ns", "repo"]), "q/ns/repo");
        assert_eq!(joined_prefix("q", &[]), "q");
    }

    #[test]
    fn pick_takes_one() {
        assert!(pick(vec![]).is_none());
        let rows = vec![
            (1, "a".into(), "{}".into(), 5),
            (2, "b".into(), "{}".into(), 5),
        ];
        let got = pick(rows).expect("one row");
        assert!(got.0 == 1 || got.0 == 2);
    }
}
