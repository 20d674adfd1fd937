//! `DELETE /v2/<name>/manifests/<reference>`: closes the tag (or every tag of the manifest,
//! hidden `$temp-` ones included) with Quay's `_delete_tag` side effects (pull statistics,
//! tag notification rows, child `$temp-` tags), expires the manifest's cosign siblings when no
//! other tag keeps it (the store's `delete_tag`), and logs `delete_tag` for each visible one.

use quay_domain::reference::{Reference, RepositoryPath};

use quay_ports::store::{ManifestStoreError, TagDeletion};

use super::{manifest_unknown, tag_immutable};
use crate::registry::access::Need;
use crate::registry::audit::Meta;
use crate::registry::{Caller, Registry, RegistryFailure};

impl Registry {
    /// Deletes a tag, or every tag of a manifest (`DELETE`), logging `delete_tag` for each.
    ///
    /// # Errors
    /// `MANIFEST_UNKNOWN`, `TAG_IMMUTABLE` (409, nothing deleted), `UNAUTHORIZED`, `Internal`.
    pub async fn delete_manifest(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        reference: &Reference,
    ) -> Result<(), RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let deletion = TagDeletion {
            now_ms: self.now_ms(),
            lock_id: self.retarget_lock_id(&repo)?,
            refuse_immutable: self.settings.immutable_tags,
            clear_pull_statistics: self.settings.image_pull_stats,
            reset_child_expiration: self.settings.reset_child_manifest_expiration,
        };
        let failed = |context: &'static str| {
            move |e| match e {
                ManifestStoreError::TagImmutable(name) => tag_immutable(&name),
                e => RegistryFailure::internal(context, e),
            }
        };
        let deleted: Vec<String> = match reference {
            Reference::Tag(t) => self
                .ports
                .manifests
                .delete_tag(repo.id, t.as_str(), &deletion)
                .await
                .map_err(failed("deleting a tag"))?
                .map(|_| vec![t.as_str().to_owned()])
                .ok_or_else(manifest_unknown)?,
            Reference::Digest(d) => self
                .ports
                .manifests
                .delete_manifest_tags(repo.id, d.as_str(), &deletion)
                .await
                .map_err(failed("deleting a manifest's tags"))?
                .ok_or_else(manifest_unknown)?,
        };
        let performer = self.performer(caller).await?;
        for name in deleted.into_iter().filter(|n| !n.starts_with("$temp-")) {
            let entry = self.audit_entry(
                "delete_tag",
                caller,
                performer.as_ref(),
                &repo,
                vec![
                    ("tag", Meta::Str(name)),
                    ("digest", Meta::Str(reference.to_string())),
                ],
            );
            self.log(entry).await;
        }
        Ok(())
    }
}
