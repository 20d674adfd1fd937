//! The manifest store: Quay's `manifest`, `manifestblob`, `manifestchild` and `tag` tables as the
//! registry writes them, plus repository creation on push.
//!
//! Invariants (Quay's `data/model/oci/{manifest,tag}.py`):
//! - a manifest row holds its bytes; `(repository, digest)` is unique, so a second push of the
//!   same manifest reuses the row;
//! - tags are append-only lifetime rows: a retarget closes the live row (`lifetime_end_ms = now`)
//!   and inserts a new one; a delete only closes it;
//! - a manifest pushed by digest gets a hidden `$temp-<uuid>` tag so GC keeps it
//!   (`PUSH_TEMP_TAG_EXPIRATION_SEC`; no expiry when it has a subject), unless a tag already keeps
//!   it alive that long;
//! - each push is one transaction ([`ManifestStore::commit_manifest_push`]); on PostgreSQL a tag
//!   move takes Quay's advisory lock, so concurrent pushes of one tag serialise.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quay_domain::name::{NamespaceName, RepositoryName};
use quay_domain::repository::{Repository, RepositoryId};
use quay_domain::user::UserId;

use super::BackendError;
use super::audit::AuditEntry;

/// Errors of [`ManifestStore`].
#[derive(Debug, thiserror::Error)]
pub enum ManifestStoreError {
    /// A blob the manifest references is not visible in the repository.
    #[error("unknown blob {0}")]
    UnknownBlob(String),
    /// A child manifest of a list is not in the repository.
    #[error("unknown child manifest {0}")]
    UnknownChild(String),
    /// The media type is not in `mediatype`, or another lookup row is missing.
    #[error("missing lookup row {0}")]
    MissingLookup(String),
    /// A concurrent change made the write impossible; retrying may succeed.
    #[error("concurrent change")]
    Conflict,
    /// The namespace quota refused the push (`QuotaPush::verify`); the new manifest, if any, was
    /// kept under an expired hidden tag and no tag moved.
    #[error("namespace quota exceeded")]
    QuotaExceeded,
    /// The live tag named here is immutable and may be neither moved nor deleted
    /// (`FEATURE_IMMUTABLE_TAGS`).
    #[error("tag '{0}' is immutable")]
    TagImmutable(String),
    /// The database failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// A stored manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredManifest {
    /// `manifest.id`.
    pub id: i64,
    /// `digest`.
    pub digest: String,
    /// The media type name.
    pub media_type: String,
    /// `manifest_bytes`.
    pub bytes: String,
    /// `artifact_type`.
    pub artifact_type: Option<String>,
    /// `config_media_type`.
    pub config_media_type: Option<String>,
}

/// A tag to point at the pushed manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagMove {
    /// Tag name.
    pub name: String,
    /// `lifetime_start_ms` of the new row and `lifetime_end_ms` of the closed one.
    pub now_ms: i64,
    /// Quay's advisory lock id for `retarget_tag:<repo id>` (PostgreSQL only).
    pub lock_id: i64,
    /// `lifetime_end_ms` of the new row (the `quay.expires-after` label); `None` for no
    /// expiry.
    pub end_ms: Option<i64>,
    /// `tag.immutable` of the new row as the `quay.immutable` label decides; an immutability
    /// policy can still make it immutable ([`Self::policy_audit`]).
    pub immutable: bool,
    /// `FEATURE_IMMUTABLE_TAGS`: an immutable live tag of that name is not moved
    /// ([`ManifestStoreError::TagImmutable`]).
    pub refuse_immutable: bool,
    /// `FEATURE_IMMUTABLE_TAGS`: the immutability policies of the repository and its namespace,
    /// read inside the push transaction under the retarget lock (as Quay's `retarget_tag`
    /// does), and the entry logged when one makes the new row immutable. `None`: no policy
    /// applies.
    pub policy_audit: Option<PolicyCheck>,
}

/// How the store applies the immutability policies to a pushed tag (inside the transaction that
/// moves it, so a policy added concurrently is either seen or added after the move).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCheck {
    /// `FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE`: a tag a policy makes immutable keeps its
    /// `end_ms`; otherwise it gets none.
    pub immutable_can_expire: bool,
    /// `tag_made_immutable_by_policy`, written when a policy matches, after the tag row and
    /// before the push's own entry.
    pub audit: AuditEntry,
}

