//! Tag deletions with Quay's immutability, pull-statistics, tag-notification, child-manifest
//! and cosign-sibling rules (`data/model/oci/tag.py`: `delete_tag`, `delete_tags_for_manifest`,
//! `_delete_tag`, `reset_child_manifest_expiration`, `_expire_cosign_sibling_tags`;
//! `data/model/notification.py`: `delete_tag_notifications_for_tag`), all in the transaction
//! that closes the tags, and the `quay*` label reads the push needs to decide
//! immutability and expiry (the policies are read in the push transaction: `super::push`).
//!
//! A deletion transaction takes the `retarget_tag:<repo id>` advisory lock first (PostgreSQL).
//! Quay takes it only when it reaches the cosign siblings, after closing the tag; taking it
//! before any write gives the same rows without the lock-order inversion against a push
//! (which takes the lock, then updates tag rows).

use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::RepositoryId;
use quay_ports::store::{ManifestStoreError, TagDeletion};

use super::super::blob::advisory_lock_sql;
use super::super::key;
use super::super::policy_schema::{tagnotificationsuccess, tagpullstatistics};
use super::super::registry_schema::{label, manifest, manifestchild, manifestlabel};
use super::cosign::expire_cosign_siblings;
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;
use crate::schema::tag;

/// A live tag row: `(id, name, manifest_id, immutable, hidden)`.
type LiveTag = (i32, String, Option<i32>, bool, bool);

/// What a deletion transaction found.
enum Deleted<T> {
    /// Done; the value to return.
    Done(T),
    /// The named live tag is immutable; nothing changed.
    Immutable(String),
}

fn finish<T>(
    result: Result<Deleted<T>, diesel::result::Error>,
    context: &str,
) -> Result<T, ManifestStoreError> {
    match result.map_err(|e| backend(context.to_owned(), e))? {
        Deleted::Done(v) => Ok(v),
        Deleted::Immutable(name) => Err(ManifestStoreError::TagImmutable(name)),
    }
}

/// Live tag rows `(id, name, manifest_id, immutable, hidden)` of `$repo` matching `$filter`.
macro_rules! live_tags {
    ($c:expr, $repo:expr, $now:expr, $filter:expr) => {
        tag::table
            .filter(tag::repository_id.eq($repo))
            .filter($filter)
            .filter(
                tag::lifetime_end_ms
                    .is_null()
                    .or(tag::lifetime_end_ms.gt($now)),
            )
            .select((
                tag::id,
                tag::name,
                tag::manifest_id,
                tag::immutable,
                tag::hidden,
            ))
    };
}

/// Closes one tag row with Quay's `_delete_tag` side effects: its pull statistics when asked
/// (`FEATURE_IMAGE_PULL_STATS`), its `tagnotificationsuccess` rows
/// (`delete_tag_notifications_for_tag`) and, when asked (`RESET_CHILD_MANIFEST_EXPIRATION`),
/// the hidden `$temp-` tags of its manifest's children ending after `now`
/// (`reset_child_manifest_expiration`).
macro_rules! close_tag {
    ($c:expr, $repo:expr, $id:expr, $name:expr, $manifest:expr, $deletion:expr) => {{
        if $deletion.clear_pull_statistics {
            diesel::delete(
                tagpullstatistics::table
                    .filter(tagpullstatistics::repository_id.eq($repo))
                    .filter(tagpullstatistics::tag_name.eq($name)),
            )
            .execute($c)
            .await?;
        }
        diesel::delete(
            tagnotificationsuccess::table.filter(tagnotificationsuccess::tag_id.eq($id)),
        )
        .execute($c)
        .await?;
        diesel::update(tag::table.filter(tag::id.eq($id)))
            .set(tag::lifetime_end_ms.eq(Some($deletion.now_ms)))
            .execute($c)
            .await?;
        if $deletion.reset_child_expiration
            && let Some(list) = $manifest
        {
            let children: Vec<i32> = manifestchild::table
                .filter(manifestchild::repository_id.eq($repo))
                .filter(manifestchild::manifest_id.eq(list))
                .select(manifestchild::child_manifest_id)
                .load($c)
                .await?;
            if !children.is_empty() {
                diesel::update(
                    tag::table
                        .filter(tag::repository_id.eq($repo))
                        .filter(tag::manifest_id.eq_any(children))
                        .filter(tag::lifetime_end_ms.gt($deletion.now_ms))
                        .filter(tag::name.like("$temp-%"))
                        .filter(tag::hidden.eq(true)),
                )
                .set(tag::lifetime_end_ms.eq(Some($deletion.now_ms)))
                .execute($c)
                .await?;
            }
        }
    }};
}

