//! `GET /v2/auth`: Quay's `generate_registry_jwt` — checks basic credentials, downscopes each
//! requested scope to what the caller may do, and signs the token.

use quay_domain::name::{NamespaceName, RepositoryNameRules};
use quay_domain::permission::{Role, TeamRole, effective_repository_role};
use quay_domain::registry_access::{RepositoryFacts, ScopeFacts, granted_actions};
use quay_domain::registry_error::{ErrorKind, RegistryError};
use quay_domain::repository::RepositoryState;
use quay_domain::scope::{RepositoryScope, ScopeAction, ScopeError, parse_scope};
use quay_domain::user::{Account, AccountKind};
use quay_ports::crypto::{JsonValue, RegistryTokenRequest};
use quay_ports::store::Consistency;

use super::basic::{BasicOutcome, BoxError, Limits, Principal, parse_basic};
use super::{ANONYMOUS_SUBJECT, RegistryAuth, RequestOrigin, TOKEN_LIFETIME_S};

/// TUF root of every scope: signing (`FEATURE_SIGNING`) is not supported, so always disabled.
const DISABLED_TUF_ROOT: &str = "$disabled";

/// The inputs of `GET /v2/auth`.
#[derive(Debug, Clone)]
pub struct TokenRequest<'a> {
    /// The `Authorization` header, if sent.
    pub authorization: Option<&'a str>,
    /// The `service` query parameter (the token's audience).
    pub service: Option<&'a str>,
    /// Every `scope` query parameter, in order.
    pub scopes: Vec<String>,
    /// The request's host and scheme.
    pub origin: RequestOrigin<'a>,
    /// The client's address (the action log's `ip`).
    pub ip: Option<&'a str>,
    /// The `User-Agent` (the action log's `useragent`).
    pub user_agent: &'a str,
}

/// A signed token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWT.
    pub token: String,
}

/// Why no token was issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// A `/v2` error with Quay's code, status and message; a 401 needs the challenge headers.
    #[error("{0}")]
    Registry(RegistryError),
    /// `FEATURE_ANONYMOUS_ACCESS` is off and no valid credentials were sent: Quay's
    /// `abort(401, message="Anonymous access is not allowed")`.
    #[error("Anonymous access is not allowed")]
    AnonymousNotAllowed,
    /// The user is inside the failed-login backoff window: Quay's 429 with `Retry-After`.
    #[error("Too many login attempts.")]
    TooManyLoginAttempts {
        /// `Retry-After`, in whole seconds.
        retry_after_s: i64,
    },
    /// The database or the signer failed.
    #[error("token issuing failed")]
    Backend(#[source] BoxError),
}

impl From<RegistryError> for IssueError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(e)
    }
}

