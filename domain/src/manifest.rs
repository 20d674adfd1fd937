//! Manifest parsing and validation, as Quay's `image/` package and `data/model/oci/manifest.py`
//! do it.
//!
//! A push goes through three stages, each with its own failures (all `MANIFEST_INVALID` 400 unless
//! noted, see [`ManifestError::to_registry_error`]):
//! 1. **parse** ([`parse_manifest`]): bytes → [`ParsedManifest`] by the media type the request
//!    declared; JSON, schema, digest, size and remote-layer rules. Detail
//!    `{"message": "failed to parse manifest: ..."}`.
//! 2. **request checks**: by-digest PUT compares [`ParsedManifest::digest`] with the URL
//!    (`manifest digest mismatch`); schema 1 checks its embedded names ([`Schema1Manifest::check_target`],
//!    `NAME_INVALID`) and layers.
//! 3. **create** (the application, with the repository's content): config blob
//!    ([`check_config_blob`]), children of lists ([`ManifestList::check_child`], sparse rule),
//!    referenced blobs ([`ParsedManifest::local_blob_digests`] must all be linked, else
//!    `Unknown blob ...`). Detail `{"message": "..."}`.
//!
//! The manifest digest is SHA-256 of the exact bytes (for signed schema 1: of the JWS payload,
//! [`Schema1Manifest::payload`]); hashing is the caller's, through [`ParsedManifest::digest`].

mod base64url;
mod config;
mod convert;
mod descriptor;
mod image;
mod json;
mod list;
mod pyjson;
mod referrers;
mod schema1;

pub use config::{ImageConfig, check_config_blob};
pub use convert::to_schema1;
pub use descriptor::{Descriptor, Platform};
pub use image::{ImageManifest, Layer};
pub use list::{ChildOutcome, ManifestList, SparseIndexRule};
pub use referrers::{ArtifactTypeSource, Referrer, referrers_index};
pub use schema1::{Schema1Layer, Schema1Manifest, Schema1Signature};

use serde_json::{Map, Value};

use crate::digest::Digest;
use crate::media_type::{ArtifactTypeRules, ManifestMediaType};
use crate::registry_error::{ErrorKind, RegistryError};

/// The largest manifest body we accept (the OCI distribution spec asks registries to take at
/// least 4 MiB; Quay leaves the limit to nginx).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

/// Why a manifest is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Stage 1: the bytes do not parse as the declared type (Quay's `ManifestException` during
    /// parsing).
    #[error("failed to parse manifest: {0}")]
    Parse(String),
    /// Stage 2 or 3: the manifest parsed but cannot be stored.
    #[error("{0}")]
    Invalid(String),
    /// By-digest PUT whose content hashes to another digest.
    #[error("manifest digest mismatch")]
    DigestMismatch,
    /// Schema 1 namespace or repository differs from the URL.
    #[error("{message}")]
    NameMismatch {
        /// Quay's message (`namespace name does not match manifest`, ...).
        message: String,
        /// Quay's detail message.
        detail: String,
    },
    /// Schema 1 tag differs from the tag it is pushed to (Quay refuses the retarget with an
    /// empty detail).
    #[error("schema 1 manifest tag does not match the tag pushed to")]
    TagMismatch,
    /// The body exceeds [`MAX_MANIFEST_BYTES`].
    #[error("manifest of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Body size.
        size: usize,
        /// Limit.
        max: usize,
    },
}

impl ManifestError {
    pub(crate) fn parse(msg: impl Into<String>) -> Self {
        Self::Parse(msg.into())
    }

    /// A failed schema 1 signature check (Quay's `InvalidSchema1Signature`, which has no message).
    pub fn invalid_signature() -> Self {
        Self::Parse(String::new())
    }

    /// The `/v2` answer.
    pub fn to_registry_error(&self) -> RegistryError {
        let invalid = RegistryError::new(ErrorKind::ManifestInvalid);
        match self {
            Self::NameMismatch { message, detail } => RegistryError::new(ErrorKind::NameInvalid)
                .with_message(message.clone())
                .with_detail_message(detail.clone()),
            Self::TagMismatch => invalid,
            Self::TooLarge { .. } => invalid
                .with_detail_message(self.to_string())
                .with_status(413),
            other => invalid.with_detail_message(other.to_string()),
        }
    }
}

/// Options of [`parse_manifest`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseOptions {
    /// Config/layer media type rules for OCI manifests.
    pub artifact_types: ArtifactTypeRules,
}

impl Default for ParseOptions {
    fn default() -> Self {
        Self {
            artifact_types: ArtifactTypeRules::quay_defaults(),
        }
    }
}

/// A parsed manifest of any supported type.
#[derive(Debug, Clone, PartialEq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per request, matched by callers; boxing buys nothing"
)]
pub enum ParsedManifest {
    /// Docker schema 2 or OCI image manifest.
    Image(ImageManifest),
    /// Docker manifest list or OCI index.
    List(ManifestList),
    /// Docker schema 1, signed or not.
    Schema1(Schema1Manifest),
}

