//! The `Schema1Verifier` port: checks the JWS signatures of a pushed Docker schema 1 manifest
//! (Quay's `DockerSchema1Manifest._validate`).

/// Why a schema 1 manifest is refused.
#[derive(Debug, thiserror::Error)]
pub enum Schema1VerifyError {
    /// Not JSON, or a signature block lacks a member (`protected`, `signature`, `header`, ...).
    #[error("malformed schema 1 manifest")]
    Malformed,
    /// A signature does not verify, or its key or algorithm is not usable.
    #[error("invalid schema 1 signature")]
    BadSignature,
}

/// Verifies signed schema 1 manifests.
pub trait Schema1Verifier: Send + Sync {
    /// Verifies every signature of `manifest` and returns the manifest digest (SHA-256 of the
    /// signed payload). A manifest without `signatures` is accepted, as in Quay.
    ///
    /// # Errors
    /// [`Schema1VerifyError`].
    fn verify(&self, manifest: &str) -> Result<String, Schema1VerifyError>;
}
