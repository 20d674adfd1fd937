//! The read-only preflight: everything that can make the migration fail or lose data is
//! checked before anything is written.

use std::fmt;
use std::path::{Path, PathBuf};

use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

use super::db::{self, Column};
use super::tables::{DROPPED_TABLES, LOOKUP_TABLES, SOURCE_TABLES};
use super::{AdoptError, FieldDecrypter, MIRROR_REGISTRY_REVISION, copy};
use crate::{SchemaState, SqliteConn, inspect_sqlite};

/// What the preflight is given.
pub struct PreflightInput<'a> {
    /// The mirror-registry database (see [`super::locate`]).
    pub database: &'a Path,
    /// Where the new database will be written (its directory needs the free space).
    pub target: &'a Path,
    /// Decrypts a robot token; `None` when no `DATABASE_SECRET_KEY` is known.
    pub decrypt: Option<FieldDecrypter<'a>>,
}

/// Verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Fine.
    Pass,
    /// Fine, but worth reading (a difference the migration handles).
    Warn,
    /// The migration must not run.
    Fail,
}

/// One preflight check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Short name (`integrity`, `robot tokens`, ...).
    pub name: &'static str,
    /// Verdict.
    pub outcome: Outcome,
    /// What was found.
    pub detail: String,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.outcome {
            Outcome::Pass => "ok  ",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        };
        write!(f, "[{tag}] {}: {}", self.name, self.detail)
    }
}

/// The preflight's findings.
#[derive(Debug, Clone, Default)]
pub struct Preflight {
    /// The database checked.
    pub database: PathBuf,
    /// Every check, in order.
    pub checks: Vec<Check>,
    /// Rows per table of the old database, by name.
    pub row_counts: Vec<(String, i64)>,
    /// The old database's journal mode (`wal` for mirror-registry), kept on the new file.
    pub journal_mode: String,
}

impl Preflight {
    /// Whether no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// The failed checks, one per line.
    pub fn failures(&self) -> String {
        let failed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(ToString::to_string)
            .collect();
        failed.join("\n")
    }

    fn push(&mut self, name: &'static str, outcome: Outcome, detail: impl Into<String>) {
        self.checks.push(Check {
            name,
            outcome,
            detail: detail.into(),
        });
    }
}

/// Checks `input.database` without writing anything (the file is opened with `mode=ro`).
///
/// Returns the findings even when checks fail; look at [`Preflight::passed`].
///
/// # Errors
/// [`AdoptError`] only when the checks themselves cannot run (e.g. building the in-memory head
/// schema fails).
pub async fn preflight(input: PreflightInput<'_>) -> Result<Preflight, AdoptError> {
    let mut p = Preflight {
        database: input.database.to_owned(),
        ..Preflight::default()
    };
    let Some(mut old) = check_file(&mut p, input.database).await else {
        return Ok(p);
    };
    if !check_integrity_and_version(&mut p, &mut old).await? {
        return Ok(p);
    }
    let mut head = copy::head_in_memory().await?;
    let old_tables = db::tables(&mut old, "main").await?;
    let head_tables = db::tables(&mut head, "main").await?;
    check_tables(&mut p, &old_tables, &head_tables);
    check_columns(&mut p, &mut old, &mut head, &old_tables, &head_tables).await?;
    for t in &old_tables {
        let n = db::count(&mut old, "main", t).await?;
        p.row_counts.push((t.clone(), n));
    }
    check_dropped(&mut p);
    check_lookups(&mut p, &mut old, &mut head, &old_tables).await?;
    check_foreign_keys(&mut p, &mut old).await?;
    check_robot_tokens(&mut p, &mut old, input.decrypt).await?;
    check_space(&mut p, input.database, input.target);
    Ok(p)
}

