//! What a pull by tag serves (Quay's `_rewrite_schema_if_necessary`): the stored manifest when
//! the client accepts its type (schema 1 always); else a list's linux/amd64 child, negotiated
//! again; else an image rendered as unsigned schema 1
//! (`application/vnd.docker.distribution.manifest.v1+json`, digest of the rendered bytes).
//! Anything that cannot be served that way is `MANIFEST_UNKNOWN`, as in Quay.

use std::cell::Cell;

use quay_domain::manifest::{ParsedManifest, parse_manifest, to_schema1};
use quay_domain::media_type::{ManifestMediaType, PullNegotiation, negotiate_pull};
use quay_domain::reference::RepositoryPath;
use quay_domain::repository::Repository;
use quay_domain::storage_path::StoragePath;
use quay_ports::storage::StorageError;
use quay_ports::store::StoredManifest;

use super::{MAX_CONFIG_BYTES, ManifestBody, body_of, manifest_unknown};
use crate::registry::{Registry, RegistryFailure};

/// The stored manifest's type, and its parse under the registry's options.
fn stored_type(found: &StoredManifest) -> Result<ManifestMediaType, RegistryFailure> {
    ManifestMediaType::parse(&found.media_type).ok_or_else(manifest_unknown)
}

impl Registry {
    /// The body a `GET` of `tag` answers with, given the client's `Accept` types.
    pub(super) async fn negotiated(
        &self,
        repo: &Repository,
        path: &RepositoryPath,
        tag: &str,
        found: StoredManifest,
        accept: &[&str],
    ) -> Result<ManifestBody, RegistryFailure> {
        let Some(media_type) = ManifestMediaType::parse(&found.media_type) else {
            return Ok(body_of(found));
        };
        match negotiate_pull(media_type, accept) {
            PullNegotiation::Stored => Ok(body_of(found)),
            PullNegotiation::Schema1 => self.schema1_of(repo, path, tag, &found).await,
            PullNegotiation::LegacyChild => {
                let parsed = parse_manifest(
                    media_type,
                    found.bytes.as_bytes(),
                    &self.settings.parse_options,
                )
                .map_err(|_| manifest_unknown())?;
                let ParsedManifest::List(list) = parsed else {
                    return Err(manifest_unknown());
                };
                let digest = list
                    .amd64_linux_child()
                    .ok_or_else(manifest_unknown)?
                    .digest
                    .as_str()
                    .to_owned();
                let child = self
                    .ports
                    .manifests
                    .find_manifest(repo.id, &digest)
                    .await
                    .map_err(|e| RegistryFailure::internal("looking up a list's child", e))?
                    .ok_or_else(manifest_unknown)?;
                match negotiate_pull(stored_type(&child)?, accept) {
                    PullNegotiation::Stored => Ok(body_of(child)),
                    PullNegotiation::Schema1 => self.schema1_of(repo, path, tag, &child).await,
                    PullNegotiation::LegacyChild => Err(manifest_unknown()),
                }
            }
        }
    }

    /// `found` (an image manifest) rendered as unsigned schema 1 for `path:tag`.
    async fn schema1_of(
        &self,
        repo: &Repository,
        path: &RepositoryPath,
        tag: &str,
        found: &StoredManifest,
    ) -> Result<ManifestBody, RegistryFailure> {
        let parsed = parse_manifest(
            stored_type(found)?,
            found.bytes.as_bytes(),
            &self.settings.parse_options,
        )
        .map_err(|_| manifest_unknown())?;
        let ParsedManifest::Image(image) = parsed else {
            return Err(manifest_unknown());
        };
        let config_path =
            StoragePath::for_blob(image.config.digest.as_str()).map_err(|_| manifest_unknown())?;
        // Read from the config blob's placements (Quay's `RepositoryContentRetriever`).
        let placements = self
            .ports
            .blobs
            .find_repository_blob(repo.id, image.config.digest.as_str(), self.now())
            .await
            .map_err(|e| RegistryFailure::internal("looking up a config blob", e))?
            .map(|record| record.locations)
            .unwrap_or_default();
        let config = match self
            .read_storage(&placements)
            .get_bytes(config_path.as_str(), MAX_CONFIG_BYTES)
            .await
        {
            Ok(bytes) => bytes,
            Err(StorageError::NotFound { .. } | StorageError::TooLarge { .. }) => {
                return Err(manifest_unknown());
            }
            Err(e) => return Err(RegistryFailure::internal("reading a config blob", e)),
        };
        // `to_schema1` takes an infallible hash; a digester failure is reported afterwards.
        let fallback = self.sha256(b"")?;
        let failed = Cell::new(false);
        let sha256 = |data: &[u8]| {
            self.sha256(data).unwrap_or_else(|_| {
                failed.set(true);
                fallback.clone()
            })
        };
        let rendered = to_schema1(
            &image,
            &config,
            path.namespace.as_str(),
            path.repository.as_str(),
            tag,
            &sha256,
        );
        if failed.get() {
            return Err(RegistryFailure::internal(
                "hashing a schema 1 rendering",
                std::io::Error::other("the digester failed"),
            ));
        }
        let bytes = rendered
            .map_err(|_| manifest_unknown())?
            .ok_or_else(manifest_unknown)?;
        let digest = self.sha256(&bytes)?;
        Ok(ManifestBody {
            bytes,
            media_type: ManifestMediaType::DockerSchema1.as_str().to_owned(),
            digest: digest.as_str().to_owned(),
        })
    }
}
