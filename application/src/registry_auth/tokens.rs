//! Token credentials at `/v2/auth` (Quay's `auth/credentials.py`): app-specific tokens (`$app`),
//! repository access tokens (`$token`) and OAuth access tokens (`$oauthtoken`).

use quay_domain::permission::{Role, TeamRole};
use quay_ports::crypto::JsonValue;
use secrecy::{ExposeSecret as _, SecretString};

use super::RegistryAuth;
use super::basic::{BasicOutcome, BoxError, DISABLED_USER, Limits, Principal};
use super::identity::EntityKind;

/// Length of an access token's name prefix (`ACCESS_TOKEN_NAME_PREFIX_LENGTH`).
const ACCESS_TOKEN_NAME_LENGTH: usize = 32;
/// Length of an OAuth token's name prefix (`ACCESS_TOKEN_PREFIX_LENGTH`).
const OAUTH_TOKEN_NAME_LENGTH: usize = 20;
/// Length of an app-specific token's name prefix (`TOKEN_NAME_PREFIX_LENGTH`).
const APP_TOKEN_NAME_LENGTH: usize = 60;

/// Quay's `SCOPE_MAX_REPO_ROLES` / `SCOPE_MAX_TEAM_ROLES` for an OAuth scope string.
pub(crate) fn oauth_limits(scope: &str) -> Limits {
    let mut repo_cap: Option<Role> = None;
    let mut team_cap: Option<TeamRole> = None;
    let mut superuser = false;
    for s in scope.split([' ', ',']) {
        let (repo, team) = match s {
            "repo:read" => (Some(Role::Read), None),
            "repo:write" => (Some(Role::Write), None),
            "repo:admin" => (Some(Role::Admin), None),
            "repo:create" => (None, Some(TeamRole::Creator)),
            "org:admin" => (None, Some(TeamRole::Admin)),
            "direct_user_login" => {
                superuser = true;
                (Some(Role::Admin), Some(TeamRole::Admin))
            }
            "super:user" => {
                superuser = true;
                (None, None)
            }
            _ => (None, None),
        };
        repo_cap = repo_cap.max(repo);
        team_cap = team_cap.max(team);
    }
    Limits::OAuth {
        repo_cap,
        team_cap,
        superuser,
    }
}

/// Splits after `n` characters (Python slicing); `None` when there are fewer.
fn split_at_chars(text: &str, n: usize) -> Option<(&str, &str)> {
    if n == 0 {
        return Some(("", text));
    }
    let (at, _) = text.char_indices().nth(n - 1)?;
    let end = at + text[at..].chars().next()?.len_utf8();
    Some(text.split_at(end))
}

impl RegistryAuth {
    /// `$app`: Quay's `access_valid_token` (name = first 60 characters, the rest must equal the
    /// decrypted `token_secret`, unexpired, owner enabled).
    pub(crate) async fn check_app_token(&self, code: &str) -> Result<BasicOutcome, BoxError> {
        let invalid = || Ok(BasicOutcome::Invalid(Some("Invalid token".into())));
        let chars: Vec<char> = code.chars().filter(char::is_ascii).collect();
        if chars.len() < APP_TOKEN_NAME_LENGTH {
            return invalid();
        }
        let prefix: String = chars[..APP_TOKEN_NAME_LENGTH].iter().collect();
        let suffix: String = chars[APP_TOKEN_NAME_LENGTH..].iter().collect();
        let now = self.ports.clock.now();
        let credentials = &self.ports.credentials;
        let Some(token) = credentials.find_app_token(&prefix, now).await? else {
            return invalid();
        };
        let matches = self
            .ports
            .cipher
            .decrypt(&token.encrypted_secret)
            .is_ok_and(|secret| secret.expose_secret() == suffix);
        if !matches {
            return invalid();
        }
        credentials.touch_app_token(token.id, now).await?;
        let Some(owner) = credentials.find_account(token.user_id).await? else {
            return invalid();
        };
        if !owner.enabled {
            return Ok(BasicOutcome::Invalid(Some(DISABLED_USER.into())));
        }
        let mut principal = Principal::of_account(owner, EntityKind::AppSpecificToken, token.uuid);
        principal.title = Some(token.title);
        Ok(BasicOutcome::Valid(Box::new(principal)))
    }

