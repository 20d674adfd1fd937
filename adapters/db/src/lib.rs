//! See the crate README.
#![doc = include_str!("../README.md")]

mod conn;
mod database;
mod error;
mod postgres;
mod schema;
mod settings;
mod sqlite;
mod stores;

pub use database::{Backend, Database, RawConnection, RoutingStats, connect};
pub use error::DbError;
pub use settings::{ConnectionArgs, DbSettings, DbTarget};
pub use sqlite::SqliteConn;
pub use stores::Stores;
