//! Docker schema 2 and OCI image manifests (Quay's `image/docker/schema2/manifest.py` and
//! `image/oci/manifest.py`).
//!
//! Rules:
//! - top level: an object with `schemaVersion` 2, `config` and `layers`; `mediaType` is required
//!   for Docker and optional (but exact when present) for OCI;
//! - Docker: `config.mediaType` must be the Docker config type and layer types the gzip or foreign
//!   layer types; OCI: any string that looks like a media type ([`ArtifactTypeRules`] may narrow);
//! - OCI may carry `subject`, `artifactType` and `annotations`;
//! - a layer size must not be negative; a remote layer (Docker foreign, OCI non-distributable)
//!   must have `urls`;
//! - local blobs: OCI skips remote layers, Docker skips every layer that has `urls`.

use serde_json::{Map, Value};

use super::descriptor::{Descriptor, MediaTypeRule, PlatformRule, parse_descriptor};
use super::json::{
    array, optional_object, optional_string, own_media_type, required, schema_version_2,
};
use super::{ManifestError, parse_json_object};
use crate::digest::Digest;
use crate::media_type::{
    ArtifactTypeRules, DOCKER_SCHEMA2_CONFIG, DOCKER_SCHEMA2_FOREIGN_LAYER, DOCKER_SCHEMA2_LAYER,
    ManifestMediaType, OCI_IMAGE_CONFIG, is_oci_nondistributable_layer,
};

/// One layer of an image manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// Its descriptor.
    pub descriptor: Descriptor,
    /// Whether the blob lives elsewhere (Docker foreign / OCI non-distributable).
    pub is_remote: bool,
}

/// A Docker schema 2 or OCI image manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageManifest {
    /// [`ManifestMediaType::DockerSchema2`] or [`ManifestMediaType::OciManifest`].
    pub media_type: ManifestMediaType,
    /// Whether the document has a `mediaType` field (optional for OCI).
    pub declares_media_type: bool,
    /// `config`.
    pub config: Descriptor,
    /// `layers`, base first.
    pub layers: Vec<Layer>,
    /// `subject` (OCI).
    pub subject: Option<Descriptor>,
    /// `artifactType` (OCI).
    pub artifact_type: Option<String>,
    /// `annotations` (OCI).
    pub annotations: Option<Map<String, Value>>,
}

const DOCKER_LAYER_TYPES: [&str; 2] = [DOCKER_SCHEMA2_LAYER, DOCKER_SCHEMA2_FOREIGN_LAYER];

impl ImageManifest {
    pub(crate) fn parse(
        media_type: ManifestMediaType,
        bytes: &[u8],
        artifact_types: &ArtifactTypeRules,
    ) -> Result<Self, ManifestError> {
        let m = parse_json_object(bytes)?;
        let schema =
            |e: String| ManifestError::parse(format!("manifest data does not match schema: {e}"));
        let oci = media_type == ManifestMediaType::OciManifest;
        schema_version_2(&m, "$").map_err(schema)?;
        let declares_media_type =
            own_media_type(&m, media_type.as_str(), !oci, "$").map_err(schema)?;
        let (config_rule, layer_rule) = if oci {
            (MediaTypeRule::Pattern, MediaTypeRule::Pattern)
        } else {
            (
                MediaTypeRule::OneOf(&[DOCKER_SCHEMA2_CONFIG]),
                MediaTypeRule::OneOf(&DOCKER_LAYER_TYPES),
            )
        };
        let descriptor = |v: &Value, path: &str, rule| {
            parse_descriptor(v, path, rule, PlatformRule::Ignored).map_err(|e| {
                if e.starts_with("could not parse manifest digest") {
                    ManifestError::parse(e)
                } else {
                    schema(e)
                }
            })
        };
        let config = descriptor(
            required(&m, "config", "$").map_err(schema)?,
            "$.config",
            config_rule,
        )?;
        let raw_layers =
            array(required(&m, "layers", "$").map_err(schema)?, "$.layers").map_err(schema)?;
        let mut layers = Vec::with_capacity(raw_layers.len());
        for (i, l) in raw_layers.iter().enumerate() {
            let d = descriptor(l, &format!("$.layers[{i}]"), layer_rule)?;
            let is_remote = if oci {
                is_oci_nondistributable_layer(&d.media_type)
            } else {
                d.media_type == DOCKER_SCHEMA2_FOREIGN_LAYER
            };
            layers.push(Layer {
                descriptor: d,
                is_remote,
            });
        }
        let (subject, artifact_type, annotations) = if oci {
            let subject = m
                .get("subject")
                .map(|s| descriptor(s, "$.subject", MediaTypeRule::Pattern))
                .transpose()?;
            (
                subject,
                optional_string(&m, "artifactType", "$").map_err(schema)?,
                optional_object(&m, "annotations", "$").map_err(schema)?,
            )
        } else {
            (None, None, None)
        };
        if layers.iter().any(|l| l.descriptor.size < 0) {
            return Err(ManifestError::parse("invalid layer size"));
        }
        if layers
            .iter()
            .any(|l| l.is_remote && l.descriptor.urls.as_ref().is_none_or(Vec::is_empty))
        {
            return Err(ManifestError::parse("missing `urls` for remote layer"));
        }
        if oci {
            artifact_types
                .check(
                    &config.media_type,
                    layers.iter().map(|l| l.descriptor.media_type.as_str()),
                )
                .map_err(schema)?;
        }
        Ok(Self {
            media_type,
            declares_media_type,
            config,
            layers,
            subject,
            artifact_type,
            annotations,
        })
    }