/// How a tag deletion behaves (Quay's `delete_tag` and `delete_tags_for_manifest`). Every
/// closed tag also loses its `tagnotificationsuccess` rows (`delete_tag_notifications_for_tag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagDeletion {
    /// The new `lifetime_end_ms`.
    pub now_ms: i64,
    /// Quay's advisory lock id for `retarget_tag:<repo id>` (PostgreSQL only), held while the
    /// deleted tags' cosign siblings are expired.
    pub lock_id: i64,
    /// `FEATURE_IMMUTABLE_TAGS`: an immutable live tag refuses the whole deletion
    /// ([`ManifestStoreError::TagImmutable`]).
    pub refuse_immutable: bool,
    /// `FEATURE_IMAGE_PULL_STATS`: the deleted tags' `tagpullstatistics` rows are removed, so
    /// a re-pushed tag starts fresh.
    pub clear_pull_statistics: bool,
    /// `RESET_CHILD_MANIFEST_EXPIRATION` (default false): the hidden `$temp-` tags of the
    /// deleted tags' child manifests (`manifestchild`) that end after `now_ms` are closed at
    /// `now_ms`; ones without an end are left, as in Quay's `reset_child_manifest_expiration`.
    pub reset_child_expiration: bool,
}

/// A hidden temporary tag for a manifest pushed by digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TempTag {
    /// `$temp-<uuid4>`.
    pub name: String,
    /// `lifetime_start_ms`.
    pub now_ms: i64,
    /// `lifetime_end_ms`; `None` for manifests with a subject.
    pub end_ms: Option<i64>,
}

/// A label of a new manifest (`label` + `manifestlabel`, source type `manifest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestLabel {
    /// `label.uuid` (a uuid4).
    pub uuid: String,
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
    /// `application/json` or `text/plain` (looked up in `mediatype` by name).
    pub media_type: String,
}

/// Everything one manifest push writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPush {
    /// The repository.
    pub repository: RepositoryId,
    /// The manifest digest.
    pub digest: String,
    /// Its media type name.
    pub media_type: String,
    /// The bytes as pushed.
    pub bytes: String,
    /// `config_media_type`.
    pub config_media_type: Option<String>,
    /// `layers_compressed_size`.
    pub layers_compressed_size: Option<i64>,
    /// `subject` digest.
    pub subject: Option<String>,
    /// `artifact_type`.
    pub artifact_type: Option<String>,
    /// Blobs to link (`manifestblob`); each must be visible in the repository at `now`.
    pub blob_digests: Vec<String>,
    /// Child manifests (`manifestchild`); each must exist in the repository unless listed in
    /// `optional_children` (sparse index).
    pub child_digests: Vec<String>,
    /// Children that may be missing.
    pub optional_children: Vec<String>,
    /// Labels of the manifest (written only when the manifest row is new).
    pub labels: Vec<ManifestLabel>,
    /// The time of the push (blob visibility).
    pub now: DateTime<Utc>,
    /// The tag to move, for pushes by tag.
    pub tag: Option<TagMove>,
    /// The temporary tag, for pushes by digest.
    pub temp_tag: Option<TempTag>,
    /// The `push_repo` entry, written in the same transaction.
    pub audit: Option<AuditEntry>,
    /// Size accounting and the limits check ([`super::quota`]).
    pub quota: super::quota::QuotaPush,
}

/// A repository to create on push (Quay's `create_repository`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRepository {
    /// Owning namespace id.
    pub namespace_id: UserId,
    /// Namespace name.
    pub namespace: NamespaceName,
    /// Repository name.
    pub name: RepositoryName,
    /// `private` or `public`.
    pub visibility: String,
    /// The creating user, given the `admin` permission (not for organizations).
    pub admin: Option<UserId>,
    /// `badge_token` (a uuid4).
    pub badge_token: String,
    /// Now, for `repositoryactioncount.date` (yesterday's date is written, as Quay does).
    pub now: DateTime<Utc>,
}

/// Manifests and the tags pointing at them.
#[async_trait]
pub trait ManifestStore: Send + Sync {
    /// The manifest with `digest` in `repository` (hidden or not).
    ///
    /// # Errors
    /// `Backend`.
    async fn find_manifest(
        &self,
        repository: RepositoryId,
        digest: &str,
    ) -> Result<Option<StoredManifest>, ManifestStoreError>;

    /// The manifest the live, visible tag `name` points at.
    ///
    /// # Errors
    /// `Backend`.
    async fn find_tagged_manifest(
        &self,
        repository: RepositoryId,
        name: &str,
        now_ms: i64,
    ) -> Result<Option<StoredManifest>, ManifestStoreError>;

