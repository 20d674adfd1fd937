//! End-to-end tests: the real `quay` binary, real SQLite files, a real PostgreSQL.

mod cli;
mod clients;
mod mirror;
mod postgres;
mod quota;
mod quota_notices;
mod registry_auth;
mod registry_content;
mod registry_cosign;
mod registry_oci_client;
mod registry_oci_spec;
mod registry_push_rules;
mod registry_s3;
mod registry_swift;
mod replay;
mod storage_geoip;
mod storage_redirect;
mod support;
