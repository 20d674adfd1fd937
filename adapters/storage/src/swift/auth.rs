//! Swift authentication as python-swiftclient does it for Quay's `auth_version` 1, 2 and 3:
//! returns the account's storage URL and a token.

use std::time::Duration;

use quay_ports::storage::StorageError;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

/// A token for the account's storage URL.
#[derive(Clone)]
pub struct Session {
    /// `…/v1/AUTH_<account>`.
    pub storage_url: String,
    /// `X-Auth-Token` value.
    pub token: SecretString,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("storage_url", &self.storage_url)
            .finish_non_exhaustive()
    }
}

/// What to authenticate with.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `auth_url`.
    pub auth_url: String,
    /// `swift_user` (v2: `tenant:user` accepted as swiftclient does).
    pub user: String,
    /// `swift_password`.
    pub password: SecretString,
    /// 1, 2 or 3 (Quay's default is 2).
    pub version: u8,
    /// `os_options` (`tenant_name`, `project_name`, `user_domain_name`, `region_name`, …).
    pub os_options: serde_json::Map<String, Value>,
}

fn err(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StorageError {
    StorageError::unavailable("auth", "", e)
}

/// Authenticates and returns the storage URL and token.
///
/// # Errors
/// `Unavailable` when the auth service is unreachable or refuses the credentials.
pub async fn authenticate(
    client: &reqwest::Client,
    cfg: &AuthConfig,
) -> Result<Session, StorageError> {
    match cfg.version {
        1 => v1(client, cfg).await,
        2 => v2(client, cfg).await,
        _ => v3(client, cfg).await,
    }
}

async fn v1(client: &reqwest::Client, cfg: &AuthConfig) -> Result<Session, StorageError> {
    let resp = client
        .get(&cfg.auth_url)
        .header("x-auth-user", &cfg.user)
        .header("x-auth-key", cfg.password.expose_secret())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(err)?;
    if !resp.status().is_success() {
        return Err(err(format!("Swift v1 auth answered {}", resp.status())));
    }
    let h = resp.headers();
    let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    match (get("x-storage-url"), get("x-auth-token")) {
        (Some(url), Some(token)) => Ok(Session {
            storage_url: url,
            token: token.into(),
        }),
        _ => Err(err(
            "Swift v1 auth reply lacks X-Storage-Url or X-Auth-Token",
        )),
    }
}

fn opt<'a>(cfg: &'a AuthConfig, key: &str) -> Option<&'a str> {
    cfg.os_options.get(key).and_then(Value::as_str)
}

/// `(tenant, user)`: with no `tenant_name` option, swiftclient reads `tenant:user` from the user.
fn tenant_and_user(cfg: &AuthConfig) -> (Option<String>, String) {
    match (opt(cfg, "tenant_name"), cfg.user.split_once(':')) {
        (Some(t), _) => (Some(t.to_string()), cfg.user.clone()),
        (None, Some((t, u))) => (Some(t.to_string()), u.to_string()),
        (None, None) => (None, cfg.user.clone()),
    }
}

/// A domain reference from `<prefix>_domain_id` or `<prefix>_domain_name` (Keystone's default
/// domain when neither is set).
fn domain(cfg: &AuthConfig, prefix: &str) -> Value {
    if let Some(id) = opt(cfg, &format!("{prefix}_domain_id")) {
        json!({ "id": id })
    } else if let Some(name) = opt(cfg, &format!("{prefix}_domain_name")) {
        json!({ "name": name })
    } else {
        json!({ "id": "default" })
    }
}

/// The v3 password request keystoneclient builds from swiftclient's `os_options`.
fn v3_request(cfg: &AuthConfig) -> Value {
    let (tenant, user) = tenant_and_user(cfg);
    let password = cfg.password.expose_secret();
    let user = match opt(cfg, "user_id") {
        Some(id) => json!({"id": id, "password": password}),
        None => json!({"name": user, "password": password, "domain": domain(cfg, "user")}),
    };
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {
        "user": user,
    }}}});
    let project_id = opt(cfg, "project_id").or_else(|| opt(cfg, "tenant_id"));
    let project_name = opt(cfg, "project_name").map(str::to_string).or(tenant);
    if let Some(id) = project_id {
        body["auth"]["scope"] = json!({"project": {"id": id}});
    } else if let Some(name) = project_name {
        body["auth"]["scope"] = json!({"project": {
            "name": name, "domain": domain(cfg, "project"),
        }});
    }
    body
}

fn endpoint_from_catalog(catalog: &[Value], cfg: &AuthConfig, url_key: &str) -> Option<String> {
    let region = opt(cfg, "region_name");
    let interface = opt(cfg, "endpoint_type").unwrap_or("publicURL");
    catalog
        .iter()
        .filter(|s| s["type"] == opt(cfg, "service_type").unwrap_or("object-store"))
        .flat_map(|s| s["endpoints"].as_array().cloned().unwrap_or_default())
        .find(|e| {
            region.is_none_or(|r| e["region"] == r || e["region_id"] == r)
                && (url_key != "url" || e["interface"] == interface.trim_end_matches("URL"))
        })
        .and_then(|e| {
            let key = if url_key == "url" { "url" } else { interface };
            e[key].as_str().map(str::to_string)
        })
}

