//! PostgreSQL catalog (schema `public`) as lines.

use anyhow::{Context, Result};
use diesel_async::pg::AsyncPgConnection;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use super::{Line, mask_install_time};

const TABLES: &str = "SELECT format('table %s kind=%s persistence=%s', c.relname, c.relkind, \
     c.relpersistence) AS line FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";

const COLUMNS: &str = "SELECT format('column %s.%s #%s %s %s default=%s', c.relname, a.attname, \
     row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum), \
     pg_catalog.format_type(a.atttypid, a.atttypmod), \
     CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'NULL' END, \
     coalesce(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '-')) AS line \
     FROM pg_catalog.pg_attribute a \
     JOIN pg_catalog.pg_class c ON c.oid = a.attrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
     AND NOT a.attisdropped";

const INDEXES: &str = "SELECT format('index %s on %s unique=%s primary=%s valid=%s def=%s', \
     i.relname, t.relname, ix.indisunique, ix.indisprimary, ix.indisvalid, \
     pg_catalog.pg_get_indexdef(ix.indexrelid)) AS line \
     FROM pg_catalog.pg_index ix \
     JOIN pg_catalog.pg_class i ON i.oid = ix.indexrelid \
     JOIN pg_catalog.pg_class t ON t.oid = ix.indrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'";

const CONSTRAINTS: &str = "SELECT format('constraint %s on %s type=%s deferrable=%s \
     deferred=%s on_update=%s on_delete=%s match=%s def=%s', con.conname, t.relname, con.contype, \
     con.condeferrable, con.condeferred, con.confupdtype, con.confdeltype, con.confmatchtype, \
     pg_catalog.pg_get_constraintdef(con.oid)) AS line \
     FROM pg_catalog.pg_constraint con \
     JOIN pg_catalog.pg_class t ON t.oid = con.conrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = 'public'";

const SEQUENCES: &str = "SELECT format('sequence %s type=%s start=%s increment=%s min=%s \
     max=%s cache=%s cycle=%s owned_by=%s', c.relname, pg_catalog.format_type(s.seqtypid, NULL), \
     s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle, \
     coalesce((SELECT t.relname || '.' || a.attname FROM pg_catalog.pg_depend dep \
       JOIN pg_catalog.pg_class t ON t.oid = dep.refobjid \
       JOIN pg_catalog.pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid \
       WHERE dep.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND dep.objid = c.oid \
       AND dep.deptype = 'a'), '-')) AS line \
     FROM pg_catalog.pg_sequence s JOIN pg_catalog.pg_class c ON c.oid = s.seqrelid \
     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'";

const TRIGGERS_AND_EXTENSIONS: &str = "SELECT format('trigger %s on %s', tg.tgname, \
     tg.tgrelid::pg_catalog.regclass) AS line FROM pg_catalog.pg_trigger tg \
     WHERE NOT tg.tgisinternal \
     UNION ALL SELECT format('extension %s schema=%s', e.extname, \
     e.extnamespace::pg_catalog.regnamespace) FROM pg_catalog.pg_extension e";

const SEQUENCE_POSITIONS: &str = "SELECT format('sequence position %s last_value=%s', \
     sequencename, coalesce(last_value::text, 'unset')) AS line FROM pg_catalog.pg_sequences \
     WHERE schemaname = 'public'";

async fn lines(conn: &mut AsyncPgConnection, sql: &str) -> Result<Vec<String>> {
    let rows: Vec<Line> = diesel::sql_query(sql)
        .load(conn)
        .await
        .with_context(|| format!("catalog query failed: {sql}"))?;
    Ok(rows.into_iter().map(|l| l.line).collect())
}

/// Every schema fact of schema `public`, sorted; `blobupload.created`'s default masked.
pub async fn schema(conn: &mut AsyncPgConnection) -> Result<Vec<String>> {
    // Render expressions fully qualified whatever the session's search_path was.
    conn.batch_execute("SELECT pg_catalog.set_config('search_path', '', false)")
        .await?;
    let mut out = Vec::new();
    for sql in [
        TABLES,
        COLUMNS,
        INDEXES,
        CONSTRAINTS,
        SEQUENCES,
        TRIGGERS_AND_EXTENSIONS,
    ] {
        out.extend(lines(conn, sql).await?);
    }
    let mut out: Vec<String> = out.iter().map(|l| mask_install_time(l)).collect();
    out.sort();
    Ok(out)
}

/// Every row of every table (as JSON), plus every sequence's position, sorted.
pub async fn rows(conn: &mut AsyncPgConnection) -> Result<Vec<String>> {
    conn.batch_execute("SELECT pg_catalog.set_config('search_path', '', false)")
        .await?;
    let tables = lines(
        conn,
        "SELECT c.relname::text AS line FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')",
    )
    .await?;
    let mut out = lines(conn, SEQUENCE_POSITIONS).await?;
    for t in tables {
        let sql = format!(
            "SELECT format('row %s %s', '{t}', pg_catalog.row_to_json(x)::text) AS line \
             FROM public.\"{t}\" x"
        );
        out.extend(lines(conn, &sql).await?);
    }
    out.sort();
    Ok(out)
}
