//! End-to-end tests: the real `quay` binary, real SQLite files, a real PostgreSQL.

mod cli;
mod clients;
mod mirror;
mod postgres;
mod registry_auth;
mod registry_content;
mod registry_oci_client;
mod registry_s3;
