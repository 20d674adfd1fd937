//! Rendering an image manifest as unsigned Docker schema 1, for clients that accept nothing else
//! (Quay's `get_schema1_manifest`, `_manifest_image_layers`, `build_v1_compatibility` and
//! `DockerSchema1ManifestBuilder.build`). The output is byte-identical to Quay's, so its digest is
//! the one Quay serves.
//!
//! Rules:
//! - only images without remote layers convert (artifacts and foreign layers give `None`);
//! - each config `history` entry is one v1 layer (an `empty_layer` entry uses Docker's empty layer
//!   blob, 32 bytes); with no history (OCI only) each layer is one v1 layer and the last one gets a
//!   history synthesized from the config (`created`, `config.Cmd`, `author`);
//! - v1 ids chain: id *n* is the SHA-256 hex of everything hashed so far: per entry its JSON
//!   (`json.dumps`), `|<index>|<blob digest>||` (no history: `<blob digest>||`);
//! - the leaf's `v1Compatibility` is the whole config minus `history` and `rootfs`, the others only
//!   ids; both get `id`, `parent`, `created`/`author`/`comment`/`throwaway`/`container_config`
//!   from history when missing, and `Size`;
//! - the document is `{"tag", "name", "architecture": "amd64", "schemaVersion": 1, "history",
//!   "fsLayers"}` (leaf first), `json.dumps(indent=3)`, unsigned.

use super::pyjson::{PyValue, dumps};
use super::{ImageManifest, ManifestError};
use crate::digest::Digest;
use crate::media_type::{EMPTY_LAYER_BLOB_DIGEST, EMPTY_LAYER_SIZE, ManifestMediaType};

struct History {
    created: PyValue,
    command: PyValue,
    author: PyValue,
    comment: PyValue,
    is_empty: bool,
}

struct V1Layer {
    history: Option<History>,
    blob_digest: String,
    v1_id: String,
    parent: Option<String>,
    size: i64,
}

fn field(entry: &PyValue, key: &str) -> PyValue {
    entry.get(key).cloned().unwrap_or(PyValue::Null)
}

fn history_of(entry: &PyValue) -> History {
    History {
        created: field(entry, "created"),
        command: field(entry, "created_by"),
        author: field(entry, "author"),
        comment: field(entry, "comment"),
        is_empty: entry.get("empty_layer").is_some_and(PyValue::truthy),
    }
}

fn invalid(msg: impl Into<String>) -> ManifestError {
    ManifestError::Invalid(msg.into())
}

fn v1_layers(
    manifest: &ImageManifest,
    config: &PyValue,
    sha256: &dyn Fn(&[u8]) -> Digest,
) -> Result<Vec<V1Layer>, ManifestError> {
    let docker = manifest.media_type == ManifestMediaType::DockerSchema2;
    let history = match config.get("history") {
        Some(PyValue::Array(h)) => h.as_slice(),
        Some(PyValue::Null) | None if !docker => &[],
        _ => return Err(invalid("config data does not match schema: 'history'")),
    };
    let layers = &manifest.layers;
    let mut hashed = Vec::new();
    let mut out: Vec<V1Layer> = Vec::new();
    let mut push = |hashed: &[u8], history, blob_digest: String, size| {
        let parent = out.last().map(|l: &V1Layer| l.v1_id.clone());
        let v1_id = sha256(hashed).hex().to_owned();
        out.push(V1Layer {
            history,
            blob_digest,
            v1_id,
            parent,
            size,
        });
    };
    if history.is_empty() && !docker {
        for (i, layer) in layers.iter().enumerate() {
            hashed.extend_from_slice(layer.descriptor.digest.as_str().as_bytes());
            hashed.extend_from_slice(b"||");
            let synthesized = (i + 1 == layers.len()).then(|| History {
                created: field(config, "created"),
                command: match config.get("config") {
                    Some(c) if c.truthy() => field(c, "Cmd"),
                    _ => PyValue::Null,
                },
                author: field(config, "author"),
                comment: PyValue::Null,
                is_empty: false,
            });
            let d = layer.descriptor.digest.as_str().to_owned();
            push(&hashed, synthesized, d, layer.descriptor.size);
        }
        return Ok(out);
    }
    if history.len() < layers.len() {
        return Err(invalid(if docker {
            "Found less history than layer blobs".to_owned()
        } else {
            format!(
                "Found less history ({}) than layer blobs ({})",
                history.len(),
                layers.len()
            )
        }));
    }
    let mut blob_index = 0;
    for (index, entry) in history.iter().enumerate() {
        let h = history_of(entry);
        let layer = if h.is_empty {
            None
        } else {
            Some(
                layers
                    .get(blob_index)
                    .ok_or_else(|| invalid(format!("Missing history entry #{blob_index}")))?,
            )
        };
        let (digest, size) = match layer {
            Some(l) => (l.descriptor.digest.as_str().to_owned(), l.descriptor.size),
            None => (
                EMPTY_LAYER_BLOB_DIGEST.to_owned(),
                EMPTY_LAYER_SIZE.cast_signed(),
            ),
        };
        hashed.extend_from_slice(dumps(entry, None).as_bytes());
        hashed.extend_from_slice(format!("|{index}|{digest}||").as_bytes());
        if !h.is_empty {
            blob_index += 1;
        }
        push(&hashed, Some(h), digest, size);
    }
    Ok(out)
}

