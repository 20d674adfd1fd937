//! Turns the merged map into a [`QuayConfig`], recording every problem.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quay_application::features::Features;
use serde_json::Value;
use url::Url;

use super::Mode;
use super::db::{self, DbConfig};
use super::extract::{Ctx, Node};
use super::layers::RawMap;
use super::model::{
    CacheConfig, InstanceServiceKey, ListenIpVersion, MailConfig, QuayConfig, RedisConfig,
    RegistryState, UrlScheme,
};
use super::redact::Params;
use super::values::{ByteSize, QuayDuration};
use super::{auth, checks, keys, storage};

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
    let storage = storage::parse(ctx, root);
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
    let ssl_protocols = ctx.str_list(root, "SSL_PROTOCOLS").unwrap_or_default();
    let ssl_ciphers = ctx.str_list(root, "SSL_CIPHERS").unwrap_or_default();
    let listen_ip_version = listen_ip_version(ctx, root);
    let database_secret_key = ctx.secret(root, "DATABASE_SECRET_KEY");
    let secret_key = ctx.secret(root, "SECRET_KEY");
    let page_token_key = ctx.secret(root, "PAGE_TOKEN_KEY");
    let data_model_cache = cache(ctx, root);
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

fn features(ctx: &mut Ctx, root: Node<'_>) -> Features {
    let mut f = Features::default();
    for key in Features::KEYS {
        if let Some(v) = ctx.bool(root, key) {
            f.set(key, v);
        }
    }
    f
}

fn hostname(ctx: &mut Ctx, root: Node<'_>) -> String {
    let Some(h) = ctx.str(root, "SERVER_HOSTNAME") else {
        return "localhost".to_owned();
    };
    let fix = "write host or host:port, e.g. quay.example.com or quay.example.com:8443";
    if h.is_empty() {
        ctx.error("SERVER_HOSTNAME", "empty", fix);
    } else if h.contains("://") {
        ctx.error(
            "SERVER_HOSTNAME",
            "must not include a scheme",
            format!("{fix}; the scheme goes in PREFERRED_URL_SCHEME"),
        );
    } else if h.contains('/')
        || h.chars().any(char::is_whitespace)
        || Url::parse(&format!("http://{h}")).is_err()
    {
        ctx.error(
            "SERVER_HOSTNAME",
            format!("`{h}` is not a host[:port]"),
            fix,
        );
    }
    h
}

fn listen_ip_version(ctx: &mut Ctx, root: Node<'_>) -> ListenIpVersion {
    match ctx.str(root, "FEATURE_LISTEN_IP_VERSION").as_deref() {
        None | Some("IPv4") => ListenIpVersion::Ipv4,
        Some("IPv6") => ListenIpVersion::Ipv6,
        Some("dual-stack") => ListenIpVersion::DualStack,
        Some(other) => {
            ctx.error(
                "FEATURE_LISTEN_IP_VERSION",
                format!("`{other}` is not an IP version"),
                "use IPv4, IPv6 or dual-stack",
            );
            ListenIpVersion::Ipv4
        }
    }
}

fn database(ctx: &mut Ctx, root: Node<'_>, mode: Option<Mode>) -> Option<DbConfig> {
    let uri = db::parse_uri(ctx, root, "DB_URI");
    if root.raw("DB_URI").is_none() && mode.is_some() {
        let mode_name = mode.map(Mode::name).unwrap_or_default();
        ctx.missing("DB_URI", format!("{mode_name} mode needs PostgreSQL: set DB_URI: postgresql://user:password@host:5432/quay"));
    }
    let connection_args = db::parse_args(ctx, root, "DB_CONNECTION_ARGS").unwrap_or_default();
    let read_replicas = db::parse_replicas(ctx, root, &connection_args);
    if let (Some(mode @ (Mode::Standalone | Mode::Full)), Some(db::DbUri::Sqlite { .. })) =
        (mode, &uri)
    {
        ctx.error(
            "DB_URI",
            format!("{} mode needs PostgreSQL, not SQLite", mode.name()),
            "use postgresql://user:password@host:5432/quay, or --mode mirror for SQLite",
        );
    }
    Some(DbConfig {
        uri: uri?,
        connection_args,
        read_replicas,
    })
}

