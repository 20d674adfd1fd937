use super::*;

const ALL: [ErrorKind; 26] = [
    ErrorKind::BlobUnknown,
    ErrorKind::BlobUploadInvalid,
    ErrorKind::BlobUploadUnknown,
    ErrorKind::DigestInvalid,
    ErrorKind::ManifestBlobUnknown,
    ErrorKind::ManifestInvalid,
    ErrorKind::ManifestUnknown,
    ErrorKind::TagExpired,
    ErrorKind::ManifestUnverified,
    ErrorKind::NameInvalid,
    ErrorKind::NameUnknown,
    ErrorKind::SizeInvalid,
    ErrorKind::TagAlreadyExists,
    ErrorKind::TagImmutable,
    ErrorKind::TagInvalid,
    ErrorKind::TooManyTagsRequested,
    ErrorKind::LayerTooLarge,
    ErrorKind::QuotaExceeded,
    ErrorKind::Unauthorized,
    ErrorKind::Unsupported,
    ErrorKind::InvalidLogin,
    ErrorKind::InvalidRequest,
    ErrorKind::NamespaceDisabled,
    ErrorKind::ReadOnlyMode,
    ErrorKind::PushesDisabled,
    ErrorKind::TooManyRequests,
];

#[test]
fn every_kind_has_exactly_one_row() {
    assert_eq!(ERROR_TABLE.len(), ALL.len());
    for kind in ALL {
        assert_eq!(
            ERROR_TABLE.iter().filter(|s| s.kind == kind).count(),
            1,
            "{kind:?}"
        );
    }
}

#[test]
fn table_matches_quay_inventory() {
    // (kind, code, status) from v2_error_codes_master.csv and endpoints/v2/errors.py.
    for (kind, code, status) in [
        (ErrorKind::BlobUnknown, "BLOB_UNKNOWN", 404),
        (ErrorKind::BlobUploadInvalid, "BLOB_UPLOAD_INVALID", 400),
        (ErrorKind::BlobUploadUnknown, "BLOB_UPLOAD_UNKNOWN", 404),
        (ErrorKind::DigestInvalid, "DIGEST_INVALID", 400),
        (ErrorKind::ManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", 400),
        (ErrorKind::ManifestInvalid, "MANIFEST_INVALID", 400),
        (ErrorKind::ManifestUnknown, "MANIFEST_UNKNOWN", 404),
        (ErrorKind::TagExpired, "TAG_EXPIRED", 404),
        (ErrorKind::ManifestUnverified, "MANIFEST_UNVERIFIED", 400),
        (ErrorKind::NameInvalid, "NAME_INVALID", 400),
        (ErrorKind::NameUnknown, "NAME_UNKNOWN", 404),
        (ErrorKind::SizeInvalid, "SIZE_INVALID", 400),
        (ErrorKind::TagAlreadyExists, "TAG_ALREADY_EXISTS", 409),
        (ErrorKind::TagImmutable, "TAG_IMMUTABLE", 409),
        (ErrorKind::TagInvalid, "TAG_INVALID", 400),
        (
            ErrorKind::TooManyTagsRequested,
            "TOO_MANY_TAGS_REQUESTED",
            413,
        ),
        (ErrorKind::LayerTooLarge, "DENIED", 403),
        (ErrorKind::QuotaExceeded, "DENIED", 403),
        (ErrorKind::Unauthorized, "UNAUTHORIZED", 401),
        (ErrorKind::Unsupported, "UNSUPPORTED", 405),
        (ErrorKind::InvalidLogin, "UNAUTHORIZED", 401),
        (ErrorKind::InvalidRequest, "INVALID_REQUEST", 400),
        (ErrorKind::NamespaceDisabled, "DENIED", 405),
        (ErrorKind::ReadOnlyMode, "DENIED", 405),
        (ErrorKind::PushesDisabled, "METHOD NOT ALLOWED", 405),
        (ErrorKind::TooManyRequests, "TOOMANYREQUESTS", 429),
    ] {
        let spec = kind.spec();
        assert_eq!((spec.code, spec.status), (code, status), "{kind:?}");
    }
}

#[test]
fn envelope_matches_captured_bad_digest_response() {
    // contract/registry/v2_upload_finish_bad_digest.json
    let err = RegistryError::new(ErrorKind::BlobUploadInvalid);
    let expected: Value = serde_json::from_str(
        r#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","detail":{},"message":"blob upload invalid"}]}"#,
    )
    .unwrap();
    assert_eq!(err.envelope(), expected);
    assert_eq!(err.status(), 400);
    assert_eq!(
        serde_json::to_string(&err.envelope()).unwrap(),
        r#"{"errors":[{"code":"BLOB_UPLOAD_INVALID","detail":{},"message":"blob upload invalid"}]}"#
    );
}

#[test]
fn read_only_adds_flag_and_detail_conventions() {
    let ro = RegistryError::new(ErrorKind::ReadOnlyMode).envelope();
    assert_eq!(ro["errors"][0]["is_readonly"], Value::Bool(true));
    assert_eq!(ro["errors"][0]["code"], "DENIED");
    let bad = RegistryError::new(ErrorKind::ManifestInvalid)
        .with_detail_message("manifest schema version not supported")
        .with_status(415);
    assert_eq!(bad.status(), 415);
    assert_eq!(
        bad.envelope()["errors"][0]["detail"]["message"],
        "manifest schema version not supported"
    );
    let up = RegistryError::new(ErrorKind::BlobUploadInvalid)
        .with_detail_reason("Missing digest arg on monolithic upload");
    assert_eq!(
        up.detail()["reason"],
        "Missing digest arg on monolithic upload"
    );
    assert!(ErrorKind::Unauthorized.needs_auth_challenge());
    assert!(ErrorKind::InvalidLogin.needs_auth_challenge());
    assert!(!ErrorKind::ReadOnlyMode.needs_auth_challenge());
}

#[test]
fn layer_too_large_carries_sizes() {
    let e = RegistryError::layer_too_large(20_000_000_001, 20_000_000_000);
    assert_eq!((e.code(), e.status()), ("DENIED", 403));
    assert_eq!(
        e.message(),
        "Uploaded blob of 18.63 GiB is larger than 18.63 GiB allowed by this registry"
    );
    assert_eq!(e.detail()["uploaded"], 20_000_000_001u64);
    assert_eq!(e.detail()["max_allowed"], 20_000_000_000u64);
    assert_eq!(
        e.detail()["reason"],
        "20000000001 is greater than maximum allowed size 20000000000"
    );
}
