//! Redis adapters of quay-rs.
//!
//! [`RedisPullMetrics`] implements the pull-metrics port on the Redis server Quay names in
//! `PULL_METRICS_REDIS` ([`RedisParams`]): each pull event is queued (never blocking the pull)
//! and a background task applies it with one Lua script, so a counter is created or incremented
//! atomically, exactly as Python Quay's `util/pullmetrics.py` leaves it (the key and field
//! layout is documented on [`quay_ports::pull_metrics`]). The keys have no expiry: Quay's flush
//! worker moves them into the database and deletes them.
//!
//! Failures (Redis unreachable, a full queue) are logged and the event dropped, as Quay drops
//! it; the connection is re-established on the next event.
//!
//! [`RedisPullCounters`] implements the flush worker's side of the same keys.

mod counters;
mod params;
mod pull_metrics;

pub use counters::RedisPullCounters;
pub use params::{RedisParams, RedisParamsError};
pub use pull_metrics::RedisPullMetrics;
