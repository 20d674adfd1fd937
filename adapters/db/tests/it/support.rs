//! Test harness: a fresh PostgreSQL database per test (from `QUAY_TEST_PG_URL`), temporary
//! SQLite files, and loaders for the schema and row fixtures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use quay_adapter_db::{ConnectionArgs, DbSettings, DbTarget};
use secrecy::SecretString;

pub const PG_SCHEMA: &str =
    include_str!("../../../../migrations/tests/fixtures/quay_schema_postgres.sql");
pub const PG_SEED: &str =
    include_str!("../../../../migrations/tests/fixtures/quay_seed_data_postgres.sql");
pub const SQLITE_SCHEMA: &str =
    include_str!("../../../../migrations/tests/fixtures/quay_schema_sqlite.sql");
pub const SQLITE_SEED: &str =
    include_str!("../../../../migrations/tests/fixtures/quay_seed_data_sqlite.sql");
pub const ORACLE_ROWS: &str = include_str!("../fixtures/oracle_registry_rows_postgres.sql");
pub const PYTHON_ACCOUNTS: &str = include_str!("../fixtures/python_accounts.sql");
pub const MIRROR_REGISTRY_DUMP: &str =
    include_str!("../../../../migrations/tests/fixtures/mirror_registry_v2.0.11_db_dump.sql");

/// The superuser URL of the test cluster; fails loudly when unset.
pub fn pg_admin_url() -> String {
    std::env::var("QUAY_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "QUAY_TEST_PG_URL is not set: these tests need PostgreSQL. Run `cargo xtask services up` \
             and export the QUAY_TEST_PG_URL it prints"
        )
    })
}

fn unique_suffix() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        &random[..8]
    )
}

/// `url` with its database replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A database created for one test and dropped afterwards.
pub struct TestPg {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestPg {
    pub async fn new() -> Result<Self> {
        let admin_url = pg_admin_url();
        let name = format!("quay_h2_{}", unique_suffix());
        let admin = connect_raw(&admin_url).await?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .context("CREATE DATABASE")?;
        let url = with_database(&admin_url, &name);
        Ok(Self {
            name,
            url,
            admin_url,
        })
    }

    /// Runs SQL on this database over a fresh connection (fixtures may change `search_path`).
    pub async fn execute(&self, sql: &str) -> Result<()> {
        let client = connect_raw(&self.url).await?;
        client
            .batch_execute(&strip_psql_meta(sql))
            .await
            .context("running SQL fixture")?;
        Ok(())
    }

    /// Quay's schema at head plus its seed data, as `alembic upgrade head` leaves them.
    pub async fn load_quay_schema(&self) -> Result<()> {
        self.execute(PG_SCHEMA).await?;
        self.execute(PG_SEED).await
    }

    /// A new database with Quay's schema, [`PYTHON_ACCOUNTS`], then `setup`.
    pub async fn with_accounts(setup: &str) -> Result<Self> {
        let pg = Self::new().await?;
        pg.load_quay_schema().await?;
        pg.execute(PYTHON_ACCOUNTS).await?;
        pg.execute(setup).await?;
        Ok(pg)
    }

    pub fn target(&self) -> DbTarget {
        DbTarget::Postgres {
            url: SecretString::from(self.url.clone()),
            connection_args: ConnectionArgs::new(),
        }
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Dropping needs async I/O; do it on a private runtime so it works from any context.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let admin = connect_raw(&admin_url).await?;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await?;
                anyhow::Ok(())
            })
        })
        .join();
    }
}

/// A plain tokio-postgres client (no TLS) whose connection task runs in the background.
pub async fn connect_raw(url: &str) -> Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .with_context(|| {
            format!(
                "connecting to {}",
                url.split('@').next_back().unwrap_or("?")
            )
        })?;
    tokio::spawn(conn);
    Ok(client)
}

