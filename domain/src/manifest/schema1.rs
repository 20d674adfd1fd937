//! Docker schema 1 manifests, signed (JWS, "prettyjws") or not (Quay's
//! `image/docker/schema1.py`).
//!
//! Rules:
//! - an object with `name`, `tag` (strings), `fsLayers` (objects with `blobSum`) and `history`
//!   (objects with `v1Compatibility`, a JSON string); `signatures`, when present, are objects with
//!   `protected`, `signature` and `header` (`alg`, `jwk`);
//! - `name` is `namespace/repository` (split at the first `/`; no `/` means an empty namespace);
//! - signed iff `signatures` is non-empty; the signed payload (and so the digest input) is the first
//!   `formatLength` bytes of the document followed by the base64url-decoded `formatTail`, both read
//!   from the first signature's `protected` header; every signature must verify (RS256/ES256 via
//!   JWK) over `protected + "." + base64url(payload)`, which the caller checks through a port;
//! - layers pair `fsLayers[i]` with `history[i]` (extra entries of the longer list are ignored),
//!   leaf first in the document, base first in [`Schema1Manifest::layers`]; each `blobSum` must be
//!   a digest and each `v1Compatibility` an object with an `id`; parents must appear earlier.

use serde_json::{Map, Value};

use super::base64url;
use super::json::{array, object, required, required_string};
use super::{ManifestError, parse_json_object};
use crate::digest::Digest;
use crate::media_type::ManifestMediaType;

/// One JWS signature of a signed schema 1 manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema1Signature {
    /// `header.alg`.
    pub alg: String,
    /// `header.jwk`: the public key.
    pub jwk: Map<String, Value>,
    /// `protected`: the base64url protected header.
    pub protected: String,
    /// `signature`: base64url.
    pub signature: String,
}

impl Schema1Signature {
    /// The JWS signing input: `protected + "." + base64url(payload)`.
    pub fn signing_input(&self, payload: &[u8]) -> String {
        format!("{}.{}", self.protected, base64url::encode(payload))
    }
}

/// One layer of a schema 1 manifest (an `fsLayers` entry with its `history` entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema1Layer {
    /// `blobSum`.
    pub digest: Digest,
    /// The v1 image id (`id`).
    pub v1_id: String,
    /// The parent v1 image id (`parent`).
    pub parent: Option<String>,
    /// `created`.
    pub created: Option<String>,
    /// `Size`, the compressed size, when given.
    pub size: Option<i64>,
    /// `config.Labels`.
    pub labels: Map<String, Value>,
    /// The raw `v1Compatibility` string.
    pub raw_v1_compatibility: String,
}

/// A Docker schema 1 manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema1Manifest {
    /// `name` as written.
    pub name: String,
    /// The part of `name` before the first `/` (empty when there is none).
    pub namespace: String,
    /// The part of `name` after the first `/`.
    pub repo_name: String,
    /// `tag`.
    pub tag: String,
    /// `architecture`, when a string.
    pub architecture: Option<String>,
    /// `(blobSum, v1Compatibility)` pairs as written (leaf first).
    entries: Vec<(String, String)>,
    /// The signatures (empty when unsigned).
    pub signatures: Vec<Schema1Signature>,
    /// The signed payload, when signed.
    signed_payload: Option<Vec<u8>>,
}

fn schema(e: String) -> ManifestError {
    ManifestError::parse(format!("manifest data does not match schema: {e}"))
}

fn parse_signature(v: &Value, path: &str) -> Result<Schema1Signature, String> {
    let m = object(v, path)?;
    let header_path = format!("{path}.header");
    let header = object(required(m, "header", path)?, &header_path)?;
    Ok(Schema1Signature {
        alg: required_string(header, "alg", &header_path)?.to_owned(),
        jwk: object(
            required(header, "jwk", &header_path)?,
            &format!("{header_path}.jwk"),
        )?
        .clone(),
        protected: required_string(m, "protected", path)?.to_owned(),
        signature: required_string(m, "signature", path)?.to_owned(),
    })
}

