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

use tokio::sync::watch;
use tokio::time::Instant;

/// Waits until `deadline` unless a shutdown is asked first (the flag set, or its sender
/// dropped); `true` when the worker should stop. A change of the flag that is not a shutdown
/// does not shorten the wait.
pub(crate) async fn shutdown_before(
    deadline: Instant,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    loop {
        if *shutdown.borrow_and_update() {
            return true;
        }
        match tokio::time::timeout_at(deadline, shutdown.changed()).await {
            Err(_) => return false,
            Ok(Err(_)) => return true,
            Ok(Ok(())) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shutdown_before;
    use std::time::Duration;
    use tokio::sync::watch;
    use tokio::time::Instant;

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_deadline_or_a_shutdown() {
        let (tx, mut rx) = watch::channel(false);
        let start = Instant::now();
        assert!(!shutdown_before(start + Duration::from_secs(5), &mut rx).await);
        assert_eq!(start.elapsed(), Duration::from_secs(5));

        tx.send(false).expect("receiver alive");
        let start = Instant::now();
        assert!(!shutdown_before(start + Duration::from_secs(5), &mut rx).await);
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(5),
            "a non-shutdown change keeps the wait"
        );

        let waiter = tokio::spawn(async move {
            let r = shutdown_before(Instant::now() + Duration::from_secs(60), &mut rx).await;
            (r, rx)
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        tx.send(true).expect("receiver alive");
        let (stopped, mut rx) = waiter.await.expect("waiter");
        assert!(stopped);
        assert!(shutdown_before(Instant::now() + Duration::from_secs(60), &mut rx).await);

        let (tx, mut rx) = watch::channel(false);
        drop(tx);
        assert!(shutdown_before(Instant::now() + Duration::from_secs(60), &mut rx).await);
    }
}
