//! Checks across keys: mode requirements, contradictions and TLS.

use std::path::Path;

use quay_application::features::Features;

use super::Mode;
use super::auth::AuthConfig;
use super::build::Site;
use super::db::DbConfig;
use super::extract::{Ctx, Node};
use super::model::{TlsConfig, UrlScheme};
use super::storage::{StorageConfig, StorageDriver};

/// The typed pieces the cross checks look at (`None` where that part had errors).
pub(crate) struct Parts<'a> {
    pub(crate) mode: Option<Mode>,
    pub(crate) scheme: UrlScheme,
    pub(crate) db: Option<&'a DbConfig>,
    pub(crate) storage: Option<&'a StorageConfig>,
    pub(crate) auth: Option<&'a AuthConfig>,
    pub(crate) features: &'a Features,
    pub(crate) buildlogs_redis: bool,
    pub(crate) user_events_redis: bool,
}

/// Decides how the listener does TLS, reporting what is missing.
///
/// Quay keeps `ssl.cert` and `ssl.key` next to `config.yaml`. With `https` and no external
/// termination: those files are used when present; otherwise mirror and standalone generate
/// a self-signed pair under `<data dir>/tls/`, while full mode and plain Quay (no preset)
/// report an error.
pub(crate) fn tls(
    ctx: &mut Ctx,
    root: Node<'_>,
    site: &Site<'_>,
    scheme: UrlScheme,
    external: bool,
) -> TlsConfig {
    if scheme == UrlScheme::Http || external {
        return TlsConfig::Off;
    }
    if let Some(dir) = site.config_dir {
        let (cert, key) = (dir.join("ssl.cert"), dir.join("ssl.key"));
        match (cert.is_file(), key.is_file()) {
            (true, true) => return TlsConfig::Provided { cert, key },
            (true, false) | (false, true) => {
                ctx.error(
                    "PREFERRED_URL_SCHEME",
                    format!(
                        "only one of ssl.cert and ssl.key exists in {}",
                        dir.display()
                    ),
                    "provide both files, or neither to use a self-signed certificate",
                );
                return TlsConfig::Off;
            }
            (false, false) => {}
        }
    }
    match site.mode {
        Some(Mode::Mirror | Mode::Standalone) => {
            let dir = site.data_dir.join("tls");
            TlsConfig::SelfSigned {
                cert: dir.join("ssl.cert"),
                key: dir.join("ssl.key"),
            }
        }
        Some(Mode::Full) | None => {
            let where_ = site.config_dir.map_or_else(
                || "the config directory".to_owned(),
                |d| d.display().to_string(),
            );
            ctx.error(
                root.key_path("PREFERRED_URL_SCHEME"),
                format!("https is set but there is no ssl.cert/ssl.key in {where_}"),
                "put ssl.cert and ssl.key next to config.yaml, or set EXTERNAL_TLS_TERMINATION: true behind a TLS proxy",
            );
            TlsConfig::Off
        }
    }
}

