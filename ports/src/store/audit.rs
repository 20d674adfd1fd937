//! The audit log: Quay's `logentry3` table (`data/logs_model/table_logs_model.py`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::BackendError;

/// Errors of [`AuditLog`].
#[derive(Debug, thiserror::Error)]
pub enum AuditLogError {
    /// `kind` is not in `logentrykind`.
    #[error("unknown log entry kind {0}")]
    UnknownKind(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// One action log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `logentrykind.name`, e.g. `push_repo`, `pull_repo`, `delete_tag`.
    pub kind: String,
    /// `account_id`: the namespace the action happened in.
    pub account_id: i64,
    /// `performer_id`: the user or robot, `None` for anonymous.
    pub performer_id: Option<i64>,
    /// `repository_id`.
    pub repository_id: Option<i64>,
    /// `datetime`.
    pub datetime: DateTime<Utc>,
    /// `ip`.
    pub ip: Option<String>,
    /// `metadata_json`, already serialised as Python's `json.dumps` writes it.
    pub metadata_json: String,
}

/// The action log.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends an entry.
    ///
    /// # Errors
    /// [`AuditLogError::UnknownKind`]; `Backend`.
    async fn log_action(&self, entry: &AuditEntry) -> Result<(), AuditLogError>;
}
