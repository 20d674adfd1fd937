//! The migration trees, embedded at compile time.
//!
//! `migrations/postgres/<name>/` and `migrations/sqlite/<name>/` hold the same names (vaultwarden's
//! layout); each has an `up.sql` and a `down.sql`. The first migration IS Quay's schema at Alembic
//! head [`crate::HEAD`] plus its lookup rows, taken from the dumps of a database Python Quay
//! migrated itself. Later migrations (expand/contract) append to these lists.

/// One embedded migration: the same `name` exists in both backend trees.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Directory name, `YYYY-MM-DD-HHMMSS_what`.
    pub name: &'static str,
    /// SQL run by an upgrade, as one batch inside the upgrade's transaction.
    pub up: &'static str,
    /// SQL that reverts `up` (used by redo tests; never run by `quay migrate`).
    pub down: &'static str,
}

macro_rules! migration {
    ($backend:literal, $name:literal) => {
        Migration {
            name: $name,
            up: include_str!(concat!("../", $backend, "/", $name, "/up.sql")),
            down: include_str!(concat!("../", $backend, "/", $name, "/down.sql")),
        }
    };
}

/// The PostgreSQL tree, in order.
pub static POSTGRES: &[Migration] = &[migration!(
    "postgres",
    "2026-11-27-000000_quay_alembic_9fa37f66a9b6"
)];

/// The SQLite tree, in order (same names as [`POSTGRES`]).
pub static SQLITE: &[Migration] = &[migration!(
    "sqlite",
    "2026-11-27-000000_quay_alembic_9fa37f66a9b6"
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_trees_have_the_same_names() {
        let pg: Vec<_> = POSTGRES.iter().map(|m| m.name).collect();
        let lite: Vec<_> = SQLITE.iter().map(|m| m.name).collect();
        assert_eq!(pg, lite);
    }

    #[test]
    fn postgres_tree_has_no_psql_meta_commands_or_session_settings() {
        for m in POSTGRES {
            let code = m.up.lines().chain(m.down.lines());
            for line in code.filter(|l| !l.starts_with("--")) {
                assert!(!line.starts_with('\\'), "{}: {line}", m.name);
                assert!(!line.starts_with("SET "), "{}: {line}", m.name);
                assert!(!line.contains("set_config("), "{}: {line}", m.name);
            }
        }
    }
}