/// Drops psql meta-commands (`\restrict …`) that pg_dump 15.14+ writes.
pub fn strip_psql_meta(sql: &str) -> String {
    sql.lines()
        .filter(|l| !l.starts_with('\\'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The oracle rows (PostgreSQL `INSERT INTO public.x`) rewritten for SQLite.
pub fn oracle_rows_for_sqlite() -> String {
    ORACLE_ROWS.replace("INSERT INTO public.", "INSERT INTO ")
}

/// A temporary directory holding one SQLite file.
pub struct TestSqlite {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TestSqlite {
    pub fn new() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("quay.db");
        Ok(Self { _dir: dir, path })
    }

    /// Runs SQL on the file with a plain synchronous connection, foreign keys off (as a dump
    /// restore does).
    pub fn execute(&self, sql: &str) -> Result<()> {
        execute_sqlite(&self.path, sql)
    }

    pub fn load_quay_schema(&self) -> Result<()> {
        self.execute(SQLITE_SCHEMA)?;
        self.execute(SQLITE_SEED)
    }

    /// A new file with Quay's schema, [`PYTHON_ACCOUNTS`], then `setup`.
    pub fn with_accounts(setup: &str) -> Result<Self> {
        let file = Self::new()?;
        file.load_quay_schema()?;
        file.execute(PYTHON_ACCOUNTS)?;
        file.execute(setup)?;
        Ok(file)
    }

    pub fn target(&self) -> DbTarget {
        DbTarget::Sqlite {
            path: self.path.clone(),
            connection_args: ConnectionArgs::new(),
        }
    }
}

pub fn execute_sqlite(path: &Path, sql: &str) -> Result<()> {
    let url = path.to_str().context("utf-8 path")?;
    let mut conn = SqliteConnection::establish(url)?;
    conn.batch_execute("PRAGMA foreign_keys = OFF;")?;
    conn.batch_execute(sql)
        .context("running SQL fixture on SQLite")?;
    Ok(())
}

pub fn settings(target: DbTarget) -> DbSettings {
    DbSettings::new(target)
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = Text)]
    v: String,
}

/// Raw SQL on either backend.
pub enum Raw<'a> {
    Pg(&'a TestPg),
    Sqlite(&'a TestSqlite),
}

impl Raw<'_> {
    /// The single `BIGINT` the query returns.
    pub async fn scalar(&self, sql: &str) -> Result<i64> {
        match self {
            Raw::Pg(pg) => {
                let client = connect_raw(&pg.url).await?;
                let row = client.query_one(sql, &[]).await.context(sql.to_owned())?;
                Ok(row.get::<_, i64>(0))
            }
            Raw::Sqlite(file) => {
                let mut conn = sqlite_connection(file)?;
                let wrapped = format!("({sql})");
                Ok(diesel::select(diesel::dsl::sql::<BigInt>(&wrapped)).get_result(&mut conn)?)
            }
        }
    }

    /// The single text column `v` of each row.
    pub async fn texts(&self, sql: &str) -> Result<Vec<String>> {
        match self {
            Raw::Pg(pg) => {
                let client = connect_raw(&pg.url).await?;
                let rows = client.query(sql, &[]).await.context(sql.to_owned())?;
                Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
            }
            Raw::Sqlite(file) => {
                let mut conn = sqlite_connection(file)?;
                let rows: Vec<TextRow> = diesel::sql_query(sql).load(&mut conn)?;
                Ok(rows.into_iter().map(|r| r.v).collect())
            }
        }
    }

    pub async fn execute(&self, sql: &str) -> Result<()> {
        match self {
            Raw::Pg(pg) => pg.execute(sql).await,
            Raw::Sqlite(file) => file.execute(sql),
        }
    }
}

fn sqlite_connection(file: &TestSqlite) -> Result<SqliteConnection> {
    let url = file.path.to_str().context("utf-8 path")?;
    Ok(SqliteConnection::establish(url)?)
}
