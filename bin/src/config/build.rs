//! Turns the merged map into a [`QuayConfig`], recording every problem.

use std::path::Path;

use super::Mode;
use super::extract::{Ctx, Node};
use super::layers::RawMap;
use super::model::{QuayConfig, RegistryState, UrlScheme};
use super::redact::Params;
use super::{auth, checks, keys, storage};

mod parts;

use parts::{
    artifact_types, byte_size, cache, database, duration, features, hostname, instance_service_key,
    listen_ip_version, mail, optional_url, redis, repository_lookup_cache_ttl, ssl_protocols,
    tag_expiration,
};

/// Keys Quay's schema marks as required; enforced when no preset is chosen.
const SCHEMA_REQUIRED: &[&str] = &[
    "PREFERRED_URL_SCHEME",
    "SERVER_HOSTNAME",
    "DB_URI",
    "AUTHENTICATION_TYPE",
    "DISTRIBUTED_STORAGE_CONFIG",
    "BUILDLOGS_REDIS",
    "USER_EVENTS_REDIS",
    "DISTRIBUTED_STORAGE_PREFERENCE",
    "DEFAULT_TAG_EXPIRATION",
    "TAG_EXPIRATION_OPTIONS",
];

/// Where the loader found things, for checks that look at files.
pub(crate) struct Site<'a> {
    pub(crate) mode: Option<Mode>,
    pub(crate) data_dir: &'a Path,
    /// Directory of the config file, where Quay keeps `ssl.cert` and `ssl.key`.
    pub(crate) config_dir: Option<&'a Path>,
}