async fn v2(client: &reqwest::Client, cfg: &AuthConfig) -> Result<Session, StorageError> {
    let (tenant, user) = tenant_and_user(cfg);
    let mut body = json!({"auth": {
        "passwordCredentials": {"username": user, "password": cfg.password.expose_secret()},
    }});
    if let Some(t) = tenant {
        body["auth"]["tenantName"] = json!(t);
    } else if let Some(id) = opt(cfg, "tenant_id") {
        body["auth"]["tenantId"] = json!(id);
    }
    let url = format!("{}/tokens", cfg.auth_url.trim_end_matches('/'));
    let resp = client.post(url).json(&body).send().await.map_err(err)?;
    if !resp.status().is_success() {
        return Err(err(format!("Keystone v2 auth answered {}", resp.status())));
    }
    let v: Value = resp.json().await.map_err(err)?;
    let token = v["access"]["token"]["id"]
        .as_str()
        .ok_or_else(|| err("no token"))?;
    let catalog = v["access"]["serviceCatalog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let storage_url = opt(cfg, "object_storage_url")
        .map(str::to_string)
        .or_else(|| endpoint_from_catalog(&catalog, cfg, "publicURL"))
        .ok_or_else(|| err("no object-store endpoint in the Keystone catalog"))?;
    Ok(Session {
        storage_url,
        token: token.to_string().into(),
    })
}

async fn v3(client: &reqwest::Client, cfg: &AuthConfig) -> Result<Session, StorageError> {
    let body = v3_request(cfg);
    let base = cfg.auth_url.trim_end_matches('/');
    let mut resp = client
        .post(format!("{base}/auth/tokens"))
        .json(&body)
        .send()
        .await
        .map_err(err)?;
    // An unversioned auth_url (`http://keystone:5000`): the v3 API lives under `/v3`.
    if resp.status() == StatusCode::NOT_FOUND && !base.ends_with("/v3") {
        resp = client
            .post(format!("{base}/v3/auth/tokens"))
            .json(&body)
            .send()
            .await
            .map_err(err)?;
    }
    if resp.status() != StatusCode::CREATED && !resp.status().is_success() {
        return Err(err(format!("Keystone v3 auth answered {}", resp.status())));
    }
    let token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .ok_or_else(|| err("no X-Subject-Token"))?;
    let v: Value = resp.json().await.map_err(err)?;
    let catalog = v["token"]["catalog"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let storage_url = opt(cfg, "object_storage_url")
        .map(str::to_string)
        .or_else(|| endpoint_from_catalog(&catalog, cfg, "url"))
        .ok_or_else(|| err("no object-store endpoint in the Keystone catalog"))?;
    Ok(Session {
        storage_url,
        token: token.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(user: &str, options: Value) -> AuthConfig {
        AuthConfig {
            auth_url: "http://keystone/v3".into(),
            user: user.into(),
            password: "pw".to_string().into(),
            version: 3,
            os_options: options.as_object().cloned().unwrap_or_default(),
        }
    }

    #[test]
    fn v3_requests_follow_swiftclient_options() {
        let body = v3_request(&cfg(
            "quay",
            json!({"project_name": "p", "user_domain_name": "D1", "project_domain_id": "d2"}),
        ));
        assert_eq!(
            body,
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "quay", "password": "pw", "domain": {"name": "D1"}}}},
                "scope": {"project": {"name": "p", "domain": {"id": "d2"}}}}})
        );
        // `tenant:user` without tenant_name; the default domain by id.
        let body = v3_request(&cfg("t:u", json!({})));
        assert_eq!(body["auth"]["identity"]["password"]["user"]["name"], "u");
        assert_eq!(
            body["auth"]["identity"]["password"]["user"]["domain"],
            json!({"id": "default"})
        );
        assert_eq!(body["auth"]["scope"]["project"]["name"], "t");
        // Ids win over names.
        let body = v3_request(&cfg(
            "t:u",
            json!({"user_id": "uid", "project_id": "pid", "tenant_name": "x"}),
        ));
        assert_eq!(
            body["auth"]["identity"]["password"]["user"],
            json!({"id": "uid", "password": "pw"})
        );
        assert_eq!(body["auth"]["scope"], json!({"project": {"id": "pid"}}));
        // A tenant_name keeps a `:` in the user name.
        assert_eq!(
            tenant_and_user(&cfg("a:b", json!({"tenant_name": "t"}))),
            (Some("t".into()), "a:b".into())
        );
    }
}
