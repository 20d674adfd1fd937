//! [`ServiceKeyStore`] on Quay's `servicekey` table.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::store::{ServiceKey, ServiceKeyStore, ServiceKeyStoreError};

use super::{naive, utc};
use crate::conn::db_run;
use crate::database::{Database, Route};
use crate::error::backend;
use crate::schema::servicekey;

pub(crate) struct DbServiceKeyStore {
    pub(crate) db: Database,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = servicekey)]
#[diesel(check_for_backend(diesel::pg::Pg, diesel::sqlite::Sqlite))]
struct ServiceKeyRow {
    name: String,
    kid: String,
    service: String,
    jwk: String,
    metadata: String,
    created_date: NaiveDateTime,
    expiration_date: Option<NaiveDateTime>,
    rotation_duration: Option<i32>,
}

impl From<ServiceKeyRow> for ServiceKey {
    fn from(r: ServiceKeyRow) -> Self {
        ServiceKey {
            kid: r.kid,
            name: r.name,
            service: r.service,
            jwk: r.jwk,
            metadata: r.metadata,
            created_date: utc(r.created_date),
            expiration_date: r.expiration_date.map(utc),
            rotation_duration: r.rotation_duration,
        }
    }
}

#[async_trait]
impl ServiceKeyStore for DbServiceKeyStore {
    async fn list_approved_keys(
        &self,
        service: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ServiceKey>, ServiceKeyStoreError> {
        let now = naive(now);
        // Keys must be seen right after approval or rotation, so read the primary.
        let mut conn = self.db.conn(Route::Primary).await?;
        let rows: Vec<ServiceKeyRow> = db_run!(conn, |c| {
            servicekey::table
                .filter(servicekey::service.eq(service))
                .filter(servicekey::approval_id.is_not_null())
                .filter(
                    servicekey::expiration_date
                        .is_null()
                        .or(servicekey::expiration_date.gt(now)),
                )
                .order(servicekey::kid.asc())
                .select(ServiceKeyRow::as_select())
                .load(c)
                .await
        })
        .map_err(|e| backend("listing service keys", e))?;
        Ok(rows.into_iter().map(ServiceKey::from).collect())
    }
}
