//! The AWS default credential chain for S3-family locations configured without keys (Quay's
//! drivers then let boto3 find credentials). Providers, in boto3's order:
//! 1. environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`
//!    (or `AWS_SECURITY_TOKEN`);
//! 2. web identity: `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (`AWS_ROLE_SESSION_NAME`), or
//!    the profile's `role_arn` + `web_identity_token_file`, exchanged through STS
//!    `AssumeRoleWithWebIdentity` (unsigned) at `AWS_ENDPOINT_URL_STS`/`AWS_ENDPOINT_URL`, else
//!    the regional endpoint with `AWS_STS_REGIONAL_ENDPOINTS=regional`, else the global one;
//! 3. the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`), profile
//!    `AWS_PROFILE` (`AWS_DEFAULT_PROFILE`, `default`);
//! 4. the config file (`AWS_CONFIG_FILE`, `~/.aws/config`, sections `[default]`/`[profile x]`);
//! 5. container credentials (ECS/EKS pod identity): `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`
//!    under `http://169.254.170.2`, or `AWS_CONTAINER_CREDENTIALS_FULL_URI`, with
//!    `AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)`;
//! 6. the EC2 instance metadata service (IMDSv2 token, then v1 on refusal) at
//!    `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`), unless
//!    `AWS_EC2_METADATA_DISABLED=true`.
//!
//! Static credentials are kept; temporary ones are fetched again five minutes before they
//! expire. Profiles that assume a role from another profile (`source_profile`), SSO and
//! `credential_process` are not implemented: such a profile without keys is an error naming it.

mod files;
mod remote;

use std::collections::HashMap;
use std::path::PathBuf;

use quay_ports::storage::StorageError;
use tokio::sync::Mutex;

use crate::s3::sigv4::Credentials;

/// Seconds before expiry at which temporary credentials are fetched again.
const REFRESH_MARGIN_SECS: i64 = 300;

/// The environment the chain reads: variables and the home directory.
#[derive(Debug, Clone, Default)]
pub struct AwsEnv {
    vars: HashMap<String, String>,
    home: Option<PathBuf>,
}

impl AwsEnv {
    /// The process environment.
    pub fn from_process() -> Self {
        let vars: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_") || k == "HOME")
            .collect();
        let home = vars.get("HOME").map(PathBuf::from);
        Self { vars, home }
    }

    /// Given variables and home directory (tests, embedding).
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
        home: Option<PathBuf>,
    ) -> Self {
        Self {
            vars: vars
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            home,
        }
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn profile(&self) -> &str {
        self.get("AWS_PROFILE")
            .or_else(|| self.get("AWS_DEFAULT_PROFILE"))
            .unwrap_or("default")
    }

    fn file(&self, var: &str, default: &str) -> Option<PathBuf> {
        match self.get(var) {
            Some(p) => Some(expand_home(p, self.home.as_ref())),
            None => self.home.as_ref().map(|h| h.join(".aws").join(default)),
        }
    }
}

fn expand_home(path: &str, home: Option<&PathBuf>) -> PathBuf {
    match (path.strip_prefix("~/"), home) {
        (Some(rest), Some(h)) => h.join(rest),
        _ => PathBuf::from(path),
    }
}

/// Which provider gave the credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// Environment variables.
    Environment,
    /// STS `AssumeRoleWithWebIdentity`.
    WebIdentity,
    /// The shared credentials file.
    SharedCredentialsFile,
    /// The config file.
    ConfigFile,
    /// The container credentials endpoint.
    Container,
    /// The EC2 instance metadata service.
    InstanceMetadata,
}

/// Credentials found by the chain; `expires_unix` for temporary ones.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The credentials.
    pub credentials: Credentials,
    /// When they expire.
    pub expires_unix: Option<i64>,
    /// Where they came from.
    pub source: CredentialSource,
}

/// The default chain, caching what it found.
#[derive(Debug)]
pub struct DefaultChain {
    env: AwsEnv,
    current: Mutex<Option<Resolved>>,
}

fn no_credentials(detail: String) -> StorageError {
    StorageError::unavailable(
        "aws_credentials",
        "",
        std::io::Error::other(format!(
            "no AWS credentials: {detail} (set s3_access_key/s3_secret_key, AWS_ACCESS_KEY_ID, \
             a web identity, a shared credentials profile, or run on ECS/EC2)"
        )),
    )
}

impl DefaultChain {
    /// A chain over `env`.
    pub fn new(env: AwsEnv) -> Self {
        Self {
            env,
            current: Mutex::new(None),
        }
    }

    /// The current credentials, resolving the chain when none are cached or the cached
    /// temporary ones are about to expire.
    ///
    /// # Errors
    /// `Unavailable` when no provider has credentials or a remote provider fails.
    pub async fn credentials(&self, client: &reqwest::Client) -> Result<Credentials, StorageError> {
        Ok(self.resolve(client).await?.credentials)
    }

    /// As [`Self::credentials`], with the expiry and source.
    ///
    /// # Errors
    /// As [`Self::credentials`].
    pub async fn resolve(&self, client: &reqwest::Client) -> Result<Resolved, StorageError> {
        let mut slot = self.current.lock().await;
        let now = crate::now_unix();
        if let Some(r) = slot.as_ref()
            && r.expires_unix
                .is_none_or(|exp| exp - REFRESH_MARGIN_SECS > now)
        {
            return Ok(r.clone());
        }
        let fresh = self.find(client, now).await?;
        tracing::debug!(source = ?fresh.source, access_key = %fresh.credentials.access_key, "AWS credentials resolved");
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    async fn find(&self, client: &reqwest::Client, now: i64) -> Result<Resolved, StorageError> {
        let env = &self.env;
        if let Some(c) = files::from_env(env) {
            return Ok(c);
        }
        let profile = files::Profiles::load(env)?;
        if let Some(w) = remote::web_identity_config(env, &profile) {
            return remote::assume_role_with_web_identity(client, env, &w, now).await;
        }
        if let Some(c) = profile.credentials()? {
            return Ok(c);
        }
        if let Some(c) = remote::container(client, env).await? {
            return Ok(c);
        }
        if let Some(c) = remote::instance_metadata(client, env).await? {
            return Ok(c);
        }
        Err(no_credentials(format!(
            "nothing found for profile `{}`",
            env.profile()
        )))
    }
}
