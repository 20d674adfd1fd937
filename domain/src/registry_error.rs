//! The one table of `/v2` wire errors: every error Quay's registry answers with, its code, HTTP
//! status and message.
//!
//! Envelope (what the HTTP adapter renders from a [`RegistryError`], see [`RegistryError::envelope`]):
//!
//! ```json
//! {"errors": [{"code": "MANIFEST_INVALID", "detail": {"message": "..."}, "message": "manifest invalid"}]}
//! ```
//!
//! Invariants, as Quay's `endpoints/v2/errors.py` and its Flask handler produce them:
//! - exactly one entry in `errors`; keys in sorted order (`code`, `detail`, `is_readonly`,
//!   `message`), because Flask's `jsonify` sorts keys;
//! - `detail` is always present: `{}` when the error carries none; otherwise an object (Quay's
//!   convention is `{"message": "..."}` for manifest errors and `{"reason": "..."}` for uploads) or,
//!   for the non-image-repository case, a bare string;
//! - `is_readonly: true` appears only for [`ErrorKind::ReadOnlyMode`];
//! - every 401 also carries `WWW-Authenticate` and `Docker-Distribution-API-Version` headers, which
//!   the adapter adds ([`ErrorKind::needs_auth_challenge`]).
//!
//! Several kinds share one wire code (`DENIED`, `UNAUTHORIZED`) with different statuses; the table is
//! therefore keyed by *kind* (Quay's exception class), not by code.

mod size_text;
mod table;

use serde_json::{Map, Value};
use std::borrow::Cow;

pub use size_text::best_prefix_bytes;
pub use table::{ERROR_TABLE, ErrorSpec};

/// One kind of `/v2` error (one of Quay's `V2RegistryException` classes, plus `TOOMANYREQUESTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// `BLOB_UNKNOWN` 404.
    BlobUnknown,
    /// `BLOB_UPLOAD_INVALID` 400: missing `digest` on the final PUT, digest mismatch, storage failure.
    BlobUploadInvalid,
    /// `BLOB_UPLOAD_UNKNOWN` 404: no upload with that UUID in the repository.
    BlobUploadUnknown,
    /// `DIGEST_INVALID` 400 (defined by Quay, never raised by it: mismatches are
    /// `BLOB_UPLOAD_INVALID`).
    DigestInvalid,
    /// `MANIFEST_BLOB_UNKNOWN` 400 (defined, never raised: Quay reports unknown blobs as
    /// `MANIFEST_INVALID`).
    ManifestBlobUnknown,
    /// `MANIFEST_INVALID` 400, or 415 when the content type is not a manifest type.
    ManifestInvalid,
    /// `MANIFEST_UNKNOWN` 404.
    ManifestUnknown,
    /// `TAG_EXPIRED` 404: the tag is gone but still inside the time machine window.
    TagExpired,
    /// `MANIFEST_UNVERIFIED` 400 (defined, never raised: bad schema1 signatures are
    /// `MANIFEST_INVALID`).
    ManifestUnverified,
    /// `NAME_INVALID` 400.
    NameInvalid,
    /// `NAME_UNKNOWN` 404.
    NameUnknown,
    /// `SIZE_INVALID` 400.
    SizeInvalid,
    /// `TAG_ALREADY_EXISTS` 409.
    TagAlreadyExists,
    /// `TAG_IMMUTABLE` 409.
    TagImmutable,
    /// `TAG_INVALID` 400.
    TagInvalid,
    /// `TOO_MANY_TAGS_REQUESTED` 413.
    TooManyTagsRequested,
    /// `DENIED` 403: the upload exceeds `MAXIMUM_LAYER_SIZE`.
    LayerTooLarge,
    /// `DENIED` 403: the namespace quota is exceeded.
    QuotaExceeded,
    /// `UNAUTHORIZED` 401 (with a Bearer challenge).
    Unauthorized,
    /// `UNSUPPORTED` 405.
    Unsupported,
    /// `UNAUTHORIZED` 401: bad credentials at `/v2/auth`.
    InvalidLogin,
    /// `INVALID_REQUEST` 400.
    InvalidRequest,
    /// `DENIED` 405: the namespace is disabled.
    NamespaceDisabled,
    /// `DENIED` 405: the registry is read-only; the entry adds `"is_readonly": true`.
    ReadOnlyMode,
    /// `METHOD NOT ALLOWED` 405 (sic, with a space): `DISABLE_PUSHES` is set.
    PushesDisabled,
    /// `TOOMANYREQUESTS` 429 (OCI code; Quay rate-limits in nginx, not in Python).
    TooManyRequests,
}

