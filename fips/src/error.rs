//! The crate-level error for operations that are not behind a port of their own.

use openssl::error::ErrorStack;

/// Errors of the crypto helpers in this crate.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The operation needs an algorithm the FIPS provider does not allow. Nothing falls back to a
    /// non-FIPS path: switch the feature off (or to its approved variant) in `config.yaml`.
    #[error(
        "{feature} needs {algorithm}, which the active FIPS provider does not allow; \
         {remedy} (config key {config_key})"
    )]
    FipsForbidden {
        /// The Quay feature, e.g. "CloudFront signed URLs".
        feature: &'static str,
        /// The refused algorithm, e.g. "RSA-SHA1 signing".
        algorithm: &'static str,
        /// The configuration key that selects the feature.
        config_key: &'static str,
        /// What the operator can do.
        remedy: &'static str,
    },
    /// A key is unusable (bad PEM, wrong type, too short).
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// An input is malformed (bad base64, bad JSON, wrong length).
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The input is well-formed but refused (bad MAC, expired, wrong padding).
    #[error("rejected: {0}")]
    Rejected(&'static str),
    /// OpenSSL failed.
    #[error("OpenSSL operation failed")]
    OpenSsl(#[from] ErrorStack),
}

/// What a FIPS refusal should say.
#[derive(Debug, Clone, Copy)]
pub struct Forbidden {
    /// The Quay feature.
    pub feature: &'static str,
    /// The refused algorithm.
    pub algorithm: &'static str,
    /// The configuration key that selects the feature.
    pub config_key: &'static str,
    /// What the operator can do.
    pub remedy: &'static str,
}

impl Forbidden {
    /// Maps an OpenSSL failure: when FIPS is enforced the failure is the provider's refusal, so it
    /// becomes [`CryptoError::FipsForbidden`]; otherwise it stays an OpenSSL error.
    pub fn map(self, err: ErrorStack) -> CryptoError {
        if crate::provider::fips_enforced() {
            self.into()
        } else {
            CryptoError::OpenSsl(err)
        }
    }
}

impl From<Forbidden> for CryptoError {
    fn from(f: Forbidden) -> Self {
        CryptoError::FipsForbidden {
            feature: f.feature,
            algorithm: f.algorithm,
            config_key: f.config_key,
            remedy: f.remedy,
        }
    }
}
