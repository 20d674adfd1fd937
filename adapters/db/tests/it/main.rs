//! Integration tests of quay-adapter-db against real PostgreSQL (`QUAY_TEST_PG_URL`, from
//! `cargo xtask services up`) and SQLite files.

mod audit_log;
mod concurrency;
mod errors;
mod organizations;
mod python_db;
mod queue;
mod quota;
mod quota_notices;
mod quota_totals;
mod registry_auth;
mod registry_content;
mod replicas;
mod support;
mod tag_rules;
mod tag_side_effects;
mod tls;
mod users;
