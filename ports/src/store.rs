//! Metadata-store ports (implemented by `quay-adapter-db`).
//!
//! One trait per aggregate, object-safe, used as `Arc<dyn …Store>`. Each port has its own error
//! enum; all of them carry a [`BackendError`] for failures of the database itself, which knows
//! whether retrying may help. Reads return domain types or read-model DTOs; lists are paged with
//! an opaque [`Cursor`].

use std::error::Error as StdError;
use std::fmt;

pub mod audit;
pub mod blob;
pub mod credential;
pub mod instance_key;
pub mod manifest;
pub mod permission;
pub mod pull_statistics;
pub mod quota;
pub mod repository;
pub mod service_key;
pub mod tag;
pub mod upload;
pub mod user;

pub use audit::{AuditEntry, AuditLog, AuditLogError};
pub use blob::{BlobMetaStore, BlobRecord, BlobStoreError, CommitBlob};
pub use credential::{
    AppSpecificToken, CredentialStore, CredentialStoreError, OAuthAccessToken,
    RepositoryAccessToken,
};
pub use instance_key::{InstanceKeyStore, InstanceKeyStoreError, NewInstanceKey};
pub use manifest::{
    ManifestLabel, ManifestPush, ManifestStore, ManifestStoreError, NewRepository, PolicyCheck,
    StoredManifest, TagDeletion, TagMove, TempTag,
};
pub use permission::{PermissionStore, PermissionStoreError};
pub use pull_statistics::{
    ManifestPullUpdate, PullStatisticsStore, PullStatisticsStoreError, TagPullUpdate,
};
pub use quota::{
    BackfillOutcome, NamespaceUsage, NewNotification, NotificationTarget, QuotaBackfillStore,
    QuotaNoticeClaim, QuotaNoticeStore, QuotaPush, QuotaStore, QuotaStoreError, QuotaVerify,
    SizeAccounting, SizeRowState,
};
pub use repository::{RepositoryStore, RepositoryStoreError};
pub use service_key::{ServiceKey, ServiceKeyStore, ServiceKeyStoreError};
pub use tag::{TagStore, TagStoreError};
pub use upload::{ChunkRecord, UploadRecord, UploadStore, UploadStoreError};
pub use user::{NewOrganization, NewUser, UserStore, UserStoreError};

/// A boxed error source.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// What kind of database failure happened, as far as callers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendErrorKind {
    /// The database could not be reached, or the connection broke (retryable).
    Unavailable,
    /// The database asked us to retry: a serialization failure, a deadlock, a busy SQLite file
    /// (retryable).
    Transient,
    /// The registry or database is read-only (not retryable).
    ReadOnly,
    /// Stored data does not fit the model, e.g. an unknown enum value (not retryable).
    Corrupt,
    /// Anything else (not retryable).
    Other,
}

/// A failure of the database behind a store.
#[derive(Debug)]
pub struct BackendError {
    kind: BackendErrorKind,
    context: String,
    source: Option<BoxError>,
}

impl BackendError {
    /// A failure with a short context (what was being done) and its cause.
    pub fn new(
        kind: BackendErrorKind,
        context: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self {
            kind,
            context: context.into(),
            source: Some(source.into()),
        }
    }

    /// A failure with no underlying error, e.g. a bad stored value.
    pub fn msg(kind: BackendErrorKind, context: impl Into<String>) -> Self {
        Self {
            kind,
            context: context.into(),
            source: None,
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> BackendErrorKind {
        self.kind
    }

    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            BackendErrorKind::Unavailable | BackendErrorKind::Transient
        )
    }
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.context)
    }
}

impl StdError for BackendError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Whether a read may be served by a read replica (`DB_READ_REPLICAS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consistency {
    /// Read the primary: the read must see every committed write (e.g. a permission check
    /// before a push, Quay's `disallow_replica_use`).
    Primary,
    /// A replica may answer; it may lag behind the primary.
    AllowReplica,
}

/// An opaque position in a listing, handed back to get the next page.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(pub String);

/// Which page of a listing to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Start after this position; `None` for the first page.
    pub after: Option<Cursor>,
    /// At most this many items (adapters clamp 0 to 1).
    pub limit: u32,
}

impl PageRequest {
    /// The first page of at most `limit` items.
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the listing's order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this is the last page.
    pub next: Option<Cursor>,
}
