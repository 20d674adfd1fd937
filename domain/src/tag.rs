//! Tags: named, time-bounded pointers from a repository to a manifest.
//!
//! Invariant (Quay's `tag` table): a tag row is *live* at time `t` (milliseconds since the epoch)
//! when `lifetime_end_ms` is absent or later than `t`. Hidden tags (`$temp-…`, which keep a
//! manifest alive during a push) are never shown to clients.

use crate::name::TagName;
use crate::repository::RepositoryId;

/// Primary key of a row of Quay's `tag` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TagId(pub i64);

/// Primary key of a row of Quay's `manifest` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ManifestId(pub i64);

/// A row of Quay's `tag` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Primary key.
    pub id: TagId,
    /// The repository the tag belongs to.
    pub repository_id: RepositoryId,
    /// The tag's name.
    pub name: TagName,
    /// The manifest it points to, if any.
    pub manifest_id: Option<ManifestId>,
    /// Start of the tag's lifetime, ms since the epoch.
    pub lifetime_start_ms: i64,
    /// End of the tag's lifetime, ms since the epoch; absent while live without expiry.
    pub lifetime_end_ms: Option<i64>,
    /// Internal tag, never shown.
    pub hidden: bool,
    /// Created by a revert to an earlier tag state.
    pub reversion: bool,
    /// Another tag this one aliases, if any.
    pub linked_tag_id: Option<TagId>,
}

impl Tag {
    /// Whether the tag is alive at `now_ms`.
    pub fn is_live_at(&self, now_ms: i64) -> bool {
        self.lifetime_end_ms.is_none_or(|end| end > now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(end: Option<i64>) -> Tag {
        Tag {
            id: TagId(1),
            repository_id: RepositoryId(1),
            name: TagName::from_stored("latest".into()),
            manifest_id: Some(ManifestId(1)),
            lifetime_start_ms: 10,
            lifetime_end_ms: end,
            hidden: false,
            reversion: false,
            linked_tag_id: None,
        }
    }

    #[test]
    fn liveness() {
        assert!(tag(None).is_live_at(100));
        assert!(tag(Some(101)).is_live_at(100));
        assert!(!tag(Some(100)).is_live_at(100));
    }
}
