//! [`BlobMetaStore`] on `imagestorage`, `imagestorageplacement` and `uploadedblob`.
//!
//! Rows are written as Python Quay writes them (`data/model/blob.py`): a new `imagestorage`
//! gets a uuid4, `uploading = true` and `cas_path = true` (the model's defaults), one placement
//! per location, and every upload or mount adds an `uploadedblob` link expiring after
//! `PUSH_TEMP_TAG_EXPIRATION_SEC`. Quay has no unique index on `content_checksum`; it serialises
//! creation with a global lock, we with an advisory transaction lock on PostgreSQL (SQLite
//! writers are serialised by `BEGIN IMMEDIATE`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::RepositoryId;
use quay_ports::store::{BlobMetaStore, BlobRecord, BlobStoreError, CommitBlob};

use super::registry_schema::{
    blobupload, imagestorage, imagestoragelocation, imagestorageplacement, uploadedblob,
};
use super::registry_sql::{id_by_name, visible_blob_id};
use super::{key, naive};
use crate::conn::{DbConn, db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;

pub(crate) struct DbBlobStore {
    pub(crate) db: Database,
}

fn to_u64(v: Option<i64>) -> Option<u64> {
    v.and_then(|v| u64::try_from(v).ok())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// `SELECT pg_advisory_xact_lock(<id>)` on PostgreSQL; `None` on SQLite, whose writers are
/// serialised by `BEGIN IMMEDIATE`. The id is an integer, so inlining it is safe.
pub(crate) fn advisory_lock_sql(conn: &DbConn, lock_id: i64) -> Option<String> {
    matches!(conn, DbConn::Pg(_)).then(|| format!("SELECT pg_advisory_xact_lock({lock_id})"))
}

/// A stable advisory lock id for a blob digest (not shared with Python, which uses a Redis lock).
pub(crate) fn blob_lock_id(digest: &str) -> i64 {
    // FNV-1a, 64 bit: cheap and stable across processes.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"BLOB_DELETE_".iter().chain(digest.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

#[derive(Debug, thiserror::Error)]
enum TxError {
    #[error("unknown location")]
    UnknownLocation,
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

#[async_trait]
impl BlobMetaStore for DbBlobStore {
    async fn find_repository_blob(
        &self,
        repository: RepositoryId,
        digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<BlobRecord>, BlobStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let now = naive(now);
        let mut conn = self.db.conn(Route::Primary).await?;
        let found: Option<(Option<i64>, Option<i64>, Vec<String>)> = db_run!(conn, |c| {
            async {
                let Some(id) = visible_blob_id!(c, repo, digest, now)? else {
                    return Ok::<_, diesel::result::Error>(None);
                };
                let (size, uncompressed): (Option<i64>, Option<i64>) = imagestorage::table
                    .filter(imagestorage::id.eq(id))
                    .select((imagestorage::image_size, imagestorage::uncompressed_size))
                    .first(c)
                    .await?;
                let locations: Vec<String> = imagestorageplacement::table
                    .inner_join(imagestoragelocation::table)
                    .filter(imagestorageplacement::storage_id.eq(id))
                    .select(imagestoragelocation::name)
                    .load(c)
                    .await?;
                Ok(Some((size, uncompressed, locations)))
            }
            .await
        })
        .map_err(|e| backend("looking up a blob", e))?;
        Ok(found.map(|(size, uncompressed, locations)| BlobRecord {
            digest: digest.to_owned(),
            size: to_u64(size),
            uncompressed_size: to_u64(uncompressed),
            locations,
        }))
    }

    async fn commit_blob(&self, blob: &CommitBlob) -> Result<(), BlobStoreError> {
        let Some(repo) = key(blob.repository.0) else {
            return Ok(());
        };
        let (now, expires) = (naive(blob.now), naive(blob.link_expires_at));
        let size = to_i64(blob.size);
        let uncompressed = blob.uncompressed_size.map(to_i64);
        let digest = blob.digest.as_str();
        let mut conn = self.db.conn(Route::Primary).await?;
        let lock_sql = advisory_lock_sql(&conn, blob_lock_id(digest));
        let result: Result<(), TxError> = db_write!(conn, |c| {
            if let Some(sql) = lock_sql.as_deref() {
                diesel::sql_query(sql).execute(c).await?;
            }
            let location = id_by_name!(c, imagestoragelocation, blob.location.as_str())?
                .ok_or(TxError::UnknownLocation)?;
            let existing: Option<(i32, Option<i64>, Option<i64>)> = imagestorage::table
                .filter(imagestorage::content_checksum.eq(digest))
                .select((
                    imagestorage::id,
                    imagestorage::image_size,
                    imagestorage::uncompressed_size,
                ))
                .order(imagestorage::id.asc())
                .first(c)
                .await
                .optional()?;
            let storage_id = match existing {
                Some((id, old_size, old_uncompressed)) => {
                    if old_size.is_none() {
                        diesel::update(imagestorage::table.filter(imagestorage::id.eq(id)))
                            .set(imagestorage::image_size.eq(size))
                            .execute(c)
                            .await?;
                    }
                    if old_uncompressed.is_none() && uncompressed.is_some() {
                        diesel::update(imagestorage::table.filter(imagestorage::id.eq(id)))
                            .set(imagestorage::uncompressed_size.eq(uncompressed))
                            .execute(c)
                            .await?;
                    }
                    id
                }
                None => {
                    diesel::insert_into(imagestorage::table)
                        .values((
                            imagestorage::uuid.eq(blob.storage_uuid.as_str()),
                            imagestorage::image_size.eq(Some(size)),
                            imagestorage::uncompressed_size.eq(uncompressed),
                            imagestorage::uploading.eq(Some(true)),
                            imagestorage::cas_path.eq(true),
                            imagestorage::content_checksum.eq(Some(digest)),
                        ))
                        .returning(imagestorage::id)
                        .get_result::<i32>(c)
                        .await?
                }
            };
            let placed: i64 = imagestorageplacement::table
                .filter(imagestorageplacement::storage_id.eq(storage_id))
                .filter(imagestorageplacement::location_id.eq(location))
                .count()
                .get_result(c)
                .await?;
            if placed == 0 {
                diesel::insert_into(imagestorageplacement::table)
                    .values((
                        imagestorageplacement::storage_id.eq(storage_id),
                        imagestorageplacement::location_id.eq(location),
                    ))
                    .execute(c)
                    .await?;
            }
            diesel::insert_into(uploadedblob::table)
                .values((
                    uploadedblob::repository_id.eq(repo),
                    uploadedblob::blob_id.eq(storage_id),
                    uploadedblob::uploaded_at.eq(now),
                    uploadedblob::expires_at.eq(expires),
                ))
                .execute(c)
                .await?;
            if let Some(uuid) = blob.finished_upload.as_deref() {
                diesel::delete(
                    blobupload::table
                        .filter(blobupload::repository_id.eq(repo))
                        .filter(blobupload::uuid.eq(uuid)),
                )
                .execute(c)
                .await?;
            }
            Ok(())
        });
        match result {
            Ok(()) => Ok(()),
            Err(TxError::UnknownLocation) => {
                Err(BlobStoreError::UnknownLocation(blob.location.clone()))
            }
            Err(TxError::Db(e)) => Err(backend("recording a blob", e).into()),
        }
    }

    async fn link_blob(
        &self,
        repository: RepositoryId,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, BlobStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(false);
        };
        let (now, expires) = (naive(now), naive(expires_at));
        let mut conn = self.db.conn(Route::Primary).await?;
        let linked: bool = db_write!(conn, |c| {
            let id: Option<i32> = imagestorage::table
                .filter(imagestorage::content_checksum.eq(digest))
                .select(imagestorage::id)
                .order(imagestorage::id.asc())
                .first(c)
                .await
                .optional()?;
            let Some(id) = id else {
                return Ok::<_, diesel::result::Error>(false);
            };
            diesel::insert_into(uploadedblob::table)
                .values((
                    uploadedblob::repository_id.eq(repo),
                    uploadedblob::blob_id.eq(id),
                    uploadedblob::uploaded_at.eq(now),
                    uploadedblob::expires_at.eq(expires),
                ))
                .execute(c)
                .await?;
            Ok(true)
        })
        .map_err(|e| backend("linking a blob", e))?;
        Ok(linked)
    }

    async fn ensure_locations(&self, names: &[String]) -> Result<(), BlobStoreError> {
        let mut conn = self.db.conn(Route::Primary).await?;
        db_write!(conn, |c| {
            for name in names {
                if id_by_name!(c, imagestoragelocation, name.as_str())?.is_none() {
                    diesel::insert_into(imagestoragelocation::table)
                        .values(imagestoragelocation::name.eq(name.as_str()))
                        .execute(c)
                        .await?;
                }
            }
            Ok::<_, diesel::result::Error>(())
        })
        .map_err(|e| backend("registering storage locations", e))?;
        Ok(())
    }
}
