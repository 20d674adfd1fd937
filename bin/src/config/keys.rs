//! Every top-level key Quay knows, with the JSON type(s) it accepts.
//!
//! Built from Quay's `util/config/schema.py` (properties and the stray top-level entries),
//! `config.py` `DefaultConfig`, and keys Quay's code reads that neither lists (LDAP, JWT,
//! Keystone, OIDC service id, worker tunables). Where the schema and the default disagree
//! both types are accepted; keys whose type Quay does not pin are `Kind::ANY`. Keys ending in
//! `_LOGIN_CONFIG` (OAuth/OIDC providers) and every flag of `Features` are known as well.
//! A key outside this table only warns; a known key with the wrong type is an error.

use quay_application::features::Features;
use serde_json::{Map, Value};

use super::extract::Ctx;

/// A set of accepted JSON types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind(u8);

impl Kind {
    pub(crate) const STRING: Kind = Kind(1);
    pub(crate) const BOOL: Kind = Kind(2);
    pub(crate) const INTEGER: Kind = Kind(4);
    /// Any number, integer or decimal (JSON schema `number`).
    pub(crate) const NUMBER: Kind = Kind(8 | 4);
    pub(crate) const ARRAY: Kind = Kind(16);
    pub(crate) const OBJECT: Kind = Kind(32);
    pub(crate) const NULL: Kind = Kind(64);
    pub(crate) const ANY: Kind = Kind(u8::MAX);

    /// The union of two kinds.
    pub(crate) const fn or(self, other: Kind) -> Kind {
        Kind(self.0 | other.0)
    }

    /// Whether `v` is of one of the accepted types.
    pub(crate) fn accepts(self, v: &Value) -> bool {
        let bit = match v {
            Value::Null => return true, // null means "unset" to Quay's config.get
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Number(n) if n.is_f64() => 8,
            Value::Number(_) => 4,
            Value::Array(_) => 16,
            Value::Object(_) => 32,
        };
        self.0 & bit != 0
    }

    /// Human description, e.g. "a string or null".
    pub(crate) fn describe(self) -> String {
        let names = [
            (1, "a string"),
            (2, "true or false"),
            (8, "a number"),
            (4, "an integer"),
            (16, "a list"),
            (32, "a mapping"),
        ];
        let mut parts: Vec<&str> = Vec::new();
        let mut seen_number = false;
        for (bit, name) in names {
            if self.0 & bit != 0 && !(bit == 4 && seen_number) {
                seen_number |= bit == 8;
                parts.push(name);
            }
        }
        parts.join(" or ")
    }
}

/// The accepted kind of a known key, or `None` for an unknown key.
pub(crate) fn known_kind(key: &str) -> Option<Kind> {
    if Features::default_of(key).is_some() {
        return Some(Kind::BOOL);
    }
    if key.ends_with("_LOGIN_CONFIG") {
        return Some(Kind::OBJECT.or(Kind::NULL));
    }
    KEYS.binary_search_by(|(k, _)| (*k).cmp(key))
        .ok()
        .map(|i| KEYS[i].1)
}

/// Every key of the table plus every feature flag (for `QUAY_CONFIG__<KEY>` lookups).
pub(crate) fn all_known() -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .map(|(k, _)| *k)
        .chain(Features::KEYS.iter().copied())
}

/// Warns about unknown top-level keys and reports known keys of the wrong type.
pub(crate) fn check_top_level(ctx: &mut Ctx, map: &Map<String, Value>) {
    for (key, value) in map {
        match known_kind(key) {
            None => ctx.warn(
                key.clone(),
                "unknown key (not in Quay's schema or defaults); it is ignored. Check the spelling",
            ),
            Some(kind) if !kind.accepts(value) => {
                ctx.wrong_type(key.clone(), &kind.describe(), value);
            }
            Some(_) => {}
        }
    }
}

