//! What `POST /v2/<name>/blobs/uploads/` asks for: a cross-repository mount, a monolithic upload,
//! or a chunked upload (Quay's `start_blob_upload` and `_try_to_mount_blob`).
//!
//! Rules:
//! - `mount=<digest>` is tried only together with `from=<repository>`; without `from`, or when
//!   either does not parse, the request falls through to a normal upload (no error);
//! - `from` is read like a `/v2` path, a single component meaning the library namespace even when
//!   `FEATURE_LIBRARY_SUPPORT` is off (Quay passes `allow_library` unchanged here);
//! - the mount succeeds only if the caller may read the source (or it is public) and the blob is
//!   linked there; the application checks that and falls through to an upload otherwise, answering
//!   201 with `Docker-Content-Digest` and the blob's `Location` on success;
//! - `digest=<digest>` (without a successful mount) means the body is the whole blob: answer 201;
//!   otherwise answer 202 with `Docker-Upload-UUID`, `Range: bytes=0--1` and the upload `Location`.

use crate::digest::Digest;
use crate::reference::{RepositoryPath, RepositoryPathRules};

/// A cross-repository mount to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    /// The blob to link.
    pub digest: Digest,
    /// The repository it should come from.
    pub from: RepositoryPath,
}

/// The plan of an upload start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartPlan {
    /// A mount to try first, if any.
    pub mount: Option<MountRequest>,
    /// The `digest` argument of a monolithic upload, verified at commit
    /// ([`super::verify_commit_digest`]).
    pub monolithic_digest: Option<String>,
}

impl StartPlan {
    /// Reads the query arguments `mount`, `from` and `digest`.
    pub fn from_query(
        mount: Option<&str>,
        from: Option<&str>,
        digest: Option<&str>,
        rules: &RepositoryPathRules,
    ) -> Self {
        let library_allowed = RepositoryPathRules {
            library_support: true,
            ..rules.clone()
        };
        let mount = match (mount, from) {
            (Some(d), Some(f)) => match (
                Digest::parse(d),
                RepositoryPath::parse(f.trim_end_matches('/'), &library_allowed),
            ) {
                (Ok(digest), Ok(from)) => Some(MountRequest { digest, from }),
                _ => None,
            },
            _ => None,
        };
        Self {
            mount,
            monolithic_digest: digest.map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47";

    #[test]
    fn mount_needs_both_arguments() {
        let rules = RepositoryPathRules::default();
        let p = StartPlan::from_query(Some(D), Some("admin/publicrepo"), None, &rules);
        let m = p.mount.expect("mount");
        assert_eq!(m.from.full_name(), "admin/publicrepo");
        assert_eq!(m.digest.as_str(), D);
        assert!(p.monolithic_digest.is_none());
        assert!(
            StartPlan::from_query(Some(D), None, None, &rules)
                .mount
                .is_none()
        );
        assert!(
            StartPlan::from_query(None, Some("a/b"), None, &rules)
                .mount
                .is_none()
        );
        assert!(
            StartPlan::from_query(Some("nope"), Some("a/b"), None, &rules)
                .mount
                .is_none()
        );
        assert!(
            StartPlan::from_query(Some(D), Some("A/b"), None, &rules)
                .mount
                .is_none()
        );
    }

    #[test]
    fn from_defaults_to_library_even_without_library_support() {
        let rules = RepositoryPathRules {
            library_support: false,
            ..RepositoryPathRules::default()
        };
        let p = StartPlan::from_query(Some(D), Some("busybox"), Some(D), &rules);
        assert_eq!(p.mount.expect("mount").from.full_name(), "library/busybox");
        assert_eq!(p.monolithic_digest.as_deref(), Some(D));
    }
}
