//! [`ManifestStore`] on `manifest`, `manifestblob`, `manifestchild` and `tag`, written as
//! Python Quay's `data/model/oci/manifest.py` and `tag.py` write them:
//! - `manifest`: bytes in the row, `subject_backfilled` and `artifact_type_backfilled` true;
//! - `manifestblob`: one row per distinct storage, in ascending storage id (Python iterates a
//!   set of small ints);
//! - `manifestchild`: one row per distinct child, in the list's order;
//! - `tag`: a retarget closes the live row, expires the cosign siblings of the manifest it
//!   leaves, reads the immutability policies and inserts the new row, all under the advisory
//!   lock `retarget_tag:<repo id>`; a push by digest adds a hidden `$temp-` tag unless a tag
//!   already keeps the manifest alive.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::{Repository, RepositoryId};
use quay_ports::store::{
    ManifestPush, ManifestStore, ManifestStoreError, NewRepository, StoredManifest, TagDeletion,
};

use super::audit::insert_entry;
use super::blob::advisory_lock_sql;
use super::policy_schema::manifestsecuritystatus;
use super::quota::{account_new_manifest, refuse_over_quota};
use super::registry_schema::{
    label, labelsourcetype, manifest, manifestblob, manifestchild, manifestlabel, mediatype,
    tagkind,
};
use super::registry_sql::{id_by_name, visible_blob_id};
use super::{key, naive};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::{backend, is_unique_violation_on};
use crate::schema::tag;

mod cosign;
mod push;
mod repositories;
mod rules;

use cosign::expire_cosign_siblings;
use push::{immutable_by_policy, insert_manifest, write_tags};

// A tag lookup as a subquery of a manifest query (`find_tagged_manifest`).
diesel::allow_tables_to_appear_in_same_query!(tag, manifest);
diesel::allow_tables_to_appear_in_same_query!(tag, mediatype);

pub(crate) struct DbManifestStore {
    pub(crate) db: Database,
}

