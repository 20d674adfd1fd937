//! `GET /v2/` (Quay's `v2_support_enabled`): `true` with 200 for a valid registry token, `true`
//! with 401 without one, Quay's `{"error": …}` 401 for a refused token; the challenge and
//! `Docker-Distribution-API-Version` always.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry_auth::{RegistryAuth, RegistryAuthError, RequestOrigin};

use super::auth::{API_VERSION, invalid_token, not_found, origin};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/", web::get().to(v2_support_enabled));
}

async fn v2_support_enabled(req: HttpRequest, auth: web::Data<RegistryAuth>) -> HttpResponse {
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !auth.advertises_v2_to(user_agent) {
        return not_found("HEAD, OPTIONS, GET");
    }
    let (host, scheme) = origin(&req);
    let origin = RequestOrigin {
        host: &host,
        scheme: &scheme,
    };
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let challenge = auth.challenge(&origin, None, &[]);
    let identity = match auth.authorize_bearer(header, &origin).await {
        Ok(identity) => identity,
        Err(RegistryAuthError::InvalidToken { message }) => {
            return invalid_token(&message, challenge, "HEAD, OPTIONS, GET");
        }
        Err(RegistryAuthError::Backend(source)) => {
            tracing::error!(error = %source, "checking a registry token failed");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let mut response = if identity.has_token {
        let mut ok = HttpResponse::Ok();
        ok.insert_header((header::X_FRAME_OPTIONS, "DENY"));
        ok
    } else {
        HttpResponse::Unauthorized()
    };
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header(API_VERSION)
        .insert_header(("X-Sparse-Manifest-Support", "false"))
        .body("true")
}
