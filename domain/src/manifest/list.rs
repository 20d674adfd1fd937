//! Docker manifest lists and OCI image indexes (Quay's `image/docker/schema2/list.py`,
//! `image/oci/index.py` and `LazyManifestLoader` in `image/shared/schemautil.py`).
//!
//! Rules:
//! - top level: an object with `schemaVersion` 2 and `manifests`; `mediaType` required for Docker,
//!   optional (exact when present) for OCI; OCI may carry `subject`, `artifactType`, `annotations`;
//! - Docker entries: `mediaType` is schema 2 or *unsigned* schema 1, `platform` (with
//!   `architecture` and `os`) is required; OCI entries: any media-type-looking string, `platform`
//!   optional;
//! - a list references no blobs; its children are manifests of the same repository, checked at
//!   creation by [`ManifestList::check_child`]: a missing child is an error unless the
//!   [`SparseIndexRule`] lets it be skipped; a present child
//!   must have the declared size and a type the list kind supports;
//! - a schema 1 child of a Docker list must not declare another architecture than its entry.

use serde_json::{Map, Value};

use super::descriptor::{Descriptor, MediaTypeRule, PlatformRule, parse_descriptor};
use super::json::{
    array, optional_object, optional_string, own_media_type, required, schema_version_2,
};
use super::{ManifestError, Schema1Manifest, parse_json_object};
use crate::digest::Digest;
use crate::media_type::{DOCKER_SCHEMA1_MANIFEST, DOCKER_SCHEMA2_MANIFEST, ManifestMediaType};

/// A Docker manifest list or an OCI image index.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestList {
    /// [`ManifestMediaType::DockerSchema2List`] or [`ManifestMediaType::OciIndex`].
    pub media_type: ManifestMediaType,
    /// Whether the document has a `mediaType` field (optional for OCI).
    pub declares_media_type: bool,
    /// `manifests`.
    pub manifests: Vec<Descriptor>,
    /// `subject` (OCI).
    pub subject: Option<Descriptor>,
    /// `artifactType` (OCI).
    pub artifact_type: Option<String>,
    /// `annotations` (OCI).
    pub annotations: Option<Map<String, Value>>,
}

/// Which missing children a list may be stored without (`FEATURE_SPARSE_INDEX`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SparseIndexRule {
    /// Every child must be present (`FEATURE_SPARSE_INDEX` off, the default).
    #[default]
    Disabled,
    /// Any child may be missing (`FEATURE_SPARSE_INDEX` on, Quay's current rule).
    AllOptional,
    /// Only children whose platform architecture is *not* listed may be missing; an entry
    /// without an architecture, or an empty list, makes the child required (the earlier rule with
    /// `SPARSE_INDEX_REQUIRED_ARCHS`, Quay commit 7eacbffd1, removed in 23978b2d6).
    RequiredArchitectures(Vec<String>),
}

impl SparseIndexRule {
    /// Whether a missing child of this platform may be skipped.
    pub fn may_skip(&self, entry: &Descriptor) -> bool {
        match self {
            Self::Disabled => false,
            Self::AllOptional => true,
            Self::RequiredArchitectures(required) => {
                let arch = entry.platform.as_ref().map(|p| p.architecture.as_str());
                match arch {
                    Some(a) if !required.is_empty() => !required.iter().any(|r| r == a),
                    _ => false,
                }
            }
        }
    }
}

/// What to do with one child while storing a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildOutcome {
    /// Parse the child as this type (with `validate=false` semantics) and link it.
    Load(ManifestMediaType),
    /// The child is absent and sparse indexes are allowed: store the list without it.
    SkipSparse,
}

const DOCKER_CHILD_TYPES: [&str; 2] = [DOCKER_SCHEMA2_MANIFEST, DOCKER_SCHEMA1_MANIFEST];

