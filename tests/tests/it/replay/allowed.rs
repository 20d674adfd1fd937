//! The deliberate differences from Python Quay, by capture name: each entry rewrites what the
//! capture expects into what quay-rs answers instead (so the difference itself stays tested),
//! with the reason. Each one is also a row of `docs/registry-differences.md`. An entry that
//! stops being used fails the test.

use super::compare::{Body, Expected};

/// One kept difference.
struct Entry {
    /// The capture it applies to.
    capture: &'static str,
    /// Why quay-rs answers differently (the row of `docs/registry-differences.md`).
    reason: &'static str,
    /// Turns Quay's expected response into ours.
    adjust: fn(&mut Expected),
}

const ENTRIES: &[Entry] = &[
    Entry {
        capture: "v2_manifest_invalid_ref",
        reason: "`bad ref` matches none of Flask's routes, so Quay answers its HTML 404 page; \
                 quay-rs answers MANIFEST_UNKNOWN 404 in the registry's JSON envelope, which \
                 clients parse (row `Unroutable reference`).",
        adjust: |want| want.oci_error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
    },
    Entry {
        capture: "v2_blob_bad_digest",
        reason: "a blob GET/HEAD whose digest is malformed only matches Quay's DELETE route \
                 (`<digest>` unconstrained), so Flask answers an HTML 405 with `Allow: DELETE, \
                 OPTIONS`; quay-rs answers BLOB_UNKNOWN 404 in the JSON envelope, as for any \
                 blob it does not have (row `Blob GET/HEAD with a malformed digest`).",
        adjust: |want| {
            want.remove("Allow");
            want.oci_error(404, "BLOB_UNKNOWN", "blob unknown to registry");
        },
    },
    Entry {
        capture: "v2_blob_get_range",
        reason: "Quay's LocalStorage ignores `Range` and sends the whole blob with 200; quay-rs \
                 answers 206 with `Content-Range` and the requested bytes, as the OCI \
                 distribution spec and HTTP require (row `Blob GET with Range`).",
        adjust: |want| {
            let Body::Bytes(all) = &want.body else {
                panic!("the captured blob")
            };
            let part = all[..10].to_vec();
            want.status = 206;
            want.set("Content-Range", &format!("bytes 0-9/{}", all.len()));
            want.set("Content-Length", "10");
            want.body = Body::Bytes(part);
        },
    },
    Entry {
        capture: "v2_manifest_put_invalid",
        reason: "Quay's detail is the whole jsonschema dump (39 890 bytes: the failed schema \
                 printed as a Python dict); quay-rs keeps Quay's prefix and the failing rule's \
                 message, without the dump (row `Schema-validation detail text`).",
        adjust: |want| {
            want.remove("Content-Length");
            want.body = Body::ErrorDetailPrefix {
                code: "MANIFEST_INVALID",
                message: "manifest invalid",
                detail_prefix: "failed to parse manifest: manifest data does not match schema: "
                    .to_owned(),
                detail_contains: "'config' is a required property",
            };
        },
    },
    Entry {
        capture: "v2_upload_status",
        reason: "Quay's upload status has no `Location` and `Range: bytes=0-<byte_count>` (one \
                 past the last byte); quay-rs answers the OCI spec's `Location` (the upload URL, \
                 as the start answer gives it) and `Range: 0-<last byte>`, `0-0` while empty \
                 (row `Upload status`).",
        adjust: |want| {
            let uuid = want
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("Docker-Upload-UUID"))
                .map(|(_, v)| v.clone())
                .expect("the captured upload UUID");
            want.set(
                "Location",
                &format!(
                    "http://{}/v2/testorg/hello/blobs/uploads/{uuid}",
                    super::CAPTURED_HOST
                ),
            );
            want.set("Range", "0-0");
        },
    },
    Entry {
        capture: "v2_unknown_route",
        reason: "an unknown path under /v2 gets Flask's HTML 404 page from Quay; quay-rs answers \
                 the same 404 with an empty body (row `Unknown path under /v2`).",
        adjust: |want| {
            want.remove("Content-Type");
            want.set("Content-Length", "0");
            want.body = Body::Bytes(Vec::new());
        },
    },
];

/// Every capture with an allow-list entry, with its reason.
pub(crate) fn entries() -> Vec<(&'static str, &'static str)> {
    ENTRIES.iter().map(|e| (e.capture, e.reason)).collect()
}

/// Rewrites the expected response of `name`; `true` when an entry applied.
pub(crate) fn adjust(name: &str, want: &mut Expected) -> bool {
    match ENTRIES.iter().find(|e| e.capture == name) {
        Some(entry) => {
            (entry.adjust)(want);
            true
        }
        None => false,
    }
}