    /// `$token`: Quay's `load_token_data` (name = first 32 characters, the rest must equal the
    /// decrypted `token_code`).
    pub(crate) async fn check_access_token(&self, code: &str) -> Result<BasicOutcome, BoxError> {
        let invalid = || Ok(BasicOutcome::Invalid(Some("Invalid access token".into())));
        let Some((name, rest)) = split_at_chars(code, ACCESS_TOKEN_NAME_LENGTH) else {
            return invalid();
        };
        if name.is_empty() || rest.is_empty() {
            return invalid();
        }
        let Some(token) = self.ports.credentials.find_access_token(name).await? else {
            return invalid();
        };
        let matches = self
            .ports
            .cipher
            .decrypt(&token.encrypted_code)
            .is_ok_and(|c| c.expose_secret() == rest);
        if !matches {
            return invalid();
        }
        let context = vec![
            ("version".into(), JsonValue::Int(2)),
            (
                "entity_kind".into(),
                JsonValue::str(EntityKind::Token.as_str()),
            ),
            ("entity_reference".into(), JsonValue::str(code)),
            ("kind".into(), JsonValue::str("token")),
            ("token".into(), JsonValue::str(code)),
        ];
        Ok(BasicOutcome::Valid(Box::new(Principal {
            account: None,
            kind: EntityKind::Token,
            context,
            limits: Limits::Repository {
                repository: token.repository_id,
                role: token.role,
            },
            title: None,
        })))
    }

    /// `$oauthtoken`: Quay's `validate_app_oauth_token` (name = first 20 characters, the rest
    /// checked against the bcrypt `token_code`, then expiry and the user).
    pub(crate) async fn check_oauth_token(&self, code: &str) -> Result<BasicOutcome, BoxError> {
        let invalid = |m: &str| Ok(BasicOutcome::Invalid(Some(m.to_owned())));
        let not_validated = "OAuth access token could not be validated";
        let Some((name, rest)) = split_at_chars(code, OAUTH_TOKEN_NAME_LENGTH) else {
            return invalid(not_validated);
        };
        if name.is_empty() || rest.is_empty() {
            return invalid(not_validated);
        }
        let credentials = &self.ports.credentials;
        let Some(token) = credentials.find_oauth_token(name).await? else {
            return invalid(not_validated);
        };
        let secret = SecretString::from(rest.to_owned());
        if !self
            .ports
            .hasher
            .verify(&secret, &token.code_hash)
            .unwrap_or(false)
        {
            return invalid(not_validated);
        }
        let now = self.ports.clock.now();
        if token.expires_at <= now {
            return invalid("OAuth access token has expired");
        }
        credentials.touch_oauth_token(token.id, now).await?;
        let Some(user) = credentials.find_account(token.authorized_user).await? else {
            return invalid(not_validated);
        };
        if !user.enabled {
            return Ok(BasicOutcome::Invalid(None));
        }
        let context = vec![
            ("version".into(), JsonValue::Int(2)),
            (
                "entity_kind".into(),
                JsonValue::str(EntityKind::OAuthToken.as_str()),
            ),
            (
                "entity_reference".into(),
                JsonValue::str(token.uuid.clone()),
            ),
            ("kind".into(), JsonValue::str("oauth")),
            ("oauth".into(), JsonValue::str(token.uuid)),
            ("user".into(), JsonValue::str(user.username.clone())),
        ];
        Ok(BasicOutcome::Valid(Box::new(Principal {
            account: Some(user),
            kind: EntityKind::OAuthToken,
            context,
            limits: oauth_limits(&token.scope),
            title: None,
        })))
    }
}
