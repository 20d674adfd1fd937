//! `/_storage_proxy_auth` (Quay's `DownloadProxy._validate_proxy_url`): the check a front proxy
//! (Quay's nginx `auth_request`) makes before serving `/_storage_proxy/<token>/<scheme>/<host>/<uri>`
//! from the storage backend. The token must be a registry JWT signed by an accepted service key
//! for `SERVER_HOSTNAME`, with subject `storageproxy` and exactly one `storageproxy` access whose
//! scheme, host and URI are the ones requested. Every refusal is the same 401 for the client; the
//! reason is logged.

use quay_ports::crypto::JsonValue;
use quay_ports::storage::redirect::{ProxyAccess, STORAGE_PROXY_SUBJECT, decode_proxy_token};

use crate::registry_auth::Keyring;

/// The path prefix of proxied downloads.
pub const STORAGE_PROXY_PREFIX: &str = "/_storage_proxy/";

/// Why a proxied download is refused (always a 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyDenied {
    /// No `X-Original-URI`.
    #[error("missing original URI")]
    MissingUri,
    /// Not `/_storage_proxy/<token>/<scheme>/<host>/<uri>`.
    #[error("invalid storage proxy path")]
    BadPath,
    /// The token is not URL-safe base64.
    #[error("could not decode the proxy token")]
    BadEncoding,
    /// The JWT does not verify.
    #[error("invalid token for the storage proxy: {0}")]
    BadToken(String),
    /// `sub` is not `storageproxy`.
    #[error("invalid subject for the storage proxy")]
    BadSubject,
    /// `access` is not one `storageproxy` grant.
    #[error("invalid storage proxy access")]
    BadAccess,
    /// The grant does not match the requested URL.
    #[error("the storage proxy grant does not match the requested {0}")]
    Mismatch(&'static str),
}

/// Splits `/_storage_proxy/<token>/<scheme>/<host>/<uri>` (Quay: `split("/", 3)` after the
/// prefix, exactly four parts).
///
/// # Errors
/// `BadPath`.
pub fn parse_proxy_path(original_uri: &str) -> Result<(&str, ProxyAccess), ProxyDenied> {
    let rest = original_uri
        .strip_prefix(STORAGE_PROXY_PREFIX)
        .ok_or(ProxyDenied::BadPath)?;
    let mut parts = rest.splitn(4, '/');
    let (Some(token), Some(scheme), Some(host), Some(uri)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProxyDenied::BadPath);
    };
    Ok((
        token,
        ProxyAccess {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            uri: uri.to_owned(),
        },
    ))
}

fn granted(access: Option<&JsonValue>) -> Result<ProxyAccess, ProxyDenied> {
    let Some(JsonValue::Array(items)) = access else {
        return Err(ProxyDenied::BadAccess);
    };
    let [item] = items.as_slice() else {
        return Err(ProxyDenied::BadAccess);
    };
    let field = |k: &str| {
        item.get(k)
            .and_then(JsonValue::as_str)
            .map(str::to_owned)
            .ok_or(ProxyDenied::BadAccess)
    };
    if field("type")? != STORAGE_PROXY_SUBJECT {
        return Err(ProxyDenied::BadAccess);
    }
    Ok(ProxyAccess {
        scheme: field("scheme")?,
        host: field("host")?,
        uri: field("uri")?,
    })
}

/// Checks a proxied download; returns the backend access it may fetch.
///
/// # Errors
/// [`ProxyDenied`] for every refusal.
pub async fn authorize(
    keyring: &Keyring,
    server_hostname: &str,
    original_uri: Option<&str>,
    now: i64,
) -> Result<ProxyAccess, ProxyDenied> {
    let original_uri = original_uri.ok_or(ProxyDenied::MissingUri)?;
    let (encoded, requested) = parse_proxy_path(original_uri)?;
    let jwt = decode_proxy_token(encoded).ok_or(ProxyDenied::BadEncoding)?;
    let verified = keyring
        .verify(&jwt, server_hostname, now)
        .await
        .map_err(|e| ProxyDenied::BadToken(e.to_string()))?;
    if verified.claims.get("sub").and_then(JsonValue::as_str) != Some(STORAGE_PROXY_SUBJECT) {
        return Err(ProxyDenied::BadSubject);
    }
    let grant = granted(verified.claims.get("access"))?;
    for (what, want, got) in [
        ("scheme", &grant.scheme, &requested.scheme),
        ("host", &grant.host, &requested.host),
        ("uri", &grant.uri, &requested.uri),
    ] {
        if want != got {
            return Err(ProxyDenied::Mismatch(what));
        }
    }
    Ok(grant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_paths_split_like_quay() {
        let (token, access) =
            parse_proxy_path("/_storage_proxy/VE9L/https/s3.example:9000/b/k/x?sig=1&a=/b")
                .unwrap();
        assert_eq!(token, "VE9L");
        assert_eq!(access.scheme, "https");
        assert_eq!(access.host, "s3.example:9000");
        assert_eq!(access.uri, "b/k/x?sig=1&a=/b");
        assert_eq!(
            parse_proxy_path("/_storage_proxy/VE9L/https/host").unwrap_err(),
            ProxyDenied::BadPath
        );
        assert_eq!(
            parse_proxy_path("/v2/VE9L/https/host/x").unwrap_err(),
            ProxyDenied::BadPath
        );
    }

    #[test]
    fn only_one_storageproxy_grant_is_accepted() {
        let grant = |ty: &str| {
            JsonValue::object([
                ("type", JsonValue::str(ty)),
                ("uri", JsonValue::str("b/k")),
                ("host", JsonValue::str("h")),
                ("scheme", JsonValue::str("https")),
            ])
        };
        let ok = JsonValue::Array(vec![grant("storageproxy")]);
        assert_eq!(granted(Some(&ok)).unwrap().uri, "b/k");
        let two = JsonValue::Array(vec![grant("storageproxy"), grant("storageproxy")]);
        assert_eq!(granted(Some(&two)), Err(ProxyDenied::BadAccess));
        let repo = JsonValue::Array(vec![grant("repository")]);
        assert_eq!(granted(Some(&repo)), Err(ProxyDenied::BadAccess));
        assert_eq!(granted(None), Err(ProxyDenied::BadAccess));
    }
}
