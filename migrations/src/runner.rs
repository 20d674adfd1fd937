//! Bringing a database to [`crate::HEAD`], in one transaction.
//!
//! The version marker is Quay's own `alembic_version` row (no diesel bookkeeping table), so Python
//! Quay accepts a database created here, and quay-rs accepts one Python Quay created.

use diesel_async::pg::AsyncPgConnection;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use crate::SqliteConn;
use crate::embedded::{self, Migration};
use crate::error::MigrationError;
use crate::state::{self, SchemaState};

/// What an upgrade did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The state found before the upgrade: [`SchemaState::Empty`] or [`SchemaState::AtHead`].
    pub from: SchemaState,
    /// Names of the migrations applied, in order (empty when the database was at head).
    pub migrations: Vec<&'static str>,
}

impl Applied {
    /// Whether the database was already at head.
    pub fn is_noop(&self) -> bool {
        self.migrations.is_empty()
    }
}

/// Key of the transaction-scoped advisory lock that serialises concurrent upgrades.
const PG_LOCK: &str =
    "SELECT pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('quay-migrations'))";

/// Migrates a PostgreSQL database to head in one transaction; a no-op at head.
///
/// Takes a transaction-scoped advisory lock first, so concurrent callers run one after the
/// other. The role needs `CREATE` on schema `public` and may create the trusted extension
/// `pg_trgm` (PostgreSQL 13+: any database owner).
///
/// # Errors
/// [`MigrationError::Behind`], [`MigrationError::NotQuay`] or [`MigrationError::Unknown`] when the
/// database is neither empty nor at head (nothing is changed);
/// [`MigrationError::Query`] / [`MigrationError::Transaction`] when a statement fails (the
/// transaction is rolled back).
pub async fn upgrade_pg(conn: &mut AsyncPgConnection) -> Result<Applied, MigrationError> {
    conn.transaction(async |c| {
        c.batch_execute(PG_LOCK)
            .await
            .map_err(MigrationError::query("taking the migration lock"))?;
        let from = state::inspect_pg(c).await?;
        let pending = pending(&from, embedded::POSTGRES)?;
        for m in pending {
            tracing::info!(migration.name = m.name, "applying migration (PostgreSQL)");
            c.batch_execute(m.up)
                .await
                .map_err(MigrationError::query(format!("applying {}", m.name)))?;
        }
        Ok(Applied {
            from,
            migrations: pending.iter().map(|m| m.name).collect(),
        })
    })
    .await
}

/// Migrates a SQLite database to head in one `BEGIN IMMEDIATE` transaction; a no-op at head.
///
/// # Errors
/// As [`upgrade_pg`].
pub async fn upgrade_sqlite(conn: &mut SqliteConn) -> Result<Applied, MigrationError> {
    conn.immediate_transaction(async |c| {
        let from = state::inspect_sqlite(c).await?;
        let pending = pending(&from, embedded::SQLITE)?;
        for m in pending {
            tracing::info!(migration.name = m.name, "applying migration (SQLite)");
            c.batch_execute(m.up)
                .await
                .map_err(MigrationError::query(format!("applying {}", m.name)))?;
        }
        Ok(Applied {
            from,
            migrations: pending.iter().map(|m| m.name).collect(),
        })
    })
    .await
}

/// Runs every `down.sql` in reverse order, in one transaction: back to an empty database.
/// For redo tests; `quay migrate` never calls it.
///
/// # Errors
/// [`MigrationError::Query`] / [`MigrationError::Transaction`] when a statement fails.
pub async fn revert_pg(conn: &mut AsyncPgConnection) -> Result<(), MigrationError> {
    conn.transaction(async |c| {
        for m in embedded::POSTGRES.iter().rev() {
            c.batch_execute(m.down)
                .await
                .map_err(MigrationError::query(format!("reverting {}", m.name)))?;
        }
        Ok(())
    })
    .await
}

/// SQLite counterpart of [`revert_pg`].
///
/// # Errors
/// As [`revert_pg`].
pub async fn revert_sqlite(conn: &mut SqliteConn) -> Result<(), MigrationError> {
    conn.immediate_transaction(async |c| {
        for m in embedded::SQLITE.iter().rev() {
            c.batch_execute(m.down)
                .await
                .map_err(MigrationError::query(format!("reverting {}", m.name)))?;
        }
        Ok(())
    })
    .await
}

/// The migrations to run from `state`, or the refusal.
fn pending<'m>(
    state: &SchemaState,
    tree: &'m [Migration],
) -> Result<&'m [Migration], MigrationError> {
    match state {
        SchemaState::Empty => Ok(tree),
        SchemaState::AtHead => Ok(&[]),
        SchemaState::Behind(found) => Err(MigrationError::Behind {
            found: found.clone(),
        }),
        SchemaState::Unknown(found) if found == "none" => Err(MigrationError::NotQuay),
        SchemaState::Unknown(found) => Err(MigrationError::Unknown {
            found: found.clone(),
        }),
    }
}
