//! [`UploadStore`] on Quay's `blobupload` table.
//!
//! `sha_state` holds base64 of Python's pickled resumable SHA-256 (what the port hands us as
//! raw pickle bytes), `storage_metadata` the driver's JSON text, and `created` is always written
//! explicitly (the SQLite schema's default is a fixed timestamp).

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_domain::repository::RepositoryId;
use quay_ports::store::{ChunkRecord, UploadRecord, UploadStore, UploadStoreError};

use super::registry_schema::{blobupload, imagestoragelocation};
use super::registry_sql::id_by_name;
use super::{key, naive, utc};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::{backend, corrupt};

pub(crate) struct DbUploadStore {
    pub(crate) db: Database,
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn small(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[derive(Queryable)]
struct Row {
    repository_id: i32,
    uuid: String,
    byte_count: i64,
    sha_state: Option<String>,
    storage_metadata: Option<String>,
    chunk_count: i32,
    uncompressed_byte_count: Option<i64>,
    created: chrono::NaiveDateTime,
    location: String,
}

impl TryFrom<Row> for UploadRecord {
    type Error = quay_ports::store::BackendError;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let bad = |what: &str| corrupt(format!("blobupload {}: {what}", r.uuid));
        let sha_state = match r.sha_state.as_deref() {
            None | Some("") => None,
            Some(text) => Some(STANDARD.decode(text).map_err(|_| bad("sha_state"))?),
        };
        Ok(UploadRecord {
            repository: RepositoryId(i64::from(r.repository_id)),
            byte_count: u64::try_from(r.byte_count).map_err(|_| bad("byte_count"))?,
            chunk_count: u64::try_from(r.chunk_count).map_err(|_| bad("chunk_count"))?,
            uncompressed_byte_count: r
                .uncompressed_byte_count
                .and_then(|v| u64::try_from(v).ok()),
            sha_state,
            storage_metadata: r.storage_metadata.unwrap_or_else(|| "{}".to_owned()),
            location: r.location,
            created: utc(r.created),
            uuid: r.uuid,
        })
    }
}

#[async_trait]
impl UploadStore for DbUploadStore {
    async fn create_upload(&self, upload: &UploadRecord) -> Result<(), UploadStoreError> {
        let repo = key(upload.repository.0).ok_or(UploadStoreError::NotFound)?;
        let sha_state = upload.sha_state.as_ref().map(|s| STANDARD.encode(s));
        let created = naive(upload.created);
        let mut conn = self.db.conn(Route::Primary).await?;
        let inserted: Option<()> = db_write!(conn, |c| {
            let Some(location) = id_by_name!(c, imagestoragelocation, upload.location.as_str())?
            else {
                return Ok::<_, diesel::result::Error>(None);
            };
            diesel::insert_into(blobupload::table)
                .values((
                    blobupload::repository_id.eq(repo),
                    blobupload::uuid.eq(upload.uuid.as_str()),
                    blobupload::byte_count.eq(count(upload.byte_count)),
                    blobupload::sha_state.eq(sha_state.as_deref()),
                    blobupload::location_id.eq(location),
                    blobupload::storage_metadata.eq(Some(upload.storage_metadata.as_str())),
                    blobupload::chunk_count.eq(small(upload.chunk_count)),
                    blobupload::uncompressed_byte_count
                        .eq(upload.uncompressed_byte_count.map(count)),
                    blobupload::created.eq(created),
                ))
                .execute(c)
                .await?;
            Ok(Some(()))
        })
        .map_err(|e| backend("creating an upload", e))?;
        inserted.ok_or_else(|| UploadStoreError::UnknownLocation(upload.location.clone()))
    }

    async fn find_upload(
        &self,
        repository: RepositoryId,
        uuid: &str,
    ) -> Result<Option<UploadRecord>, UploadStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(None);
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        let row: Option<Row> = db_run!(conn, |c| {
            blobupload::table
                .inner_join(
                    imagestoragelocation::table
                        .on(imagestoragelocation::id.eq(blobupload::location_id)),
                )
                .filter(blobupload::repository_id.eq(repo))
                .filter(blobupload::uuid.eq(uuid))
                .select((
                    blobupload::repository_id,
                    blobupload::uuid,
                    blobupload::byte_count,
                    blobupload::sha_state,
                    blobupload::storage_metadata,
                    blobupload::chunk_count,
                    blobupload::uncompressed_byte_count,
                    blobupload::created,
                    imagestoragelocation::name,
                ))
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up an upload", e))?;
        Ok(row.map(UploadRecord::try_from).transpose()?)
    }

    async fn record_chunk(
        &self,
        repository: RepositoryId,
        uuid: &str,
        previous_byte_count: u64,
        chunk: &ChunkRecord,
    ) -> Result<(), UploadStoreError> {
        let repo = key(repository.0).ok_or(UploadStoreError::NotFound)?;
        let sha_state = chunk.sha_state.as_ref().map(|s| STANDARD.encode(s));
        let mut conn = self.db.conn(Route::Primary).await?;
        let changed: usize = db_run!(conn, |c| {
            diesel::update(
                blobupload::table
                    .filter(blobupload::repository_id.eq(repo))
                    .filter(blobupload::uuid.eq(uuid))
                    .filter(blobupload::byte_count.eq(count(previous_byte_count))),
            )
            .set((
                blobupload::byte_count.eq(count(chunk.byte_count)),
                blobupload::chunk_count.eq(small(chunk.chunk_count)),
                blobupload::uncompressed_byte_count.eq(chunk.uncompressed_byte_count.map(count)),
                blobupload::sha_state.eq(sha_state.as_deref()),
                blobupload::storage_metadata.eq(Some(chunk.storage_metadata.as_str())),
            ))
            .execute(c)
            .await
        })
        .map_err(|e| backend("recording an upload chunk", e))?;
        if changed == 1 {
            Ok(())
        } else {
            Err(UploadStoreError::Conflict)
        }
    }

    async fn delete_upload(
        &self,
        repository: RepositoryId,
        uuid: &str,
    ) -> Result<(), UploadStoreError> {
        let Some(repo) = key(repository.0) else {
            return Ok(());
        };
        let mut conn = self.db.conn(Route::Primary).await?;
        db_run!(conn, |c| {
            diesel::delete(
                blobupload::table
                    .filter(blobupload::repository_id.eq(repo))
                    .filter(blobupload::uuid.eq(uuid)),
            )
            .execute(c)
            .await
        })
        .map_err(|e| backend("deleting an upload", e))?;
        Ok(())
    }
}
