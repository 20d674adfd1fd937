//! [`PullStatisticsStore`] on `tagpullstatistics` and `manifestpullstatistics`, written as
//! Python Quay's `bulk_upsert_tag_statistics` and `bulk_upsert_manifest_statistics` write them
//! (one transaction per call; existing rows updated with atomic SQL, missing rows inserted).

use async_trait::async_trait;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::Timestamp;
use diesel_async::RunQueryDsl;
use quay_ports::store::{
    ManifestPullUpdate, PullStatisticsStore, PullStatisticsStoreError, TagPullUpdate,
};

use super::naive;
use super::policy_schema::{manifestpullstatistics, tagpullstatistics};
use crate::conn::db_write;
use crate::database::{Database, Route};
use crate::error::backend;

pub(crate) struct DbPullStatisticsStore {
    pub(crate) db: Database,
}

fn repo_key(id: i64) -> Result<i32, diesel::result::Error> {
    i32::try_from(id).map_err(|_| diesel::result::Error::NotFound)
}

/// Python Quay's bulk upsert of one statistics table, in the transaction of `db_write!`: for each
/// update `$u`, the row of its repository and `$key` gets the pull count added and keeps the later
/// pull date (`$last`), or is inserted; `also` are further column values both write. Evaluates to
/// the number of updates written.
macro_rules! upsert_pulls {
    (
        $conn:expr, $updates:expr, $table:ident, |$u:ident|
        key: $key:ident = $key_value:expr,
        count: $count:ident,
        last: $last:ident,
        also: [$($also:expr),*]
    ) => {
        db_write!($conn, |c| {
            let mut written = 0u64;
            for $u in $updates {
                let repo = repo_key($u.repository_id)?;
                let date = naive($u.last_pull);
                let existing: Option<i32> = $table::table
                    .filter($table::repository_id.eq(repo))
                    .filter($table::$key.eq($key_value))
                    .select($table::id)
                    .first(c)
                    .await
                    .optional()?;
                match existing {
                    Some(id) => {
                        let last = $table::$last;
                        diesel::update($table::table.filter($table::id.eq(id)))
                            .set((
                                $table::$count.eq($table::$count + $u.pull_count),
                                last.eq(case_when(last.lt(date), date.into_sql::<Timestamp>())
                                    .otherwise(last)),
                                $($also,)*
                            ))
                            .execute(c)
                            .await?;
                    }
                    None => {
                        diesel::insert_into($table::table)
                            .values((
                                $table::repository_id.eq(repo),
                                $table::$key.eq($key_value),
                                $table::$count.eq($u.pull_count),
                                $table::$last.eq(date),
                                $($also,)*
                            ))
                            .execute(c)
                            .await?;
                    }
                }
                written += 1;
            }
            Ok(written)
        })
    };
}

#[async_trait]
impl PullStatisticsStore for DbPullStatisticsStore {
    async fn upsert_tag_statistics(
        &self,
        updates: &[TagPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        let mut conn = self.db.conn(Route::Primary).await?;
        let written: Result<u64, diesel::result::Error> = upsert_pulls!(
            conn, updates, tagpullstatistics, |u|
            key: tag_name = u.tag_name.as_str(),
            count: tag_pull_count,
            last: last_tag_pull_date,
            also: [tagpullstatistics::current_manifest_digest.eq(Some(u.manifest_digest.as_str()))]
        );
        Ok(written.map_err(|e| backend("writing tag pull statistics", e))?)
    }

    async fn upsert_manifest_statistics(
        &self,
        updates: &[ManifestPullUpdate],
    ) -> Result<u64, PullStatisticsStoreError> {
        if updates.is_empty() {
            return Ok(0);
        }
        let mut conn = self.db.conn(Route::Primary).await?;
        let written: Result<u64, diesel::result::Error> = upsert_pulls!(
            conn, updates, manifestpullstatistics, |u|
            key: manifest_digest = u.manifest_digest.as_str(),
            count: manifest_pull_count,
            last: last_manifest_pull_date,
            also: []
        );
        Ok(written.map_err(|e| backend("writing manifest pull statistics", e))?)
    }
}
