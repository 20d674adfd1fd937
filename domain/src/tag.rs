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

/// The suffixes of cosign's tag-schema names (`sha256-<hex>.sig`, `.att`, `.sbom`).
pub const COSIGN_TAG_SUFFIXES: [&str; 3] = ["sig", "att", "sbom"];

/// Whether `name` is a cosign tag-schema name: `sha256-`, 64 lowercase hexadecimal digits, then
/// `.sig`, `.att` or `.sbom`, nothing more (Quay's `is_cosign_tag_schema`). Such tags hold the
/// signatures, attestations and SBOMs of the manifest whose digest they spell.
pub fn is_cosign_tag_schema(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("sha256-") else {
        return false;
    };
    let Some((hex, suffix)) = rest.split_at_checked(64) else {
        return false;
    };
    hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && suffix
            .strip_prefix('.')
            .is_some_and(|s| COSIGN_TAG_SUFFIXES.contains(&s))
}

/// The cosign sibling tag names of the manifest `digest` (`algo:hex` becomes `algo-hex.sig`,
/// `.att`, `.sbom`), in [`COSIGN_TAG_SUFFIXES`] order.
pub fn cosign_sibling_names(digest: &str) -> Vec<String> {
    let prefix = digest.replace(':', "-");
    COSIGN_TAG_SUFFIXES
        .iter()
        .map(|s| format!("{prefix}.{s}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn cosign_tag_schema() {
        for suffix in ["sig", "att", "sbom"] {
            assert!(is_cosign_tag_schema(&format!("sha256-{HEX}.{suffix}")));
        }
        let upper = HEX.to_uppercase();
        for name in [
            "latest".to_owned(),
            format!("sha256-{upper}.sig"),
            format!("sha256-{HEX}.sig2"),
            format!("sha256-{HEX}.SIG"),
            format!("sha256-{HEX}sig"),
            format!("sha256-{HEX}.sig\n"),
            format!("sha256-{}.sig", &HEX[1..]),
            format!("sha256-{HEX}0.sig"),
            format!("sha512-{HEX}.sig"),
            format!("SHA256-{HEX}.sig"),
            format!("sha256:{HEX}.sig"),
            "sha256-é".to_owned(),
        ] {
            assert!(!is_cosign_tag_schema(&name), "{name}");
        }
    }

    #[test]
    fn sibling_names() {
        assert_eq!(
            cosign_sibling_names(&format!("sha256:{HEX}")),
            vec![
                format!("sha256-{HEX}.sig"),
                format!("sha256-{HEX}.att"),
                format!("sha256-{HEX}.sbom"),
            ]
        );
        assert!(
            cosign_sibling_names(&format!("sha256:{HEX}"))
                .iter()
                .all(|n| is_cosign_tag_schema(n))
        );
    }

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
