//! End-to-end tests: the real `quay` binary, real SQLite files, a real PostgreSQL.

mod cli;
mod mirror;
mod postgres;
