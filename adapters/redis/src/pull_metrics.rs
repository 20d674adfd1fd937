//! [`PullMetrics`] on Redis.

use quay_ports::pull_metrics::{PullEvent, PullMetrics};
use redis::aio::MultiplexedConnection;
use tokio::sync::mpsc;

use crate::params::{RedisParams, RedisParamsError};

/// Events waiting to be sent; beyond this the newest are dropped (with a warning).
const QUEUE: usize = 10_000;

/// Creates the hash with every field (from `ARGV[2..]`, in Quay's order) on the first pull;
/// afterwards adds one to `pull_count` and stores the new `last_pull_timestamp` (`ARGV[1]`).
const COUNT_PULL: &str = r"
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, unpack(ARGV, 2))
else
  redis.call('HINCRBY', key, 'pull_count', 1)
  redis.call('HSET', key, 'last_pull_timestamp', ARGV[1])
end
return redis.call('HGET', key, 'pull_count')
";

/// Counts pulls in Redis from a background task.
#[derive(Debug, Clone)]
pub struct RedisPullMetrics {
    queue: mpsc::Sender<PullEvent>,
}

impl RedisPullMetrics {
    /// Starts the sender task on the current tokio runtime. Nothing is connected yet: the first
    /// event connects (Quay connects lazily too, so a Redis that starts later is picked up).
    ///
    /// # Errors
    /// [`RedisParamsError`] when the parameters cannot make a client.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(params: &RedisParams) -> Result<Self, RedisParamsError> {
        let client = redis::Client::open(params.connection_info()?)?;
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(run(client, params.timeout, events));
        Ok(Self { queue })
    }
}

impl PullMetrics for RedisPullMetrics {
    fn record(&self, event: PullEvent) {
        if let Err(e) = self.queue.try_send(event) {
            tracing::warn!(error = %e, "pull statistics not recorded: the Redis queue is full or closed");
        }
    }
}

/// The script's arguments: the timestamp, then the hash's fields in Quay's order.
fn script_args(event: &PullEvent) -> Vec<String> {
    match event {
        PullEvent::Tag {
            repository_id,
            tag,
            manifest_digest,
            timestamp_s,
        } => vec![
            timestamp_s.to_string(),
            "repository_id".into(),
            repository_id.to_string(),
            "tag_name".into(),
            tag.clone(),
            "manifest_digest".into(),
            manifest_digest.clone(),
            "pull_count".into(),
            "1".into(),
            "last_pull_timestamp".into(),
            timestamp_s.to_string(),
            "pull_method".into(),
            "tag".into(),
        ],
        PullEvent::Digest {
            repository_id,
            manifest_digest,
            timestamp_s,
        } => vec![
            timestamp_s.to_string(),
            "repository_id".into(),
            repository_id.to_string(),
            "manifest_digest".into(),
            manifest_digest.clone(),
            "pull_count".into(),
            "1".into(),
            "last_pull_timestamp".into(),
            timestamp_s.to_string(),
            "pull_method".into(),
            "digest".into(),
            "tag_name".into(),
            String::new(),
        ],
    }
}

async fn run(
    client: redis::Client,
    timeout: std::time::Duration,
    mut events: mpsc::Receiver<PullEvent>,
) {
    let mut conn: Option<MultiplexedConnection> = None;
    while let Some(event) = events.recv().await {
        if conn.is_none() {
            match tokio::time::timeout(timeout, client.get_multiplexed_async_connection()).await {
                Ok(Ok(c)) => conn = Some(c),
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "pull statistics not recorded: cannot connect to Redis");
                    continue;
                }
                Err(_) => {
                    tracing::warn!("pull statistics not recorded: connecting to Redis timed out");
                    continue;
                }
            }
        }
        let Some(c) = conn.as_mut() else {
            continue;
        };
        let mut cmd = redis::cmd("EVAL");
        cmd.arg(COUNT_PULL).arg(1).arg(event.key());
        for a in script_args(&event) {
            cmd.arg(a);
        }
        match tokio::time::timeout(timeout, cmd.query_async::<i64>(c)).await {
            Ok(Ok(count)) => {
                tracing::debug!(pull.key = %event.key(), pull.count = count, "pull counted");
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "pull statistics not recorded: Redis error");
                conn = None;
            }
            Err(_) => {
                tracing::warn!("pull statistics not recorded: Redis timed out");
                conn = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_in_quays_order() {
        let tag = PullEvent::Tag {
            repository_id: 4,
            tag: "v1".into(),
            manifest_digest: "sha256:x".into(),
            timestamp_s: 9,
        };
        assert_eq!(
            script_args(&tag),
            [
                "9",
                "repository_id",
                "4",
                "tag_name",
                "v1",
                "manifest_digest",
                "sha256:x",
                "pull_count",
                "1",
                "last_pull_timestamp",
                "9",
                "pull_method",
                "tag"
            ]
        );
        let digest = PullEvent::Digest {
            repository_id: 4,
            manifest_digest: "sha256:x".into(),
            timestamp_s: 9,
        };
        let args = script_args(&digest);
        assert_eq!(args.last().map(String::as_str), Some(""));
        assert_eq!(args[args.len() - 2], "tag_name");
        assert_eq!(args[10], "digest");
    }
}
