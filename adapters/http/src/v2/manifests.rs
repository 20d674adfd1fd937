//! `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>` (Quay's
//! `endpoints/v2/manifest.py`): stored bytes with their media type and digest (by tag, converted
//! for a client whose `Accept` lacks the stored type); a push answers
//! 201 `OK` with the digest, the relative `Location` and `OCI-Subject` when the manifest has a
//! subject; a delete answers 202.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::Registry;
use quay_application::registry_auth::RegistryAuth;
use quay_domain::manifest::MAX_MANIFEST_BYTES;
use quay_domain::reference::Reference;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::upload::manifest_location;

use super::auth::registry_error;
use super::errors::{FRAME_DENY, V2Request, prelude};
use super::stream::read_limited;

const PULL: &[&str] = &["pull"];
const PUSH: &[&str] = &["pull", "push"];

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/{name:.+}/manifests/{reference}", web::get().to(get))
        .route("/v2/{name:.+}/manifests/{reference}", web::head().to(get))
        .route("/v2/{name:.+}/manifests/{reference}", web::put().to(put))
        .route(
            "/v2/{name:.+}/manifests/{reference}",
            web::delete().to(delete),
        );
}

async fn start(
    req: &HttpRequest,
    path: web::Path<(String, String)>,
    auth: &RegistryAuth,
    registry: &Registry,
    actions: &'static [&'static str],
) -> Result<(V2Request, Reference), HttpResponse> {
    let (name, reference) = path.into_inner();
    let v2 = prelude(req, auth, registry, &name, actions).await?;
    let reference =
        Reference::parse(&reference).map_err(|e| registry_error(&e.to_registry_error(), None))?;
    Ok((v2, reference))
}

async fn get(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (v2, reference) = match start(&req, path, &auth, &registry, PULL).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let accept = accept_list(&req);
    let accept: Vec<&str> = accept.iter().map(String::as_str).collect();
    match registry
        .get_manifest(&v2.caller, &v2.path, &reference, &accept)
        .await
    {
        Ok(m) => HttpResponse::Ok()
            .content_type(m.media_type)
            .insert_header(("Docker-Content-Digest", m.digest))
            .insert_header(FRAME_DENY)
            .body(m.bytes),
        Err(failure) => v2.fail(&auth, failure),
    }
}

fn accept_list(req: &HttpRequest) -> Vec<String> {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(','))
        .map(|r| r.split(';').next().unwrap_or_default().trim().to_owned())
        .filter(|r| !r.is_empty())
        .collect()
}

async fn put(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (v2, reference) = match start(&req, path, &auth, &registry, PUSH).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    let Ok(bytes) = read_limited(payload, MAX_MANIFEST_BYTES).await else {
        let e = RegistryError::new(ErrorKind::ManifestInvalid)
            .with_detail_message("the request body could not be read");
        return registry_error(&e, None);
    };
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .map(|c| c.split(';').next().unwrap_or_default().trim());
    let accept = accept_list(&req);
    let accept: Vec<&str> = accept.iter().map(String::as_str).collect();
    let pushed = registry
        .put_manifest(
            &v2.caller,
            &v2.path,
            &reference,
            content_type,
            &accept,
            &bytes,
        )
        .await;
    match pushed {
        Ok(p) => {
            let mut response = HttpResponse::Created();
            response
                .content_type("text/html; charset=utf-8")
                .insert_header(("Docker-Content-Digest", p.digest.as_str()))
                .insert_header((header::LOCATION, manifest_location(&v2.path, &p.digest)));
            if let Some(subject) = p.subject {
                response.insert_header(("OCI-Subject", subject));
            }
            response.body("OK")
        }
        Err(failure) => v2.fail(&auth, failure),
    }
}

async fn delete(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (v2, reference) = match start(&req, path, &auth, &registry, PUSH).await {
        Ok(x) => x,
        Err(response) => return response,
    };
    match registry
        .delete_manifest(&v2.caller, &v2.path, &reference)
        .await
    {
        Ok(()) => HttpResponse::Accepted().finish(),
        Err(failure) => v2.fail(&auth, failure),
    }
}
