//! Errors of the [`super::BlobStorage`] port.

use crate::crypto::BoxError;

/// What went wrong in a storage call. Drivers map SDK and HTTP errors here, keeping the path.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The object does not exist.
    #[error("object not found: {path}")]
    NotFound {
        /// Path relative to the driver's root.
        path: String,
    },
    /// The requested range starts past the end of the object.
    #[error("range not satisfiable for {path}")]
    InvalidRange {
        /// Path relative to the driver's root.
        path: String,
    },
    /// A chunk arrived at the wrong offset (out of order).
    #[error("upload chunk at offset {got}, expected {expected}")]
    InvalidOffset {
        /// The upload's current length.
        expected: u64,
        /// The offset given.
        got: u64,
    },
    /// The upload state cannot be read (bad JSON, wrong driver).
    #[error("invalid upload state: {0}")]
    InvalidUploadState(String),
    /// The upload's temporary objects are gone.
    #[error("upload {0} not found")]
    UploadNotFound(String),
    /// The body stream failed while being read; nothing was written.
    #[error("reading the request body failed")]
    Body(#[source] std::io::Error),
    /// `size_hint` did not match the body.
    #[error("body was {actual} bytes, {expected} announced")]
    SizeMismatch {
        /// Announced size.
        expected: u64,
        /// Bytes actually read.
        actual: u64,
    },
    /// The object is larger than the caller allowed.
    #[error("object {path} is larger than {max} bytes")]
    TooLarge {
        /// Path relative to the driver's root.
        path: String,
        /// The limit.
        max: u64,
    },
    /// The location is read-only.
    #[error("storage location is read-only")]
    ReadOnly,
    /// The backend did not answer in time.
    #[error("storage backend timed out ({operation} {path})")]
    Timeout {
        /// What was being done.
        operation: &'static str,
        /// Path relative to the driver's root.
        path: String,
    },
    /// The backend cannot be reached or dropped the connection.
    #[error("storage backend unavailable ({operation} {path})")]
    Unavailable {
        /// What was being done.
        operation: &'static str,
        /// Path relative to the driver's root.
        path: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// Signing a URL or request failed.
    #[error("signing failed")]
    Signing(#[source] BoxError),
    /// The driver or configuration cannot do this.
    #[error("unsupported: {0}")]
    Unsupported(&'static str),
    /// Any other backend failure.
    #[error("storage backend error ({operation} {path})")]
    Backend {
        /// What was being done.
        operation: &'static str,
        /// Path relative to the driver's root.
        path: String,
        /// The cause.
        #[source]
        source: BoxError,
    },
}

impl StorageError {
    /// Whether retrying the same call may succeed (the backend was unreachable or slow).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Timeout { .. } | Self::Unavailable { .. })
    }

    /// A `Backend` error from any error source.
    pub fn backend(
        operation: &'static str,
        path: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Backend {
            operation,
            path: path.into(),
            source: source.into(),
        }
    }

    /// An `Unavailable` error from any error source.
    pub fn unavailable(
        operation: &'static str,
        path: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Self::Unavailable {
            operation,
            path: path.into(),
            source: source.into(),
        }
    }

    /// The OCI error code a registry answers with (`BLOB_UNKNOWN`, `BLOB_UPLOAD_INVALID`,
    /// `RANGE_INVALID`, `SIZE_INVALID`, `DENIED`, `UNAVAILABLE`), for the /v2 error table.
    pub fn oci_code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "BLOB_UNKNOWN",
            Self::InvalidRange { .. } | Self::InvalidOffset { .. } => "RANGE_INVALID",
            Self::InvalidUploadState(_) | Self::UploadNotFound(_) | Self::Body(_) => {
                "BLOB_UPLOAD_INVALID"
            }
            Self::SizeMismatch { .. } | Self::TooLarge { .. } => "SIZE_INVALID",
            Self::ReadOnly => "DENIED",
            Self::Timeout { .. }
            | Self::Unavailable { .. }
            | Self::Signing(_)
            | Self::Unsupported(_)
            | Self::Backend { .. } => "UNAVAILABLE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_only_for_transient_failures() {
        let io = || std::io::Error::other("x");
        assert!(StorageError::unavailable("get", "p", io()).is_retryable());
        assert!(
            StorageError::Timeout {
                operation: "get",
                path: "p".into()
            }
            .is_retryable()
        );
        assert!(!StorageError::backend("get", "p", io()).is_retryable());
        assert!(!StorageError::NotFound { path: "p".into() }.is_retryable());
    }

    #[test]
    fn oci_codes() {
        assert_eq!(
            StorageError::NotFound { path: "p".into() }.oci_code(),
            "BLOB_UNKNOWN"
        );
        assert_eq!(
            StorageError::InvalidOffset {
                expected: 1,
                got: 2
            }
            .oci_code(),
            "RANGE_INVALID"
        );
        assert_eq!(
            StorageError::unavailable("get", "p", std::io::Error::other("x")).oci_code(),
            "UNAVAILABLE"
        );
    }
}
