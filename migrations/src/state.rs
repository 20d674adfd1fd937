//! Reading which schema a database holds, without changing anything.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::RunQueryDsl;
use diesel_async::pg::AsyncPgConnection;

use crate::error::MigrationError;
use crate::{HEAD, SqliteConn, revisions};

/// The schema a database holds, as far as its `alembic_version` tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaState {
    /// No table at all (PostgreSQL: in schema `public`).
    Empty,
    /// Stamped with [`HEAD`].
    AtHead,
    /// Stamped with a known Quay revision older than [`HEAD`] (e.g. mirror-registry's
    /// `3f8d7acdf7f9`).
    Behind(String),
    /// Stamped with a revision this build does not know (newer, or not Quay's); `"none"` when
    /// there are tables but no `alembic_version` row (or table).
    Unknown(String),
}

impl SchemaState {
    /// Classifies the rows of `alembic_version`.
    pub(crate) fn from_versions(versions: Vec<String>) -> Self {
        match versions.as_slice() {
            [] => Self::Unknown("none".to_owned()),
            [one] if one == HEAD => Self::AtHead,
            [one] if revisions::is_older_revision(one) => Self::Behind(one.clone()),
            many => Self::Unknown(many.join(",")),
        }
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version_num: String,
}

const PG_COUNT_RELATIONS: &str = "SELECT count(*) AS n FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace \
     WHERE ns.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')";
const PG_COUNT_ALEMBIC: &str = "SELECT count(*) AS n FROM pg_catalog.pg_class c \
     JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace \
     WHERE ns.nspname = 'public' AND c.relname = 'alembic_version'";
const PG_VERSIONS: &str = "SELECT version_num::text AS version_num FROM public.alembic_version \
     ORDER BY version_num";

const SQLITE_COUNT_RELATIONS: &str = "SELECT count(*) AS n FROM sqlite_master \
     WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'";
const SQLITE_COUNT_ALEMBIC: &str =
    "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'";
const SQLITE_VERSIONS: &str =
    "SELECT CAST(version_num AS TEXT) AS version_num FROM alembic_version ORDER BY version_num";

/// Reads the [`SchemaState`] of a PostgreSQL database (schema `public`). Read-only.
///
/// # Errors
/// [`MigrationError::Query`] when a catalog query fails.
pub async fn inspect_pg(conn: &mut AsyncPgConnection) -> Result<SchemaState, MigrationError> {
    let step = "reading the schema state (PostgreSQL)";
    let relations = diesel::sql_query(PG_COUNT_RELATIONS)
        .get_result::<Count>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    if relations.n == 0 {
        return Ok(SchemaState::Empty);
    }
    let alembic = diesel::sql_query(PG_COUNT_ALEMBIC)
        .get_result::<Count>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    if alembic.n == 0 {
        return Ok(SchemaState::Unknown("none".to_owned()));
    }
    let versions = diesel::sql_query(PG_VERSIONS)
        .load::<Version>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    Ok(SchemaState::from_versions(
        versions.into_iter().map(|v| v.version_num).collect(),
    ))
}

/// Reads the [`SchemaState`] of a SQLite database. Read-only.
///
/// # Errors
/// [`MigrationError::Query`] when a catalog query fails.
pub async fn inspect_sqlite(conn: &mut SqliteConn) -> Result<SchemaState, MigrationError> {
    let step = "reading the schema state (SQLite)";
    let relations = diesel::sql_query(SQLITE_COUNT_RELATIONS)
        .get_result::<Count>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    if relations.n == 0 {
        return Ok(SchemaState::Empty);
    }
    let alembic = diesel::sql_query(SQLITE_COUNT_ALEMBIC)
        .get_result::<Count>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    if alembic.n == 0 {
        return Ok(SchemaState::Unknown("none".to_owned()));
    }
    let versions = diesel::sql_query(SQLITE_VERSIONS)
        .load::<Version>(conn)
        .await
        .map_err(MigrationError::query(step))?;
    Ok(SchemaState::from_versions(
        versions.into_iter().map(|v| v.version_num).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_versions() {
        let v =
            |s: &[&str]| SchemaState::from_versions(s.iter().map(|s| (*s).to_owned()).collect());
        assert_eq!(v(&[]), SchemaState::Unknown("none".into()));
        assert_eq!(v(&[HEAD]), SchemaState::AtHead);
        assert_eq!(
            v(&["3f8d7acdf7f9"]),
            SchemaState::Behind("3f8d7acdf7f9".into())
        );
        assert_eq!(
            v(&["ffffffffffff"]),
            SchemaState::Unknown("ffffffffffff".into())
        );
        assert_eq!(v(&["a", "b"]), SchemaState::Unknown("a,b".into()));
    }
}
