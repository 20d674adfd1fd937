//! The providers that ask a service: STS web identity, container endpoint, instance metadata.

use std::time::Duration;

use quay_ports::storage::StorageError;
use reqwest::Method;
use secrecy::SecretString;

use super::files::Profiles;
use super::{AwsEnv, CredentialSource, Resolved, expand_home};
use crate::http;
use crate::s3::sigv4::Credentials;

/// AWS's global STS endpoint (botocore's `legacy` default).
pub const GLOBAL_STS_ENDPOINT: &str = "https://sts.amazonaws.com";
/// The ECS credentials host for `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`.
pub const ECS_HOST: &str = "http://169.254.170.2";
/// The instance metadata service.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// What `AssumeRoleWithWebIdentity` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WebIdentity {
    role_arn: String,
    token_file: String,
    session_name: Option<String>,
    region: Option<String>,
}

pub(super) fn web_identity_config(env: &AwsEnv, profile: &Profiles) -> Option<WebIdentity> {
    let region = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .or_else(|| profile.config_value("region"))
        .map(str::to_owned);
    if let (Some(role), Some(file)) = (
        env.get("AWS_ROLE_ARN"),
        env.get("AWS_WEB_IDENTITY_TOKEN_FILE"),
    ) {
        return Some(WebIdentity {
            role_arn: role.to_owned(),
            token_file: file.to_owned(),
            session_name: env.get("AWS_ROLE_SESSION_NAME").map(str::to_owned),
            region,
        });
    }
    match (
        profile.config_value("role_arn"),
        profile.config_value("web_identity_token_file"),
    ) {
        (Some(role), Some(file)) => Some(WebIdentity {
            role_arn: role.to_owned(),
            token_file: file.to_owned(),
            session_name: profile.config_value("role_session_name").map(str::to_owned),
            region,
        }),
        _ => None,
    }
}

fn sts_endpoint(env: &AwsEnv, region: Option<&str>) -> String {
    if let Some(url) = env
        .get("AWS_ENDPOINT_URL_STS")
        .or_else(|| env.get("AWS_ENDPOINT_URL"))
    {
        return url.to_owned();
    }
    match (env.get("AWS_STS_REGIONAL_ENDPOINTS"), region) {
        (Some("regional"), Some(r)) => format!("https://sts.{r}.amazonaws.com"),
        _ => GLOBAL_STS_ENDPOINT.to_owned(),
    }
}

fn unavailable(op: &'static str, msg: String) -> StorageError {
    StorageError::unavailable(op, "", std::io::Error::other(msg))
}

fn expiry(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp())
}

pub(super) async fn assume_role_with_web_identity(
    client: &reqwest::Client,
    env: &AwsEnv,
    w: &WebIdentity,
    now: i64,
) -> Result<Resolved, StorageError> {
    const OP: &str = "assume_role_with_web_identity";
    let path = expand_home(&w.token_file, env.home.as_ref());
    let token = std::fs::read_to_string(&path)
        .map_err(|e| StorageError::backend(OP, path.display().to_string(), e))?;
    let session = w
        .session_name
        .clone()
        .unwrap_or_else(|| format!("botocore-session-{now}"));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("Action", "AssumeRoleWithWebIdentity")
        .append_pair("RoleArn", &w.role_arn)
        .append_pair("RoleSessionName", &session)
        .append_pair("WebIdentityToken", token.trim())
        .append_pair("Version", "2011-06-15")
        .finish();
    let endpoint = sts_endpoint(env, w.region.as_deref());
    let resp = http::send_idempotent(
        || {
            Ok(client
                .request(Method::POST, &endpoint)
                .timeout(Duration::from_secs(30))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone()))
        },
        OP,
        "",
    )
    .await?;
    if !resp.status().is_success() {
        let e = http::status_error(resp, OP, "").await;
        return Err(StorageError::unavailable(OP, "", e));
    }
    let text = resp
        .text()
        .await
        .map_err(|e| http::transport_error(e, OP, "", None))?;
    let field = |t: &str| {
        http::xml_value(&text, t).ok_or_else(|| unavailable(OP, format!("no {t} in the STS reply")))
    };
    Ok(Resolved {
        credentials: Credentials {
            access_key: field("AccessKeyId")?,
            secret_key: SecretString::from(field("SecretAccessKey")?),
            session_token: Some(SecretString::from(field("SessionToken")?)),
        },
        expires_unix: Some(expiry(&field("Expiration")?).unwrap_or(now + 900)),
        source: CredentialSource::WebIdentity,
    })
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonCredentials {
    access_key_id: String,
    secret_access_key: String,
    token: Option<String>,
    expiration: Option<String>,
}