/// Contradictions and mode requirements.
pub(crate) fn cross_checks(ctx: &mut Ctx, root: Node<'_>, p: &Parts<'_>) {
    let f = p.features;
    if matches!(p.auth, Some(AuthConfig::AppToken)) {
        if f.direct_login {
            ctx.error(
                "AUTHENTICATION_TYPE",
                "AppToken requires FEATURE_DIRECT_LOGIN to be off",
                "set FEATURE_DIRECT_LOGIN: false",
            );
        }
        if !f.app_specific_tokens {
            ctx.error(
                "AUTHENTICATION_TYPE",
                "AppToken requires FEATURE_APP_SPECIFIC_TOKENS",
                "set FEATURE_APP_SPECIFIC_TOKENS: true",
            );
        }
    }
    if f.programmatic_bootstrap
        && root
            .raw("BOOTSTRAP_TOKEN_OWNER")
            .and_then(|v| v.as_str())
            .is_none_or(str::is_empty)
    {
        ctx.error(
            "BOOTSTRAP_TOKEN_OWNER",
            "FEATURE_PROGRAMMATIC_BOOTSTRAP is on but no owner is set",
            "set BOOTSTRAP_TOKEN_OWNER to a username",
        );
    }
    if f.security_scanner && root.raw("SECURITY_SCANNER_V4_ENDPOINT").is_none() {
        ctx.error(
            "SECURITY_SCANNER_V4_ENDPOINT",
            "FEATURE_SECURITY_SCANNER is on but no Clair endpoint is set",
            "set SECURITY_SCANNER_V4_ENDPOINT or FEATURE_SECURITY_SCANNER: false",
        );
    }
    if f.user_events && !p.user_events_redis && p.mode == Some(Mode::Mirror) {
        ctx.error(
            "FEATURE_USER_EVENTS",
            "user events need USER_EVENTS_REDIS, and mirror mode has no Redis",
            "set FEATURE_USER_EVENTS: false or configure USER_EVENTS_REDIS",
        );
    }
    if matches!(p.mode, Some(Mode::Standalone | Mode::Full))
        && root.raw("SERVER_HOSTNAME").is_none()
    {
        ctx.missing(
            "SERVER_HOSTNAME",
            format!(
                "{} needs the name clients use: set SERVER_HOSTNAME: quay.example.com",
                mode_label(p.mode)
            ),
        );
    }
    if let Some(Mode::Standalone | Mode::Full) | None = p.mode {
        for (present, key) in [
            (p.buildlogs_redis, "BUILDLOGS_REDIS"),
            (p.user_events_redis, "USER_EVENTS_REDIS"),
        ] {
            if !present && root.raw(key).is_none() {
                ctx.missing(
                    key,
                    format!(
                        "{} needs Redis: set {key}: {{host: redis.example.com, port: 6379}}",
                        mode_label(p.mode)
                    ),
                );
            }
        }
    }
    if p.mode == Some(Mode::Full) {
        full_mode(ctx, p);
    }
    if p.mode == Some(Mode::Standalone)
        && let Some(s) = p.storage
    {
        for (name, d) in &s.locations {
            if !matches!(d, StorageDriver::Local(_) | StorageDriver::S3(_)) {
                ctx.warn(format!("DISTRIBUTED_STORAGE_CONFIG.{name}"), format!("standalone mode is tested with LocalStorage and S3Storage; {} is used as configured", d.name()));
            }
        }
    }
    if let Some(db) = p.db
        && !db.read_replicas.is_empty()
        && !db.uri.is_postgres()
    {
        ctx.error(
            "DB_READ_REPLICAS",
            "read replicas need a PostgreSQL primary",
            "remove DB_READ_REPLICAS or use PostgreSQL",
        );
    }
}

fn mode_label(mode: Option<Mode>) -> String {
    mode.map_or_else(
        || "Quay's schema".to_owned(),
        |m| format!("{} mode", m.name()),
    )
}

fn full_mode(ctx: &mut Ctx, p: &Parts<'_>) {
    if p.scheme != UrlScheme::Https {
        ctx.error("PREFERRED_URL_SCHEME", "full mode requires TLS but the scheme is http", "set PREFERRED_URL_SCHEME: https (with EXTERNAL_TLS_TERMINATION: true behind a TLS proxy)");
    }
    if let Some(auth) = p.auth
        && !auth.is_external()
    {
        ctx.error(
            "AUTHENTICATION_TYPE",
            format!("full mode uses an external identity provider, not {}", auth.type_name()),
            "set AUTHENTICATION_TYPE to LDAP or OIDC (or JWT/Keystone) with its keys, or use --mode standalone",
        );
    }
    if let Some(s) = p.storage {
        for (name, d) in &s.locations {
            if matches!(d, StorageDriver::Local(_)) {
                ctx.error(format!("DISTRIBUTED_STORAGE_CONFIG.{name}[0]"), "full mode needs object storage, not LocalStorage", "use S3Storage or a CDN-fronted S3 driver (CloudFrontedS3Storage, AkamaiS3Storage ...)");
            }
        }
        if !s.locations.values().any(StorageDriver::is_cdn) {
            ctx.warn("DISTRIBUTED_STORAGE_CONFIG", "full mode expects a CDN in front of storage (CloudFrontedS3Storage, CloudFlareStorage, AkamaiS3Storage or MultiCDNStorage); blobs are served straight from the bucket");
        }
    }
}

/// Absolute form of `dir` (relative to the working directory) without touching the disk.
pub(crate) fn absolute(dir: &Path) -> std::path::PathBuf {
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}
