//! Background workers driven by Quay's database work queue.
//!
//! [`queue_worker`] is Quay's `QueueWorker` loop (claim, process, complete or return the item);
//! [`chunk_cleanup`] is the job of Quay's `chunkcleanupworker.py` and the producer side Swift
//! storage uses. [`pull_stats_flush`] is Quay's `pullstatsredisflushworker.py` (Redis pull
//! counters into the statistics tables). [`quota_totals`] is the backfill of Quay's
//! `quotatotalworker.py` (namespace and repository sizes computed once).

pub mod chunk_cleanup;
pub mod pull_stats_flush;
pub mod queue_worker;
pub mod quota_totals;
