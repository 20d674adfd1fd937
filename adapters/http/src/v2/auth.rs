//! `GET /v2/auth` (Quay's `generate_registry_jwt`) and the response helpers every `/v2` resource
//! uses for authentication failures:
//! - [`origin`]: the host and scheme of a request, for audiences and challenges;
//! - [`registry_error`]: Quay's `{"errors":[…]}` envelope (Flask's compact `jsonify` plus a
//!   newline); a 401 carries `WWW-Authenticate` and `Docker-Distribution-API-Version`;
//! - [`invalid_token`]: Quay's 401 for a refused bearer token (`{"error": "…"}`, `text/html`,
//!   challenge and CORS headers).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use quay_application::registry_auth::{IssueError, RegistryAuth, RequestOrigin, TokenRequest};
use quay_domain::registry_error::RegistryError;

/// `Docker-Distribution-API-Version` of every challenge.
pub(crate) const API_VERSION: (&str, &str) = ("Docker-Distribution-API-Version", "registry/2.0");

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/auth", web::get().to(generate_registry_jwt));
}

/// The `Host` (falling back to actix's connection info) and scheme of a request.
pub(crate) fn origin(req: &HttpRequest) -> (String, String) {
    let info = req.connection_info();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map_or_else(|| info.host().to_owned(), str::to_owned);
    (host, info.scheme().to_owned())
}

/// Flask's `jsonify`: compact JSON and a newline.
fn jsonify(value: &serde_json::Value) -> String {
    let mut body = value.to_string();
    body.push('\n');
    body
}

/// A `/v2` error in Quay's envelope; `challenge` is the `WWW-Authenticate` value for a 401.
pub(crate) fn registry_error(error: &RegistryError, challenge: Option<String>) -> HttpResponse {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(challenge) = challenge.filter(|_| error.status() == 401) {
        response
            .insert_header((header::WWW_AUTHENTICATE, challenge))
            .insert_header(API_VERSION);
    }
    response.body(jsonify(&error.envelope()))
}

/// Quay's `util.http.abort` CORS headers; `methods` is the route's `Allow` list.
fn abort_headers(response: &mut HttpResponseBuilder, methods: &'static str) {
    response
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, "21600"))
        .insert_header((
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type",
        ))
        .insert_header((header::VARY, "Origin"));
}

/// Quay's `abort(status, message=…)`: `{"error": "<message>"}` with Python's default separators.
fn abort_body(message: &str) -> String {
    let quoted = serde_json::Value::String(message.to_owned()).to_string();
    format!("{{\"error\": {quoted}}}")
}

/// Quay's 401 for a refused bearer token: body `{"error": "<message>"}` as `text/html`, the
/// challenge, `Docker-Distribution-API-Version`, and the CORS headers of `abort` (`methods` is
/// the route's `Allow` list, e.g. `HEAD, OPTIONS, GET`).
pub(crate) fn invalid_token(
    message: &str,
    challenge: String,
    methods: &'static str,
) -> HttpResponse {
    let mut response = HttpResponse::Unauthorized();
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header(API_VERSION);
    abort_headers(&mut response, methods);
    response.body(abort_body(message))
}

/// Quay's `abort(404)`: `{"error": "Not Found"}` with the CORS headers of `abort`.
pub(crate) fn not_found(methods: &'static str) -> HttpResponse {
    let mut response = HttpResponse::NotFound();
    response.content_type("text/html; charset=utf-8");
    abort_headers(&mut response, methods);
    response.body(abort_body("Not Found"))
}

#[derive(Debug, Default)]
struct AuthQuery {
    service: Option<String>,
    scopes: Vec<String>,
}

fn parse_query(req: &HttpRequest) -> AuthQuery {
    let pairs: Vec<(String, String)> =
        web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(web::Query::into_inner)
            .unwrap_or_default();
    let mut query = AuthQuery::default();
    for (key, value) in pairs {
        match key.as_str() {
            "service" if query.service.is_none() => query.service = Some(value),
            "scope" => query.scopes.push(value),
            _ => {}
        }
    }
    query
}

async fn generate_registry_jwt(req: HttpRequest, auth: web::Data<RegistryAuth>) -> HttpResponse {
    let (host, scheme) = origin(&req);
    let origin = RequestOrigin {
        host: &host,
        scheme: &scheme,
    };
    let query = parse_query(&req);
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let ip = super::client_ip::client_ip(&req);
    let user_agent = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let request = TokenRequest {
        authorization,
        service: query.service.as_deref(),
        scopes: query.scopes,
        origin,
        ip: ip.as_deref(),
        user_agent,
    };
    match auth.issue_token(request).await {
        Ok(issued) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header((header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"))
            .body(jsonify(&serde_json::json!({ "token": issued.token }))),
        Err(error) => issue_error(&error, &auth, &origin),
    }
}

fn issue_error(
    error: &IssueError,
    auth: &RegistryAuth,
    origin: &RequestOrigin<'_>,
) -> HttpResponse {
    match error {
        IssueError::Registry(e) => registry_error(e, Some(auth.challenge(origin, None, &[]))),
        IssueError::AnonymousNotAllowed => {
            let mut response = HttpResponse::Unauthorized();
            response.content_type("text/html; charset=utf-8");
            abort_headers(&mut response, "HEAD, OPTIONS, GET");
            response.body(abort_body("Anonymous access is not allowed"))
        }
        IssueError::TooManyLoginAttempts { retry_after_s } => HttpResponse::TooManyRequests()
            .content_type("text/html; charset=utf-8")
            .insert_header((header::RETRY_AFTER, HeaderValue::from(*retry_after_s)))
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "DELETE, GET, HEAD, OPTIONS, POST, PUT",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "21600"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "AUTHORIZATION, CONTENT-TYPE, X-REQUESTED-WITH",
            ))
            .body("Too many login attempts. \nPlease reset your Quay password and try again."),
        IssueError::Backend(source) => {
            tracing::error!(error = %source, "issuing a registry token failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}
