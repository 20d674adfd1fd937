//! One query code path for both backends: [`DbConn`] and the macros that type-check a query body
//! once per backend (vaultwarden's technique; diesel's multi-connection derive has no async
//! support yet).
//!
//! - `db_run!(conn, |c| body)` runs `body` with `c` bound to `&mut AsyncPgConnection` or
//!   `&mut SqliteConn`; the body is compiled twice, so it must use only SQL both accept.
//! - `db_write!(conn, |c| body)` runs `body` in a transaction: PostgreSQL's default, SQLite's
//!   `BEGIN IMMEDIATE`, so a writer takes the write lock first and waits on `busy_timeout`
//!   instead of failing on a lock upgrade. `body` returns `Result<_, E>` with
//!   `E: From<diesel::result::Error>`; an `Err` rolls back.
//! - Where SQL differs, match on [`DbConn`] and write one arm per backend.
//!
//! Never hold an open transaction across a `select!` or any race (STYLE pitfall 4).

use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Object;

use crate::sqlite::SqliteConn;

/// A pooled connection to either backend.
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived, one per database call; boxing would add an allocation per call"
)]
pub(crate) enum DbConn {
    /// PostgreSQL.
    Pg(Object<AsyncPgConnection>),
    /// SQLite.
    Sqlite(Object<SqliteConn>),
}

/// Runs a body once per backend; see the module docs.
macro_rules! db_run {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut $conn {
            $crate::conn::DbConn::Pg(obj) => {
                let $c: &mut diesel_async::AsyncPgConnection = &mut *obj;
                $body
            }
            $crate::conn::DbConn::Sqlite(obj) => {
                let $c: &mut $crate::sqlite::SqliteConn = &mut *obj;
                $body
            }
        }
    };
}

/// Runs a body in a write transaction once per backend; see the module docs.
macro_rules! db_write {
    ($conn:expr, |$c:ident| $body:expr) => {
        match &mut $conn {
            $crate::conn::DbConn::Pg(obj) => {
                let pg: &mut diesel_async::AsyncPgConnection = &mut *obj;
                diesel_async::AsyncConnection::transaction(pg, async |$c| $body).await
            }
            $crate::conn::DbConn::Sqlite(obj) => {
                let sq: &mut $crate::sqlite::SqliteConn = &mut *obj;
                sq.immediate_transaction(async |$c| $body).await
            }
        }
    };
}

pub(crate) use {db_run, db_write};
