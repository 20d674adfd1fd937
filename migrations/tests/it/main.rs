//! quay-migrations integration tests (one binary). PostgreSQL tests need `QUAY_TEST_PG_URL`
//! (`cargo xtask services up`); they fail loudly without it.

mod catalog;
mod harness;
mod mirror;
mod schema;
mod state;
