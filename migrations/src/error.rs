//! The errors of the runner.

use crate::HEAD;

/// Why [`crate::upgrade_pg`], [`crate::upgrade_sqlite`] or an inspection failed.
///
/// Every refusal names the version found, the head this build knows and what to do.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// The database is stamped with a known Quay revision older than [`HEAD`]. quay-rs only
    /// creates the schema on an empty database; it does not replay Alembic's history.
    #[error(
        "the database is at Quay's Alembic revision {found}, older than head {HEAD}; quay-rs \
         creates Quay's schema only on an empty database: first upgrade this database to {HEAD} \
         with Python Quay's own migrations (`alembic upgrade head`), or, for a mirror-registry \
         SQLite database (revision 3f8d7acdf7f9), run `quay migrate --from-mirror-registry PATH`"
    )]
    Behind {
        /// The `alembic_version` found.
        found: String,
    },

    /// The database has tables but no `alembic_version` row: it is not a Quay database.
    #[error(
        "the database has tables but no Alembic version (found: none, head: {HEAD}); it is not a \
         Quay database: point DB_URI at an empty database or at the Quay database you meant"
    )]
    NotQuay,

    /// The database is stamped with a revision this build does not know: newer than
    /// [`HEAD`], or not Quay's.
    #[error(
        "the database is at Alembic revision {found}, which this quay-rs does not know (its head \
         is {HEAD}): the database is newer than this build or not Quay's; run the quay-rs release \
         whose head is {found}, or restore a backup taken before a newer version migrated it"
    )]
    Unknown {
        /// The `alembic_version` found (several are joined with `,`).
        found: String,
    },

    /// A statement failed; `step` says which (reading the state, applying a migration, ...).
    #[error("{step}: {source}")]
    Query {
        /// What the runner was doing.
        step: String,
        /// The database error.
        #[source]
        source: diesel::result::Error,
    },

    /// A database error raised by the transaction machinery itself (begin, commit, rollback).
    #[error("transaction: {0}")]
    Transaction(#[from] diesel::result::Error),
}

impl MigrationError {
    pub(crate) fn query(step: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> Self {
        let step = step.into();
        move |source| Self::Query { step, source }
    }
}
