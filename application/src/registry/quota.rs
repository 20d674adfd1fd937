//! Namespace quota on the push path (Quay's `endpoints/v2/blob.py` and `manifest.py` checks with
//! `data/model/namespacequota.py`; rules in [`quay_domain::quota`]).
//!
//! - Blob uploads, with `FEATURE_QUOTA_MANAGEMENT` and `FEATURE_VERIFY_QUOTA`: `POST` checks the
//!   namespace size before anything else (mount included); `PATCH` and `PUT` check the namespace
//!   size plus the bytes of the repository's uploads in progress, and a refusal also cancels the
//!   upload (chunks and row). A `Reject` answers `DENIED` 403 "Quota has been exceeded on
//!   namespace" and notifies the namespace's administrators (`quota_error`, metadata
//!   `{"severity": "Reject", "namespace": …}`).
//! - Manifests: the size accounting and the check run inside the push transaction
//!   ([`quay_ports::store::QuotaPush`]); a `Reject` notifies `quota_error` (`{"namespace": …}`), a
//!   `Warning` notifies `quota_warning` and lets the push through. Schema 2 and OCI manifests
//!   pushed by digest are counted but not checked (Quay's `create_manifest_with_temp_tag`).
//! - Notifications are written once per administrator: not when one of the same kind already
//!   holds the same metadata (dismissed or not). No `logentry3` row is written for a refusal.
//! - With `FEATURE_QUOTA_NOTIFICATIONS`, an upload check reaching a `Warning` or `Reject` limit
//!   also notifies the namespace's notification channels ([`crate::quota_notify`]), before the
//!   administrators' notification of a refusal, as Quay's `maybe_trigger_quota_notification`.
//! - With `FEATURE_QUOTA_SUPPRESS_FAILURES`, a failure of a new manifest's size accounting is
//!   logged and the push goes on ([`QuotaPush::suppress_failures`]).

use quay_domain::manifest::ParsedManifest;
use quay_domain::quota::namespace_notice::Performer;
use quay_domain::quota::{QuotaNotice, check_limits, metadata_json, metadata_matches};
use quay_domain::reference::Reference;
use quay_domain::registry_error::ErrorKind;
use quay_domain::repository::Repository;
use quay_ports::storage::UploadState;
use quay_ports::store::{
    NamespaceUsage, NewNotification, QuotaPush, QuotaVerify, SizeAccounting, TempTag, UploadRecord,
};

use super::{Caller, Registry, RegistryFailure};
use crate::quota_notify::{QuotaNoticeSettings, QuotaNotifier};

/// Quay's quota keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaSettings {
    /// `FEATURE_QUOTA_MANAGEMENT` (default false): sizes are tracked and limits apply.
    pub management: bool,
    /// `FEATURE_VERIFY_QUOTA` (default true): pushes are checked against the limits.
    pub verify: bool,
    /// `QUOTA_INVALIDATE_TOTALS` (default true): with management off, new manifests mark the
    /// stored totals stale for the backfill worker.
    pub invalidate_totals: bool,
    /// `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES` (default 0, none): the limit of namespaces without
    /// a quota.
    pub default_reject_bytes: i64,
    /// `FEATURE_QUOTA_SUPPRESS_FAILURES` (default false): a failure of the size accounting of a
    /// new manifest is logged and the push goes on (Quay's `update_quota`).
    pub suppress_failures: bool,
    /// `FEATURE_QUOTA_NOTIFICATIONS` and its keys: notices to the namespace's notification
    /// channels when an upload check reaches a threshold.
    pub notices: QuotaNoticeSettings,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        Self {
            management: false,
            verify: true,
            invalidate_totals: true,
            default_reject_bytes: 0,
            suppress_failures: false,
            notices: QuotaNoticeSettings::default(),
        }
    }
}

impl QuotaSettings {
    fn checks(&self) -> bool {
        self.management && self.verify
    }
}

/// Whether a manifest push is checked against the limits: by tag, or a schema 1 manifest
/// (which names its tag).
fn checked_push(reference: &Reference, parsed: &ParsedManifest) -> bool {
    matches!(reference, Reference::Tag(_)) || matches!(parsed, ParsedManifest::Schema1(_))
}

fn quota_exceeded() -> RegistryFailure {
    RegistryFailure::kind(ErrorKind::QuotaExceeded)
}

impl Registry {
    /// The quota part of a manifest push: its accounting and, when enabled, the check with an
    /// expired `$temp-` tag for a refused new manifest. As in Quay, a schema 2 or OCI manifest
    /// pushed by digest (a list's child) is counted but never refused.
    pub(super) fn quota_push(
        &self,
        now_ms: i64,
        reference: &Reference,
        parsed: &ParsedManifest,
    ) -> Result<QuotaPush, RegistryFailure> {
        let q = &self.settings.quota;
        let checked = checked_push(reference, parsed);
        let accounting = if q.management {
            SizeAccounting::Track
        } else if q.invalidate_totals {
            SizeAccounting::Invalidate
        } else {
            SizeAccounting::Off
        };
        let verify = if q.checks() && checked {
            Some(QuotaVerify {
                default_reject_bytes: q.default_reject_bytes,
                reject_tag: TempTag {
                    name: format!("$temp-{}", self.uuid4()?),
                    now_ms,
                    end_ms: Some(0),
                },
            })
        } else {
            None
        };
        Ok(QuotaPush {
            accounting,
            verify,
            suppress_failures: q.suppress_failures,
        })
    }

