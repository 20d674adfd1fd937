//! Composition of registry authentication: the instance service key (Quay's `boot.py`
//! `setup_instance_service_key` and the service key worker's renewal), the keyring that verifies
//! with every approved key of the `servicekey` table, and the `RegistryAuth` service.
//!
//! Key files: `INSTANCE_SERVICE_KEY_LOCATION` / `INSTANCE_SERVICE_KEY_KID_LOCATION`; when these
//! keep Quay's defaults under `/conf/stack` and the process runs the mirror preset (or
//! `/conf/stack` does not exist), `quay.pem` and `quay.kid` go to the data directory instead.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use quay_adapter_db::Stores;
use quay_application::registry_auth::{
    EncryptedPasswords, Keyring, RegistryAuth, RegistryAuthPorts, RegistryAuthSettings,
    RegistryHost, SignerFactory,
};
use quay_ports::clock::Clock;
use quay_ports::crypto::{JsonValue, TokenError, TokenSigner};
use quay_ports::store::{InstanceKeyStore, NewInstanceKey, ServiceKey};
use secrecy::SecretString;

use crate::clock::SystemClock;
use crate::config::{Mode, QuayConfig, RegistryState, UrlScheme};

/// The `SERVER_HOSTNAME` the mirror preset writes; with it, tokens follow the request's host.
const MIRROR_PRESET_HOSTNAME: &str = "localhost:8443";
/// Quay's default key location.
const DEFAULT_KEY_LOCATION: &str = "/conf/stack/quay.pem";
/// Quay's `EXPIRED_SERVICE_KEY_TTL_SEC` (one week).
const EXPIRED_SERVICE_KEY_TTL_S: i64 = 7 * 24 * 3600;
/// Quay's `UNAPPROVED_SERVICE_KEY_TTL_SEC` (one day).
const UNAPPROVED_SERVICE_KEY_TTL_S: i64 = 24 * 3600;

/// This instance's key material.
struct InstanceKey {
    kid: String,
    private_pem: String,
}

/// Builds `quay_fips::RegistryTokens` signers: our key signs, every listed key verifies.
struct FipsSignerFactory {
    issuer: String,
    key: InstanceKey,
    max_fresh_s: i64,
}

impl SignerFactory for FipsSignerFactory {
    fn build(&self, keys: &[ServiceKey]) -> Result<Arc<dyn TokenSigner>, TokenError> {
        let mut tokens = quay_fips::RegistryTokens::from_pem(
            self.issuer.clone(),
            self.key.kid.clone(),
            &self.key.private_pem,
            self.max_fresh_s,
        )
        .map_err(|e| TokenError::Backend(Box::new(e)))?;
        for key in keys {
            let jwk = match quay_fips::pyjson::parse(&key.jwk) {
                Ok(JsonValue::Object(mut pairs)) => {
                    // Quay looks keys up by the row's kid.
                    pairs.retain(|(k, _)| k != "kid");
                    pairs.push(("kid".into(), JsonValue::str(key.kid.clone())));
                    JsonValue::Object(pairs)
                }
                _ => {
                    tracing::warn!(service_key.kid = %key.kid, "service key has an unreadable JWK; ignored");
                    continue;
                }
            };
            if let Err(error) = tokens.add_service_jwk(&jwk) {
                tracing::warn!(service_key.kid = %key.kid, error = %error, "service key cannot verify tokens; ignored");
            }
        }
        Ok(Arc::new(tokens))
    }
}

/// Quay's encrypted passwords, keyed from `SECRET_KEY` (none when it is unset: Quay then uses
/// a random in-memory key, so no encrypted password can match).
struct FipsEncryptedPasswords(Option<quay_fips::aes_cbc::EncryptedPasswords>);

impl EncryptedPasswords for FipsEncryptedPasswords {
    fn decrypt(&self, text: &str) -> Option<SecretString> {
        self.0.as_ref()?.decrypt(text).map(SecretString::from)
    }
}

