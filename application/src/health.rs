//! Health of this instance and of the whole deployment, as Quay's `health/` computes it.
//!
//! Quay's default checker (`LocalHealthCheck`) runs, for `/health/instance`, the instance
//! services (`registry_gunicorn`, `web_gunicorn`, `service_key`, `disk_space`) plus the global
//! ones except `redis` and `storage`; for `/health/endtoend`, the global services (`database`,
//! `redis`, `storage`, `auth`). The answer is healthy only when every service is.

use quay_ports::health::{HealthProbe, ProbeStatus};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The outcome of one health endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// Every service checked, by name, with its status.
    pub services: BTreeMap<&'static str, ProbeStatus>,
}

impl HealthReport {
    /// True when every service is healthy.
    pub fn healthy(&self) -> bool {
        self.services.values().all(|s| s.healthy)
    }

    /// The HTTP status Quay answers with: 200 when healthy, 503 otherwise.
    pub fn status_code(&self) -> u16 {
        if self.healthy() { 200 } else { 503 }
    }
}

/// Runs the probes of the two health endpoints.
#[derive(Clone, Default)]
pub struct HealthService {
    instance: Vec<Arc<dyn HealthProbe>>,
    endtoend: Vec<Arc<dyn HealthProbe>>,
}

impl HealthService {
    /// Probes for `/health/instance` and for `/health/endtoend`.
    pub fn new(instance: Vec<Arc<dyn HealthProbe>>, endtoend: Vec<Arc<dyn HealthProbe>>) -> Self {
        Self { instance, endtoend }
    }

    /// The check behind `/health/instance` (and `/health`).
    pub async fn check_instance(&self) -> HealthReport {
        run(&self.instance).await
    }

    /// The check behind `/health/endtoend` (and `/status`).
    pub async fn check_endtoend(&self) -> HealthReport {
        run(&self.endtoend).await
    }
}

async fn run(probes: &[Arc<dyn HealthProbe>]) -> HealthReport {
    let results = futures_util::future::join_all(
        probes
            .iter()
            .map(|p| async move { (p.name(), p.check().await) }),
    )
    .await;
    let services = results.into_iter().collect();
    let report = HealthReport { services };
    if !report.healthy() {
        let failed: Vec<String> = report
            .services
            .iter()
            .filter(|(_, s)| !s.healthy)
            .map(|(n, s)| format!("{n}: {}", s.message.as_deref().unwrap_or("unhealthy")))
            .collect();
        tracing::warn!(health.failed = ?failed, "failed health check");
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    struct Fixed(&'static str, bool);

    #[async_trait]
    impl HealthProbe for Fixed {
        fn name(&self) -> &'static str {
            self.0
        }
        async fn check(&self) -> ProbeStatus {
            if self.1 {
                ProbeStatus::ok()
            } else {
                ProbeStatus::failed("down")
            }
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures_util::FutureExt::now_or_never(f).expect("probes here never wait")
    }

    #[test]
    fn all_healthy_is_200() {
        let svc = HealthService::new(
            vec![
                Arc::new(Fixed("database", true)),
                Arc::new(Fixed("disk_space", true)),
            ],
            vec![],
        );
        let report = block_on(svc.check_instance());
        assert_eq!(report.status_code(), 200);
        assert_eq!(report.services.len(), 2);
    }

    #[test]
    fn one_unhealthy_is_503_and_named() {
        let svc = HealthService::new(
            vec![],
            vec![
                Arc::new(Fixed("database", true)),
                Arc::new(Fixed("storage", false)),
            ],
        );
        let report = block_on(svc.check_endtoend());
        assert_eq!(report.status_code(), 503);
        assert!(!report.services["storage"].healthy);
        assert!(report.services["database"].healthy);
    }
}
