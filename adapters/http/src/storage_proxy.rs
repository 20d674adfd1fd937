//! Proxied blob downloads (`FEATURE_PROXY_STORAGE`), which Quay serves with nginx:
//! - `GET /_storage_proxy_auth`: the authorization subrequest (`auth_request`) with the
//!   download's path in `X-Original-URI`; `200 OK` lets it through, anything else is a bare 401;
//! - `GET /_storage_proxy/<token>/<scheme>/<host>/<uri>` (registered by
//!   [`crate::configure_storage_proxy`]): the same check, then the granted storage URL is
//!   relayed unbuffered (status, body and the content headers; the client's `Range` passed on),
//!   so quay-rs serves proxied downloads without a front proxy.

use std::sync::Arc;

use actix_web::body::SizedStream;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry_auth::{RegistryAuth, RequestOrigin};
use quay_application::storage_proxy::{STORAGE_PROXY_PREFIX, authorize};
use quay_ports::storage::redirect::DownloadProxyBackend;

use crate::v2::auth::origin;
use crate::v2::errors::header_str;

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/_storage_proxy_auth", web::get().to(storage_proxy_auth));
}

pub(crate) fn configure_proxy(
    cfg: &mut web::ServiceConfig,
    backend: Arc<dyn DownloadProxyBackend>,
) {
    cfg.app_data(web::Data::from(backend)).route(
        &format!("{STORAGE_PROXY_PREFIX}{{tail:.*}}"),
        web::get().to(storage_proxy),
    );
}

fn now_unix() -> i64 {
    #[expect(clippy::disallowed_methods, reason = "adapters own the wall clock")]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn server_hostname(req: &HttpRequest, auth: &RegistryAuth) -> String {
    let (host, scheme) = origin(req);
    auth.hostname(&RequestOrigin {
        host: &host,
        scheme: &scheme,
    })
    .to_owned()
}

async fn storage_proxy(
    req: HttpRequest,
    auth: web::Data<RegistryAuth>,
    backend: web::Data<dyn DownloadProxyBackend>,
) -> HttpResponse {
    let hostname = server_hostname(&req, &auth);
    let original = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |p| p.as_str().to_owned());
    let access = match authorize(auth.keyring(), &hostname, Some(&original), now_unix()).await {
        Ok(access) => access,
        Err(denied) => {
            tracing::warn!(reason = %denied, uri = %original, "storage proxy request refused");
            return HttpResponse::Unauthorized().finish();
        }
    };
    let url = format!("{}://{}/{}", access.scheme, access.host, access.uri);
    let upstream = match backend.fetch(&url, header_str(&req, "Range")).await {
        Ok(upstream) => upstream,
        Err(e) => {
            tracing::error!(error = %e, host = %access.host, "storage proxy backend failed");
            return HttpResponse::BadGateway().finish();
        }
    };
    let status = StatusCode::from_u16(upstream.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = HttpResponse::build(status);
    let mut length = None;
    for (name, value) in &upstream.headers {
        if name == "content-length" {
            length = value.parse::<u64>().ok();
        } else {
            response.insert_header((name.as_str(), value.as_str()));
        }
    }
    match length {
        Some(n) => response.body(SizedStream::new(n, upstream.body)),
        None => response.streaming(upstream.body),
    }
}

async fn storage_proxy_auth(req: HttpRequest, auth: web::Data<RegistryAuth>) -> HttpResponse {
    let hostname = server_hostname(&req, &auth);
    let original = header_str(&req, "X-Original-URI");
    match authorize(auth.keyring(), &hostname, original, now_unix()).await {
        Ok(_) => HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body("OK"),
        Err(denied) => {
            tracing::warn!(reason = %denied, uri = original.unwrap_or_default(), "storage proxy request refused");
            HttpResponse::Unauthorized().finish()
        }
    }
}