async fn check_file(p: &mut Preflight, path: &Path) -> Option<SqliteConn> {
    match std::fs::File::open(path).and_then(|f| f.metadata()) {
        Ok(m) if m.is_file() => p.push(
            "file",
            Outcome::Pass,
            format!("{} ({} bytes)", path.display(), m.len()),
        ),
        Ok(_) => {
            p.push(
                "file",
                Outcome::Fail,
                format!("{} is not a regular file", path.display()),
            );
            return None;
        }
        Err(e) => {
            p.push(
                "file",
                Outcome::Fail,
                format!("cannot read {}: {e}", path.display()),
            );
            return None;
        }
    }
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    match std::fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => p.push(
            "stopped",
            Outcome::Fail,
            format!(
                "{} holds {} bytes: the registry is running or did not shut down cleanly; stop \
                 it (`systemctl stop quay-app` / `podman pod stop quay-pod`) and retry (a \
                 crashed install: open the file once with `sqlite3 FILE 'PRAGMA \
                 wal_checkpoint(TRUNCATE)'`)",
                wal.display(),
                m.len()
            ),
        ),
        _ => p.push("stopped", Outcome::Pass, "no pending write-ahead log"),
    }
    match db::open_read_only(path) {
        Ok(conn) => Some(conn),
        Err(e) => {
            p.push("sqlite", Outcome::Fail, e.to_string());
            None
        }
    }
}

/// Integrity and version; `false` when nothing else is worth checking.
async fn check_integrity_and_version(
    p: &mut Preflight,
    old: &mut SqliteConn,
) -> Result<bool, AdoptError> {
    let integrity = db::pragma_lines(
        old,
        "SELECT integrity_check AS name FROM pragma_integrity_check()",
    )
    .await;
    match integrity {
        Ok(lines) if lines == ["ok"] => p.push("integrity", Outcome::Pass, "integrity_check: ok"),
        Ok(lines) => {
            let first: Vec<_> = lines.into_iter().take(5).collect();
            p.push(
                "integrity",
                Outcome::Fail,
                format!("integrity_check: {}", first.join("; ")),
            );
            return Ok(false);
        }
        Err(e) => {
            p.push(
                "integrity",
                Outcome::Fail,
                format!("not a readable SQLite database: {e}"),
            );
            return Ok(false);
        }
    }
    p.journal_mode = db::pragma_lines(
        old,
        "SELECT journal_mode AS name FROM pragma_journal_mode()",
    )
    .await?
    .into_iter()
    .next()
    .unwrap_or_default();
    let state = inspect_sqlite(old).await?;
    let (outcome, detail) = match &state {
        SchemaState::Behind(v) if v == MIRROR_REGISTRY_REVISION => (
            Outcome::Pass,
            format!("Alembic revision {v} (mirror-registry v2.0.x)"),
        ),
        SchemaState::AtHead => (
            Outcome::Fail,
            format!(
                "already at head {}: nothing to migrate, use it as it is",
                crate::HEAD
            ),
        ),
        other => (
            Outcome::Fail,
            format!(
                "found {other:?}, expected Alembic revision {MIRROR_REGISTRY_REVISION} \
                 (mirror-registry v2.0.x); upgrade mirror-registry to v2.0.11 first"
            ),
        ),
    };
    p.push("version", outcome, detail);
    Ok(outcome == Outcome::Pass)
}

fn check_tables(p: &mut Preflight, old_tables: &[String], head_tables: &[String]) {
    let missing: Vec<&str> = SOURCE_TABLES
        .iter()
        .copied()
        .filter(|t| !old_tables.iter().any(|o| o == t))
        .collect();
    if missing.is_empty() {
        p.push(
            "tables",
            Outcome::Pass,
            format!(
                "all {} tables of {MIRROR_REGISTRY_REVISION} present",
                SOURCE_TABLES.len()
            ),
        );
    } else {
        p.push(
            "tables",
            Outcome::Fail,
            format!("missing: {}", missing.join(", ")),
        );
    }
    let extra: Vec<&str> = old_tables
        .iter()
        .map(String::as_str)
        .filter(|t| !SOURCE_TABLES.contains(t) && !head_tables.iter().any(|h| h == t))
        .collect();
    if !extra.is_empty() {
        p.push(
            "tables",
            Outcome::Warn,
            format!(
                "not Quay's, not copied (kept in the backup): {}",
                extra.join(", ")
            ),
        );
    }
}

