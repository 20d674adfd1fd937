//! Errors of connecting ([`DbError`]) and the mapping of diesel errors to the ports'
//! [`BackendError`].

use std::path::PathBuf;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use quay_ports::store::{BackendError, BackendErrorKind, BoxError};

/// Why the database could not be opened. Messages name the host and port or the file, and what
/// to fix; they never contain the password.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DB_URI` cannot be used.
    #[error("invalid DB_URI: {0}")]
    InvalidUri(String),
    /// A `DB_CONNECTION_ARGS` entry cannot be used.
    #[error("invalid DB_CONNECTION_ARGS entry `{key}`: {reason}")]
    InvalidConnectionArg {
        /// The key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Replicas and primary use different backends.
    #[error("DB_READ_REPLICAS must use the same database backend as DB_URI")]
    MixedBackends,
    /// The server could not be reached.
    #[error(
        "cannot connect to PostgreSQL at {target}: check that the server is running and reachable, \
         and that the host and port in DB_URI are right"
    )]
    Unreachable {
        /// `host:port/database`.
        target: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The server refused the credentials.
    #[error(
        "PostgreSQL at {target} rejected the login: check the user name and password in DB_URI \
         and the server's pg_hba.conf"
    )]
    Authentication {
        /// `host:port/database`.
        target: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The database named in the URI does not exist.
    #[error("PostgreSQL at {target}: the database does not exist; create it or fix DB_URI")]
    MissingDatabase {
        /// `host:port/database`.
        target: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// TLS setup or the TLS handshake failed.
    #[error("TLS to PostgreSQL at {target} failed: {hint}")]
    Tls {
        /// `host:port/database`.
        target: String,
        /// What to check.
        hint: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// Any other failure to set up a PostgreSQL connection.
    #[error("cannot open a PostgreSQL connection to {target}")]
    Postgres {
        /// `host:port/database`.
        target: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// The SQLite file cannot be opened or configured.
    #[error("cannot use the SQLite database {}: {hint}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What to check.
        hint: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A query on an open connection failed (e.g. during [`crate::Database::ping`]).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Maps a diesel error to a [`BackendError`], with `context` saying what was being done.
pub(crate) fn backend(context: impl Into<String>, e: DieselError) -> BackendError {
    let kind = classify(&e);
    BackendError::new(kind, context, e)
}

fn classify(e: &DieselError) -> BackendErrorKind {
    match e {
        DieselError::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::SerializationFailure => BackendErrorKind::Transient,
            DatabaseErrorKind::ReadOnlyTransaction => BackendErrorKind::ReadOnly,
            DatabaseErrorKind::ClosedConnection => BackendErrorKind::Unavailable,
            _ => {
                let msg = info.message();
                if msg.contains("database is locked")
                    || msg.contains("database is busy")
                    || msg.contains("deadlock detected")
                {
                    BackendErrorKind::Transient
                } else if msg.contains("read-only") {
                    BackendErrorKind::ReadOnly
                } else {
                    BackendErrorKind::Other
                }
            }
        },
        DieselError::BrokenTransactionManager => BackendErrorKind::Unavailable,
        DieselError::DeserializationError(_) => BackendErrorKind::Corrupt,
        _ => BackendErrorKind::Other,
    }
}

/// A stored value that does not fit the domain model.
pub(crate) fn corrupt(what: impl Into<String>) -> BackendError {
    BackendError::msg(BackendErrorKind::Corrupt, what)
}

/// Whether a diesel error is a unique-constraint violation mentioning `needle` (a column or
/// index name); PostgreSQL reports the index, SQLite `table.column`.
pub(crate) fn is_unique_violation_on(e: &DieselError, needle: &str) -> bool {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            info.constraint_name().is_some_and(|c| c.contains(needle))
                || info.message().contains(needle)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(classify(&DieselError::NotFound), BackendErrorKind::Other);
        assert_eq!(
            classify(&DieselError::BrokenTransactionManager),
            BackendErrorKind::Unavailable
        );
        let locked = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("database is locked".to_owned()),
        );
        assert_eq!(classify(&locked), BackendErrorKind::Transient);
        assert!(backend("x", locked).is_retryable());
    }
}
