//! The work queue on Quay's `queueitem` table, on SQLite and PostgreSQL: Quay's lifecycle
//! (put, claim with a lease, expiry, extend, incomplete, complete), rows in the format Python's
//! `WorkQueue` writes and reads, and concurrent claimers that never share an item.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use quay_adapter_db::{Database, connect};
use quay_ports::clock::Clock;
use quay_ports::queue::{ClaimOrder, NewQueueItem, QueueMetrics};

use crate::support::{self, TestPg, TestSqlite, connect_raw};

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn at(t: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(t)))
    }
    pub fn advance(&self, secs: i64) {
        *self.0.lock().unwrap() += chrono::Duration::seconds(secs);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap() + chrono::Duration::microseconds(123_456)
}

fn item(path: &[&str], body: &str, after_s: u64, retries: u32) -> NewQueueItem {
    NewQueueItem {
        queue: "chunk_cleanup".into(),
        path: path.iter().map(|s| (*s).to_string()).collect(),
        body: body.into(),
        available_after: Duration::from_secs(after_s),
        retries_remaining: retries,
    }
}

const LEASE: Duration = Duration::from_secs(300);

/// One raw row as stored: `(queue_name, body, available_after, available, processing_expires,
/// retries_remaining, state_id)`, times as the database's text.
type RawRow = (String, String, String, bool, Option<String>, i32, String);

enum Raw<'a> {
    Pg(&'a TestPg),
    Sqlite(&'a TestSqlite),
}

#[derive(diesel::QueryableByName)]
struct SqliteRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    queue_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    body: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    available_after: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    available: bool,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    processing_expires: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    retries_remaining: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    state_id: String,
}

impl Raw<'_> {
    async fn row(&self, id: i64) -> Result<RawRow> {
        match self {
            Raw::Pg(pg) => {
                let c = connect_raw(&pg.url).await?;
                let r = c
                    .query_one(
                        "SELECT queue_name, body, available_after::text, available, \
                         processing_expires::text, retries_remaining, state_id \
                         FROM queueitem WHERE id = $1",
                        &[&i32::try_from(id)?],
                    )
                    .await?;
                Ok((
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                ))
            }
            Raw::Sqlite(file) => {
                let mut c = SqliteConnection::establish(file.path.to_str().unwrap())?;
                let r: SqliteRow = diesel::sql_query(format!(
                    "SELECT queue_name, body, CAST(available_after AS TEXT) AS available_after, \
                     available, CAST(processing_expires AS TEXT) AS processing_expires, \
                     retries_remaining, state_id FROM queueitem WHERE id = {id}"
                ))
                .get_result(&mut c)?;
                Ok((
                    r.queue_name,
                    r.body,
                    r.available_after,
                    r.available,
                    r.processing_expires,
                    r.retries_remaining,
                    r.state_id,
                ))
            }
        }
    }

    /// Inserts a row exactly as Python's `WorkQueue.put` does (peewee's text for SQLite).
    async fn python_put(&self, name: &str, body: &str, after: &str, state: &str) -> Result<()> {
        let sql = format!(
            "INSERT INTO queueitem (queue_name, body, available_after, available, \
             processing_expires, retries_remaining, state_id) \
             VALUES ('{name}', '{body}', '{after}', true, NULL, 5, '{state}')"
        );
        match self {
            Raw::Pg(pg) => pg.execute(&sql).await,
            Raw::Sqlite(file) => file.execute(&sql.replace("true", "1")),
        }
    }
}

fn is_uuid4(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 4) && s.len() == 36
}

