//! Manifests: `GET`/`HEAD`/`PUT`/`DELETE /v2/<name>/manifests/<reference>` and
//! `GET /v2/<name>/referrers/<digest>` (Quay's `endpoints/v2/manifest.py`, `referrers.py` and
//! `registry_oci_model.create_manifest_and_retarget_tag`).
//!
//! Push, in order: access (creating the repository) → media type from `Content-Type` under the
//! push policy → parse (size cap, schema) → digest (and by-digest check) → schema 1 names and tag
//! → config blob (images) → children (lists, sparse rule) → the tag's expiry and immutability
//! from labels ([`super::immutability`]) → one transaction, under the `retarget_tag` lock,
//! writing the manifest, its blob and child links, its `manifestsecuritystatus`, the tag move
//! (refused on an immutable tag; expiring the cosign siblings of the manifest it leaves;
//! immutable when a policy, read there, says so) or `$temp-` tag, and the `push_repo` entry.
//! A concurrent push of the same manifest or tag is retried.
//!
//! Pull by digest serves the stored bytes with their media type; pull by tag converts for
//! clients that do not accept the stored type ([`pull`]). Signed schema 1 pushes have their
//! signatures verified. A deleted or
//! expired tag is `MANIFEST_UNKNOWN` (the OCI answer; Quay says `TAG_EXPIRED` inside its time
//! machine window).

use quay_domain::digest::Digest;
use quay_domain::manifest::{
    ChildOutcome, ImageConfig, ManifestError, ParsedManifest, check_config_blob, parse_manifest,
};
use quay_domain::reference::{Reference, RepositoryPath};
use quay_domain::registry_error::ErrorKind;
use quay_domain::repository::Repository;
use quay_domain::storage_path::StoragePath;
use quay_ports::store::{
    ManifestLabel, ManifestPush, ManifestStoreError, StoredManifest, TagMove, TempTag,
};

mod delete;
mod pull;
mod signature;

use super::access::Need;
use super::audit::Meta;
use super::immutability::PushedTagRules;
use super::{Caller, Registry, RegistryFailure};

/// Largest config blob read to validate an image manifest.
const MAX_CONFIG_BYTES: u64 = 16 * 1024 * 1024;
/// Attempts of a push that hit a concurrent change.
const PUSH_ATTEMPTS: u32 = 5;

/// A manifest to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestBody {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// `Content-Type`.
    pub media_type: String,
    /// `Docker-Content-Digest`.
    pub digest: String,
}

/// What a push answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    /// The manifest digest.
    pub digest: Digest,
    /// The subject digest (`OCI-Subject`), when the manifest has one.
    pub subject: Option<String>,
}

/// A referrers index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrersBody {
    /// The index document.
    pub bytes: Vec<u8>,
    /// Whether `artifactType` filtering was applied (`OCI-Filters-Applied`).
    pub filtered: bool,
}

fn invalid(e: &ManifestError) -> RegistryFailure {
    RegistryFailure::Error(e.to_registry_error())
}

/// `TAG_IMMUTABLE` 409 for a push or delete that would move or close an immutable tag.
fn tag_immutable(name: &str) -> RegistryFailure {
    RegistryFailure::Error(
        quay_domain::registry_error::RegistryError::new(ErrorKind::TagImmutable)
            .with_detail_message(format!("tag '{name}' is immutable")),
    )
}

fn manifest_unknown() -> RegistryFailure {
    RegistryFailure::kind(ErrorKind::ManifestUnknown)
}

fn body_of(m: StoredManifest) -> ManifestBody {
    ManifestBody {
        bytes: m.bytes.into_bytes(),
        media_type: m.media_type,
        digest: m.digest,
    }
}

