//! The opened database: a primary pool, optional read-replica pools, and connection routing.
//!
//! Routing (Quay's `DB_READ_REPLICAS`): a read that tolerates replication lag takes a connection
//! from a replica chosen at random; if that replica cannot hand out a connection, the read falls
//! back once to the primary. Writes, and reads that must see a write just made, use the primary.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::IntoSql;
use diesel::sql_types::Integer;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use quay_ports::store::{BackendError, BackendErrorKind};
use rand::RngExt;

use crate::conn::{DbConn, db_run};
use crate::error::{DbError, backend};
use crate::postgres::{self, PgConnector};
use crate::settings::{DbSettings, DbTarget};
use crate::sqlite::{self, SqliteConn, SqliteConnector};

/// Which pool a connection should come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// The primary: writes and read-after-write.
    Primary,
    /// A replica if any, else the primary.
    Read,
}

enum DbPool {
    Pg {
        pool: Pool<AsyncPgConnection>,
        target: String,
    },
    Sqlite {
        pool: Pool<SqliteConn>,
        path: PathBuf,
    },
}

impl DbPool {
    fn describe(&self) -> String {
        match self {
            Self::Pg { target, .. } => format!("PostgreSQL at {target}"),
            Self::Sqlite { path, .. } => format!("SQLite database {}", path.display()),
        }
    }

    async fn get(&self, timeout: Duration) -> Result<DbConn, BackendError> {
        let unavailable = |e: Box<dyn std::error::Error + Send + Sync>| {
            BackendError::new(
                BackendErrorKind::Unavailable,
                format!("cannot get a connection to {}", self.describe()),
                e,
            )
        };
        let timed_out = || {
            BackendError::msg(
                BackendErrorKind::Unavailable,
                format!(
                    "timed out after {timeout:?} waiting for a connection to {}",
                    self.describe()
                ),
            )
        };
        match self {
            Self::Pg { pool, .. } => match tokio::time::timeout(timeout, pool.get()).await {
                Ok(Ok(c)) => Ok(DbConn::Pg(c)),
                Ok(Err(e)) => Err(unavailable(Box::new(e))),
                Err(_) => Err(timed_out()),
            },
            Self::Sqlite { pool, .. } => match tokio::time::timeout(timeout, pool.get()).await {
                Ok(Ok(c)) => Ok(DbConn::Sqlite(c)),
                Ok(Err(e)) => Err(unavailable(Box::new(e))),
                Err(_) => Err(timed_out()),
            },
        }
    }
}

/// Counts of read routing decisions, for metrics (`quay_dal_read_replica_routing_total`,
/// `quay_dal_replica_fallback_total`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoutingStats {
    /// Reads served by a replica.
    pub replica_reads: u64,
    /// Reads that fell back to the primary because a replica failed.
    pub replica_fallbacks: u64,
}

struct Inner {
    primary: DbPool,
    replicas: Vec<DbPool>,
    acquire_timeout: Duration,
    replica_reads: AtomicU64,
    replica_fallbacks: AtomicU64,
}

/// A raw primary connection, e.g. for running migrations
/// (`quay_migrations::upgrade_pg(&mut conn)` / `upgrade_sqlite(&mut conn)`).
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived, one per database call; boxing would add an allocation per call"
)]
pub enum RawConnection {
    /// A pooled PostgreSQL connection; derefs to `AsyncPgConnection`.
    Postgres(Object<AsyncPgConnection>),
    /// A pooled SQLite connection; derefs to `SyncConnectionWrapper<SqliteConnection>`.
    Sqlite(Object<SqliteConn>),
}

/// Which backend the primary uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL.
    Postgres,
    /// SQLite.
    Sqlite,
}

/// The opened database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

async fn open(target: &DbTarget, settings: &DbSettings, eager: bool) -> Result<DbPool, DbError> {
    match target {
        DbTarget::Postgres {
            url,
            connection_args,
        } => {
            let connector = Arc::new(PgConnector::new(url, connection_args)?);
            if eager {
                drop(connector.connect().await?);
            }
            let target = connector.target().to_owned();
            Ok(DbPool::Pg {
                pool: postgres::pool(connector, settings.pool_size)?,
                target,
            })
        }
        DbTarget::Sqlite {
            path,
            connection_args,
        } => {
            let connector = Arc::new(SqliteConnector::new(path, connection_args)?);
            if eager {
                connector.check_path()?;
                drop(connector.connect().await?);
            }
            let path = connector.path().to_owned();
            Ok(DbPool::Sqlite {
                pool: sqlite::pool(connector, settings.sqlite_pool_size)?,
                path,
            })
        }
    }
}

