//! The service key store: Quay's `servicekey` table (keys that sign registry JWTs).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::BackendError;

/// A service key as stored: its JWK and metadata are JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKey {
    /// Key id (`kid`).
    pub kid: String,
    /// Human-readable name.
    pub name: String,
    /// Service the key belongs to, e.g. `quay`.
    pub service: String,
    /// The public JWK, as JSON text.
    pub jwk: String,
    /// Free-form JSON metadata.
    pub metadata: String,
    /// Creation time.
    pub created_date: DateTime<Utc>,
    /// Expiry, if any.
    pub expiration_date: Option<DateTime<Utc>>,
    /// Rotation period in seconds, if any.
    pub rotation_duration: Option<i32>,
}

/// Errors of [`ServiceKeyStore`].
#[derive(Debug, thiserror::Error)]
pub enum ServiceKeyStoreError {
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl ServiceKeyStoreError {
    /// Whether the same call may succeed if retried.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Backend(e) => e.is_retryable(),
        }
    }
}

/// Service keys.
#[async_trait]
pub trait ServiceKeyStore: Send + Sync {
    /// Lists a service's approved keys that have not expired at `now` (Quay's
    /// `list_service_keys`), ordered by `kid`.
    ///
    /// # Errors
    /// [`ServiceKeyStoreError::Backend`] when the database fails.
    async fn list_approved_keys(
        &self,
        service: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceKey>, ServiceKeyStoreError>;
}
