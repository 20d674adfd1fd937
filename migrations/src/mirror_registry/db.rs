//! Small SQLite helpers shared by the preflight and the copy.

use std::path::Path;

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{Connection, QueryableByName};
use diesel_async::RunQueryDsl;

use super::AdoptError;
use crate::SqliteConn;

#[derive(QueryableByName)]
pub(super) struct Count {
    #[diesel(sql_type = BigInt)]
    pub n: i64,
}

#[derive(QueryableByName)]
pub(super) struct Name {
    #[diesel(sql_type = Text)]
    pub name: String,
}

#[derive(QueryableByName)]
pub(super) struct IdName {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Text)]
    pub name: String,
}

/// One row of `pragma_table_info`.
#[derive(QueryableByName, Debug, Clone)]
pub(super) struct Column {
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub notnull: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub dflt_value: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub pk: i64,
}

/// A SQLite URI for `path` (so `mode=ro` can be given), with `%`, `?` and `#` escaped.
pub(super) fn uri(path: &Path, mode: &str) -> Result<String, AdoptError> {
    let s = path
        .to_str()
        .ok_or_else(|| AdoptError::NotUtf8(path.to_owned()))?;
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '?' => escaped.push_str("%3f"),
            '#' => escaped.push_str("%23"),
            c => escaped.push(c),
        }
    }
    Ok(format!("file:{escaped}?mode={mode}"))
}

/// Opens `path` read-only and immutable: SQLite neither writes the file nor creates its
/// `-wal`/`-shm` companions (the preflight has checked that no write-ahead log is pending).
pub(super) fn open_read_only(path: &Path) -> Result<SqliteConn, AdoptError> {
    let url = uri(path, "ro&immutable=1")?;
    let conn = diesel::SqliteConnection::establish(&url).map_err(|source| AdoptError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(SqliteConn::new(conn))
}

/// Opens (creating) `path` read-write.
pub(super) fn open_read_write(path: &Path) -> Result<SqliteConn, AdoptError> {
    let url = uri(path, "rwc")?;
    let conn = diesel::SqliteConnection::establish(&url).map_err(|source| AdoptError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(SqliteConn::new(conn))
}

/// Quotes an identifier for SQLite.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal for SQLite.
pub(super) fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

pub(super) async fn count(
    conn: &mut SqliteConn,
    schema: &str,
    table: &str,
) -> Result<i64, AdoptError> {
    let sql = format!("SELECT count(*) AS n FROM {schema}.{}", ident(table));
    let row: Count = diesel::sql_query(sql)
        .get_result(conn)
        .await
        .map_err(AdoptError::query(format!("counting {schema}.{table}")))?;
    Ok(row.n)
}

pub(super) async fn tables(conn: &mut SqliteConn, schema: &str) -> Result<Vec<String>, AdoptError> {
    let sql = format!(
        "SELECT name FROM {schema}.sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name"
    );
    let rows: Vec<Name> = diesel::sql_query(sql)
        .load(conn)
        .await
        .map_err(AdoptError::query(format!("listing the tables of {schema}")))?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}

pub(super) async fn columns(
    conn: &mut SqliteConn,
    schema: &str,
    table: &str,
) -> Result<Vec<Column>, AdoptError> {
    let sql = format!(
        "SELECT name, \"notnull\", dflt_value, pk FROM pragma_table_info({}, {}) ORDER BY cid",
        literal(table),
        literal(schema)
    );
    diesel::sql_query(sql)
        .load(conn)
        .await
        .map_err(AdoptError::query(format!(
            "reading the columns of {schema}.{table}"
        )))
}

pub(super) async fn id_names(
    conn: &mut SqliteConn,
    schema: &str,
    table: &str,
) -> Result<Vec<IdName>, AdoptError> {
    let sql = format!(
        "SELECT id, CAST(name AS TEXT) AS name FROM {schema}.{} ORDER BY id",
        ident(table)
    );
    diesel::sql_query(sql)
        .load(conn)
        .await
        .map_err(AdoptError::query(format!("reading {schema}.{table}")))
}

/// The single-text-column result of a PRAGMA such as `integrity_check`.
pub(super) async fn pragma_lines(
    conn: &mut SqliteConn,
    sql: &str,
) -> Result<Vec<String>, AdoptError> {
    let rows: Vec<Name> = diesel::sql_query(sql.to_owned())
        .load(conn)
        .await
        .map_err(AdoptError::query(sql.to_owned()))?;
    Ok(rows.into_iter().map(|r| r.name).collect())
}
