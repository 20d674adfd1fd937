//! SQLite connections: `SyncConnectionWrapper<SqliteConnection>` configured on every connect with
//! Quay's PRAGMAs (WAL, `busy_timeout` 10 s, `wal_autocheckpoint` 1000, `synchronous` normal)
//! plus `foreign_keys = ON`, and a small pool. Writes begin with `BEGIN IMMEDIATE` (see
//! [`crate::conn`]), so concurrent writers queue on the busy timeout instead of failing with
//! "database is locked" when upgrading a read lock.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use diesel::{ConnectionError, SqliteConnection};
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use futures_util::FutureExt;
use serde_json::Value;

use crate::error::DbError;
use crate::settings::ConnectionArgs;

/// The SQLite connection type used throughout the adapter.
pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// Everything needed to open one SQLite connection.
pub(crate) struct SqliteConnector {
    path: PathBuf,
    pragmas: Vec<(String, String)>,
}

fn is_word(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn pragma_value(key: &str, v: &Value) -> Result<String, DbError> {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => if *b { "ON" } else { "OFF" }.to_owned(),
        _ => String::new(),
    };
    if is_word(&s) {
        Ok(s)
    } else {
        Err(DbError::InvalidConnectionArg {
            key: key.into(),
            reason: "expected a simple PRAGMA value".into(),
        })
    }
}

/// PRAGMAs Quay sets on every SQLite connection (overriding `DB_CONNECTION_ARGS.pragmas`),
/// plus foreign key enforcement.
const QUAY_PRAGMAS: &[(&str, &str)] = &[
    ("busy_timeout", "10000"),
    ("journal_mode", "wal"),
    ("wal_autocheckpoint", "1000"),
    ("synchronous", "normal"),
    ("foreign_keys", "ON"),
];

/// Keys Quay removes or peewee consumes for SQLite, and PostgreSQL-only keys a shared
/// `DB_CONNECTION_ARGS` may carry.
const IGNORED: &[&str] = &[
    "timeout",
    "autorollback",
    "autoconnect",
    "threadlocals",
    "stale_timeout",
    "max_connections",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "application_name",
];

fn set(pragmas: &mut Vec<(String, String)>, name: &str, value: String) {
    match pragmas.iter_mut().find(|(n, _)| n == name) {
        Some(p) => p.1 = value,
        None => pragmas.push((name.to_owned(), value)),
    }
}

