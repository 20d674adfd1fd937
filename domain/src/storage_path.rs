//! Quay's object-storage layout: where a blob, a legacy layer or an upload lives in a bucket.
//!
//! Layout (relative to a driver's `storage_path`; these keys must never change, because
//! operators point quay-rs at buckets Python Quay already filled):
//!
//! ```text
//! sha256/<first 2 hex>/<hex>        blob with digest sha256:<hex>   (content_path)
//! sharedimages/<uuid>/layer         legacy v1 layer of image storage <uuid>
//! uploads/<uuid>                    upload in progress (local, Azure) or one S3-family chunk
//! segments/<uuid>/<%09d>            one Swift segment of upload <uuid>
//! ```
//!
//! Invariants (Quay's `digest/digest_tools.py::content_path`):
//! - a digest is `<algorithm>:<hex>` with algorithm `[A-Za-z0-9_+.-]+` and hex `[A-Fa-f0-9]+`;
//! - in the algorithm, `+` and `.` become `/`, runs of `/` collapse and a leading `/` is dropped;
//! - the prefix is the first two characters of the hex, left-padded with `0` when shorter.

use std::fmt;

/// Prefix of in-progress uploads (and of S3-family chunk objects).
pub const UPLOADS_PREFIX: &str = "uploads/";
/// Prefix of Swift upload segments.
pub const SEGMENTS_PREFIX: &str = "segments/";
/// Prefix of legacy v1 layers.
pub const SHARED_IMAGES_PREFIX: &str = "sharedimages/";

/// Why a digest cannot be turned into a storage path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid digest: {0:?}")]
pub struct InvalidDigest(pub String);

/// A path relative to a storage driver's root, in Quay's layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoragePath(String);

impl StoragePath {
    /// The blob path of `digest` (`sha256:<hex>` → `sha256/<hh>/<hex>`).
    ///
    /// # Errors
    /// [`InvalidDigest`] when `digest` does not match `<alg>:<hex>`.
    pub fn for_blob(digest: &str) -> Result<Self, InvalidDigest> {
        let parsed =
            crate::digest::Digest::parse(digest).map_err(|_| InvalidDigest(digest.to_string()))?;
        let (alg, hex) = (parsed.algorithm(), parsed.hex());
        let mut normalized = String::with_capacity(alg.len());
        for c in alg.chars() {
            let c = if matches!(c, '+' | '.') { '/' } else { c };
            if c == '/' && (normalized.is_empty() || normalized.ends_with('/')) {
                continue;
            }
            normalized.push(c);
        }
        let prefix: String = if hex.len() >= 2 {
            hex[..2].to_string()
        } else {
            format!("0{hex}")
        };
        let mut path = String::new();
        for part in [normalized.as_str(), prefix.as_str(), hex] {
            // os.path.join semantics for relative components: skip empty ones.
            if part.is_empty() {
                continue;
            }
            if !path.is_empty() && !path.ends_with('/') {
                path.push('/');
            }
            path.push_str(part);
        }
        Ok(Self(path))
    }

    /// The path of the legacy v1 layer of image storage `storage_uuid`.
    pub fn for_v1_layer(storage_uuid: &str) -> Self {
        Self(format!("{SHARED_IMAGES_PREFIX}{storage_uuid}/layer"))
    }

    /// The path of upload `upload_uuid` (or of one S3-family chunk object).
    pub fn for_upload(upload_uuid: &str) -> Self {
        Self(format!("{UPLOADS_PREFIX}{upload_uuid}"))
    }

    /// The path of Swift segment `index` of upload `upload_uuid` (`segments/<uuid>/%09d`).
    pub fn for_swift_segment(upload_uuid: &str, index: u32) -> Self {
        Self(format!("{SEGMENTS_PREFIX}{upload_uuid}/{index:09}"))
    }

    /// Wraps a relative path received from storage metadata (a Python-written chunk path).
    pub fn from_relative(path: impl Into<String>) -> Self {
        Self(path.into())
    }

    /// The relative path as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StoragePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Joins a driver's `storage_path` and a relative path the way Quay's cloud drivers do
/// (`os.path.join(root, path)` with one leading `/` dropped): the object key in the bucket.
pub fn object_key(storage_root: &str, relative: &str) -> String {
    let joined = if relative.starts_with('/') || storage_root.is_empty() {
        relative.to_string()
    } else if storage_root.ends_with('/') {
        format!("{storage_root}{relative}")
    } else {
        format!("{storage_root}/{relative}")
    };
    match joined.strip_prefix('/') {
        Some(rest) => rest.to_string(),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_paths_follow_quay() {
        let cases = [
            ("sha256:abcdef", "sha256/ab/abcdef"),
            ("sha256:a", "sha256/0a/a"),
            ("tarsum.v1+sha256:1234", "tarsum/v1/sha256/12/1234"),
            ("+sha256:12", "sha256/12/12"),
            ("sha256:ABCD", "sha256/AB/ABCD"),
        ];
        for (digest, want) in cases {
            assert_eq!(
                StoragePath::for_blob(digest).unwrap().as_str(),
                want,
                "{digest}"
            );
        }
    }

    #[test]
    fn invalid_digests_are_refused() {
        for bad in ["sha256", "sha256:", ":ab", "sha256:xyz", "sha 256:ab", ""] {
            assert!(StoragePath::for_blob(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn other_paths() {
        assert_eq!(StoragePath::for_upload("u1").as_str(), "uploads/u1");
        assert_eq!(
            StoragePath::for_v1_layer("s").as_str(),
            "sharedimages/s/layer"
        );
        assert_eq!(
            StoragePath::for_swift_segment("u", 7).as_str(),
            "segments/u/000000007"
        );
    }

    #[test]
    fn object_keys_join_like_os_path_join() {
        assert_eq!(
            object_key("/registry", "sha256/ab/abc"),
            "registry/sha256/ab/abc"
        );
        assert_eq!(object_key("registry/", "uploads/x"), "registry/uploads/x");
        assert_eq!(object_key("", "uploads/x"), "uploads/x");
        assert_eq!(object_key("/", "uploads/x"), "uploads/x");
        assert_eq!(object_key("/a", "/abs"), "abs");
    }
}
