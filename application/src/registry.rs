//! The `/v2` content use cases: blobs, uploads, manifests, tags, catalog and referrers, on
//! Quay's data model (`endpoints/v2/*.py` with `data/registry_model`).
//!
//! Every use case takes the [`Caller`] (the verified registry identity plus request facts for
//! the audit log) and the repository path already parsed by the HTTP adapter, checks access the
//! way Quay's `require_repo_read` / `require_repo_write` do, and returns either a result the
//! adapter renders or a [`RegistryFailure`].
//!
//! Invariants:
//! - blob bodies are streamed ([`ByteStream`]) and hashed as they are written; nothing is held
//!   whole in memory except manifests (at most [`quay_domain::manifest::MAX_MANIFEST_BYTES`]);
//! - nothing is recorded in the database before the bytes it describes are in storage;
//! - the upload's whole state lives in its `blobupload` row, so any process can continue it.

mod access;
mod audit;
mod blobs;
mod body;
mod catalog;
mod immutability;
mod lookup_cache;
mod manifests;
mod pull_stats;
mod quota;
mod referrers;
mod tags;
mod uploads;

/// A private image repository `acme/app` (id 12, namespace id 3) for unit tests.
#[cfg(test)]
pub(crate) fn test_repository() -> quay_domain::repository::Repository {
    use quay_domain::name::{NamespaceName, RepositoryName, RepositoryNameRules};
    use quay_domain::repository::{
        Repository, RepositoryId, RepositoryKind, RepositoryState, Visibility,
    };
    use quay_domain::user::UserId;
    Repository {
        id: RepositoryId(12),
        namespace_id: UserId(3),
        namespace: NamespaceName::parse("acme").expect("valid namespace"),
        name: RepositoryName::parse("app", RepositoryNameRules::Standard).expect("valid name"),
        visibility: Visibility::Private,
        kind: RepositoryKind::Image,
        state: RepositoryState::Normal,
        description: None,
        trust_enabled: false,
    }
}

use std::sync::Arc;

use quay_domain::manifest::{ParseOptions, SparseIndexRule};
use quay_domain::media_type::ManifestPushPolicy;
use quay_domain::reference::RepositoryPathRules;
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::upload::LayerSizeLimit;
use quay_ports::clock::Clock;
use quay_ports::crypto::{Digester, SecureRandom};
use quay_ports::storage::BlobStorage;
use quay_ports::store::{
    AuditLog, BlobMetaStore, ManifestStore, RepositoryStore, TagStore, UploadStore, UserStore,
};

pub use crate::registry_auth::RegistryIdentity;
pub use blobs::{BlobBody, BlobMeta};
pub use catalog::{CatalogPage, PageTokenCipher};
pub use lookup_cache::DEFAULT_LOOKUP_CACHE_TTL;
pub use manifests::{ManifestBody, PushedManifest, ReferrersBody};
pub use quay_ports::storage::{ByteRange, ByteStream};
pub use quota::QuotaSettings;
pub use tags::TagPage;
pub use uploads::{UploadOutcome, UploadStart};

