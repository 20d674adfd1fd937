//! `HEAD`/`GET`/`DELETE /v2/<name>/blobs/<digest>` (Quay's `check_blob_exists`,
//! `download_blob` and `delete_digest`): blobs stream with their length; `Range: bytes=a-b`
//! is answered 206 with `Content-Range`; a signed storage URL is a 302; delete is always
//! `UNSUPPORTED` 405 (blobs go only through garbage collection).

use actix_web::body::SizedStream;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::{BlobBody, BlobMeta, Registry, RegistryFailure};
use quay_application::registry_auth::RegistryAuth;
use quay_domain::digest::Digest;
use quay_domain::registry_error::ErrorKind;

use super::errors::{FRAME_DENY, error_response, header_str, prelude};
use crate::file_send;

const PULL: &[&str] = &["pull"];

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/{name:.+}/blobs/{digest}", web::head().to(head_blob))
        .route("/v2/{name:.+}/blobs/{digest}", web::get().to(get_blob))
        .route(
            "/v2/{name:.+}/blobs/{digest}",
            web::delete().to(delete_blob),
        );
}

/// `BLOB_UNKNOWN` for a digest that does not parse (Quay's route would not match it).
fn unknown_blob() -> HttpResponse {
    error_response(ErrorKind::BlobUnknown)
}

/// `Range: bytes=<start>-[<end>]` (one range); anything else is ignored, as Quay does.
fn parse_range(req: &HttpRequest) -> Option<(u64, Option<u64>)> {
    let spec = header_str(req, "Range")?.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse().ok()?),
    };
    Some((start, end))
}

fn meta_headers(response: &mut actix_web::HttpResponseBuilder, meta: &BlobMeta) {
    response
        .content_type("application/octet-stream")
        .insert_header(("Docker-Content-Digest", meta.digest.as_str()))
        .insert_header(FRAME_DENY);
    // Quay announces ranges only for storage supporting resumable downloads (the S3 family).
    if meta.accept_ranges {
        response.insert_header((header::ACCEPT_RANGES, "bytes"));
    }
}

async fn head_blob(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, digest) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, PULL).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let Ok(digest) = Digest::parse(&digest) else {
        return unknown_blob();
    };
    match registry.blob_meta(&v2.caller, &v2.path, &digest).await {
        Ok(meta) => {
            let mut response = HttpResponse::Ok();
            meta_headers(&mut response, &meta);
            response
                .insert_header((header::CACHE_CONTROL, "max-age=31436000"))
                .body(SizedStream::new(
                    meta.size,
                    quay_ports::storage::stream::empty(),
                ))
        }
        Err(failure) => v2.fail(&auth, failure),
    }
}

async fn get_blob(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, digest) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, PULL).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let Ok(digest) = Digest::parse(&digest) else {
        return unknown_blob();
    };
    let zero_copy = file_send::available(&req);
    let body = registry
        .blob_body(&v2.caller, &v2.path, &digest, parse_range(&req), zero_copy)
        .await;
    match body {
        Ok(BlobBody::Redirect { meta, url }) => {
            let mut response = HttpResponse::Found();
            meta_headers(&mut response, &meta);
            response.insert_header((header::LOCATION, url)).finish()
        }
        Ok(BlobBody::Stream { meta, range, body }) => {
            let (mut response, len) = content_response(&meta, range);
            response.body(SizedStream::new(len, body))
        }
        Ok(BlobBody::File {
            meta,
            range,
            region,
        }) => {
            let (mut response, len) = content_response(&meta, range);
            debug_assert_eq!(len, region.len, "the region is the range served");
            file_send::file_response(&req, &mut response, region.file, region.offset, region.len)
                .unwrap_or_else(|| {
                    // Not reached: files are asked for only on connections that can send them.
                    v2.fail(
                        &auth,
                        RegistryFailure::Internal {
                            context: "sending a blob".to_owned(),
                            source: "this connection cannot send files".into(),
                        },
                    )
                })
        }
        Err(failure) => v2.fail(&auth, failure),
    }
}

/// The 200 (or 206 with `Content-Range`) for the bytes of a blob, and their count.
fn content_response(
    meta: &BlobMeta,
    range: Option<(u64, u64)>,
) -> (actix_web::HttpResponseBuilder, u64) {
    let mut response = match range {
        Some(_) => HttpResponse::PartialContent(),
        None => HttpResponse::Ok(),
    };
    meta_headers(&mut response, meta);
    response.insert_header((header::CACHE_CONTROL, "max-age=31536000"));
    let len = match range {
        Some((start, end)) => {
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{end}/{}", meta.size),
            ));
            end - start + 1
        }
        None => meta.size,
    };
    (response, len)
}

async fn delete_blob(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, _) = path.into_inner();
    match prelude(&req, &auth, &registry, &name, &["pull", "push"]).await {
        Ok(_) => error_response(ErrorKind::Unsupported),
        Err(response) => response,
    }
}
