//! Content descriptors (`mediaType`, `size`, `digest`, ...) and platforms, as Quay's schemas read
//! them (`image/oci/descriptor.py` and the Docker schema 2 schemas).

use serde_json::{Map, Value};

use super::json::{
    SchemaResult, integer, object, optional_object, optional_string, optional_string_array,
    required, required_string,
};
use crate::digest::Digest;
use crate::media_type::looks_like_media_type;

/// A descriptor of a blob or manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    /// `mediaType`.
    pub media_type: String,
    /// `size` in bytes. Quay refuses negative sizes only for layers.
    pub size: i64,
    /// `digest`.
    pub digest: Digest,
    /// `urls`, for foreign / non-distributable layers.
    pub urls: Option<Vec<String>>,
    /// `annotations` (values are kept as JSON, as Quay does not type them).
    pub annotations: Option<Map<String, Value>>,
    /// `artifactType`.
    pub artifact_type: Option<String>,
    /// `platform`, for entries of lists and indexes.
    pub platform: Option<Platform>,
}

/// The `platform` of a list or index entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Platform {
    /// `architecture` (required when `platform` is present).
    pub architecture: String,
    /// `os` (required when `platform` is present).
    pub os: String,
    /// `os.version`.
    pub os_version: Option<String>,
    /// `os.features`.
    pub os_features: Option<Vec<String>>,
    /// `variant`.
    pub variant: Option<String>,
    /// `features`.
    pub features: Option<Vec<String>>,
}

/// Which `mediaType` values a descriptor may have.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MediaTypeRule<'a> {
    /// OCI descriptors: anything [`looks_like_media_type`] accepts.
    Pattern,
    /// Docker schema 2: one of a fixed list.
    OneOf(&'a [&'a str]),
}

/// Whether a `platform` may or must appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlatformRule {
    /// Ignored (config, layers, subject).
    Ignored,
    /// Optional (OCI index entries).
    Optional,
    /// Required (Docker manifest list entries).
    Required,
}

fn parse_platform(v: &Value, path: &str) -> SchemaResult<Platform> {
    let m = object(v, path)?;
    Ok(Platform {
        architecture: required_string(m, "architecture", path)?.to_owned(),
        os: required_string(m, "os", path)?.to_owned(),
        os_version: optional_string(m, "os.version", path)?,
        os_features: optional_string_array(m, "os.features", path)?,
        variant: optional_string(m, "variant", path)?,
        features: optional_string_array(m, "features", path)?,
    })
}

/// Parses one descriptor. Digest errors use Quay's wording
/// (`could not parse manifest digest: ...`), schema errors a jsonschema-like path message.
pub(crate) fn parse_descriptor(
    v: &Value,
    path: &str,
    media_types: MediaTypeRule<'_>,
    platform: PlatformRule,
) -> SchemaResult<Descriptor> {
    let m = object(v, path)?;
    let media_type = required_string(m, "mediaType", path)?;
    let ok = match media_types {
        MediaTypeRule::Pattern => looks_like_media_type(media_type),
        MediaTypeRule::OneOf(list) => list.contains(&media_type),
    };
    if !ok {
        return Err(format!(
            "{path}.mediaType: '{media_type}' is not an allowed media type"
        ));
    }
    let size = integer(required(m, "size", path)?, &format!("{path}.size"))?;
    let digest_text = required_string(m, "digest", path)?;
    let digest = Digest::parse(digest_text)
        .map_err(|_| format!("could not parse manifest digest: {digest_text}"))?;
    let platform = match (platform, m.get("platform")) {
        (PlatformRule::Ignored, _) | (PlatformRule::Optional, None) => None,
        (PlatformRule::Required, None) => {
            return Err(format!("{path}: 'platform' is a required property"));
        }
        (_, Some(p)) => Some(parse_platform(p, &format!("{path}.platform"))?),
    };
    Ok(Descriptor {
        media_type: media_type.to_owned(),
        size,
        digest,
        urls: optional_string_array(m, "urls", path)?,
        annotations: optional_object(m, "annotations", path)?,
        artifact_type: optional_string(m, "artifactType", path)?,
        platform,
    })
}

impl Platform {
    /// The platform as JSON.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert(
            "architecture".into(),
            Value::from(self.architecture.clone()),
        );
        m.insert("os".into(), Value::from(self.os.clone()));
        if let Some(v) = &self.os_version {
            m.insert("os.version".into(), Value::from(v.clone()));
        }
        if let Some(v) = &self.os_features {
            m.insert("os.features".into(), Value::from(v.clone()));
        }
        if let Some(v) = &self.variant {
            m.insert("variant".into(), Value::from(v.clone()));
        }
        if let Some(v) = &self.features {
            m.insert("features".into(), Value::from(v.clone()));
        }
        Value::Object(m)
    }
}

impl Descriptor {
    /// A descriptor with just `mediaType`, `size` and `digest`.
    pub fn new(media_type: impl Into<String>, size: i64, digest: Digest) -> Self {
        Self {
            media_type: media_type.into(),
            size,
            digest,
            urls: None,
            annotations: None,
            artifact_type: None,
            platform: None,
        }
    }

    /// The descriptor as JSON (known fields only).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("mediaType".into(), Value::from(self.media_type.clone()));
        m.insert("size".into(), Value::from(self.size));
        m.insert("digest".into(), Value::from(self.digest.as_str()));
        if let Some(urls) = &self.urls {
            m.insert("urls".into(), Value::from(urls.clone()));
        }
        if let Some(a) = &self.annotations {
            m.insert("annotations".into(), Value::Object(a.clone()));
        }
        if let Some(t) = &self.artifact_type {
            m.insert("artifactType".into(), Value::from(t.clone()));
        }
        if let Some(p) = &self.platform {
            m.insert("platform".into(), p.to_json());
        }
        Value::Object(m)
    }
}
