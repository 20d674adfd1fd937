//! [`ManifestStore`] on `manifest`, `manifestblob`, `manifestchild` and `tag`, written as
//! Python Quay's `data/model/oci/manifest.py` and `tag.py` write them:
//! - `manifest`: bytes in the row, `subject_backfilled` and `artifact_type_backfilled` true;
//! - `manifestblob`: one row per distinct storage, in ascending storage id (Python iterates a
//!   set of small ints);
//! - `manifestchild`: one row per distinct child, in the list's order;
//! - `tag`: a retarget closes the live row and inserts a new one under the advisory lock
//!   `retarget_tag:<repo id>`; a push by digest adds a hidden `$temp-` tag unless a tag already
//!   keeps the manifest alive.

use async_trait::async_trait;
use chrono::Days;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::{
    Repository, RepositoryId, RepositoryKind, RepositoryState, Visibility,
};
use quay_ports::store::{
    ManifestPush, ManifestStore, ManifestStoreError, NewRepository, StoredManifest,
};

use super::audit::insert_entry;
use super::blob::advisory_lock_sql;
use super::registry_schema::{
    label, labelsourcetype, manifest, manifestblob, manifestchild, manifestlabel, mediatype,
    repositoryactioncount, repositorysearchscore,
    tagkind,
};
use super::registry_sql::{id_by_name, visible_blob_id};
use super::{key, naive};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::{backend, is_unique_violation_on};
use crate::schema::{
    repository, repositorykind, repositorypermission, role, team, teammember, teamrole, tag, user,
    visibility,
};

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

/// Inserts a new manifest with its blob and child links; evaluates to its id. Fails with
/// `TxError::UnknownBlob`/`UnknownChild`/`Lookup`.
macro_rules! insert_manifest {
    ($c:expr, $push:expr, $repo:expr, $now:expr) => {{
        let (c, push, repo, now) = (&mut *$c, $push, $repo, $now);
        let media_type = id_by_name!(c, mediatype, push.media_type.as_str())?
            .ok_or_else(|| TxError::Lookup(push.media_type.clone()))?;
        let mut blob_ids = Vec::with_capacity(push.blob_digests.len());
        for digest in &push.blob_digests {
            let id = visible_blob_id!(c, repo, digest.as_str(), now)?
                .ok_or_else(|| TxError::UnknownBlob(digest.clone()))?;
            blob_ids.push(id);
        }
        blob_ids.sort_unstable();
        blob_ids.dedup();
        let mut child_ids: Vec<i32> = Vec::new();
        for digest in &push.child_digests {
            let id: Option<i32> = manifest::table
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(digest.as_str()))
                .select(manifest::id)
                .first(c)
                .await
                .optional()?;
            match id {
                Some(id) if !child_ids.contains(&id) => child_ids.push(id),
                Some(_) => {}
                None if push.optional_children.contains(digest) => {}
                None => return Err(TxError::UnknownChild(digest.clone())),
            }
        }
        let id: i32 = diesel::insert_into(manifest::table)
            .values((
                manifest::repository_id.eq(repo),
                manifest::digest.eq(push.digest.as_str()),
                manifest::media_type_id.eq(media_type),
                manifest::manifest_bytes.eq(push.bytes.as_str()),
                manifest::config_media_type.eq(push.config_media_type.as_deref()),
                manifest::layers_compressed_size.eq(push.layers_compressed_size),
                manifest::subject.eq(push.subject.as_deref()),
                manifest::subject_backfilled.eq(Some(true)),
                manifest::artifact_type.eq(push.artifact_type.as_deref()),
                manifest::artifact_type_backfilled.eq(Some(true)),
            ))
            .returning(manifest::id)
            .get_result(c)
            .await?;
        for blob in blob_ids {
            diesel::insert_into(manifestblob::table)
                .values((
                    manifestblob::repository_id.eq(repo),
                    manifestblob::manifest_id.eq(id),
                    manifestblob::blob_id.eq(blob),
                ))
                .execute(c)
                .await?;
        }
        for child in child_ids {
            diesel::insert_into(manifestchild::table)
                .values((
                    manifestchild::repository_id.eq(repo),
                    manifestchild::manifest_id.eq(id),
                    manifestchild::child_manifest_id.eq(child),
                ))
                .execute(c)
                .await?;
        }
        if !push.labels.is_empty() {
            let source = id_by_name!(c, labelsourcetype, "manifest")?
                .ok_or_else(|| TxError::Lookup("labelsourcetype manifest".into()))?;
            for l in &push.labels {
                let media = id_by_name!(c, mediatype, l.media_type.as_str())?
                    .ok_or_else(|| TxError::Lookup(l.media_type.clone()))?;
                let label_id: i32 = diesel::insert_into(label::table)
                    .values((
                        label::uuid.eq(l.uuid.as_str()),
                        label::key.eq(l.key.as_str()),
                        label::value.eq(l.value.as_str()),
                        label::media_type_id.eq(media),
                        label::source_type_id.eq(source),
                    ))
                    .returning(label::id)
                    .get_result(c)
                    .await?;
                diesel::insert_into(manifestlabel::table)
                    .values((
                        manifestlabel::repository_id.eq(repo),
                        manifestlabel::manifest_id.eq(id),
                        manifestlabel::label_id.eq(label_id),
                    ))
                    .execute(c)
                    .await?;
            }
        }
        id
    }};
}

