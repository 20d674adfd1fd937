//! The Docker Registry HTTP API v2 (`/v2/...`), one module per resource.
//!
//! Authentication helpers shared by every resource (origin of a request, 401 responses with
//! Quay's challenge) live in [`auth`].

pub(crate) mod auth;
pub(crate) mod base;
pub(crate) mod blobs;
pub(crate) mod catalog;
pub mod client_ip;
#[cfg(test)]
mod contract_tests;
pub(crate) mod errors;
pub(crate) mod manifests;
pub(crate) mod referrers;
pub(crate) mod stream;
pub(crate) mod tags;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod uploads;

use actix_web::web;

/// Registers the `/v2` routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    auth::configure(cfg);
    base::configure(cfg);
}

/// Registers the `/v2` content routes (uploads before blobs: their paths overlap).
pub(crate) fn configure_content(cfg: &mut web::ServiceConfig) {
    catalog::configure(cfg);
    uploads::configure(cfg);
    blobs::configure(cfg);
    manifests::configure(cfg);
    tags::configure(cfg);
    referrers::configure(cfg);
}
