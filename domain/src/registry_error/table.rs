//! The rows of the `/v2` error table (codes, statuses and messages of Quay's
//! `endpoints/v2/errors.py`).

use super::ErrorKind;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorSpec {
    /// The kind.
    pub kind: ErrorKind,
    /// The wire code.
    pub code: &'static str,
    /// The default HTTP status.
    pub status: u16,
    /// The default message.
    pub message: &'static str,
}

const fn row(kind: ErrorKind, code: &'static str, status: u16, message: &'static str) -> ErrorSpec {
    ErrorSpec {
        kind,
        code,
        status,
        message,
    }
}

/// Every `/v2` error, with Quay's code, default status and default message.
pub const ERROR_TABLE: &[ErrorSpec] = &[
    row(
        ErrorKind::BlobUnknown,
        "BLOB_UNKNOWN",
        404,
        "blob unknown to registry",
    ),
    row(
        ErrorKind::BlobUploadInvalid,
        "BLOB_UPLOAD_INVALID",
        400,
        "blob upload invalid",
    ),
    row(
        ErrorKind::BlobUploadUnknown,
        "BLOB_UPLOAD_UNKNOWN",
        404,
        "blob upload unknown to registry",
    ),
    row(
        ErrorKind::DigestInvalid,
        "DIGEST_INVALID",
        400,
        "provided digest did not match uploaded content",
    ),
    row(
        ErrorKind::ManifestBlobUnknown,
        "MANIFEST_BLOB_UNKNOWN",
        400,
        "manifest blob unknown to registry",
    ),
    row(
        ErrorKind::ManifestInvalid,
        "MANIFEST_INVALID",
        400,
        "manifest invalid",
    ),
    row(
        ErrorKind::ManifestUnknown,
        "MANIFEST_UNKNOWN",
        404,
        "manifest unknown",
    ),
    row(ErrorKind::TagExpired, "TAG_EXPIRED", 404, "Tag has expired"),
    row(
        ErrorKind::ManifestUnverified,
        "MANIFEST_UNVERIFIED",
        400,
        "manifest failed signature verification",
    ),
    row(
        ErrorKind::NameInvalid,
        "NAME_INVALID",
        400,
        "invalid repository name",
    ),
    row(
        ErrorKind::NameUnknown,
        "NAME_UNKNOWN",
        404,
        "repository name not known to registry",
    ),
    row(
        ErrorKind::SizeInvalid,
        "SIZE_INVALID",
        400,
        "provided length did not match content length",
    ),
    row(
        ErrorKind::TagAlreadyExists,
        "TAG_ALREADY_EXISTS",
        409,
        "tag was already pushed",
    ),
    row(
        ErrorKind::TagImmutable,
        "TAG_IMMUTABLE",
        409,
        "tag is immutable and cannot be overwritten",
    ),
    row(
        ErrorKind::TagInvalid,
        "TAG_INVALID",
        400,
        "manifest tag did not match URI",
    ),
    row(
        ErrorKind::TooManyTagsRequested,
        "TOO_MANY_TAGS_REQUESTED",
        413,
        "too many tags requested",
    ),
    row(
        ErrorKind::LayerTooLarge,
        "DENIED",
        403,
        "Uploaded blob is larger than allowed by this registry",
    ),
    row(
        ErrorKind::QuotaExceeded,
        "DENIED",
        403,
        "Quota has been exceeded on namespace",
    ),
    row(
        ErrorKind::Unauthorized,
        "UNAUTHORIZED",
        401,
        "access to the requested resource is not authorized",
    ),
    row(
        ErrorKind::Unsupported,
        "UNSUPPORTED",
        405,
        "The operation is unsupported.",
    ),
    row(
        ErrorKind::InvalidLogin,
        "UNAUTHORIZED",
        401,
        "Specified credentials are invalid",
    ),
    row(
        ErrorKind::InvalidRequest,
        "INVALID_REQUEST",
        400,
        "Invalid request",
    ),
    row(
        ErrorKind::NamespaceDisabled,
        "DENIED",
        405,
        "This namespace is disabled. Please contact your system administrator.",
    ),
    row(
        ErrorKind::ReadOnlyMode,
        "DENIED",
        405,
        "System is currently read-only. Pulls will succeed but all write operations are currently suspended.",
    ),
    row(
        ErrorKind::PushesDisabled,
        "METHOD NOT ALLOWED",
        405,
        "Pushes to the registry are currently disabled. Please contact the administrator for more information.",
    ),
    row(
        ErrorKind::TooManyRequests,
        "TOOMANYREQUESTS",
        429,
        "too many requests",
    ),
];