async fn check_columns(
    p: &mut Preflight,
    old: &mut SqliteConn,
    head: &mut SqliteConn,
    old_tables: &[String],
    head_tables: &[String],
) -> Result<(), AdoptError> {
    let mut impossible = Vec::new();
    let mut dropped = Vec::new();
    for t in head_tables.iter().filter(|t| old_tables.contains(t)) {
        let old_cols = db::columns(old, "main", t).await?;
        let head_cols = db::columns(head, "main", t).await?;
        let has = |cols: &[Column], name: &str| cols.iter().any(|c| c.name == name);
        for c in head_cols.iter().filter(|c| !has(&old_cols, &c.name)) {
            if c.notnull != 0 && c.dflt_value.is_none() && c.pk == 0 {
                impossible.push(format!("{t}.{}", c.name));
            }
        }
        dropped.extend(
            old_cols
                .iter()
                .filter(|c| !has(&head_cols, &c.name))
                .map(|c| format!("{t}.{}", c.name)),
        );
    }
    if impossible.is_empty() {
        p.push(
            "columns",
            Outcome::Pass,
            "every new column is nullable or has a default",
        );
    } else {
        p.push(
            "columns",
            Outcome::Fail,
            format!(
                "new NOT NULL columns without default: {}",
                impossible.join(", ")
            ),
        );
    }
    if !dropped.is_empty() {
        p.push(
            "columns",
            Outcome::Warn,
            format!("not in head, not copied: {}", dropped.join(", ")),
        );
    }
    Ok(())
}

fn check_dropped(p: &mut Preflight) {
    for (table, revision) in DROPPED_TABLES {
        let rows = p
            .row_counts
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n);
        let (outcome, what) = if rows == 0 {
            (Outcome::Pass, "empty")
        } else {
            (Outcome::Warn, "NOT carried over")
        };
        p.push(
            "dropped tables",
            outcome,
            format!("{table}: {rows} rows, {what} (Quay's {revision} drops the table; the backup keeps them)"),
        );
    }
}

async fn check_lookups(
    p: &mut Preflight,
    old: &mut SqliteConn,
    head: &mut SqliteConn,
    old_tables: &[String],
) -> Result<(), AdoptError> {
    for t in LOOKUP_TABLES
        .iter()
        .filter(|t| old_tables.iter().any(|o| o == *t))
    {
        let old_rows = db::id_names(old, "main", t).await?;
        let seed = db::id_names(head, "main", t).await?;
        let mut notes = Vec::new();
        for o in &old_rows {
            match seed.iter().find(|s| s.id == o.id) {
                Some(s) if s.name != o.name => notes.push(format!(
                    "id {} is '{}' here, '{}' in head",
                    o.id, o.name, s.name
                )),
                None if !seed.iter().any(|s| s.name == o.name) => {
                    notes.push(format!("'{}' (id {}) is not in head's seed", o.name, o.id))
                }
                _ => {}
            }
        }
        let plan = copy::plan_lookup(&old_rows, &seed);
        if !notes.is_empty() {
            p.push(
                "lookup rows",
                Outcome::Warn,
                format!(
                    "{t}: {}; old ids are kept (rows reference them; Quay looks these up by name)",
                    notes.join(", ")
                ),
            );
        }
        if !plan.is_empty() {
            let added: Vec<String> = plan
                .iter()
                .map(|a| format!("{}={}", a.new_id, a.name))
                .collect();
            p.push(
                "lookup rows",
                Outcome::Pass,
                format!("{t}: head adds {}", added.join(", ")),
            );
        }
    }
    Ok(())
}

