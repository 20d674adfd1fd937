//! [`TagStore`] on Quay's `tag` table.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::name::TagName;
use quay_domain::repository::RepositoryId;
use quay_domain::tag::{ManifestId, Tag, TagId};
use quay_ports::store::{Page, PageRequest, TagStore, TagStoreError};

use super::{fetch_limit, key, paginate};
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::backend;
use crate::schema::tag;

pub(crate) struct DbTagStore {
    pub(crate) db: Database,
}

/// The `tag` columns present at every Alembic revision quay-rs reads (`immutable` is newer).
#[derive(Queryable, Selectable)]
#[diesel(table_name = tag)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct TagRow {
    id: i32,
    name: String,
    repository_id: i32,
    manifest_id: Option<i32>,
    lifetime_start_ms: i64,
    lifetime_end_ms: Option<i64>,
    hidden: bool,
    reversion: bool,
    linked_tag_id: Option<i32>,
}

impl From<TagRow> for Tag {
    fn from(r: TagRow) -> Self {
        Tag {
            id: TagId(i64::from(r.id)),
            repository_id: RepositoryId(i64::from(r.repository_id)),
            name: TagName::from_stored(r.name),
            manifest_id: r.manifest_id.map(|m| ManifestId(i64::from(m))),
            lifetime_start_ms: r.lifetime_start_ms,
            lifetime_end_ms: r.lifetime_end_ms,
            hidden: r.hidden,
            reversion: r.reversion,
            linked_tag_id: r.linked_tag_id.map(|t| TagId(i64::from(t))),
        }
    }
}

/// Live and visible at `now`: Quay's `filter_to_alive_tags` without hidden tags.
macro_rules! live_tags {
    ($repo:expr, $now:expr) => {
        tag::table
            .filter(tag::repository_id.eq($repo))
            .filter(tag::hidden.eq(false))
            .filter(
                tag::lifetime_end_ms
                    .is_null()
                    .or(tag::lifetime_end_ms.gt($now)),
            )
            .select(TagRow::as_select())
    };
}

#[async_trait]
impl TagStore for DbTagStore {
    async fn list_live_tags(
        &self,
        repository: RepositoryId,
        now_ms: i64,
        page: PageRequest,
    ) -> Result<Page<Tag>, TagStoreError> {
        let after = match &page.after {
            Some(c) if c.0.is_empty() => return Err(TagStoreError::InvalidCursor),
            Some(c) => c.0.clone(),
            None => String::new(),
        };
        let Some(repo) = key(repository.0) else {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        };
        let (limit, fetch) = fetch_limit(&page);
        let after = after.as_str();
        let mut conn = self.db.conn(Route::Read).await?;
        let rows: Vec<TagRow> = db_run!(conn, |c| {
            live_tags!(repo, now_ms)
                .filter(tag::name.gt(after))
                .order((tag::name.asc(), tag::id.asc()))
                .limit(fetch)
                .load(c)
                .await
        })
        .map_err(|e| backend("listing tags", e))?;
        let items = rows.into_iter().map(Tag::from).collect();
        Ok(paginate(items, limit, |t: &Tag| t.name.as_str().to_owned()))
    }

    async fn find_live_tag(
        &self,
        repository: RepositoryId,
        name: &TagName,
        now_ms: i64,
    ) -> Result<Option<Tag>, TagStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let name = name.as_str();
        let mut conn = self.db.conn(Route::Read).await?;
        let row: Option<TagRow> = db_run!(conn, |c| {
            live_tags!(repo, now_ms)
                .filter(tag::name.eq(name))
                .order(tag::id.desc())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a tag", e))?;
        Ok(row.map(Tag::from))
    }
}
