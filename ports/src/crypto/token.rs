//! The `TokenSigner` port: Quay's registry bearer tokens (RS256 JWTs signed with the instance
//! service key), also used for build tokens and storage-proxy tokens.

use super::{BoxError, JsonValue};

/// Why a token was refused. Each variant is one of the normalised categories of the crypto
/// vectors.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a JWT: wrong number of segments, bad base64 or JSON, bad `Authorization` header shape.
    #[error("malformed token")]
    Malformed,
    /// The header's `alg` is not allowed (`none`, HS256 with a public key, RS384 for registry
    /// tokens, …).
    #[error("token algorithm not allowed")]
    AlgNotAllowed,
    /// The header has no `kid`.
    #[error("token header has no kid")]
    MissingKid,
    /// The `kid` names no known service key.
    #[error("token signed with an unknown key")]
    UnknownKid,
    /// The signature does not verify.
    #[error("token signature is invalid")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    #[error("token is not yet valid")]
    NotYetValid,
    /// `aud` does not match.
    #[error("token audience does not match")]
    BadAudience,
    /// `iss` does not match.
    #[error("token issuer does not match")]
    BadIssuer,
    /// `exp - iat` exceeds the configured maximum freshness.
    #[error("token lifetime is too long")]
    LifetimeTooLong,
    /// A required claim is absent.
    #[error("token lacks required claim {0}")]
    MissingClaim(&'static str),
    /// Signing failed, or the provider refused the operation.
    #[error("token operation failed")]
    Backend(#[source] BoxError),
}

impl TokenError {
    /// Whether retrying may succeed: never.
    pub fn is_retryable(&self) -> bool {
        false
    }
}

/// What a registry token grants.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryTokenRequest {
    /// `aud`: the `SERVER_HOSTNAME`.
    pub audience: String,
    /// `sub`: the user name, `(anonymous)` or `storageproxy`.
    pub subject: String,
    /// `access`: usually an array of `{"type","name","actions"}` objects; `{}` for build tokens.
    pub access: JsonValue,
    /// `context`, in Quay's key order.
    pub context: JsonValue,
    /// Lifetime in seconds (`exp = now + lifetime_s`).
    pub lifetime_s: i64,
}

/// A verified token.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedToken {
    /// The `kid` of the key that signed it.
    pub kid: String,
    /// The payload claims, in token order.
    pub claims: JsonValue,
}

/// Signs and verifies registry JWTs with the instance service key.
pub trait TokenSigner: Send + Sync {
    /// Signs a token at time `now` (Unix seconds); byte-identical to Python Quay's.
    ///
    /// # Errors
    /// `Backend` when signing fails.
    fn sign(&self, request: &RegistryTokenRequest, now: i64) -> Result<String, TokenError>;

    /// Verifies a token with Quay's rules (RS256 only, known `kid`, `nbf`/`iat`/`exp` required,
    /// 30 s leeway, audience, issuer, maximum freshness, `sub` present).
    ///
    /// # Errors
    /// One variant per refusal reason, see [`TokenError`].
    fn verify(&self, token: &str, audience: &str, now: i64) -> Result<VerifiedToken, TokenError>;
}
