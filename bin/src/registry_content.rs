//! Composition of the `/v2` content routes: the upload location's storage driver, the registry
//! stores, the digester (Python-compatible resumable SHA-256, or OpenSSL's under FIPS, which
//! then re-hashes finished uploads from storage) and Quay's registry settings.

use std::sync::Arc;

use anyhow::Result;
use quay_adapter_db::Stores;
use quay_application::quota_notify::QuotaNoticeSettings;
use quay_application::registry::{
    PageTokenCipher, QuotaSettings, Registry, RegistryPorts, RegistrySettings,
};
use quay_domain::manifest::SparseIndexRule;
use quay_domain::media_type::ManifestPushPolicy;
use quay_domain::name::{NamespaceName, RepositoryNameRules};
use quay_domain::reference::RepositoryPathRules;
use quay_domain::upload::{LayerSizeLimit, parse_quay_size};
use quay_ports::crypto::Digester;
use quay_ports::storage::{BlobStorage, StorageError};

use crate::clock::SystemClock;
use crate::config::{QuayConfig, RegistryState};

fn settings(config: &QuayConfig, location: String) -> Result<RegistrySettings> {
    let get = |key: &str| config.effective.get(key);
    let strings = |key: &str| -> Vec<String> {
        get(key)
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let max_layer_size = match get("MAXIMUM_LAYER_SIZE") {
        Some(serde_json::Value::String(s)) => LayerSizeLimit(
            parse_quay_size(s).map_err(|e| anyhow::anyhow!("MAXIMUM_LAYER_SIZE: {e}"))?,
        ),
        Some(serde_json::Value::Number(n)) => LayerSizeLimit(n.as_u64().unwrap_or(u64::MAX)),
        _ => LayerSizeLimit::default(),
    };
    let library_namespace = NamespaceName::parse(&config.library_namespace)
        .map_err(|e| anyhow::anyhow!("LIBRARY_NAMESPACE: {e}"))?;
    let features = &config.features;
    let mut s = RegistrySettings::defaults(location);
    s.path_rules = RepositoryPathRules {
        library_namespace,
        library_support: features.library_support,
        names: if features.extended_repository_names {
            RepositoryNameRules::Extended
        } else {
            RepositoryNameRules::Standard
        },
    };
    s.max_layer_size = max_layer_size;
    s.push_policy = ManifestPushPolicy {
        general_oci_support: features.general_oci_support,
        oci_namespace_whitelist: strings("OCI_NAMESPACE_WHITELIST"),
        v22_namespace_blacklist: strings("V22_NAMESPACE_BLACKLIST"),
    };
    s.sparse_index = if features.sparse_index {
        SparseIndexRule::AllOptional
    } else {
        SparseIndexRule::Disabled
    };
    if let Some(v) = get("PUSH_TEMP_TAG_EXPIRATION_SEC").and_then(serde_json::Value::as_i64) {
        s.temp_tag_expiration_s = v;
    }
    if let Some(v) = get("CREATE_PRIVATE_REPO_ON_PUSH").and_then(serde_json::Value::as_bool) {
        s.create_private_repo_on_push = v;
    }
    s.create_namespace_on_push = config.create_namespace_on_push;
    s.mailing = features.mailing;
    s.org_shared_email = features.org_shared_email;
    s.namespace_tag_expiration_s =
        i64::try_from(config.default_tag_expiration.duration().as_secs()).unwrap_or(i64::MAX);
    s.namespace_max_queued_builds = get("DEFAULT_NAMESPACE_MAXIMUM_BUILD_COUNT")
        .and_then(serde_json::Value::as_i64)
        .and_then(|n| i32::try_from(n).ok());
    s.anonymous_access = features.anonymous_access;
    s.public_catalog = features.public_catalog;
    s.read_only = config.registry_state == RegistryState::Readonly;
    s.pushes_disabled = config.disable_pushes;
    s.immutable_tags = features.immutable_tags;
    s.immutable_tags_can_expire = features.immutable_tags_can_expire;
    s.image_pull_stats = features.image_pull_stats;
    s.reset_child_manifest_expiration = get("RESET_CHILD_MANIFEST_EXPIRATION")
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    s.quota = quota_settings(config);
    s.download = crate::storage::download_policy(config);
    if let Some(ttl) = &config.repository_lookup_cache_ttl {
        s.lookup_cache_ttl = ttl.duration();
    }
    Ok(s)
}

/// Quay's quota keys (`config.py` defaults: management off, verify on, invalidate on, no
/// system-wide reject limit).
fn quota_settings(config: &QuayConfig) -> QuotaSettings {
    let get = |key: &str| config.effective.get(key);
    let defaults = QuotaSettings::default();
    QuotaSettings {
        management: config.features.quota_management,
        verify: config.features.verify_quota,
        invalidate_totals: get("QUOTA_INVALIDATE_TOTALS")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(defaults.invalidate_totals),
        default_reject_bytes: get("DEFAULT_SYSTEM_REJECT_QUOTA_BYTES")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(defaults.default_reject_bytes),
        suppress_failures: config.features.quota_suppress_failures,
        notices: quota_notice_settings(config),
    }
}

/// `FEATURE_QUOTA_NOTIFICATIONS`, `QUOTA_NOTIFICATION_COOLDOWN_SECONDS` (default 86400),
/// `NOTIFICATION_QUEUE_NAME` (default `notification`) and the notices' homepage base
/// (`PREFERRED_URL_SCHEME://SERVER_HOSTNAME`).
pub(crate) fn quota_notice_settings(config: &QuayConfig) -> QuotaNoticeSettings {
    let get = |key: &str| config.effective.get(key);
    let defaults = QuotaNoticeSettings::default();
    let scheme = match config.preferred_url_scheme {
        crate::config::UrlScheme::Http => "http",
        crate::config::UrlScheme::Https => "https",
    };
    QuotaNoticeSettings {
        enabled: config.features.quota_notifications,
        cooldown: get("QUOTA_NOTIFICATION_COOLDOWN_SECONDS")
            .and_then(serde_json::Value::as_u64)
            .map_or(defaults.cooldown, std::time::Duration::from_secs),
        base_url: format!("{scheme}://{}", config.server_hostname),
        queue: get("NOTIFICATION_QUEUE_NAME")
            .and_then(serde_json::Value::as_str)
            .map_or(defaults.queue, str::to_owned),
    }
}

fn digester() -> Arc<dyn Digester> {
    match quay_fips::upload_state::PortableSha256Digester::new(
        quay_fips::upload_state::ByteOrder::native(),
    ) {
        Ok(d) => Arc::new(d),
        Err(_) => {
            tracing::info!(
                "FIPS: upload hashes are not resumable, finished uploads are re-hashed from storage"
            );
            Arc::new(quay_fips::OpenSslDigester)
        }
    }
}

/// Quay's built-in `PAGE_TOKEN_KEY` (`config.py`), used when the configuration has none.
const DEFAULT_PAGE_TOKEN_KEY: &str = "0OYrc16oBuksR8T3JGB-xxYSlZ2-7I_zzqrLzggBJ58=";

/// Catalog page tokens: Fernet under `PAGE_TOKEN_KEY`, two days of validity.
struct FernetPageTokens(quay_fips::fernet::Fernet);

impl PageTokenCipher for FernetPageTokens {
    fn encrypt(&self, plaintext: &str, now: i64) -> Option<String> {
        self.0.encrypt(plaintext.as_bytes(), now).ok()
    }

    fn decrypt(&self, token: &str, now: i64) -> Option<String> {
        let bytes = self
            .0
            .decrypt(token, now, quay_fips::fernet::PAGE_TOKEN_TTL_S)
            .ok()?;
        String::from_utf8(bytes).ok()
    }
}

fn page_tokens(config: &QuayConfig) -> Result<FernetPageTokens> {
    use secrecy::ExposeSecret as _;
    let key = config
        .page_token_key
        .as_ref()
        .map_or(DEFAULT_PAGE_TOKEN_KEY, |k| k.expose_secret());
    let fernet = quay_fips::fernet::Fernet::new(key)
        .map_err(|e| anyhow::anyhow!("PAGE_TOKEN_KEY cannot key Fernet: {e}"))?;
    Ok(FernetPageTokens(fernet))
}

/// Builds the registry service on the upload location (`DISTRIBUTED_STORAGE_PREFERENCE[0]`) of
/// the storage factory.
///
/// # Errors
/// Invalid registry settings (`MAXIMUM_LAYER_SIZE`, `LIBRARY_NAMESPACE`, `PAGE_TOKEN_KEY`), or
/// storage that cannot be set up.
pub async fn registry(
    config: &QuayConfig,
    stores: &Stores,
    distributed: &quay_adapter_storage::DistributedStorage,
    proxy_tokens: Option<Arc<dyn quay_ports::crypto::TokenSigner>>,
) -> Result<Option<Arc<Registry>>> {
    let (location, storage): (String, Arc<dyn BlobStorage>) = match distributed.upload_location() {
        Ok((location, storage)) => (location.to_owned(), Arc::clone(storage)),
        // `REGISTRY_STATE: readonly`: pulls read the preferred location; the registry refuses
        // every write before it reaches storage.
        Err(StorageError::ReadOnly) => {
            let name = config
                .storage
                .preference
                .first()
                .cloned()
                .or_else(|| {
                    distributed
                        .location_names()
                        .first()
                        .map(|n| (*n).to_owned())
                })
                .ok_or_else(|| anyhow::anyhow!("no storage location to read from"))?;
            let storage = distributed
                .location(&name)
                .ok_or_else(|| anyhow::anyhow!("storage location {name} is not configured"))?;
            (name, Arc::clone(storage))
        }
        Err(e) => return Err(anyhow::anyhow!("no storage location for uploads: {e}")),
    };
    let names: Vec<String> = config.storage.locations.keys().cloned().collect();
    if let Err(e) = stores.blobs.ensure_locations(&names).await {
        tracing::warn!(error = %e, "could not register the storage locations in imagestoragelocation");
    }
    let ports = RegistryPorts {
        storage,
        locations: Arc::new(distributed.clone()),
        proxy_tokens,
        manifests: stores.manifests.clone(),
        blobs: stores.blobs.clone(),
        uploads: stores.uploads.clone(),
        audit: stores.audit.clone(),
        repositories: stores.repositories.clone(),
        users: stores.users.clone(),
        tags: stores.tags.clone(),
        digester: digester(),
        clock: Arc::new(SystemClock),
        random: Arc::new(quay_fips::OpenSslRandom),
        page_tokens: Arc::new(page_tokens(config)?),
        schema1: Arc::new(quay_fips::schema1::FipsSchema1Verifier),
        quota: stores.quota.clone(),
        pull_metrics: crate::pull_metrics::pull_metrics(config)?,
    };
    Ok(Some(Arc::new(Registry::new(
        settings(config, location)?,
        ports,
    ))))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{Mode, load};

    fn settings_for(yaml: &str) -> RegistrySettings {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, yaml).expect("write config");
        let config = load(Some(Mode::Mirror), Some(&path), &|_| None, dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .config;
        settings(&config, "default".into()).expect("registry settings")
    }

    #[test]
    fn the_lookup_cache_lives_the_configured_repository_lookup_ttl() {
        let s = settings_for("DATA_MODEL_CACHE_CONFIG:\n  repository_lookup_cache_ttl: 2m\n");
        assert_eq!(s.lookup_cache_ttl, Duration::from_secs(120));
        let s = settings_for("DATA_MODEL_CACHE_CONFIG:\n  repository_lookup_cache_ttl: 0s\n");
        assert_eq!(s.lookup_cache_ttl, Duration::ZERO, "caching off");
    }

    #[test]
    fn child_manifest_expiration_is_reset_only_when_configured() {
        assert!(!settings_for("FEATURE_IMAGE_PULL_STATS: false\n").reset_child_manifest_expiration);
        assert!(
            settings_for("RESET_CHILD_MANIFEST_EXPIRATION: true\n").reset_child_manifest_expiration
        );
        assert!(
            !settings_for("RESET_CHILD_MANIFEST_EXPIRATION: false\n")
                .reset_child_manifest_expiration
        );
    }

    #[test]
    fn without_the_key_the_lookup_cache_keeps_the_registry_default() {
        let s = settings_for("DATA_MODEL_CACHE_CONFIG:\n  engine: inmemory\n");
        assert_eq!(
            s.lookup_cache_ttl,
            quay_application::registry::DEFAULT_LOOKUP_CACHE_TTL
        );
        assert_eq!(s.lookup_cache_ttl, Duration::from_secs(10));
    }
}