/// Where the key files live.
fn key_paths(config: &QuayConfig, data_dir: &Path) -> (PathBuf, PathBuf) {
    let isk = &config.instance_service_key;
    let defaults = isk.location == Path::new(DEFAULT_KEY_LOCATION);
    let conf_dir_missing = isk.location.parent().is_none_or(|p| !p.is_dir());
    if defaults && (config.mode == Some(Mode::Mirror) || conf_dir_missing) {
        (data_dir.join("quay.pem"), data_dir.join("quay.kid"))
    } else {
        (isk.location.clone(), isk.kid_location.clone())
    }
}

/// Quay's `get_audience()`: the key's name.
fn key_name(config: &QuayConfig) -> String {
    let scheme = match config.preferred_url_scheme {
        UrlScheme::Http => "http",
        UrlScheme::Https => "https",
    };
    let host = &config.server_hostname;
    if host.contains(':') {
        format!("{scheme}://{host}")
    } else {
        let port = if scheme == "https" { 443 } else { 80 };
        format!("{scheme}://{host}:{port}")
    }
}

/// Generates and registers a fresh instance key (Quay does so at every start), writing the PEM
/// and kid files.
async fn generate_key(
    config: &QuayConfig,
    store: &dyn InstanceKeyStore,
    pem_path: &Path,
    kid_path: &Path,
) -> Result<InstanceKey> {
    let key = quay_fips::jwk::generate_rsa(2048).map_err(|e| anyhow::anyhow!("{e}"))?;
    let kid = quay_fips::jwk::rsa_thumbprint(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
    let jwk = quay_fips::jwk::public_jwk(&key).map_err(|e| anyhow::anyhow!("{e}"))?;
    let pem = key
        .private_key_to_pem_pkcs8()
        .map_err(|e| anyhow::anyhow!("encoding the instance key: {e}"))?;
    let private_pem = String::from_utf8(pem).context("the instance key PEM is not text")?;
    let now = SystemClock.now();
    let minutes = i64::try_from(config.instance_service_key.expiration_minutes).unwrap_or(120);
    store
        .register_instance_key(NewInstanceKey {
            kid: kid.clone(),
            name: key_name(config),
            service: config.instance_service_key.service.clone(),
            jwk: quay_fips::jwk::jwk_json(&jwk),
            metadata: r#"{"created_by": "CLI tool"}"#.into(),
            created_at: now,
            expires_at: Some(now + chrono::Duration::minutes(minutes)),
            expired_ttl_s: EXPIRED_SERVICE_KEY_TTL_S,
            unapproved_ttl_s: UNAPPROVED_SERVICE_KEY_TTL_S,
        })
        .await
        .context("registering the instance service key in the servicekey table")?;
    for path in [pem_path, kid_path] {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
    }
    std::fs::write(kid_path, &kid).with_context(|| format!("writing {}", kid_path.display()))?;
    crate::serve::write_private(pem_path, private_pem.as_bytes())?;
    tracing::info!(service_key.kid = %kid, service_key.file = %pem_path.display(), "instance service key registered");
    Ok(InstanceKey { kid, private_pem })
}

/// A read-only registry keeps its existing key (Quay refuses to start without one).
async fn existing_key(
    store: &dyn InstanceKeyStore,
    pem_path: &Path,
    kid_path: &Path,
) -> Result<InstanceKey> {
    let kid = std::fs::read_to_string(kid_path).unwrap_or_default();
    let private_pem = std::fs::read_to_string(pem_path).unwrap_or_default();
    let alive = match store
        .find_key(&kid)
        .await
        .context("reading the servicekey table")?
    {
        Some(key) => key.expiration_date.is_none_or(|e| e > SystemClock.now()),
        None => false,
    };
    if kid.is_empty() || private_pem.is_empty() || !alive {
        bail!("No valid service key found for read-only registry.");
    }
    Ok(InstanceKey { kid, private_pem })
}

/// Renews the instance key's expiration every `INSTANCE_SERVICE_KEY_REFRESH` minutes (Quay's
/// service key worker).
fn spawn_renewal(config: &QuayConfig, store: Arc<dyn InstanceKeyStore>, kid: String) {
    let every = Duration::from_secs(config.instance_service_key.refresh_minutes.max(1) * 60);
    let minutes = i64::try_from(config.instance_service_key.expiration_minutes).unwrap_or(120);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.tick().await;
        loop {
            interval.tick().await;
            let expires = SystemClock.now() + chrono::Duration::minutes(minutes);
            match store.set_key_expiration(&kid, Some(expires)).await {
                Ok(true) => tracing::debug!(service_key.kid = %kid, "instance service key renewed"),
                Ok(false) => {
                    tracing::warn!(service_key.kid = %kid, "instance service key vanished from the servicekey table")
                }
                Err(error) => {
                    tracing::warn!(service_key.kid = %kid, error = %error, "renewing the instance service key failed")
                }
            }
        }
    });
}

