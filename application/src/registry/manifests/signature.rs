//! Signed schema 1 pushes: every JWS signature must verify (Quay's `DockerSchema1Manifest`
//! validation); an unsigned schema 1 manifest is accepted.

use quay_domain::manifest::ManifestError;
use quay_ports::crypto::schema1::Schema1VerifyError;

use super::invalid;
use crate::registry::{Registry, RegistryFailure};

impl Registry {
    /// Verifies the JWS signatures of a signed schema 1 manifest (Quay's
    /// `InvalidSchema1Signature`: `MANIFEST_INVALID`).
    pub(super) fn verify_schema1_signatures(&self, bytes: &[u8]) -> Result<(), RegistryFailure> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| invalid(&ManifestError::Parse("manifest is not UTF-8".into())))?;
        match self.ports.schema1.verify(text) {
            Ok(_) => Ok(()),
            Err(Schema1VerifyError::BadSignature) => {
                Err(invalid(&ManifestError::invalid_signature()))
            }
            Err(Schema1VerifyError::Malformed) => Err(invalid(&ManifestError::Parse(
                "malformed schema 1 signatures".into(),
            ))),
        }
    }
}
