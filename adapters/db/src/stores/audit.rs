//! [`AuditLog`] on Quay's `logentry3` table (the `table_logs_model`); the kind is looked up by
//! name in `logentrykind`.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::store::{AuditEntry, AuditLog, AuditLogError};

use crate::conn::{DbConn, db_run};
use crate::database::{Database, Route};
use crate::error::backend;

pub(crate) struct DbAuditLog {
    pub(crate) db: Database,
}

/// Inserts `entry` on an open connection (inside the caller's transaction when there is one).
/// Returns `Ok(false)` when the kind is unknown. One statement (`INSERT … SELECT` from
/// `logentrykind` by name), so a lone entry needs no transaction.
macro_rules! insert_entry {
    ($c:expr, $entry:expr) => {{
        use diesel::IntoSql as _;
        use diesel::sql_types::{Integer, Nullable, Text, Timestamp, Varchar};
        use $crate::stores::registry_schema::{logentry3 as l, logentrykind as k};
        let entry: &quay_ports::store::AuditEntry = $entry;
        let row = k::table.filter(k::name.eq(entry.kind.as_str())).select((
            k::id,
            i32::try_from(entry.account_id)
                .unwrap_or(i32::MAX)
                .into_sql::<Integer>(),
            entry
                .performer_id
                .and_then(|p| i32::try_from(p).ok())
                .into_sql::<Nullable<Integer>>(),
            entry
                .repository_id
                .and_then(|r| i32::try_from(r).ok())
                .into_sql::<Nullable<Integer>>(),
            $crate::stores::naive(entry.datetime).into_sql::<Timestamp>(),
            entry.ip.as_deref().into_sql::<Nullable<Varchar>>(),
            entry.metadata_json.as_str().into_sql::<Text>(),
        ));
        diesel::insert_into(l::table)
            .values(row)
            .into_columns((
                l::kind_id,
                l::account_id,
                l::performer_id,
                l::repository_id,
                l::datetime,
                l::ip,
                l::metadata_json,
            ))
            .execute($c)
            .await
            .map(|inserted| inserted > 0)
    }};
}

pub(crate) use insert_entry;

#[async_trait]
impl AuditLog for DbAuditLog {
    async fn log_action(&self, entry: &AuditEntry) -> Result<(), AuditLogError> {
        let mut conn: DbConn = self.db.conn(Route::Primary).await?;
        let known: bool = db_run!(conn, |c| insert_entry!(c, entry))
            .map_err(|e| backend("writing an audit log entry", e))?;
        if known {
            Ok(())
        } else {
            Err(AuditLogError::UnknownKind(entry.kind.clone()))
        }
    }
}
