//! The health probes this process composes (see `quay_application::health`).

use async_trait::async_trait;
use quay_ports::health::{HealthProbe, ProbeStatus};
use std::path::PathBuf;

/// `registry_gunicorn` / `web_gunicorn`: in Python Quay, separate worker pools that the health
/// check calls over HTTP. Here the same process serves registry and web, so the pool that
/// answers the health request is the pool being checked: reaching this code means it serves.
pub struct ServedByThisProcess(pub &'static str);

#[async_trait]
impl HealthProbe for ServedByThisProcess {
    fn name(&self) -> &'static str {
        self.0
    }

    async fn check(&self) -> ProbeStatus {
        ProbeStatus::ok()
    }
}

/// `disk_space`: free space on the data directory and the temp directory stays above a
/// fraction of the volume (Quay's `DISKSPACE_HEALTH_THRESHOLD`, default 1%).
pub struct DiskSpace {
    /// Directories whose volumes are checked.
    pub paths: Vec<PathBuf>,
    /// Minimum free fraction, 0.0..=1.0.
    pub threshold: f64,
}

impl DiskSpace {
    fn free_fraction(path: &std::path::Path) -> Result<f64, String> {
        let stat = nix::sys::statvfs::statvfs(path)
            .map_err(|e| format!("cannot stat the volume of {}: {e}", path.display()))?;
        let total = stat.blocks() as f64;
        if total == 0.0 {
            return Ok(1.0);
        }
        Ok(stat.blocks_available() as f64 / total)
    }
}

#[async_trait]
impl HealthProbe for DiskSpace {
    fn name(&self) -> &'static str {
        "disk_space"
    }

    async fn check(&self) -> ProbeStatus {
        for path in &self.paths {
            match Self::free_fraction(path) {
                Ok(free) if free < self.threshold => {
                    return ProbeStatus::failed(format!(
                        "disk space below threshold on {}: {:.1}% free",
                        path.display(),
                        free * 100.0
                    ));
                }
                Ok(_) => {}
                Err(e) => return ProbeStatus::failed(e),
            }
        }
        ProbeStatus::ok()
    }
}

/// A dependency that this deployment does not use (e.g. Redis in the mirror preset): nothing to
/// fail, reported healthy with a note, as Quay does for checks that do not apply.
pub struct NotConfigured(pub &'static str, pub &'static str);

#[async_trait]
impl HealthProbe for NotConfigured {
    fn name(&self) -> &'static str {
        self.0
    }

    async fn check(&self) -> ProbeStatus {
        ProbeStatus::ok_with(self.1)
    }
}

/// A configured dependency this build cannot reach yet: always unhealthy, saying why, so that a
/// deployment never looks healthy while a part of it is missing.
pub struct Unsupported(pub &'static str, pub String);

#[async_trait]
impl HealthProbe for Unsupported {
    fn name(&self) -> &'static str {
        self.0
    }

    async fn check(&self) -> ProbeStatus {
        ProbeStatus::failed(self.1.clone())
    }
}

/// `database`: the primary answers a query within five seconds.
pub struct DatabaseReachable(pub quay_adapter_db::Database);

#[async_trait]
impl HealthProbe for DatabaseReachable {
    fn name(&self) -> &'static str {
        "database"
    }

    async fn check(&self) -> ProbeStatus {
        match tokio::time::timeout(std::time::Duration::from_secs(5), self.0.ping()).await {
            Ok(Ok(())) => ProbeStatus::ok(),
            Ok(Err(e)) => ProbeStatus::failed(format!("could not query the database: {e}")),
            Err(_) => ProbeStatus::failed("the database did not answer within 5 s"),
        }
    }
}

/// `auth` for Database authentication: accounts live in the database, so the engine is usable
/// when the database is (Quay's `DatabaseUsers.ping` has nothing else to check).
pub struct DatabaseAuth(pub quay_adapter_db::Database);

#[async_trait]
impl HealthProbe for DatabaseAuth {
    fn name(&self) -> &'static str {
        "auth"
    }

    async fn check(&self) -> ProbeStatus {
        let status = DatabaseReachable(self.0.clone()).check().await;
        if status.healthy {
            ProbeStatus::ok()
        } else {
            status
        }
    }
}

