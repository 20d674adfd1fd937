//! Quay's `WorkQueue.get_metrics`: distinct canonical names running, available, and available
//! with nothing running.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::queue::{QueueError, QueueMetrics, canonical_name};

use super::{available_at, prefix_pattern, queueitem, queueitem_running, running_names, to_count};
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::backend;

pub(super) async fn metrics(
    db: &Database,
    queue: &str,
    now: NaiveDateTime,
) -> Result<QueueMetrics, QueueError> {
    let pattern = prefix_pattern(&canonical_name(queue, &[]));
    let pattern = pattern.as_str();
    let mut conn = db.conn(Route::Primary).await?;
    let (running, available, available_not_running): (i64, i64, i64) = db_run!(conn, |c| {
        async {
            let available = available_at!(now);
            let running = queueitem::table
                .filter(queueitem::queue_name.like(pattern).escape('\\'))
                .filter(queueitem::available.eq(false))
                .filter(queueitem::processing_expires.gt(now))
                .select(diesel::dsl::count(queueitem::queue_name).aggregate_distinct())
                .get_result::<i64>(c)
                .await?;
            let all = queueitem::table
                .filter(queueitem::queue_name.like(pattern).escape('\\'))
                .filter(available)
                .select(diesel::dsl::count(queueitem::queue_name).aggregate_distinct())
                .get_result::<i64>(c)
                .await?;
            let running_names = running_names!(pattern, now);
            let idle = queueitem::table
                .filter(queueitem::queue_name.like(pattern).escape('\\'))
                .filter(available)
                .filter(queueitem::queue_name.ne_all(running_names))
                .select(diesel::dsl::count(queueitem::queue_name).aggregate_distinct())
                .get_result::<i64>(c)
                .await?;
            Ok::<_, diesel::result::Error>((running, all, idle))
        }
        .await
    })
    .map_err(|e| backend("reading queue metrics", e))?;
    Ok(QueueMetrics {
        running: to_count(running),
        available_not_running: to_count(available_not_running),
        available: to_count(available),
    })
}
