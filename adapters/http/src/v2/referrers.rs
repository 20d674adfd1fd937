//! `GET /v2/<name>/referrers/<digest>` (OCI distribution 1.1, Quay's `referrers.py`): an OCI
//! index of the manifests whose `subject` is `<digest>`, filtered by `?artifactType=` with
//! `OCI-Filters-Applied: artifactType`. An unknown subject gives an empty index (the spec's
//! answer; Quay answers `MANIFEST_INVALID`).

use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::Registry;
use quay_application::registry_auth::RegistryAuth;
use quay_domain::digest::Digest;
use quay_domain::media_type::OCI_IMAGE_INDEX;
use quay_domain::registry_error::ErrorKind;

use super::errors::{FRAME_DENY, error_response, prelude, query_arg};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/v2/{name:.+}/referrers/{digest}",
        web::get().to(list_referrers),
    );
}

async fn list_referrers(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let (name, digest) = path.into_inner();
    let v2 = match prelude(&req, &auth, &registry, &name, &["pull"]).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let Ok(digest) = Digest::parse(&digest) else {
        return error_response(ErrorKind::ManifestUnknown);
    };
    let filter = query_arg(&req, "artifactType").filter(|f| !f.is_empty());
    match registry
        .referrers(&v2.caller, &v2.path, &digest, filter.as_deref())
        .await
    {
        Ok(index) => {
            let mut response = HttpResponse::Ok();
            response
                .content_type(OCI_IMAGE_INDEX)
                .insert_header(FRAME_DENY);
            if index.filtered {
                response.insert_header(("OCI-Filters-Applied", "artifactType"));
            }
            response.body(index.bytes)
        }
        Err(failure) => v2.fail(&auth, failure),
    }
}