/// Configuration of the `/v2` content routes (Quay's keys).
#[derive(Debug, Clone)]
pub struct RegistrySettings {
    /// How `/v2` paths are read.
    pub path_rules: RepositoryPathRules,
    /// `MAXIMUM_LAYER_SIZE`.
    pub max_layer_size: LayerSizeLimit,
    /// `FEATURE_GENERAL_OCI_SUPPORT`, `OCI_NAMESPACE_WHITELIST`, `V22_NAMESPACE_BLACKLIST`.
    pub push_policy: ManifestPushPolicy,
    /// Artifact type rules.
    pub parse_options: ParseOptions,
    /// `FEATURE_SPARSE_INDEX`.
    pub sparse_index: SparseIndexRule,
    /// `PUSH_TEMP_TAG_EXPIRATION_SEC` (default 3600).
    pub temp_tag_expiration_s: i64,
    /// `CREATE_PRIVATE_REPO_ON_PUSH` (default true).
    pub create_private_repo_on_push: bool,
    /// `CREATE_NAMESPACE_ON_PUSH` (default false): a push to a missing namespace creates it
    /// as an organization owned by the pusher.
    pub create_namespace_on_push: bool,
    /// `FEATURE_MAILING` (default true): the e-mail of a namespace created on push must be
    /// valid.
    pub mailing: bool,
    /// `FEATURE_ORG_SHARED_EMAIL` (default false): organizations may reuse a user's e-mail.
    pub org_shared_email: bool,
    /// `DEFAULT_TAG_EXPIRATION` in seconds (default 2 weeks), for namespaces created on push.
    pub namespace_tag_expiration_s: i64,
    /// `DEFAULT_NAMESPACE_MAXIMUM_BUILD_COUNT`, for namespaces created on push.
    pub namespace_max_queued_builds: Option<i32>,
    /// `FEATURE_ANONYMOUS_ACCESS`.
    pub anonymous_access: bool,
    /// `FEATURE_PUBLIC_CATALOG`.
    pub public_catalog: bool,
    /// `REGISTRY_STATE: readonly`: every write answers `DENIED` 405 with `is_readonly`.
    pub read_only: bool,
    /// `DISABLE_PUSHES`: every write answers `METHOD NOT ALLOWED` 405.
    pub pushes_disabled: bool,
    /// The storage location uploads go to (`DISTRIBUTED_STORAGE_PREFERENCE[0]`).
    pub upload_location: String,
    /// Namespace quota (`FEATURE_QUOTA_MANAGEMENT`, `FEATURE_VERIFY_QUOTA`,
    /// `QUOTA_INVALIDATE_TOTALS`, `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES`).
    pub quota: QuotaSettings,
    /// How blob downloads are answered (`FEATURE_PROXY_STORAGE`, `CDN_SPECIFIC_NAMESPACES`).
    pub download: quay_ports::storage::redirect::DownloadPolicy,
    /// `FEATURE_IMMUTABLE_TAGS` (default false): immutable tags are neither moved nor deleted,
    /// and policies and the `quay.immutable` label make pushed tags immutable.
    pub immutable_tags: bool,
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE` (default false): an immutable tag keeps the expiry
    /// of its `quay.expires-after` label.
    pub immutable_tags_can_expire: bool,
    /// `FEATURE_IMAGE_PULL_STATS` (default false): manifest pulls are counted through
    /// [`RegistryPorts::pull_metrics`], and deleted tags lose their `tagpullstatistics` rows.
    pub image_pull_stats: bool,
    /// `RESET_CHILD_MANIFEST_EXPIRATION` (default false): deleting a tag closes the hidden
    /// `$temp-` tags of its manifest list's children.
    pub reset_child_manifest_expiration: bool,
    /// How long a pull's repository and performer lookups are served from this process's cache
    /// (`DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl`; zero: not cached). Defaults to
    /// [`DEFAULT_LOOKUP_CACHE_TTL`], not Quay's 120 s: the cache is per process, so another
    /// process's changes (a repository deleted and pushed again) are only seen when it expires.
    pub lookup_cache_ttl: std::time::Duration,
}

impl RegistrySettings {
    /// Quay's defaults with uploads going to `location`.
    pub fn defaults(location: impl Into<String>) -> Self {
        Self {
            path_rules: RepositoryPathRules::default(),
            max_layer_size: LayerSizeLimit::default(),
            push_policy: ManifestPushPolicy::default(),
            parse_options: ParseOptions::default(),
            sparse_index: SparseIndexRule::default(),
            temp_tag_expiration_s: 3600,
            create_private_repo_on_push: true,
            create_namespace_on_push: false,
            mailing: true,
            org_shared_email: false,
            namespace_tag_expiration_s: 1_209_600,
            namespace_max_queued_builds: None,
            anonymous_access: true,
            public_catalog: false,
            read_only: false,
            pushes_disabled: false,
            upload_location: location.into(),
            quota: QuotaSettings::default(),
            download: quay_ports::storage::redirect::DownloadPolicy::default(),
            immutable_tags: false,
            immutable_tags_can_expire: false,
            image_pull_stats: false,
            reset_child_manifest_expiration: false,
            lookup_cache_ttl: DEFAULT_LOOKUP_CACHE_TTL,
        }
    }
}

/// The ports the registry uses.
#[derive(Clone)]
pub struct RegistryPorts {
    /// The upload location's storage.
    pub storage: Arc<dyn BlobStorage>,
    /// Every configured location, for reads from a blob's placements.
    pub locations: Arc<dyn quay_ports::storage::locations::StorageLocations>,
    /// Signs storage-proxy tokens with the instance key (`FEATURE_PROXY_STORAGE`).
    pub proxy_tokens: Option<Arc<dyn quay_ports::crypto::TokenSigner>>,
    /// Manifests and tag moves.
    pub manifests: Arc<dyn ManifestStore>,
    /// Blob metadata.
    pub blobs: Arc<dyn BlobMetaStore>,
    /// Uploads in progress.
    pub uploads: Arc<dyn UploadStore>,
    /// The action log.
    pub audit: Arc<dyn AuditLog>,
    /// Repositories.
    pub repositories: Arc<dyn RepositoryStore>,
    /// Accounts (performers, namespaces).
    pub users: Arc<dyn UserStore>,
    /// Tags (listing).
    pub tags: Arc<dyn TagStore>,
    /// SHA-256 (resumable when not under FIPS).
    pub digester: Arc<dyn Digester>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// uuid4s.
    pub random: Arc<dyn SecureRandom>,
    /// Catalog page tokens (Fernet under `PAGE_TOKEN_KEY`).
    pub page_tokens: Arc<dyn PageTokenCipher>,
    /// Signature checks of pushed schema 1 manifests.
    pub schema1: Arc<dyn quay_ports::crypto::schema1::Schema1Verifier>,
    /// Namespace quota sizes, limits and notifications.
    pub quota: Arc<dyn quay_ports::store::QuotaStore>,
    /// Pull counters (`PULL_METRICS_REDIS`), when configured.
    pub pull_metrics: Option<Arc<dyn quay_ports::pull_metrics::PullMetrics>>,
}

/// Who is calling, for access checks and the action log.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The verified token's identity (anonymous without a token).
    pub identity: RegistryIdentity,
    /// The client address.
    pub ip: Option<String>,
    /// `User-Agent`.
    pub user_agent: Option<String>,
    /// The `Host` header (`MultiCDNStorage` host rules).
    pub host: Option<String>,
}

/// Why a `/v2` content request failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryFailure {
    /// A wire error of the table (a 401 needs the challenge, which the adapter adds).
    #[error(transparent)]
    Error(#[from] RegistryError),
    /// A chunk that does not start at the upload's size: a bare 416 with Quay's headers.
    #[error("range not satisfiable at {byte_count}")]
    RangeNotSatisfiable {
        /// The upload's size.
        byte_count: u64,
    },
    /// An internal failure (database, storage, crypto): a 500 without details.
    #[error("{context}")]
    Internal {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl RegistryFailure {
    pub(crate) fn internal(
        context: &str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Internal {
            context: context.to_owned(),
            source: source.into(),
        }
    }

    pub(crate) fn kind(kind: ErrorKind) -> Self {
        Self::Error(RegistryError::new(kind))
    }
}

/// The `/v2` content service.
pub struct Registry {
    settings: RegistrySettings,
    ports: RegistryPorts,
    /// Pull-side lookups, cached briefly ([`lookup_cache`]).
    lookups: access::PullLookups,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// Builds the service.
    pub fn new(settings: RegistrySettings, ports: RegistryPorts) -> Self {
        Self {
            lookups: access::PullLookups::new(settings.lookup_cache_ttl),
            settings,
            ports,
        }
    }

    /// The settings.
    pub fn settings(&self) -> &RegistrySettings {
        &self.settings
    }

    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.ports.clock.now()
    }

    fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// A random uuid4 in its canonical text form.
    fn uuid4(&self) -> Result<String, RegistryFailure> {
        let mut b = [0u8; 16];
        self.ports
            .random
            .fill(&mut b)
            .map_err(|e| RegistryFailure::internal("generating a uuid", e))?;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        Ok(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    fn sha256(&self, data: &[u8]) -> Result<quay_domain::digest::Digest, RegistryFailure> {
        let text = self
            .ports
            .digester
            .sha256_digest(data)
            .map_err(|e| RegistryFailure::internal("hashing", e))?;
        quay_domain::digest::Digest::parse(&text)
            .map_err(|e| RegistryFailure::internal("hashing", e))
    }
}