#[derive(Debug, thiserror::Error)]
enum TxError {
    #[error("unknown blob {0}")]
    UnknownBlob(String),
    #[error("unknown child {0}")]
    UnknownChild(String),
    #[error("missing lookup {0}")]
    Lookup(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

impl TxError {
    fn into_port(self, context: &str) -> ManifestStoreError {
        match self {
            Self::UnknownBlob(d) => ManifestStoreError::UnknownBlob(d),
            Self::UnknownChild(d) => ManifestStoreError::UnknownChild(d),
            Self::Lookup(l) => ManifestStoreError::MissingLookup(l),
            Self::Db(e)
                if is_unique_violation_on(&e, "manifest") || is_unique_violation_on(&e, "tag") =>
            {
                ManifestStoreError::Conflict
            }
            Self::Db(e) => {
                let e = backend(context.to_owned(), e);
                if e.is_retryable() {
                    ManifestStoreError::Conflict
                } else {
                    ManifestStoreError::Backend(e)
                }
            }
        }
    }
}

type ManifestRow = (i32, String, String, String, Option<String>, Option<String>);

fn stored(r: ManifestRow) -> StoredManifest {
    StoredManifest {
        id: i64::from(r.0),
        digest: r.1,
        media_type: r.2,
        bytes: r.3,
        artifact_type: r.4,
        config_media_type: r.5,
    }
}

macro_rules! manifest_select {
    () => {
        manifest::table.inner_join(mediatype::table).select((
            manifest::id,
            manifest::digest,
            mediatype::name,
            manifest::manifest_bytes,
            manifest::artifact_type,
            manifest::config_media_type,
        ))
    };
}

/// The live, visible tag row `(id, manifest_id)` named `$name`.
macro_rules! live_tag {
    ($c:expr, $repo:expr, $name:expr, $now:expr) => {
        tag::table
            .filter(tag::repository_id.eq($repo))
            .filter(tag::name.eq($name))
            .filter(tag::hidden.eq(false))
            .filter(
                tag::lifetime_end_ms
                    .is_null()
                    .or(tag::lifetime_end_ms.gt($now)),
            )
            .select((tag::id, tag::manifest_id))
            .order(tag::id.desc())
            .first::<(i32, Option<i32>)>($c)
            .await
            .optional()
    };
}

#[async_trait]
impl ManifestStore for DbManifestStore {
    async fn find_manifest(
        &self,
        repository: RepositoryId,
        digest: &str,
    ) -> Result<Option<StoredManifest>, ManifestStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let row: Option<ManifestRow> = db_run!(conn, |c| {
            manifest_select!()
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(digest))
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a manifest", e))?;
        Ok(row.map(stored))
    }

    async fn find_tagged_manifest(
        &self,
        repository: RepositoryId,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<StoredManifest>, ManifestStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        // One statement: the manifest of the newest live tag row (`live_tag!`'s choice).
        let live_manifest = tag::table
            .filter(tag::repository_id.eq(repo))
            .filter(tag::name.eq(name))
            .filter(tag::hidden.eq(false))
            .filter(
                tag::lifetime_end_ms
                    .is_null()
                    .or(tag::lifetime_end_ms.gt(now_ms)),
            )
            .select(tag::manifest_id)
            .order(tag::id.desc())
            .single_value();
        let row: Option<ManifestRow> = db_run!(conn, |c| {
            manifest_select!()
                .filter(manifest::id.nullable().eq(live_manifest))
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a tag", e))?;
        Ok(row.map(stored))
    }

    async fn commit_manifest_push(&self, push: &ManifestPush) -> Result<i64, ManifestStoreError> {
        let repo = key(push.repository.0)
            .ok_or_else(|| ManifestStoreError::MissingLookup("repository".into()))?;
        let now = naive(push.now);
        let mut conn = self.db.conn(Route::Primary).await?;
        let lock_sql = push
            .tag
            .as_ref()
            .and_then(|t| advisory_lock_sql(&conn, t.lock_id));
        let quota_refused = std::sync::atomic::AtomicBool::new(false);
        let result: Result<Option<i32>, TxError> = db_write!(conn, |c| {
            if let Some(sql) = lock_sql.as_deref() {
                diesel::sql_query(sql).execute(c).await?;
            }
            let existing: Option<i32> = manifest::table
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(push.digest.as_str()))
                .select(manifest::id)
                .first(c)
                .await
                .optional()?;
            let manifest_id = match existing {
                Some(id) => id,
                None => account_new_manifest!(
                    c,
                    &push.quota,
                    repo,
                    insert_manifest!(c, push, repo, now)
                ),
            };
            if refuse_over_quota!(c, &push.quota, repo, manifest_id, existing.is_none()) {
                quota_refused.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(None);
            }
            let Some(by_policy) = write_tags!(c, push, repo, manifest_id) else {
                return Ok(None);
            };
            if by_policy
                && let Some(check) = push.tag.as_ref().and_then(|t| t.policy_audit.as_ref())
            {
                insert_entry!(c, &check.audit)?;
            }
            if let Some(entry) = &push.audit {
                insert_entry!(c, entry)?;
            }
            Ok(Some(manifest_id))
        });
        match result.map_err(|e| e.into_port("storing a manifest"))? {
            None if quota_refused.into_inner() => Err(ManifestStoreError::QuotaExceeded),
            Some(id) => Ok(i64::from(id)),
            None => Err(ManifestStoreError::TagImmutable(
                push.tag
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
            )),
        }
    }

    async fn delete_tag(
        &self,
        repository: RepositoryId,
        name: &str,
        deletion: &TagDeletion,
    ) -> Result<Option<String>, ManifestStoreError> {
        rules::delete_tag(&self.db, repository, name, deletion).await
    }

    async fn delete_manifest_tags(
        &self,
        repository: RepositoryId,
        digest: &str,
        deletion: &TagDeletion,
    ) -> Result<Option<Vec<String>>, ManifestStoreError> {
        rules::delete_manifest_tags(&self.db, repository, digest, deletion).await
    }

    async fn quay_labels(
        &self,
        repository: RepositoryId,
        digests: &[String],
    ) -> Result<Vec<Option<Vec<(String, String)>>>, ManifestStoreError> {
        rules::quay_labels(&self.db, repository, digests).await
    }

    async fn list_referrers(
        &self,
        repository: RepositoryId,
        digest: &str,
        now_ms: i64,
    ) -> Result<Vec<StoredManifest>, ManifestStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(Vec::new());
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let rows: Vec<ManifestRow> = db_run!(conn, |c| {
            async {
                let candidates: Vec<ManifestRow> = manifest_select!()
                    .filter(manifest::repository_id.eq(repo))
                    .filter(manifest::subject.eq(digest))
                    .order(manifest::id.asc())
                    .load(c)
                    .await?;
                let mut alive = Vec::with_capacity(candidates.len());
                for row in candidates {
                    let live: i64 = tag::table
                        .filter(tag::manifest_id.eq(row.0))
                        .filter(
                            tag::lifetime_end_ms
                                .is_null()
                                .or(tag::lifetime_end_ms.gt(now_ms)),
                        )
                        .count()
                        .get_result(c)
                        .await?;
                    if live > 0 {
                        alive.push(row);
                    }
                }
                Ok::<_, diesel::result::Error>(alive)
            }
            .await
        })
        .map_err(|e| backend("listing referrers", e))?;
        Ok(rows.into_iter().map(stored).collect())
    }

    async fn create_repository(
        &self,
        new: &NewRepository,
    ) -> Result<Repository, ManifestStoreError> {
        repositories::create(&self.db, new).await
    }

    async fn catalog_page(
        &self,
        account: Option<quay_domain::user::UserId>,
        include_public: bool,
        start_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, ManifestStoreError> {
        repositories::catalog_page(&self.db, account, include_public, start_id, limit).await
    }
}