async fn lifecycle(db: &Database, raw: Raw<'_>) -> Result<()> {
    let clock = ManualClock::at(start());
    let q = db.work_queue(clock.clone());
    let body = r#"{"location": "swift_loc", "uuid": "u1", "path": "segments/u1/000000002"}"#;
    let id = q.put(&item(&["segment/swift_loc/u1"], body, 30, 5)).await?;
    let (name, stored, after, available, expires, retries, state) = raw.row(id).await?;
    assert_eq!(name, "chunk_cleanup/segment/swift_loc/u1/");
    assert_eq!(stored, body, "the body is stored verbatim");
    assert_eq!(
        after, "2026-11-27 10:00:30.123456",
        "Python's utcnow() + 30 s"
    );
    assert!(available);
    assert_eq!(expires, None);
    assert_eq!(retries, 5);
    assert!(
        is_uuid4(&state),
        "state_id {state} is a uuid4 as Python writes"
    );

    // Not yet available.
    assert_eq!(
        q.claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
            .await?,
        None
    );
    assert!(!q.alive("chunk_cleanup", &["segment/swift_loc/u1"]).await?);
    assert_eq!(q.count_alive("chunk_cleanup", &["segment"]).await?, 1);
    clock.advance(30);
    assert!(q.alive("chunk_cleanup", &["segment/swift_loc/u1"]).await?);
    let lease = q
        .claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
        .await?
        .expect("available after 30 s");
    assert_eq!(
        (lease.id, lease.body.as_str(), lease.retries_remaining),
        (id, body, 4)
    );
    let (_, _, _, available, expires, retries, state2) = raw.row(id).await?;
    assert!(!available);
    assert_eq!(expires.as_deref(), Some("2026-11-27 10:05:30.123456"));
    assert_eq!(retries, 4);
    assert!(
        is_uuid4(&state2) && state2 != state,
        "a claim writes a new state_id"
    );
    assert_eq!(
        q.metrics("chunk_cleanup").await?,
        QueueMetrics {
            running: 1,
            available_not_running: 0,
            available: 0
        }
    );
    // Running: nobody else gets it.
    assert_eq!(
        q.claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
            .await?,
        None
    );

    // Extending by less than 20 s changes nothing; by more moves the lease.
    assert!(!q.extend(&lease, Duration::from_secs(310), None).await?);
    assert!(q.extend(&lease, Duration::from_secs(600), None).await?);
    let (_, _, _, _, expires, _, _) = raw.row(id).await?;
    assert_eq!(expires.as_deref(), Some("2026-11-27 10:10:30.123456"));
    assert!(
        q.extend(&lease, Duration::from_secs(600), Some("{}"))
            .await?
    );
    assert_eq!(raw.row(id).await?.1, "{}");

    // An expired lease makes the item available again, with one retry fewer.
    clock.advance(601);
    assert_eq!(
        q.metrics("chunk_cleanup").await?,
        QueueMetrics {
            running: 0,
            available_not_running: 1,
            available: 1
        }
    );
    let again = q
        .claim("chunk_cleanup", &[], LEASE, ClaimOrder::Oldest)
        .await?
        .expect("lease ran out");
    assert_eq!((again.id, again.retries_remaining), (id, 3));

    // Incomplete with the retry restored, available again after retry_after.
    assert!(q.incomplete(&again, Duration::from_secs(10), true).await?);
    assert_eq!(raw.row(id).await?.5, 4);
    assert_eq!(
        q.claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
            .await?,
        None
    );
    clock.advance(11);
    let third = q
        .claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
        .await?
        .expect("retry_after passed");
    assert!(q.complete(&third).await?);
    assert!(!q.complete(&third).await?, "already gone");
    assert!(!q.has_retries_remaining(id).await?);
    assert!(!q.incomplete(&third, Duration::ZERO, true).await?);
    assert!(!q.extend(&third, LEASE, None).await?);
    Ok(())
}

