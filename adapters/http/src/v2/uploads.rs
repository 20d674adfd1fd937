//! `/v2/<name>/blobs/uploads/...` (Quay's `start_blob_upload`, `upload_chunk`,
//! `monolithic_upload_or_last_chunk`, `fetch_existing_upload`, `cancel_upload`), with Quay's
//! headers byte for byte (see `quay_domain::upload::headers`).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::{Registry, RegistryFailure, UploadStart};
use quay_application::registry_auth::RegistryAuth;
use quay_domain::upload::{
    StartPlan, blob_location, range_after_chunk, range_after_start, range_for_status,
    range_not_satisfiable, upload_location,
};

use super::errors::{FRAME_DENY, V2Request, header_str, prelude, query_arg};
use super::stream::body_stream;

const PUSH: &[&str] = &["pull", "push"];

/// The `Content-Type` of Quay's empty upload responses (Flask's default for a bare `Response`);
/// its front proxy adds `X-Frame-Options` to the 200/201/204 ones only, never to a 202.
const EMPTY_TYPE: &str = "text/html; charset=utf-8";

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/{name:.+}/blobs/uploads/", web::post().to(start))
        .route("/v2/{name:.+}/blobs/uploads/{uuid}", web::patch().to(patch))
        .route("/v2/{name:.+}/blobs/uploads/{uuid}", web::put().to(put))
        .route("/v2/{name:.+}/blobs/uploads/{uuid}", web::get().to(status))
        .route(
            "/v2/{name:.+}/blobs/uploads/{uuid}",
            web::delete().to(cancel),
        );
}

/// Quay's 416: `Location`, `Range: 0-<byte_count>`, `Docker-Upload-UUID`, no body.
fn fail(v2: &V2Request, auth: &RegistryAuth, uuid: &str, failure: RegistryFailure) -> HttpResponse {
    match failure {
        RegistryFailure::RangeNotSatisfiable { byte_count } => {
            HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((
                    header::LOCATION,
                    upload_location(&v2.app_url(), &v2.path, uuid),
                ))
                .insert_header((header::RANGE, range_not_satisfiable(byte_count)))
                .insert_header(("Docker-Upload-UUID", uuid))
                .finish()
        }
        other => v2.fail(auth, other),
    }
}

async fn start(
    req: HttpRequest,
    name: web::Path<String>,
    payload: web::Payload,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let v2 = match prelude(&req, &auth, &registry, &name, PUSH).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let plan = StartPlan::from_query(
        query_arg(&req, "mount").as_deref(),
        query_arg(&req, "from").as_deref(),
        query_arg(&req, "digest").as_deref(),
        &registry.settings().path_rules,
    );
    let body = body_stream(payload);
    match registry
        .start_upload(&v2.caller, &v2.path, plan, body)
        .await
    {
        Ok(UploadStart::Mounted(digest) | UploadStart::Completed(digest)) => {
            HttpResponse::Created()
                .content_type(EMPTY_TYPE)
                .insert_header(FRAME_DENY)
                .insert_header(("Docker-Content-Digest", digest.as_str()))
                .insert_header((
                    header::LOCATION,
                    blob_location(&v2.app_url(), &v2.path, &digest),
                ))
                .finish()
        }
        Ok(UploadStart::Started(uuid)) => HttpResponse::Accepted()
            .content_type(EMPTY_TYPE)
            .insert_header(("Docker-Upload-UUID", uuid.as_str()))
            .insert_header((header::RANGE, range_after_start()))
            .insert_header((
                header::LOCATION,
                upload_location(&v2.app_url(), &v2.path, &uuid),
            ))
            .finish(),
        Err(failure) => v2.fail(&auth, failure),
    }
}

async fn patch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, uuid) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, PUSH).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let range = header_str(&req, "Content-Range");
    let body = body_stream(payload);
    match registry
        .upload_chunk(&v2.caller, &v2.path, &uuid, range, body)
        .await
    {
        Ok(outcome) => HttpResponse::Accepted()
            .content_type(EMPTY_TYPE)
            .insert_header((
                header::LOCATION,
                upload_location(&v2.app_url(), &v2.path, &uuid),
            ))
            .insert_header((header::RANGE, range_after_chunk(outcome.byte_count)))
            .insert_header(("Docker-Upload-UUID", uuid.as_str()))
            .finish(),
        Err(failure) => fail(&v2, &auth, &uuid, failure),
    }
}

async fn put(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, uuid) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, PUSH).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let digest = query_arg(&req, "digest");
    let range = header_str(&req, "Content-Range");
    let body = body_stream(payload);
    let result = registry
        .finish_upload(&v2.caller, &v2.path, &uuid, digest.as_deref(), range, body)
        .await;
    match result {
        Ok(digest) => HttpResponse::Created()
            .content_type(EMPTY_TYPE)
            .insert_header(FRAME_DENY)
            .insert_header(("Docker-Content-Digest", digest.as_str()))
            .insert_header((
                header::LOCATION,
                blob_location(&v2.app_url(), &v2.path, &digest),
            ))
            .finish(),
        Err(failure) => fail(&v2, &auth, &uuid, failure),
    }
}

async fn status(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, uuid) = path.into_inner();
    // As Quay's `fetch_existing_upload`: an invalid token is challenged for `pull`, a caller
    // without write access for `pull,push`, so a client that fetches a token for the challenged
    // scope gets one that can read the upload.
    let v2 = match prelude(&req, &auth, &registry, &name, &["pull"]).await {
        Ok(v2) => v2.with_failure_actions(PUSH),
        Err(response) => return response,
    };
    match registry.upload_status(&v2.caller, &v2.path, &uuid).await {
        // The OCI spec's `Location` and `Range: 0-<last byte>` (Quay sends no `Location` and
        // `bytes=0-<byte_count>`, one past the last byte).
        Ok(outcome) => HttpResponse::NoContent()
            .content_type(EMPTY_TYPE)
            .insert_header(FRAME_DENY)
            .insert_header((
                header::LOCATION,
                upload_location(&v2.app_url(), &v2.path, &uuid),
            ))
            .insert_header(("Docker-Upload-UUID", uuid.as_str()))
            .insert_header((header::RANGE, range_for_status(outcome.byte_count)))
            .finish(),
        Err(failure) => v2.fail(&auth, failure),
    }
}

async fn cancel(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, uuid) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, PUSH).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    match registry.cancel_upload(&v2.caller, &v2.path, &uuid).await {
        Ok(()) => HttpResponse::NoContent()
            .content_type(EMPTY_TYPE)
            .insert_header(FRAME_DENY)
            .finish(),
        Err(failure) => v2.fail(&auth, failure),
    }
}
