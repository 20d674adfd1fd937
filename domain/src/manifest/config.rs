//! Image config blobs, checked when an image manifest is stored (Quay's
//! `image/docker/schema2/config.py`, `image/oci/config.py` and the manifests' `_get_built_config`).
//!
//! Rules:
//! - Docker schema 2 manifests and OCI manifests whose config is an OCI image config need their
//!   config blob: it must exist, have the declared size and parse;
//! - Docker config: an object with `history` (objects; `empty_layer` boolean, `created`,
//!   `created_by`, `comment`, `author` strings) and `rootfs` (object with a string `type`);
//! - OCI config: `{}`, or an object with `architecture`, `os` (strings) and `rootfs` (`type`
//!   string, `diff_ids` strings); `history` as for Docker when present; `config` an object or null;
//! - OCI artifacts (any other config type) need no config blob.

use serde_json::{Map, Value};

use super::json::{array, object, optional_string_array, required, required_string, string};
use super::{ImageManifest, ManifestError};
use crate::media_type::ManifestMediaType;

/// What the registry keeps from a config blob.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ImageConfig {
    /// `config.Labels` (empty when absent or null).
    pub labels: Map<String, Value>,
    /// Whether a history entry has `empty_layer: true`.
    pub has_empty_layer: bool,
}

fn check_history(m: &Map<String, Value>, required_here: bool) -> Result<bool, String> {
    let Some(history) = m.get("history") else {
        return if required_here {
            Err("'history' is a required property".into())
        } else {
            Ok(false)
        };
    };
    let mut has_empty = false;
    for (i, entry) in array(history, "$.history")?.iter().enumerate() {
        let p = format!("$.history[{i}]");
        let e = object(entry, &p)?;
        match e.get("empty_layer") {
            None => {}
            Some(Value::Bool(b)) => has_empty |= b,
            Some(v) => return Err(format!("{p}.empty_layer: {v} is not of type 'boolean'")),
        }
        for key in ["created", "created_by", "comment", "author"] {
            if let Some(v) = e.get(key) {
                string(v, &format!("{p}.{key}"))?;
            }
        }
    }
    Ok(has_empty)
}

fn labels(m: &Map<String, Value>) -> Map<String, Value> {
    m.get("config")
        .and_then(|c| c.get("Labels"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn parse_docker(m: &Map<String, Value>) -> Result<ImageConfig, String> {
    let has_empty_layer = check_history(m, true)?;
    let rootfs = object(required(m, "rootfs", "$")?, "$.rootfs")?;
    required_string(rootfs, "type", "$.rootfs")?;
    Ok(ImageConfig {
        labels: labels(m),
        has_empty_layer,
    })
}

fn parse_oci(m: &Map<String, Value>) -> Result<ImageConfig, String> {
    if m.is_empty() {
        // Quay accepts `{}` as an OCI image config without validating it.
        return Ok(ImageConfig::default());
    }
    let rootfs = object(required(m, "rootfs", "$")?, "$.rootfs")?;
    required_string(rootfs, "type", "$.rootfs")?;
    required(rootfs, "diff_ids", "$.rootfs")?;
    optional_string_array(rootfs, "diff_ids", "$.rootfs")?;
    required_string(m, "architecture", "$")?;
    required_string(m, "os", "$")?;
    for key in ["created", "author"] {
        match m.get(key) {
            None | Some(Value::Null | Value::String(_)) => {}
            Some(v) => return Err(format!("$.{key}: {v} is not of type 'string', 'null'")),
        }
    }
    match m.get("config") {
        None | Some(Value::Null | Value::Object(_)) => {}
        Some(v) => return Err(format!("$.config: {v} is not of type 'object', 'null'")),
    }
    Ok(ImageConfig {
        labels: labels(m),
        has_empty_layer: check_history(m, false)?,
    })
}

/// Checks an image manifest's config blob, given its stored bytes if the repository has them.
/// Returns `None` for OCI artifacts, which need no config blob.
///
/// # Errors
/// [`ManifestError::Invalid`] when the blob is missing, has another size than declared, is not
/// JSON, or breaks the config schema.
pub fn check_config_blob(
    manifest: &ImageManifest,
    blob: Option<&[u8]>,
) -> Result<Option<ImageConfig>, ManifestError> {
    if !manifest.is_image() {
        return Ok(None);
    }
    let bytes = blob
        .ok_or_else(|| ManifestError::Invalid("Could not load config blob for manifest".into()))?;
    if i64::try_from(bytes.len()).ok() != Some(manifest.config.size) {
        return Err(ManifestError::Invalid(format!(
            "Size of config does not match that retrieved: {} vs {}",
            bytes.len(),
            manifest.config.size
        )));
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ManifestError::Invalid(format!("malformed config data: {e}")))?;
    let schema =
        |e: String| ManifestError::Invalid(format!("config data does not match schema: {e}"));
    let m = object(&value, "$").map_err(schema)?;
    let parsed = if manifest.media_type == ManifestMediaType::DockerSchema2 {
        parse_docker(m)
    } else {
        parse_oci(m)
    };
    parsed.map(Some).map_err(schema)
}
