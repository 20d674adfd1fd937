//! Building the adopted database: a fresh head schema filled from the old file.

use std::collections::BTreeSet;
use std::path::Path;

use diesel::Connection;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

use super::db::{self, IdName, ident, literal};
use super::tables::LOOKUP_TABLES;
use super::{AdoptError, Preflight, Progress};
use crate::{SqliteConn, upgrade_sqlite};

/// One table's copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableCopy {
    /// Table name.
    pub name: String,
    /// Rows in the old table.
    pub source_rows: i64,
    /// Rows in the new table after the copy (more than `source_rows` only for lookup tables
    /// that head extends).
    pub rows: i64,
}

/// What [`build_adopted`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptReport {
    /// Every copied table, verified.
    pub tables: Vec<TableCopy>,
    /// Lookup rows head adds, as `table: id=name`.
    pub lookups_added: Vec<String>,
    /// Rows 414c5e2fc487's step put into `organizationcontactemail`.
    pub contact_emails: usize,
    /// Organizations whose e-mail b1a79fa8e630's step replaced.
    pub org_emails_fixed: usize,
}

/// A head lookup row missing from the old table, and the id it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct LookupAdd {
    pub seed_id: i64,
    pub new_id: i64,
    pub name: String,
}

/// Head's rows whose name the old table lacks, each with head's id when free, else the next
/// id after the largest, in head's id order.
pub(super) fn plan_lookup(old: &[IdName], seed: &[IdName]) -> Vec<LookupAdd> {
    let mut used: BTreeSet<i64> = old.iter().map(|o| o.id).collect();
    let mut plan = Vec::new();
    for s in seed {
        if old.iter().any(|o| o.name == s.name) {
            continue;
        }
        let new_id = if used.contains(&s.id) {
            used.last().map_or(1, |max| max + 1)
        } else {
            s.id
        };
        used.insert(new_id);
        plan.push(LookupAdd {
            seed_id: s.id,
            new_id,
            name: s.name.clone(),
        });
    }
    plan
}

/// A head database in memory (for comparing with the old one).
pub(super) async fn head_in_memory() -> Result<SqliteConn, AdoptError> {
    let conn =
        diesel::SqliteConnection::establish(":memory:").map_err(|source| AdoptError::Open {
            path: ":memory:".into(),
            source,
        })?;
    let mut conn = SqliteConn::new(conn);
    upgrade_sqlite(&mut conn).await?;
    Ok(conn)
}

