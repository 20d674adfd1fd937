//! The health-probe port: one named check of one dependency (database, storage, disk, auth...).
//!
//! Probes answer Quay's health endpoints (`/health/instance`, `/health/endtoend`). A probe never
//! fails with an error: a dependency that cannot be reached is reported as unhealthy with a
//! message, because the health endpoint must still answer.

use async_trait::async_trait;

/// What one probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeStatus {
    /// Whether the dependency is usable.
    pub healthy: bool,
    /// Why it is not (or a note, such as a skipped check), for logs and debug output only.
    pub message: Option<String>,
}

impl ProbeStatus {
    /// A healthy status without a note.
    pub fn ok() -> Self {
        Self {
            healthy: true,
            message: None,
        }
    }

    /// A healthy status with a note (for example, a check skipped on purpose).
    pub fn ok_with(note: impl Into<String>) -> Self {
        Self {
            healthy: true,
            message: Some(note.into()),
        }
    }

    /// An unhealthy status and its cause.
    pub fn failed(cause: impl Into<String>) -> Self {
        Self {
            healthy: false,
            message: Some(cause.into()),
        }
    }
}

/// One named health check.
#[async_trait]
pub trait HealthProbe: Send + Sync {
    /// The service name as Quay reports it (`database`, `disk_space`, `auth`, ...).
    fn name(&self) -> &'static str;

    /// Runs the check. Implementations bound their own time (Quay uses a few seconds).
    async fn check(&self) -> ProbeStatus;
}
