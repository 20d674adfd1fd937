//! The read-only preflight: everything that can make the migration fail or lose data is
//! checked before anything is written.

use std::fmt;
use std::path::{Path, PathBuf};

mod content;

use content::{
    check_columns, check_dropped, check_foreign_keys, check_lookups, check_robot_tokens,
    check_space, check_tables,
};

use super::db;
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
    p.journal_mode = journal_mode(input.database);
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

/// `wal` when the file header says write-ahead logging (bytes 18 and 19 are 2), else
/// `delete`. Read from the header because an immutable connection reports no WAL.
fn journal_mode(path: &Path) -> String {
    use std::io::Read as _;
    let mut header = [0_u8; 20];
    let wal = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok_and(|()| header[18] == 2 && header[19] == 2);
    if wal { "wal" } else { "delete" }.to_owned()
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