/// Writes the adopted database to `target` (which must not exist): head schema, every row of
/// the old database (`preflight.database`, attached read-only), Quay's data steps, verified
/// counts. The old file is never written. On failure `target` is removed.
///
/// # Errors
/// [`AdoptError::PreflightFailed`] when `preflight` did not pass; [`AdoptError::CountMismatch`]
/// when a table's count is off after the copy; [`AdoptError::Query`] / [`AdoptError::Open`] /
/// [`AdoptError::Integrity`] otherwise. In every case `target` is removed.
pub async fn build_adopted(
    preflight: &Preflight,
    target: &Path,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<AdoptReport, AdoptError> {
    if !preflight.passed() {
        return Err(AdoptError::PreflightFailed(preflight.failures()));
    }
    if target.exists() {
        return Err(AdoptError::Io {
            action: "refusing to overwrite",
            path: target.to_owned(),
            source: std::io::ErrorKind::AlreadyExists.into(),
        });
    }
    let result = build(preflight, target, progress).await;
    if result.is_err() {
        for suffix in ["", "-journal", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
        }
    }
    result
}

async fn build(
    preflight: &Preflight,
    target: &Path,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<AdoptReport, AdoptError> {
    progress(&Progress::Step(format!(
        "creating the head schema in {}",
        target.display()
    )));
    let mut conn = db::open_read_write(target)?;
    upgrade_sqlite(&mut conn).await?;
    let attach = format!(
        "PRAGMA foreign_keys = OFF; ATTACH DATABASE {} AS old",
        literal(&db::uri(&preflight.database, "ro")?)
    );
    conn.batch_execute(&attach)
        .await
        .map_err(AdoptError::query("attaching the old database"))?;
    progress(&Progress::Step("copying (one transaction)".to_owned()));
    let report = conn
        .immediate_transaction(async |c| copy_all(c, progress).await)
        .await?;
    conn.batch_execute("DETACH DATABASE old")
        .await
        .map_err(AdoptError::query("detaching the old database"))?;
    progress(&Progress::Step("checking the new database".to_owned()));
    let integrity = db::pragma_lines(
        &mut conn,
        "SELECT integrity_check AS name FROM pragma_integrity_check()",
    )
    .await?;
    if integrity != ["ok"] {
        return Err(AdoptError::Integrity(integrity.join("; ")));
    }
    if preflight.journal_mode.eq_ignore_ascii_case("wal") {
        conn.batch_execute("PRAGMA journal_mode = WAL")
            .await
            .map_err(AdoptError::query(
                "setting WAL mode as mirror-registry had it",
            ))?;
    }
    Ok(report)
}

async fn copy_all(
    c: &mut SqliteConn,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<AdoptReport, AdoptError> {
    let old_tables = db::tables(c, "old").await?;
    let head_tables: Vec<String> = db::tables(c, "main")
        .await?
        .into_iter()
        .filter(|t| t != "alembic_version" && old_tables.contains(t))
        .collect();
    let mut report = AdoptReport::default();
    let total = head_tables.len();
    for (i, t) in head_tables.iter().enumerate() {
        let source_rows = db::count(c, "old", t).await?;
        let expected = if LOOKUP_TABLES.contains(&t.as_str()) {
            let added = copy_lookup(c, t).await?;
            report.lookups_added.extend(
                added
                    .iter()
                    .map(|a| format!("{t}: {}={}", a.new_id, a.name)),
            );
            source_rows + i64::try_from(added.len()).unwrap_or(i64::MAX)
        } else {
            copy_table(c, t).await?;
            source_rows
        };
        let rows = db::count(c, "main", t).await?;
        if rows != expected {
            return Err(AdoptError::CountMismatch {
                table: t.clone(),
                expected,
                found: rows,
            });
        }
        progress(&Progress::Table {
            name: t.clone(),
            index: i + 1,
            total,
            rows,
        });
        report.tables.push(TableCopy {
            name: t.clone(),
            source_rows,
            rows,
        });
    }
    data_steps(c, &mut report).await?;
    Ok(report)
}

/// The columns both `main.table` and `old.table` have, in head's order, quoted and joined.
async fn common_columns(c: &mut SqliteConn, table: &str) -> Result<String, AdoptError> {
    let old: Vec<String> = db::columns(c, "old", table)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let cols: Vec<String> = db::columns(c, "main", table)
        .await?
        .into_iter()
        .filter(|h| old.contains(&h.name))
        .map(|h| ident(&h.name))
        .collect();
    Ok(cols.join(", "))
}

async fn copy_table(c: &mut SqliteConn, table: &str) -> Result<(), AdoptError> {
    let cols = common_columns(c, table).await?;
    let t = ident(table);
    let sql = format!("INSERT INTO main.{t} ({cols}) SELECT {cols} FROM old.{t}");
    c.batch_execute(&sql)
        .await
        .map_err(AdoptError::query(format!("copying {table}")))
}

/// Replaces head's seed rows by the old rows, then adds head's names the old table lacks.
async fn copy_lookup(c: &mut SqliteConn, table: &str) -> Result<Vec<LookupAdd>, AdoptError> {
    let seed = db::id_names(c, "main", table).await?;
    let t = ident(table);
    let cols = common_columns(c, table).await?;
    let sql = format!(
        "DROP TABLE IF EXISTS temp.seed_copy; \
         CREATE TEMP TABLE seed_copy AS SELECT * FROM main.{t}; \
         DELETE FROM main.{t}; \
         INSERT INTO main.{t} ({cols}) SELECT {cols} FROM old.{t}"
    );
    c.batch_execute(&sql)
        .await
        .map_err(AdoptError::query(format!("copying lookup table {table}")))?;
    let old = db::id_names(c, "old", table).await?;
    let plan = plan_lookup(&old, &seed);
    let head_cols: Vec<String> = db::columns(c, "main", table)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    for add in &plan {
        let values: Vec<String> = head_cols
            .iter()
            .map(|col| {
                if col == "id" {
                    add.new_id.to_string()
                } else {
                    ident(col)
                }
            })
            .collect();
        let all: Vec<String> = head_cols.iter().map(|col| ident(col)).collect();
        let sql = format!(
            "INSERT INTO main.{t} ({}) SELECT {} FROM temp.seed_copy WHERE id = {}",
            all.join(", "),
            values.join(", "),
            add.seed_id
        );
        c.batch_execute(&sql)
            .await
            .map_err(AdoptError::query(format!("adding {table} '{}'", add.name)))?;
    }
    c.batch_execute("DROP TABLE temp.seed_copy")
        .await
        .map_err(AdoptError::query("dropping the seed copy"))?;
    Ok(plan)
}

/// The data statements of Quay's revisions after 3f8d7acdf7f9 (414c5e2fc487, b1a79fa8e630).
async fn data_steps(c: &mut SqliteConn, report: &mut AdoptReport) -> Result<(), AdoptError> {
    report.contact_emails = diesel::sql_query(
        "INSERT INTO organizationcontactemail (organization_id, contact_email) \
         SELECT id, email FROM \"user\" WHERE organization = 1 AND email IS NOT NULL \
         AND length(email) < 64 ON CONFLICT (organization_id) DO NOTHING",
    )
    .execute(c)
    .await
    .map_err(AdoptError::query(
        "414c5e2fc487: filling organizationcontactemail",
    ))?;
    report.org_emails_fixed = diesel::sql_query(
        "UPDATE \"user\" SET email = (SELECT oce.contact_email FROM organizationcontactemail oce \
         WHERE oce.organization_id = \"user\".id AND oce.contact_email IS NOT NULL) \
         WHERE organization = 1 AND email NOT LIKE '%@%' AND EXISTS (SELECT 1 FROM \
         organizationcontactemail oce WHERE oce.organization_id = \"user\".id \
         AND oce.contact_email IS NOT NULL)",
    )
    .execute(c)
    .await
    .map_err(AdoptError::query("b1a79fa8e630: organization e-mails"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(i64, &str)]) -> Vec<IdName> {
        r.iter()
            .map(|(id, name)| IdName {
                id: *id,
                name: (*name).to_owned(),
            })
            .collect()
    }

    #[test]
    fn plans_missing_lookup_rows_like_alembic() {
        let old = rows(&[(1, "a"), (2, "c"), (3, "b")]);
        let seed = rows(&[(1, "a"), (2, "b"), (3, "c"), (4, "d"), (5, "e")]);
        let plan = plan_lookup(&old, &seed);
        let got: Vec<_> = plan
            .iter()
            .map(|a| (a.seed_id, a.new_id, a.name.as_str()))
            .collect();
        assert_eq!(got, vec![(4, 4, "d"), (5, 5, "e")]);

        let old = rows(&[(1, "a"), (4, "x")]);
        let got: Vec<_> = plan_lookup(&old, &seed)
            .iter()
            .map(|a| (a.seed_id, a.new_id))
            .collect();
        assert_eq!(got, vec![(2, 2), (3, 3), (4, 5), (5, 6)]);
    }
}
