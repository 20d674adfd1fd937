//! Basic credentials at `/v2/auth` (Quay's `auth/basic.py` and `auth/credentials.py`): database
//! users (bcrypt, with the failed-login backoff of `verify_user`), robots (`ns+name` with the
//! 64-character token or a registry JWT); the token usernames (`$app`, `$token`, `$oauthtoken`)
//! are in `tokens`.

use chrono::{DateTime, Utc};
use quay_domain::permission::{Role, TeamRole};
use quay_domain::repository::RepositoryId;
use quay_domain::user::{Account, AccountKind};
use quay_ports::crypto::JsonValue;
use quay_ports::store::{BackendErrorKind, CredentialStoreError};
use secrecy::{ExposeSecret as _, SecretString};

use super::identity::EntityKind;
use super::{RegistryAuth, RequestOrigin};

/// `$token`: repository access tokens.
pub(crate) const ACCESS_TOKEN_USERNAME: &str = "$token";
/// `$app`: app-specific tokens.
pub(crate) const APP_SPECIFIC_TOKEN_USERNAME: &str = "$app";
/// `$oauthtoken`: OAuth access tokens.
pub(crate) const OAUTH_TOKEN_USERNAME: &str = "$oauthtoken";
/// Quay's `EXPONENTIAL_BACKOFF_SCALE`, in seconds.
const BACKOFF_SCALE_S: f64 = 1.0;

const INVALID_USER: &str = "Invalid Username or Password";
const ENCRYPTION_REQUIRED: &str = "Client login with unencrypted passwords is disabled. Please generate an encrypted password in the user admin panel for use here.";
pub(crate) const DISABLED_USER: &str =
    "This user has been disabled. Please contact your administrator.";

/// What a credential may do beyond its account's own rights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Limits {
    /// Everything the account may do (passwords, robot tokens, app-specific tokens).
    Full,
    /// An OAuth token: roles capped by its scopes (Quay's `SCOPE_MAX_*_ROLES`).
    OAuth {
        /// Highest repository role (`repo:read|write|admin`, `direct_user_login`).
        repo_cap: Option<Role>,
        /// Highest organization role (`repo:create` gives creator, `org:admin` admin).
        team_cap: Option<TeamRole>,
        /// `super:user` or `direct_user_login`: superuser rights apply.
        superuser: bool,
    },
    /// A repository access token: one role on one repository, nothing else.
    Repository {
        /// The repository.
        repository: RepositoryId,
        /// The role.
        role: Role,
    },
}

/// Who valid credentials belong to.
#[derive(Debug, Clone)]
pub(crate) struct Principal {
    /// The authenticated account (the owner for app-specific and OAuth tokens); `None` for a
    /// repository access token.
    pub(crate) account: Option<Account>,
    /// How it authenticated.
    pub(crate) kind: EntityKind,
    /// Quay's signed context (`to_signed_dict`), without the TUF claims.
    pub(crate) context: Vec<(String, JsonValue)>,
    /// Restrictions of the credential.
    pub(crate) limits: Limits,
    /// The app-specific token's title (for the action log).
    pub(crate) title: Option<String>,
}

impl Principal {
    /// A user, robot or app-specific token: full rights of `account`.
    pub(crate) fn of_account(account: Account, kind: EntityKind, reference: String) -> Self {
        let context = vec![
            ("version".into(), JsonValue::Int(2)),
            ("entity_kind".into(), JsonValue::str(kind.as_str())),
            ("entity_reference".into(), JsonValue::str(reference)),
            ("kind".into(), JsonValue::str("user")),
            ("user".into(), JsonValue::str(account.username.clone())),
        ];
        Self {
            account: Some(account),
            kind,
            context,
            limits: Limits::Full,
            title: None,
        }
    }

    /// The token's `sub`: the account's name, `(anonymous)` for repository access tokens.
    pub(crate) fn subject(&self) -> String {
        self.account.as_ref().map_or_else(
            || super::ANONYMOUS_SUBJECT.to_owned(),
            |a| a.username.clone(),
        )
    }
}

