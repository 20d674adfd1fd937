//! The `Digester` port: content digests (`sha256:<hex>`) for blobs and manifests.

use super::BoxError;

/// Errors of [`Digester`] and [`HashStream`].
#[derive(Debug, thiserror::Error)]
pub enum DigestError {
    /// The saved hasher state cannot be read (wrong length, bad encoding).
    #[error("saved hasher state is invalid")]
    InvalidState,
    /// The provider failed.
    #[error("digest computation failed")]
    Backend(#[source] BoxError),
}

impl DigestError {
    /// Whether retrying may succeed: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// An incremental SHA-256.
pub trait HashStream: Send {
    /// Feeds bytes.
    ///
    /// # Errors
    /// `Backend` when the provider fails.
    fn update(&mut self, data: &[u8]) -> Result<(), DigestError>;

    /// Finishes and returns `sha256:<lowercase hex>`.
    ///
    /// # Errors
    /// `Backend` when the provider fails.
    fn finish(self: Box<Self>) -> Result<String, DigestError>;

    /// Exports the state so another process can continue the hash, or `None` when this
    /// implementation cannot (OpenSSL has no portable export). Callers then re-hash from storage.
    fn export_state(&self) -> Option<Vec<u8>>;
}

/// Digests of byte strings.
pub trait Digester: Send + Sync {
    /// `sha256:<lowercase hex>` of `data`.
    ///
    /// # Errors
    /// `Backend` when the provider fails.
    fn sha256_digest(&self, data: &[u8]) -> Result<String, DigestError>;

    /// Starts an incremental SHA-256.
    ///
    /// # Errors
    /// `Backend` when the provider fails.
    fn sha256_stream(&self) -> Result<Box<dyn HashStream>, DigestError>;

    /// Resumes from a state produced by [`HashStream::export_state`].
    ///
    /// # Errors
    /// `InvalidState` when the state cannot be read or export is unsupported.
    fn resume_sha256(&self, state: &[u8]) -> Result<Box<dyn HashStream>, DigestError>;
}
