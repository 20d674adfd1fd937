//! The checks on the database's content, the robot tokens and the target's disk.

use std::path::Path;

use diesel::QueryableByName;
use diesel::sql_types::{Nullable, Text};
use diesel_async::RunQueryDsl;

use super::super::db::{self, Column};
use super::super::tables::{DROPPED_TABLES, LOOKUP_TABLES, SOURCE_TABLES};
use super::super::{AdoptError, FieldDecrypter, MIRROR_REGISTRY_REVISION, copy};
use super::{Outcome, Preflight};
use crate::SqliteConn;

pub(super) fn check_tables(p: &mut Preflight, old_tables: &[String], head_tables: &[String]) {
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

pub(super) async fn check_columns(
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

pub(super) fn check_dropped(p: &mut Preflight) {
    for (table, revision) in DROPPED_TABLES {
        let rows = p
            .row_counts
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n);
        let (outcome, detail) = if rows == 0 {
            (
                Outcome::Pass,
                format!("{table}: empty (Quay's {revision} drops the table)"),
            )
        } else {
            (
                Outcome::Warn,
                format!(
                    "{table}: {rows} rows NOT carried over: Quay's {revision} drops the table; \
                     the backup keeps them"
                ),
            )
        };
        p.push("dropped tables", outcome, detail);
    }
}

pub(super) async fn check_lookups(
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

pub(super) async fn check_foreign_keys(
    p: &mut Preflight,
    old: &mut SqliteConn,
) -> Result<(), AdoptError> {
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

pub(super) async fn check_robot_tokens(
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
pub(super) fn needed_bytes(database_size: u64) -> u64 {
    database_size.saturating_mul(3) / 2 + 64 * 1024 * 1024
}

pub(super) fn check_space(p: &mut Preflight, database: &Path, target: &Path) {
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
