//! Writes of Quay's `servicekey` table for the instance service key (Quay's `boot.py`
//! `setup_instance_service_key` and the service key worker's renewal).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{BackendError, ServiceKey};

/// A key to register, approved automatically as Quay approves its instance keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstanceKey {
    /// `kid`: the RFC 7638 thumbprint.
    pub kid: String,
    /// `name`: Quay writes the instance's URL (`<scheme>://<host:port>`).
    pub name: String,
    /// `service`, e.g. `quay`.
    pub service: String,
    /// The public JWK as JSON text.
    pub jwk: String,
    /// Metadata as JSON text (Quay: `{"created_by": "CLI tool"}`).
    pub metadata: String,
    /// Now: `created_date` and the approval's `approved_date`.
    pub created_at: DateTime<Utc>,
    /// `expiration_date`.
    pub expires_at: Option<DateTime<Utc>>,
    /// Expired keys older than this are deleted first (`EXPIRED_SERVICE_KEY_TTL_SEC`).
    pub expired_ttl_s: i64,
    /// Unapproved keys older than this are deleted first (`UNAPPROVED_SERVICE_KEY_TTL_SEC`).
    pub unapproved_ttl_s: i64,
}

/// Errors of [`InstanceKeyStore`].
#[derive(Debug, thiserror::Error)]
pub enum InstanceKeyStoreError {
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl InstanceKeyStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
        }
    }
}

/// The instance key's rows.
#[async_trait]
pub trait InstanceKeyStore: Send + Sync {
    /// In one transaction: deletes the service's stale keys (expired longer than
    /// `expired_ttl_s` ago, unapproved and older than `unapproved_ttl_s`), inserts a
    /// `servicekeyapproval` of type `Automatic` without approver, and inserts the key approved by
    /// it.
    ///
    /// # Errors
    /// [`InstanceKeyStoreError::Backend`] when the database fails (e.g. a duplicate `kid`).
    async fn register_instance_key(&self, key: NewInstanceKey)
    -> Result<(), InstanceKeyStoreError>;

    /// Finds a key by `kid` in any state.
    ///
    /// # Errors
    /// [`InstanceKeyStoreError::Backend`] when the database fails. No key is `Ok(None)`.
    async fn find_key(&self, kid: &str) -> Result<Option<ServiceKey>, InstanceKeyStoreError>;

    /// Sets a key's `expiration_date`; `Ok(false)` when no key has this `kid`.
    ///
    /// # Errors
    /// [`InstanceKeyStoreError::Backend`] when the database fails.
    async fn set_key_expiration(
        &self,
        kid: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, InstanceKeyStoreError>;
}