impl Registry {
    /// Fetches a manifest by tag or digest and logs `pull_repo`. By tag, a client whose
    /// `accept` list lacks the stored type gets a list's linux/amd64 child or a schema 1
    /// rendering ([`pull`]); by digest, the stored bytes.
    ///
    /// # Errors
    /// `UNAUTHORIZED`, `NAME_UNKNOWN`, `MANIFEST_UNKNOWN`, `Internal`.
    pub async fn get_manifest(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<ManifestBody, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Pull).await?;
        let found = match reference {
            Reference::Tag(tag) => {
                self.ports
                    .manifests
                    .find_tagged_manifest(repo.id, tag.as_str(), self.now_ms())
                    .await
            }
            Reference::Digest(d) => {
                self.ports
                    .manifests
                    .find_manifest(repo.id, d.as_str())
                    .await
            }
        }
        .map_err(|e| RegistryFailure::internal("looking up a manifest", e))?
        .ok_or_else(manifest_unknown)?;
        let found = match reference {
            Reference::Tag(tag) => {
                self.negotiated(&repo, path, tag.as_str(), found, accept)
                    .await?
            }
            Reference::Digest(_) => body_of(found),
        };
        let performer = self.pull_performer(caller).await?;
        let key = match reference {
            Reference::Tag(t) => ("tag", Meta::Str(t.as_str().to_owned())),
            Reference::Digest(d) => ("manifest_digest", Meta::Str(d.as_str().to_owned())),
        };
        let entry = self.audit_entry(
            "pull_repo",
            caller,
            performer.as_ref(),
            &repo,
            vec![key, ("mediaType", Meta::Str(found.media_type.clone()))],
        );
        self.log(entry).await;
        self.count_pull(&repo, reference, &found.digest);
        Ok(found)
    }

    /// Stores a manifest and points `reference` (a tag) at it, or keeps it alive with a
    /// temporary tag (a digest).
    ///
    /// # Errors
    /// `MANIFEST_INVALID` (400, or 415 for an unsupported type, 413 oversize), `NAME_INVALID`
    /// (schema 1 names), `TAG_IMMUTABLE` (409; the manifest is stored, untagged, as Quay
    /// leaves it), `UNAUTHORIZED`, `Internal`.
    pub async fn put_manifest(
        &self,
        caller: &Caller,
        path: &RepositoryPath,
        reference: &Reference,
        content_type: Option<&str>,
        accept: &[&str],
        bytes: &[u8],
    ) -> Result<PushedManifest, RegistryFailure> {
        let repo = self.repository_for(caller, path, Need::Push).await?;
        let media_type =
            self.settings
                .push_policy
                .check_put(path.namespace.as_str(), content_type, accept)?;
        let parsed = parse_manifest(media_type, bytes, &self.settings.parse_options)
            .map_err(|e| invalid(&e))?;
        let digest = self.sha256(parsed.digest_input(bytes))?;
        if let Reference::Digest(expected) = reference
            && expected != &digest
        {
            return Err(invalid(&ManifestError::DigestMismatch));
        }
        if let ParsedManifest::Schema1(s) = &parsed {
            let rules = &self.settings.path_rules;
            let library = rules
                .library_support
                .then(|| rules.library_namespace.as_str());
            s.check_target(path.namespace.as_str(), path.repository.as_str(), library)
                .map_err(|e| invalid(&e))?;
            if let Reference::Tag(tag) = reference {
                s.check_tag(tag.as_str()).map_err(|e| invalid(&e))?;
            }
            self.verify_schema1_signatures(bytes)?;
        }
        let config = self.check_config(&repo, &parsed).await?;
        let labels = self.labels(&parsed, config.as_ref())?;
        let children = self.check_children(&repo, &parsed).await?;
        let tag_rules = match reference {
            Reference::Tag(_) => {
                self.pushed_tag_rules(&repo, &parsed, &digest, &labels, &children)
                    .await?
            }
            Reference::Digest(_) => PushedTagRules::default(),
        };
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| invalid(&ManifestError::Parse("manifest is not UTF-8".into())))?;
        let performer = self.performer(caller).await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let push = self.push_record(
                caller,
                performer.as_ref(),
                &repo,
                reference,
                &parsed,
                &digest,
                &text,
                children.clone(),
                labels.clone(),
                tag_rules,
            )?;
            match self.ports.manifests.commit_manifest_push(&push).await {
                Ok(_) => break,
                Err(ManifestStoreError::Conflict) if attempt < PUSH_ATTEMPTS => {}
                Err(ManifestStoreError::TagImmutable(name)) => return Err(tag_immutable(&name)),
                Err(ManifestStoreError::QuotaExceeded) => {
                    return Err(self.manifest_quota_refused(&repo).await);
                }
                Err(ManifestStoreError::UnknownBlob(d)) => {
                    return Err(invalid(&ManifestError::Invalid(format!(
                        "Unknown blob `{d}` under manifest `{digest}` for repository `{}`",
                        path.full_name()
                    ))));
                }
                Err(ManifestStoreError::UnknownChild(d)) => {
                    return Err(invalid(&ManifestError::Invalid(format!(
                        "Could not find child manifest with digest `{d}`"
                    ))));
                }
                Err(e) => return Err(RegistryFailure::internal("storing a manifest", e)),
            }
        }
        self.manifest_quota_pushed(&repo, reference, &parsed).await;
        tracing::info!(repo.name = %path, manifest.digest = %digest, "manifest pushed");
        Ok(PushedManifest {
            digest,
            subject: parsed.subject().map(|s| s.digest.as_str().to_owned()),
        })
    }

    /// Quay's `compute_advisory_lock_id("retarget_tag", repo.id)`: the first 8 bytes of
    /// `sha256("retarget_tag:<id>")` as a big-endian signed integer.
    pub(crate) fn retarget_lock_id(&self, repo: &Repository) -> Result<i64, RegistryFailure> {
        let lock = self.sha256(format!("retarget_tag:{}", repo.id.0).as_bytes())?;
        Ok(u64::from_str_radix(&lock.hex()[..16], 16)
            .map(|v| i64::from_ne_bytes(v.to_ne_bytes()))
            .unwrap_or_default())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "assembles one change set from the parts of a push"
    )]
    fn push_record(
        &self,
        caller: &Caller,
        performer: Option<&quay_domain::user::Account>,
        repo: &Repository,
        reference: &Reference,
        parsed: &ParsedManifest,
        digest: &Digest,
        text: &str,
        children: Vec<String>,
        labels: Vec<ManifestLabel>,
        tag_rules: PushedTagRules,
    ) -> Result<ManifestPush, RegistryFailure> {
        let now = self.now();
        let now_ms = now.timestamp_millis();
        let media_type = parsed.media_type().as_str().to_owned();
        let (tag, temp_tag, audit) = match reference {
            Reference::Tag(t) => {
                let lock_id = self.retarget_lock_id(repo)?;
                let entry = self.audit_entry(
                    "push_repo",
                    caller,
                    performer,
                    repo,
                    vec![
                        ("tag", Meta::Str(t.as_str().to_owned())),
                        ("mediaType", Meta::Str(media_type.clone())),
                    ],
                );
                let tag = TagMove {
                    name: t.as_str().to_owned(),
                    now_ms,
                    lock_id,
                    end_ms: tag_rules
                        .expires_after_ms
                        .and_then(|ms| now_ms.checked_add(ms)),
                    immutable: tag_rules.immutable,
                    refuse_immutable: self.settings.immutable_tags,
                    policy_audit: self.policy_check(repo, t.as_str()),
                };
                (Some(tag), None, Some(entry))
            }
            Reference::Digest(_) => {
                let end_ms = parsed
                    .subject()
                    .is_none()
                    .then(|| now_ms + self.settings.temp_tag_expiration_s * 1000);
                let temp = TempTag {
                    name: format!("$temp-{}", self.uuid4()?),
                    now_ms,
                    end_ms,
                };
                (None, Some(temp), None)
            }
        };
        let blobs = parsed.local_blob_digests().map_err(|e| invalid(&e))?;
        Ok(ManifestPush {
            repository: repo.id,
            digest: digest.as_str().to_owned(),
            media_type,
            bytes: text.to_owned(),
            config_media_type: parsed.config_media_type().map(str::to_owned),
            layers_compressed_size: parsed.layers_compressed_size(),
            subject: parsed.subject().map(|s| s.digest.as_str().to_owned()),
            artifact_type: parsed.artifact_type().map(str::to_owned),
            blob_digests: blobs.iter().map(|d| d.as_str().to_owned()).collect(),
            child_digests: children,
            optional_children: Vec::new(),
            labels,
            now,
            tag,
            temp_tag,
            audit,
            quota: self.quota_push(now_ms, reference, parsed)?,
        })
    }

    /// Validates an image manifest against its config blob (Quay's `_build_blob_map` and config
    /// checks).
    async fn check_config(
        &self,
        repo: &Repository,
        parsed: &ParsedManifest,
    ) -> Result<Option<ImageConfig>, RegistryFailure> {
        let ParsedManifest::Image(image) = parsed else {
            return Ok(None);
        };
        if !image.is_image() {
            return Ok(None);
        }
        let config = &image.config.digest;
        let visible = self
            .ports
            .blobs
            .find_repository_blob(repo.id, config.as_str(), self.now())
            .await
            .map_err(|e| RegistryFailure::internal("looking up a config blob", e))?;
        let bytes = match visible {
            None => None,
            Some(record) => {
                let path = StoragePath::for_blob(config.as_str())
                    .map_err(|e| RegistryFailure::internal("config path", e))?;
                Some(
                    self.read_storage(&record.locations)
                        .get_bytes(path.as_str(), MAX_CONFIG_BYTES)
                        .await
                        .map_err(|e| RegistryFailure::internal("reading a config blob", e))?,
                )
            }
        };
        check_config_blob(image, bytes.as_deref()).map_err(|e| invalid(&e))
    }

    /// The labels Quay records for a new manifest (`get_manifest_labels`): config labels and
    /// OCI annotations for images, the v1 labels for schema 1; empty keys skipped; media type
    /// `application/json` for values that are JSON objects or arrays, else `text/plain`.
    fn labels(
        &self,
        parsed: &ParsedManifest,
        config: Option<&ImageConfig>,
    ) -> Result<Vec<ManifestLabel>, RegistryFailure> {
        let map = match parsed {
            ParsedManifest::Image(image) => image.labels(config.map(|c| &c.labels)),
            ParsedManifest::Schema1(s) => s.labels().unwrap_or_default(),
            ParsedManifest::List(_) => return Ok(Vec::new()),
        };
        let mut labels = Vec::with_capacity(map.len());
        for (key, value) in map {
            if key.is_empty() {
                continue;
            }
            let value = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let json = ((value.starts_with('{') && value.ends_with('}'))
                || (value.starts_with('[') && value.ends_with(']')))
                && serde_json::from_str::<serde_json::Value>(&value).is_ok();
            labels.push(ManifestLabel {
                uuid: self.uuid4()?,
                key,
                value,
                media_type: if json {
                    "application/json"
                } else {
                    "text/plain"
                }
                .to_owned(),
            });
        }
        Ok(labels)
    }

    /// The children of a list that are present (sparse ones are skipped).
    async fn check_children(
        &self,
        repo: &Repository,
        parsed: &ParsedManifest,
    ) -> Result<Vec<String>, RegistryFailure> {
        let ParsedManifest::List(list) = parsed else {
            return Ok(Vec::new());
        };
        let mut present = Vec::new();
        for (i, entry) in list.manifests.iter().enumerate() {
            let stored = self
                .ports
                .manifests
                .find_manifest(repo.id, entry.digest.as_str())
                .await
                .map_err(|e| RegistryFailure::internal("looking up a child manifest", e))?;
            let outcome = list
                .check_child(
                    i,
                    stored.as_ref().map(|m| m.bytes.as_bytes()),
                    &self.settings.sparse_index,
                )
                .map_err(|e| invalid(&e))?;
            if let ChildOutcome::Load(_) = outcome {
                present.push(entry.digest.as_str().to_owned());
            }
        }
        Ok(present)
    }
}
