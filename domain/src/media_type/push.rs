//! Content negotiation for manifest PUT and GET (Quay's `_reject_manifest2_schema2` and
//! `_rewrite_schema_if_necessary` in `endpoints/v2/manifest.py`).

use super::{DOCKER_SCHEMA1_MANIFEST, ManifestMediaType};
use crate::registry_error::{ErrorKind, RegistryError};

/// Which manifest types a namespace may push (`FEATURE_GENERAL_OCI_SUPPORT`,
/// `OCI_NAMESPACE_WHITELIST`, `V22_NAMESPACE_BLACKLIST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestPushPolicy {
    /// `FEATURE_GENERAL_OCI_SUPPORT` (default on).
    pub general_oci_support: bool,
    /// `OCI_NAMESPACE_WHITELIST`: namespaces allowed OCI types when the feature is off.
    pub oci_namespace_whitelist: Vec<String>,
    /// `V22_NAMESPACE_BLACKLIST`: namespaces that may only push schema 1.
    pub v22_namespace_blacklist: Vec<String>,
}

impl Default for ManifestPushPolicy {
    fn default() -> Self {
        Self {
            general_oci_support: true,
            oci_namespace_whitelist: Vec::new(),
            v22_namespace_blacklist: Vec::new(),
        }
    }
}

fn unsupported_schema() -> RegistryError {
    RegistryError::new(ErrorKind::ManifestInvalid)
        .with_detail_message("manifest schema version not supported")
        .with_status(415)
}

/// Whether an `Accept` list admits unsigned schema 1 (werkzeug's wildcard matching); an empty list
/// admits everything.
pub fn accepts_schema1(accept: &[&str]) -> bool {
    accept.is_empty()
        || accept.iter().any(|range| {
            let range = range.trim();
            range == DOCKER_SCHEMA1_MANIFEST
                || range == "*/*"
                || range == "*"
                || range == "application/*"
        })
}

impl ManifestPushPolicy {
    /// Decides the media type a manifest PUT is parsed as.
    ///
    /// `content_type` is the raw `Content-Type` header; `accept` the media ranges of `Accept`
    /// (without parameters).
    ///
    /// # Errors
    /// `MANIFEST_INVALID` with status 415 and detail `{"message": "manifest schema version not
    /// supported"}` when the type is unknown, OCI is not allowed for the namespace, or the
    /// namespace is schema-1-only and the request is not schema 1 (or does not accept it).
    pub fn check_put(
        &self,
        namespace: &str,
        content_type: Option<&str>,
        accept: &[&str],
    ) -> Result<ManifestMediaType, RegistryError> {
        let media_type =
            ManifestMediaType::for_put_content_type(content_type).ok_or_else(unsupported_schema)?;
        let listed = |list: &[String]| list.iter().any(|n| n == namespace);
        if !listed(&self.v22_namespace_blacklist) {
            if media_type.is_oci()
                && !self.general_oci_support
                && !listed(&self.oci_namespace_whitelist)
            {
                return Err(unsupported_schema());
            }
            return Ok(media_type);
        }
        if !accepts_schema1(accept) || !media_type.is_schema1() {
            return Err(unsupported_schema());
        }
        Ok(media_type)
    }
}

/// What a manifest GET by tag serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullNegotiation {
    /// The stored bytes, as stored.
    Stored,
    /// A list the client does not accept: load its linux/amd64 child
    /// ([`crate::manifest::ManifestList::amd64_linux_child`]) and negotiate again for the child
    /// (no such child: `MANIFEST_UNKNOWN`).
    LegacyChild,
    /// An image the client does not accept: serve its schema 1 rendering
    /// ([`crate::manifest::to_schema1`]; not convertible: `MANIFEST_UNKNOWN`).
    Schema1,
}