impl ManifestList {
    pub(crate) fn parse(
        media_type: ManifestMediaType,
        bytes: &[u8],
    ) -> Result<Self, ManifestError> {
        let m = parse_json_object(bytes)?;
        let schema =
            |e: String| ManifestError::parse(format!("manifest data does not match schema: {e}"));
        let oci = media_type == ManifestMediaType::OciIndex;
        schema_version_2(&m, "$").map_err(schema)?;
        let declares_media_type =
            own_media_type(&m, media_type.as_str(), !oci, "$").map_err(schema)?;
        let (rule, platform) = if oci {
            (MediaTypeRule::Pattern, PlatformRule::Optional)
        } else {
            (
                MediaTypeRule::OneOf(&DOCKER_CHILD_TYPES),
                PlatformRule::Required,
            )
        };
        let lift = |e: String| {
            if e.starts_with("could not parse manifest digest") {
                ManifestError::parse(e)
            } else {
                schema(e)
            }
        };
        let entries = array(
            required(&m, "manifests", "$").map_err(schema)?,
            "$.manifests",
        )
        .map_err(schema)?;
        let manifests = entries
            .iter()
            .enumerate()
            .map(|(i, e)| parse_descriptor(e, &format!("$.manifests[{i}]"), rule, platform))
            .collect::<Result<Vec<_>, _>>()
            .map_err(lift)?;
        let (subject, artifact_type, annotations) = if oci {
            (
                m.get("subject")
                    .map(|s| {
                        parse_descriptor(
                            s,
                            "$.subject",
                            MediaTypeRule::Pattern,
                            PlatformRule::Ignored,
                        )
                    })
                    .transpose()
                    .map_err(lift)?,
                optional_string(&m, "artifactType", "$").map_err(schema)?,
                optional_object(&m, "annotations", "$").map_err(schema)?,
            )
        } else {
            (None, None, None)
        };
        Ok(Self {
            media_type,
            declares_media_type,
            manifests,
            subject,
            artifact_type,
            annotations,
        })
    }

    /// The digests of the children, in order.
    pub fn child_digests(&self) -> Vec<&Digest> {
        self.manifests.iter().map(|d| &d.digest).collect()
    }

    /// The first linux/amd64 child (the one Quay converts to schema 1 for old clients).
    pub fn amd64_linux_child(&self) -> Option<&Descriptor> {
        self.manifests.iter().find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.architecture == "amd64" && p.os == "linux")
        })
    }

    fn supports_child(&self, media_type: ManifestMediaType) -> bool {
        match self.media_type {
            ManifestMediaType::DockerSchema2List => matches!(
                media_type,
                ManifestMediaType::DockerSchema1 | ManifestMediaType::DockerSchema2
            ),
            _ => !media_type.is_schema1(),
        }
    }

    /// Decides what to do with child `index`, given its stored bytes if the repository has them.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] when the child is missing (and `sparse` does not allow skipping
    /// it), its size
    /// differs from the entry's, or its type is not one this list kind may contain.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn check_child(
        &self,
        index: usize,
        stored: Option<&[u8]>,
        sparse: &SparseIndexRule,
    ) -> Result<ChildOutcome, ManifestError> {
        let entry = &self.manifests[index];
        let Some(bytes) = stored else {
            if sparse.may_skip(entry) {
                return Ok(ChildOutcome::SkipSparse);
            }
            return Err(ManifestError::Invalid(format!(
                "Could not find child manifest with digest `{}`",
                entry.digest
            )));
        };
        if i64::try_from(bytes.len()).ok() != Some(entry.size) {
            return Err(ManifestError::Invalid(format!(
                "Size of manifest does not match that retrieved: {} vs {}",
                bytes.len(),
                entry.size
            )));
        }
        match ManifestMediaType::parse(&entry.media_type) {
            Some(t) if self.supports_child(t) => Ok(ChildOutcome::Load(t)),
            _ => Err(ManifestError::Invalid(format!(
                "Unknown or unsupported manifest media type `{}`",
                entry.media_type
            ))),
        }
    }

    /// Checks a schema 1 child of a Docker list against its entry's architecture.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] (`Mismatch in arch for manifest ...`) when both are set and
    /// differ.
    ///
    /// # Panics
    /// If `index` is out of range.
    pub fn check_schema1_child(
        &self,
        index: usize,
        child: &Schema1Manifest,
    ) -> Result<(), ManifestError> {
        let entry = &self.manifests[index];
        let declared = entry.platform.as_ref().map(|p| p.architecture.as_str());
        match child.architecture.as_deref() {
            Some(arch) if !arch.is_empty() && Some(arch) != declared => Err(
                ManifestError::Invalid(format!("Mismatch in arch for manifest `{}`", entry.digest)),
            ),
            _ => Ok(()),
        }
    }

    /// The list as JSON (known fields only).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("schemaVersion".into(), Value::from(2));
        if self.declares_media_type {
            m.insert("mediaType".into(), Value::from(self.media_type.as_str()));
        }
        if let Some(t) = &self.artifact_type {
            m.insert("artifactType".into(), Value::from(t.clone()));
        }
        m.insert(
            "manifests".into(),
            Value::Array(self.manifests.iter().map(Descriptor::to_json).collect()),
        );
        if let Some(s) = &self.subject {
            m.insert("subject".into(), s.to_json());
        }
        if let Some(a) = &self.annotations {
            m.insert("annotations".into(), Value::Object(a.clone()));
        }
        Value::Object(m)
    }
}
