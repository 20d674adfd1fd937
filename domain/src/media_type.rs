//! Media types Quay knows: manifests, configs and layers (Quay's `image/docker/schema1.py`,
//! `image/docker/schema2/__init__.py`, `image/oci/__init__.py`).
//!
//! Invariants:
//! - a manifest's media type is one of six [`ManifestMediaType`]s; `application/json` and a missing
//!   `Content-Type` on PUT mean unsigned Docker schema 1 (Quay's back-compat rule);
//! - matching is exact and case-sensitive, parameters included (Quay compares the raw header);
//! - which config/layer types an OCI manifest may carry is decided by [`ArtifactTypeRules`].

mod artifact;
mod push;

pub use artifact::{ArtifactTypeRules, looks_like_media_type};
pub use push::{ManifestPushPolicy, PullNegotiation, accepts_schema1, negotiate_pull};

/// Docker schema 1, unsigned.
pub const DOCKER_SCHEMA1_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1, signed (JWS "pretty" serialization).
pub const DOCKER_SCHEMA1_SIGNED_MANIFEST: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";
/// Docker schema 2 image manifest.
pub const DOCKER_SCHEMA2_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_SCHEMA2_MANIFEST_LIST: &str =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker schema 2 image config.
pub const DOCKER_SCHEMA2_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker schema 2 gzip layer.
pub const DOCKER_SCHEMA2_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker schema 2 foreign (remote, `urls`-only) gzip layer.
pub const DOCKER_SCHEMA2_FOREIGN_LAYER: &str =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// OCI image manifest.
pub const OCI_IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI tar layer.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI gzip layer.
pub const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI zstd layer.
pub const OCI_LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable tar layer.
pub const OCI_LAYER_NONDISTRIBUTABLE_TAR: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable gzip layer.
pub const OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI empty descriptor (`{}`), used by artifacts.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Helm chart config.
pub const HELM_CHART_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content layer.
pub const HELM_CHART_CONTENT_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Generic gzip tarball (older Helm charts).
pub const TAR_GZIP: &str = "application/tar+gzip";

/// The distributable OCI layer types.
pub const OCI_DISTRIBUTABLE_LAYERS: [&str; 3] =
    [OCI_LAYER_TAR, OCI_LAYER_TAR_GZIP, OCI_LAYER_TAR_ZSTD];
/// The non-distributable OCI layer types: Quay treats them as remote (`urls` required, the blob
/// need not exist locally). There is no zstd variant in Quay's list.
pub const OCI_NONDISTRIBUTABLE_LAYERS: [&str; 2] = [
    OCI_LAYER_NONDISTRIBUTABLE_TAR,
    OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP,
];

/// Docker's "empty layer" blob (a gzip of an empty tar), implicitly referenced by schema 2 images
/// with `empty_layer` history entries.
pub const EMPTY_LAYER_BLOB_DIGEST: &str =
    "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
/// Size of [`EMPTY_LAYER_BLOB_DIGEST`]'s content.
pub const EMPTY_LAYER_SIZE: u64 = 32;

/// The media type of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ManifestMediaType {
    /// Docker schema 1, unsigned.
    DockerSchema1,
    /// Docker schema 1, signed.
    DockerSchema1Signed,
    /// Docker schema 2 image manifest.
    DockerSchema2,
    /// Docker schema 2 manifest list.
    DockerSchema2List,
    /// OCI image manifest.
    OciManifest,
    /// OCI image index.
    OciIndex,
}

impl ManifestMediaType {
    /// All six, in Quay's `mediatype` table order of appearance.
    pub const ALL: [Self; 6] = [
        Self::DockerSchema1,
        Self::DockerSchema1Signed,
        Self::DockerSchema2,
        Self::DockerSchema2List,
        Self::OciManifest,
        Self::OciIndex,
    ];

    /// Parses an exact media type string.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The media type string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DockerSchema1 => DOCKER_SCHEMA1_MANIFEST,
            Self::DockerSchema1Signed => DOCKER_SCHEMA1_SIGNED_MANIFEST,
            Self::DockerSchema2 => DOCKER_SCHEMA2_MANIFEST,
            Self::DockerSchema2List => DOCKER_SCHEMA2_MANIFEST_LIST,
            Self::OciManifest => OCI_IMAGE_MANIFEST,
            Self::OciIndex => OCI_IMAGE_INDEX,
        }
    }

    /// The type a manifest PUT is parsed as, from its `Content-Type` (Quay's `_parse_manifest`):
    /// absent or `application/json` mean unsigned schema 1. `None` for anything else, which Quay
    /// answers with `MANIFEST_INVALID` and status 415.
    pub fn for_put_content_type(content_type: Option<&str>) -> Option<Self> {
        match content_type {
            None | Some("" | "application/json") => Some(Self::DockerSchema1),
            Some(other) => Self::parse(other),
        }
    }

    /// Whether this is a list of manifests (Docker manifest list or OCI index).
    pub fn is_list(self) -> bool {
        matches!(self, Self::DockerSchema2List | Self::OciIndex)
    }

    /// Whether this is Docker schema 1 (signed or not).
    pub fn is_schema1(self) -> bool {
        matches!(self, Self::DockerSchema1 | Self::DockerSchema1Signed)
    }

    /// Whether this is an OCI type (gated by `FEATURE_GENERAL_OCI_SUPPORT`).
    pub fn is_oci(self) -> bool {
        matches!(self, Self::OciManifest | Self::OciIndex)
    }

    /// The `schemaVersion` of manifests of this type.
    pub fn schema_version(self) -> u8 {
        if self.is_schema1() { 1 } else { 2 }
    }
}

impl std::fmt::Display for ManifestMediaType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an OCI layer of this type is remote: non-distributable, fetched from its `urls`.
pub fn is_oci_nondistributable_layer(media_type: &str) -> bool {
    OCI_NONDISTRIBUTABLE_LAYERS.contains(&media_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_type() {
        for m in ManifestMediaType::ALL {
            assert_eq!(ManifestMediaType::parse(m.as_str()), Some(m));
        }
        assert_eq!(ManifestMediaType::parse("application/json"), None);
        assert_eq!(
            ManifestMediaType::parse("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            None
        );
    }

    #[test]
    fn put_content_type_rules() {
        use ManifestMediaType as M;
        for (ct, want) in [
            (None, Some(M::DockerSchema1)),
            (Some("application/json"), Some(M::DockerSchema1)),
            (
                Some(DOCKER_SCHEMA1_SIGNED_MANIFEST),
                Some(M::DockerSchema1Signed),
            ),
            (Some(OCI_IMAGE_INDEX), Some(M::OciIndex)),
            (Some("text/plain"), None),
            (Some(OCI_IMAGE_CONFIG), None),
        ] {
            assert_eq!(M::for_put_content_type(ct), want, "{ct:?}");
        }
    }

    #[test]
    fn classification() {
        use ManifestMediaType as M;
        assert!(M::OciIndex.is_list() && M::DockerSchema2List.is_list());
        assert!(!M::OciManifest.is_list());
        assert!(M::DockerSchema1Signed.is_schema1());
        assert_eq!(M::DockerSchema1.schema_version(), 1);
        assert_eq!(M::OciIndex.schema_version(), 2);
        assert!(M::OciManifest.is_oci() && !M::DockerSchema2.is_oci());
        assert!(is_oci_nondistributable_layer(
            OCI_LAYER_NONDISTRIBUTABLE_TAR_GZIP
        ));
        assert!(!is_oci_nondistributable_layer(OCI_LAYER_TAR_ZSTD));
    }
}