    /// Whether this is a container image (Docker always; OCI when the config is an OCI image
    /// config), rather than an artifact.
    pub fn is_image(&self) -> bool {
        self.media_type == ManifestMediaType::DockerSchema2
            || self.config.media_type == OCI_IMAGE_CONFIG
    }

    /// Sum of the layer sizes.
    pub fn layers_compressed_size(&self) -> i64 {
        self.layers.iter().map(|l| l.descriptor.size).sum()
    }

    /// Whether any layer is remote.
    pub fn has_remote_layer(&self) -> bool {
        self.layers.iter().any(|l| l.is_remote)
    }

    /// Every referenced blob: layers (base first), then the config.
    pub fn blob_digests(&self) -> Vec<Digest> {
        self.layers
            .iter()
            .map(|l| l.descriptor.digest.clone())
            .chain(std::iter::once(self.config.digest.clone()))
            .collect()
    }

    /// The blobs that must exist locally: layers that are not remote (Docker: that have no
    /// `urls`), then the config.
    pub fn local_blob_digests(&self) -> Vec<Digest> {
        let docker = self.media_type == ManifestMediaType::DockerSchema2;
        self.layers
            .iter()
            .filter(|l| {
                if docker {
                    l.descriptor.urls.as_ref().is_none_or(Vec::is_empty)
                } else {
                    !l.is_remote
                }
            })
            .map(|l| l.descriptor.digest.clone())
            .chain(std::iter::once(self.config.digest.clone()))
            .collect()
    }

    /// The manifest's labels: config labels (images), overridden by annotations (OCI).
    pub fn labels(&self, config_labels: Option<&Map<String, Value>>) -> Map<String, Value> {
        let mut labels = if self.is_image() {
            config_labels.cloned().unwrap_or_default()
        } else {
            Map::new()
        };
        if self.media_type == ManifestMediaType::OciManifest {
            for (k, v) in self.annotations.iter().flatten() {
                labels.insert(k.clone(), v.clone());
            }
        }
        labels
    }

    /// The manifest as JSON (known fields only), for building manifests and tests.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("schemaVersion".into(), Value::from(2));
        if self.declares_media_type {
            m.insert("mediaType".into(), Value::from(self.media_type.as_str()));
        }
        if let Some(t) = &self.artifact_type {
            m.insert("artifactType".into(), Value::from(t.clone()));
        }
        m.insert("config".into(), self.config.to_json());
        m.insert(
            "layers".into(),
            Value::Array(self.layers.iter().map(|l| l.descriptor.to_json()).collect()),
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