pub(super) async fn delete_tag(
    db: &Database,
    repository: RepositoryId,
    name: &str,
    deletion: &TagDeletion,
) -> Result<Option<String>, ManifestStoreError> {
    let Some(repo) = key(repository.0) else {
        return Ok(None);
    };
    let mut conn = db.conn(Route::Primary).await?;
    let lock_sql = advisory_lock_sql(&conn, deletion.lock_id);
    let result: Result<Deleted<Option<String>>, diesel::result::Error> = db_write!(conn, |c| {
        if let Some(sql) = lock_sql.as_deref() {
            diesel::sql_query(sql).execute(c).await?;
        }
        let found: Option<LiveTag> = live_tags!(c, repo, deletion.now_ms, tag::name.eq(name))
            .filter(tag::hidden.eq(false))
            .order(tag::id.desc())
            .first(c)
            .await
            .optional()?;
        let Some((id, tag_name, manifest_id, immutable, _)) = found else {
            return Ok(Deleted::Done(None));
        };
        if deletion.refuse_immutable && immutable {
            return Ok(Deleted::Immutable(tag_name));
        }
        close_tag!(c, repo, id, tag_name.as_str(), manifest_id, deletion);
        let digest: Option<String> = match manifest_id {
            Some(m) => manifest::table
                .filter(manifest::id.eq(m))
                .select(manifest::digest)
                .first(c)
                .await
                .optional()?,
            None => None,
        };
        if let (Some(m), Some(d)) = (manifest_id, digest.as_deref())
            && !quay_domain::tag::is_cosign_tag_schema(&tag_name)
        {
            expire_cosign_siblings!(c, repo, d, deletion.now_ms, Some(m), Some(id));
        }
        Ok(Deleted::Done(Some(digest.unwrap_or_default())))
    });
    finish(result, "deleting a tag")
}

pub(super) async fn delete_manifest_tags(
    db: &Database,
    repository: RepositoryId,
    digest: &str,
    deletion: &TagDeletion,
) -> Result<Option<Vec<String>>, ManifestStoreError> {
    let Some(repo) = key(repository.0) else {
        return Ok(None);
    };
    let mut conn = db.conn(Route::Primary).await?;
    let lock_sql = advisory_lock_sql(&conn, deletion.lock_id);
    let result: Result<Deleted<Option<Vec<String>>>, diesel::result::Error> =
        db_write!(conn, |c| {
            if let Some(sql) = lock_sql.as_deref() {
                diesel::sql_query(sql).execute(c).await?;
            }
            let id: Option<i32> = manifest::table
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(digest))
                .select(manifest::id)
                .first(c)
                .await
                .optional()?;
            let Some(id) = id else {
                return Ok(Deleted::Done(None));
            };
            let tags: Vec<LiveTag> = live_tags!(c, repo, deletion.now_ms, tag::manifest_id.eq(id))
                .order(tag::id.asc())
                .load(c)
                .await?;
            if deletion.refuse_immutable
                && let Some((_, name, _, _, _)) = tags.iter().find(|t| t.3)
            {
                return Ok(Deleted::Immutable(name.clone()));
            }
            for (tag_id, name, manifest_id, _, _) in &tags {
                close_tag!(c, repo, *tag_id, name.as_str(), *manifest_id, deletion);
            }
            // Once, after every tag is closed, when a visible non-cosign tag was among them
            // (Quay's subject tag; the hidden ones closed here are tags Quay does not delete).
            if tags
                .iter()
                .any(|(_, n, _, _, hidden)| !hidden && !quay_domain::tag::is_cosign_tag_schema(n))
            {
                expire_cosign_siblings!(c, repo, digest, deletion.now_ms, Some(id), None);
            }
            Ok(Deleted::Done(Some(
                tags.into_iter().map(|(_, n, _, _, _)| n).collect(),
            )))
        });
    finish(result, "deleting a manifest's tags")
}

pub(super) async fn quay_labels(
    db: &Database,
    repository: RepositoryId,
    digests: &[String],
) -> Result<Vec<Option<Vec<(String, String)>>>, ManifestStoreError> {
    let Some(repo) = key(repository.0) else {
        return Ok(vec![None; digests.len()]);
    };
    let mut conn = db.conn(Route::Primary).await?;
    let labels: Vec<Option<Vec<(String, String)>>> = db_run!(conn, |c| {
        async {
            let mut all = Vec::with_capacity(digests.len());
            for digest in digests {
                let id: Option<i32> = manifest::table
                    .filter(manifest::repository_id.eq(repo))
                    .filter(manifest::digest.eq(digest.as_str()))
                    .select(manifest::id)
                    .first(c)
                    .await
                    .optional()?;
                let labels = match id {
                    None => None,
                    Some(id) => Some(
                        manifestlabel::table
                            .inner_join(label::table.on(label::id.eq(manifestlabel::label_id)))
                            .filter(manifestlabel::manifest_id.eq(id))
                            .filter(label::key.like("quay%"))
                            .order(label::id.asc())
                            .select((label::key, label::value))
                            .load(c)
                            .await?,
                    ),
                };
                all.push(labels);
            }
            Ok::<_, diesel::result::Error>(all)
        }
        .await
    })
    .map_err(|e| backend("reading manifest labels", e))?;
    Ok(labels)
}