fn redis(ctx: &mut Ctx, root: Node<'_>, key: &str) -> Option<RedisConfig> {
    let map = ctx.object(root, key)?;
    let n = Node { map, path: key };
    let host = ctx.str(n, "host");
    if n.raw("host").is_none() {
        ctx.missing(n.key_path("host"), "set the Redis host name");
    }
    let mut other = map.clone();
    for k in ["host", "port", "password", "username", "db", "ssl"] {
        other.remove(k);
    }
    Some(RedisConfig {
        host: host?,
        port: ctx.port(n, "port").unwrap_or(6379),
        password: ctx.secret(n, "password"),
        username: ctx.str(n, "username"),
        db: ctx.u64(n, "db"),
        ssl: ctx.bool_or(n, "ssl", false),
        other: Params(other),
    })
}

fn cache(ctx: &mut Ctx, root: Node<'_>) -> CacheConfig {
    let Some(map) = ctx.object(root, "DATA_MODEL_CACHE_CONFIG") else {
        return CacheConfig::InMemory;
    };
    let n = Node {
        map,
        path: "DATA_MODEL_CACHE_CONFIG",
    };
    match ctx.str(n, "engine").as_deref() {
        None | Some("inmemory") => CacheConfig::InMemory,
        Some("memcached") => {
            let endpoint = match n.raw("endpoint") {
                Some(Value::Array(parts)) if parts.len() == 2 => format!(
                    "{}:{}",
                    parts[0].as_str().unwrap_or_default(),
                    parts[1].as_u64().unwrap_or(11211)
                ),
                Some(Value::String(s)) => s.clone(),
                _ => {
                    ctx.error(
                        n.key_path("endpoint"),
                        "memcached needs an endpoint",
                        "write endpoint: [host, port]",
                    );
                    String::new()
                }
            };
            CacheConfig::Memcached { endpoint }
        }
        Some(engine @ ("redis" | "rediscluster")) => CacheConfig::Redis {
            cluster: engine == "rediscluster",
            params: Params(map.clone()),
        },
        Some(other) => {
            ctx.error(
                n.key_path("engine"),
                format!("unknown cache engine `{other}`"),
                "use inmemory, memcached, redis or rediscluster",
            );
            CacheConfig::InMemory
        }
    }
}

fn byte_size(ctx: &mut Ctx, root: Node<'_>, key: &str, default: &str) -> ByteSize {
    let text = ctx.str(root, key).unwrap_or_else(|| default.to_owned());
    ByteSize::parse(&text).unwrap_or_else(|problem| {
        ctx.error(key, problem, "write a number and a unit, e.g. 20G or 500M");
        ByteSize(0)
    })
}

fn duration(ctx: &mut Ctx, root: Node<'_>, key: &str, default: &str) -> Option<QuayDuration> {
    let text = ctx.str(root, key).unwrap_or_else(|| default.to_owned());
    match QuayDuration::parse(&text) {
        Ok(d) => Some(d),
        Err(problem) => {
            ctx.error(
                key,
                problem,
                "write a number and one of s, m, h, d, w, y, e.g. 2w",
            );
            QuayDuration::parse(default).ok()
        }
    }
}

