//! Which config and layer media types an OCI manifest may carry (`ALLOWED_OCI_ARTIFACT_TYPES`).
//!
//! Quay's history matters here. Quay used to restrict an OCI manifest's `config.mediaType` to the
//! OCI image config plus every *registered* artifact config type, and every layer's `mediaType` to
//! the OCI layer types plus the *union* of all registered layer types (not per config type).
//! Registration: each entry of `ALLOWED_OCI_ARTIFACT_TYPES` when `FEATURE_GENERAL_OCI_SUPPORT` is
//! on, and the Helm types when `FEATURE_HELM_OCI_SUPPORT` is on.
//!
//! Since the referrers work (Quay commit 4546163e8) the descriptor schema no longer applies that
//! list: any string *containing* a match of `\w+/[-.\w]+(?:\+[-.\w]+)?` is accepted
//! ([`looks_like_media_type`]), and the OCI conformance suite relies on that (it pushes configs
//! such as `application/vnd.nhl.peanut.butter.bagel`). [`ArtifactTypeRules::quay_defaults`]
//! therefore does not enforce the table; [`ArtifactTypeRules::enforcing`] restores the older rule.

use std::collections::BTreeMap;

use super::{
    HELM_CHART_CONFIG, HELM_CHART_CONTENT_LAYER, OCI_DISTRIBUTABLE_LAYERS, OCI_IMAGE_CONFIG,
    OCI_LAYER_TAR_GZIP, OCI_NONDISTRIBUTABLE_LAYERS, TAR_GZIP,
};

/// Whether Quay's descriptor schema accepts `s` as a `mediaType`: it searches (unanchored) for
/// `\w+/[-.\w]+`, i.e. a `/` with a word character before it and a word character, `-` or `.`
/// after it.
pub fn looks_like_media_type(s: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let chars: Vec<char> = s.chars().collect();
    chars
        .windows(3)
        .any(|w| word(w[0]) && w[1] == '/' && (word(w[2]) || w[2] == '-' || w[2] == '.'))
}

/// The allowed config → layer media types of OCI artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactTypeRules {
    enforce: bool,
    allowed: BTreeMap<String, Vec<String>>,
}

/// Quay's default `ALLOWED_OCI_ARTIFACT_TYPES` (`config.py`).
const QUAY_DEFAULT_TABLE: &[(&str, &[&str])] = &[
    (
        OCI_IMAGE_CONFIG,
        &[
            "application/vnd.dev.cosign.simplesigning.v1+json",
            "application/vnd.dsse.envelope.v1+json",
            "text/spdx",
            "text/spdx+xml",
            "text/spdx+json",
            "application/vnd.syft+json",
            "application/vnd.cyclonedx",
            "application/vnd.cyclonedx+xml",
            "application/vnd.cyclonedx+json",
            "application/vnd.in-toto+json",
        ],
    ),
    (HELM_CHART_CONFIG, &[TAR_GZIP, HELM_CHART_CONTENT_LAYER]),
    (
        "application/vnd.oci.source.image.config.v1+json",
        &[OCI_LAYER_TAR_GZIP],
    ),
    (
        "application/vnd.unknown.config.v1+json",
        &[
            "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego",
            "application/vnd.cncf.openpolicyagent.data.layer.v1+json",
        ],
    ),
];

impl ArtifactTypeRules {
    /// Quay's default table, not enforced (Quay's current behaviour, see the module docs).
    pub fn quay_defaults() -> Self {
        let allowed = QUAY_DEFAULT_TABLE
            .iter()
            .map(|(config, layers)| {
                (
                    (*config).to_owned(),
                    layers.iter().map(|l| (*l).to_owned()).collect(),
                )
            })
            .collect();
        Self {
            enforce: false,
            allowed,
        }
    }

