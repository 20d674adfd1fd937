//! SQLite under concurrent writers: every write succeeds (WAL, busy timeout, BEGIN IMMEDIATE,
//! small pool), none fails with "database is locked".

use anyhow::Result;
use quay_adapter_db::connect;

use crate::support::{self, TestSqlite};
use crate::users::new_user;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_sqlite_writers_all_succeed() -> Result<()> {
    writers(4).await
}

/// Even with a connection per writer, IMMEDIATE transactions queue on the busy timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_writers_with_sixteen_connections_all_succeed() -> Result<()> {
    writers(16).await
}

async fn writers(pool_size: usize) -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    let mut settings = support::settings(file.target());
    settings.sqlite_pool_size = pool_size;
    let db = connect(settings).await?;
    let users = db.stores().users;

    let mut tasks = Vec::new();
    for i in 0..16 {
        let users = users.clone();
        tasks.push(tokio::spawn(async move {
            // Several writes per task, interleaved with reads, to keep the writers contending.
            for j in 0..4 {
                users
                    .create_user(new_user(&format!("writer{i}x{j}")))
                    .await?;
                users.user_count().await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    assert_eq!(users.user_count().await?, 64);
    Ok(())
}
