//! Readers for single keys and small groups of keys, with Quay's defaults.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quay_application::features::Features;
use serde_json::Value;
use url::Url;

use super::super::Mode;
use super::super::db::{self, DbConfig};
use super::super::extract::{Ctx, Node};
use super::super::model::{
    CacheConfig, InstanceServiceKey, ListenIpVersion, MailConfig, RedisConfig,
};
use super::super::redact::Params;
use super::super::values::{ByteSize, QuayDuration};

pub(super) fn features(ctx: &mut Ctx, root: Node<'_>) -> Features {
    let mut f = Features::default();
    for key in Features::KEYS {
        if let Some(v) = ctx.bool(root, key) {
            f.set(key, v);
        }
    }
    f
}

pub(super) fn hostname(ctx: &mut Ctx, root: Node<'_>) -> String {
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

pub(super) fn listen_ip_version(ctx: &mut Ctx, root: Node<'_>) -> ListenIpVersion {
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

pub(super) fn database(ctx: &mut Ctx, root: Node<'_>, mode: Option<Mode>) -> Option<DbConfig> {
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

pub(super) fn redis(ctx: &mut Ctx, root: Node<'_>, key: &str) -> Option<RedisConfig> {
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

pub(super) fn cache(ctx: &mut Ctx, root: Node<'_>) -> CacheConfig {
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

/// `DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl` (a Quay duration such as `120s`), when
/// set. Read whatever the engine: the registry's lookup cache is in-process in every case.
pub(super) fn repository_lookup_cache_ttl(ctx: &mut Ctx, root: Node<'_>) -> Option<QuayDuration> {
    let map = ctx.object(root, "DATA_MODEL_CACHE_CONFIG")?;
    let n = Node {
        map,
        path: "DATA_MODEL_CACHE_CONFIG",
    };
    let key = "repository_lookup_cache_ttl";
    let text = ctx.str(n, key)?;
    QuayDuration::parse(&text)
        .map_err(|problem| {
            ctx.error(
                n.key_path(key),
                problem,
                "write a number and one of s, m, h, d, w, y, e.g. 120s",
            );
        })
        .ok()
}

pub(super) fn byte_size(ctx: &mut Ctx, root: Node<'_>, key: &str, default: &str) -> ByteSize {
    let text = ctx.str(root, key).unwrap_or_else(|| default.to_owned());
    ByteSize::parse(&text).unwrap_or_else(|problem| {
        ctx.error(key, problem, "write a number and a unit, e.g. 20G or 500M");
        ByteSize(0)
    })
}

pub(super) fn duration(
    ctx: &mut Ctx,
    root: Node<'_>,
    key: &str,
    default: &str,
) -> Option<QuayDuration> {
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

pub(super) fn tag_expiration(
    ctx: &mut Ctx,
    root: Node<'_>,
) -> (Option<QuayDuration>, Vec<QuayDuration>) {
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

pub(super) fn mail(ctx: &mut Ctx, root: Node<'_>, features: &Features) -> MailConfig {
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

/// Quay's default `ALLOWED_OCI_ARTIFACT_TYPES` (`config.py`): config media type → layer types.
const DEFAULT_ARTIFACT_TYPES: &[(&str, &[&str])] = &[
    (
        "application/vnd.oci.image.config.v1+json",
        &[
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dsse.envelope.v1+json",
            "text/spdx",
            "text/spdx+xml",
            "text/spdx+json",
            "application/vnd.syft+json",
            "application/vnd.cyclonedx",
            "application/vnd.cyclonedx+xml",
            "application/vnd.cyclonedx+json",
            "application/vnd.in-toto+json",
        ],
    ),
    (
        "application/vnd.cncf.helm.config.v1+json",
        &[
            "application/tar+gzip",
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        ],
    ),
    (
        "application/vnd.oci.source.image.config.v1+json",
        &["application/vnd.oci.image.layer.v1.tar+gzip"],
    ),
    (
        "application/vnd.unknown.config.v1+json",
        &[
            "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
            "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
        ],
    ),
];

/// `ALLOWED_OCI_ARTIFACT_TYPES`, Quay's default when absent (a file's value replaces it).
pub(super) fn artifact_types(ctx: &mut Ctx, root: Node<'_>) -> BTreeMap<String, Vec<String>> {
    let Some(map) = ctx.object(root, "ALLOWED_OCI_ARTIFACT_TYPES") else {
        return DEFAULT_ARTIFACT_TYPES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.iter().map(|s| (*s).to_owned()).collect()))
            .collect();
    };
    let n = Node {
        map,
        path: "ALLOWED_OCI_ARTIFACT_TYPES",
    };
    map.keys()
        .map(|k| (k.clone(), ctx.str_list(n, k).unwrap_or_default()))
        .collect()
}

pub(super) fn instance_service_key(ctx: &mut Ctx, root: Node<'_>) -> InstanceServiceKey {
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

pub(super) fn optional_url(ctx: &mut Ctx, root: Node<'_>, key: &str) -> Option<Url> {
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

/// `SSL_PROTOCOLS`: the TLS versions the listener accepts (nginx names, as Quay writes them).
pub(super) fn ssl_protocols(ctx: &mut Ctx, root: Node<'_>) -> Vec<String> {
    const KNOWN: &[&str] = &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
    let list = ctx.str_list(root, "SSL_PROTOCOLS").unwrap_or_default();
    for (i, p) in list.iter().enumerate() {
        if !KNOWN.contains(&p.as_str()) {
            ctx.error(
                format!("SSL_PROTOCOLS[{i}]"),
                format!("`{p}` is not a TLS protocol version quay-rs can offer"),
                format!("use {}", KNOWN.join(", ")),
            );
        }
    }
    list
}
