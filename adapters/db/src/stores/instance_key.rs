//! [`InstanceKeyStore`] on Quay's `servicekey` and `servicekeyapproval` tables.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::store::{InstanceKeyStore, InstanceKeyStoreError, NewInstanceKey, ServiceKey};

use super::{naive, utc};
use crate::conn::{db_run, db_write};
use crate::database::{Database, Route};
use crate::error::backend;
use crate::schema::{servicekey, servicekeyapproval};

/// Quay's `ServiceKeyApprovalType.AUTOMATIC`.
const AUTOMATIC: &str = "Automatic";

pub(crate) struct DbInstanceKeyStore {
    pub(crate) db: Database,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = servicekey)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct KeyRow {
    name: String,
    kid: String,
    service: String,
    jwk: String,
    metadata: String,
    created_date: NaiveDateTime,
    expiration_date: Option<NaiveDateTime>,
    rotation_duration: Option<i32>,
}

#[async_trait]
impl InstanceKeyStore for DbInstanceKeyStore {
    async fn register_instance_key(
        &self,
        key: NewInstanceKey,
    ) -> Result<(), InstanceKeyStoreError> {
        let created = naive(key.created_at);
        let expires = key.expires_at.map(naive);
        let expired_before = naive(key.created_at - chrono::Duration::seconds(key.expired_ttl_s));
        let unapproved_before =
            naive(key.created_at - chrono::Duration::seconds(key.unapproved_ttl_s));
        let key = &key;
        let mut conn = self.db.conn(Route::Primary).await?;
        let done: Result<(), diesel::result::Error> = db_write!(conn, |c| {
            // Quay's _gc_expired: long-expired keys, and old unapproved ones.
            diesel::delete(
                servicekey::table
                    .filter(servicekey::service.eq(&key.service))
                    .filter(
                        servicekey::expiration_date
                            .le(expired_before)
                            .or(servicekey::approval_id
                                .is_null()
                                .and(servicekey::created_date.le(unapproved_before))),
                    ),
            )
            .execute(c)
            .await?;
            let approval: i32 = diesel::insert_into(servicekeyapproval::table)
                .values((
                    servicekeyapproval::approver_id.eq(None::<i32>),
                    servicekeyapproval::approval_type.eq(AUTOMATIC),
                    servicekeyapproval::approved_date.eq(created),
                    servicekeyapproval::notes.eq(""),
                ))
                .returning(servicekeyapproval::id)
                .get_result(c)
                .await?;
            diesel::insert_into(servicekey::table)
                .values((
                    servicekey::name.eq(&key.name),
                    servicekey::kid.eq(&key.kid),
                    servicekey::service.eq(&key.service),
                    servicekey::jwk.eq(&key.jwk),
                    servicekey::metadata.eq(&key.metadata),
                    servicekey::created_date.eq(created),
                    servicekey::expiration_date.eq(expires),
                    servicekey::rotation_duration.eq(None::<i32>),
                    servicekey::approval_id.eq(Some(approval)),
                ))
                .execute(c)
                .await?;
            Ok(())
        });
        done.map_err(|e| backend("registering the instance service key", e))?;
        Ok(())
    }

    async fn find_key(&self, kid: &str) -> Result<Option<ServiceKey>, InstanceKeyStoreError> {
        let mut conn = self.db.conn(Route::Primary).await?;
        let row: Option<KeyRow> = db_run!(conn, |c| {
            servicekey::table
                .filter(servicekey::kid.eq(kid))
                .select(KeyRow::as_select())
                .first(c)
                .await
                .optional()
        })
        .map_err(|e| backend("looking up a service key", e))?;
        Ok(row.map(|r| ServiceKey {
            kid: r.kid,
            name: r.name,
            service: r.service,
            jwk: r.jwk,
            metadata: r.metadata,
            created_date: utc(r.created_date),
            expiration_date: r.expiration_date.map(utc),
            rotation_duration: r.rotation_duration,
        }))
    }

    async fn set_key_expiration(
        &self,
        kid: &str,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<bool, InstanceKeyStoreError> {
        let expires = expires_at.map(naive);
        let mut conn = self.db.conn(Route::Primary).await?;
        let n = db_run!(conn, |c| {
            diesel::update(servicekey::table.filter(servicekey::kid.eq(kid)))
                .set(servicekey::expiration_date.eq(expires))
                .execute(c)
                .await
        })
        .map_err(|e| backend("renewing the instance service key", e))?;
        Ok(n > 0)
    }
}
