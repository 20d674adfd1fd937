//! The validated configuration: [`QuayConfig`] and its parts.
//!
//! Every secret is a `SecretString` (its `Debug` prints `[REDACTED]`), and the untyped long
//! tail is kept in [`Params`], whose `Debug` is redacted, so `{:?}` of a whole
//! [`QuayConfig`] never shows a secret. No type here implements `Display`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use quay_application::features::Features;
use secrecy::SecretString;
use url::Url;

use super::Mode;
use super::auth::AuthConfig;
use super::db::DbConfig;
use super::redact::Params;
use super::storage::StorageConfig;
use super::values::{ByteSize, QuayDuration};

/// `PREFERRED_URL_SCHEME`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlScheme {
    /// `http`.
    Http,
    /// `https`.
    Https,
}

/// `REGISTRY_STATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryState {
    /// `normal`.
    Normal,
    /// `readonly`: every write is refused.
    Readonly,
}

/// `FEATURE_LISTEN_IP_VERSION`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenIpVersion {
    /// `IPv4` (Quay's default).
    Ipv4,
    /// `IPv6`.
    Ipv6,
    /// `dual-stack`.
    DualStack,
}

/// A Redis connection (`BUILDLOGS_REDIS`, `USER_EVENTS_REDIS`, `PULL_METRICS_REDIS`).
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `host`.
    pub host: String,
    /// `port` (default 6379).
    pub port: u16,
    /// `password`.
    pub password: Option<SecretString>,
    /// `username` (Redis 6 ACL).
    pub username: Option<String>,
    /// `db` number.
    pub db: Option<u64>,
    /// `ssl`: connect with TLS.
    pub ssl: bool,
    /// Other `redis-py` keyword arguments, kept but unused (secrets redacted in `Debug`).
    pub other: Params,
}

/// The `MAIL_*` keys.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `MAIL_SERVER`.
    pub server: Option<String>,
    /// `MAIL_PORT` (default 587).
    pub port: u16,
    /// `MAIL_USE_TLS` (default true).
    pub use_tls: bool,
    /// `MAIL_USE_AUTH` (default false).
    pub use_auth: bool,
    /// `MAIL_USERNAME`.
    pub username: Option<String>,
    /// `MAIL_PASSWORD`.
    pub password: Option<SecretString>,
    /// `MAIL_DEFAULT_SENDER` (default `admin@example.com`).
    pub default_sender: String,
    /// `MAIL_FAIL_SILENTLY`.
    pub fail_silently: bool,
}

/// The `INSTANCE_SERVICE_KEY_*` keys: this instance's service key for signing registry JWTs.
#[derive(Debug, Clone)]
pub struct InstanceServiceKey {
    /// `INSTANCE_SERVICE_KEY_LOCATION`: PEM private key (default `/conf/stack/quay.pem`).
    pub location: PathBuf,
    /// `INSTANCE_SERVICE_KEY_KID_LOCATION`: key id file (default `/conf/stack/quay.kid`).
    pub kid_location: PathBuf,
    /// `INSTANCE_SERVICE_KEY_SERVICE` (default `quay`).
    pub service: String,
    /// `INSTANCE_SERVICE_KEY_EXPIRATION`, minutes (default 120).
    pub expiration_minutes: u64,
    /// `INSTANCE_SERVICE_KEY_REFRESH`, minutes (default 55).
    pub refresh_minutes: u64,
}

/// `DATA_MODEL_CACHE_CONFIG` engine.
#[derive(Debug, Clone)]
pub enum CacheConfig {
    /// In-process memory (`inmemory`; also used when the key is absent).
    InMemory,
    /// `memcached` at `endpoint`.
    Memcached {
        /// `host:port`.
        endpoint: String,
    },
    /// `redis` or `rediscluster`, with the engine's parameters (secrets redacted).
    Redis {
        /// `true` for `rediscluster`.
        cluster: bool,
        /// The whole mapping.
        params: Params,
    },
}

