//! Pull counting for `/v2` (`FEATURE_IMAGE_PULL_STATS`): the Redis adapter on Quay's
//! `PULL_METRICS_REDIS` (Quay's default `{"host": "localhost", "db": 1}`; when it is set empty,
//! the older `PULL_METRICS_REDIS_HOSTNAME`), as Python Quay's `util/pullmetrics.py` reads them,
//! and the flush worker that moves the counters into the statistics tables
//! (`REDIS_FLUSH_INTERVAL_SECONDS`, `REDIS_FLUSH_WORKER_BATCH_SIZE`).
//!
//! Difference kept on purpose: Quay's flush worker reads database 1 when the map has no `db`
//! while its pull counting writes database 0 (redis-py's default), so such a setup never
//! flushes; quay-rs reads and writes the same database.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use quay_adapter_redis::{RedisParams, RedisPullCounters, RedisPullMetrics};
use quay_application::workers::pull_stats_flush::{FlushSettings, PullStatsFlush};
use quay_ports::pull_metrics::PullMetrics;
use quay_ports::store::PullStatisticsStore;
use secrecy::ExposeSecret as _;

use crate::config::QuayConfig;

/// Quay's pull-metrics connect and socket timeout.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The connection Quay's pull metrics use.
fn params(config: &QuayConfig) -> Result<RedisParams> {
    let base = |host: String, db: i64| RedisParams {
        host,
        port: 6379,
        db,
        username: None,
        password: None,
        ssl: false,
        timeout: TIMEOUT,
    };
    let raw = config.effective.get("PULL_METRICS_REDIS");
    if let Some(r) = &config.pull_metrics_redis {
        return Ok(RedisParams {
            host: r.host.clone(),
            port: r.port,
            db: r
                .db
                .map(i64::try_from)
                .transpose()
                .map_err(|_| anyhow::anyhow!("PULL_METRICS_REDIS.db is out of range"))?
                .unwrap_or(0),
            username: r.username.clone(),
            password: r.password.as_ref().map(|p| p.expose_secret().to_owned()),
            ssl: r.ssl,
            timeout: TIMEOUT,
        });
    }
    Ok(match raw {
        None => base("localhost".to_owned(), 1),
        // Set but empty (`null`, `{}`): Quay falls back to the old key (redis-py's default
        // host when that is unset too).
        Some(_) => base(
            config
                .effective
                .get("PULL_METRICS_REDIS_HOSTNAME")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("localhost")
                .to_owned(),
            0,
        ),
    })
}

/// The pull counter when `FEATURE_IMAGE_PULL_STATS` is on; starts its sender task on the
/// current runtime. Redis is connected on the first pull, so a Redis down at start is no error.
///
/// # Errors
/// Unusable `PULL_METRICS_REDIS` settings.
pub fn pull_metrics(config: &QuayConfig) -> Result<Option<Arc<dyn PullMetrics>>> {
    if !config.features.image_pull_stats {
        return Ok(None);
    }
    let params = params(config)?;
    tracing::info!(
        redis.host = %params.host,
        redis.port = params.port,
        redis.db = params.db,
        "pull statistics are counted in Redis"
    );
    let metrics =
        RedisPullMetrics::start(&params).map_err(|e| anyhow::anyhow!("PULL_METRICS_REDIS: {e}"))?;
    Ok(Some(Arc::new(metrics)))
}

/// The flush worker when `FEATURE_IMAGE_PULL_STATS` is on.
///
/// # Errors
/// Unusable `PULL_METRICS_REDIS` settings.
pub fn flush_worker(
    config: &QuayConfig,
    store: Arc<dyn PullStatisticsStore>,
) -> Result<Option<PullStatsFlush>> {
    if !config.features.image_pull_stats {
        return Ok(None);
    }
    let counters = RedisPullCounters::new(&params(config)?)
        .map_err(|e| anyhow::anyhow!("PULL_METRICS_REDIS: {e}"))?;
    let get = |key: &str| {
        config
            .effective
            .get(key)
            .and_then(serde_json::Value::as_u64)
    };
    let defaults = FlushSettings::default();
    let settings = FlushSettings {
        interval: get("REDIS_FLUSH_INTERVAL_SECONDS")
            .map_or(defaults.interval, |s| Duration::from_secs(s.max(1))),
        batch_size: get("REDIS_FLUSH_WORKER_BATCH_SIZE")
            .and_then(|n| usize::try_from(n).ok())
            .map_or(defaults.batch_size, |n| n.max(1)),
    };
    Ok(Some(PullStatsFlush::new(
        Arc::new(counters),
        store,
        Arc::new(crate::clock::SystemClock),
        Arc::new(quay_fips::OpenSslRandom),
        settings,
    )))
}
