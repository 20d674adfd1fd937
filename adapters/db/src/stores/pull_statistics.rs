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
        let written: Result<u64, diesel::result::Error> = db_write!(conn, |c| {
            let mut written = 0u64;
            for u in updates {
                let repo = repo_key(u.repository_id)?;
                let date = naive(u.last_pull);
                let existing: Option<i32> = tagpullstatistics::table
                    .filter(tagpullstatistics::repository_id.eq(repo))
                    .filter(tagpullstatistics::tag_name.eq(u.tag_name.as_str()))
                    .select(tagpullstatistics::id)
                    .first(c)
                    .await
                    .optional()?;
                match existing {
                    Some(id) => {
                        let last = tagpullstatistics::last_tag_pull_date;
                        diesel::update(
                            tagpullstatistics::table.filter(tagpullstatistics::id.eq(id)),
                        )
                        .set((
                            tagpullstatistics::tag_pull_count
                                .eq(tagpullstatistics::tag_pull_count + u.pull_count),
                            last.eq(case_when(last.lt(date), date.into_sql::<Timestamp>())
                                .otherwise(last)),
                            tagpullstatistics::current_manifest_digest
                                .eq(Some(u.manifest_digest.as_str())),
                        ))
                        .execute(c)
                        .await?;
                    }
                    None => {
                        diesel::insert_into(tagpullstatistics::table)
                            .values((
                                tagpullstatistics::repository_id.eq(repo),
                                tagpullstatistics::tag_name.eq(u.tag_name.as_str()),
                                tagpullstatistics::tag_pull_count.eq(u.pull_count),
                                tagpullstatistics::last_tag_pull_date.eq(date),
                                tagpullstatistics::current_manifest_digest
                                    .eq(Some(u.manifest_digest.as_str())),
                            ))
                            .execute(c)
                            .await?;
                    }
                }
                written += 1;
            }
            Ok(written)
        });
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
        let written: Result<u64, diesel::result::Error> = db_write!(conn, |c| {
            let mut written = 0u64;
            for u in updates {
                let repo = repo_key(u.repository_id)?;
                let date = naive(u.last_pull);
                let existing: Option<i32> = manifestpullstatistics::table
                    .filter(manifestpullstatistics::repository_id.eq(repo))
                    .filter(manifestpullstatistics::manifest_digest.eq(u.manifest_digest.as_str()))
                    .select(manifestpullstatistics::id)
                    .first(c)
                    .await
                    .optional()?;
                match existing {
                    Some(id) => {
                        let last = manifestpullstatistics::last_manifest_pull_date;
                        diesel::update(
                            manifestpullstatistics::table.filter(manifestpullstatistics::id.eq(id)),
                        )
                        .set((
                            manifestpullstatistics::manifest_pull_count
                                .eq(manifestpullstatistics::manifest_pull_count + u.pull_count),
                            last.eq(case_when(last.lt(date), date.into_sql::<Timestamp>())
                                .otherwise(last)),
                        ))
                        .execute(c)
                        .await?;
                    }
                    None => {
                        diesel::insert_into(manifestpullstatistics::table)
                            .values((
                                manifestpullstatistics::repository_id.eq(repo),
                                manifestpullstatistics::manifest_digest
                                    .eq(u.manifest_digest.as_str()),
                                manifestpullstatistics::manifest_pull_count.eq(u.pull_count),
                                manifestpullstatistics::last_manifest_pull_date.eq(date),
                            ))
                            .execute(c)
                            .await?;
                    }
                }
                written += 1;
            }
            Ok(written)
        });
        Ok(written.map_err(|e| backend("writing manifest pull statistics", e))?)
    }
}