fn v1_compatibility(config: &PyValue, layer: &V1Layer, is_leaf: bool) -> PyValue {
    let mut v1 = if is_leaf {
        config.clone()
    } else {
        PyValue::Object(Vec::new())
    };
    v1.set("id", layer.v1_id.as_str().into());
    if let Some(parent) = &layer.parent {
        v1.set("parent", parent.as_str().into());
    }
    if let Some(h) = &layer.history {
        for (key, value) in [
            ("created", &h.created),
            ("author", &h.author),
            ("comment", &h.comment),
        ] {
            if !v1.contains(key) && value.truthy() {
                v1.set(key, value.clone());
            }
        }
        if !v1.contains("throwaway") && h.is_empty {
            v1.set("throwaway", PyValue::Bool(true));
        }
        if !v1.contains("container_config") {
            let cmd = PyValue::Object(vec![(
                "Cmd".into(),
                PyValue::Array(vec![h.command.clone()]),
            )]);
            v1.set("container_config", cmd);
        }
    }
    v1.set("Size", PyValue::Number(layer.size.into()));
    v1.remove("history");
    v1.remove("rootfs");
    v1
}

/// Renders `manifest` as Quay's unsigned schema 1 for `namespace/repository:tag`, given its
/// config blob. `None` when the manifest cannot be converted (an artifact, or remote layers).
///
/// # Errors
/// [`ManifestError::Invalid`] when the config blob has the wrong size, is not JSON, or has less
/// history than layers. Quay answers these on GET with `MANIFEST_UNKNOWN` (404).
pub fn to_schema1(
    manifest: &ImageManifest,
    config_blob: &[u8],
    namespace: &str,
    repository: &str,
    tag: &str,
    sha256: &dyn Fn(&[u8]) -> Digest,
) -> Result<Option<Vec<u8>>, ManifestError> {
    if manifest.has_remote_layer() || !manifest.is_image() {
        return Ok(None);
    }
    if i64::try_from(config_blob.len()).ok() != Some(manifest.config.size) {
        return Err(invalid(format!(
            "Size of config does not match that retrieved: {} vs {}",
            config_blob.len(),
            manifest.config.size
        )));
    }
    let config: PyValue = serde_json::from_slice(config_blob)
        .map_err(|e| invalid(format!("malformed config data: {e}")))?;
    if !matches!(config, PyValue::Object(_)) {
        return Err(invalid("config data does not match schema: not an object"));
    }
    let layers = v1_layers(manifest, &config, sha256)?;
    let mut history = Vec::with_capacity(layers.len());
    let mut fs_layers = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().rev().enumerate() {
        let v1 = dumps(&v1_compatibility(&config, layer, i == 0), None);
        history.push(PyValue::Object(vec![(
            "v1Compatibility".into(),
            PyValue::String(v1),
        )]));
        fs_layers.push(PyValue::Object(vec![(
            "blobSum".into(),
            layer.blob_digest.as_str().into(),
        )]));
    }
    let name = if namespace.is_empty() {
        repository.to_owned()
    } else {
        format!("{namespace}/{repository}")
    };
    let doc = PyValue::Object(vec![
        ("tag".into(), tag.into()),
        ("name".into(), PyValue::String(name)),
        ("architecture".into(), "amd64".into()),
        ("schemaVersion".into(), PyValue::Number(1.into())),
        ("history".into(), PyValue::Array(history)),
        ("fsLayers".into(), PyValue::Array(fs_layers)),
    ]);
    Ok(Some(dumps(&doc, Some(3)).into_bytes()))
}