/// Quay's rule for GET by tag (`_rewrite_schema_if_necessary` with `convert_manifest`):
/// - the stored type is listed in `Accept` exactly (no wildcards): serve it;
/// - schema 1 is always served as stored (Quay would re-render a signed manifest unsigned when
///   only the unsigned type is accepted; we serve the stored bytes);
/// - a list goes to its linux/amd64 child;
/// - an image falls back to schema 1, whatever `Accept` says.
///
/// GET by digest always serves the stored bytes.
pub fn negotiate_pull(stored: ManifestMediaType, accept: &[&str]) -> PullNegotiation {
    if stored.is_schema1() || accept.iter().any(|a| a.trim() == stored.as_str()) {
        PullNegotiation::Stored
    } else if stored.is_list() {
        PullNegotiation::LegacyChild
    } else {
        PullNegotiation::Schema1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media_type::{DOCKER_SCHEMA2_MANIFEST, OCI_IMAGE_INDEX, OCI_IMAGE_MANIFEST};
    use ManifestMediaType as M;

    #[test]
    fn put_policy_table() {
        let default = ManifestPushPolicy::default();
        let no_oci = ManifestPushPolicy {
            general_oci_support: false,
            oci_namespace_whitelist: vec!["okns".into()],
            ..ManifestPushPolicy::default()
        };
        let blacklisted = ManifestPushPolicy {
            v22_namespace_blacklist: vec!["old".into()],
            ..ManifestPushPolicy::default()
        };
        type Case<'a> = (
            &'a ManifestPushPolicy,
            &'a str,
            Option<&'a str>,
            &'a [&'a str],
            Option<M>,
        );
        let cases: [Case<'_>; 9] = [
            (
                &default,
                "ns",
                Some(OCI_IMAGE_MANIFEST),
                &[],
                Some(M::OciManifest),
            ),
            (&default, "ns", None, &[], Some(M::DockerSchema1)),
            (&default, "ns", Some("text/plain"), &[], None),
            (&no_oci, "ns", Some(OCI_IMAGE_INDEX), &[], None),
            (
                &no_oci,
                "okns",
                Some(OCI_IMAGE_INDEX),
                &[],
                Some(M::OciIndex),
            ),
            (
                &no_oci,
                "ns",
                Some(DOCKER_SCHEMA2_MANIFEST),
                &[],
                Some(M::DockerSchema2),
            ),
            (
                &blacklisted,
                "old",
                Some(DOCKER_SCHEMA2_MANIFEST),
                &[],
                None,
            ),
            (
                &blacklisted,
                "old",
                Some("application/json"),
                &["*/*"],
                Some(M::DockerSchema1),
            ),
            (
                &blacklisted,
                "old",
                None,
                &["application/vnd.oci.image.index.v1+json"],
                None,
            ),
        ];
        for (policy, ns, ct, accept, want) in cases {
            let got = policy.check_put(ns, ct, accept);
            match want {
                Some(m) => assert_eq!(got.ok(), Some(m), "{ns} {ct:?}"),
                None => {
                    let e = got.expect_err("should refuse");
                    assert_eq!((e.code(), e.status()), ("MANIFEST_INVALID", 415));
                }
            }
        }
    }

    #[test]
    fn pull_negotiation() {
        use PullNegotiation::{LegacyChild, Schema1, Stored};
        for (stored, accept, want) in [
            (M::OciManifest, &[OCI_IMAGE_MANIFEST][..], Stored),
            (M::OciManifest, &[], Schema1),
            (M::OciManifest, &["*/*"], Schema1),
            (M::DockerSchema2, &[OCI_IMAGE_MANIFEST], Schema1),
            (M::DockerSchema1Signed, &[], Stored),
            (M::DockerSchema1, &["application/json"], Stored),
            (M::DockerSchema1, &[OCI_IMAGE_INDEX], Stored),
            (M::OciIndex, &[OCI_IMAGE_INDEX], Stored),
            (M::OciIndex, &[DOCKER_SCHEMA2_MANIFEST], LegacyChild),
            (M::DockerSchema2List, &[], LegacyChild),
        ] {
            assert_eq!(negotiate_pull(stored, accept), want, "{stored} {accept:?}");
        }
    }
}
