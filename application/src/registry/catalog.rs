//! `GET /v2/_catalog` (Quay's `catalog_search` with the `paginate` decorator): the
//! repositories the caller may see, by id; `n` clamped to `[1, 100]`; the next page is a Fernet
//! token of `{"start_id": <id>}` under `PAGE_TOKEN_KEY` (valid two days), given back as
//! `next_page` (or `last`). Anonymous callers see public repositories only with
//! `FEATURE_PUBLIC_CATALOG`, otherwise nothing; a disabled account sees nothing.

use super::tags::MAX_TAGS_PER_PAGE;
use super::{Caller, Registry, RegistryFailure};

/// Encrypts and decrypts page tokens (Quay's `encrypt_string`/`decrypt_string`).
pub trait PageTokenCipher: Send + Sync {
    /// The token of `plaintext` at `now` (Unix seconds); `None` when encryption fails.
    fn encrypt(&self, plaintext: &str, now: i64) -> Option<String>;
    /// The plaintext of a valid, unexpired token; `None` otherwise.
    fn decrypt(&self, token: &str, now: i64) -> Option<String>;
}

/// One catalog page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogPage {
    /// `namespace/name` of each repository.
    pub repositories: Vec<String>,
    /// The page size used.
    pub limit: u32,
    /// The token of the next page, when more follow.
    pub next_page: Option<String>,
}

fn start_id(plaintext: &str) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_str(plaintext).ok()?;
    value.get("start_id")?.as_i64()
}

impl Registry {
    /// Lists visible repositories; `n` and `next_page` are the raw query arguments.
    ///
    /// # Errors
    /// `Internal` when the database fails.
    pub async fn catalog(
        &self,
        caller: &Caller,
        n: Option<&str>,
        next_page: Option<&str>,
    ) -> Result<CatalogPage, RegistryFailure> {
        let requested = n.map_or(i64::from(MAX_TAGS_PER_PAGE), |n| {
            n.trim().parse::<i64>().unwrap_or(0)
        });
        let limit = u32::try_from(requested.clamp(1, i64::from(MAX_TAGS_PER_PAGE))).unwrap_or(1);
        let now = self.now().timestamp();
        let start = next_page
            .and_then(|t| self.ports.page_tokens.decrypt(t, now))
            .and_then(|p| start_id(&p));
        let include_public = self.settings.public_catalog;
        let empty = CatalogPage {
            repositories: Vec::new(),
            limit,
            next_page: None,
        };
        let performer = self.performer(caller).await?;
        if performer.as_ref().is_some_and(|a| !a.enabled)
            || (performer.is_none() && !include_public)
        {
            return Ok(empty);
        }
        let mut rows = self
            .ports
            .manifests
            .catalog_page(performer.map(|a| a.id), include_public, start, limit + 1)
            .await
            .map_err(|e| RegistryFailure::internal("listing the catalog", e))?;
        let next_page = if rows.len() > limit as usize {
            let max = rows.iter().map(|(id, _)| *id).max().unwrap_or_default();
            rows.truncate(limit as usize);
            self.ports
                .page_tokens
                .encrypt(&format!("{{\"start_id\": {max}}}"), now)
        } else {
            None
        };
        Ok(CatalogPage {
            repositories: rows.into_iter().map(|(_, name)| name).collect(),
            limit,
            next_page,
        })
    }
}
