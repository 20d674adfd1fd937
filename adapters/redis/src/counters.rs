//! [`PullCounters`] on Redis: the flush worker's view of the pull counters (`SCAN`, `RENAME`,
//! `HGETALL`, `DEL`, as Quay's `workers/pullstatsredisflushworker.py` uses them).

use std::collections::BTreeSet;
use std::time::Duration;

use quay_ports::pull_metrics::{PullCounters, PullCountersError};
use redis::aio::MultiplexedConnection;
use tokio::sync::Mutex;

use crate::params::{RedisParams, RedisParamsError};

/// `SCAN` page size (Quay's `REDIS_FLUSH_WORKER_SCAN_COUNT` default).
const SCAN_COUNT: usize = 100;
/// Keys per `DEL`.
const DELETE_BATCH: usize = 100;

/// The pull counters in Redis.
pub struct RedisPullCounters {
    client: redis::Client,
    timeout: Duration,
    conn: Mutex<Option<MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisPullCounters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPullCounters").finish_non_exhaustive()
    }
}

fn failed(e: impl std::error::Error + Send + Sync + 'static) -> PullCountersError {
    PullCountersError::Backend(Box::new(e))
}

#[derive(Debug, thiserror::Error)]
#[error("Redis timed out")]
struct TimedOut;

impl RedisPullCounters {
    /// A client for `params`; connects on first use.
    ///
    /// # Errors
    /// [`RedisParamsError`] when the parameters cannot make a client.
    pub fn new(params: &RedisParams) -> Result<Self, RedisParamsError> {
        Ok(Self {
            client: redis::Client::open(params.connection_info()?)?,
            timeout: params.timeout,
            conn: Mutex::new(None),
        })
    }

    /// Runs `cmd`, connecting first when needed; a failed connection is dropped so the next
    /// call reconnects.
    async fn query<T: redis::FromRedisValue>(
        &self,
        cmd: &redis::Cmd,
    ) -> Result<T, PullCountersError> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            let c =
                tokio::time::timeout(self.timeout, self.client.get_multiplexed_async_connection())
                    .await
                    .map_err(|_| failed(TimedOut))?
                    .map_err(failed)?;
            *guard = Some(c);
        }
        let Some(conn) = guard.as_mut() else {
            return Err(failed(TimedOut));
        };
        let result = tokio::time::timeout(self.timeout, cmd.query_async::<T>(conn)).await;
        match result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() {
                    *guard = None;
                }
                Err(failed(e))
            }
            Err(_) => {
                *guard = None;
                Err(failed(TimedOut))
            }
        }
    }
}

#[async_trait::async_trait]
impl PullCounters for RedisPullCounters {
    async fn scan(&self, limit: usize) -> Result<Vec<String>, PullCountersError> {
        let mut keys = BTreeSet::new();
        let mut cursor: u64 = 0;
        while keys.len() < limit {
            let mut cmd = redis::cmd("SCAN");
            cmd.arg(cursor)
                .arg("MATCH")
                .arg("pull_events:*")
                .arg("COUNT")
                .arg(SCAN_COUNT);
            let (next, batch): (u64, Vec<String>) = self.query(&cmd).await?;
            keys.extend(batch);
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        Ok(keys.into_iter().take(limit).collect())
    }

    async fn claim(&self, key: &str, to: &str) -> Result<bool, PullCountersError> {
        let mut cmd = redis::cmd("RENAME");
        cmd.arg(key).arg(to);
        match self.query::<()>(&cmd).await {
            Ok(()) => Ok(true),
            Err(PullCountersError::Backend(e))
                if e.to_string().to_lowercase().contains("no such key") =>
            {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    async fn read(&self, key: &str) -> Result<Vec<(String, String)>, PullCountersError> {
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(key);
        self.query(&cmd).await
    }

    async fn delete(&self, keys: &[String]) -> Result<u64, PullCountersError> {
        let mut deleted = 0;
        for batch in keys.chunks(DELETE_BATCH) {
            let mut cmd = redis::cmd("DEL");
            for k in batch {
                cmd.arg(k);
            }
            deleted += self.query::<u64>(&cmd).await?;
        }
        Ok(deleted)
    }
}