/// The `auth` probe for the configured `AUTHENTICATION_TYPE`.
pub fn auth(
    config: &crate::config::QuayConfig,
    db: &quay_adapter_db::Database,
) -> std::sync::Arc<dyn HealthProbe> {
    match &config.auth {
        crate::config::AuthConfig::Database => std::sync::Arc::new(DatabaseAuth(db.clone())),
        other => std::sync::Arc::new(Unsupported(
            "auth",
            format!("authentication engine {other:?} is not implemented by this build of quay-rs"),
        )),
    }
}

/// The `redis` probe: not configured in the mirror preset.
pub fn redis(config: &crate::config::QuayConfig) -> std::sync::Arc<dyn HealthProbe> {
    if config.buildlogs_redis.is_none() {
        std::sync::Arc::new(NotConfigured("redis", "BUILDLOGS_REDIS is not configured"))
    } else {
        std::sync::Arc::new(Unsupported(
            "redis",
            "the Redis client is not implemented by this build of quay-rs".to_owned(),
        ))
    }
}

/// `storage`: the preferred location accepts a small object, returns it and deletes it (Quay
/// validates an engine by writing `_verify` to it). Read-only registries skip the check.
pub struct StorageRoundTrip {
    /// The location's name, for the message.
    pub location: String,
    /// Its driver.
    pub storage: std::sync::Arc<dyn quay_ports::storage::BlobStorage>,
    /// `REGISTRY_STATE: readonly`.
    pub readonly: bool,
}

#[async_trait]
impl HealthProbe for StorageRoundTrip {
    fn name(&self) -> &'static str {
        "storage"
    }

    async fn check(&self) -> ProbeStatus {
        if self.readonly {
            return ProbeStatus::ok_with("storage check disabled for readonly mode");
        }
        let path = "_verify";
        let body = quay_ports::storage::stream::once(bytes_of("testing 123"));
        let work = async {
            self.storage.put(path, body, Some(11)).await?;
            let back = self.storage.get_bytes(path, 64).await?;
            self.storage.delete(path).await?;
            Ok::<_, quay_ports::storage::StorageError>(back)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), work).await {
            Ok(Ok(back)) if back.as_ref() == b"testing 123" => ProbeStatus::ok(),
            Ok(Ok(_)) => ProbeStatus::failed(format!(
                "storage {} returned other bytes than written",
                self.location
            )),
            Ok(Err(e)) => ProbeStatus::failed(format!("storage {} failed: {e}", self.location)),
            Err(_) => ProbeStatus::failed(format!(
                "storage {} did not answer within 10 s",
                self.location
            )),
        }
    }
}

fn bytes_of(s: &'static str) -> &'static [u8] {
    s.as_bytes()
}

/// The `storage` probe for the preferred (upload) location.
pub fn storage(
    config: &crate::config::QuayConfig,
    storage: &quay_adapter_storage::DistributedStorage,
) -> std::sync::Arc<dyn HealthProbe> {
    let readonly = config.registry_state == crate::config::RegistryState::Readonly;
    let preferred = config
        .storage
        .preference
        .first()
        .cloned()
        .or_else(|| storage.location_names().first().map(|s| (*s).to_owned()));
    match preferred.and_then(|name| storage.location(&name).map(|s| (name, s.clone()))) {
        Some((location, storage)) => std::sync::Arc::new(StorageRoundTrip {
            location,
            storage,
            readonly,
        }),
        None => std::sync::Arc::new(Unsupported(
            "storage",
            "no storage location is configured".to_owned(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn disk_space_thresholds() {
        let dir = tempfile::tempdir().unwrap();
        let ok = DiskSpace {
            paths: vec![dir.path().into()],
            threshold: 0.0,
        };
        assert!(ok.check().await.healthy);
        let impossible = DiskSpace {
            paths: vec![dir.path().into()],
            threshold: 1.01,
        };
        let status = impossible.check().await;
        assert!(!status.healthy);
        assert!(status.message.unwrap().contains("below threshold"));
    }
}
