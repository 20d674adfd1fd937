//! `GET /v2/<name>/referrers/<digest>`: the OCI index of the manifests whose `subject` is the
//! digest and which a live tag keeps, filtered by `artifactType`. An image manifest without an
//! `artifactType` field is listed (and filtered) under its config media type, as the OCI spec
//! requires (Quay uses the field only). An unknown subject gives an empty index (the OCI spec;
//! Quay answers 400).

use quay_domain::digest::Digest;
use quay_domain::manifest::{ArtifactTypeSource, Referrer, parse_manifest, referrers_index};
use quay_domain::media_type::ManifestMediaType;
use quay_domain::reference::RepositoryPath;

use super::access::Need;
use super::manifests::ReferrersBody;
use super::{Caller, Registry, RegistryFailure};

impl Registry {
    /// The referrers of `digest`, optionally filtered by `artifactType` (an unknown subject
    /// gives an empty index, as the OCI spec asks).
    ///
    /// # Errors
    /// `UNAUTHORIZED`, `NAME_UNKNOWN`, `Internal`.
    pub async fn referrers(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        digest: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<ReferrersBody, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Pull).await?;
        let stored = self
            .ports
            .manifests
            .list_referrers(repo.id, digest.as_str(), self.now_ms())
            .await
            .map_err(|e| RegistryFailure::internal("listing referrers", e))?;
        let mut referrers = Vec::with_capacity(stored.len());
        for m in stored {
            let Some(media_type) = ManifestMediaType::parse(&m.media_type) else {
                continue;
            };
            let Ok(parsed) =
                parse_manifest(media_type, m.bytes.as_bytes(), &self.settings.parse_options)
            else {
                continue;
            };
            let Ok(d) = Digest::parse(&m.digest) else {
                continue;
            };
            let r = Referrer::from_manifest(
                &parsed,
                d,
                m.bytes.len() as u64,
                ArtifactTypeSource::ConfigFallback,
            );
            if r.matches(artifact_type) {
                referrers.push(r);
            }
        }
        Ok(ReferrersBody {
            bytes: referrers_index(&referrers),
            filtered: artifact_type.is_some(),
        })
    }
}