fn registry(kind: ErrorKind, message: impl Into<String>) -> IssueError {
    IssueError::Registry(RegistryError::new(kind).with_message(message))
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> IssueError {
    IssueError::Backend(Box::new(e))
}

/// One granted scope.
struct Granted {
    scope: RepositoryScope,
    actions: Vec<ScopeAction>,
}

impl RegistryAuth {
    /// Issues a registry token (`GET /v2/auth`).
    ///
    /// # Errors
    /// See [`IssueError`]; each variant is one of Quay's responses.
    #[tracing::instrument(skip_all, fields(scopes = request.scopes.len()))]
    pub async fn issue_token(&self, request: TokenRequest<'_>) -> Result<IssuedToken, IssueError> {
        let header = request.authorization.unwrap_or_default();
        let credentials_sent = !header.is_empty();
        let mut failure: Option<Option<String>> = None;
        let mut principal = None;
        if credentials_sent {
            match parse_basic(header) {
                None => failure = Some(None),
                Some((user, password)) => {
                    match self
                        .check_basic(&user, &password, &request.origin)
                        .await
                        .map_err(IssueError::Backend)?
                    {
                        BasicOutcome::Valid(p) => principal = Some(*p),
                        BasicOutcome::Invalid(message) => failure = Some(message),
                        BasicOutcome::Throttled { retry_after_s } => {
                            return Err(IssueError::TooManyLoginAttempts { retry_after_s });
                        }
                    }
                }
            }
        }
        if principal.is_none() && !self.settings.anonymous_access {
            return Err(IssueError::AnonymousNotAllowed);
        }
        if let Some(message) = failure {
            let mut error = RegistryError::new(ErrorKind::InvalidLogin);
            if let Some(message) = message {
                error = error.with_message(message);
            }
            return Err(error.into());
        }
        let authenticated = principal.is_some();
        if !authenticated && request.scopes.is_empty() {
            return Err(RegistryError::new(ErrorKind::Unauthorized).into());
        }
        let mut granted = Vec::new();
        for scope in &request.scopes {
            if scope.is_empty() {
                if !authenticated {
                    return Err(RegistryError::new(ErrorKind::Unauthorized).into());
                }
                continue;
            }
            granted.push(
                self.downscope(scope, principal.as_ref(), &request.origin)
                    .await?,
            );
        }
        let audience = request
            .service
            .map_or_else(|| self.hostname(&request.origin).to_owned(), str::to_owned);
        let token = self.sign(principal.as_ref(), &granted, audience)?;
        if request.scopes.is_empty()
            && self.settings.audit_logins
            && let Some(p) = &principal
        {
            self.audit_login(p, request.ip, request.user_agent).await;
        }
        if let Some(p) = &principal {
            tracing::info!(account.name = %p.subject(), entity.kind = p.kind.as_str(), "registry token issued");
        }
        Ok(IssuedToken { token })
    }

    fn sign(
        &self,
        principal: Option<&Principal>,
        granted: &[Granted],
        audience: String,
    ) -> Result<String, IssueError> {
        let access = granted
            .iter()
            .map(|g| {
                JsonValue::object([
                    ("type", JsonValue::str("repository")),
                    ("name", JsonValue::str(g.scope.registry_and_repo.clone())),
                    (
                        "actions",
                        JsonValue::Array(
                            g.actions
                                .iter()
                                .map(|a| JsonValue::str(a.as_str()))
                                .collect(),
                        ),
                    ),
                ])
            })
            .collect();
        // Python dict semantics: a repeated repository keeps its first position.
        let mut roots: Vec<(String, JsonValue)> = Vec::new();
        for g in granted {
            let name = g.scope.full_name();
            if !roots.iter().any(|(k, _)| *k == name) {
                roots.push((name, JsonValue::str(DISABLED_TUF_ROOT)));
            }
        }
        let mut context = principal.map(|p| p.context.clone()).unwrap_or_default();
        context.push(("com.apostille.roots".into(), JsonValue::Object(roots)));
        context.push((
            "com.apostille.root".into(),
            JsonValue::str(DISABLED_TUF_ROOT),
        ));
        let subject = principal.map_or_else(|| ANONYMOUS_SUBJECT.to_owned(), Principal::subject);
        let request = RegistryTokenRequest {
            audience,
            subject,
            access: JsonValue::Array(access),
            context: JsonValue::Object(context),
            lifetime_s: TOKEN_LIFETIME_S,
        };
        let now = self.ports.clock.now().timestamp();
        self.keyring.signer().sign(&request, now).map_err(backend)
    }

    async fn downscope(
        &self,
        scope_text: &str,
        principal: Option<&Principal>,
        origin: &RequestOrigin<'_>,
    ) -> Result<Granted, IssueError> {
        let rules = if self.settings.extended_repository_names {
            RepositoryNameRules::Extended
        } else {
            RepositoryNameRules::Standard
        };
        let hostname = self.hostname(origin);
        let scope = parse_scope(
            scope_text,
            hostname,
            &self.settings.library_namespace,
            rules,
        )
        .map_err(|e| match e {
            ScopeError::Undecodable(_) => registry(ErrorKind::InvalidRequest, e.to_string()),
            ScopeError::InvalidName(m) => registry(ErrorKind::NameInvalid, m),
        })?;
        let namespace = match NamespaceName::parse(&scope.namespace) {
            Ok(name) => self
                .ports
                .users
                .find_namespace(&name)
                .await
                .map_err(backend)?,
            Err(_) => None,
        };
        if namespace.as_ref().is_some_and(|n| !n.enabled) {
            return Err(registry(
                ErrorKind::NamespaceDisabled,
                format!(
                    "Namespace {} has been disabled. Please contact a system administrator.",
                    scope.namespace
                ),
            ));
        }
        let repository = match &namespace {
            Some(ns) => {
                let name = ns
                    .namespace_name()
                    .ok_or_else(|| IssueError::Backend("namespace without a valid name".into()))?;
                self.ports
                    .repositories
                    .find_repository(&name, &scope.repository)
                    .await
                    .map_err(backend)?
            }
            None => None,
        };
        if repository
            .as_ref()
            .is_some_and(|r| r.state == RepositoryState::MarkedForDeletion)
        {
            return Err(registry(ErrorKind::NameUnknown, "Unknown repository"));
        }
        let account = principal.and_then(|p| p.account.as_ref());
        let superuser_scope = principal.is_some_and(|p| match p.limits {
            Limits::Full => true,
            Limits::OAuth { superuser, .. } => superuser,
            Limits::Repository { .. } => false,
        });
        let superuser = superuser_scope && account.is_some_and(|a| self.is_superuser(a));
        let readonly_superuser = account.is_some_and(|a| {
            self.settings
                .global_readonly_super_users
                .contains(&a.username)
        });
        let (role, can_create) = self
            .role_and_creation(principal, namespace.as_ref(), repository.as_ref(), &scope)
            .await?;
        let caller_is_mirror_robot = self
            .is_mirror_robot(account, repository.as_ref(), &scope)
            .await?;
        let facts = ScopeFacts {
            authenticated: principal.is_some(),
            namespace_exists: namespace.is_some(),
            create_namespace_on_push: self.settings.create_namespace_on_push,
            repository: repository.as_ref().map(|r| RepositoryFacts {
                visibility: r.visibility,
                kind: r.kind,
                state: r.state,
                caller_is_mirror_robot,
            }),
            role,
            can_create_repository: can_create
                || (superuser && !readonly_superuser && self.settings.superusers_full_access),
            superuser_full_access: superuser
                && !readonly_superuser
                && self.settings.superusers_full_access,
            global_readonly_superuser: readonly_superuser,
        };
        let actions = granted_actions(&scope.actions, &facts)
            .map_err(|e| registry(ErrorKind::Unsupported, e.to_string()))?;
        Ok(Granted { scope, actions })
    }

    /// Whether `account` is the robot allowed to push into a `MIRROR` (its `repomirrorconfig`
    /// robot) or `ORG_MIRROR` (its organization mirror's robot) repository; looked up only when
    /// a push is requested there.
    async fn is_mirror_robot(
        &self,
        account: Option<&Account>,
        repository: Option<&quay_domain::repository::Repository>,
        scope: &RepositoryScope,
    ) -> Result<bool, IssueError> {
        let (Some(account), Some(repo)) = (account, repository) else {
            return Ok(false);
        };
        if !scope
            .actions
            .contains(&quay_domain::scope::ScopeAction::Push)
            || !matches!(
                repo.state,
                RepositoryState::Mirror | RepositoryState::OrgMirror
            )
        {
            return Ok(false);
        }
        let robot = self
            .ports
            .repositories
            .mirror_robot(repo.id, repo.state)
            .await
            .map_err(backend)?;
        if robot.is_none() && repo.state == RepositoryState::Mirror {
            tracing::error!(
                repo.name = %repo.full_name(),
                "repository is in MIRROR state but has no mirror configuration"
            );
        }
        Ok(robot == Some(account.id))
    }

    fn is_superuser(&self, account: &Account) -> bool {
        account.kind == AccountKind::User && self.settings.super_users.contains(&account.username)
    }

    /// The caller's role on the repository (namespace-wide for a missing one) and whether it may
    /// create the missing repository, within the credential's limits.
    async fn role_and_creation(
        &self,
        principal: Option<&Principal>,
        namespace: Option<&Account>,
        repository: Option<&quay_domain::repository::Repository>,
        scope: &RepositoryScope,
    ) -> Result<(Option<Role>, bool), IssueError> {
        let Some(principal) = principal else {
            return Ok((None, false));
        };
        let (repo_cap, team_cap) = match &principal.limits {
            Limits::Full => (Some(Role::Admin), Some(TeamRole::Admin)),
            Limits::OAuth {
                repo_cap, team_cap, ..
            } => (*repo_cap, *team_cap),
            Limits::Repository {
                repository: id,
                role,
            } => {
                let granted = repository.filter(|r| r.id == *id).map(|_| *role);
                return Ok((granted, false));
            }
        };
        let Some(account) = principal.account.as_ref() else {
            return Ok((None, false));
        };
        let (role, team_role) = self
            .uncapped_roles(account, namespace, repository, scope)
            .await?;
        let role = role.min(repo_cap);
        // Restricted users never create repositories in their own namespace.
        let restricted_here =
            self.is_restricted_user(&account.username) && account.username == scope.namespace;
        let can_create = repository.is_none()
            && !restricted_here
            && team_role
                .min(team_cap)
                .is_some_and(|r| r >= TeamRole::Creator);
        Ok((role, can_create))
    }

    /// The account's role on the repository (or namespace-wide for a missing one) and its
    /// organization role in the namespace.
    async fn uncapped_roles(
        &self,
        account: &Account,
        namespace: Option<&Account>,
        repository: Option<&quay_domain::repository::Repository>,
        scope: &RepositoryScope,
    ) -> Result<(Option<Role>, Option<TeamRole>), IssueError> {
        if let Some(repository) = repository {
            let consistency = if scope.requests(ScopeAction::Push) {
                Consistency::Primary
            } else {
                Consistency::AllowReplica
            };
            let grants = self
                .ports
                .permissions
                .repository_grants(account.id, repository.id, consistency)
                .await
                .map_err(backend)?;
            return Ok((
                effective_repository_role(account, repository, &grants),
                None,
            ));
        }
        let Some(namespace) = namespace else {
            // CREATE_NAMESPACE_ON_PUSH: the pusher becomes the new organization's admin.
            let creatable = self.settings.create_namespace_on_push
                && account.kind == AccountKind::User
                && !self.is_restricted_user(&account.username)
                && NamespaceName::parse_new(&scope.namespace).is_ok();
            return Ok(if creatable {
                (Some(Role::Admin), Some(TeamRole::Admin))
            } else {
                (None, None)
            });
        };
        if account.kind == AccountKind::User && namespace.id == account.id {
            return Ok((Some(Role::Admin), Some(TeamRole::Admin)));
        }
        if namespace.kind != AccountKind::Organization {
            return Ok((None, None));
        }
        let roles = self
            .ports
            .credentials
            .namespace_team_roles(account.id, namespace.id)
            .await
            .map_err(backend)?;
        let team_role = roles.iter().copied().max();
        let role = (team_role == Some(TeamRole::Admin)).then_some(Role::Admin);
        Ok((role, team_role))
    }
}
