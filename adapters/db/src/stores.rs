//! The metadata stores over [`Database`], handed out as a struct of `Arc<dyn …Store>`.
//!
//! Row structs are private to each store module and convert to domain types with `TryFrom`;
//! a stored value the domain cannot represent is a [`BackendErrorKind::Corrupt`] error.
//!
//! [`BackendErrorKind::Corrupt`]: quay_ports::store::BackendErrorKind::Corrupt

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use quay_ports::store::{
    CredentialStore, Cursor, InstanceKeyStore, Page, PageRequest, PermissionStore, RepositoryStore,
    ServiceKeyStore, TagStore, UserStore,
};

use crate::database::Database;

mod audit;
mod blob;
mod credential;
mod instance_key;
mod manifest;
mod permission;
mod policy_schema;
mod pull_statistics;
mod queue;
mod quota;
mod registry_schema;
mod registry_sql;
mod repository;
mod service_key;
mod tag;
mod upload;
mod user;

/// All stores of one database.
#[derive(Clone)]
pub struct Stores {
    /// Accounts.
    pub users: Arc<dyn UserStore>,
    /// Repositories.
    pub repositories: Arc<dyn RepositoryStore>,
    /// Tags.
    pub tags: Arc<dyn TagStore>,
    /// Service keys.
    pub service_keys: Arc<dyn ServiceKeyStore>,
    /// Repository permissions.
    pub permissions: Arc<dyn PermissionStore>,
    /// Credentials and login bookkeeping (registry auth).
    pub credentials: Arc<dyn CredentialStore>,
    /// Writes of the instance service key.
    pub instance_keys: Arc<dyn InstanceKeyStore>,
    /// Registry manifests and tag moves.
    pub manifests: Arc<dyn quay_ports::store::ManifestStore>,
    /// Registry blob metadata.
    pub blobs: Arc<dyn quay_ports::store::BlobMetaStore>,
    /// Registry uploads in progress.
    pub uploads: Arc<dyn quay_ports::store::UploadStore>,
    /// The action log.
    pub audit: Arc<dyn quay_ports::store::AuditLog>,
    /// Flushed pull statistics (`tagpullstatistics`, `manifestpullstatistics`).
    pub pull_statistics: Arc<dyn quay_ports::store::PullStatisticsStore>,
    /// Namespace quotas (sizes, limits, notifications).
    pub quota: Arc<dyn quay_ports::store::QuotaStore>,
}

impl Database {
    /// The stores, sharing this database's pools.
    pub fn stores(&self) -> Stores {
        Stores {
            users: Arc::new(user::DbUserStore { db: self.clone() }),
            repositories: Arc::new(repository::DbRepositoryStore { db: self.clone() }),
            tags: Arc::new(tag::DbTagStore { db: self.clone() }),
            service_keys: Arc::new(service_key::DbServiceKeyStore { db: self.clone() }),
            permissions: Arc::new(permission::DbPermissionStore { db: self.clone() }),
            credentials: Arc::new(credential::DbCredentialStore { db: self.clone() }),
            instance_keys: Arc::new(instance_key::DbInstanceKeyStore { db: self.clone() }),
            manifests: Arc::new(manifest::DbManifestStore { db: self.clone() }),
            blobs: Arc::new(blob::DbBlobStore { db: self.clone() }),
            uploads: Arc::new(upload::DbUploadStore { db: self.clone() }),
            audit: Arc::new(audit::DbAuditLog { db: self.clone() }),
            pull_statistics: Arc::new(pull_statistics::DbPullStatisticsStore { db: self.clone() }),
            quota: Arc::new(quota::DbQuotaStore { db: self.clone() }),
        }
    }
}

/// A naive database timestamp (Quay stores UTC without a zone) as UTC.
fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// UTC as a naive database timestamp, truncated to microseconds as Python writes them.
fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    let t = t.naive_utc();
    let micros = t.and_utc().timestamp_subsec_micros();
    t.with_nanosecond(micros * 1000).unwrap_or(t)
}

use chrono::Timelike as _;

/// `t + d`, saturating at the largest timestamp.
fn plus(t: NaiveDateTime, d: std::time::Duration) -> NaiveDateTime {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(NaiveDateTime::MAX)
}

/// `t - d`, saturating at the smallest timestamp.
fn minus(t: NaiveDateTime, d: std::time::Duration) -> NaiveDateTime {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_sub_signed(d))
        .unwrap_or(NaiveDateTime::MIN)
}

/// A domain id as the `integer` key Quay's tables use; `None` when out of range (no such row).
fn key(id: i64) -> Option<i32> {
    i32::try_from(id).ok()
}

/// Page size clamped to 1..=1000, and the extra row fetched to know whether more follow.
fn fetch_limit(page: &PageRequest) -> (usize, i64) {
    let limit = page.limit.clamp(1, 1000) as usize;
    (limit, i64::try_from(limit + 1).unwrap_or(1001))
}

/// Keeps `limit` items and sets the cursor to the last item's key when more rows followed.
fn paginate<T>(mut items: Vec<T>, limit: usize, key_of: impl Fn(&T) -> String) -> Page<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|i| Cursor(key_of(i)))
    } else {
        None
    };
    Page { items, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_truncate_to_micros() {
        let t = DateTime::from_timestamp(1_700_000_000, 123_456_789).expect("valid");
        assert_eq!(naive(t).and_utc().timestamp_subsec_nanos(), 123_456_000);
        assert_eq!(utc(naive(t)).timestamp(), 1_700_000_000);
    }

    #[test]
    fn pagination() {
        let p = paginate(vec![1, 2, 3], 2, |i| i.to_string());
        assert_eq!(p.items, vec![1, 2]);
        assert_eq!(p.next, Some(Cursor("2".into())));
        let p = paginate(vec![1, 2], 2, |i| i.to_string());
        assert_eq!(p.next, None);
        assert_eq!(fetch_limit(&PageRequest::first(0)), (1, 2));
    }
}