    /// The check before an upload starts (`upload: None`) or takes a chunk: a `Warning` or
    /// `Reject` limit reached notifies the namespace's channels (`FEATURE_QUOTA_NOTIFICATIONS`);
    /// a `Reject` refuses with `DENIED` 403, cancelling `upload`.
    pub(super) async fn check_upload_quota(
        &self,
        caller: &Caller,
        repo: &Repository,
        upload: Option<&UploadRecord>,
    ) -> Result<(), RegistryFailure> {
        if !self.settings.quota.checks() {
            return Ok(());
        }
        let usage = self.namespace_usage(repo, upload.is_some()).await?;
        let size = usage.size_bytes.saturating_add(usage.upload_bytes);
        let check = check_limits(
            usage.quota.as_ref(),
            self.settings.quota.default_reject_bytes,
            size,
        );
        if self.settings.quota.notices.enabled && (check.warns() || check.rejects()) {
            let notifier = QuotaNotifier::new(
                self.ports.quota.clone(),
                self.ports.clock.clone(),
                self.settings.quota.notices.clone(),
            );
            notifier
                .trigger(usage.namespace_id, &usage.namespace, &check, || async {
                    match self.performer(caller).await {
                        Ok(account) => account.map(|a| Performer {
                            id: a.id.0,
                            username: a.username,
                        }),
                        Err(_) => None,
                    }
                })
                .await;
        }
        if !check.rejects() {
            return Ok(());
        }
        tracing::info!(repo.namespace = %usage.namespace, quota.usage_bytes = size, quota.limit_bytes = check.limit_bytes, "upload refused: namespace quota exceeded");
        self.notify_quota(&usage, QuotaNotice::Error, Some("Reject"))
            .await;
        if let Some(upload) = upload {
            let state = UploadState {
                upload_id: upload.uuid.clone(),
                metadata: upload.storage_metadata.clone(),
            };
            if let Err(e) = self.ports.storage.cancel_upload(&state).await {
                tracing::warn!(upload.id = %upload.uuid, error = %e, "could not remove a refused upload's chunks");
            }
            self.ports
                .uploads
                .delete_upload(repo.id, &upload.uuid)
                .await
                .map_err(|e| RegistryFailure::internal("deleting a refused upload", e))?;
        }
        Err(quota_exceeded())
    }

    /// A manifest push the store refused over quota: notifies and answers `DENIED` 403.
    pub(super) async fn manifest_quota_refused(&self, repo: &Repository) -> RegistryFailure {
        match self.namespace_usage(repo, false).await {
            Ok(usage) => {
                tracing::info!(repo.namespace = %usage.namespace, quota.usage_bytes = usage.size_bytes, "manifest push refused: namespace quota exceeded");
                self.notify_quota(&usage, QuotaNotice::Error, None).await;
            }
            Err(e) => tracing::warn!(error = %e, "could not read the namespace quota"),
        }
        quota_exceeded()
    }

    /// After a checked manifest push went through: a `Warning` limit reached notifies.
    pub(super) async fn manifest_quota_pushed(
        &self,
        repo: &Repository,
        reference: &Reference,
        parsed: &ParsedManifest,
    ) {
        if !self.settings.quota.checks() || !checked_push(reference, parsed) {
            return;
        }
        let usage = match self.namespace_usage(repo, false).await {
            Ok(u) => u,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the namespace quota");
                return;
            }
        };
        let check = check_limits(
            usage.quota.as_ref(),
            self.settings.quota.default_reject_bytes,
            usage.size_bytes,
        );
        if check.warns() {
            self.notify_quota(&usage, QuotaNotice::Warning, None).await;
        }
    }

    async fn namespace_usage(
        &self,
        repo: &Repository,
        with_uploads: bool,
    ) -> Result<NamespaceUsage, RegistryFailure> {
        self.ports
            .quota
            .namespace_usage(repo.id, with_uploads)
            .await
            .map_err(|e| RegistryFailure::internal("reading the namespace quota", e))
    }

    /// Quay's `notify_organization_admins`; failures are logged, never answered.
    async fn notify_quota(
        &self,
        usage: &NamespaceUsage,
        notice: QuotaNotice,
        severity: Option<&str>,
    ) {
        if let Err(e) = self.try_notify_quota(usage, notice, severity).await {
            tracing::warn!(repo.namespace = %usage.namespace, error = %e, "could not write quota notifications");
        }
    }

    async fn try_notify_quota(
        &self,
        usage: &NamespaceUsage,
        notice: QuotaNotice,
        severity: Option<&str>,
    ) -> Result<(), RegistryFailure> {
        let pairs = quay_domain::quota::notice_metadata(&usage.namespace, severity);
        let targets = self
            .ports
            .quota
            .notification_targets(usage.namespace_id, notice.kind())
            .await
            .map_err(|e| RegistryFailure::internal("reading notification targets", e))?;
        let json = metadata_json(&pairs);
        let now = self.now();
        let mut new = Vec::new();
        for target in targets {
            if target
                .existing_metadata
                .iter()
                .any(|m| metadata_matches(m, &pairs))
            {
                continue;
            }
            new.push(NewNotification {
                uuid: self.uuid4()?,
                kind: notice.kind().to_owned(),
                target: target.user,
                metadata_json: json.clone(),
                created: now,
            });
        }
        self.ports
            .quota
            .create_notifications(&new)
            .await
            .map_err(|e| RegistryFailure::internal("writing notifications", e))
    }
}
