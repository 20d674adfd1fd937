//! The action log store on PostgreSQL and SQLite: an entry lands in `logentry3` with every
//! field and its kind looked up by name (one `INSERT … SELECT`); an unknown kind is refused
//! with `UnknownKind` and writes nothing.

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text};
use quay_adapter_db::{Stores, connect};
use quay_ports::store::{AuditEntry, AuditLogError};

use crate::support::{self, TestPg, TestSqlite};

fn when() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 13, 14, 15)
        .single()
        .expect("valid time")
}

fn entry(kind: &str, metadata: &str, performer: Option<i64>, ip: Option<&str>) -> AuditEntry {
    AuditEntry {
        kind: kind.into(),
        account_id: 2,
        performer_id: performer,
        repository_id: performer.map(|_| 1),
        datetime: when(),
        ip: ip.map(str::to_owned),
        metadata_json: metadata.into(),
    }
}

/// Logs two entries (one with every optional field, one with none) and one of an unknown kind.
async fn log_entries(stores: &Stores) -> Result<()> {
    stores
        .audit
        .log_action(&entry(
            "pull_repo",
            "{\"tag\": \"full\"}",
            Some(1),
            Some("10.1.2.3"),
        ))
        .await?;
    stores
        .audit
        .log_action(&entry("push_repo", "{\"tag\": \"bare\"}", None, None))
        .await?;
    let unknown = stores
        .audit
        .log_action(&entry(
            "no_such_kind",
            "{\"tag\": \"unknown\"}",
            Some(1),
            None,
        ))
        .await;
    assert!(
        matches!(&unknown, Err(AuditLogError::UnknownKind(k)) if k == "no_such_kind"),
        "{unknown:?}"
    );
    Ok(())
}

/// One `logentry3` row as the tests read it back.
#[derive(Debug, PartialEq, Eq, QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Integer)]
    account_id: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    performer_id: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    repository_id: Option<i32>,
    #[diesel(sql_type = Text)]
    datetime: String,
    #[diesel(sql_type = Nullable<Text>)]
    ip: Option<String>,
    #[diesel(sql_type = Text)]
    metadata_json: String,
}

/// The rows this test wrote (the fixtures' own entries have other metadata); `datetime` is the
/// backend's expression for the column as `YYYY-MM-DD HH:MM:SS`.
fn rows_sql(datetime: &str) -> String {
    format!(
        "SELECT k.name AS kind, l.account_id, l.performer_id, l.repository_id, \
         {datetime} AS datetime, l.ip, l.metadata_json FROM logentry3 l \
         JOIN logentrykind k ON k.id = l.kind_id WHERE l.metadata_json LIKE '{{\"tag\": %' \
         ORDER BY l.id"
    )
}

fn expected() -> Vec<Row> {
    vec![
        Row {
            kind: "pull_repo".into(),
            account_id: 2,
            performer_id: Some(1),
            repository_id: Some(1),
            datetime: "2026-11-27 13:14:15".into(),
            ip: Some("10.1.2.3".into()),
            metadata_json: "{\"tag\": \"full\"}".into(),
        },
        Row {
            kind: "push_repo".into(),
            account_id: 2,
            performer_id: None,
            repository_id: None,
            datetime: "2026-11-27 13:14:15".into(),
            ip: None,
            metadata_json: "{\"tag\": \"bare\"}".into(),
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn action_log_entries_postgres() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    pg.execute(support::PYTHON_ACCOUNTS).await?;
    let db = connect(support::settings(pg.target())).await?;
    log_entries(&db.stores()).await?;
    let client = support::connect_raw(&pg.url).await?;
    let sql = rows_sql("to_char(l.datetime, 'YYYY-MM-DD HH24:MI:SS')");
    let rows: Vec<Row> = client
        .query(sql.as_str(), &[])
        .await?
        .iter()
        .map(|r| Row {
            kind: r.get("kind"),
            account_id: r.get("account_id"),
            performer_id: r.get("performer_id"),
            repository_id: r.get("repository_id"),
            datetime: r.get("datetime"),
            ip: r.get("ip"),
            metadata_json: r.get("metadata_json"),
        })
        .collect();
    assert_eq!(rows, expected());
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn action_log_entries_sqlite() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    file.execute(support::PYTHON_ACCOUNTS)?;
    let db = connect(support::settings(file.target())).await?;
    log_entries(&db.stores()).await?;
    let mut conn = SqliteConnection::establish(file.path.to_str().expect("utf-8 path"))?;
    let rows: Vec<Row> =
        diesel::sql_query(rows_sql("substr(l.datetime, 1, 19)")).load(&mut conn)?;
    assert_eq!(rows, expected());
    Ok(())
}
