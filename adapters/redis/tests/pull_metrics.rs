//! [`RedisPullMetrics`] against a real `redis-server` (`QUAY_TEST_REDIS_URL`, started by
//! `cargo xtask services up`): the hashes Quay's flush worker reads.

use std::collections::HashMap;
use std::time::Duration;

use quay_adapter_redis::{RedisParams, RedisPullMetrics};
use quay_ports::pull_metrics::{PullEvent, PullMetrics as _};
use redis::AsyncCommands as _;

fn params() -> RedisParams {
    let url = std::env::var("QUAY_TEST_REDIS_URL")
        .expect("QUAY_TEST_REDIS_URL is not set: run `cargo xtask services up`");
    let hostport = url.trim_start_matches("redis://").trim_end_matches('/');
    let (host, port) = hostport.split_once(':').expect("redis://host:port");
    RedisParams::from_quay(&serde_json::json!({"host": host, "port": port, "db": 3}))
        .expect("valid parameters")
}

async fn hash(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    count: &str,
) -> HashMap<String, String> {
    for _ in 0..100 {
        let h: HashMap<String, String> = conn.hgetall(key).await.expect("HGETALL");
        if h.get("pull_count").map(String::as_str) == Some(count) {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{key} never reached pull_count {count}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_pulls_as_quay() {
    let params = params();
    let metrics = RedisPullMetrics::start(&params).expect("client");
    let client = redis::Client::open(params.connection_info().expect("info")).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let repo = i64::from(std::process::id()) * 1000 + 7;
    let tag_key = format!("pull_events:repo:{repo}:tag:latest:sha256:aa");
    let digest_key = format!("pull_events:repo:{repo}:digest:sha256:aa");
    let _: () = conn.del(&[&tag_key, &digest_key]).await.expect("DEL");

    for ts in [1_700_000_000, 1_700_000_005] {
        metrics.record(PullEvent::Tag {
            repository_id: repo,
            tag: "latest".into(),
            manifest_digest: "sha256:aa".into(),
            timestamp_s: ts,
        });
    }
    metrics.record(PullEvent::Digest {
        repository_id: repo,
        manifest_digest: "sha256:aa".into(),
        timestamp_s: 1_700_000_009,
    });

    let tag = hash(&mut conn, &tag_key, "2").await;
    let expected: HashMap<String, String> = [
        ("repository_id", repo.to_string()),
        ("tag_name", "latest".into()),
        ("manifest_digest", "sha256:aa".into()),
        ("pull_count", "2".into()),
        ("last_pull_timestamp", "1700000005".into()),
        ("pull_method", "tag".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(tag, expected);
    let digest = hash(&mut conn, &digest_key, "1").await;
    assert_eq!(
        digest.get("pull_method").map(String::as_str),
        Some("digest")
    );
    assert_eq!(digest.get("tag_name").map(String::as_str), Some(""));
    assert_eq!(
        digest.get("last_pull_timestamp").map(String::as_str),
        Some("1700000009")
    );
    // No expiry: Quay's flush worker deletes the keys.
    let ttl: i64 = conn.ttl(&tag_key).await.expect("TTL");
    assert_eq!(ttl, -1);
    let _: () = conn.del(&[&tag_key, &digest_key]).await.expect("DEL");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_never_blocks_a_pull() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("probe");
        l.local_addr().expect("addr").port()
    };
    let params = RedisParams::from_quay(&serde_json::json!({"host": "127.0.0.1", "port": port}))
        .expect("valid");
    let metrics = RedisPullMetrics::start(&params).expect("client");
    let started = std::time::Instant::now();
    for i in 0..20_000 {
        metrics.record(PullEvent::Digest {
            repository_id: 1,
            manifest_digest: format!("sha256:{i}"),
            timestamp_s: 1,
        });
    }
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_are_claimed_read_and_deleted() {
    use quay_adapter_redis::RedisPullCounters;
    use quay_ports::pull_metrics::PullCounters as _;

    let params = RedisParams::from_quay(&serde_json::json!({
        "host": params().host, "port": params().port, "db": 4
    }))
    .expect("valid");
    let client = redis::Client::open(params.connection_info().expect("info")).expect("client");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("connect");
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut conn)
        .await
        .expect("FLUSHDB");
    for i in 0..250 {
        let _: () = conn
            .hset(
                format!("pull_events:repo:1:digest:sha256:{i:02x}"),
                "pull_count",
                1,
            )
            .await
            .expect("HSET");
    }
    let _: () = conn.set("unrelated", 1).await.expect("SET");
    let counters = RedisPullCounters::new(&params).expect("client");
    let all = counters.scan(1000).await.expect("SCAN");
    assert_eq!(all.len(), 250);
    assert!(all.iter().all(|k| k.starts_with("pull_events:")));
    assert_eq!(counters.scan(10).await.expect("SCAN").len(), 10);

    let key = "pull_events:repo:1:digest:sha256:00";
    let claimed = format!("{key}:processing:1:abcdef01");
    assert!(counters.claim(key, &claimed).await.expect("RENAME"));
    assert!(
        !counters
            .claim(key, &claimed)
            .await
            .expect("RENAME of a missing key")
    );
    assert_eq!(
        counters.read(&claimed).await.expect("HGETALL"),
        [("pull_count".to_owned(), "1".to_owned())]
    );
    assert!(counters.read(key).await.expect("HGETALL").is_empty());
    assert_eq!(counters.delete(&all).await.expect("DEL"), 249);
    assert_eq!(counters.delete(&[claimed]).await.expect("DEL"), 1);
    let _: () = redis::cmd("FLUSHDB")
        .query_async(&mut conn)
        .await
        .expect("FLUSHDB");
}