/// Builds the typed config; `None` when any error was recorded.
#[expect(
    clippy::too_many_lines,
    reason = "one line per Quay key; splitting would scatter the key list"
)]
pub(crate) fn build(ctx: &mut Ctx, map: &RawMap, site: &Site<'_>) -> Option<QuayConfig> {
    let root = Node::root(map);
    keys::check_top_level(ctx, map);
    if site.mode.is_none() {
        for key in SCHEMA_REQUIRED {
            if root.raw(key).is_none()
                && *key != "DISTRIBUTED_STORAGE_CONFIG"
                && *key != "DISTRIBUTED_STORAGE_PREFERENCE"
            {
                ctx.missing(
                    *key,
                    "Quay's schema requires it; set it in config.yaml or choose a --mode preset",
                );
            }
        }
    }
    let features = features(ctx, root);
    let server_hostname = hostname(ctx, root);
    let preferred_url_scheme = match ctx.str(root, "PREFERRED_URL_SCHEME").as_deref() {
        None | Some("http") => UrlScheme::Http,
        Some("https") => UrlScheme::Https,
        Some(other) => {
            ctx.error(
                "PREFERRED_URL_SCHEME",
                format!("`{other}` is not http or https"),
                "use http or https",
            );
            UrlScheme::Http
        }
    };
    let external_tls_termination = ctx.bool_or(root, "EXTERNAL_TLS_TERMINATION", false);
    let db = database(ctx, root, site.mode);
    let storage = storage::parse(ctx, root).map(|mut s| {
        s.config_dir = site.config_dir.map(Path::to_path_buf);
        s
    });
    let auth = auth::parse(ctx, root);
    let (default_tag_expiration, tag_expiration_options) = tag_expiration(ctx, root);
    let buildlogs_redis = redis(ctx, root, "BUILDLOGS_REDIS");
    let user_events_redis = redis(ctx, root, "USER_EVENTS_REDIS");
    let pull_metrics_redis = redis(ctx, root, "PULL_METRICS_REDIS");
    let super_users = ctx.str_list(root, "SUPER_USERS").unwrap_or_default();
    let bootstrap_superuser = match site.mode {
        Some(Mode::Mirror) if matches!(auth, Some(auth::AuthConfig::Database)) => {
            super_users.first().cloned()
        }
        _ => None,
    };
    let tls = checks::tls(
        ctx,
        root,
        site,
        preferred_url_scheme,
        external_tls_termination,
    );
    checks::cross_checks(
        ctx,
        root,
        &checks::Parts {
            mode: site.mode,
            scheme: preferred_url_scheme,
            db: db.as_ref(),
            storage: storage.as_ref(),
            auth: auth.as_ref(),
            features: &features,
            buildlogs_redis: buildlogs_redis.is_some(),
            user_events_redis: user_events_redis.is_some(),
        },
    );
    let ssl_protocols = ssl_protocols(ctx, root);
    let ssl_ciphers = ctx.str_list(root, "SSL_CIPHERS").unwrap_or_default();
    let listen_ip_version = listen_ip_version(ctx, root);
    let database_secret_key = ctx.secret(root, "DATABASE_SECRET_KEY");
    let secret_key = ctx.secret(root, "SECRET_KEY");
    let page_token_key = ctx.secret(root, "PAGE_TOKEN_KEY");
    let data_model_cache = cache(ctx, root);
    let repository_lookup_cache_ttl = repository_lookup_cache_ttl(ctx, root);
    let global_readonly_super_users = ctx
        .str_list(root, "GLOBAL_READONLY_SUPER_USERS")
        .unwrap_or_default();
    let registry_state = match ctx.str(root, "REGISTRY_STATE").as_deref() {
        None | Some("normal") => RegistryState::Normal,
        Some("readonly") => RegistryState::Readonly,
        Some(other) => {
            ctx.error(
                "REGISTRY_STATE",
                format!("`{other}` is not a registry state"),
                "use normal or readonly",
            );
            RegistryState::Normal
        }
    };
    let disable_pushes = ctx.bool_or(root, "DISABLE_PUSHES", false);
    let account_recovery_mode = ctx.bool_or(root, "ACCOUNT_RECOVERY_MODE", false);
    let library_namespace = ctx
        .str(root, "LIBRARY_NAMESPACE")
        .unwrap_or_else(|| "library".to_owned());
    let maximum_layer_size = byte_size(ctx, root, "MAXIMUM_LAYER_SIZE", "20G");
    let push_temp_tag_expiration_sec = ctx
        .u64(root, "PUSH_TEMP_TAG_EXPIRATION_SEC")
        .unwrap_or(3600);
    let create_private_repo_on_push = ctx.bool_or(root, "CREATE_PRIVATE_REPO_ON_PUSH", true);
    let create_namespace_on_push = ctx.bool_or(root, "CREATE_NAMESPACE_ON_PUSH", false);
    let fresh_login_timeout = duration(ctx, root, "FRESH_LOGIN_TIMEOUT", "10m");
    let session_timeout = duration(ctx, root, "SESSION_TIMEOUT", "31d");
    let mail = mail(ctx, root, &features);
    let allowed_oci_artifact_types = artifact_types(ctx, root);
    let instance_service_key = instance_service_key(ctx, root);
    let registry_jwt_auth_max_fresh_s = ctx
        .u64(root, "REGISTRY_JWT_AUTH_MAX_FRESH_S")
        .unwrap_or(3660);
    let security_scanner_v4_endpoint = optional_url(ctx, root, "SECURITY_SCANNER_V4_ENDPOINT");
    let security_scanner_v4_psk = ctx.secret(root, "SECURITY_SCANNER_V4_PSK");
    let ssrf_allowed_hosts = ctx.str_list(root, "SSRF_ALLOWED_HOSTS").unwrap_or_default();
    let browser_api_calls_xhr_only = ctx.bool_or(root, "BROWSER_API_CALLS_XHR_ONLY", true);
    if !ctx.errors.is_empty() {
        return None;
    }
    Some(QuayConfig {
        mode: site.mode,
        server_hostname,
        preferred_url_scheme,
        external_tls_termination,
        tls,
        ssl_protocols,
        ssl_ciphers,
        listen_ip_version,
        db: db?,
        database_secret_key,
        secret_key,
        page_token_key,
        storage: storage?,
        buildlogs_redis,
        user_events_redis,
        pull_metrics_redis,
        data_model_cache,
        repository_lookup_cache_ttl,
        auth: auth?,
        super_users,
        global_readonly_super_users,
        bootstrap_superuser,
        registry_state,
        disable_pushes,
        account_recovery_mode,
        library_namespace,
        maximum_layer_size,
        push_temp_tag_expiration_sec,
        default_tag_expiration: default_tag_expiration?,
        tag_expiration_options,
        create_private_repo_on_push,
        create_namespace_on_push,
        fresh_login_timeout: fresh_login_timeout?,
        session_timeout: session_timeout?,
        mail,
        features,
        allowed_oci_artifact_types,
        instance_service_key,
        registry_jwt_auth_max_fresh_s,
        security_scanner_v4_endpoint,
        security_scanner_v4_psk,
        ssrf_allowed_hosts,
        browser_api_calls_xhr_only,
        effective: Params(map.clone()),
    })
}