/// Sorted by key (binary search).
static KEYS: &[(&str, Kind)] = &[
    ("ACCOUNT_RECOVERY_MODE", Kind::BOOL),
    ("ACTION_LOG_ARCHIVE_LOCATION", Kind::STRING),
    ("ACTION_LOG_ARCHIVE_PATH", Kind::STRING),
    ("ACTION_LOG_AUDIT_DELETE_FAILURES", Kind::BOOL),
    ("ACTION_LOG_AUDIT_LOGINS", Kind::BOOL.or(Kind::STRING)),
    ("ACTION_LOG_AUDIT_LOGIN_FAILURES", Kind::BOOL),
    ("ACTION_LOG_AUDIT_PULL_FAILURES", Kind::BOOL),
    ("ACTION_LOG_AUDIT_PUSH_FAILURES", Kind::BOOL),
    ("ACTION_LOG_MAX_PAGE", Kind::ANY),
    ("ACTION_LOG_ROTATION_FREQUENCY", Kind::ANY),
    ("ACTION_LOG_ROTATION_THRESHOLD", Kind::STRING),
    ("ALLOWED_OCI_ARTIFACT_TYPES", Kind::OBJECT),
    ("ALLOW_PULLS_WITHOUT_STRICT_LOGGING", Kind::BOOL),
    ("ALLOW_WITHOUT_STRICT_LOGGING", Kind::BOOL),
    ("ANALYTICS_TYPE", Kind::STRING),
    ("APPLICATION_ROOT", Kind::STRING),
    ("APP_SPECIFIC_TOKEN_EXPIRATION", Kind::NULL.or(Kind::STRING)),
    ("AUTHENTICATION_TYPE", Kind::STRING),
    ("AUTOPRUNE_DEFAULT_POLICY_TIMEOUT", Kind::ANY),
    ("AUTOPRUNE_FETCH_REPOSITORIES_PAGE_LIMIT", Kind::ANY),
    ("AUTOPRUNE_FETCH_TAGS_PAGE_LIMIT", Kind::ANY),
    ("AUTOPRUNE_TASK_RUN_MINIMUM_INTERVAL_MINUTES", Kind::ANY),
    ("AUTO_PRUNING_BATCH_SIZE", Kind::ANY),
    ("AUTO_PRUNING_DEFAULT_POLICY_BATCH_SIZE", Kind::ANY),
    ("AUTO_PRUNING_POLL_PERIOD", Kind::ANY),
    ("AVATAR_COLORS", Kind::ARRAY),
    ("AVATAR_KIND", Kind::STRING),
    ("BILLED_NAMESPACE_MAXIMUM_BUILD_COUNT", Kind::ANY),
    ("BILLING_TYPE", Kind::STRING),
    ("BITBUCKET_TRIGGER_CONFIG", Kind::NULL.or(Kind::OBJECT)),
    ("BLACKLISTED_EMAIL_DOMAINS", Kind::ARRAY),
    ("BLACKLIST_V2_SPEC", Kind::STRING),
    ("BLOBUPLOAD_CLEANUP_FREQUENCY", Kind::ANY),
    ("BLOBUPLOAD_DELETION_DATE_THRESHOLD", Kind::ANY),
    ("BOOTSTRAP_TOKEN_EXPIRATION", Kind::INTEGER),
    ("BOOTSTRAP_TOKEN_OWNER", Kind::NULL.or(Kind::STRING)),
    ("BOOTSTRAP_TOKEN_PATH", Kind::STRING),
    ("BOOTSTRAP_TOKEN_SCOPE", Kind::STRING),
    ("BRANDING", Kind::NULL.or(Kind::OBJECT)),
    ("BROWSER_API_CALLS_XHR_ONLY", Kind::BOOL),
    ("BUILDLOGS_MODULE_AND_CLASS", Kind::ANY),
    ("BUILDLOGS_OPTIONS", Kind::ARRAY),
    ("BUILDLOGS_REDIS", Kind::OBJECT),
    ("BUILD_MANAGER", Kind::ANY),
    ("CDN_SPECIFIC_NAMESPACES", Kind::ARRAY),
    ("CHANNEL_COLORS", Kind::ARRAY),
    ("CHUNK_CLEANUP_QUEUE_NAME", Kind::STRING),
    ("CLEAN_BLOB_UPLOAD_FOLDER", Kind::BOOL),
    ("CONTACT_INFO", Kind::ARRAY),
    ("CORS_ORIGIN", Kind::ARRAY.or(Kind::STRING)),
    ("CREATE_NAMESPACE_ON_PUSH", Kind::BOOL),
    ("CREATE_PRIVATE_REPO_ON_PUSH", Kind::BOOL),
    ("DATABASE_SECRET_KEY", Kind::STRING),
    ("DATA_MODEL_CACHE_CONFIG", Kind::OBJECT),
    ("DB_CONNECTION_ARGS", Kind::OBJECT),
    ("DB_CONNECTION_POOLING", Kind::BOOL),
    ("DB_READ_REPLICAS", Kind::ANY),
    ("DB_TRANSACTION_FACTORY", Kind::ANY),
    ("DB_URI", Kind::STRING),
    ("DEBUG", Kind::BOOL),
    ("DEFAULT_LABEL_KEY_RESERVED_PREFIXES", Kind::ARRAY),
    (
        "DEFAULT_NAMESPACE_AUTOPRUNE_POLICY",
        Kind::NULL.or(Kind::OBJECT),
    ),
    (
        "DEFAULT_NAMESPACE_MAXIMUM_BUILD_COUNT",
        Kind::NULL.or(Kind::NUMBER),
    ),
    ("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES", Kind::INTEGER),
    ("DEFAULT_TAG_EXPIRATION", Kind::STRING),
    ("DEFAULT_UI", Kind::STRING),
    ("DIRECT_OAUTH_CLIENTID_WHITELIST", Kind::ARRAY),
    ("DISABLED_FOR_AUDIT_LOGS", Kind::ARRAY),
    ("DISABLED_FOR_PULL_LOGS", Kind::ARRAY),
    ("DISABLE_ANGULAR_UI", Kind::BOOL),
    ("DISABLE_PUSHES", Kind::BOOL),
    ("DISTRIBUTED_STORAGE_CONFIG", Kind::OBJECT),
    ("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", Kind::ARRAY),
    ("DISTRIBUTED_STORAGE_PREFERENCE", Kind::ARRAY),
    ("DISTRIBUTED_STORAGE_REQUIRES_ALL_AVAILABLE", Kind::ANY),
    ("DISTRIBUTED_STORAGE_VALIDATE_ENDTOEND", Kind::ANY),
    ("DOCKERFILE_BUILD_QUEUE_NAME", Kind::STRING),
    ("DOCUMENTATION_ROOT", Kind::STRING),
    ("ENABLE_HEALTH_DEBUG_SECRET", Kind::NULL.or(Kind::STRING)),
    ("ENTERPRISE_LOGO_URL", Kind::ANY),
    ("ENTERPRISE_LOGO_URL_DARK", Kind::ANY),
    (
        "ENTITLEMENT_RECONCILIATION_MARKETPLACE_ENDPOINT",
        Kind::STRING,
    ),
    ("ENTITLEMENT_RECONCILIATION_USER_ENDPOINT", Kind::STRING),
    ("EXCEPTION_LOG_TYPE", Kind::STRING),
    ("EXPIRED_APP_SPECIFIC_TOKEN_GC", Kind::NULL.or(Kind::STRING)),
    ("EXPIRED_SERVICE_KEY_TTL_SEC", Kind::NUMBER),
    ("EXPLAIN_TEMPLATE_LOADING", Kind::BOOL),
    ("EXPORT_ACTION_LOGS_MAXIMUM_QUERY_TIME_SECONDS", Kind::ANY),
    ("EXPORT_ACTION_LOGS_QUEUE_NAME", Kind::STRING),
    ("EXPORT_ACTION_LOGS_SECONDS", Kind::ANY),
    ("EXPORT_ACTION_LOGS_STORAGE_PATH", Kind::ANY),
    ("EXPORT_ACTION_LOGS_WORKER_POLL_PERIOD", Kind::ANY),
    ("EXPORT_COMPLIANCE_ENDPOINT", Kind::STRING),
    ("EXTERNAL_TLS_TERMINATION", Kind::BOOL),
    ("FEATURE_ACI_CONVERSION", Kind::BOOL),
    ("FEATURE_ACTION_LOG_ROTATION", Kind::BOOL),
    ("FEATURE_ADVERTISE_V2", Kind::BOOL),
    ("FEATURE_AGGREGATED_LOG_COUNT_RETRIEVAL", Kind::BOOL),
    ("FEATURE_ANONYMOUS_ACCESS", Kind::BOOL),
    ("FEATURE_APP_SPECIFIC_TOKENS", Kind::BOOL),
    ("FEATURE_ASSIGN_OAUTH_TOKEN", Kind::BOOL),
    ("FEATURE_AUTO_PRUNE", Kind::BOOL),
    ("FEATURE_BILLING", Kind::BOOL),
    ("FEATURE_BITBUCKET_BUILD", Kind::BOOL),
    ("FEATURE_BLACKLISTED_EMAILS", Kind::BOOL),
    ("FEATURE_BUILD_SUPPORT", Kind::BOOL),
    ("FEATURE_CHANGE_TAG_EXPIRATION", Kind::BOOL),
    ("FEATURE_CLEAR_EXPIRED_RAC_ENTRIES", Kind::BOOL),
    ("FEATURE_DIRECT_LOGIN", Kind::BOOL),
    ("FEATURE_DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES", Kind::BOOL),
    ("FEATURE_EDIT_QUOTA", Kind::BOOL),
    ("FEATURE_ENABLE_STALE_MPU_CLEANUP", Kind::BOOL),
    ("FEATURE_ENTITLEMENT_RECONCILIATION", Kind::BOOL),
    ("FEATURE_EXPORT_COMPLIANCE", Kind::BOOL),
    ("FEATURE_EXTENDED_ACTION_LOGGING", Kind::BOOL),
    ("FEATURE_EXTENDED_REPOSITORY_NAMES", Kind::BOOL),
    ("FEATURE_FIPS", Kind::BOOL),
    ("FEATURE_GARBAGE_COLLECTION", Kind::BOOL),
    ("FEATURE_GENERAL_OCI_SUPPORT", Kind::BOOL),
    ("FEATURE_GITHUB_BUILD", Kind::BOOL),
    ("FEATURE_GITHUB_LOGIN", Kind::BOOL),
    ("FEATURE_GITLAB_BUILD", Kind::BOOL),
    ("FEATURE_GOOGLE_LOGIN", Kind::BOOL),
    ("FEATURE_HELM_OCI_SUPPORT", Kind::BOOL),
    ("FEATURE_IMAGE_EXPIRY_TRIGGER", Kind::BOOL),
    ("FEATURE_IMAGE_PULL_STATS", Kind::BOOL),
    ("FEATURE_IMMUTABLE_TAGS", Kind::BOOL),
    ("FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE", Kind::BOOL),
    ("FEATURE_INVITE_ONLY_USER_CREATION", Kind::BOOL),
    ("FEATURE_LDAP_CACHING", Kind::BOOL),
    ("FEATURE_LIBRARY_SUPPORT", Kind::BOOL),
    ("FEATURE_LISTEN_IP_VERSION", Kind::STRING),
    ("FEATURE_LOG_EXPORT", Kind::BOOL),
    ("FEATURE_MAILING", Kind::BOOL),
    ("FEATURE_MANIFEST_SIZE_BACKFILL", Kind::BOOL),
    ("FEATURE_MANIFEST_SUBJECT_BACKFILL", Kind::BOOL),
    ("FEATURE_NAMESPACE_GARBAGE_COLLECTION", Kind::BOOL),
    ("FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP", Kind::BOOL),
    ("FEATURE_ORG_MIRROR", Kind::BOOL),
    ("FEATURE_ORG_SHARED_EMAIL", Kind::BOOL),
    ("FEATURE_OTEL_TRACING", Kind::BOOL),
    ("FEATURE_PARTIAL_USER_AUTOCOMPLETE", Kind::BOOL),
    ("FEATURE_PERMANENT_SESSIONS", Kind::BOOL),
    ("FEATURE_PROGRAMMATIC_BOOTSTRAP", Kind::BOOL),
    ("FEATURE_PROXY_CACHE", Kind::BOOL),
    ("FEATURE_PROXY_CACHE_BLOB_DOWNLOAD", Kind::BOOL),
    ("FEATURE_PROXY_PROTOCOL", Kind::ANY),
    ("FEATURE_PROXY_STORAGE", Kind::BOOL),
    ("FEATURE_PUBLIC_CATALOG", Kind::BOOL),
    ("FEATURE_QUOTA_MANAGEMENT", Kind::BOOL),
    ("FEATURE_QUOTA_NOTIFICATIONS", Kind::BOOL),
    ("FEATURE_QUOTA_SUPPRESS_FAILURES", Kind::BOOL),
    ("FEATURE_RATE_LIMITS", Kind::BOOL),
    ("FEATURE_READER_BUILD_LOGS", Kind::BOOL),
    ("FEATURE_RECAPTCHA", Kind::BOOL),
    ("FEATURE_REFERRERS_API", Kind::BOOL),
    ("FEATURE_REPOSITORY_ACTION_COUNTER", Kind::BOOL),
    ("FEATURE_REPOSITORY_GARBAGE_COLLECTION", Kind::BOOL),
    ("FEATURE_REPO_MIRROR", Kind::BOOL),
    ("FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH", Kind::BOOL),
    ("FEATURE_REQUIRE_TEAM_INVITE", Kind::BOOL),
    ("FEATURE_RESTRICTED_USERS", Kind::BOOL),
    ("FEATURE_RESTRICTED_V1_PUSH", Kind::BOOL),
    ("FEATURE_RH_MARKETPLACE", Kind::BOOL),
    ("FEATURE_SECURITY_NOTIFICATIONS", Kind::BOOL),
    ("FEATURE_SECURITY_SCANNER", Kind::BOOL),
    ("FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX", Kind::BOOL),
    ("FEATURE_SECURITY_SCANNER_V2", Kind::BOOL),
    ("FEATURE_SIGNING", Kind::BOOL),
    ("FEATURE_SPAM_DETECTION", Kind::BOOL),
    ("FEATURE_SPARSE_INDEX", Kind::BOOL),
    ("FEATURE_STORAGE_REPLICATION", Kind::BOOL),
    ("FEATURE_SUPERUSERS_FULL_ACCESS", Kind::BOOL),
    ("FEATURE_SUPERUSERS_ORG_CREATION_ONLY", Kind::BOOL),
    ("FEATURE_SUPERUSER_CONFIGDUMP", Kind::BOOL),
    ("FEATURE_SUPER_USERS", Kind::BOOL),
    ("FEATURE_TEAM_SYNCING", Kind::BOOL),
    ("FEATURE_UI_DELAY_AFTER_WRITE", Kind::BOOL),
    ("FEATURE_UI_MODELCARD", Kind::BOOL),
    ("FEATURE_UI_V2", Kind::BOOL),
    ("FEATURE_USERNAME_CONFIRMATION", Kind::BOOL),
    ("FEATURE_USER_CREATION", Kind::BOOL),
    ("FEATURE_USER_EVENTS", Kind::BOOL),
    ("FEATURE_USER_INITIALIZE", Kind::BOOL),
    ("FEATURE_USER_LAST_ACCESSED", Kind::BOOL),
    ("FEATURE_USER_LOG_ACCESS", Kind::BOOL),
    ("FEATURE_USER_METADATA", Kind::BOOL),
    ("FEATURE_USER_RENAME", Kind::BOOL),
    ("FEATURE_VERIFY_QUOTA", Kind::BOOL),
    ("FOOTER_LINKS", Kind::OBJECT),
    ("FORCE_NONSECURE_SESSION_COOKIE", Kind::ANY),
    ("FRESH_LOGIN_TIMEOUT", Kind::STRING),
    ("GARBAGE_COLLECTION_FREQUENCY", Kind::NUMBER),
    ("GITHUB_LOGIN_CONFIG", Kind::NULL.or(Kind::OBJECT)),
    ("GITHUB_TRIGGER_CONFIG", Kind::NULL.or(Kind::OBJECT)),
    ("GITLAB_TRIGGER_CONFIG", Kind::NULL.or(Kind::OBJECT)),
    ("GITLAB_TRIGGER_KIND", Kind::OBJECT),
    ("GLOBAL_PROMETHEUS_STATS_FREQUENCY", Kind::NUMBER),
    ("GLOBAL_READONLY_SUPER_USERS", Kind::ARRAY),
    ("GOOGLE_ANALYTICS_KEY", Kind::ANY),
    ("GOOGLE_LOGIN_CONFIG", Kind::NULL.or(Kind::OBJECT)),
    ("GOOGLE_TAGMANAGER_KEY", Kind::ANY),
    ("GREENLET_TRACING", Kind::BOOL),
    ("HEALTH_CHECKER", Kind::ANY),
    ("HEALTH_CHECKER_INSTANCE_CHECK_PREFERRED_STORAGE", Kind::ANY),
    ("HTTPCLIENT", Kind::ANY),
    ("INSTANCE_SERVICE_KEY_EXPIRATION", Kind::NUMBER),
    ("INSTANCE_SERVICE_KEY_KID_LOCATION", Kind::STRING),
    ("INSTANCE_SERVICE_KEY_LOCATION", Kind::STRING),
    ("INSTANCE_SERVICE_KEY_REFRESH", Kind::NUMBER),
    ("INSTANCE_SERVICE_KEY_SERVICE", Kind::STRING),
    ("INTERNAL_OIDC_SERVICE_ID", Kind::ANY),
    ("IP_DATA_API_KEY", Kind::ANY),
    ("JSONIFY_PRETTYPRINT_REGULAR", Kind::BOOL),
    ("JWT_AUTH_ISSUER", Kind::ANY),
    ("JWT_AUTH_MAX_FRESH_S", Kind::ANY),
    ("JWT_GETUSER_ENDPOINT", Kind::ANY),
    ("JWT_QUERY_ENDPOINT", Kind::ANY),
    ("JWT_VERIFY_ENDPOINT", Kind::ANY),
    ("KEYSTONE_ADMIN_PASSWORD", Kind::ANY),
    ("KEYSTONE_ADMIN_TENANT", Kind::ANY),
    ("KEYSTONE_ADMIN_USERNAME", Kind::ANY),
    ("KEYSTONE_AUTH_TIMEOUT", Kind::ANY),
    ("KEYSTONE_AUTH_URL", Kind::ANY),
    ("KEYSTONE_AUTH_VERSION", Kind::ANY),
    ("LABELED_EXPIRATION_MAXIMUM", Kind::ANY),
    ("LABELED_EXPIRATION_MINIMUM", Kind::ANY),
    ("LABEL_KEY_RESERVED_PREFIXES", Kind::ARRAY),
    ("LAST_ACCESSED_UPDATE_THRESHOLD_S", Kind::NUMBER),
    ("LDAP_ADMIN_DN", Kind::STRING),
    ("LDAP_ADMIN_PASSWD", Kind::STRING),
    ("LDAP_ALLOW_INSECURE_FALLBACK", Kind::BOOL),
    ("LDAP_BASE_DN", Kind::ARRAY),
    ("LDAP_CACHE_TTL", Kind::NUMBER),
    ("LDAP_CONNECTION_POOLING", Kind::BOOL),
    ("LDAP_EMAIL_ATTR", Kind::STRING),
    ("LDAP_FOLLOW_REFERRALS", Kind::NUMBER),
    ("LDAP_GLOBAL_READONLY_SUPERUSER_FILTER", Kind::ANY),
    ("LDAP_MEMBEROF_ATTR", Kind::ANY),
    ("LDAP_NETWORK_TIMEOUT", Kind::ANY),
    ("LDAP_POOL_CONNECTION_LIFETIME", Kind::NUMBER),
    ("LDAP_POOL_MAX_WAIT", Kind::NUMBER),
    ("LDAP_POOL_SIZE", Kind::INTEGER),
    ("LDAP_RESTRICTED_USER_FILTER", Kind::STRING),
    ("LDAP_SECONDARY_USER_RDNS", Kind::ARRAY),
    ("LDAP_SUPERUSER_FILTER", Kind::STRING),
    ("LDAP_TIMEOUT", Kind::ANY),
    ("LDAP_UID_ATTR", Kind::STRING),
    ("LDAP_URI", Kind::STRING),
    ("LDAP_USER_FILTER", Kind::ANY),
    ("LDAP_USER_RDN", Kind::ARRAY),
    ("LIBRARY_NAMESPACE", Kind::STRING),
    ("LOCAL_OAUTH_HANDLER", Kind::STRING),
    ("LOGGING_LEVEL", Kind::STRING),
    ("LOGS_MODEL", Kind::STRING),
    ("LOGS_MODEL_CONFIG", Kind::OBJECT),
    ("LOG_ARCHIVE_LOCATION", Kind::STRING),
    ("LOG_ARCHIVE_PATH", Kind::STRING),
    ("MAIL_DEFAULT_SENDER", Kind::NULL.or(Kind::STRING)),
    ("MAIL_FAIL_SILENTLY", Kind::BOOL),
    ("MAIL_PASSWORD", Kind::NULL.or(Kind::STRING)),
    ("MAIL_PORT", Kind::NUMBER),
    ("MAIL_SERVER", Kind::STRING),
    ("MAIL_USERNAME", Kind::NULL.or(Kind::STRING)),
    ("MAIL_USE_AUTH", Kind::BOOL),
    ("MAIL_USE_TLS", Kind::BOOL),
    ("MANIFESTS_ENDPOINT_READ_TIMEOUT", Kind::STRING),
    ("MANIFEST_BACKFILL_WORKER_FREQUENCY", Kind::ANY),
    ("MANIFEST_SUBJECT_BACKFILL_WORKER_FREQUENCY", Kind::ANY),
    ("MARKETO_MUNCHKIN_ID", Kind::ANY),
    ("MAXIMUM_LAYER_SIZE", Kind::STRING),
    ("MAX_COOKIE_SIZE", Kind::NUMBER),
    ("MEMCACHE_POOL_MAX_SIZE", Kind::ANY),
    ("MINIMUM_LOGS_AGE_FOR_ARCHIVE", Kind::ANY),
    ("MIXPANEL_KEY", Kind::ANY),
    ("NAMESPACE_GC_GRACE_PERIOD_ALLOWLIST", Kind::ARRAY),
    ("NAMESPACE_GC_GRACE_PERIOD_SECONDS", Kind::NUMBER),
    ("NAMESPACE_GC_QUEUE_NAME", Kind::STRING),
    ("NOTIFICATION_MIN_SEVERITY_ON_NEW_INDEX", Kind::STRING),
    ("NOTIFICATION_QUEUE_NAME", Kind::STRING),
    ("NOTIFICATION_SEND_TIMEOUT", Kind::NUMBER),
    (
        "NOTIFICATION_TASK_RUN_MINIMUM_INTERVAL_MINUTES",
        Kind::NUMBER,
    ),
    (
        "OAUTH_APPLICATION_MAXIMUM_TOKEN_COUNT",
        Kind::INTEGER.or(Kind::NULL),
    ),
    ("OAUTH_TOKEN_LAST_ACCESSED_UPDATE_THRESHOLD_S", Kind::NUMBER),
    ("OCI_NAMESPACE_WHITELIST", Kind::ANY),
    ("ORG_MIRROR_INTERVAL", Kind::NUMBER),
    ("ORG_MIRROR_MAX_DISCOVERY_DURATION", Kind::NUMBER),
    ("OTEL_CONFIG", Kind::OBJECT),
    ("OTEL_TRACING_EXCLUDED_URLS", Kind::NULL.or(Kind::STRING)),
    ("PAGE_TOKEN_KEY", Kind::STRING),
    ("PERMANENTLY_DELETE_TAGS", Kind::BOOL),
    ("PREFERRED_URL_SCHEME", Kind::STRING),
    ("PROFILING_TYPE", Kind::STRING),
    ("PROGRAMMATIC_TOKEN_K8S_KEY", Kind::STRING),
    (
        "PROGRAMMATIC_TOKEN_K8S_NAMESPACE",
        Kind::NULL.or(Kind::STRING),
    ),
    ("PROGRAMMATIC_TOKEN_K8S_SECRET", Kind::NULL.or(Kind::STRING)),
    ("PROGRAMMATIC_TOKEN_PATH", Kind::NULL.or(Kind::STRING)),
    ("PROMETHEUS_NAMESPACE", Kind::STRING),
    ("PROMETHEUS_PUSHGATEWAY_URL", Kind::STRING),
    ("PROPAGATE_EXCEPTIONS", Kind::BOOL),
    ("PROXY_CACHE_BLOB_QUEUE_NAME", Kind::STRING),
    ("PROXY_COUNT", Kind::ANY),
    ("PUBLIC_NAMESPACES", Kind::ARRAY),
    ("PULL_METRICS_REDIS", Kind::OBJECT),
    ("PULL_METRICS_WORKER_COUNT", Kind::INTEGER),
    ("PUSH_TEMP_TAG_EXPIRATION_SEC", Kind::NUMBER),
    ("PYROSCOPE_APPLICATION_NAME", Kind::STRING),
    ("PYROSCOPE_SERVER_ADDRESS", Kind::NULL.or(Kind::STRING)),
    ("QUEUE_CLEANUP_FREQUENCY", Kind::ANY),
    ("QUEUE_METRICS_TYPE", Kind::STRING),
    ("QUEUE_WORKER_METRICS_REFRESH_SECONDS", Kind::NUMBER),
    ("QUOTA_BACKFILL", Kind::BOOL),
    ("QUOTA_BACKFILL_BATCH_SIZE", Kind::INTEGER),
    ("QUOTA_BACKFILL_POLL_PERIOD", Kind::INTEGER),
    ("QUOTA_INVALIDATE_TOTALS", Kind::BOOL),
    ("QUOTA_NOTIFICATION_COOLDOWN_SECONDS", Kind::INTEGER),
    ("QUOTA_NOTIFICATION_WORKER_POLL_PERIOD", Kind::ANY),
    ("QUOTA_REGISTRY_SIZE_POLL_PERIOD", Kind::INTEGER),
    ("QUOTA_TOTAL_DELAY_SECONDS", Kind::INTEGER),
    ("RECAPTCHA_SECRET_KEY", Kind::NULL.or(Kind::STRING)),
    ("RECAPTCHA_SITE_KEY", Kind::NULL.or(Kind::STRING)),
    ("RECAPTCHA_WHITELISTED_USERS", Kind::ARRAY),
    ("RECONCILIATION_FREQUENCY", Kind::ANY),
    ("REDIS_CONNECTION_TIMEOUT", Kind::ANY),
    ("REDIS_FLUSH_INTERVAL_SECONDS", Kind::INTEGER),
    ("REDIS_FLUSH_WORKER_BATCH_SIZE", Kind::ANY),
    ("REDIS_FLUSH_WORKER_SCAN_COUNT", Kind::ANY),
    ("REGISTRY_JWT_AUTH_MAX_FRESH_S", Kind::NUMBER),
    ("REGISTRY_STATE", Kind::STRING),
    ("REGISTRY_TITLE", Kind::STRING),
    ("REGISTRY_TITLE_SHORT", Kind::STRING),
    ("REPLICATION_QUEUE_NAME", Kind::STRING),
    ("REPOSITORY_GC_QUEUE_NAME", Kind::STRING),
    ("REPO_MIRROR_INTERVAL", Kind::NUMBER),
    ("REPO_MIRROR_MAX_MANIFEST_ENTRIES", Kind::INTEGER),
    ("REPO_MIRROR_MAX_MANIFEST_LIST_SIZE", Kind::INTEGER),
    ("REPO_MIRROR_ROLLBACK", Kind::BOOL.or(Kind::NULL)),
    ("REPO_MIRROR_SERVER_HOSTNAME", Kind::NULL.or(Kind::STRING)),
    ("REPO_MIRROR_TAG_ROLLBACK_PAGE_SIZE", Kind::ANY),
    ("REPO_MIRROR_TLS_VERIFY", Kind::BOOL),
    ("RESET_CHILD_MANIFEST_EXPIRATION", Kind::BOOL),
    ("RESTRICTED_USERS_WHITELIST", Kind::ARRAY.or(Kind::NULL)),
    ("RESTRICTED_USER_INCLUDE_ROBOTS", Kind::ANY),
    ("ROBOTS_DISALLOW", Kind::BOOL),
    ("ROBOTS_WHITELIST", Kind::ARRAY),
    ("SEARCH_MAX_RESULT_PAGE_COUNT", Kind::NUMBER),
    ("SEARCH_RESULTS_PER_PAGE", Kind::NUMBER),
    ("SECRET_KEY", Kind::STRING),
    ("SECSCAN_V4_NOTIFICATION_QUEUE_NAME", Kind::STRING),
    ("SECURITY_SCANNER_INDEXING_INTERVAL", Kind::NUMBER),
    ("SECURITY_SCANNER_MAX_SCAN_RETRIES", Kind::INTEGER),
    ("SECURITY_SCANNER_V2_BATCH_SIZE", Kind::NUMBER),
    ("SECURITY_SCANNER_V2_INDEXING_INTERVAL", Kind::NUMBER),
    ("SECURITY_SCANNER_V4_BATCH_SIZE", Kind::ANY),
    ("SECURITY_SCANNER_V4_ENDPOINT", Kind::NULL.or(Kind::STRING)),
    ("SECURITY_SCANNER_V4_INDEXING", Kind::BOOL),
    (
        "SECURITY_SCANNER_V4_INDEX_MAX_LAYER_SIZE",
        Kind::NULL.or(Kind::STRING),
    ),
    ("SECURITY_SCANNER_V4_MANIFEST_CLEANUP", Kind::BOOL),
    ("SECURITY_SCANNER_V4_PSK", Kind::NULL.or(Kind::STRING)),
    ("SECURITY_SCANNER_V4_RECENT_MANIFEST_BATCH_SIZE", Kind::ANY),
    ("SECURITY_SCANNER_V4_REINDEX_THRESHOLD", Kind::NUMBER),
    ("SEND_FILE_MAX_AGE_DEFAULT", Kind::NUMBER),
    ("SENTRY_DSN", Kind::ANY),
    ("SENTRY_ENVIRONMENT", Kind::ANY),
    ("SENTRY_PROFILES_SAMPLE_RATE", Kind::ANY),
    ("SENTRY_PUBLIC_DSN", Kind::ANY),
    ("SENTRY_SAMPLE_RATE", Kind::ANY),
    ("SENTRY_TRACES_SAMPLE_RATE", Kind::ANY),
    ("SERVER_HOSTNAME", Kind::STRING),
    ("SERVICE_LOG_ACCOUNT_ID", Kind::ANY),
    ("SESSION_COOKIE_HTTPONLY", Kind::BOOL),
    ("SESSION_COOKIE_NAME", Kind::STRING),
    ("SESSION_COOKIE_SAMESITE", Kind::STRING),
    ("SESSION_COOKIE_SECURE", Kind::BOOL),
    ("SESSION_REFRESH_EACH_REQUEST", Kind::BOOL),
    ("SESSION_TIMEOUT", Kind::STRING),
    ("SETUP_COMPLETE", Kind::BOOL),
    ("SIGNED_GRANT_EXPIRATION_SEC", Kind::NUMBER),
    (
        "SPAM_DETECTION_CLASSIFIER_PATH",
        Kind::NULL.or(Kind::STRING),
    ),
    (
        "SPAM_DETECTION_CLASSIFIER_SHA256",
        Kind::NULL.or(Kind::STRING),
    ),
    (
        "SPAM_DETECTION_CLASSIFIER_VERSION",
        Kind::NULL.or(Kind::STRING),
    ),
    ("SPAM_DETECTION_DRY_RUN", Kind::BOOL),
    ("SPAM_DETECTION_FAIL_OPEN", Kind::BOOL),
    ("SSL_CIPHERS", Kind::ARRAY),
    ("SSL_PROTOCOLS", Kind::ARRAY),
    ("SSRF_ALLOWED_HOSTS", Kind::ARRAY),
    ("STAGGER_WORKERS", Kind::BOOL),
    ("STATIC_SITE_BUCKET", Kind::ANY),
    ("STATUS_TAGS", Kind::ANY),
    ("STORAGE_REPLICATION_PROCESSING_SECONDS", Kind::ANY),
    ("STRIPE_PUBLISHABLE_KEY", Kind::ANY),
    ("STRIPE_SECRET_KEY", Kind::ANY),
    (
        "SUCCESSIVE_TRIGGER_FAILURE_DISABLE_THRESHOLD",
        Kind::NULL.or(Kind::NUMBER),
    ),
    (
        "SUCCESSIVE_TRIGGER_INTERNAL_ERROR_DISABLE_THRESHOLD",
        Kind::NULL.or(Kind::NUMBER),
    ),
    ("SUPER_USERS", Kind::ARRAY),
    ("TAG_EXPIRATION_OPTIONS", Kind::ARRAY),
    ("TEAM_RESYNC_STALE_TIME", Kind::STRING),
    ("TEAM_SYNC_WORKER_FREQUENCY", Kind::NUMBER),
    ("TESTING", Kind::BOOL),
    ("THREAT_NAMESPACE_MAXIMUM_BUILD_COUNT", Kind::ANY),
    ("TRACKED_NAMESPACES", Kind::ANY),
    ("TRAP_HTTP_EXCEPTIONS", Kind::BOOL),
    ("TUF_API_TIMEOUT_SECONDS", Kind::ANY),
    ("TUF_GUN_PREFIX", Kind::ANY),
    ("TUF_HOST", Kind::ANY),
    ("TUF_SERVER", Kind::ANY),
    ("UI_DELAY_AFTER_WRITE_SECONDS", Kind::INTEGER),
    ("UI_MODELCARD_ANNOTATION", Kind::OBJECT),
    ("UI_MODELCARD_ARTIFACT_TYPE", Kind::STRING),
    ("UI_MODELCARD_LAYER_ANNOTATION", Kind::OBJECT),
    ("UI_V2_FEEDBACK_FORM", Kind::NULL.or(Kind::STRING)),
    ("UNAPPROVED_SERVICE_KEY_TTL_SEC", Kind::NUMBER),
    ("USERFILES_LOCATION", Kind::STRING),
    ("USERFILES_PATH", Kind::STRING),
    ("USER_EVENTS_REDIS", Kind::OBJECT),
    ("USER_RECOVERY_TOKEN_LIFETIME", Kind::STRING),
    ("USE_CDN", Kind::BOOL),
    ("USE_X_SENDFILE", Kind::BOOL),
    ("V1_ONLY_DOMAIN", Kind::ANY),
    ("V1_PUSH_WHITELIST", Kind::ARRAY),
    ("V22_NAMESPACE_BLACKLIST", Kind::ANY),
    ("V2_PAGINATION_SIZE", Kind::NUMBER),
    ("WEBHOOK_HOSTNAME_BLACKLIST", Kind::ARRAY),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(KEYS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookups() {
        assert_eq!(known_kind("SERVER_HOSTNAME"), Some(Kind::STRING));
        assert_eq!(known_kind("FEATURE_PROXY_CACHE"), Some(Kind::BOOL));
        assert!(known_kind("RHSSO_LOGIN_CONFIG").is_some());
        assert!(known_kind("SERVER_HOSTNAM").is_none());
        assert!(Kind::NUMBER.accepts(&serde_json::json!(3)));
        assert!(!Kind::INTEGER.accepts(&serde_json::json!(3.5)));
        assert_eq!(Kind::STRING.or(Kind::NULL).describe(), "a string");
        assert_eq!(Kind::NUMBER.describe(), "a number");
    }
}
