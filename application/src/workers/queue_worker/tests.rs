//! The worker loop against an in-memory queue: outcomes, retries and shutdown.

use std::sync::Mutex;

use chrono::{DateTime, Utc};
use quay_ports::queue::{NewQueueItem, QueueMetrics};

use super::*;

/// `(id, body, retries, leased, times returned)`.
type Item = (i64, String, i32, bool, u32);

/// Items in claim order.
#[derive(Default)]
struct MemoryQueue(Mutex<Vec<Item>>);

impl MemoryQueue {
    fn with(bodies: &[&str]) -> Arc<Self> {
        let items = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| (i as i64 + 1, (*b).to_string(), 2, false, 0))
            .collect();
        Arc::new(Self(Mutex::new(items)))
    }
    fn snapshot(&self) -> Vec<Item> {
        self.0.lock().unwrap().clone()
    }
}

#[async_trait]
impl WorkQueue for MemoryQueue {
    async fn put(&self, _: &NewQueueItem) -> Result<i64, QueueError> {
        unreachable!("workers do not put")
    }
    async fn claim(
        &self,
        queue: &str,
        _: &[&str],
        _: Duration,
        _: ClaimOrder,
    ) -> Result<Option<Lease>, QueueError> {
        assert_eq!(queue, "jobs");
        let mut items = self.0.lock().unwrap();
        let Some(item) = items.iter_mut().find(|i| !i.3 && i.2 > 0) else {
            return Ok(None);
        };
        item.3 = true;
        item.2 -= 1;
        Ok(Some(Lease {
            id: item.0,
            body: item.1.clone(),
            retries_remaining: item.2,
        }))
    }
    async fn complete(&self, lease: &Lease) -> Result<bool, QueueError> {
        let mut items = self.0.lock().unwrap();
        let before = items.len();
        items.retain(|i| i.0 != lease.id);
        Ok(items.len() < before)
    }
    async fn incomplete(
        &self,
        lease: &Lease,
        _: Duration,
        restore_retry: bool,
    ) -> Result<bool, QueueError> {
        let mut items = self.0.lock().unwrap();
        let item = items.iter_mut().find(|i| i.0 == lease.id).unwrap();
        // Returned items wait for `retry_after`: this fake keeps them leased.
        item.2 += i32::from(restore_retry);
        item.4 += 1;
        Ok(item.2 > 0)
    }
    async fn extend(&self, _: &Lease, _: Duration, _: Option<&str>) -> Result<bool, QueueError> {
        Ok(false)
    }
    async fn alive(&self, _: &str, _: &[&str]) -> Result<bool, QueueError> {
        Ok(false)
    }
    async fn count_alive(&self, _: &str, _: &[&str]) -> Result<u64, QueueError> {
        Ok(0)
    }
    async fn count_available_between(
        &self,
        _: &str,
        _: &[&str],
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<u64, QueueError> {
        Ok(0)
    }
    async fn metrics(&self, _: &str) -> Result<QueueMetrics, QueueError> {
        Ok(QueueMetrics::default())
    }
    async fn has_retries_remaining(&self, _: i64) -> Result<bool, QueueError> {
        Ok(false)
    }
    async fn delete_prefixed(&self, _: &str, _: &[&str]) -> Result<u64, QueueError> {
        Ok(0)
    }
}

/// Succeeds on "ok", fails on "fail", is unhealthy on "sick"; records what it saw.
#[derive(Default)]
struct Job(Mutex<Vec<String>>);

#[async_trait]
impl QueueJob for Job {
    fn queue(&self) -> &str {
        "jobs"
    }
    async fn process(&self, body: &str) -> Result<(), JobError> {
        self.0.lock().unwrap().push(body.to_string());
        match body {
            "ok" => Ok(()),
            "fail" => Err(JobError::Failed("bad item".into())),
            _ => Err(JobError::Unhealthy("disk gone".into())),
        }
    }
}

#[tokio::test]
async fn outcomes_follow_quays_queue_worker() {
    let queue = MemoryQueue::with(&["ok", "fail", "ok"]);
    let job = Arc::new(Job::default());
    let worker = QueueWorker::new(queue.clone(), job.clone(), WorkerTiming::default());
    assert_eq!(
        worker.process_one().await.unwrap(),
        Some(ItemOutcome::Completed)
    );
    assert_eq!(
        worker.process_one().await.unwrap(),
        Some(ItemOutcome::Returned { retries_left: true })
    );
    assert_eq!(worker.drain().await.unwrap(), (1, false));
    assert_eq!(worker.process_one().await.unwrap(), None);
    // Completed items are gone; the failed one kept the retry its claim took.
    assert_eq!(queue.snapshot(), [(2, "fail".to_string(), 1, true, 1)]);
    assert_eq!(*job.0.lock().unwrap(), ["ok", "fail", "ok"]);
}

#[tokio::test]
async fn an_unhealthy_worker_gives_the_retry_back_and_stops() {
    let queue = MemoryQueue::with(&["sick", "ok"]);
    let job = Arc::new(Job::default());
    let worker = QueueWorker::new(queue.clone(), job.clone(), WorkerTiming::default());
    assert_eq!(worker.drain().await.unwrap(), (1, true));
    assert_eq!(queue.snapshot()[0], (1, "sick".to_string(), 2, true, 1));
    // `run` stops by itself too, without touching the second item.
    let queue = MemoryQueue::with(&["sick", "ok"]);
    let (_tx, rx) = watch::channel(false);
    QueueWorker::new(queue.clone(), job, WorkerTiming::default())
        .run(rx)
        .await;
    assert_eq!(queue.snapshot()[1], (2, "ok".to_string(), 2, false, 0));
}

#[tokio::test(start_paused = true)]
async fn run_polls_until_shutdown() {
    let queue = MemoryQueue::with(&["ok"]);
    let job = Arc::new(Job::default());
    let (tx, rx) = watch::channel(false);
    let timing = WorkerTiming {
        poll_period: Duration::from_secs(10),
        ..WorkerTiming::default()
    };
    let task = tokio::spawn(QueueWorker::new(queue.clone(), job.clone(), timing).run(rx));
    tokio::time::sleep(Duration::from_secs(25)).await;
    assert!(queue.snapshot().is_empty());
    assert!(!task.is_finished());
    tx.send(true).unwrap();
    task.await.unwrap();
}