    /// Writes a push in one transaction; returns the manifest id (new or reused). A new
    /// manifest also gets its `manifestsecuritystatus` row (pending, indexer V4, empty hash and
    /// JSON objects), as Quay writes it for every manifest it creates. Moving a tag (not itself
    /// a cosign tag-schema name) off a manifest expires that manifest's cosign siblings as
    /// [`Self::delete_tag`] does, unless another visible tag keeps the manifest.
    ///
    /// # Errors
    /// `UnknownBlob`, `UnknownChild`, `MissingLookup`, `Conflict`, `TagImmutable` (the live
    /// tag is immutable and `refuse_immutable` is set; nothing written), `QuotaExceeded` (the
    /// namespace is at a `Reject` limit after the push's size accounting; a new manifest is kept,
    /// counted, under `quota.verify.reject_tag`; no tag moves, no audit entry), `Backend`.
    async fn commit_manifest_push(&self, push: &ManifestPush) -> Result<i64, ManifestStoreError>;

    /// Closes the live tag `name` (`lifetime_end_ms = deletion.now_ms`). Returns the digest
    /// the tag pointed at, or `None` when there was no live tag.
    ///
    /// Cosign siblings (Quay's `_expire_cosign_sibling_tags`): unless `name` is itself a cosign
    /// tag-schema name, the live, mutable tags named `sha256-<hex>.sig`, `.att` and `.sbom`
    /// after the closed tag's manifest are closed too, hidden ones included, when no other
    /// live, visible, non-cosign tag points at that manifest. Each gets a distinct
    /// `lifetime_end_ms` at or before `now_ms` (stepping down past ends already used by a row of
    /// the same name, for the unique `(repository, name, lifetime_end_ms)` index).
    ///
    /// # Errors
    /// `TagImmutable` (nothing changed), `Backend`.
    async fn delete_tag(
        &self,
        repository: RepositoryId,
        name: &str,
        deletion: &TagDeletion,
    ) -> Result<Option<String>, ManifestStoreError>;

    /// Closes every live tag pointing at `digest` in one transaction; returns their names
    /// (empty when the manifest exists but is untagged, `None` when it does not exist). When a
    /// visible, non-cosign tag was among them, the manifest's cosign siblings are then expired
    /// once, as [`Self::delete_tag`] describes.
    ///
    /// # Errors
    /// `TagImmutable` (nothing changed), `Backend`.
    async fn delete_manifest_tags(
        &self,
        repository: RepositoryId,
        digest: &str,
        deletion: &TagDeletion,
    ) -> Result<Option<Vec<String>>, ManifestStoreError>;

    /// For each digest, the `quay*` labels (`key`, `value`) of that manifest of `repository` by
    /// label id (Quay's `list_manifest_labels(key_prefix="quay")`), or `None` when the manifest
    /// does not exist.
    ///
    /// # Errors
    /// `Backend`.
    async fn quay_labels(
        &self,
        repository: RepositoryId,
        digests: &[String],
    ) -> Result<Vec<Option<Vec<(String, String)>>>, ManifestStoreError>;

    /// Manifests whose `subject` is `digest` and which a live tag (hidden or not) keeps.
    ///
    /// # Errors
    /// `Backend`.
    async fn list_referrers(
        &self,
        repository: RepositoryId,
        digest: &str,
        now_ms: i64,
    ) -> Result<Vec<StoredManifest>, ManifestStoreError>;

    /// Creates a repository with Quay's side rows (`repositoryactioncount`,
    /// `repositorysearchscore`, admin `repositorypermission`); returns the existing one when it
    /// was created concurrently.
    ///
    /// # Errors
    /// `MissingLookup` when `visibility`, `image` kind or `admin` role rows are missing;
    /// `Backend`.
    async fn create_repository(
        &self,
        repository: &NewRepository,
    ) -> Result<Repository, ManifestStoreError>;

    /// One page of the `/v2/_catalog` (Quay's `get_visible_repositories`): image repositories
    /// not marked for deletion, with `id >= start_id`, that `account` holds a permission on
    /// (directly or through a team), or whose organization it administers, plus public ones
    /// when `include_public`; by id, at most `limit`. Returns `(id, "namespace/name")`.
    ///
    /// # Errors
    /// `Backend`.
    async fn catalog_page(
        &self,
        account: Option<UserId>,
        include_public: bool,
        start_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(i64, String)>, ManifestStoreError>;
}