impl JsonCredentials {
    fn resolved(self, source: CredentialSource) -> Resolved {
        Resolved {
            expires_unix: self.expiration.as_deref().and_then(expiry),
            credentials: Credentials {
                access_key: self.access_key_id,
                secret_key: SecretString::from(self.secret_access_key),
                session_token: self.token.map(SecretString::from),
            },
            source,
        }
    }
}

/// ECS/EKS container credentials, when the container variables are set.
pub(super) async fn container(
    client: &reqwest::Client,
    env: &AwsEnv,
) -> Result<Option<Resolved>, StorageError> {
    const OP: &str = "container_credentials";
    let url = match (
        env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("{ECS_HOST}{rel}"),
        (None, Some(full)) => full.to_owned(),
        (None, None) => return Ok(None),
    };
    let auth = match env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| StorageError::backend(OP, file.to_owned(), e))?
                .trim()
                .to_owned(),
        ),
        None => env
            .get("AWS_CONTAINER_AUTHORIZATION_TOKEN")
            .map(str::to_owned),
    };
    let resp = http::send_idempotent(
        || {
            let mut rb = client
                .request(Method::GET, &url)
                .timeout(Duration::from_secs(2));
            if let Some(a) = &auth {
                rb = rb.header("authorization", a.as_str());
            }
            Ok(rb)
        },
        OP,
        "",
    )
    .await?;
    if !resp.status().is_success() {
        let e = http::status_error(resp, OP, "").await;
        return Err(StorageError::unavailable(OP, "", e));
    }
    let creds: JsonCredentials = resp
        .json()
        .await
        .map_err(|e| unavailable(OP, format!("bad container credentials: {e}")))?;
    Ok(Some(creds.resolved(CredentialSource::Container)))
}

/// EC2 instance role credentials; `None` when the service is disabled or does not answer.
pub(super) async fn instance_metadata(
    client: &reqwest::Client,
    env: &AwsEnv,
) -> Result<Option<Resolved>, StorageError> {
    if env
        .get("AWS_EC2_METADATA_DISABLED")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return Ok(None);
    }
    let base = env
        .get("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        .unwrap_or(IMDS_ENDPOINT)
        .trim_end_matches('/')
        .to_owned();
    let timeout = Duration::from_secs(1);
    // IMDSv2 token; a refusal (403/404/405) means v1, no answer means not on EC2.
    let token = match client
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .timeout(timeout)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => r.text().await.ok(),
        Ok(r) if matches!(r.status().as_u16(), 403..=405) => None,
        Ok(r) => {
            tracing::debug!(status = %r.status(), "instance metadata token refused");
            return Ok(None);
        }
        Err(e) => {
            tracing::debug!(error = %e, "no instance metadata service");
            return Ok(None);
        }
    };
    let get = |path: String| {
        let mut rb = client.get(format!("{base}{path}")).timeout(timeout);
        if let Some(t) = &token {
            rb = rb.header("x-aws-ec2-metadata-token", t.as_str());
        }
        rb.send()
    };
    let role = match get("/latest/meta-data/iam/security-credentials/".into()).await {
        Ok(r) if r.status().is_success() => r.text().await.unwrap_or_default(),
        _ => return Ok(None),
    };
    let Some(role) = role.lines().next().map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    let resp = match get(format!("/latest/meta-data/iam/security-credentials/{role}")).await {
        Ok(r) if r.status().is_success() => r,
        _ => return Ok(None),
    };
    let creds: JsonCredentials = resp.json().await.map_err(|e| {
        unavailable(
            "instance_metadata",
            format!("bad instance credentials: {e}"),
        )
    })?;
    Ok(Some(creds.resolved(CredentialSource::InstanceMetadata)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sts_endpoint_like_botocore() {
        let env = |v: &[(&str, &str)]| AwsEnv::from_vars(v.iter().copied(), None);
        assert_eq!(
            sts_endpoint(&env(&[]), Some("eu-west-1")),
            GLOBAL_STS_ENDPOINT
        );
        assert_eq!(
            sts_endpoint(
                &env(&[("AWS_STS_REGIONAL_ENDPOINTS", "regional")]),
                Some("eu-west-1")
            ),
            "https://sts.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            sts_endpoint(
                &env(&[
                    ("AWS_ENDPOINT_URL", "http://a"),
                    ("AWS_ENDPOINT_URL_STS", "http://b")
                ]),
                None
            ),
            "http://b"
        );
    }
}
