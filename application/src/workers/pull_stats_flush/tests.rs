//! The flush pass against in-memory counters and statistics.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use quay_ports::crypto::RandomError;
use quay_ports::pull_metrics::PullCountersError;
use quay_ports::store::{BackendError, BackendErrorKind, PullStatisticsStoreError};

use super::*;
use crate::registry_auth::fakes::ManualClock;

#[derive(Default)]
struct MemoryCounters(Mutex<BTreeMap<String, Vec<(String, String)>>>);

impl MemoryCounters {
    fn put(&self, key: &str, fields: &[(&str, &str)]) {
        self.0.lock().expect("lock").insert(
            key.to_owned(),
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
    }

    fn keys(&self) -> Vec<String> {
        self.0.lock().expect("lock").keys().cloned().collect()
    }
}

#[async_trait]
impl PullCounters for MemoryCounters {
    async fn scan(&self, limit: usize) -> Result<Vec<String>, PullCountersError> {
        Ok(self
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("pull_events:"))
            .take(limit)
            .collect())
    }

    async fn claim(&self, key: &str, to: &str) -> Result<bool, PullCountersError> {
        let mut map = self.0.lock().expect("lock");
        Ok(match map.remove(key) {
            Some(v) => {
                map.insert(to.to_owned(), v);
                true
            }
            None => false,
        })
    }

