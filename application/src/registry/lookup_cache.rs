//! Short-lived caches of the lookups every pull repeats, in the spirit of Quay's data model
//! cache (`data/cache`: `repository_lookup` is cached for `repository_lookup_cache_ttl`, 120 s
//! by default, in the memcached shared by Quay's processes).
//!
//! What is cached, and why it is sound beside other processes writing the same database:
//! - repositories found for a **pull the token grants** (`namespace/name` → row), never for a
//!   push nor for an anonymous read of a public repository (visibility is always read afresh),
//!   and never a miss: a repository created elsewhere is seen at once, and one deleted or
//!   changed elsewhere (state, kind) is seen at most [`LOOKUP_TTL_S`] seconds late — much
//!   sooner than Quay's own 120 s;
//! - the performer of a pull's action log entry (username → account), for the same time: an
//!   account's id and kind never change, only a rename or a deletion is seen late.
//!
//! Each cache holds at most [`MAX_ENTRIES`] entries; when full, expired entries are dropped,
//! and if none is, the whole cache is (so memory stays bounded under any name churn).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// Seconds a cached lookup is served before it is read again.
pub(crate) const LOOKUP_TTL_S: i64 = 10;
/// Entries per cache.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// A map whose entries expire [`LOOKUP_TTL_S`] seconds after they were stored.
#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    entries: Mutex<HashMap<String, (DateTime<Utc>, V)>>,
}

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> TtlCache<V> {
    /// The value stored under `key`, unless it expired at `now`.
    pub(crate) fn get(&self, key: &str, now: DateTime<Utc>) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(expires, _)| now < *expires)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value` under `key` until `now` + [`LOOKUP_TTL_S`].
    pub(crate) fn put(&self, key: &str, value: V, now: DateTime<Utc>) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(
            key.to_owned(),
            (now + Duration::seconds(LOOKUP_TTL_S), value),
        );
    }

    /// Forgets `key` (after this process changed what it names).
    pub(crate) fn forget(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
            .single()
            .expect("valid time")
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TtlCache::default();
        cache.put("ns/repo", 7, t0());
        assert_eq!(cache.get("ns/repo", t0()), Some(7));
        let almost = t0() + Duration::seconds(LOOKUP_TTL_S) - Duration::milliseconds(1);
        assert_eq!(cache.get("ns/repo", almost), Some(7));
        assert_eq!(
            cache.get("ns/repo", t0() + Duration::seconds(LOOKUP_TTL_S)),
            None
        );
        assert_eq!(cache.get("ns/other", t0()), None);
    }

    #[test]
    fn a_new_value_replaces_the_old_and_forget_drops_it() {
        let cache = TtlCache::default();
        cache.put("k", 1, t0());
        cache.put("k", 2, t0() + Duration::seconds(1));
        assert_eq!(
            cache.get("k", t0() + Duration::seconds(LOOKUP_TTL_S)),
            Some(2)
        );
        cache.forget("k");
        assert_eq!(cache.get("k", t0()), None);
    }

    #[test]
    fn size_stays_bounded() {
        let cache = TtlCache::default();
        for i in 0..MAX_ENTRIES {
            cache.put(&format!("old{i}"), i, t0());
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // Full of live entries: the cache starts over rather than growing.
        cache.put("fresh", 1, t0());
        assert_eq!(cache.len(), 1);
        for i in 0..MAX_ENTRIES - 1 {
            cache.put(&format!("a{i}"), i, t0());
        }
        assert_eq!(cache.len(), MAX_ENTRIES);
        // Full again, of entries that have expired by now: they make room.
        let later = t0() + Duration::seconds(LOOKUP_TTL_S);
        cache.put("new", 3, later);
        assert_eq!(cache.get("new", later), Some(3));
        assert_eq!(cache.len(), 1);
    }
}
