//! The OCI referrers index (`GET /v2/<name>/referrers/<digest>`), as Quay's
//! `endpoints/v2/referrers.py` and `OCIIndexBuilder` build it.
//!
//! Quay's document: `json.dumps(indent=3)` of `{"schemaVersion": 2, "mediaType": <index>,
//! "manifests": [...]}`, each entry `{"mediaType", "digest", "size"}` plus `artifactType` and
//! `annotations` when non-empty, and (quirk) a top-level `annotations` merging every referrer's
//! annotations. `artifactType` is the referrer's own `artifactType` field (Quay's
//! `manifest.artifact_type` column), which is also what `?artifactType=` filters on; the OCI spec
//! falls back to the config media type ([`ArtifactTypeSource`]), which the registry follows. An
//! unknown subject is answered `MANIFEST_INVALID` (400) by Quay, not with an empty index.

use serde_json::{Map, Value};

use super::ParsedManifest;
use super::pyjson::{PyValue, dumps};
use crate::digest::Digest;
use crate::media_type::{ManifestMediaType, OCI_IMAGE_INDEX};

/// Where a referrer's `artifactType` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArtifactTypeSource {
    /// Only the manifest's `artifactType` field (Quay).
    #[default]
    ManifestField,
    /// The field, else the config media type of an image manifest (OCI distribution spec).
    ConfigFallback,
}

/// One manifest whose `subject` is the requested digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Referrer {
    /// Its media type.
    pub media_type: ManifestMediaType,
    /// Its digest.
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
    /// Its artifact type.
    pub artifact_type: Option<String>,
    /// Its annotations.
    pub annotations: Option<Map<String, Value>>,
}

impl Referrer {
    /// Describes a stored referrer from its parsed form.
    pub fn from_manifest(
        manifest: &ParsedManifest,
        digest: Digest,
        size: u64,
        source: ArtifactTypeSource,
    ) -> Self {
        let (artifact_type, annotations) = match manifest {
            ParsedManifest::Image(m) => {
                let fallback = (source == ArtifactTypeSource::ConfigFallback)
                    .then(|| m.config.media_type.clone());
                (m.artifact_type.clone().or(fallback), m.annotations.clone())
            }
            ParsedManifest::List(l) => (l.artifact_type.clone(), l.annotations.clone()),
            ParsedManifest::Schema1(_) => (None, None),
        };
        Self {
            media_type: manifest.media_type(),
            digest,
            size,
            artifact_type,
            annotations,
        }
    }

    /// Whether `?artifactType=<filter>` keeps this referrer.
    pub fn matches(&self, filter: Option<&str>) -> bool {
        filter.is_none_or(|f| self.artifact_type.as_deref() == Some(f))
    }
}

/// The response body: Quay's referrers index for these referrers (in the given order).
pub fn referrers_index(referrers: &[Referrer]) -> Vec<u8> {
    let mut merged = PyValue::Object(Vec::new());
    let mut manifests = Vec::with_capacity(referrers.len());
    for r in referrers {
        let mut entry = PyValue::Object(vec![
            ("mediaType".into(), r.media_type.as_str().into()),
            ("digest".into(), r.digest.as_str().into()),
            ("size".into(), PyValue::Number(r.size.into())),
        ]);
        if let Some(t) = r.artifact_type.as_deref().filter(|t| !t.is_empty()) {
            entry.set("artifactType", t.into());
        }
        if let Some(a) = r.annotations.as_ref().filter(|a| !a.is_empty()) {
            entry.set("annotations", PyValue::from(&Value::Object(a.clone())));
            for (k, v) in a {
                merged.set(k, v.into());
            }
        }
        manifests.push(entry);
    }
    let mut top = PyValue::Object(vec![
        ("schemaVersion".into(), PyValue::Number(2.into())),
        ("mediaType".into(), OCI_IMAGE_INDEX.into()),
        ("manifests".into(), PyValue::Array(manifests)),
    ]);
    if merged.truthy() {
        top.set("annotations", merged);
    }
    dumps(&top, Some(3)).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{ParseOptions, parse_manifest};

    const ARTIFACT: &[u8] =
        include_bytes!("../../tests/fixtures/manifests/oci_artifact_with_subject.json");

    #[test]
    fn empty_index_matches_the_captured_response() {
        // contract/registry/v2_referrers.json: Content-Length 104.
        let body = referrers_index(&[]);
        assert_eq!(body.len(), 104);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "{\n   \"schemaVersion\": 2,\n   \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n   \"manifests\": []\n}"
        );
    }

    #[test]
    fn entries_and_merged_annotations() {
        let parsed = parse_manifest(
            ManifestMediaType::OciManifest,
            ARTIFACT,
            &ParseOptions::default(),
        )
        .unwrap();
        let digest = Digest::parse(
            "sha256:19809c435eb130d643e6467152e355f0d3c28f6937a3a83a9b71cf8f62011abf",
        )
        .unwrap();
        let size = u64::try_from(ARTIFACT.len()).unwrap();
        let quay = Referrer::from_manifest(
            &parsed,
            digest.clone(),
            size,
            ArtifactTypeSource::ManifestField,
        );
        assert_eq!(quay.artifact_type, None);
        assert!(
            quay.matches(None) && !quay.matches(Some("application/vnd.nhl.peanut.butter.bagel"))
        );
        let spec =
            Referrer::from_manifest(&parsed, digest, size, ArtifactTypeSource::ConfigFallback);
        assert!(spec.matches(Some("application/vnd.nhl.peanut.butter.bagel")));
        let body: Value = serde_json::from_slice(&referrers_index(&[spec])).unwrap();
        let entry = &body["manifests"][0];
        assert_eq!(entry["size"], 790);
        assert_eq!(
            entry["artifactType"],
            "application/vnd.nhl.peanut.butter.bagel"
        );
        assert_eq!(
            entry["annotations"]["org.opencontainers.conformance.test"],
            "test config a"
        );
        assert_eq!(
            body["annotations"]["org.opencontainers.conformance.test"],
            "test config a"
        );
        let text = String::from_utf8(referrers_index(&[quay])).unwrap();
        assert!(text.contains(
            "\"mediaType\": \"application/vnd.oci.image.manifest.v1+json\",\n         \"digest\""
        ));
        assert!(!text.contains("artifactType"));
    }
}
