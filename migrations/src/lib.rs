#![doc = include_str!("../README.md")]

mod embedded;
mod error;
pub mod mirror_registry;
pub mod revisions;
mod runner;
mod state;

pub use embedded::{Migration, POSTGRES, SQLITE};
pub use error::MigrationError;
pub use runner::{Applied, revert_pg, revert_sqlite, upgrade_pg, upgrade_sqlite};
pub use state::{SchemaState, inspect_pg, inspect_sqlite};

/// Python Quay's Alembic head that `migrations/` reproduces (quay/quay @ ffba0c70e2d8).
pub const HEAD: &str = "9fa37f66a9b6";

/// The async SQLite connection the runner works on (diesel's sync connection on
/// `spawn_blocking`).
pub type SqliteConn =
    diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::SqliteConnection>;
