//! Opening Quay's database from the configuration, and checking its schema before use.
//!
//! quay-rs uses a database only when it holds Quay's schema at the Alembic head this build
//! speaks. An empty database is migrated only by `quay db upgrade` or by the mirror preset's
//! first start; any other version is refused with a message naming both versions.

use anyhow::{Context, Result, bail};
use quay_adapter_db::{Database, DbSettings, DbTarget, RawConnection};
use quay_migrations::{Applied, SchemaState};
use serde_json::{Map, Value, json};

use crate::config::{DbConnectionArgs, DbUri, QuayConfig};

fn args_map(args: &DbConnectionArgs) -> Map<String, Value> {
    let mut map = args.other.clone();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            map.insert(k.to_owned(), v);
        }
    };
    put("max_connections", args.max_connections.map(|v| json!(v)));
    put("stale_timeout", args.stale_timeout.map(|v| json!(v)));
    put("connect_timeout", args.connect_timeout.map(|v| json!(v)));
    put("sslmode", args.sslmode.clone().map(Value::String));
    put(
        "sslrootcert",
        args.sslrootcert
            .as_ref()
            .map(|p| Value::String(p.display().to_string())),
    );
    map
}

fn target(uri: &DbUri, args: &DbConnectionArgs) -> Result<DbTarget> {
    Ok(match uri {
        DbUri::Postgres { uri, .. } => DbTarget::from_quay_uri(uri, args_map(args))?,
        DbUri::Sqlite { path } => DbTarget::Sqlite {
            path: path.clone(),
            connection_args: args_map(args),
        },
    })
}

/// The adapter settings for the configured primary and read replicas.
///
/// # Errors
/// When a URI cannot be used by the adapter.
pub fn settings(config: &QuayConfig) -> Result<DbSettings> {
    let db = &config.db;
    let mut settings = DbSettings::new(target(&db.uri, &db.connection_args)?);
    for replica in &db.read_replicas {
        settings
            .replicas
            .push(target(&replica.uri, &replica.connection_args)?);
    }
    if let Some(max) = db.connection_args.max_connections {
        settings.pool_size = usize::try_from(max).unwrap_or(usize::MAX).max(1);
    }
    Ok(settings)
}

/// The SQLite file of the configuration, if the primary is SQLite.
pub fn sqlite_path(config: &QuayConfig) -> Option<&std::path::Path> {
    match &config.db.uri {
        DbUri::Sqlite { path } => Some(path),
        DbUri::Postgres { .. } => None,
    }
}

/// Connects to the primary (and replicas).
///
/// # Errors
/// An unreachable server, a wrong password, an unwritable SQLite directory: the adapter's
/// message names the target and the fix.
pub async fn connect(config: &QuayConfig) -> Result<Database> {
    let settings = settings(config)?;
    let described = settings.primary.describe();
    quay_adapter_db::connect(settings)
        .await
        .with_context(|| format!("cannot open the database ({described})"))
}

/// The schema the database holds. Reads only.
///
/// # Errors
/// When the catalog cannot be read.
pub async fn state(db: &Database) -> Result<SchemaState> {
    Ok(match db.raw_primary_connection().await? {
        RawConnection::Postgres(mut c) => quay_migrations::inspect_pg(&mut c).await?,
        RawConnection::Sqlite(mut c) => quay_migrations::inspect_sqlite(&mut c).await?,
    })
}

/// Migrates an empty database to the head (a no-op at head).
///
/// # Errors
/// Refuses any other version, naming it and the head.
pub async fn upgrade(db: &Database) -> Result<Applied> {
    Ok(match db.raw_primary_connection().await? {
        RawConnection::Postgres(mut c) => quay_migrations::upgrade_pg(&mut c).await?,
        RawConnection::Sqlite(mut c) => quay_migrations::upgrade_sqlite(&mut c).await?,
    })
}

