//! Header values the upload and manifest endpoints answer with, byte for byte as Quay writes them
//! except where Quay contradicts the OCI distribution spec.
//!
//! Quay renders ranges with one helper, `0-<n - 1>`, fed different counts, hence its quirks:
//! - after POST (nothing stored yet): `Range: bytes=0--1`;
//! - GET status: `Range: bytes=0-<byte_count>` (one past the last byte); quay-rs answers the
//!   spec's `0-<last byte>` instead (`0-0` while empty, as the reference registry);
//! - after PATCH: `Range: 0-<byte_count - 1>` without the `bytes=` prefix;
//! - 416: `Range: 0-<byte_count>`.
//!
//! `Location` of an upload and of a blob is absolute (`<app_url>/v2/...`); that of a manifest is
//! relative (`/v2/...`), as Flask's `url_for` gives it.

use crate::digest::Digest;
use crate::reference::RepositoryPath;

fn render_range(count: i128, bytes_prefix: bool) -> String {
    let prefix = if bytes_prefix { "bytes=" } else { "" };
    format!("{prefix}0-{}", count - 1)
}

/// `Range` after starting an upload: `bytes=0--1`.
pub fn range_after_start() -> String {
    render_range(0, true)
}

/// `Range` of the upload status (GET): `0-<position of the last byte>`, as the OCI distribution
/// spec asks (`0-0` while nothing is stored, as the reference registry answers). Quay sends
/// `bytes=0-<byte_count>`, which a client resuming from the range end would read as one byte
/// more than it sent.
pub fn range_for_status(byte_count: u64) -> String {
    format!("0-{}", byte_count.saturating_sub(1))
}

/// `Range` after a PATCH: `0-<byte_count - 1>` (so `0--1` when still empty).
pub fn range_after_chunk(byte_count: u64) -> String {
    render_range(i128::from(byte_count), false)
}

/// `Range` of a 416 answer: `0-<byte_count>`.
pub fn range_not_satisfiable(byte_count: u64) -> String {
    format!("0-{byte_count}")
}

fn trim_app_url(app_url: &str) -> &str {
    app_url.trim_end_matches('/')
}

/// `Location` of an upload: `<app_url>/v2/<ns>/<repo>/blobs/uploads/<uuid>` (also the PATCH
/// answer's `Location`, which Quay builds from the request URL).
pub fn upload_location(app_url: &str, repo: &RepositoryPath, upload_uuid: &str) -> String {
    format!(
        "{}/v2/{}/blobs/uploads/{upload_uuid}",
        trim_app_url(app_url),
        repo.full_name()
    )
}

/// `Location` of a blob: `<app_url>/v2/<ns>/<repo>/blobs/<digest>`.
pub fn blob_location(app_url: &str, repo: &RepositoryPath, digest: &Digest) -> String {
    format!(
        "{}/v2/{}/blobs/{digest}",
        trim_app_url(app_url),
        repo.full_name()
    )
}

/// `Location` of a pushed manifest: `/v2/<ns>/<repo>/manifests/<digest>` (relative).
pub fn manifest_location(repo: &RepositoryPath, digest: &Digest) -> String {
    format!("/v2/{}/manifests/{digest}", repo.full_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::RepositoryPathRules;

    #[test]
    fn ranges_match_captured_responses() {
        // v2_upload_start.json, v2_upload_patch.json (11 bytes).
        assert_eq!(range_after_start(), "bytes=0--1");
        assert_eq!(range_after_chunk(11), "0-10");
        assert_eq!(range_after_chunk(0), "0--1");
        assert_eq!(range_not_satisfiable(11), "0-11");
    }

    #[test]
    fn status_range_names_the_last_byte_as_the_oci_spec_asks() {
        // Quay's v2_upload_status.json answers `bytes=0-0` for an empty upload and
        // `bytes=0-<n>` after n bytes; the spec wants the last byte's position, as a PATCH's.
        assert_eq!(range_for_status(0), "0-0");
        assert_eq!(range_for_status(1), "0-0");
        assert_eq!(range_for_status(11), "0-10");
        assert_eq!(range_for_status(11), range_after_chunk(11));
        assert_eq!(range_for_status(u64::MAX), format!("0-{}", u64::MAX - 1));
    }

    #[test]
    fn locations_match_captured_responses() {
        let repo = RepositoryPath::parse("testorg/hello", &RepositoryPathRules::default()).unwrap();
        let uuid = "0854171e-9a1a-4704-97dd-897a8e3aae00";
        assert_eq!(
            upload_location("http://127.0.0.1:8180", &repo, uuid),
            "http://127.0.0.1:8180/v2/testorg/hello/blobs/uploads/0854171e-9a1a-4704-97dd-897a8e3aae00"
        );
        let d = Digest::parse(
            "sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47",
        )
        .unwrap();
        assert_eq!(
            blob_location("http://127.0.0.1:8180/", &repo, &d),
            "http://127.0.0.1:8180/v2/testorg/hello/blobs/sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47"
        );
        assert_eq!(
            manifest_location(&repo, &d),
            "/v2/testorg/hello/manifests/sha256:80fc6e65b67a71bf5f2ba532e4be9bdbf36135a95c37c548d129cba190c81d47"
        );
    }
}
