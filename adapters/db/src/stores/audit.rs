//! [`AuditLog`] on Quay's `logentry3` table (the `table_logs_model`); the kind is looked up by
//! name in `logentrykind`.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use quay_ports::store::{AuditEntry, AuditLog, AuditLogError};

use super::registry_sql::id_by_name;
use crate::conn::{DbConn, db_write};
use crate::database::{Database, Route};
use crate::error::backend;

pub(crate) struct DbAuditLog {
    pub(crate) db: Database,
}

/// Inserts `entry` on an open connection (inside the caller's transaction when there is one).
/// Returns `Ok(false)` when the kind is unknown.
macro_rules! insert_entry {
    ($c:expr, $entry:expr) => {{
        let entry: &quay_ports::store::AuditEntry = $entry;
        match id_by_name!(
            $c,
            $crate::stores::registry_schema::logentrykind,
            entry.kind.as_str()
        )? {
            None => Ok::<bool, diesel::result::Error>(false),
            Some(kind) => {
                use $crate::stores::registry_schema::logentry3 as l;
                diesel::insert_into(l::table)
                    .values((
                        l::kind_id.eq(kind),
                        l::account_id.eq(i32::try_from(entry.account_id).unwrap_or(i32::MAX)),
                        l::performer_id.eq(entry.performer_id.and_then(|p| i32::try_from(p).ok())),
                        l::repository_id
                            .eq(entry.repository_id.and_then(|r| i32::try_from(r).ok())),
                        l::datetime.eq($crate::stores::naive(entry.datetime)),
                        l::ip.eq(entry.ip.as_deref()),
                        l::metadata_json.eq(entry.metadata_json.as_str()),
                    ))
                    .execute($c)
                    .await?;
                Ok(true)
            }
        }
    }};
}

pub(crate) use insert_entry;

#[async_trait]
impl AuditLog for DbAuditLog {
    async fn log_action(&self, entry: &AuditEntry) -> Result<(), AuditLogError> {
        let mut conn: DbConn = self.db.conn(Route::Primary).await?;
        let known: bool = db_write!(conn, |c| { insert_entry!(c, entry) })
            .map_err(|e| backend("writing an audit log entry", e))?;
        if known {
            Ok(())
        } else {
            Err(AuditLogError::UnknownKind(entry.kind.clone()))
        }
    }
}