/// Moves the tag or adds the temporary tag of a push.
macro_rules! write_tags {
    ($c:expr, $push:expr, $repo:expr, $manifest_id:expr) => {{
        let (c, push, repo, manifest_id) = (&mut *$c, $push, $repo, $manifest_id);
        let tag_kind = if push.tag.is_some() || push.temp_tag.is_some() {
            id_by_name!(c, tagkind, "tag")?.ok_or_else(|| TxError::Lookup("tagkind tag".into()))?
        } else {
            0
        };
        if let Some(t) = &push.tag {
            if let Some((old, _)) = live_tag!(c, repo, t.name.as_str(), t.now_ms)? {
                diesel::update(tag::table.filter(tag::id.eq(old)))
                    .set(tag::lifetime_end_ms.eq(Some(t.now_ms)))
                    .execute(c)
                    .await?;
            }
            diesel::insert_into(tag::table)
                .values((
                    tag::name.eq(t.name.as_str()),
                    tag::repository_id.eq(repo),
                    tag::manifest_id.eq(Some(manifest_id)),
                    tag::lifetime_start_ms.eq(t.now_ms),
                    tag::lifetime_end_ms.eq(None::<i64>),
                    tag::hidden.eq(false),
                    tag::reversion.eq(false),
                    tag::tag_kind_id.eq(tag_kind),
                    tag::linked_tag_id.eq(None::<i32>),
                ))
                .execute(c)
                .await?;
        }
        if let Some(t) = &push.temp_tag {
            let keeps = tag::table
                .filter(tag::manifest_id.eq(manifest_id))
                .filter(tag::lifetime_end_ms.is_null());
            let kept: i64 = match t.end_ms {
                None => keeps.count().get_result(c).await?,
                Some(end) => {
                    tag::table
                        .filter(tag::manifest_id.eq(manifest_id))
                        .filter(
                            tag::lifetime_end_ms
                                .is_null()
                                .or(tag::lifetime_end_ms.ge(end)),
                        )
                        .count()
                        .get_result(c)
                        .await?
                }
            };
            if kept == 0 {
                diesel::insert_into(tag::table)
                    .values((
                        tag::name.eq(t.name.as_str()),
                        tag::repository_id.eq(repo),
                        tag::manifest_id.eq(Some(manifest_id)),
                        tag::lifetime_start_ms.eq(t.now_ms),
                        tag::lifetime_end_ms.eq(t.end_ms),
                        tag::hidden.eq(true),
                        tag::reversion.eq(false),
                        tag::tag_kind_id.eq(tag_kind),
                        tag::linked_tag_id.eq(None::<i32>),
                    ))
                    .execute(c)
                    .await?;
            }
        }
    }};
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
        let row: Option<ManifestRow> = db_run!(conn, |c| {
            async {
                let Some((_, Some(manifest_id))) = live_tag!(c, repo, name, now_ms)? else {
                    return Ok::<_, diesel::result::Error>(None);
                };
                manifest_select!()
                    .filter(manifest::id.eq(manifest_id))
                    .first(c)
                    .await
                    .optional()
            }
            .await
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
        let result: Result<i32, TxError> = db_write!(conn, |c| {
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
                None => insert_manifest!(c, push, repo, now),
            };
            write_tags!(c, push, repo, manifest_id);
            if let Some(entry) = &push.audit {
                insert_entry!(c, entry)?;
            }
            Ok(manifest_id)
        });
        result
            .map(i64::from)
            .map_err(|e| e.into_port("storing a manifest"))
    }

    async fn delete_tag(
        &self,
        repository: RepositoryId,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<String>, ManifestStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let digest: Option<String> = db_write!(conn, |c| {
            let Some((id, manifest_id)) = live_tag!(c, repo, name, now_ms)? else {
                return Ok::<_, diesel::result::Error>(None);
            };
            diesel::update(tag::table.filter(tag::id.eq(id)))
                .set(tag::lifetime_end_ms.eq(Some(now_ms)))
                .execute(c)
                .await?;
            let digest: Option<String> = match manifest_id {
                Some(m) => manifest::table
                    .filter(manifest::id.eq(m))
                    .select(manifest::digest)
                    .first(c)
                    .await
                    .optional()?,
                None => None,
            };
            Ok(Some(digest.unwrap_or_default()))
        })
        .map_err(|e| backend("deleting a tag", e))?;
        Ok(digest)
    }

    async fn delete_manifest_tags(
        &self,
        repository: RepositoryId,
        digest: &str,
        now_ms: i64,
    ) -> Result<Option<Vec<String>>, ManifestStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let names: Option<Vec<String>> = db_write!(conn, |c| {
            let id: Option<i32> = manifest::table
                .filter(manifest::repository_id.eq(repo))
                .filter(manifest::digest.eq(digest))
                .select(manifest::id)
                .first(c)
                .await
                .optional()?;
            let Some(id) = id else {
                return Ok::<_, diesel::result::Error>(None);
            };
            let live = tag::table
                .filter(tag::repository_id.eq(repo))
                .filter(tag::manifest_id.eq(id))
                .filter(
                    tag::lifetime_end_ms
                        .is_null()
                        .or(tag::lifetime_end_ms.gt(now_ms)),
                );
            let tags: Vec<(i32, String)> = live
                .select((tag::id, tag::name))
                .order(tag::id.asc())
                .load(c)
                .await?;
            for (tag_id, _) in &tags {
                diesel::update(tag::table.filter(tag::id.eq(*tag_id)))
                    .set(tag::lifetime_end_ms.eq(Some(now_ms)))
                    .execute(c)
                    .await?;
            }
            Ok(Some(tags.into_iter().map(|(_, n)| n).collect()))
        })
        .map_err(|e| backend("deleting a manifest's tags", e))?;
        Ok(names)
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
        let namespace_id = key(new.namespace_id.0)
            .ok_or_else(|| ManifestStoreError::MissingLookup("namespace".into()))?;
        let yesterday = new
            .now
            .date_naive()
            .checked_sub_days(Days::new(1))
            .unwrap_or_else(|| new.now.date_naive());
        let admin = new.admin.and_then(|a| key(a.0));
        let name = new.name.as_str();
        let mut conn = self.db.conn(Route::Primary).await?;
        let result: Result<(i32, String, i32), TxError> = db_write!(conn, |c| {
            let existing: Option<(i32, i32, i32)> = repository::table
                .filter(repository::namespace_user_id.eq(namespace_id))
                .filter(repository::name.eq(name))
                .select((repository::id, repository::visibility_id, repository::state))
                .first(c)
                .await
                .optional()?;
            if let Some((id, visibility_id, state)) = existing {
                let vis: String = visibility::table
                    .filter(visibility::id.eq(visibility_id))
                    .select(visibility::name)
                    .first(c)
                    .await?;
                return Ok((id, vis, state));
            }
            let vis = id_by_name!(c, visibility, new.visibility.as_str())?
                .ok_or_else(|| TxError::Lookup(format!("visibility {}", new.visibility)))?;
            let kind = id_by_name!(c, repositorykind, "image")?
                .ok_or_else(|| TxError::Lookup("repositorykind image".into()))?;
            let id: i32 = diesel::insert_into(repository::table)
                .values((
                    repository::namespace_user_id.eq(Some(namespace_id)),
                    repository::name.eq(name),
                    repository::visibility_id.eq(vis),
                    repository::description.eq(None::<String>),
                    repository::badge_token.eq(new.badge_token.as_str()),
                    repository::kind_id.eq(kind),
                    repository::trust_enabled.eq(false),
                    repository::state.eq(0),
                ))
                .returning(repository::id)
                .get_result(c)
                .await?;
            diesel::insert_into(repositoryactioncount::table)
                .values((
                    repositoryactioncount::repository_id.eq(id),
                    repositoryactioncount::count.eq(0),
                    repositoryactioncount::date.eq(yesterday),
                ))
                .execute(c)
                .await?;
            diesel::insert_into(repositorysearchscore::table)
                .values((
                    repositorysearchscore::repository_id.eq(id),
                    repositorysearchscore::score.eq(0_i64),
                    repositorysearchscore::last_updated.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(c)
                .await?;
            if let Some(user) = admin {
                let role_id = id_by_name!(c, role, "admin")?
                    .ok_or_else(|| TxError::Lookup("role admin".into()))?;
                diesel::insert_into(repositorypermission::table)
                    .values((
                        repositorypermission::team_id.eq(None::<i32>),
                        repositorypermission::user_id.eq(Some(user)),
                        repositorypermission::repository_id.eq(id),
                        repositorypermission::role_id.eq(role_id),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok((id, new.visibility.clone(), 0))
        });
        let (id, vis, state) = result.map_err(|e| e.into_port("creating a repository"))?;
        Ok(Repository {
            id: RepositoryId(i64::from(id)),
            namespace_id: new.namespace_id,
            namespace: new.namespace.clone(),
            name: new.name.clone(),
            visibility: Visibility::from_name(&vis).unwrap_or(Visibility::Private),
            kind: RepositoryKind::Image,
            state: RepositoryState::from_code(state).unwrap_or(RepositoryState::Normal),
            description: None,
            trust_enabled: false,
        })
    }

    async fn catalog_page(
        &self,
        account: Option<quay_domain::user::UserId>,
        include_public: bool,
        start_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, ManifestStoreError> {
        let account = account.and_then(|a| key(a.0));
        if account.is_none() && !include_public {
            return Ok(Vec::new());
        }
        let start = start_id.and_then(|s| i32::try_from(s).ok()).unwrap_or(0);
        let limit = i64::from(limit);
        let mut conn = self.db.conn(Route::Read).await?;
        let rows: Vec<(i32, String, String)> = db_run!(conn, |c| {
            async {
                let Some(image) = id_by_name!(c, repositorykind, "image")? else {
                    return Ok::<_, diesel::result::Error>(Vec::new());
                };
                let public = id_by_name!(c, visibility, "public")?.unwrap_or(-1);
                let admin_role = id_by_name!(c, teamrole, "admin")?.unwrap_or(-1);
                let user_id = account.unwrap_or(-1);
                let mut query = repository::table
                    .inner_join(user::table.on(user::id.nullable().eq(repository::namespace_user_id)))
                    .filter(repository::state.ne(3))
                    .filter(repository::kind_id.eq(image))
                    .filter(repository::id.ge(start))
                    .filter(
                        repository::id
                            .eq_any(
                                repositorypermission::table
                                    .filter(repositorypermission::user_id.eq(user_id))
                                    .select(repositorypermission::repository_id),
                            )
                            .or(repository::id.eq_any(
                                repositorypermission::table
                                    .inner_join(
                                        teammember::table.on(teammember::team_id
                                            .nullable()
                                            .eq(repositorypermission::team_id)),
                                    )
                                    .filter(teammember::user_id.eq(user_id))
                                    .select(repositorypermission::repository_id),
                            ))
                            .or(repository::namespace_user_id.eq_any(
                                team::table
                                    .inner_join(
                                        teammember::table.on(teammember::team_id.eq(team::id)),
                                    )
                                    .filter(team::role_id.eq(admin_role))
                                    .filter(teammember::user_id.eq(user_id))
                                    .select(team::organization_id.nullable()),
                            ))
                            .or(repository::visibility_id
                                .eq(public)
                                .and(diesel::dsl::sql::<diesel::sql_types::Bool>(if include_public {
                                    "1 = 1"
                                } else {
                                    "1 = 0"
                                }))),
                    )
                    .select((repository::id, user::username, repository::name))
                    .order(repository::id.asc())
                    .limit(limit)
                    .into_boxed();
                if account.is_none() {
                    query = query.filter(repository::visibility_id.eq(public));
                }
                query.load(c).await
            }
            .await
        })
        .map_err(|e| backend("listing the catalog", e))?;
        Ok(rows
            .into_iter()
            .map(|(id, ns, name)| (i64::from(id), format!("{ns}/{name}")))
            .collect())
    }
}
