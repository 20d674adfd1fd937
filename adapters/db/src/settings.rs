//! What the composition root passes to [`crate::connect`]: targets for the primary and the read
//! replicas, taken from Quay's `DB_URI`, `DB_CONNECTION_ARGS` and `DB_READ_REPLICAS`.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};

use crate::error::DbError;

/// Quay's `DB_CONNECTION_ARGS` (or a replica's own), as written in `config.yaml`.
pub type ConnectionArgs = Map<String, Value>;

/// One database to connect to.
#[derive(Debug, Clone)]
pub enum DbTarget {
    /// A PostgreSQL server.
    Postgres {
        /// `postgresql://user:password@host:port/database[?sslmode=…]`; secret because of the
        /// password.
        url: SecretString,
        /// libpq keywords Quay passes to psycopg2: `sslmode`, `sslrootcert`, `sslcert`, `sslkey`,
        /// `connect_timeout`, `application_name`, `options`, `keepalives`, `keepalives_idle`,
        /// `target_session_attrs`. Peewee's own keys (`autorollback`, `threadlocals`,
        /// `stale_timeout`, `max_connections`, `timeout`) are accepted and ignored.
        connection_args: ConnectionArgs,
    },
    /// A SQLite file.
    Sqlite {
        /// Path of the database file.
        path: PathBuf,
        /// `timeout` (seconds, sets `busy_timeout`) and `pragmas` (a map of PRAGMA name to value,
        /// applied after Quay's defaults).
        connection_args: ConnectionArgs,
    },
}

impl DbTarget {
    /// Builds a target from Quay's `DB_URI` and `DB_CONNECTION_ARGS`.
    ///
    /// Accepted schemes: `postgresql`, `postgresql+psycopg2`, `postgres`, and `sqlite`
    /// (`sqlite:///relative/path.db`, `sqlite:////absolute/path.db`, as SQLAlchemy reads them).
    ///
    /// # Errors
    /// [`DbError::InvalidUri`] for MySQL (not supported by quay-rs), in-memory SQLite, or an
    /// unknown scheme. The message never contains the password.
    pub fn from_quay_uri(
        uri: &SecretString,
        connection_args: ConnectionArgs,
    ) -> Result<Self, DbError> {
        let raw = uri.expose_secret();
        let (scheme, rest) = raw
            .split_once("://")
            .ok_or_else(|| DbError::InvalidUri("DB_URI must look like scheme://…".into()))?;
        match scheme {
            "postgresql" | "postgresql+psycopg2" | "postgres" => Ok(Self::Postgres {
                url: SecretString::from(format!("postgresql://{rest}")),
                connection_args,
            }),
            "sqlite" => {
                let path = rest
                    .strip_prefix('/')
                    .filter(|p| !p.is_empty() && *p != ":memory:")
                    .ok_or_else(|| {
                        DbError::InvalidUri(
                            "DB_URI for SQLite must name a file: sqlite:////absolute/path/quay.db"
                                .into(),
                        )
                    })?;
                let path = path.split('?').next().unwrap_or(path);
                Ok(Self::Sqlite {
                    path: PathBuf::from(path),
                    connection_args,
                })
            }
            s if s.starts_with("mysql") => Err(DbError::InvalidUri(
                "MySQL is not supported by quay-rs; migrate the database to PostgreSQL".into(),
            )),
            other => Err(DbError::InvalidUri(format!(
                "unknown DB_URI scheme `{other}`: use postgresql:// or sqlite://"
            ))),
        }
    }

    /// A description safe to log: `postgresql host:port/db` or the SQLite path.
    pub fn describe(&self) -> String {
        match self {
            Self::Postgres { url, .. } => crate::postgres::describe_url(url),
            Self::Sqlite { path, .. } => format!("sqlite {}", path.display()),
        }
    }
}

/// Pool and routing settings.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// The primary: all writes, and reads that must see them.
    pub primary: DbTarget,
    /// Read replicas (`DB_READ_REPLICAS`); one is picked at random per read. Must use the same
    /// backend as the primary.
    pub replicas: Vec<DbTarget>,
    /// Connections per PostgreSQL pool (primary and each replica).
    pub pool_size: usize,
    /// Connections in the SQLite pool; kept small because SQLite has a single writer.
    pub sqlite_pool_size: usize,
    /// How long to wait for a pooled connection before failing.
    pub acquire_timeout: Duration,
}

impl DbSettings {
    /// Defaults: 10 PostgreSQL connections per pool, 4 SQLite connections, 10 s to acquire one
    /// (Quay's `DEFAULT_DB_CONNECT_TIMEOUT`), no replicas.
    pub fn new(primary: DbTarget) -> Self {
        Self {
            primary,
            replicas: Vec::new(),
            pool_size: 10,
            sqlite_pool_size: 4,
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(uri: &str) -> Result<DbTarget, DbError> {
        DbTarget::from_quay_uri(&SecretString::from(uri.to_owned()), ConnectionArgs::new())
    }

    #[test]
    fn quay_uris() {
        assert!(matches!(
            target("postgresql+psycopg2://u:p@h:5432/quay"),
            Ok(DbTarget::Postgres { .. })
        ));
        match target("sqlite:////var/lib/quay/quay.db") {
            Ok(DbTarget::Sqlite { path, .. }) => {
                assert_eq!(path, PathBuf::from("/var/lib/quay/quay.db"))
            }
            other => panic!("{other:?}"),
        }
        match target("sqlite:///quay.db") {
            Ok(DbTarget::Sqlite { path, .. }) => assert_eq!(path, PathBuf::from("quay.db")),
            other => panic!("{other:?}"),
        }
        let err = target("mysql+pymysql://u:hunter2@h/quay")
            .expect_err("mysql")
            .to_string();
        assert!(err.contains("MySQL") && !err.contains("hunter2"), "{err}");
        assert!(target("sqlite:///:memory:").is_err());
        assert!(target("nonsense").is_err());
    }

    #[test]
    fn describe_hides_password() {
        let t = target("postgresql://quay:hunter2@db.example:5433/quay").expect("valid");
        let d = t.describe();
        assert!(
            d.contains("db.example:5433") && !d.contains("hunter2"),
            "{d}"
        );
    }
}
