//! `GET /v2/<name>/tags/list` (Quay's `list_all_tags`): `{"name": ..., "tags": [...]}` as Flask's
//! `jsonify` writes it, with `Link: </v2/<name>/tags/list?n=<n>&last=<last tag>>; rel="next"`
//! when more follow (relative, as Quay's `os.path.join(app_url, "/v2/...")` leaves it).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use quay_application::registry::Registry;
use quay_application::registry_auth::RegistryAuth;

use super::errors::{FRAME_DENY, prelude, query_arg};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/v2/{name:.+}/tags/list", web::get().to(list_tags));
}

async fn list_tags(
    req: HttpRequest,
    name: web::Path<String>,
    auth: web::Data<RegistryAuth>,
    registry: web::Data<Registry>,
) -> HttpResponse {
    let v2 = match prelude(&req, &auth, &registry, &name, &["pull"]).await {
        Ok(v2) => v2,
        Err(response) => return response,
    };
    let n = query_arg(&req, "n").and_then(|n| n.trim().parse::<i64>().ok());
    let last = query_arg(&req, "last");
    match registry
        .list_tags(&v2.caller, &v2.path, n, last.as_deref())
        .await
    {
        Ok(page) => {
            let mut response = HttpResponse::Ok();
            response
                .content_type("application/json")
                .insert_header(FRAME_DENY);
            if let (true, Some(last)) = (page.has_more, page.tags.last()) {
                response.insert_header((
                    header::LINK,
                    format!(
                        "</v2/{}/tags/list?n={}&last={last}>; rel=\"next\"",
                        page.name, page.limit
                    ),
                ));
            }
            let body = serde_json::json!({"name": page.name, "tags": page.tags});
            response.body(format!("{body}\n"))
        }
        Err(failure) => v2.fail(&auth, failure),
    }
}
