//! Registry bearer tokens, build tokens and storage-proxy URLs, signed with the instance service
//! key (`util/security/registry_jwt.py`, `buildman/build_token.py`, `storage/downloadproxy.py`).

use std::collections::HashMap;

use openssl::pkey::{PKey, Private, Public};
use quay_ports::crypto::{JsonValue, RegistryTokenRequest, TokenError, TokenSigner, VerifiedToken};

use super::{Alg, Rules, SigningKey, VerifyingKey, encode, split, verify};
use crate::b64;

/// Quay's `JWT_CLOCK_SKEW_SECONDS`.
pub const REGISTRY_LEEWAY_S: i64 = 30;
/// Lifetime of storage-proxy tokens.
pub const STORAGE_PROXY_LIFETIME_S: i64 = 600;
/// `sub` of storage-proxy tokens.
pub const STORAGE_PROXY_SUBJECT: &str = "storageproxy";

/// The instance's token keys: the private key and kid it signs with, and the service keys it
/// accepts.
pub struct RegistryTokens {
    issuer: String,
    kid: String,
    private_key: PKey<Private>,
    public_keys: HashMap<String, PKey<Public>>,
    max_fresh_s: i64,
}

impl std::fmt::Debug for RegistryTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryTokens")
            .field("issuer", &self.issuer)
            .field("kid", &self.kid)
            .field("known_kids", &self.public_keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RegistryTokens {
    /// `issuer` is `INSTANCE_SERVICE_KEY_SERVICE` ("quay"), `max_fresh_s`
    /// `REGISTRY_JWT_AUTH_MAX_FRESH_S` (3660). The instance's own public key is accepted too.
    ///
    /// # Errors
    /// OpenSSL failure extracting the public key.
    pub fn new(
        issuer: impl Into<String>,
        kid: impl Into<String>,
        private_key: PKey<Private>,
        max_fresh_s: i64,
    ) -> Result<Self, openssl::error::ErrorStack> {
        let kid = kid.into();
        let public = PKey::public_key_from_der(&private_key.public_key_to_der()?)?;
        let mut public_keys = HashMap::new();
        public_keys.insert(kid.clone(), public);
        Ok(Self {
            issuer: issuer.into(),
            kid,
            private_key,
            public_keys,
            max_fresh_s,
        })
    }

    /// Like [`RegistryTokens::new`] from a PEM private key (PKCS#1 or PKCS#8), e.g. the file at
    /// `INSTANCE_SERVICE_KEY_LOCATION`; `kid` is the content of `INSTANCE_SERVICE_KEY_KID_LOCATION`.
    ///
    /// # Errors
    /// `InvalidKey` for a bad PEM; OpenSSL failure.
    pub fn from_pem(
        issuer: impl Into<String>,
        kid: impl Into<String>,
        private_key_pem: &str,
        max_fresh_s: i64,
    ) -> Result<Self, crate::error::CryptoError> {
        let key = crate::jwk::private_key_from_pem(private_key_pem)?;
        Ok(Self::new(issuer, kid, key, max_fresh_s)?)
    }

    /// Adds an accepted service key from its public JWK (the `servicekey.jwk` column); the key id
    /// is the JWK's `kid`.
    ///
    /// # Errors
    /// `InvalidKey` for a JWK without `kid` or an unsupported key.
    pub fn add_service_jwk(&mut self, jwk: &JsonValue) -> Result<(), crate::error::CryptoError> {
        let kid = jwk
            .get("kid")
            .and_then(JsonValue::as_str)
            .ok_or(crate::error::CryptoError::InvalidKey("JWK has no kid"))?
            .to_owned();
        self.public_keys
            .insert(kid, crate::jwk::jwk_to_public_key(jwk)?);
        Ok(())
    }

    /// Replaces the set of accepted service keys (kid → public key).
    pub fn with_service_keys(mut self, keys: HashMap<String, PKey<Public>>) -> Self {
        self.public_keys = keys;
        self
    }

    fn payload(&self, req: &RegistryTokenRequest, now: i64) -> JsonValue {
        JsonValue::object([
            ("iss", JsonValue::str(self.issuer.clone())),
            ("aud", JsonValue::str(req.audience.clone())),
            ("nbf", JsonValue::Int(now)),
            ("iat", JsonValue::Int(now)),
            ("exp", JsonValue::Int(now + req.lifetime_s)),
            ("sub", JsonValue::str(req.subject.clone())),
            ("access", req.access.clone()),
            ("context", req.context.clone()),
        ])
    }

    /// Verifies with Quay's registry rules but a caller-chosen maximum freshness (`None` skips the
    /// check, as build tokens do).
    ///
    /// # Errors
    /// One [`TokenError`] variant per refusal.
    pub fn verify_with(
        &self,
        token: &str,
        audience: &str,
        max_fresh_s: Option<i64>,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let parts = split(token)?;
        let kid = match parts.header.get("kid") {
            None | Some(JsonValue::Null) => return Err(TokenError::MissingKid),
            Some(JsonValue::Str(kid)) => kid.clone(),
            Some(_) => return Err(TokenError::UnknownKid),
        };
        let key = self.public_keys.get(&kid).ok_or(TokenError::UnknownKid)?;
        let rules = Rules {
            algorithms: &[Alg::Rs256],
            require: &["nbf", "iat", "exp"],
            audience: Some(audience),
            issuer: Some(&self.issuer),
            leeway: REGISTRY_LEEWAY_S,
            max_fresh_s,
            now,
        };
        let claims = verify(&parts, VerifyingKey::Public(key), &rules)?;
        if claims.get("sub").is_none() {
            return Err(TokenError::MissingClaim("sub"));
        }
        Ok(VerifiedToken { kid, claims })
    }

    /// Verifies a build token (`verify_build_token`): registry rules without maximum freshness,
    /// `sub` must be `(anonymous)` and `context.token_type` must equal `token_type`.
    ///
    /// # Errors
    /// One [`TokenError`] variant per refusal; a wrong subject or context is `Malformed`.
    pub fn verify_build_token(
        &self,
        token: &str,
        audience: &str,
        token_type: &str,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let verified = self.verify_with(token, audience, None, now)?;
        if verified.claims.get("sub").and_then(JsonValue::as_str) != Some("(anonymous)") {
            return Err(TokenError::Malformed);
        }
        let context = verified
            .claims
            .get("context")
            .ok_or(TokenError::MissingClaim("context"))?;
        for field in ["token_type", "build_id", "job_id", "expiration"] {
            match context.get(field) {
                None | Some(JsonValue::Null) => return Err(TokenError::MissingClaim("context")),
                Some(JsonValue::Str(s)) if s.is_empty() => {
                    return Err(TokenError::MissingClaim("context"));
                }
                _ => {}
            }
        }
        if context.get("token_type").and_then(JsonValue::as_str) != Some(token_type) {
            return Err(TokenError::Malformed);
        }
        Ok(verified)
    }

    /// The storage-proxy URL for `download_url` (`DownloadProxy.proxy_download_url`): a registry
    /// token (subject `storageproxy`, 600 s) base64url-encoded **with** padding into
    /// `<scheme>://<server_hostname>/_storage_proxy/<token>/<scheme>/<host>/<path?query>`.
    ///
    /// # Errors
    /// `Malformed` for a download URL without scheme or host; `Backend` when signing fails.
    pub fn storage_proxy_url(
        &self,
        server_hostname: &str,
        preferred_scheme: &str,
        download_url: &str,
        now: i64,
    ) -> Result<String, TokenError> {
        let (scheme, rest) = download_url
            .split_once("://")
            .ok_or(TokenError::Malformed)?;
        let (host, uri) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() {
            return Err(TokenError::Malformed);
        }
        let access = JsonValue::Array(vec![JsonValue::object([
            ("type", JsonValue::str("storageproxy")),
            ("uri", JsonValue::str(uri)),
            ("host", JsonValue::str(host)),
            ("scheme", JsonValue::str(scheme)),
        ])]);
        let request = RegistryTokenRequest {
            audience: server_hostname.to_owned(),
            subject: STORAGE_PROXY_SUBJECT.to_owned(),
            access,
            context: JsonValue::Object(Vec::new()),
            lifetime_s: STORAGE_PROXY_LIFETIME_S,
        };
        let token = self.sign(&request, now)?;
        Ok(format!(
            "{preferred_scheme}://{server_hostname}/_storage_proxy/{}/{scheme}/{host}/{uri}",
            b64::url_encode(token.as_bytes())
        ))
    }

    /// Checks an `X-Original-URI` of the storage proxy (`_validate_proxy_url`).
    ///
    /// # Errors
    /// Any refusal (Quay answers 401).
    pub fn verify_storage_proxy_uri(
        &self,
        original_uri: &str,
        server_hostname: &str,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let rest = original_uri
            .strip_prefix("/_storage_proxy/")
            .ok_or(TokenError::Malformed)?;
        let mut parts = rest.splitn(4, '/');
        let (Some(encoded), Some(scheme), Some(host), Some(uri)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let token_bytes = b64::url_decode(encoded).ok_or(TokenError::Malformed)?;
        let token = std::str::from_utf8(&token_bytes).map_err(|_| TokenError::Malformed)?;
        let verified = self.verify_with(token, server_hostname, Some(self.max_fresh_s), now)?;
        if verified.claims.get("sub").and_then(JsonValue::as_str) != Some(STORAGE_PROXY_SUBJECT) {
            return Err(TokenError::Malformed);
        }
        let Some(JsonValue::Array(access)) = verified.claims.get("access") else {
            return Err(TokenError::Malformed);
        };
        let [grant] = access.as_slice() else {
            return Err(TokenError::Malformed);
        };
        let field = |name| grant.get(name).and_then(JsonValue::as_str);
        if field("scheme") != Some(scheme)
            || field("host") != Some(host)
            || field("uri") != Some(uri)
        {
            return Err(TokenError::Malformed);
        }
        Ok(verified)
    }
}

/// Extracts the token of an `Authorization: Bearer <jwt>` header with Quay's exact pattern
/// (`\ABearer (([a-zA-Z0-9+\-_/]+\.)+[a-zA-Z0-9+\-_/]+)\Z`).
///
/// # Errors
/// `Malformed` when the header does not match.
pub fn bearer_token(header: &str) -> Result<&str, TokenError> {
    let token = header
        .strip_prefix("Bearer ")
        .ok_or(TokenError::Malformed)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '/');
    let segments: Vec<&str> = token.split('.').collect();
    if segments.len() < 2
        || segments
            .iter()
            .any(|s| s.is_empty() || !s.chars().all(allowed))
    {
        return Err(TokenError::Malformed);
    }
    Ok(token)
}

impl TokenSigner for RegistryTokens {
    fn sign(&self, request: &RegistryTokenRequest, now: i64) -> Result<String, TokenError> {
        let payload = self.payload(request, now);
        encode(
            &payload,
            Alg::Rs256,
            SigningKey::Rsa(&self.private_key),
            &[("kid", JsonValue::str(self.kid.clone()))],
        )
    }

    fn verify(&self, token: &str, audience: &str, now: i64) -> Result<VerifiedToken, TokenError> {
        self.verify_with(token, audience, Some(self.max_fresh_s), now)
    }
}