/// Outcome of checking a basic `Authorization` header.
#[derive(Debug)]
pub(crate) enum BasicOutcome {
    /// Valid credentials.
    Valid(Box<Principal>),
    /// Credentials were sent but are not valid; Quay's message when it has one.
    Invalid(Option<String>),
    /// The user is inside the failed-login backoff window (Quay's 429).
    Throttled {
        /// Seconds until the next attempt may succeed (Quay's `int(retry_after)`).
        retry_after_s: i64,
    },
}

/// Errors of infrastructure while checking credentials.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Python's `b64decode(s)`: characters outside the alphabet are dropped, and the rest (with
/// its `=` padding) must be a multiple of 4 long.
fn std_b64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(u32::from(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        }))
    };
    let kept: Vec<u8> = text
        .bytes()
        .filter(|c| *c == b'=' || value(*c).is_some())
        .collect();
    if !kept.len().is_multiple_of(4) {
        return None;
    }
    let data: Vec<u32> = kept
        .iter()
        .take_while(|c| **c != b'=')
        .filter_map(|c| value(*c))
        .collect();
    if data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for (i, v) in chunk.iter().enumerate() {
            acc |= v << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Quay's `_parse_basic_auth_header`: `(username, password)`, or `None` when the header is not
/// usable basic credentials.
pub(crate) fn parse_basic(header: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = header
        .split(' ')
        .filter(|p| !p.is_empty())
        .map(str::trim)
        .collect();
    let [scheme, encoded] = parts.as_slice() else {
        return None;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = std_b64_decode(encoded)?;
    let colon = decoded.iter().position(|b| *b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    let password = String::from_utf8(decoded[colon + 1..].to_vec()).ok()?;
    Some((user, password))
}

/// Quay ignores a read-only database when it counts logins (`except ReadOnlyModeException`).
fn tolerate_read_only(
    result: Result<(), CredentialStoreError>,
) -> Result<(), CredentialStoreError> {
    match result {
        Err(CredentialStoreError::Backend(e)) if e.kind() == BackendErrorKind::ReadOnly => Ok(()),
        other => other,
    }
}

/// Quay's `exponential_backoff`: the time a user with `attempts` failures may retry.
pub(crate) fn retry_at(attempts: i32, last_invalid_login: DateTime<Utc>) -> DateTime<Utc> {
    let backoff_s = 5.0 * (2f64.powi(attempts.clamp(0, 60)) - 1.0) * BACKOFF_SCALE_S / 10.0;
    #[expect(
        clippy::cast_possible_truncation,
        reason = "bounded by the clamp above"
    )]
    let micros = (backoff_s * 1_000_000.0) as i64;
    last_invalid_login + chrono::Duration::microseconds(micros)
}

impl RegistryAuth {
    /// Checks basic credentials (Quay's `validate_credentials`).
    pub(crate) async fn check_basic(
        &self,
        username: &str,
        password: &str,
        origin: &RequestOrigin<'_>,
    ) -> Result<BasicOutcome, BoxError> {
        match username {
            ACCESS_TOKEN_USERNAME => self.check_access_token(password).await,
            OAUTH_TOKEN_USERNAME => self.check_oauth_token(password).await,
            APP_SPECIFIC_TOKEN_USERNAME if self.settings.app_specific_tokens => {
                self.check_app_token(password).await
            }
            name if name.contains('+') => self.check_robot(name, password, origin).await,
            name => self.check_user(name, password).await,
        }
    }

    async fn check_user(&self, name: &str, typed: &str) -> Result<BasicOutcome, BoxError> {
        let invalid = || Ok(BasicOutcome::Invalid(Some(INVALID_USER.into())));
        let decrypted = self.ports.encrypted_passwords.decrypt(typed);
        if decrypted.is_none() && self.settings.require_encrypted_basic_auth {
            return Ok(BasicOutcome::Invalid(Some(ENCRYPTION_REQUIRED.into())));
        }
        let password = decrypted.unwrap_or_else(|| SecretString::from(typed.to_owned()));
        if !name.is_ascii() {
            return invalid();
        }
        let credentials = &self.ports.credentials;
        let Some(account) = credentials.find_login_account(name).await? else {
            return invalid();
        };
        let now = self.ports.clock.now();
        if account.invalid_login_attempts > 0 {
            let can_retry_at = retry_at(account.invalid_login_attempts, account.last_invalid_login);
            if can_retry_at > now {
                let retry_after_s = (can_retry_at - now).num_seconds();
                return Ok(BasicOutcome::Throttled { retry_after_s });
            }
        }
        let matches = match &account.password_hash {
            Some(hash) => self
                .ports
                .hasher
                .verify(&password, hash.expose())
                .unwrap_or(false),
            None => false,
        };
        if !matches {
            if !self.settings.read_only {
                tolerate_read_only(credentials.record_failed_login(account.id, now).await)?;
            }
            return invalid();
        }
        if account.invalid_login_attempts > 0 && !self.settings.read_only {
            tolerate_read_only(credentials.clear_failed_logins(account.id, now).await)?;
        }
        if !account.enabled {
            return Ok(BasicOutcome::Invalid(Some(DISABLED_USER.into())));
        }
        let reference = account.uuid.clone().unwrap_or_default();
        Ok(BasicOutcome::Valid(Box::new(Principal::of_account(
            account,
            EntityKind::User,
            reference,
        ))))
    }

    async fn check_robot(
        &self,
        name: &str,
        password: &str,
        origin: &RequestOrigin<'_>,
    ) -> Result<BasicOutcome, BoxError> {
        let invalid = |m: String| Ok(BasicOutcome::Invalid(Some(m)));
        let settings = &self.settings;
        if settings.robots_disallow && !settings.robots_whitelist.iter().any(|r| r == name) {
            return invalid(
                "Robot account have been disabled. Please contact your administrator.".into(),
            );
        }
        let no_match =
            || format!("Could not find robot with username: {name} and supplied password.");
        if !password.is_ascii() {
            return invalid(no_match());
        }
        let owner_name = name.split('+').next().unwrap_or_default();
        let credentials = &self.ports.credentials;
        let robot = match self.ports.users.find_by_username(name).await? {
            Some(a) if a.kind == AccountKind::Robot && name.is_ascii() => a,
            _ => return invalid("Could not find robot with specified username".into()),
        };
        let owner = match self.ports.users.find_by_username(owner_name).await? {
            Some(o) if o.kind != AccountKind::Robot => o,
            _ => return invalid(format!("Robot {name} owner does not exist")),
        };
        if !owner.enabled {
            return invalid(format!("Robot {name} owner {} is disabled", owner.username));
        }
        if super::malformed::is_jwt(password) {
            let audience = self.hostname(origin).to_owned();
            let now = self.ports.clock.now().timestamp();
            let verified = match self.keyring.verify(password, &audience, now).await {
                Ok(v) => v,
                Err(e) => return invalid(super::identity::refusal_message(password, e)),
            };
            if verified.claims.get("sub").and_then(JsonValue::as_str) != Some(name) {
                return invalid("Token does not match robot".into());
            }
        } else {
            let Some(stored) = credentials.robot_token(robot.id).await? else {
                return invalid(no_match());
            };
            let matches = self
                .ports
                .cipher
                .decrypt(&stored)
                .is_ok_and(|token| token.expose_secret() == password);
            if !matches {
                return invalid(no_match());
            }
        }
        credentials
            .touch_account(robot.id, self.ports.clock.now())
            .await?;
        if !robot.enabled {
            return Ok(BasicOutcome::Invalid(None));
        }
        let reference = robot.username.clone();
        Ok(BasicOutcome::Valid(Box::new(Principal::of_account(
            robot,
            EntityKind::Robot,
            reference,
        ))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic_headers() {
        assert_eq!(
            parse_basic("Basic dXNlcjE6cGFzc3dvcmQ="),
            Some(("user1".into(), "password".into()))
        );
        assert_eq!(
            parse_basic("basic   dGVzdG9yZytib3Q6YTpi"),
            Some(("testorg+bot".into(), "a:b".into()))
        );
        for bad in [
            "Basic",
            "Bearer x.y",
            "Basic !!!!",
            "Basic dXNlcjE=",
            "Basic a b",
        ] {
            assert_eq!(parse_basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_is_quays() {
        let t = DateTime::from_timestamp(1_000, 0).expect("valid");
        assert_eq!(retry_at(1, t), t + chrono::Duration::milliseconds(500));
        assert_eq!(retry_at(3, t), t + chrono::Duration::milliseconds(3500));
        assert_eq!(retry_at(0, t), t);
    }
}
