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
    let (tenant, user) = match cfg.user.split_once(':') {
        Some((t, u)) => (Some(t.to_string()), u.to_string()),
        None => (
            opt(cfg, "tenant_name").map(str::to_string),
            cfg.user.clone(),
        ),
    };
    let body = json!({"auth": {
        "passwordCredentials": {"username": user, "password": cfg.password.expose_secret()},
        "tenantName": tenant,
    }});
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
    let domain = |k: &str| opt(cfg, k).unwrap_or("Default").to_string();
    let mut body = json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": cfg.user, "password": cfg.password.expose_secret(),
        "domain": {"name": domain("user_domain_name")},
    }}}}});
    if let Some(project) = opt(cfg, "project_name").or_else(|| opt(cfg, "tenant_name")) {
        body["auth"]["scope"] = json!({"project": {
            "name": project, "domain": {"name": domain("project_domain_name")},
        }});
    } else if let Some(id) = opt(cfg, "project_id").or_else(|| opt(cfg, "tenant_id")) {
        body["auth"]["scope"] = json!({"project": {"id": id}});
    }
    let url = format!("{}/auth/tokens", cfg.auth_url.trim_end_matches('/'));
    let resp = client.post(url).json(&body).send().await.map_err(err)?;
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