/// Opens the database: connects once to the primary (so a wrong URL, an unreachable server or an
/// unwritable SQLite file is reported now, with what to fix), then builds the pools. Replicas
/// are tried once too, but a replica that is down only logs a warning: reads fall back to the
/// primary until it returns.
///
/// # Errors
/// Any [`DbError`] about the primary, or [`DbError::MixedBackends`].
pub async fn connect(settings: DbSettings) -> Result<Database, DbError> {
    let same_backend = settings.replicas.iter().all(|r| {
        matches!(
            (&settings.primary, r),
            (DbTarget::Postgres { .. }, DbTarget::Postgres { .. })
                | (DbTarget::Sqlite { .. }, DbTarget::Sqlite { .. })
        )
    });
    if !same_backend {
        return Err(DbError::MixedBackends);
    }
    let primary = open(&settings.primary, &settings, true).await?;
    let mut replicas = Vec::with_capacity(settings.replicas.len());
    for r in &settings.replicas {
        if let Err(e) = open(r, &settings, true).await {
            tracing::warn!(db.replica = %r.describe(), error = %e, "read replica unavailable at start");
        }
        replicas.push(open(r, &settings, false).await?);
    }
    Ok(Database {
        inner: Arc::new(Inner {
            primary,
            replicas,
            acquire_timeout: settings.acquire_timeout,
            replica_reads: AtomicU64::new(0),
            replica_fallbacks: AtomicU64::new(0),
        }),
    })
}

impl Database {
    /// A connection for `route`.
    pub(crate) async fn conn(&self, route: Route) -> Result<DbConn, BackendError> {
        let inner = &self.inner;
        if route == Route::Read && !inner.replicas.is_empty() {
            #[expect(
                clippy::disallowed_methods,
                reason = "replica choice needs no secure randomness"
            )]
            let i = rand::rng().random_range(0..inner.replicas.len());
            let replica = &inner.replicas[i];
            match replica.get(inner.acquire_timeout).await {
                Ok(c) => {
                    inner.replica_reads.fetch_add(1, Ordering::Relaxed);
                    return Ok(c);
                }
                Err(e) => {
                    inner.replica_fallbacks.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(db.replica = %replica.describe(), error = %e, "read replica failed; using the primary");
                }
            }
        }
        inner.primary.get(inner.acquire_timeout).await
    }

    /// Which backend the primary uses.
    pub fn backend(&self) -> Backend {
        match self.inner.primary {
            DbPool::Pg { .. } => Backend::Postgres,
            DbPool::Sqlite { .. } => Backend::Sqlite,
        }
    }

    /// Read routing counts since start.
    pub fn routing_stats(&self) -> RoutingStats {
        RoutingStats {
            replica_reads: AtomicU64::load(&self.inner.replica_reads, Ordering::Relaxed),
            replica_fallbacks: AtomicU64::load(&self.inner.replica_fallbacks, Ordering::Relaxed),
        }
    }

    /// Checks the primary answers `SELECT 1`, for health checks.
    ///
    /// # Errors
    /// [`DbError::Backend`] when no connection can be had or the query fails.
    pub async fn ping(&self) -> Result<(), DbError> {
        let mut conn = self.conn(Route::Primary).await?;
        let one: i32 = db_run!(conn, |c| diesel::select(1_i32.into_sql::<Integer>())
            .get_result(c)
            .await)
        .map_err(|e| backend("pinging the database", e))?;
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// A raw connection to the primary, e.g. to run migrations.
    ///
    /// # Errors
    /// [`DbError::Backend`] when no connection can be had.
    pub async fn raw_primary_connection(&self) -> Result<RawConnection, DbError> {
        Ok(match self.conn(Route::Primary).await? {
            DbConn::Pg(c) => RawConnection::Postgres(c),
            DbConn::Sqlite(c) => RawConnection::Sqlite(c),
        })
    }
}