/// `BLACKLIST_V2_SPEC` when it has the form `<X.Y.Z` (Quay's default `<1.6.0`); other
/// semantic-version specs are not supported and blacklist nothing (with a warning).
fn blacklist_below(config: &QuayConfig) -> Option<(u64, u64, u64)> {
    let spec = match config.effective.get("BLACKLIST_V2_SPEC") {
        None | Some(serde_json::Value::Null) => "<1.6.0".to_owned(),
        Some(v) => v.as_str().unwrap_or_default().to_owned(),
    };
    let parsed = spec.trim().strip_prefix('<').and_then(|v| {
        let parts: Vec<u64> = v
            .trim()
            .split('.')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        match parts.as_slice() {
            [a] => Some((*a, 0, 0)),
            [a, b] => Some((*a, *b, 0)),
            [a, b, c] => Some((*a, *b, *c)),
            _ => None,
        }
    });
    if parsed.is_none() {
        tracing::warn!(config.key = "BLACKLIST_V2_SPEC", spec = %spec, "only `<X.Y.Z` version specs are supported; no Docker version is refused");
    }
    parsed
}

fn settings(config: &QuayConfig) -> RegistryAuthSettings {
    let host = if config.server_hostname.is_empty()
        || (config.mode == Some(Mode::Mirror) && config.server_hostname == MIRROR_PRESET_HOSTNAME)
    {
        RegistryHost::FromRequest
    } else {
        RegistryHost::Configured {
            hostname: config.server_hostname.clone(),
            scheme: match config.preferred_url_scheme {
                UrlScheme::Http => "http".into(),
                UrlScheme::Https => "https".into(),
            },
        }
    };
    let strings = |key: &str| -> Vec<String> {
        config
            .effective
            .get(key)
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let features = &config.features;
    RegistryAuthSettings {
        host,
        library_namespace: config.library_namespace.clone(),
        anonymous_access: features.anonymous_access,
        superusers_full_access: features.superusers_full_access,
        extended_repository_names: features.extended_repository_names,
        app_specific_tokens: features.app_specific_tokens,
        super_users: if features.super_users {
            config.super_users.clone()
        } else {
            Vec::new()
        },
        restricted_users: features.restricted_users,
        restricted_users_whitelist: config
            .effective
            .get("RESTRICTED_USERS_WHITELIST")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            }),
        global_readonly_super_users: config.global_readonly_super_users.clone(),
        create_namespace_on_push: config.create_namespace_on_push,
        robots_disallow: config
            .effective
            .get("ROBOTS_DISALLOW")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        robots_whitelist: strings("ROBOTS_WHITELIST"),
        require_encrypted_basic_auth: features.require_encrypted_basic_auth,
        read_only: config.registry_state == RegistryState::Readonly,
        audit_logins: config
            .effective
            .get("ACTION_LOG_AUDIT_LOGINS")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true),
        advertise_v2: features.advertise_v2,
        v2_blacklist_below: blacklist_below(config),
    }
}

