//! HTTP driving adapter of quay-rs.
#![doc = include_str!("../README.md")]

mod file_send;
mod health;
mod ping;
mod storage_proxy;
mod v2;

use std::sync::Arc;

use actix_web::web;
use quay_application::health::HealthService;
use quay_application::registry_auth::RegistryAuth;

pub use file_send::{FileSendStream, bind_plain};
pub use v2::client_ip::ClientIpPolicy;

/// The application services the HTTP handlers call, shared by every worker thread.
#[derive(Clone)]
pub struct AppServices {
    /// Instance and end-to-end health checks.
    pub health: HealthService,
    /// Registry authentication; `None` leaves the `/v2` routes unregistered. Handlers extract
    /// it as `web::Data<RegistryAuth>`.
    pub registry_auth: Option<Arc<RegistryAuth>>,
}

/// Registers every route of this adapter on an actix-web app.
pub fn configure(services: AppServices) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let registry_auth = services.registry_auth.clone();
        cfg.app_data(web::Data::new(services));
        health::configure(cfg);
        ping::configure(cfg);
        if let Some(auth) = registry_auth {
            cfg.app_data(web::Data::from(auth));
            v2::configure(cfg);
            storage_proxy::configure(cfg);
        }
    }
}

/// Registers `/_storage_proxy/<token>/<scheme>/<host>/<uri>` (`FEATURE_PROXY_STORAGE`), relaying
/// the storage URL the token grants through `backend`, on an app that also runs [`configure`]
/// with registry authentication (which verifies the token).
pub fn configure_storage_proxy(
    backend: Arc<dyn quay_ports::storage::redirect::DownloadProxyBackend>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| storage_proxy::configure_proxy(cfg, backend)
}

/// Registers the `/v2` content routes (blobs, uploads, manifests, tags, referrers) on an app
/// that also runs [`configure`] with registry authentication.
pub fn configure_registry(
    registry: Arc<quay_application::registry::Registry>,
) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::from(registry));
        v2::configure_content(cfg);
    }
}
