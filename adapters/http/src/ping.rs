//! Liveness pings Quay's load balancers and its own health checks call: `/_internal_ping` and
//! `/v1/_internal_ping` answer `true` with 200 as long as the process serves requests.

use actix_web::{HttpResponse, web};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_internal_ping", web::get().to(ping))
        .route("/v1/_internal_ping", web::get().to(ping));
}

async fn ping() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("X-Frame-Options", "DENY"))
        .body("true")
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test, web};

    #[actix_web::test]
    async fn internal_ping_answers_true() {
        let app = test::init_service(App::new().configure(super::configure)).await;
        for uri in ["/_internal_ping", "/v1/_internal_ping"] {
            let resp =
                test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
            assert_eq!(resp.status(), 200, "{uri}");
            let body = test::read_body(resp).await;
            assert_eq!(body, web::Bytes::from_static(b"true"));
        }
    }
}
