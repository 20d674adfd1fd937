//! `GET /v2/<name>/tags/list` (Quay's `list_all_tags` with `oci_tag_paginate`): live, visible
//! tags by name; `n` is clamped to `[0, 100]` (Quay's `max(V2_PAGINATION_SIZE, 100)`), `last`
//! is the last name of the previous page; a `Link` to the next page is added when more follow.
//! Tags are read from the database on every request, so a push is visible at once.

use quay_domain::reference::RepositoryPath;
use quay_ports::store::{Cursor, PageRequest};

use super::access::Need;
use super::{Caller, Registry, RegistryFailure};

/// Quay's `_MAX_RESULTS_PER_PAGE`.
pub const MAX_TAGS_PER_PAGE: u32 = 100;

/// One page of tag names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPage {
    /// `namespace/repository`.
    pub name: String,
    /// Tag names.
    pub tags: Vec<String>,
    /// The page size used (for the `Link`).
    pub limit: u32,
    /// Whether another page follows (its `last` is the last name here).
    pub has_more: bool,
}

impl Registry {
    /// Lists tags.
    ///
    /// # Errors
    /// `UNAUTHORIZED`, `NAME_UNKNOWN`, `Internal`.
    pub async fn list_tags(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        n: Option<i64>,
        last: Option<&str>,
    ) -> Result<TagPage, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Pull).await?;
        let requested = n.unwrap_or(i64::from(MAX_TAGS_PER_PAGE));
        let limit = u32::try_from(requested.clamp(0, i64::from(MAX_TAGS_PER_PAGE))).unwrap_or(0);
        let name = path.full_name();
        if limit == 0 {
            return Ok(TagPage {
                name,
                tags: Vec::new(),
                limit,
                has_more: false,
            });
        }
        let after = last
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| Cursor(l.to_owned()));
        let page = self
            .ports
            .tags
            .list_live_tags(repo.id, self.now_ms(), PageRequest { after, limit })
            .await
            .map_err(|e| RegistryFailure::internal("listing tags", e))?;
        Ok(TagPage {
            name,
            tags: page
                .items
                .into_iter()
                .map(|t| t.name.as_str().to_owned())
                .collect(),
            limit,
            has_more: page.next.is_some(),
        })
    }
}
