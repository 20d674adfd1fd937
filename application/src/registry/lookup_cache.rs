//! Short-lived caches of the lookups every pull repeats, in the spirit of Quay's data model
//! cache (`data/cache`: a manifest pull's `repository_lookup` is cached for
//! `DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl`, 120 s by default).
//!
//! The lifetime is [`RegistrySettings::lookup_cache_ttl`](super::RegistrySettings): that same
//! Quay key when configured, otherwise [`DEFAULT_LOOKUP_CACHE_TTL`] (10 s). Quay's 120 s default
//! is not kept, because these caches live in each process: Quay's memcached or Redis cache is
//! one for all processes, which see the same entries and the same invalidations, while here
//! each process keeps its own and only the process that made a change forgets it. A lifetime
//! of zero turns caching off, as Quay's `inmemory` engine does with `0s`.
//!
//! What is cached, and why it is sound beside other processes writing the same database:
//! - repositories found for a **pull the token grants** (`namespace/name` → row), never for a
//!   push nor for an anonymous read of a public repository (visibility is always read afresh),
//!   and never a miss: a repository created elsewhere is seen at once, and one deleted or
//!   changed elsewhere (state, kind) is seen at most one lifetime late;
//! - the performer of a pull's action log entry (username → account), for the same time: an
//!   account's id and kind never change, only a rename or a deletion is seen late.
//!
//! Each cache holds at most [`MAX_ENTRIES`] entries; when full, expired entries are dropped,
//! and if none is, the whole cache is (so memory stays bounded under any name churn).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// How long a cached lookup is served when `repository_lookup_cache_ttl` is not configured.
pub const DEFAULT_LOOKUP_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
/// Entries per cache.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// A map whose entries expire a fixed lifetime after they were stored.
#[derive(Debug)]
pub(crate) struct TtlCache<V> {
    /// How long an entry is served; zero: nothing is stored.
    ttl: Duration,
    entries: Mutex<HashMap<String, (DateTime<Utc>, V)>>,
}

impl<V: Clone> TtlCache<V> {
    /// An empty cache whose entries live `ttl` (a lifetime beyond chrono's range never ends).
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl: Duration::from_std(ttl).unwrap_or(Duration::MAX),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value stored under `key`, unless it expired at `now`.
    pub(crate) fn get(&self, key: &str, now: DateTime<Utc>) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries
            .get(key)
            .filter(|(expires, _)| now < *expires)
            .map(|(_, value)| value.clone())
    }

    /// Stores `value` under `key` until `now` + the lifetime (nothing when it is zero).
    pub(crate) fn put(&self, key: &str, value: V, now: DateTime<Utc>) {
        if self.ttl.is_zero() {
            return;
        }
        let expires = now
            .checked_add_signed(self.ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(key) {
            entries.retain(|_, (expires, _)| now < *expires);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (expires, value));
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

    /// The default lifetime as a chrono duration.
    fn default_ttl() -> Duration {
        Duration::from_std(DEFAULT_LOOKUP_CACHE_TTL).expect("small")
    }

    #[test]
    fn entries_expire_after_the_default_ttl() {
        let cache = TtlCache::new(DEFAULT_LOOKUP_CACHE_TTL);
        cache.put("ns/repo", 7, t0());
        assert_eq!(cache.get("ns/repo", t0()), Some(7));
        let almost = t0() + default_ttl() - Duration::milliseconds(1);
        assert_eq!(cache.get("ns/repo", almost), Some(7));
        assert_eq!(cache.get("ns/repo", t0() + default_ttl()), None);
        assert_eq!(cache.get("ns/other", t0()), None);
    }

    #[test]
    fn entries_live_the_configured_ttl() {
        let cache = TtlCache::new(std::time::Duration::from_secs(120));
        cache.put("ns/repo", 7, t0());
        // Well past the default lifetime, still served.
        assert_eq!(cache.get("ns/repo", t0() + Duration::seconds(119)), Some(7));
        let almost = t0() + Duration::seconds(120) - Duration::milliseconds(1);
        assert_eq!(cache.get("ns/repo", almost), Some(7));
        assert_eq!(cache.get("ns/repo", t0() + Duration::seconds(120)), None);

        let short = TtlCache::new(std::time::Duration::from_secs(2));
        short.put("ns/repo", 7, t0());
        assert_eq!(short.get("ns/repo", t0() + Duration::seconds(1)), Some(7));
        assert_eq!(short.get("ns/repo", t0() + Duration::seconds(2)), None);
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = TtlCache::new(std::time::Duration::ZERO);
        cache.put("ns/repo", 7, t0());
        assert_eq!(cache.get("ns/repo", t0()), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn a_ttl_beyond_the_calendar_never_expires() {
        let cache = TtlCache::new(std::time::Duration::from_secs(u64::MAX));
        cache.put("ns/repo", 7, t0());
        let far = Utc
            .with_ymd_and_hms(9999, 1, 1, 0, 0, 0)
            .single()
            .expect("valid time");
        assert_eq!(cache.get("ns/repo", far), Some(7));
    }

    #[test]
    fn a_new_value_replaces_the_old_and_forget_drops_it() {
        let cache = TtlCache::new(DEFAULT_LOOKUP_CACHE_TTL);
        cache.put("k", 1, t0());
        cache.put("k", 2, t0() + Duration::seconds(1));
        assert_eq!(cache.get("k", t0() + default_ttl()), Some(2));
        cache.forget("k");
        assert_eq!(cache.get("k", t0()), None);
    }

    #[test]
    fn size_stays_bounded() {
        let cache = TtlCache::new(DEFAULT_LOOKUP_CACHE_TTL);
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
        let later = t0() + default_ttl();
        cache.put("new", 3, later);
        assert_eq!(cache.get("new", later), Some(3));
        assert_eq!(cache.len(), 1);
    }
}