fn signed_payload(raw: &[u8], first: &Schema1Signature) -> Result<Vec<u8>, ManifestError> {
    let bad = || ManifestError::parse("malformed `protected` header of the first signature");
    let header = base64url::decode(&first.protected).ok_or_else(bad)?;
    let header: Value = serde_json::from_slice(&header).map_err(|_| bad())?;
    let length = header
        .get("formatLength")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(bad)?;
    let tail = header
        .get("formatTail")
        .and_then(Value::as_str)
        .and_then(base64url::decode)
        .ok_or_else(bad)?;
    let mut payload = raw[..length.min(raw.len())].to_vec();
    payload.extend_from_slice(&tail);
    Ok(payload)
}

impl Schema1Manifest {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        let m = parse_json_object(bytes)?;
        let tag = required_string(&m, "tag", "$").map_err(schema)?.to_owned();
        let name = required_string(&m, "name", "$").map_err(schema)?.to_owned();
        let fs_layers =
            array(required(&m, "fsLayers", "$").map_err(schema)?, "$.fsLayers").map_err(schema)?;
        let history =
            array(required(&m, "history", "$").map_err(schema)?, "$.history").map_err(schema)?;
        let blob_sums = fs_layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let p = format!("$.fsLayers[{i}]");
                required_string(object(l, &p)?, "blobSum", &p).map(str::to_owned)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(schema)?;
        let v1s = history
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let p = format!("$.history[{i}]");
                required_string(object(h, &p)?, "v1Compatibility", &p).map(str::to_owned)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(schema)?;
        let signatures = match m.get("signatures") {
            None => Vec::new(),
            Some(v) => array(v, "$.signatures")
                .map_err(schema)?
                .iter()
                .enumerate()
                .map(|(i, s)| parse_signature(s, &format!("$.signatures[{i}]")))
                .collect::<Result<Vec<_>, _>>()
                .map_err(schema)?,
        };
        if m.contains_key("signatures") && signatures.is_empty() {
            return Err(ManifestError::parse("`signatures` is present but empty"));
        }
        let signed_payload = signatures
            .first()
            .map(|first| signed_payload(bytes, first))
            .transpose()?;
        let (namespace, repo_name) = match name.split_once('/') {
            Some((ns, repo)) => (ns.to_owned(), repo.to_owned()),
            None => (String::new(), name.clone()),
        };
        Ok(Self {
            architecture: m
                .get("architecture")
                .and_then(Value::as_str)
                .map(str::to_owned),
            namespace,
            repo_name,
            name,
            tag,
            entries: blob_sums.into_iter().zip(v1s).collect(),
            signatures,
            signed_payload,
        })
    }

    /// Signed or unsigned schema 1.
    pub fn media_type(&self) -> ManifestMediaType {
        if self.signatures.is_empty() {
            ManifestMediaType::DockerSchema1
        } else {
            ManifestMediaType::DockerSchema1Signed
        }
    }

    /// The bytes that are signed and hashed for the digest: the signed payload, or `raw` itself
    /// when unsigned.
    pub fn payload<'a>(&'a self, raw: &'a [u8]) -> &'a [u8] {
        self.signed_payload.as_deref().unwrap_or(raw)
    }

    /// Each signature with the exact input it must verify over.
    pub fn signing_inputs(&self, raw: &[u8]) -> Vec<(&Schema1Signature, String)> {
        let payload = self.payload(raw);
        self.signatures
            .iter()
            .map(|s| (s, s.signing_input(payload)))
            .collect()
    }

    /// The layers, base first.
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] for a `blobSum` that is not a digest or a `v1Compatibility` that
    /// is not a JSON object with an `id`.
    pub fn layers(&self) -> Result<Vec<Schema1Layer>, ManifestError> {
        self.entries
            .iter()
            .rev()
            .map(|(blob_sum, v1)| {
                let digest = Digest::parse(blob_sum).map_err(|_| {
                    ManifestError::Invalid(format!("could not parse manifest digest: {blob_sum}"))
                })?;
                let unparsable =
                    || ManifestError::Invalid(format!("Could not parse metadata string: {v1}"));
                let meta = match serde_json::from_str::<Value>(v1).map_err(|_| unparsable())? {
                    Value::Null => Map::new(),
                    Value::Object(o) => o,
                    _ => return Err(unparsable()),
                };
                let v1_id = meta.get("id").and_then(Value::as_str).ok_or_else(|| {
                    ManifestError::Invalid("id field missing from v1Compatibility JSON".into())
                })?;
                let labels = meta
                    .get("config")
                    .and_then(|c| c.get("Labels"))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                Ok(Schema1Layer {
                    digest,
                    v1_id: v1_id.to_owned(),
                    parent: meta
                        .get("parent")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    created: meta
                        .get("created")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    size: meta.get("Size").and_then(Value::as_i64),
                    labels,
                    raw_v1_compatibility: v1.clone(),
                })
            })
            .collect()
    }

    /// Sum of the layers' `Size` values that are present.
    ///
    /// # Errors
    /// As [`Self::layers`].
    pub fn layers_compressed_size(&self) -> Result<i64, ManifestError> {
        Ok(self.layers()?.iter().filter_map(|l| l.size).sum())
    }

    /// The labels of the leaf layer.
    ///
    /// # Errors
    /// As [`Self::layers`].
    pub fn labels(&self) -> Result<Map<String, Value>, ManifestError> {
        Ok(self.layers()?.pop().map(|l| l.labels).unwrap_or_default())
    }

    /// Checks the embedded name against the URL's and that there are layers (Quay's
    /// `_validate_schema1_manifest`). `library_namespace` is `LIBRARY_NAMESPACE` when
    /// `FEATURE_LIBRARY_SUPPORT` is on: a manifest without a namespace may then be pushed there.
    ///
    /// # Errors
    /// [`ManifestError::NameMismatch`] (`NAME_INVALID`), or [`ManifestError::Invalid`] when there
    /// are no layers or they do not parse.
    pub fn check_target(
        &self,
        namespace: &str,
        repository: &str,
        library_namespace: Option<&str>,
    ) -> Result<(), ManifestError> {
        let library_ok = self.namespace.is_empty() && library_namespace == Some(namespace);
        if !library_ok && self.namespace != namespace {
            return Err(ManifestError::NameMismatch {
                message: "namespace name does not match manifest".into(),
                detail: format!(
                    "namespace name `{namespace}` does not match `{}` in manifest",
                    self.namespace
                ),
            });
        }
        if self.repo_name != repository {
            return Err(ManifestError::NameMismatch {
                message: "repository name does not match manifest".into(),
                detail: format!(
                    "repository name `{repository}` does not match `{}` in manifest",
                    self.repo_name
                ),
            });
        }
        if self.layers()?.is_empty() {
            return Err(ManifestError::Invalid(
                "manifest does not reference any layers".into(),
            ));
        }
        Ok(())
    }

    /// Checks that the manifest may be tagged `tag`: its embedded tag must match.
    ///
    /// # Errors
    /// [`ManifestError::TagMismatch`].
    pub fn check_tag(&self, tag: &str) -> Result<(), ManifestError> {
        if self.tag == tag {
            Ok(())
        } else {
            Err(ManifestError::TagMismatch)
        }
    }

    /// Checks that every layer's parent appears before it (Quay's `validate`).
    ///
    /// # Errors
    /// [`ManifestError::Invalid`] (`Unknown parent image ...`).
    pub fn check_parents(&self) -> Result<(), ManifestError> {
        let mut seen = std::collections::BTreeSet::new();
        for layer in self.layers()? {
            if let Some(parent) = layer.parent.as_deref().filter(|p| !p.is_empty())
                && !seen.contains(parent)
            {
                return Err(ManifestError::Invalid(format!(
                    "Unknown parent image {parent}"
                )));
            }
            seen.insert(layer.v1_id);
        }
        Ok(())
    }
}
