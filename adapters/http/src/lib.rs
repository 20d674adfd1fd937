//! HTTP driving adapter of quay-rs.
#![doc = include_str!("../README.md")]

mod health;
mod ping;

use actix_web::web;
use quay_application::health::HealthService;

/// The application services the HTTP handlers call, shared by every worker thread.
#[derive(Clone)]
pub struct AppServices {
    /// Instance and end-to-end health checks.
    pub health: HealthService,
}

/// Registers every route of this adapter on an actix-web app.
pub fn configure(services: AppServices) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(web::Data::new(services));
        health::configure(cfg);
        ping::configure(cfg);
    }
}