/// Reads the schema state of an existing SQLite file through a read-only connection, so that a
/// database quay-rs refuses is left byte-for-byte as it was (the adapter's connections switch the
/// file to WAL mode, which rewrites its header). `None` when the file does not exist.
///
/// # Errors
/// When the file cannot be opened or its catalog read.
pub async fn sqlite_state_read_only(path: &std::path::Path) -> Result<Option<SchemaState>> {
    use diesel_async::AsyncConnection;
    if !path.exists() {
        return Ok(None);
    }
    let url = format!("file:{}?mode=ro", path.display());
    let mut conn = quay_migrations::SqliteConn::establish(&url)
        .await
        .with_context(|| {
            format!(
                "cannot open the SQLite database {} read-only",
                path.display()
            )
        })?;
    Ok(Some(quay_migrations::inspect_sqlite(&mut conn).await?))
}

/// Checks, without writing anything, that the configured database may be opened: an existing
/// SQLite file must be at the head, or empty when `allow_create`.
///
/// # Errors
/// The refusal, naming the version found and the head.
pub async fn preflight(config: &QuayConfig, allow_create: bool) -> Result<()> {
    let Some(path) = sqlite_path(config) else {
        return Ok(());
    };
    match sqlite_state_read_only(path).await? {
        None | Some(SchemaState::AtHead) => Ok(()),
        Some(SchemaState::Empty) if allow_create => Ok(()),
        Some(SchemaState::Empty) => bail!(
            "the database {} is empty (found: no schema, head: {}): create Quay's schema with \
             `quay db upgrade` (same --config/--mode), then start again",
            path.display(),
            quay_migrations::HEAD
        ),
        Some(other) => Err(refusal(other)),
    }
}

/// Fails unless the schema is at the head; `allow_create` lets an empty database be migrated
/// (the mirror preset's first start).
///
/// # Errors
/// An empty database without `allow_create`, or any other version than the head.
pub async fn ensure_head(db: &Database, allow_create: bool) -> Result<()> {
    match state(db).await? {
        SchemaState::AtHead => Ok(()),
        SchemaState::Empty if allow_create => {
            let applied = upgrade(db).await?;
            tracing::info!(
                db.migrations = applied.migrations.len(),
                db.version = quay_migrations::HEAD,
                "created Quay's schema in the empty database"
            );
            Ok(())
        }
        SchemaState::Empty => bail!(
            "the database is empty (found: no schema, head: {}): create Quay's schema with \
             `quay db upgrade` (same --config/--mode), then start again",
            quay_migrations::HEAD
        ),
        other => Err(refusal(other)),
    }
}

fn refusal(state: SchemaState) -> anyhow::Error {
    // Reuse the migration runner's wording, which names both versions and the fix.
    let err = match state {
        SchemaState::Behind(found) => quay_migrations::MigrationError::Behind { found },
        SchemaState::Unknown(found) if found == "none" => quay_migrations::MigrationError::NotQuay,
        SchemaState::Unknown(found) => quay_migrations::MigrationError::Unknown { found },
        SchemaState::Empty | SchemaState::AtHead => {
            return anyhow::anyhow!("internal: refusal of a usable schema state");
        }
    };
    err.into()
}

/// One line describing a schema state for `quay db status`.
pub fn describe(state: &SchemaState) -> String {
    let head = quay_migrations::HEAD;
    match state {
        SchemaState::Empty => {
            format!("empty (no schema); `quay db upgrade` creates Quay's schema at {head}")
        }
        SchemaState::AtHead => format!("at Alembic head {head}: usable by quay-rs and Python Quay"),
        SchemaState::Behind(found) => {
            format!(
                "at older Alembic revision {found} (head {head}): {}",
                refusal(state.clone())
            )
        }
        SchemaState::Unknown(found) => {
            format!(
                "at unknown Alembic revision {found} (head {head}): {}",
                refusal(state.clone())
            )
        }
    }
}