async fn check_foreign_keys(p: &mut Preflight, old: &mut SqliteConn) -> Result<(), AdoptError> {
    let rows = db::pragma_lines(
        old,
        "SELECT \"table\" AS name FROM pragma_foreign_key_check()",
    )
    .await?;
    if rows.is_empty() {
        p.push(
            "foreign keys",
            Outcome::Pass,
            "foreign_key_check: no violation",
        );
    } else {
        p.push(
            "foreign keys",
            Outcome::Warn,
            format!(
                "{} rows violate a foreign key already; copied as they are",
                rows.len()
            ),
        );
    }
    Ok(())
}

#[derive(QueryableByName)]
struct RobotToken {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    token: Option<String>,
}

async fn check_robot_tokens(
    p: &mut Preflight,
    old: &mut SqliteConn,
    decrypt: Option<FieldDecrypter<'_>>,
) -> Result<(), AdoptError> {
    let tokens: Vec<RobotToken> = diesel::sql_query(
        "SELECT CAST(u.username AS TEXT) AS name, CAST(t.token AS TEXT) AS token \
         FROM robotaccounttoken t LEFT JOIN \"user\" u ON u.id = t.robot_account_id ORDER BY t.id",
    )
    .load(old)
    .await
    .map_err(AdoptError::query("reading robot tokens"))?;
    if tokens.is_empty() {
        p.push("robot tokens", Outcome::Pass, "no robot token to check");
        return Ok(());
    }
    let Some(decrypt) = decrypt else {
        p.push(
            "robot tokens",
            Outcome::Fail,
            format!("{} robot tokens, but no DATABASE_SECRET_KEY to check them with (give the install's config.yaml)", tokens.len()),
        );
        return Ok(());
    };
    let failed: Vec<String> = tokens
        .iter()
        .filter_map(|t| match t.token.as_deref().map(decrypt) {
            Some(Ok(_)) => None,
            Some(Err(reason)) => Some(format!("{} ({reason})", t.name)),
            None => Some(format!("{} (no token)", t.name)),
        })
        .collect();
    if failed.is_empty() {
        p.push(
            "robot tokens",
            Outcome::Pass,
            format!(
                "all {} robot tokens decrypt with DATABASE_SECRET_KEY",
                tokens.len()
            ),
        );
    } else {
        p.push(
            "robot tokens",
            Outcome::Fail,
            format!(
                "{} of {} robot tokens do not decrypt (wrong DATABASE_SECRET_KEY?): {}",
                failed.len(),
                tokens.len(),
                failed.join(", ")
            ),
        );
    }
    Ok(())
}

/// Space the copy needs next to the target: the new file (about the old one's size, plus
/// head's new indexes) and its journal.
fn needed_bytes(database_size: u64) -> u64 {
    database_size.saturating_mul(3) / 2 + 64 * 1024 * 1024
}

fn check_space(p: &mut Preflight, database: &Path, target: &Path) {
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let size = std::fs::metadata(database).map_or(0, |m| m.len());
    let needed = needed_bytes(size);
    if target.exists() {
        p.push(
            "target",
            Outcome::Fail,
            format!(
                "{} already exists; remove it or choose another target",
                target.display()
            ),
        );
    }
    if rustix::fs::access(dir, rustix::fs::Access::WRITE_OK).is_err() {
        p.push(
            "target",
            Outcome::Fail,
            format!("{} is not writable by this user", dir.display()),
        );
    }
    match rustix::fs::statvfs(dir) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let outcome = if free >= needed {
                Outcome::Pass
            } else {
                Outcome::Fail
            };
            p.push(
                "disk space",
                outcome,
                format!(
                    "{} MiB free in {}, {} MiB needed",
                    free >> 20,
                    dir.display(),
                    needed >> 20
                ),
            );
        }
        Err(e) => p.push(
            "disk space",
            Outcome::Fail,
            format!("cannot stat {}: {e}", dir.display()),
        ),
    }
}
