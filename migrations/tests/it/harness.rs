//! Scratch databases and fixture loading.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, Result};
use diesel::Connection;
use diesel_async::pg::AsyncPgConnection;
use diesel_async::{AsyncConnection, SimpleAsyncConnection};
use quay_migrations::SqliteConn;

/// Directory of the fixtures copied from Quay (schema dumps, seed rows, mirror-registry dump).
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn read_fixture(name: &str) -> String {
    std::fs::read_to_string(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The superuser URL of the test cluster. Fails loudly when unset.
pub fn pg_admin_url() -> String {
    std::env::var("QUAY_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "QUAY_TEST_PG_URL is not set: these tests need PostgreSQL 15. Run `cargo xtask \
             services up` and export the QUAY_TEST_PG_URL it prints \
             (e.g. postgres://postgres@127.0.0.1:PORT/postgres)"
        )
    })
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{db}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh PostgreSQL database, dropped by [`ScratchPg::drop_db`].
pub struct ScratchPg {
    admin_url: String,
    name: String,
    pub url: String,
}

impl ScratchPg {
    pub async fn create(tag: &str) -> Result<Self> {
        let admin_url = pg_admin_url();
        let name = format!(
            "quay_mig_{tag}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = AsyncPgConnection::establish(&admin_url)
            .await
            .with_context(|| format!("connecting to QUAY_TEST_PG_URL {admin_url}"))?;
        for sql in [
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .with_context(|| format!("creating database {name}"))?;
        }
        let url = with_database(&admin_url, &name);
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    pub async fn connect(&self) -> Result<AsyncPgConnection> {
        AsyncPgConnection::establish(&self.url)
            .await
            .with_context(|| format!("connecting to {}", self.url))
    }

    pub async fn drop_db(self) -> Result<()> {
        let mut admin = AsyncPgConnection::establish(&self.admin_url).await?;
        admin
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .await?;
        Ok(())
    }
}

/// Runs `body` on a fresh database and drops the database whatever the outcome.
pub async fn with_scratch_pg<T, F>(tag: &str, body: F) -> Result<T>
where
    F: AsyncFnOnce(&ScratchPg) -> Result<T>,
{
    let db = ScratchPg::create(tag).await?;
    let out = body(&db).await;
    db.drop_db().await?;
    out
}

/// Executes a pg_dump file the way psql would, minus psql's own meta-commands (`\restrict`).
pub async fn load_pg_dump(conn: &mut AsyncPgConnection, name: &str) -> Result<()> {
    let sql: String = read_fixture(name)
        .lines()
        .filter(|l| !l.starts_with('\\'))
        .map(|l| format!("{l}\n"))
        .collect();
    conn.batch_execute(&sql)
        .await
        .with_context(|| format!("loading fixture {name}"))
}

/// Opens (creating) a SQLite file.
pub fn open_sqlite(path: &Path) -> Result<SqliteConn> {
    let url = path.to_str().context("non UTF-8 temp path")?;
    let conn =
        diesel::SqliteConnection::establish(url).with_context(|| format!("opening {url}"))?;
    Ok(SqliteConn::new(conn))
}

/// Executes a sqlite3 `.schema`/`.dump` file.
pub async fn load_sqlite_dump(conn: &mut SqliteConn, name: &str) -> Result<()> {
    conn.batch_execute(&read_fixture(name))
        .await
        .with_context(|| format!("loading fixture {name}"))
}

#[test]
fn replaces_the_database_of_a_url() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h:1/db?sslmode=disable", "x"),
        "postgres://u:p@h:1/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
}