/// How the HTTP listener does TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsConfig {
    /// Plain HTTP in this process (`PREFERRED_URL_SCHEME: http`, or TLS terminated by a
    /// proxy with `EXTERNAL_TLS_TERMINATION: true`).
    Off,
    /// Certificate and key given by the user (`ssl.cert`/`ssl.key` next to config.yaml).
    Provided {
        /// PEM certificate chain.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
    /// A self-signed certificate the binary generates at these paths if they do not exist.
    SelfSigned {
        /// PEM certificate.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
}

/// The validated configuration. Fields are Quay's keys, typed; see each field's key.
#[derive(Debug, Clone)]
pub struct QuayConfig {
    /// The preset applied, if any.
    pub mode: Option<Mode>,
    /// `SERVER_HOSTNAME`: `host[:port]` clients use.
    pub server_hostname: String,
    /// `PREFERRED_URL_SCHEME`.
    pub preferred_url_scheme: UrlScheme,
    /// `EXTERNAL_TLS_TERMINATION`.
    pub external_tls_termination: bool,
    /// TLS of the listener, derived from the scheme, the mode and the files present.
    pub tls: TlsConfig,
    /// `SSL_PROTOCOLS` (empty: library defaults).
    pub ssl_protocols: Vec<String>,
    /// `SSL_CIPHERS` (empty: library defaults).
    pub ssl_ciphers: Vec<String>,
    /// `FEATURE_LISTEN_IP_VERSION`.
    pub listen_ip_version: ListenIpVersion,
    /// `DB_URI`, `DB_CONNECTION_ARGS`, `DB_READ_REPLICAS`.
    pub db: DbConfig,
    /// `DATABASE_SECRET_KEY`: key of the encrypted database fields. When absent the binary
    /// must generate one and persist it (mirror) or refuse to start (Quay does so once
    /// `SETUP_COMPLETE` is set).
    pub database_secret_key: Option<SecretString>,
    /// `SECRET_KEY`: session and CSRF signing (Quay generates an in-memory one when absent).
    pub secret_key: Option<SecretString>,
    /// `PAGE_TOKEN_KEY`: key of encrypted pagination tokens (Quay has a built-in default).
    pub page_token_key: Option<SecretString>,
    /// `DISTRIBUTED_STORAGE_*`, `USERFILES_*`.
    pub storage: StorageConfig,
    /// `BUILDLOGS_REDIS`.
    pub buildlogs_redis: Option<RedisConfig>,
    /// `USER_EVENTS_REDIS`.
    pub user_events_redis: Option<RedisConfig>,
    /// `PULL_METRICS_REDIS`.
    pub pull_metrics_redis: Option<RedisConfig>,
    /// `DATA_MODEL_CACHE_CONFIG`.
    pub data_model_cache: CacheConfig,
    /// `DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl`: how long a pull's repository
    /// lookup is cached (`0s`: not cached). Absent: the registry's own 10 s, not Quay's 120 s,
    /// because the cache is per process (see `docs/registry-differences.md`).
    pub repository_lookup_cache_ttl: Option<QuayDuration>,
    /// `AUTHENTICATION_TYPE` and its provider.
    pub auth: AuthConfig,
    /// `SUPER_USERS`.
    pub super_users: Vec<String>,
    /// `GLOBAL_READONLY_SUPER_USERS`.
    pub global_readonly_super_users: Vec<String>,
    /// Mirror mode: the superuser to create at first start, with a generated password.
    pub bootstrap_superuser: Option<String>,
    /// `REGISTRY_STATE`.
    pub registry_state: RegistryState,
    /// `DISABLE_PUSHES`.
    pub disable_pushes: bool,
    /// `ACCOUNT_RECOVERY_MODE`.
    pub account_recovery_mode: bool,
    /// `LIBRARY_NAMESPACE` (default `library`).
    pub library_namespace: String,
    /// `MAXIMUM_LAYER_SIZE` (default `20G`).
    pub maximum_layer_size: ByteSize,
    /// `PUSH_TEMP_TAG_EXPIRATION_SEC` (default 3600).
    pub push_temp_tag_expiration_sec: u64,
    /// `DEFAULT_TAG_EXPIRATION` (default `2w`); one of `tag_expiration_options`.
    pub default_tag_expiration: QuayDuration,
    /// `TAG_EXPIRATION_OPTIONS` (default `0s 1d 1w 2w 4w`).
    pub tag_expiration_options: Vec<QuayDuration>,
    /// `CREATE_PRIVATE_REPO_ON_PUSH` (default true).
    pub create_private_repo_on_push: bool,
    /// `CREATE_NAMESPACE_ON_PUSH` (default false).
    pub create_namespace_on_push: bool,
    /// `FRESH_LOGIN_TIMEOUT` (default `10m`).
    pub fresh_login_timeout: QuayDuration,
    /// `SESSION_TIMEOUT` (default `31d`).
    pub session_timeout: QuayDuration,
    /// `MAIL_*`.
    pub mail: MailConfig,
    /// `FEATURE_*`.
    pub features: Features,
    /// `ALLOWED_OCI_ARTIFACT_TYPES`: config media type → allowed layer media types.
    pub allowed_oci_artifact_types: BTreeMap<String, Vec<String>>,
    /// `INSTANCE_SERVICE_KEY_*`.
    pub instance_service_key: InstanceServiceKey,
    /// `REGISTRY_JWT_AUTH_MAX_FRESH_S` (default 3660).
    pub registry_jwt_auth_max_fresh_s: u64,
    /// `SECURITY_SCANNER_V4_ENDPOINT`.
    pub security_scanner_v4_endpoint: Option<Url>,
    /// `SECURITY_SCANNER_V4_PSK`.
    pub security_scanner_v4_psk: Option<SecretString>,
    /// `SSRF_ALLOWED_HOSTS`.
    pub ssrf_allowed_hosts: Vec<String>,
    /// `BROWSER_API_CALLS_XHR_ONLY` (default true).
    pub browser_api_calls_xhr_only: bool,
    /// Every key as merged from all layers, type-checked against Quay's schema; the long
    /// tail (worker intervals, queue names ...) is read from here. `Debug` is redacted.
    pub effective: Params,
}

impl QuayConfig {
    /// The effective configuration as JSON with every secret replaced by `<redacted>`:
    /// what `quay config print` shows.
    #[must_use]
    pub fn redacted(&self) -> serde_json::Value {
        serde_json::Value::Object(self.effective.redacted())
    }

    /// Whether a flag is on, by key (`"FEATURE_PROXY_CACHE"`); unknown keys are off.
    #[must_use]
    pub fn feature(&self, key: &str) -> bool {
        self.features.get(key).unwrap_or(false)
    }
}
