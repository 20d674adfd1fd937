//! What every `/v2` content handler does first and last: resolve the caller and the repository
//! path, and render a [`RegistryFailure`] (Quay's envelope; a 401 with the Bearer challenge for
//! the route's scope; a 500 logged once, with an empty body).

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use quay_application::registry::{Caller, Registry, RegistryFailure};
use quay_application::registry_auth::{RegistryAuth, RegistryAuthError, RequestOrigin};
use quay_domain::reference::RepositoryPath;
use quay_domain::registry_error::{ErrorKind, RegistryError};

use super::auth::{invalid_token, origin, registry_error};

/// A `/v2/<name>/...` request after authentication.
pub(crate) struct V2Request {
    pub(crate) caller: Caller,
    pub(crate) path: RepositoryPath,
    pub(crate) host: String,
    pub(crate) scheme: String,
    actions: &'static [&'static str],
}

impl V2Request {
    /// `<scheme>://<host>` (Quay's `get_app_url`).
    pub(crate) fn app_url(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    /// This request with `actions` as the scope of the challenge its failures carry, for the
    /// routes whose invalid-token challenge (Quay's `process_registry_jwt_auth(scopes=...)`)
    /// names other actions than their permission check (`require_repo_write` challenges
    /// `pull,push`).
    pub(crate) fn with_failure_actions(mut self, actions: &'static [&'static str]) -> Self {
        self.actions = actions;
        self
    }

    /// Renders a failure of this request.
    pub(crate) fn fail(&self, auth: &RegistryAuth, failure: RegistryFailure) -> HttpResponse {
        let origin = RequestOrigin {
            host: &self.host,
            scheme: &self.scheme,
        };
        let scope = self.path.full_name();
        render(auth, &origin, Some(&scope), self.actions, failure)
    }
}

/// Renders `failure` with the challenge for `repository`/`actions`.
pub(crate) fn render(
    auth: &RegistryAuth,
    origin: &RequestOrigin<'_>,
    repository: Option<&str>,
    actions: &[&str],
    failure: RegistryFailure,
) -> HttpResponse {
    match failure {
        RegistryFailure::Error(e) => {
            let challenge =
                (e.status() == 401).then(|| auth.challenge(origin, repository, actions));
            registry_error(&e, challenge)
        }
        RegistryFailure::RangeNotSatisfiable { byte_count } => {
            HttpResponse::build(StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{byte_count}")))
                .finish()
        }
        RegistryFailure::Internal { context, source } => {
            tracing::error!(error = %source, error.context = %context, "registry request failed");
            HttpResponse::InternalServerError().finish()
        }
    }
}

/// Authenticates the request and parses `<name>`; `actions` are the scope of the route's
/// challenge (`pull` or `pull,push`).
pub(crate) async fn prelude(
    req: &HttpRequest,
    auth: &RegistryAuth,
    registry: &Registry,
    name: &str,
    actions: &'static [&'static str],
) -> Result<V2Request, HttpResponse> {
    let (host, scheme) = origin(req);
    let origin_ref = RequestOrigin {
        host: &host,
        scheme: &scheme,
    };
    let path = match RepositoryPath::parse(name, &registry.settings().path_rules) {
        Ok(p) => p,
        Err(e) => return Err(registry_error(&e.to_registry_error(), None)),
    };
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let identity = match auth.authorize_bearer(header, &origin_ref).await {
        Ok(identity) => identity,
        Err(RegistryAuthError::InvalidToken { message }) => {
            let challenge = auth.challenge(&origin_ref, Some(&path.full_name()), actions);
            return Err(invalid_token(&message, challenge, "HEAD, OPTIONS, GET"));
        }
        Err(RegistryAuthError::Backend(source)) => {
            tracing::error!(error = %source, "checking a registry token failed");
            return Err(HttpResponse::InternalServerError().finish());
        }
    };
    let caller = Caller {
        identity,
        ip: super::client_ip::client_ip(req),
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned),
        host: header_str(req, "Host").map(str::to_owned),
    };
    Ok(V2Request {
        caller,
        path,
        host,
        scheme,
        actions,
    })
}

/// A `/v2` error of `kind` without a challenge.
pub(crate) fn error_response(kind: ErrorKind) -> HttpResponse {
    registry_error(&RegistryError::new(kind), None)
}

/// The first value of a query argument.
pub(crate) fn query_arg(req: &HttpRequest, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        actix_web::web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(actix_web::web::Query::into_inner)
            .unwrap_or_default();
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

/// A request header as text.
pub(crate) fn header_str<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|h| h.to_str().ok())
}

/// `X-Frame-Options: DENY`, which Quay adds to every registry response.
pub(crate) const FRAME_DENY: (header::HeaderName, &str) = (header::X_FRAME_OPTIONS, "DENY");