pub(crate) fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, ManifestError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ManifestError::parse(format!("malformed manifest data: {e}")))?;
    match value {
        Value::Object(m) => Ok(m),
        other => Err(ManifestError::parse(format!(
            "manifest data does not match schema: {other} is not of type 'object'"
        ))),
    }
}

/// Parses manifest bytes as `media_type` (stage 1).
///
/// # Errors
/// [`ManifestError::TooLarge`] over [`MAX_MANIFEST_BYTES`]; [`ManifestError::Parse`] for bad JSON,
/// schema violations, unparsable digests, negative layer sizes, remote layers without `urls`,
/// disallowed artifact types, and malformed schema 1 signatures.
pub fn parse_manifest(
    media_type: ManifestMediaType,
    bytes: &[u8],
    options: &ParseOptions,
) -> Result<ParsedManifest, ManifestError> {
    if bytes.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge {
            size: bytes.len(),
            max: MAX_MANIFEST_BYTES,
        });
    }
    Ok(match media_type {
        ManifestMediaType::DockerSchema2 | ManifestMediaType::OciManifest => ParsedManifest::Image(
            ImageManifest::parse(media_type, bytes, &options.artifact_types)?,
        ),
        ManifestMediaType::DockerSchema2List | ManifestMediaType::OciIndex => {
            ParsedManifest::List(ManifestList::parse(media_type, bytes)?)
        }
        ManifestMediaType::DockerSchema1 | ManifestMediaType::DockerSchema1Signed => {
            ParsedManifest::Schema1(Schema1Manifest::parse(bytes)?)
        }
    })
}

impl ParsedManifest {
    /// The manifest's own media type (for schema 1: signed iff it has signatures, whatever the
    /// request said).
    pub fn media_type(&self) -> ManifestMediaType {
        match self {
            Self::Image(m) => m.media_type,
            Self::List(l) => l.media_type,
            Self::Schema1(s) => s.media_type(),
        }
    }

    /// The bytes the digest is computed over: `raw` itself, or a signed schema 1's payload.
    pub fn digest_input<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        match self {
            Self::Schema1(s) => s.payload(raw),
            _ => raw,
        }
    }

    /// The manifest digest, hashing [`Self::digest_input`] with the caller's SHA-256.
    pub fn digest(&self, raw: &[u8], sha256: &dyn Fn(&[u8]) -> Digest) -> Digest {
        sha256(self.digest_input(raw))
    }

    /// Checks a by-digest PUT: the computed digest must equal the URL's.
    ///
    /// # Errors
    /// [`ManifestError::DigestMismatch`].
    pub fn verify_digest(
        &self,
        raw: &[u8],
        expected: &Digest,
        sha256: &dyn Fn(&[u8]) -> Digest,
    ) -> Result<Digest, ManifestError> {
        let got = self.digest(raw, sha256);
        if &got == expected {
            Ok(got)
        } else {
            Err(ManifestError::DigestMismatch)
        }
    }

    /// `subject` (OCI only), stored in `manifest.subject`.
    pub fn subject(&self) -> Option<&Descriptor> {
        match self {
            Self::Image(m) => m.subject.as_ref(),
            Self::List(l) => l.subject.as_ref(),
            Self::Schema1(_) => None,
        }
    }

    /// `artifactType` (OCI only), stored in `manifest.artifact_type`.
    pub fn artifact_type(&self) -> Option<&str> {
        match self {
            Self::Image(m) => m.artifact_type.as_deref(),
            Self::List(l) => l.artifact_type.as_deref(),
            Self::Schema1(_) => None,
        }
    }

    /// `config.mediaType`, stored in `manifest.config_media_type` (images only).
    pub fn config_media_type(&self) -> Option<&str> {
        match self {
            Self::Image(m) => Some(&m.config.media_type),
            _ => None,
        }
    }

    /// Sum of layer sizes, stored in `manifest.layers_compressed_size` (`None` for lists).
    pub fn layers_compressed_size(&self) -> Option<i64> {
        match self {
            Self::Image(m) => Some(m.layers_compressed_size()),
            Self::List(_) => None,
            Self::Schema1(s) => s.layers_compressed_size().ok(),
        }
    }

    /// The blobs that must be linked in the repository before the manifest is stored (config and
    /// local layers, duplicates removed, order kept). Remote layers are left out; lists have none.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] for schema 1 layers that do not parse.
    pub fn local_blob_digests(&self) -> Result<Vec<Digest>, ManifestError> {
        let all = match self {
            Self::Image(m) => m.local_blob_digests(),
            Self::List(_) => Vec::new(),
            Self::Schema1(s) => s.layers()?.into_iter().map(|l| l.digest).collect(),
        };
        let mut seen = std::collections::BTreeSet::new();
        Ok(all.into_iter().filter(|d| seen.insert(d.clone())).collect())
    }

    /// Whether this is a list (has children, no blobs).
    pub fn is_list(&self) -> bool {
        matches!(self, Self::List(_))
    }
}

#[cfg(test)]
mod tests;
