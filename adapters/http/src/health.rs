//! `/health/instance` (`/health`) and `/health/endtoend` (`/status`), with Quay's JSON shape:
//! `{"data": {"services": {name: bool, ...}}, "status_code": 200|503}`, never cached.

use crate::AppServices;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use quay_application::health::HealthReport;
use serde_json::json;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(instance))
        .route("/health/instance", web::get().to(instance))
        .route("/status", web::get().to(endtoend))
        .route("/health/endtoend", web::get().to(endtoend));
}

async fn instance(services: web::Data<AppServices>) -> HttpResponse {
    render(&services.health.check_instance().await)
}

async fn endtoend(services: web::Data<AppServices>) -> HttpResponse {
    render(&services.health.check_endtoend().await)
}

fn render(report: &HealthReport) -> HttpResponse {
    let code = report.status_code();
    let services: serde_json::Map<String, serde_json::Value> = report
        .services
        .iter()
        .map(|(name, status)| ((*name).to_string(), json!(status.healthy)))
        .collect();
    let body = json!({ "data": { "services": services }, "status_code": code });
    HttpResponse::build(StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE))
        .insert_header(("Cache-Control", "no-cache, no-store, must-revalidate"))
        .json(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::{App, test};
    use async_trait::async_trait;
    use quay_application::health::HealthService;
    use quay_ports::health::{HealthProbe, ProbeStatus};
    use std::sync::Arc;

    struct Fixed(&'static str, bool);

    #[async_trait]
    impl HealthProbe for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        async fn check(&self) -> ProbeStatus {
            if self.1 {
                ProbeStatus::ok()
            } else {
                ProbeStatus::failed("down")
            }
        }
    }

    fn services(storage_ok: bool) -> AppServices {
        AppServices {
            health: HealthService::new(
                vec![
                    Arc::new(Fixed("database", true)),
                    Arc::new(Fixed("disk_space", true)),
                ],
                vec![
                    Arc::new(Fixed("database", true)),
                    Arc::new(Fixed("storage", storage_ok)),
                ],
            ),
            registry_auth: None,
        }
    }

    #[actix_web::test]
    async fn instance_healthy_matches_quay_shape() {
        let app = test::init_service(App::new().configure(crate::configure(services(true)))).await;
        let resp = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/health/instance")
                .to_request(),
        )
        .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers().get("cache-control").unwrap(),
            "no-cache, no-store, must-revalidate"
        );
        assert_eq!(
            resp.headers().get("content-type").unwrap(),
            "application/json"
        );
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(
            body,
            json!({"data": {"services": {"database": true, "disk_space": true}}, "status_code": 200})
        );
    }

    #[actix_web::test]
    async fn endtoend_unhealthy_is_503() {
        let app = test::init_service(App::new().configure(crate::configure(services(false)))).await;
        let resp =
            test::call_service(&app, test::TestRequest::get().uri("/status").to_request()).await;
        assert_eq!(resp.status(), 503);
        let body: serde_json::Value = test::read_body_json(resp).await;
        assert_eq!(body["status_code"], 503);
        assert_eq!(body["data"]["services"]["storage"], false);
    }
}
