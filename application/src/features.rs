//! Feature flags: every `FEATURE_*` boolean of Quay's `config.py` with Quay's default.
//!
//! The binary's config loader fills a [`Features`] from `config.yaml`; use cases read the
//! typed fields. Routes gated by a flag must behave exactly as in Quay when it is off (404).
//! `FEATURE_LISTEN_IP_VERSION` is not here: it is a string, typed in the binary's config.

/// Declares [`Features`] from `field = "KEY": default` rows, so the key table, the struct
/// and the defaults cannot drift apart.
macro_rules! features {
    ($( $(#[doc = $doc:literal])* $field:ident = $key:literal : $default:literal ),* $(,)?) => {
        /// Quay's feature flags, one `bool` per `FEATURE_*` key.
        ///
        /// [`Features::default`] gives Quay's defaults (`config.py` `DefaultConfig`).
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct Features {
            $( $(#[doc = $doc])* pub $field: bool, )*
        }

        impl Default for Features {
            fn default() -> Self {
                Self { $( $field: $default, )* }
            }
        }

        impl Features {
            /// Every `FEATURE_*` key this struct holds, in declaration order.
            pub const KEYS: &'static [&'static str] = &[$( $key ),*];

            /// The value of a flag by its config key (`"FEATURE_SUPER_USERS"`), or `None`
            /// when the key is not a known flag.
            #[must_use]
            pub fn get(&self, key: &str) -> Option<bool> {
                match key {
                    $( $key => Some(self.$field), )*
                    _ => None,
                }
            }

            /// Sets a flag by its config key; returns `false` (and changes nothing) when the
            /// key is not a known flag.
            pub fn set(&mut self, key: &str, value: bool) -> bool {
                match key {
                    $( $key => { self.$field = value; true } )*
                    _ => false,
                }
            }

            /// Quay's default for a flag by its config key, or `None` when unknown.
            #[must_use]
            pub fn default_of(key: &str) -> Option<bool> {
                match key {
                    $( $key => Some($default), )*
                    _ => None,
                }
            }
        }
    };
}

features! {
    /// `FEATURE_PERMANENT_SESSIONS` (Quay default: on).
    permanent_sessions = "FEATURE_PERMANENT_SESSIONS": true,
    /// `FEATURE_SUPER_USERS` (Quay default: on).
    super_users = "FEATURE_SUPER_USERS": true,
    /// `FEATURE_ANONYMOUS_ACCESS` (Quay default: on).
    anonymous_access = "FEATURE_ANONYMOUS_ACCESS": true,
    /// `FEATURE_BILLING` (Quay default: off).
    billing = "FEATURE_BILLING": false,
    /// `FEATURE_USER_LOG_ACCESS` (Quay default: off).
    user_log_access = "FEATURE_USER_LOG_ACCESS": false,
    /// `FEATURE_GITHUB_LOGIN` (Quay default: off).
    github_login = "FEATURE_GITHUB_LOGIN": false,
    /// `FEATURE_GOOGLE_LOGIN` (Quay default: off).
    google_login = "FEATURE_GOOGLE_LOGIN": false,
    /// `FEATURE_GITHUB_BUILD` (Quay default: off).
    github_build = "FEATURE_GITHUB_BUILD": false,
    /// `FEATURE_BITBUCKET_BUILD` (Quay default: off).
    bitbucket_build = "FEATURE_BITBUCKET_BUILD": false,
    /// `FEATURE_GITLAB_BUILD` (Quay default: off).
    gitlab_build = "FEATURE_GITLAB_BUILD": false,
    /// `FEATURE_BUILD_SUPPORT` (Quay default: on).
    build_support = "FEATURE_BUILD_SUPPORT": true,
    /// `FEATURE_MAILING` (Quay default: on).
    mailing = "FEATURE_MAILING": true,
    /// `FEATURE_ORG_SHARED_EMAIL` (Quay default: off).
    org_shared_email = "FEATURE_ORG_SHARED_EMAIL": false,
    /// `FEATURE_USER_CREATION` (Quay default: on).
    user_creation = "FEATURE_USER_CREATION": true,
    /// `FEATURE_INVITE_ONLY_USER_CREATION` (Quay default: off).
    invite_only_user_creation = "FEATURE_INVITE_ONLY_USER_CREATION": false,
    /// `FEATURE_USER_RENAME` (Quay default: off).
    user_rename = "FEATURE_USER_RENAME": false,
    /// `FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH` (Quay default: off).
    require_encrypted_basic_auth = "FEATURE_REQUIRE_ENCRYPTED_BASIC_AUTH": false,
    /// `FEATURE_STORAGE_REPLICATION` (Quay default: off).
    storage_replication = "FEATURE_STORAGE_REPLICATION": false,
    /// `FEATURE_DIRECT_LOGIN` (Quay default: on).
    direct_login = "FEATURE_DIRECT_LOGIN": true,
    /// `FEATURE_ADVERTISE_V2` (Quay default: on).
    advertise_v2 = "FEATURE_ADVERTISE_V2": true,
    /// `FEATURE_USER_EVENTS` (Quay default: on).
    user_events = "FEATURE_USER_EVENTS": true,
    /// `FEATURE_IMAGE_PULL_STATS` (Quay default: off).
    image_pull_stats = "FEATURE_IMAGE_PULL_STATS": false,
    /// `FEATURE_RESTRICTED_V1_PUSH` (Quay default: off).
    restricted_v1_push = "FEATURE_RESTRICTED_V1_PUSH": false,
    /// `FEATURE_ACTION_LOG_ROTATION` (Quay default: off).
    action_log_rotation = "FEATURE_ACTION_LOG_ROTATION": false,
    /// `FEATURE_LIBRARY_SUPPORT` (Quay default: on).
    library_support = "FEATURE_LIBRARY_SUPPORT": true,
    /// `FEATURE_REQUIRE_TEAM_INVITE` (Quay default: on).
    require_team_invite = "FEATURE_REQUIRE_TEAM_INVITE": true,
    /// `FEATURE_PROXY_STORAGE` (Quay default: off).
    proxy_storage = "FEATURE_PROXY_STORAGE": false,
    /// `FEATURE_USER_METADATA` (Quay default: off).
    user_metadata = "FEATURE_USER_METADATA": false,
    /// `FEATURE_SIGNING` (Quay default: off).
    signing = "FEATURE_SIGNING": false,
    /// `FEATURE_PUBLIC_CATALOG` (Quay default: off).
    public_catalog = "FEATURE_PUBLIC_CATALOG": false,
    /// `FEATURE_READER_BUILD_LOGS` (Quay default: off).
    reader_build_logs = "FEATURE_READER_BUILD_LOGS": false,
    /// `FEATURE_PARTIAL_USER_AUTOCOMPLETE` (Quay default: on).
    partial_user_autocomplete = "FEATURE_PARTIAL_USER_AUTOCOMPLETE": true,
    /// `FEATURE_USERNAME_CONFIRMATION` (Quay default: on).
    username_confirmation = "FEATURE_USERNAME_CONFIRMATION": true,
    /// `FEATURE_FIPS` (Quay default: off).
    fips = "FEATURE_FIPS": false,
    /// `FEATURE_SECURITY_SCANNER` (Quay default: off).
    security_scanner = "FEATURE_SECURITY_SCANNER": false,
    /// `FEATURE_SECURITY_NOTIFICATIONS` (Quay default: off).
    security_notifications = "FEATURE_SECURITY_NOTIFICATIONS": false,
    /// `FEATURE_SECURITY_SCANNER_V2` (Quay default: off).
    security_scanner_v2 = "FEATURE_SECURITY_SCANNER_V2": false,
    /// `FEATURE_REPO_MIRROR` (Quay default: off).
    repo_mirror = "FEATURE_REPO_MIRROR": false,
    /// `FEATURE_ORG_MIRROR` (Quay default: off).
    org_mirror = "FEATURE_ORG_MIRROR": false,
    /// `FEATURE_RECAPTCHA` (Quay default: off).
    recaptcha = "FEATURE_RECAPTCHA": false,
    /// `FEATURE_TEAM_SYNCING` (Quay default: off).
    team_syncing = "FEATURE_TEAM_SYNCING": false,
    /// `FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP` (Quay default: off).
    nonsuperuser_team_syncing_setup = "FEATURE_NONSUPERUSER_TEAM_SYNCING_SETUP": false,
    /// `FEATURE_CHANGE_TAG_EXPIRATION` (Quay default: on).
    change_tag_expiration = "FEATURE_CHANGE_TAG_EXPIRATION": true,
    /// `FEATURE_IMMUTABLE_TAGS` (Quay default: off).
    immutable_tags = "FEATURE_IMMUTABLE_TAGS": false,
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE` (Quay default: off).
    immutable_tags_can_expire = "FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE": false,
    /// `FEATURE_APP_SPECIFIC_TOKENS` (Quay default: on).
    app_specific_tokens = "FEATURE_APP_SPECIFIC_TOKENS": true,
    /// `FEATURE_USER_LAST_ACCESSED` (Quay default: on).
    user_last_accessed = "FEATURE_USER_LAST_ACCESSED": true,
    /// `FEATURE_AGGREGATED_LOG_COUNT_RETRIEVAL` (Quay default: on).
    aggregated_log_count_retrieval = "FEATURE_AGGREGATED_LOG_COUNT_RETRIEVAL": true,
    /// `FEATURE_RATE_LIMITS` (Quay default: off).
    rate_limits = "FEATURE_RATE_LIMITS": false,
    /// `FEATURE_LOG_EXPORT` (Quay default: on).
    log_export = "FEATURE_LOG_EXPORT": true,
    /// `FEATURE_DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES` (Quay default: off).
    disable_pull_logs_for_free_namespaces = "FEATURE_DISABLE_PULL_LOGS_FOR_FREE_NAMESPACES": false,
    /// `FEATURE_BLACKLISTED_EMAILS` (Quay default: off).
    blacklisted_emails = "FEATURE_BLACKLISTED_EMAILS": false,
    /// `FEATURE_GARBAGE_COLLECTION` (Quay default: on).
    garbage_collection = "FEATURE_GARBAGE_COLLECTION": true,
    /// `FEATURE_NAMESPACE_GARBAGE_COLLECTION` (Quay default: on).
    namespace_garbage_collection = "FEATURE_NAMESPACE_GARBAGE_COLLECTION": true,
    /// `FEATURE_REPOSITORY_GARBAGE_COLLECTION` (Quay default: on).
    repository_garbage_collection = "FEATURE_REPOSITORY_GARBAGE_COLLECTION": true,
    /// `FEATURE_CLEAR_EXPIRED_RAC_ENTRIES` (Quay default: off).
    clear_expired_rac_entries = "FEATURE_CLEAR_EXPIRED_RAC_ENTRIES": false,
    /// `FEATURE_GENERAL_OCI_SUPPORT` (Quay default: on).
    general_oci_support = "FEATURE_GENERAL_OCI_SUPPORT": true,
    /// `FEATURE_HELM_OCI_SUPPORT` (Quay default: on).
    helm_oci_support = "FEATURE_HELM_OCI_SUPPORT": true,
    /// `FEATURE_REFERRERS_API` (Quay default: on).
    referrers_api = "FEATURE_REFERRERS_API": true,
    /// `FEATURE_REPOSITORY_ACTION_COUNTER` (Quay default: on).
    repository_action_counter = "FEATURE_REPOSITORY_ACTION_COUNTER": true,
    /// `FEATURE_MANIFEST_SIZE_BACKFILL` (Quay default: on).
    manifest_size_backfill = "FEATURE_MANIFEST_SIZE_BACKFILL": true,
    /// `FEATURE_MANIFEST_SUBJECT_BACKFILL` (Quay default: on).
    manifest_subject_backfill = "FEATURE_MANIFEST_SUBJECT_BACKFILL": true,
    /// `FEATURE_USER_INITIALIZE` (Quay default: off).
    user_initialize = "FEATURE_USER_INITIALIZE": false,
    /// `FEATURE_PROGRAMMATIC_BOOTSTRAP` (Quay default: off).
    programmatic_bootstrap = "FEATURE_PROGRAMMATIC_BOOTSTRAP": false,
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES` (Quay default: on).
    extended_repository_names = "FEATURE_EXTENDED_REPOSITORY_NAMES": true,
    /// `FEATURE_QUOTA_MANAGEMENT` (Quay default: off).
    quota_management = "FEATURE_QUOTA_MANAGEMENT": false,
    /// `FEATURE_EDIT_QUOTA` (Quay default: on).
    edit_quota = "FEATURE_EDIT_QUOTA": true,
    /// `FEATURE_VERIFY_QUOTA` (Quay default: on).
    verify_quota = "FEATURE_VERIFY_QUOTA": true,
    /// `FEATURE_QUOTA_SUPPRESS_FAILURES` (Quay default: off).
    quota_suppress_failures = "FEATURE_QUOTA_SUPPRESS_FAILURES": false,
    /// `FEATURE_QUOTA_NOTIFICATIONS` (Quay default: off).
    quota_notifications = "FEATURE_QUOTA_NOTIFICATIONS": false,
    /// `FEATURE_PROXY_CACHE` (Quay default: off).
    proxy_cache = "FEATURE_PROXY_CACHE": false,
    /// `FEATURE_EXTENDED_ACTION_LOGGING` (Quay default: off).
    extended_action_logging = "FEATURE_EXTENDED_ACTION_LOGGING": false,
    /// `FEATURE_PROXY_CACHE_BLOB_DOWNLOAD` (Quay default: on).
    proxy_cache_blob_download = "FEATURE_PROXY_CACHE_BLOB_DOWNLOAD": true,
    /// `FEATURE_EXPORT_COMPLIANCE` (Quay default: off).
    export_compliance = "FEATURE_EXPORT_COMPLIANCE": false,
    /// `FEATURE_UI_V2` (Quay default: on).
    ui_v2 = "FEATURE_UI_V2": true,
    /// `FEATURE_UI_MODELCARD` (Quay default: on).
    ui_modelcard = "FEATURE_UI_MODELCARD": true,
    /// `FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX` (Quay default: on).
    security_scanner_notify_on_new_index = "FEATURE_SECURITY_SCANNER_NOTIFY_ON_NEW_INDEX": true,
    /// `FEATURE_SUPERUSERS_FULL_ACCESS` (Quay default: off).
    superusers_full_access = "FEATURE_SUPERUSERS_FULL_ACCESS": false,
    /// `FEATURE_SUPERUSERS_ORG_CREATION_ONLY` (Quay default: off).
    superusers_org_creation_only = "FEATURE_SUPERUSERS_ORG_CREATION_ONLY": false,
    /// `FEATURE_RESTRICTED_USERS` (Quay default: off).
    restricted_users = "FEATURE_RESTRICTED_USERS": false,
    /// `FEATURE_ENTITLEMENT_RECONCILIATION` (Quay default: off).
    entitlement_reconciliation = "FEATURE_ENTITLEMENT_RECONCILIATION": false,
    /// `FEATURE_RH_MARKETPLACE` (Quay default: off).
    rh_marketplace = "FEATURE_RH_MARKETPLACE": false,
    /// `FEATURE_AUTO_PRUNE` (Quay default: off).
    auto_prune = "FEATURE_AUTO_PRUNE": false,
    /// `FEATURE_UI_DELAY_AFTER_WRITE` (Quay default: off).
    ui_delay_after_write = "FEATURE_UI_DELAY_AFTER_WRITE": false,
    /// `FEATURE_ASSIGN_OAUTH_TOKEN` (Quay default: on).
    assign_oauth_token = "FEATURE_ASSIGN_OAUTH_TOKEN": true,
    /// `FEATURE_IMAGE_EXPIRY_TRIGGER` (Quay default: off).
    image_expiry_trigger = "FEATURE_IMAGE_EXPIRY_TRIGGER": false,
    /// `FEATURE_SPAM_DETECTION` (Quay default: off).
    spam_detection = "FEATURE_SPAM_DETECTION": false,
    /// `FEATURE_SUPERUSER_CONFIGDUMP` (Quay default: off).
    superuser_configdump = "FEATURE_SUPERUSER_CONFIGDUMP": false,
    /// `FEATURE_OTEL_TRACING` (Quay default: off).
    otel_tracing = "FEATURE_OTEL_TRACING": false,
    /// `FEATURE_SPARSE_INDEX` (Quay default: off).
    sparse_index = "FEATURE_SPARSE_INDEX": false,
    /// `FEATURE_ENABLE_STALE_MPU_CLEANUP` (Quay default: on).
    enable_stale_mpu_cleanup = "FEATURE_ENABLE_STALE_MPU_CLEANUP": true,
    /// `FEATURE_ACI_CONVERSION` (Quay default: off). Not in `DefaultConfig`; read by Quay where used.
    aci_conversion = "FEATURE_ACI_CONVERSION": false,
    /// `FEATURE_LDAP_CACHING` (Quay default: off). Not in `DefaultConfig`; read by Quay where used.
    ldap_caching = "FEATURE_LDAP_CACHING": false,
    /// `FEATURE_PROXY_PROTOCOL` (Quay default: off). Not in `DefaultConfig`; read by Quay where used.
    proxy_protocol = "FEATURE_PROXY_PROTOCOL": false,
}

#[cfg(test)]
mod tests {
    use super::Features;

    #[test]
    fn defaults_match_quay() {
        let f = Features::default();
        assert!(f.anonymous_access && f.super_users && f.direct_login && f.user_creation);
        assert!(f.mailing && f.referrers_api && f.general_oci_support && f.advertise_v2);
        assert!(!f.billing && !f.security_scanner && !f.proxy_cache && !f.quota_management);
        assert!(!f.fips && !f.restricted_users && !f.auto_prune && !f.user_initialize);
    }

    #[test]
    fn get_and_set_by_key() {
        let mut f = Features::default();
        assert_eq!(f.get("FEATURE_PROXY_CACHE"), Some(false));
        assert!(f.set("FEATURE_PROXY_CACHE", true));
        assert!(f.proxy_cache);
        assert!(!f.set("FEATURE_NOPE", true));
        assert_eq!(f.get("FEATURE_NOPE"), None);
        assert_eq!(Features::KEYS.len(), 94);
        for key in Features::KEYS {
            assert_eq!(Features::default().get(key), Features::default_of(key));
        }
    }
}