async fn retries_and_prefixes(db: &Database, raw: Raw<'_>) -> Result<()> {
    let clock = ManualClock::at(start());
    let q = db.work_queue(clock.clone());
    // The last retry: after a failed attempt the item is dead.
    let id = q.put(&item(&["segment/l/u2"], "{}", 0, 1)).await?;
    let lease = q
        .claim("chunk_cleanup", &["segment"], LEASE, ClaimOrder::Any)
        .await?
        .expect("available now");
    assert_eq!(lease.retries_remaining, 0);
    assert!(!q.incomplete(&lease, Duration::ZERO, false).await?);
    assert_eq!(
        q.claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
            .await?,
        None
    );
    assert_eq!(q.count_alive("chunk_cleanup", &[]).await?, 0);
    assert!(q.complete(&lease).await?);
    assert!(!q.has_retries_remaining(id).await?);

    // `_` in the queue name is not a wildcard.
    let mut other = item(&["x"], "{}", 0, 5);
    other.queue = "chunkXcleanup".into();
    q.put(&other).await?;
    assert_eq!(
        q.claim("chunk_cleanup", &[], LEASE, ClaimOrder::Any)
            .await?,
        None
    );
    assert_eq!(q.count_alive("chunk_cleanup", &[]).await?, 0);

    // Ordered claims skip names that have a running item.
    let a1 = q.put(&item(&["ns", "a"], "1", 0, 5)).await?;
    let a2 = q.put(&item(&["ns", "a"], "2", 0, 5)).await?;
    let b1 = q.put(&item(&["ns", "b"], "3", 0, 5)).await?;
    let first = q
        .claim("chunk_cleanup", &["ns"], LEASE, ClaimOrder::Oldest)
        .await?
        .expect("oldest");
    assert_eq!(first.id, a1);
    let second = q
        .claim("chunk_cleanup", &["ns"], LEASE, ClaimOrder::Oldest)
        .await?
        .expect("next name");
    assert_eq!(second.id, b1, "ns/a/ is running, so a2 waits");
    assert_eq!(
        q.claim("chunk_cleanup", &["ns"], LEASE, ClaimOrder::Oldest)
            .await?,
        None
    );
    assert_eq!(q.count_alive("chunk_cleanup", &["ns"]).await?, 3);
    assert_eq!(
        q.count_available_between("chunk_cleanup", &["ns"], start(), start())
            .await?,
        1,
        "only a2 is available"
    );
    assert_eq!(q.delete_prefixed("chunk_cleanup", &["ns", "a"]).await?, 2);
    assert!(!q.has_retries_remaining(a2).await?);
    assert_eq!(q.delete_prefixed("chunk_cleanup", &["ns"]).await?, 1);

    // A row as Python's WorkQueue.put writes it is claimed; peewee's SQLite text without
    // microseconds too.
    raw.python_put(
        "chunk_cleanup/segment/l/py/",
        r#"{"location": "l", "uuid": "py", "path": "segments/py/000000000"}"#,
        "2026-11-27 09:59:59",
        "0e4d3bd0-5d5b-4f3a-9d0c-3f1f4c2b7a11",
    )
    .await?;
    let py = q
        .claim("chunk_cleanup", &["segment"], LEASE, ClaimOrder::Any)
        .await?
        .expect("Python's item");
    assert_eq!(py.retries_remaining, 4);
    assert!(py.body.contains(r#""uuid": "py""#));
    Ok(())
}

/// `claimers` processes (each its own pool) drain 40 items, all racing for the oldest one;
/// every item is claimed exactly once.
async fn concurrent_claimers(dbs: Vec<Database>) -> Result<()> {
    let clock = ManualClock::at(start());
    let q = dbs[0].work_queue(clock.clone());
    for i in 0..40 {
        q.put(&item(
            &["race", &i.to_string()],
            &format!("{{\"n\": {i}}}"),
            0,
            5,
        ))
        .await?;
    }
    let mut tasks = Vec::new();
    for db in dbs {
        let q = db.work_queue(clock.clone());
        tasks.push(tokio::spawn(async move {
            let (mut got, mut lost) = (Vec::new(), 0u32);
            let mut idle = 0;
            while idle < 5 {
                match q
                    .claim("chunk_cleanup", &["race"], LEASE, ClaimOrder::Oldest)
                    .await?
                {
                    Some(lease) => {
                        idle = 0;
                        got.push(lease.id);
                    }
                    None => {
                        idle += 1;
                        lost += 1;
                        tokio::task::yield_now().await;
                    }
                }
            }
            anyhow::Ok((got, lost))
        }));
    }
    let mut all = Vec::new();
    let mut per_claimer = Vec::new();
    for t in tasks {
        let (got, _) = t.await??;
        per_claimer.push(got.len());
        all.extend(got);
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "an item was claimed twice: {all:?}"
    );
    assert_eq!(all.len(), 40, "every item claimed once ({per_claimer:?})");
    assert_eq!(q.metrics("chunk_cleanup").await?.running, 40);
    Ok(())
}

#[tokio::test]
async fn sqlite_queue_lifecycle_like_quay() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    let db = connect(support::settings(file.target())).await?;
    lifecycle(&db, Raw::Sqlite(&file)).await?;
    retries_and_prefixes(&db, Raw::Sqlite(&file)).await
}

#[tokio::test]
async fn postgres_queue_lifecycle_like_quay() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    let db = connect(support::settings(pg.target())).await?;
    lifecycle(&db, Raw::Pg(&pg)).await?;
    retries_and_prefixes(&db, Raw::Pg(&pg)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_claimers_never_share_an_item() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    let mut dbs = Vec::new();
    for _ in 0..3 {
        dbs.push(connect(support::settings(file.target())).await?);
    }
    concurrent_claimers(dbs).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_claimers_never_share_an_item() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    let mut dbs = Vec::new();
    for _ in 0..3 {
        dbs.push(connect(support::settings(pg.target())).await?);
    }
    concurrent_claimers(dbs).await
}