impl ErrorKind {
    /// This kind's row of [`ERROR_TABLE`].
    pub fn spec(self) -> &'static ErrorSpec {
        ERROR_TABLE
            .iter()
            .find(|s| s.kind == self)
            .expect("ERROR_TABLE has a row for every ErrorKind (checked by a unit test)")
    }

    /// The wire code.
    pub fn code(self) -> &'static str {
        self.spec().code
    }

    /// Whether the response must carry the Bearer challenge headers (every 401).
    pub fn needs_auth_challenge(self) -> bool {
        self.spec().status == 401
    }
}

/// One `/v2` error response, ready to render.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError {
    kind: ErrorKind,
    status: u16,
    message: Cow<'static, str>,
    detail: Value,
}

impl RegistryError {
    /// An error of `kind` with the table's status and message and an empty detail.
    pub fn new(kind: ErrorKind) -> Self {
        let spec = kind.spec();
        Self {
            kind,
            status: spec.status,
            message: Cow::Borrowed(spec.message),
            detail: Value::Object(Map::new()),
        }
    }

    /// Replaces the detail with `{"message": text}` (Quay's convention for manifest and name
    /// errors).
    pub fn with_detail_message(self, text: impl Into<String>) -> Self {
        self.with_detail_field("message", text.into())
    }

    /// Replaces the detail with `{"reason": text}` (Quay's convention for upload errors).
    pub fn with_detail_reason(self, text: impl Into<String>) -> Self {
        self.with_detail_field("reason", text.into())
    }

    fn with_detail_field(mut self, key: &str, text: String) -> Self {
        let mut map = Map::new();
        map.insert(key.to_owned(), Value::String(text));
        self.detail = Value::Object(map);
        self
    }

    /// Replaces the detail with any JSON value.
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.detail = detail;
        self
    }

    /// Replaces the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Cow::Owned(message.into());
        self
    }

    /// Replaces the HTTP status (Quay answers `MANIFEST_INVALID` with 415 for unsupported types).
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Quay's `LayerTooLarge`: `DENIED` 403 with the sizes in the message and detail.
    pub fn layer_too_large(uploaded: u64, max_allowed: u64) -> Self {
        let mut detail = Map::new();
        detail.insert("max_allowed".into(), Value::from(max_allowed));
        detail.insert(
            "reason".into(),
            Value::String(format!(
                "{uploaded} is greater than maximum allowed size {max_allowed}"
            )),
        );
        detail.insert("uploaded".into(), Value::from(uploaded));
        Self::new(ErrorKind::LayerTooLarge)
            .with_message(format!(
                "Uploaded blob of {} is larger than {} allowed by this registry",
                best_prefix_bytes(uploaded),
                best_prefix_bytes(max_allowed)
            ))
            .with_detail(Value::Object(detail))
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The wire code.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The detail.
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// The response body: `{"errors":[{"code","detail",("is_readonly",)"message"}]}`, keys in the
    /// order Flask's sorted `jsonify` writes them.
    pub fn envelope(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("code".into(), Value::String(self.code().into()));
        entry.insert("detail".into(), self.detail.clone());
        if self.kind == ErrorKind::ReadOnlyMode {
            entry.insert("is_readonly".into(), Value::Bool(true));
        }
        entry.insert("message".into(), Value::String(self.message.to_string()));
        let mut body = Map::new();
        body.insert("errors".into(), Value::Array(vec![Value::Object(entry)]));
        Value::Object(body)
    }
}

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code(), self.status, self.message)
    }
}

impl std::error::Error for RegistryError {}

#[cfg(test)]
mod tests;
