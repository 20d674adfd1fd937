//! The environment and shared-file providers of the chain.

use std::collections::HashMap;
use std::path::Path;

use quay_ports::storage::StorageError;
use secrecy::SecretString;

use super::{AwsEnv, CredentialSource, Resolved};
use crate::s3::sigv4::Credentials;

/// Credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (+ session token).
pub(super) fn from_env(env: &AwsEnv) -> Option<Resolved> {
    let access = env.get("AWS_ACCESS_KEY_ID")?;
    let secret = env.get("AWS_SECRET_ACCESS_KEY")?;
    let token = env
        .get("AWS_SESSION_TOKEN")
        .or_else(|| env.get("AWS_SECURITY_TOKEN"));
    Some(Resolved {
        credentials: Credentials {
            access_key: access.to_owned(),
            secret_key: SecretString::from(secret.to_owned()),
            session_token: token.map(|t| SecretString::from(t.to_owned())),
        },
        expires_unix: None,
        source: CredentialSource::Environment,
    })
}

/// One INI section: lowercase keys to values.
pub(super) type Section = HashMap<String, String>;

/// Parses an AWS INI file into sections (nested `key =` blocks are skipped).
pub(super) fn parse_ini(text: &str) -> HashMap<String, Section> {
    let mut out: HashMap<String, Section> = HashMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            continue; // a nested setting (e.g. `s3 =` sub-keys)
        }
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.trim().to_owned();
            out.entry(name.clone()).or_default();
            current = Some(name);
            continue;
        }
        if let (Some(section), Some((k, v))) = (&current, line.split_once('=')) {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    out
}

fn read_ini(path: Option<&Path>) -> Result<HashMap<String, Section>, StorageError> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_ini(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(HashMap::new()),
        Err(e) => Err(StorageError::backend(
            "aws_credentials",
            path.display().to_string(),
            e,
        )),
    }
}

/// The selected profile's sections of the credentials and config files.
#[derive(Debug, Default)]
pub(super) struct Profiles {
    pub(super) name: String,
    pub(super) explicit: bool,
    pub(super) credentials: Option<Section>,
    pub(super) config: Option<Section>,
}

impl Profiles {
    pub(super) fn load(env: &AwsEnv) -> Result<Self, StorageError> {
        let name = env.profile().to_owned();
        let explicit = env.get("AWS_PROFILE").is_some() || env.get("AWS_DEFAULT_PROFILE").is_some();
        let mut creds = read_ini(
            env.file("AWS_SHARED_CREDENTIALS_FILE", "credentials")
                .as_deref(),
        )?;
        let mut config = read_ini(env.file("AWS_CONFIG_FILE", "config").as_deref())?;
        let config_section = if name == "default" {
            config.remove("default")
        } else {
            config.remove(&format!("profile {name}"))
        };
        Ok(Self {
            credentials: creds.remove(&name),
            config: config_section,
            name,
            explicit,
        })
    }

    pub(super) fn config_value(&self, key: &str) -> Option<&str> {
        self.config
            .as_ref()
            .and_then(|s| s.get(key))
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Static keys of the credentials file, else of the config file.
    pub(super) fn credentials(&self) -> Result<Option<Resolved>, StorageError> {
        for (section, source) in [
            (&self.credentials, CredentialSource::SharedCredentialsFile),
            (&self.config, CredentialSource::ConfigFile),
        ] {
            let Some(s) = section else { continue };
            if let (Some(ak), Some(sk)) =
                (s.get("aws_access_key_id"), s.get("aws_secret_access_key"))
            {
                return Ok(Some(Resolved {
                    credentials: Credentials {
                        access_key: ak.clone(),
                        secret_key: SecretString::from(sk.clone()),
                        session_token: s
                            .get("aws_session_token")
                            .or_else(|| s.get("aws_security_token"))
                            .map(|t| SecretString::from(t.clone())),
                    },
                    expires_unix: None,
                    source,
                }));
            }
        }
        for key in [
            "source_profile",
            "credential_process",
            "sso_start_url",
            "sso_session",
        ] {
            if self.config_value(key).is_some() {
                return Err(StorageError::Unsupported(
                    "AWS profiles using source_profile, credential_process or SSO (quay-rs reads \
                     keys, web identity, container and instance credentials)",
                ));
            }
        }
        if self.explicit && self.credentials.is_none() && self.config.is_none() {
            return Err(super::no_credentials(format!(
                "the profile `{}` is in neither the credentials nor the config file",
                self.name
            )));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ini_sections_and_nested_keys() {
        let ini = parse_ini(
            "# comment\n[default]\naws_access_key_id = AKID\naws_secret_access_key=SECRET\n\
             s3 =\n  max_concurrent_requests = 2\n[profile dev]\nregion = eu-west-1\n",
        );
        assert_eq!(ini["default"]["aws_access_key_id"], "AKID");
        assert_eq!(ini["default"]["aws_secret_access_key"], "SECRET");
        assert!(!ini["default"].contains_key("max_concurrent_requests"));
        assert_eq!(ini["profile dev"]["region"], "eu-west-1");
    }
}
