//! The quota store: Quay's `quotanamespacesize`, `quotarepositorysize`, `userorganizationquota`,
//! `quotalimits` + `quotatype`, and the `notification` rows written to a namespace's
//! administrators when a limit is reached.
//!
//! Invariants (Quay's `data/model/quota.py`, `namespacequota.py`):
//! - sizes change in the transaction that creates a manifest row
//!   ([`super::ManifestStore::commit_manifest_push`] with [`QuotaPush`]): tracked when quota
//!   management is on ([`SizeAccounting::Track`], the rules of [`quay_domain::quota`]); marked
//!   stale for the backfill worker when it is off and `QUOTA_INVALIDATE_TOTALS` holds
//!   ([`SizeAccounting::Invalidate`]); a push that reuses an existing manifest changes nothing;
//! - with [`QuotaVerify`], the namespace size after that change is checked before the tag moves;
//!   a `Reject` keeps the new manifest under an already-expired hidden `$temp-` tag (so garbage
//!   collection removes it and subtracts its size), moves no tag, writes no `push_repo` entry, and
//!   the push fails with [`super::ManifestStoreError::QuotaExceeded`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::quota::NamespaceQuota;
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;

use super::BackendError;
use super::manifest::TempTag;

/// Errors of [`QuotaStore`].
#[derive(Debug, thiserror::Error)]
pub enum QuotaStoreError {
    /// The repository (or its namespace) does not exist.
    #[error("repository not found")]
    NotFound,
    /// A lookup row (`notificationkind`) is missing.
    #[error("missing lookup row {0}")]
    MissingLookup(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// How a new manifest changes the size rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SizeAccounting {
    /// Nothing is written (quota management off, `QUOTA_INVALIDATE_TOTALS: false`).
    #[default]
    Off,
    /// Quota management off: the repository's and namespace's started totals are reset
    /// (`size_bytes = 0`, `backfill_start_ms = NULL`, `backfill_complete = false`).
    Invalidate,
    /// `FEATURE_QUOTA_MANAGEMENT`: the new manifest's unique blob sizes are added.
    Track,
}

/// The limits check of a manifest push (`FEATURE_QUOTA_MANAGEMENT` and `FEATURE_VERIFY_QUOTA`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaVerify {
    /// `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES` (0: none).
    pub default_reject_bytes: i64,
    /// The hidden tag keeping a refused new manifest for garbage collection (Quay's
    /// `create_temporary_tag_outside_timemachine`: `lifetime_end_ms = 0`).
    pub reject_tag: TempTag,
}

/// The quota part of a manifest push.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuotaPush {
    /// Size accounting of a new manifest row.
    pub accounting: SizeAccounting,
    /// The limits check, when enabled.
    pub verify: Option<QuotaVerify>,
}

/// What a limits check needs about a repository's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceUsage {
    /// The namespace.
    pub namespace_id: UserId,
    /// Its name.
    pub namespace: String,
    /// `quotanamespacesize.size_bytes` (0 without a row).
    pub size_bytes: i64,
    /// The sum of `blobupload.byte_count` of the repository's uploads in progress (0 unless
    /// asked for).
    pub upload_bytes: i64,
    /// The namespace's quota and thresholds, if one is set.
    pub quota: Option<NamespaceQuota>,
}

/// A user who is notified about a namespace's quota, with the `metadata_json` of their existing
/// notifications of the kind asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    /// The user (an administrator of the organization, or the namespace's user).
    pub user: UserId,
    /// Existing notifications of that kind (dismissed or not), in id order.
    pub existing_metadata: Vec<String>,
}

/// A `notification` row to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// `uuid` (a uuid4).
    pub uuid: String,
    /// `notificationkind.name` (looked up by name).
    pub kind: String,
    /// `target_id`.
    pub target: UserId,
    /// `metadata_json`.
    pub metadata_json: String,
    /// `created`.
    pub created: DateTime<Utc>,
}

/// One size row as stored (tests and reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeRowState {
    /// `size_bytes`.
    pub size_bytes: i64,
    /// `backfill_start_ms`.
    pub backfill_start_ms: Option<i64>,
    /// `backfill_complete`.
    pub backfill_complete: bool,
}

/// Quota reads and the notifications of the push path.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// The namespace usage of `repository`'s namespace; with `with_uploads`, also the bytes of
    /// the repository's uploads in progress (Quay's `verify_namespace_quota_during_upload`).
    ///
    /// # Errors
    /// `NotFound` when the repository does not exist; `Backend`.
    async fn namespace_usage(
        &self,
        repository: RepositoryId,
        with_uploads: bool,
    ) -> Result<NamespaceUsage, QuotaStoreError>;

    /// Who is notified about `namespace` (Quay's `notify_organization_admins`): for an
    /// organization, the distinct non-robot members of its teams with the `admin` role; for a
    /// user, the user. Each comes with their notifications of `kind`.
    ///
    /// # Errors
    /// `MissingLookup` when `kind` is not in `notificationkind`; `Backend`.
    async fn notification_targets(
        &self,
        namespace: UserId,
        kind: &str,
    ) -> Result<Vec<NotificationTarget>, QuotaStoreError>;

    /// Writes notifications (not dismissed, no lookup path).
    ///
    /// # Errors
    /// `MissingLookup` when a kind is not in `notificationkind`; `Backend`.
    async fn create_notifications(
        &self,
        notifications: &[NewNotification],
    ) -> Result<(), QuotaStoreError>;

    /// The `(quotanamespacesize, quotarepositorysize)` rows of `repository` and its namespace.
    ///
    /// # Errors
    /// `NotFound` when the repository does not exist; `Backend`.
    async fn size_rows(
        &self,
        repository: RepositoryId,
    ) -> Result<(Option<SizeRowState>, Option<SizeRowState>), QuotaStoreError>;
}
