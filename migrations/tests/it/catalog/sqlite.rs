//! SQLite catalog as lines (sqlite_master and the table/index/foreign-key pragmas).

use anyhow::{Context, Result};
use diesel_async::RunQueryDsl;
use quay_migrations::SqliteConn;

use super::{Line, mask_install_time};

const OBJECTS: &str = "SELECT 'sql ' || type || ' ' || name || ' on ' || tbl_name || ' ' || \
     coalesce(sql, '-') AS line FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%'";

const COLUMNS: &str = "SELECT format('column %s.%s #%d %s notnull=%d default=%s pk=%d', \
     m.name, p.name, p.cid, p.type, p.\"notnull\", coalesce(p.dflt_value, '-'), p.pk) AS line \
     FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table'";

const INDEXES: &str = "SELECT format('index %s on %s unique=%d origin=%s partial=%d cols=%s', \
     il.name, m.name, il.\"unique\", il.origin, il.partial, \
     (SELECT group_concat(coalesce(name, '<expr>'), ',') FROM \
       (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))) AS line \
     FROM sqlite_master m, pragma_index_list(m.name) il WHERE m.type = 'table'";

const FOREIGN_KEYS: &str = "SELECT format('fk %s #%d.%d %s -> %s.%s on_update=%s \
     on_delete=%s match=%s', m.name, f.id, f.seq, f.\"from\", f.\"table\", \
     coalesce(f.\"to\", '<pk>'), f.on_update, f.on_delete, f.\"match\") AS line \
     FROM sqlite_master m, pragma_foreign_key_list(m.name) f WHERE m.type = 'table'";

async fn lines(conn: &mut SqliteConn, sql: &str) -> Result<Vec<String>> {
    let rows: Vec<Line> = diesel::sql_query(sql.to_owned())
        .load(conn)
        .await
        .with_context(|| format!("catalog query failed: {sql}"))?;
    Ok(rows.into_iter().map(|l| l.line).collect())
}

/// Every schema fact, sorted; `blobupload.created`'s default masked.
pub async fn schema(conn: &mut SqliteConn) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for sql in [OBJECTS, COLUMNS, INDEXES, FOREIGN_KEYS] {
        out.extend(lines(conn, sql).await?);
    }
    let mut out: Vec<String> = out.iter().map(|l| mask_install_time(l)).collect();
    out.sort();
    Ok(out)
}

/// Table names (without SQLite's own).
pub async fn tables(conn: &mut SqliteConn) -> Result<Vec<String>> {
    lines(
        conn,
        "SELECT name AS line FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .await
}

/// Every row of `table`, each as `row <table> <quoted values>`, sorted.
pub async fn table_rows(conn: &mut SqliteConn, table: &str) -> Result<Vec<String>> {
    let cols = lines(
        conn,
        &format!("SELECT name AS line FROM pragma_table_info('{table}') ORDER BY cid"),
    )
    .await?;
    let values: Vec<String> = cols.iter().map(|c| format!("quote(\"{c}\")")).collect();
    let sql = format!(
        "SELECT 'row {table} ' || {} AS line FROM \"{table}\"",
        values.join(" || ',' || ")
    );
    let mut out = lines(conn, &sql).await?;
    out.sort();
    Ok(out)
}

/// Every row of every table, sorted.
pub async fn rows(conn: &mut SqliteConn) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tables(conn).await? {
        out.extend(table_rows(conn, &t).await?);
    }
    out.sort();
    Ok(out)
}