impl SqliteConnector {
    /// Builds the PRAGMA list as Quay's `_db_from_url` does: the `pragmas` map of
    /// `DB_CONNECTION_ARGS` first, then Quay's own settings on top (`busy_timeout` 10000,
    /// `journal_mode` wal, `wal_autocheckpoint` 1000, `synchronous` normal), plus
    /// `foreign_keys = ON`. Quay drops `timeout` and peewee's pool keys for SQLite; so do we.
    pub(crate) fn new(path: &Path, args: &ConnectionArgs) -> Result<Self, DbError> {
        let mut pragmas: Vec<(String, String)> = Vec::new();
        for (key, value) in args {
            match key.as_str() {
                "pragmas" => {
                    let Value::Object(map) = value else {
                        return Err(DbError::InvalidConnectionArg {
                            key: key.clone(),
                            reason: "expected a map".into(),
                        });
                    };
                    for (name, v) in map {
                        if !is_word(name) {
                            return Err(DbError::InvalidConnectionArg {
                                key: format!("pragmas.{name}"),
                                reason: "not a PRAGMA name".into(),
                            });
                        }
                        set(&mut pragmas, name, pragma_value(name, v)?);
                    }
                }
                k if IGNORED.contains(&k) => {}
                other => tracing::warn!(
                    db.arg = other,
                    "ignoring unsupported DB_CONNECTION_ARGS key for SQLite"
                ),
            }
        }
        for (k, v) in QUAY_PRAGMAS {
            set(&mut pragmas, k, (*v).to_owned());
        }
        Ok(Self {
            path: path.to_owned(),
            pragmas,
        })
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn error(
        &self,
        hint: impl Into<String>,
        source: impl Into<quay_ports::store::BoxError>,
    ) -> DbError {
        DbError::Sqlite {
            path: self.path.clone(),
            hint: hint.into(),
            source: source.into(),
        }
    }

    /// Checks that the directory exists and the file can be opened for writing, to report
    /// problems in terms of files and permissions rather than SQLite's "unable to open".
    pub(crate) fn check_path(&self) -> Result<(), DbError> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            return Err(self.error(
                format!(
                    "directory {} does not exist: create it or fix DB_URI",
                    dir.display()
                ),
                std::io::Error::from(ErrorKind::NotFound),
            ));
        }
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map(drop)
            .map_err(|e| {
                let hint = if e.kind() == ErrorKind::PermissionDenied {
                    format!(
                        "permission denied: the file and its directory {} must be writable by the \
                         user running quay",
                        dir.display()
                    )
                } else {
                    "cannot open the file for reading and writing".to_owned()
                };
                self.error(hint, e)
            })
    }

    /// Opens one connection and applies the PRAGMAs.
    pub(crate) async fn connect(&self) -> Result<SqliteConn, DbError> {
        let url = self.path.to_str().ok_or_else(|| {
            self.error(
                "the path is not valid UTF-8",
                std::io::Error::from(ErrorKind::InvalidInput),
            )
        })?;
        let mut conn = SqliteConn::establish(url)
            .await
            .map_err(|e| self.error("SQLite cannot open the file", e))?;
        let sql: String = self
            .pragmas
            .iter()
            .map(|(k, v)| format!("PRAGMA {k} = {v};"))
            .collect();
        conn.batch_execute(&sql).await.map_err(|e| {
            self.error(
                "cannot configure the connection (WAL needs the directory to be writable for its -wal \
                 and -shm files)",
                e,
            )
        })?;
        Ok(conn)
    }
}

/// A small pool whose connections come from `connector`.
pub(crate) fn pool(
    connector: Arc<SqliteConnector>,
    size: usize,
) -> Result<Pool<SqliteConn>, DbError> {
    let path = connector.path.clone();
    let mut manager_config = ManagerConfig::<SqliteConn>::default();
    manager_config.custom_setup = Box::new(move |_url| {
        let connector = Arc::clone(&connector);
        async move {
            connector
                .connect()
                .await
                .map_err(|e| ConnectionError::BadConnection(e.to_string()))
        }
        .boxed()
    });
    let manager =
        AsyncDieselConnectionManager::new_with_config(path.display().to_string(), manager_config);
    Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .map_err(|e| DbError::Sqlite {
            path,
            hint: "cannot build the connection pool".into(),
            source: Box::new(e),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pragmas_from_args() {
        let Value::Object(args) = json!({
            "timeout": 2.5, "max_connections": 5,
            "pragmas": {"cache_size": -2000, "busy_timeout": 1}
        }) else {
            panic!("object")
        };
        let c = SqliteConnector::new(Path::new("/tmp/x.db"), &args).expect("valid");
        assert!(
            c.pragmas.contains(&("busy_timeout".into(), "10000".into())),
            "Quay's value wins"
        );
        assert!(c.pragmas.contains(&("cache_size".into(), "-2000".into())));
        assert!(c.pragmas.contains(&("foreign_keys".into(), "ON".into())));
        assert_eq!(
            c.pragmas
                .iter()
                .filter(|(k, _)| k == "busy_timeout")
                .count(),
            1
        );
        let Value::Object(bad) = json!({"pragmas": {"x; DROP TABLE user": 1}}) else {
            panic!("object")
        };
        assert!(SqliteConnector::new(Path::new("/tmp/x.db"), &bad).is_err());
    }
}