fn tag_expiration(ctx: &mut Ctx, root: Node<'_>) -> (Option<QuayDuration>, Vec<QuayDuration>) {
    let default = duration(ctx, root, "DEFAULT_TAG_EXPIRATION", "2w");
    let texts = ctx
        .str_list(root, "TAG_EXPIRATION_OPTIONS")
        .unwrap_or_else(|| ["0s", "1d", "1w", "2w", "4w"].map(str::to_owned).to_vec());
    let mut options = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        match QuayDuration::parse(t) {
            Ok(d) => options.push(d),
            Err(problem) => ctx.error(
                format!("TAG_EXPIRATION_OPTIONS[{i}]"),
                problem,
                "write e.g. 1d, 1w or 2w",
            ),
        }
    }
    if let Some(d) = &default
        && !options.iter().any(|o| o.duration() == d.duration())
        && options.len() == texts.len()
    {
        ctx.error(
            "DEFAULT_TAG_EXPIRATION",
            format!("`{d}` is not one of TAG_EXPIRATION_OPTIONS"),
            "add it to TAG_EXPIRATION_OPTIONS or pick one of them",
        );
    }
    (default, options)
}

fn mail(ctx: &mut Ctx, root: Node<'_>, features: &Features) -> MailConfig {
    let cfg = MailConfig {
        server: ctx.str(root, "MAIL_SERVER").filter(|s| !s.is_empty()),
        port: ctx.port(root, "MAIL_PORT").unwrap_or(587),
        use_tls: ctx.bool_or(root, "MAIL_USE_TLS", true),
        use_auth: ctx.bool_or(root, "MAIL_USE_AUTH", false),
        username: ctx.str(root, "MAIL_USERNAME"),
        password: ctx.secret(root, "MAIL_PASSWORD"),
        default_sender: ctx
            .str(root, "MAIL_DEFAULT_SENDER")
            .unwrap_or_else(|| "admin@example.com".to_owned()),
        fail_silently: ctx.bool_or(root, "MAIL_FAIL_SILENTLY", false),
    };
    if features.mailing && cfg.server.is_none() {
        ctx.warn("MAIL_SERVER", "FEATURE_MAILING is on but MAIL_SERVER is not set: e-mail will not be sent. Set MAIL_SERVER or FEATURE_MAILING: false");
    }
    if features.mailing && cfg.use_auth && (cfg.username.is_none() || cfg.password.is_none()) {
        ctx.error(
            "MAIL_USE_AUTH",
            "SMTP authentication is on but MAIL_USERNAME or MAIL_PASSWORD is missing",
            "set both, or MAIL_USE_AUTH: false",
        );
    }
    cfg
}

fn artifact_types(ctx: &mut Ctx, root: Node<'_>) -> BTreeMap<String, Vec<String>> {
    let Some(map) = ctx.object(root, "ALLOWED_OCI_ARTIFACT_TYPES") else {
        return BTreeMap::new();
    };
    let n = Node {
        map,
        path: "ALLOWED_OCI_ARTIFACT_TYPES",
    };
    map.keys()
        .map(|k| (k.clone(), ctx.str_list(n, k).unwrap_or_default()))
        .collect()
}

fn instance_service_key(ctx: &mut Ctx, root: Node<'_>) -> InstanceServiceKey {
    InstanceServiceKey {
        location: PathBuf::from(
            ctx.str(root, "INSTANCE_SERVICE_KEY_LOCATION")
                .unwrap_or_else(|| "/conf/stack/quay.pem".to_owned()),
        ),
        kid_location: PathBuf::from(
            ctx.str(root, "INSTANCE_SERVICE_KEY_KID_LOCATION")
                .unwrap_or_else(|| "/conf/stack/quay.kid".to_owned()),
        ),
        service: ctx
            .str(root, "INSTANCE_SERVICE_KEY_SERVICE")
            .unwrap_or_else(|| "quay".to_owned()),
        expiration_minutes: ctx
            .u64(root, "INSTANCE_SERVICE_KEY_EXPIRATION")
            .unwrap_or(120),
        refresh_minutes: ctx.u64(root, "INSTANCE_SERVICE_KEY_REFRESH").unwrap_or(55),
    }
}

fn optional_url(ctx: &mut Ctx, root: Node<'_>, key: &str) -> Option<Url> {
    let s = ctx.str(root, key)?;
    Url::parse(&s)
        .map_err(|e| {
            ctx.error(
                key,
                format!("not a URL ({e})"),
                "write a full URL, e.g. http://clair:8080",
            )
        })
        .ok()
}
