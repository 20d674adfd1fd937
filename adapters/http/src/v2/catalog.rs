//! `GET /v2/_catalog` (Quay's `catalog_search`): `{"repositories": [...]}` as Flask's `jsonify`
//! writes it, with `Link: </v2/_catalog?n=<n>&next_page=<token>>; rel="next"` when more
//! follow (relative, as Quay's `os.path.join(app_url, "/v2/...")` leaves it).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::{Caller, Registry};
use quay_application::registry_auth::{RegistryAuth, RegistryAuthError, RequestOrigin};

use super::auth::{invalid_token, origin};
use super::errors::{FRAME_DENY, header_str, query_arg, render};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/_catalog", web::get().to(catalog));
}

/// `application/x-www-form-urlencoded` of a token (Python's `urlencode`).
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn catalog(
    req: HttpRequest,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (host, scheme) = origin(&req);
    let origin = RequestOrigin {
        host: &host,
        scheme: &scheme,
    };
    let identity = match auth
        .authorize_bearer(header_str(&req, "Authorization"), &origin)
        .await
    {
        Ok(identity) => identity,
        Err(RegistryAuthError::InvalidToken { message }) => {
            return invalid_token(
                &message,
                auth.challenge(&origin, None, &[]),
                "HEAD, OPTIONS, GET",
            );
        }
        Err(RegistryAuthError::Backend(source)) => {
            tracing::error!(error = %source, "checking a registry token failed");
            return HttpResponse::InternalServerError().finish();
        }
    };
    let caller = Caller {
        identity,
        ip: super::client_ip::client_ip(&req),
        user_agent: header_str(&req, "User-Agent").map(str::to_owned),
        host: header_str(&req, "Host").map(str::to_owned),
    };
    let n = query_arg(&req, "n");
    let token = query_arg(&req, "next_page").or_else(|| query_arg(&req, "last"));
    match registry
        .catalog(&caller, n.as_deref(), token.as_deref())
        .await
    {
        Ok(page) => {
            let mut response = HttpResponse::Ok();
            response
                .content_type("application/json")
                .insert_header(FRAME_DENY);
            if let Some(next) = &page.next_page {
                response.insert_header((
                    header::LINK,
                    format!(
                        "</v2/_catalog?n={}&next_page={}>; rel=\"next\"",
                        page.limit,
                        form_encode(next)
                    ),
                ));
            }
            let body = serde_json::json!({ "repositories": page.repositories });
            response.body(format!("{body}\n"))
        }
        Err(failure) => render(&auth, &origin, None, &[], failure),
    }
}
