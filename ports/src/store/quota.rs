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
//!   the push fails with [`super::ManifestStoreError::QuotaExceeded`];
//! - rows a push cannot maintain (missing with other manifests in scope, or reset) are computed
//!   by the backfill worker ([`QuotaStore::backfill_namespace`]);
//! - a namespace's notification channels get at most one notice per threshold per cooldown
//!   until the threshold is cleared ([`QuotaStore::claim_quota_notice`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::quota::NamespaceQuota;
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;

use super::BackendError;
use super::manifest::TempTag;
use crate::queue::NewQueueItem;

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
    /// `FEATURE_QUOTA_SUPPRESS_FAILURES` (Quay's `update_quota`): a failure of the
    /// [`SizeAccounting::Track`] step is logged and the push goes on without it (the step's
    /// writes are rolled back to a savepoint); otherwise it fails the push.
    pub suppress_failures: bool,
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

/// What the backfill of one namespace did (Quay's `run_backfill`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BackfillOutcome {
    /// The namespace total written, when the namespace row needed its backfill.
    pub namespace_total: Option<i64>,
    /// The repository totals written, in repository id order.
    pub repositories: Vec<(RepositoryId, i64)>,
    /// The pass over the repositories stopped at one deleted or marked for deletion since it
    /// was listed (Quay returns there; the namespace is picked up again only once its row is
    /// reset).
    pub stopped_at_deleted: bool,
}

/// A quota notice for a namespace's notification channels (Quay's `claim_notification`
/// followed by `spawn_namespace_notification`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaNoticeClaim {
    /// The namespace.
    pub namespace: UserId,
    /// The threshold crossed (`quotanotificationstate.threshold_percent`).
    pub threshold_percent: i64,
    /// `last_notified_at` to write, and the reference for the cooldown.
    pub now: DateTime<Utc>,
    /// `QUOTA_NOTIFICATION_COOLDOWN_SECONDS`: a notice sent less than this long ago and not
    /// cleared since blocks a new one.
    pub cooldown: std::time::Duration,
    /// The `notification` queue items, one per channel, put when the claim succeeds.
    pub items: Vec<NewQueueItem>,
}

/// Quota reads and the notifications of the push path. Its supertraits are the slices the
/// workers use, so that each takes (and each test fake implements) only what it calls.
#[async_trait]
pub trait QuotaStore: QuotaBackfillStore + QuotaNoticeStore {
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

/// The quota backfill (Quay's `quotatotalworker`).
#[async_trait]
pub trait QuotaBackfillStore: Send + Sync {
    /// Up to `limit` namespaces for the backfill worker (Quay's `QuotaTotalWorker.backfill`):
    /// enabled, non-robot users and organizations without a `quotanamespacesize` row whose
    /// backfill started (`backfill_start_ms` set), in id order.
    ///
    /// # Errors
    /// `Backend`.
    async fn backfill_candidates(&self, limit: usize) -> Result<Vec<UserId>, QuotaStoreError>;

    /// Quay's `run_backfill` for `namespace`: a namespace row that is missing, or reset (not
    /// complete, no start), is marked started at `now_ms` with size 0 (committed on its own, so
    /// pushes leave it alone), then gets the sum of the distinct blobs its repositories'
    /// manifests reference and is marked complete. Then, in id order, each repository of the
    /// namespace not marked for deletion gets the same treatment with its own distinct blobs;
    /// the pass stops at a repository deleted or marked for deletion meanwhile. A row another
    /// worker marked started first is left to it.
    ///
    /// # Errors
    /// `Backend`.
    async fn backfill_namespace(
        &self,
        namespace: UserId,
        now_ms: i64,
    ) -> Result<BackfillOutcome, QuotaStoreError>;
}

/// Quota notices through namespace notification channels (`FEATURE_QUOTA_NOTIFICATIONS`).
#[async_trait]
pub trait QuotaNoticeStore: Send + Sync {
    /// The `uuid`s of `namespace`'s notification channels (`namespacenotification`) for the
    /// event named `event` (`externalnotificationevent.name`), in id order.
    ///
    /// # Errors
    /// `Backend`.
    async fn namespace_notification_uuids(
        &self,
        namespace: UserId,
        event: &str,
    ) -> Result<Vec<String>, QuotaStoreError>;

    /// In one transaction: claims the `quotanotificationstate` slot of the namespace and
    /// threshold (a new row, or one that is cleared, never notified, or notified at or before
    /// `now - cooldown`; set to `last_notified_at = now`, `cleared = false`) and, when claimed,
    /// puts the items on the work queue, available at once. `false` when the slot is taken
    /// (nothing written).
    ///
    /// # Errors
    /// `Backend`.
    async fn claim_quota_notice(&self, claim: &QuotaNoticeClaim) -> Result<bool, QuotaStoreError>;

    /// Quay's `clear_notification`: marks the namespace's slot for `threshold_percent` cleared;
    /// `true` when a slot that was not cleared changed.
    ///
    /// # Errors
    /// `Backend`.
    async fn clear_quota_notice(
        &self,
        namespace: UserId,
        threshold_percent: i64,
    ) -> Result<bool, QuotaStoreError>;

    /// Namespaces with at least one notification channel, in id order.
    ///
    /// # Errors
    /// `Backend`.
    async fn notified_namespaces(&self) -> Result<Vec<UserId>, QuotaStoreError>;

    /// The usage of a namespace by id (`upload_bytes` 0); `None` when it does not exist.
    ///
    /// # Errors
    /// `Backend`.
    async fn namespace_usage_of(
        &self,
        namespace: UserId,
    ) -> Result<Option<NamespaceUsage>, QuotaStoreError>;
}