    async fn read(&self, key: &str) -> Result<Vec<(String, String)>, PullCountersError> {
        Ok(self
            .0
            .lock()
            .expect("lock")
            .get(key)
            .cloned()
            .unwrap_or_default())
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, PullCountersError> {
        let mut map = self.0.lock().expect("lock");
        Ok(keys.iter().filter(|k| map.remove(*k).is_some()).count() as u64)
    }
}

#[derive(Default)]
struct MemoryStats {
    tags: Mutex<Vec<TagPullUpdate>>,
    manifests: Mutex<Vec<ManifestPullUpdate>>,
    fail: Mutex<bool>,
}

#[async_trait]
impl PullStatisticsStore for MemoryStats {
    async fn upsert_tag_statistics(
        &self,
        updates: &[TagPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError> {
        if *self.fail.lock().expect("lock") {
            return Err(BackendError::msg(BackendErrorKind::Unavailable, "database down").into());
        }
        self.tags.lock().expect("lock").extend_from_slice(updates);
        Ok(updates.len() as u64)
    }

    async fn upsert_manifest_statistics(
        &self,
        updates: &[ManifestPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError> {
        self.manifests
            .lock()
            .expect("lock")
            .extend_from_slice(updates);
        Ok(updates.len() as u64)
    }
}

struct Fixed;

impl SecureRandom for Fixed {
    fn fill(&self, buf: &mut [u8]) -> Result<(), RandomError> {
        buf.fill(0xab);
        Ok(())
    }

    fn token_urlsafe(&self, _n_bytes: usize) -> Result<String, RandomError> {
        Ok(String::new())
    }

    fn string_from(&self, _alphabet: &[u8], _len: usize) -> Result<String, RandomError> {
        Ok(String::new())
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    futures_util::FutureExt::now_or_never(f).expect("fakes never wait")
}

const D1: &str = "sha256:aa";
const D2: &str = "sha256:bb";

fn tag_counter(
    repo: &str,
    tag: &str,
    digest: &str,
    count: &str,
    ts: &str,
) -> Vec<(String, String)> {
    [
        ("repository_id", repo),
        ("tag_name", tag),
        ("manifest_digest", digest),
        ("pull_count", count),
        ("last_pull_timestamp", ts),
        ("pull_method", "tag"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect()
}

fn setup() -> (Arc<MemoryCounters>, Arc<MemoryStats>, PullStatsFlush) {
    let counters = Arc::new(MemoryCounters::default());
    let stats = Arc::new(MemoryStats::default());
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("valid");
    let flush = PullStatsFlush::new(
        counters.clone(),
        stats.clone(),
        Arc::new(ManualClock::new(now)),
        Arc::new(Fixed),
        FlushSettings::default(),
    );
    (counters, stats, flush)
}

fn at(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).expect("valid")
}

#[test]
fn aggregates_and_deletes_flushed_counters() {
    let (counters, stats, flush) = setup();
    let put = |key: &str, fields: Vec<(String, String)>| {
        counters
            .0
            .lock()
            .expect("lock")
            .insert(key.to_owned(), fields);
    };
    put(
        "pull_events:repo:1:tag:v1:sha256:aa",
        tag_counter("1", "v1", D1, "2", "100"),
    );
    put(
        "pull_events:repo:1:tag:v1:sha256:bb",
        tag_counter("1", "v1", D2, "3", "200"),
    );
    counters.put(
        "pull_events:repo:1:digest:sha256:aa",
        &[
            ("repository_id", "1"),
            ("manifest_digest", D1),
            ("pull_count", "4"),
            ("last_pull_timestamp", "150"),
            ("pull_method", "digest"),
            ("tag_name", ""),
        ],
    );
    // Left by a pass that died after claiming: taken again as it is.
    put(
        "pull_events:repo:2:tag:x:sha256:aa:processing:1:abcd0123",
        tag_counter("2", "x", D1, "1", "50"),
    );
    let report = block_on(flush.flush_once());
    assert_eq!(
        report,
        FlushReport {
            tags: 2,
            manifests: 3,
            flushed_keys: 4,
            discarded_keys: 0,
            write_failed: false,
        }
    );
    assert!(counters.keys().is_empty());
    let tags = stats.tags.lock().expect("lock").clone();
    assert_eq!(
        tags,
        [
            TagPullUpdate {
                repository_id: 1,
                tag_name: "v1".into(),
                manifest_digest: D2.into(),
                pull_count: 5,
                last_pull: at(200),
            },
            TagPullUpdate {
                repository_id: 2,
                tag_name: "x".into(),
                manifest_digest: D1.into(),
                pull_count: 1,
                last_pull: at(50),
            },
        ]
    );
    let manifests = stats.manifests.lock().expect("lock").clone();
    assert_eq!(
        manifests,
        [
            ManifestPullUpdate {
                repository_id: 1,
                manifest_digest: D1.into(),
                pull_count: 6,
                last_pull: at(150),
            },
            ManifestPullUpdate {
                repository_id: 1,
                manifest_digest: D2.into(),
                pull_count: 3,
                last_pull: at(200),
            },
            ManifestPullUpdate {
                repository_id: 2,
                manifest_digest: D1.into(),
                pull_count: 1,
                last_pull: at(50),
            },
        ]
    );
}

#[test]
fn malformed_counters_are_discarded() {
    let (counters, stats, flush) = setup();
    for (i, fields) in [
        tag_counter("0", "v", D1, "1", "100"),
        tag_counter("1", "v", "nodigest", "1", "100"),
        tag_counter("1", "v", D1, "0", "100"),
        tag_counter("1", "v", D1, "x", "100"),
        tag_counter("1", "v", D1, "1", "-5"),
        tag_counter("1", "v", D1, "1", "0"),
        Vec::new(),
    ]
    .into_iter()
    .enumerate()
    {
        counters
            .0
            .lock()
            .expect("lock")
            .insert(format!("pull_events:repo:1:tag:v:{i}"), fields);
    }
    counters.put("other:key", &[("pull_count", "1")]);
    let report = block_on(flush.flush_once());
    assert_eq!(report.discarded_keys, 7);
    assert_eq!(report.flushed_keys, 0);
    assert_eq!(counters.keys(), ["other:key"]);
    assert!(stats.tags.lock().expect("lock").is_empty());
}

#[test]
fn a_failed_write_keeps_the_claimed_counters() {
    let (counters, stats, flush) = setup();
    counters.0.lock().expect("lock").insert(
        "pull_events:repo:1:tag:v1:sha256:aa".into(),
        tag_counter("1", "v1", D1, "2", "100"),
    );
    *stats.fail.lock().expect("lock") = true;
    let report = block_on(flush.flush_once());
    assert!(report.write_failed);
    // Claimed under Quay's processing name: `<key>:processing:<ms>:<8 hex>`.
    assert_eq!(
        counters.keys(),
        ["pull_events:repo:1:tag:v1:sha256:aa:processing:1800000000000:abababab"]
    );
    // The next pass takes the claimed counter as it is.
    *stats.fail.lock().expect("lock") = false;
    let report = block_on(flush.flush_once());
    assert_eq!((report.tags, report.flushed_keys), (1, 1));
    assert!(counters.keys().is_empty());
}