    /// Enforces `allowed` (a parsed `ALLOWED_OCI_ARTIFACT_TYPES`) the way older Quay did; add
    /// Helm with [`Self::with_helm`] when `FEATURE_HELM_OCI_SUPPORT` is on.
    pub fn enforcing(allowed: BTreeMap<String, Vec<String>>) -> Self {
        Self {
            enforce: true,
            allowed,
        }
    }

    /// Registers the Helm chart types (`FEATURE_HELM_OCI_SUPPORT`).
    #[must_use]
    pub fn with_helm(mut self) -> Self {
        let layers = self
            .allowed
            .entry(HELM_CHART_CONFIG.to_owned())
            .or_default();
        for l in [TAR_GZIP, HELM_CHART_CONTENT_LAYER] {
            if !layers.iter().any(|x| x == l) {
                layers.push(l.to_owned());
            }
        }
        self
    }

    /// Whether the table is enforced.
    pub fn is_enforced(&self) -> bool {
        self.enforce
    }

    /// The configured table.
    pub fn table(&self) -> &BTreeMap<String, Vec<String>> {
        &self.allowed
    }

    /// Checks an OCI manifest's config and layer media types.
    ///
    /// # Errors
    /// A message naming the first type that is not allowed (only when enforced).
    pub fn check<'a>(
        &self,
        config_media_type: &str,
        layer_media_types: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), String> {
        if !self.enforce {
            return Ok(());
        }
        if config_media_type != OCI_IMAGE_CONFIG && !self.allowed.contains_key(config_media_type) {
            return Err(format!(
                "config media type `{config_media_type}` is not an allowed artifact type"
            ));
        }
        for layer in layer_media_types {
            let known = OCI_DISTRIBUTABLE_LAYERS.contains(&layer)
                || OCI_NONDISTRIBUTABLE_LAYERS.contains(&layer)
                || self.allowed.values().flatten().any(|l| l == layer);
            if !known {
                return Err(format!("layer media type `{layer}` is not allowed"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_type_pattern_is_an_unanchored_search() {
        for ok in [
            "application/vnd.oci.empty.v1+json",
            "application/vnd.nhl.peanut.butter.bagel",
            "text/spdx",
            "x a/b",
            "é/é",
        ] {
            assert!(looks_like_media_type(ok), "{ok}");
        }
        for bad in ["", "application", "/json", "application/", "a/+b", " /x"] {
            assert!(!looks_like_media_type(bad), "{bad}");
        }
    }

    #[test]
    fn defaults_are_not_enforced() {
        let rules = ArtifactTypeRules::quay_defaults();
        assert!(!rules.is_enforced());
        assert!(
            rules
                .check("application/vnd.nhl.peanut.butter.bagel", ["x/y"])
                .is_ok()
        );
        assert_eq!(rules.table().len(), 4);
        assert!(rules.table()[HELM_CHART_CONFIG].contains(&TAR_GZIP.to_owned()));
    }

    #[test]
    fn enforcing_uses_the_union_of_layer_types() {
        let rules =
            ArtifactTypeRules::enforcing(ArtifactTypeRules::quay_defaults().table().clone());
        assert!(rules.check(OCI_IMAGE_CONFIG, [OCI_LAYER_TAR_GZIP]).is_ok());
        // A cosign layer under the Helm config passes: Quay checks against the union.
        assert!(
            rules
                .check(
                    HELM_CHART_CONFIG,
                    ["application/vnd.dev.cosign.simplesigning.v1+json"]
                )
                .is_ok()
        );
        assert!(
            rules
                .check("application/x-unknown", [OCI_LAYER_TAR_GZIP])
                .is_err()
        );
        assert!(
            rules
                .check(OCI_IMAGE_CONFIG, ["application/x-unknown"])
                .is_err()
        );
        let no_helm = ArtifactTypeRules::enforcing(BTreeMap::new());
        assert!(no_helm.check(HELM_CHART_CONFIG, [TAR_GZIP]).is_err());
        assert!(
            no_helm
                .with_helm()
                .check(HELM_CHART_CONFIG, [TAR_GZIP])
                .is_ok()
        );
    }
}
