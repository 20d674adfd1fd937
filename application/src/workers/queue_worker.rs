//! Quay's `QueueWorker` (`workers/queueworker.py`): poll a queue, process each claimed item,
//! delete it when done, hand it back otherwise.
//!
//! - an item is claimed with a lease of `reservation` (Quay: 300 s);
//! - success completes (deletes) it;
//! - [`JobError::Failed`] (Quay's `JobException`) returns it without giving back the retry its
//!   claim took, available again after `retry_after` (Quay: 300 s);
//! - [`JobError::Unhealthy`] (Quay's `WorkerUnhealthyException`) returns it with the retry given
//!   back and stops the worker;
//! - after the queue is drained the worker sleeps `poll_period` and polls again, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quay_ports::queue::{ClaimOrder, Lease, QueueError, WorkQueue};
use tokio::sync::watch;

/// Why a job did not finish.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The job failed; retry later without giving back the retry (Quay's `JobException`).
    #[error("job failed: {0}")]
    Failed(String),
    /// The worker cannot do any work; give the retry back and stop
    /// (Quay's `WorkerUnhealthyException`).
    #[error("worker unhealthy: {0}")]
    Unhealthy(String),
}

/// One kind of queue job.
#[async_trait]
pub trait QueueJob: Send + Sync {
    /// The queue this job consumes (e.g. `chunk_cleanup`).
    fn queue(&self) -> &str;

    /// Processes one item's body (JSON text).
    ///
    /// # Errors
    /// See [`JobError`].
    async fn process(&self, body: &str) -> Result<(), JobError>;
}

/// Timing of a queue worker (Quay's `QueueWorker` constructor arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerTiming {
    /// Sleep between polls of an empty queue.
    pub poll_period: Duration,
    /// Lease taken on each claimed item.
    pub reservation: Duration,
    /// Delay before a failed item is available again.
    pub retry_after: Duration,
}

impl Default for WorkerTiming {
    fn default() -> Self {
        Self {
            poll_period: Duration::from_secs(30),
            reservation: Duration::from_secs(300),
            retry_after: Duration::from_secs(300),
        }
    }
}

/// What happened to one claimed item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Processed and deleted.
    Completed,
    /// Returned to the queue after a failure.
    Returned {
        /// Whether it has retries left.
        retries_left: bool,
    },
    /// Returned with its retry restored; the worker stops.
    Unhealthy,
}

/// A worker draining one queue with one job.
pub struct QueueWorker {
    queue: Arc<dyn WorkQueue>,
    job: Arc<dyn QueueJob>,
    timing: WorkerTiming,
}

impl QueueWorker {
    /// A worker for `job` on `queue`.
    pub fn new(queue: Arc<dyn WorkQueue>, job: Arc<dyn QueueJob>, timing: WorkerTiming) -> Self {
        Self { queue, job, timing }
    }

    /// Claims and processes one item; `None` when nothing was claimed.
    ///
    /// # Errors
    /// The queue's errors (the item, if claimed, is left to its lease).
    pub async fn process_one(&self) -> Result<Option<ItemOutcome>, QueueError> {
        let Some(lease) = self
            .queue
            .claim(
                self.job.queue(),
                &[],
                self.timing.reservation,
                ClaimOrder::Any,
            )
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.finish(&lease).await?))
    }

    async fn finish(&self, lease: &Lease) -> Result<ItemOutcome, QueueError> {
        let queue = self.job.queue();
        match self.job.process(&lease.body).await {
            Ok(()) => {
                self.queue.complete(lease).await?;
                tracing::debug!(queue.name = queue, queue.item = lease.id, "queue item done");
                Ok(ItemOutcome::Completed)
            }
            Err(JobError::Failed(why)) => {
                tracing::warn!(queue.name = queue, queue.item = lease.id, error = %why, "queue item failed");
                let retries_left = self
                    .queue
                    .incomplete(lease, self.timing.retry_after, false)
                    .await?;
                Ok(ItemOutcome::Returned { retries_left })
            }
            Err(JobError::Unhealthy(why)) => {
                tracing::error!(queue.name = queue, queue.item = lease.id, error = %why, "worker unhealthy; it takes no more work");
                self.queue
                    .incomplete(lease, self.timing.retry_after, true)
                    .await?;
                Ok(ItemOutcome::Unhealthy)
            }
        }
    }

    /// Processes items until none is available (Quay's `poll_queue`); returns how many were
    /// claimed, and whether the worker must stop.
    ///
    /// # Errors
    /// The queue's errors.
    pub async fn drain(&self) -> Result<(usize, bool), QueueError> {
        let mut n = 0;
        while let Some(outcome) = self.process_one().await? {
            n += 1;
            if outcome == ItemOutcome::Unhealthy {
                return Ok((n, true));
            }
        }
        Ok((n, false))
    }

    /// Polls until `shutdown` turns true or the job reports the worker unhealthy. Queue errors
    /// are logged and the next poll retries.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let queue = self.job.queue().to_string();
        tracing::info!(queue.name = %queue, "queue worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.drain().await {
                Ok((_, true)) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(queue.name = %queue, error = %e, "polling the queue failed");
                }
            }
            let next = tokio::time::Instant::now() + self.timing.poll_period;
            if super::shutdown_before(next, &mut shutdown).await {
                break;
            }
        }
        tracing::info!(queue.name = %queue, "queue worker stopped");
    }
}

#[cfg(test)]
mod tests;