/// Sets up the instance key and builds registry authentication.
///
/// # Errors
/// No usable key (read-only registry without one, key files not writable), no
/// `DATABASE_SECRET_KEY`, or a database failure.
pub async fn registry_auth(
    config: &QuayConfig,
    stores: &Stores,
    data_dir: &Path,
) -> Result<Arc<RegistryAuth>> {
    let (pem_path, kid_path) = key_paths(config, data_dir);
    let store = stores.instance_keys.clone();
    let key = if config.registry_state == RegistryState::Readonly {
        existing_key(store.as_ref(), &pem_path, &kid_path).await?
    } else {
        let key = generate_key(config, store.as_ref(), &pem_path, &kid_path).await?;
        spawn_renewal(config, store, key.kid.clone());
        key
    };
    let factory = Arc::new(FipsSignerFactory {
        issuer: config.instance_service_key.service.clone(),
        key,
        max_fresh_s: i64::try_from(config.registry_jwt_auth_max_fresh_s).unwrap_or(3660),
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let keyring = Keyring::load(
        config.instance_service_key.service.clone(),
        factory,
        stores.service_keys.clone(),
        clock.clone(),
    )
    .await
    .context("loading the service keys")?;
    let secret = config
        .database_secret_key
        .clone()
        .unwrap_or_else(|| SecretString::from(String::new()));
    let cipher = quay_fips::FieldEncrypterV0::new(&secret)
        .map_err(|e| anyhow::anyhow!("DATABASE_SECRET_KEY cannot key the field encryption: {e}"))?;
    let ports = RegistryAuthPorts {
        users: stores.users.clone(),
        repositories: stores.repositories.clone(),
        permissions: stores.permissions.clone(),
        credentials: stores.credentials.clone(),
        hasher: Arc::new(quay_fips::BcryptHasher::default()),
        cipher: Arc::new(cipher),
        audit: Some(stores.audit.clone()),
        encrypted_passwords: Arc::new(FipsEncryptedPasswords(
            config
                .secret_key
                .as_ref()
                .and_then(|k| quay_fips::aes_cbc::EncryptedPasswords::new(k).ok()),
        )),
        clock,
    };
    Ok(Arc::new(RegistryAuth::new(
        settings(config),
        ports,
        Arc::new(keyring),
    )))
}

/// `service_key` of `/health/instance` (Quay's `_check_service_key`): the instance key named by
/// the kid file must be an approved, unexpired key of the table. A missing kid file means the
/// stack is not set up yet, and a database failure is left to the `database` check; both are
/// healthy with a note, as in Quay.
pub struct ServiceKeyProbe {
    kid_path: PathBuf,
    service: String,
    keys: Arc<dyn quay_ports::store::ServiceKeyStore>,
}

impl ServiceKeyProbe {
    /// The probe for this configuration's key files.
    pub fn new(config: &QuayConfig, stores: &Stores, data_dir: &Path) -> Self {
        Self {
            kid_path: key_paths(config, data_dir).1,
            service: config.instance_service_key.service.clone(),
            keys: stores.service_keys.clone(),
        }
    }
}

#[async_trait::async_trait]
impl quay_ports::health::HealthProbe for ServiceKeyProbe {
    fn name(&self) -> &'static str {
        "service_key"
    }

    async fn check(&self) -> quay_ports::health::ProbeStatus {
        use quay_ports::health::ProbeStatus;
        let Ok(kid) = std::fs::read_to_string(&self.kid_path) else {
            return ProbeStatus::ok_with("Stack not fully setup; skipping check");
        };
        match self
            .keys
            .list_approved_keys(&self.service, SystemClock.now())
            .await
        {
            Ok(keys) if keys.iter().any(|k| k.kid == kid) => ProbeStatus::ok(),
            Ok(_) => {
                ProbeStatus::failed(format!("Could not find valid instance service key {kid}"))
            }
            Err(_) => ProbeStatus::ok_with(
                "Failed to get instance key due to a database issue; skipping check",
            ),
        }
    }
}
