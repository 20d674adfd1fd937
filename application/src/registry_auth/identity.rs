//! The identity a registry bearer token carries (Quay's `identity_from_bearer_token`).

use quay_domain::scope::split_namespace_repository;
use quay_ports::crypto::{JsonValue, TokenError};

use super::{ANONYMOUS_SUBJECT, RegistryAuthError};

/// Who a token was issued to (the `context.entity_kind` of Quay's version-2 contexts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityKind {
    /// No credentials.
    Anonymous,
    /// A database user.
    User,
    /// A robot account.
    Robot,
    /// A repository access token (`$token`).
    Token,
    /// An OAuth access token (`$oauthtoken`).
    OAuthToken,
    /// An app-specific token (`$app`).
    AppSpecificToken,
}

impl EntityKind {
    /// Quay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::User => "user",
            Self::Robot => "robot",
            Self::Token => "token",
            Self::OAuthToken => "oauthtoken",
            Self::AppSpecificToken => "appspecifictoken",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "anonymous" => Self::Anonymous,
            "user" => Self::User,
            "robot" => Self::Robot,
            "token" => Self::Token,
            "oauthtoken" | "oauth" => Self::OAuthToken,
            "appspecifictoken" => Self::AppSpecificToken,
            _ => return None,
        })
    }
}

/// A repository grant: 1 read, 2 write, 3 admin.
type Level = u8;

/// What a verified registry token (or its absence) allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryIdentity {
    /// The token's `sub`; `None` for anonymous (no token, or `sub` = `(anonymous)`).
    pub subject: Option<String>,
    /// The token's `access` grants as issued: `(name, actions)`, name as in the token
    /// (`ns/repo`, possibly with a host prefix).
    pub access: Vec<(String, Vec<String>)>,
    /// The entity the token was issued to (`context.entity_kind`, or the legacy `kind`).
    pub entity_kind: EntityKind,
    /// `context.entity_reference` (user UUID, robot name, token UUID), when present.
    pub entity_reference: Option<String>,
    /// Whether a token was presented at all.
    pub has_token: bool,
    grants: Vec<(String, Level)>,
    library_namespace: String,
}

impl RegistryIdentity {
    /// The identity of a request without a token.
    pub fn anonymous(library_namespace: &str) -> Self {
        Self {
            subject: None,
            access: Vec::new(),
            entity_kind: EntityKind::Anonymous,
            entity_reference: None,
            has_token: false,
            grants: Vec::new(),
            library_namespace: library_namespace.to_owned(),
        }
    }

    /// Whether no user, robot or token stands behind the request.
    pub fn is_anonymous(&self) -> bool {
        self.subject.is_none()
    }

    /// Whether the token grants `action` (`pull`, `push` or `*`) on `repository` (`ns/repo`;
    /// a single component means `LIBRARY_NAMESPACE/<name>`). `*` in the token grants all three,
    /// `push` grants push and pull, `pull` grants pull (Quay's admin/write/read grants).
    pub fn can(&self, repository: &str, action: &str) -> bool {
        let needed: Level = match action {
            "pull" => 1,
            "push" => 2,
            "*" => 3,
            _ => return false,
        };
        let wanted = normalize(repository, &self.library_namespace);
        self.grants
            .iter()
            .any(|(name, level)| *name == wanted && *level >= needed)
    }

    /// Builds the identity from verified claims.
    ///
    /// # Errors
    /// [`RegistryAuthError::InvalidToken`] when `access` breaks Quay's schema.
    pub(crate) fn from_claims(
        claims: &JsonValue,
        library_namespace: &str,
    ) -> Result<Self, RegistryAuthError> {
        let malformed = || RegistryAuthError::InvalidToken {
            message: "Token contained invalid or malformed access grants".into(),
        };
        let subject = claims
            .get("sub")
            .and_then(JsonValue::as_str)
            .map(str::to_owned);
        let mut access = Vec::new();
        let mut grants = Vec::new();
        match claims.get("access") {
            None => {}
            Some(JsonValue::Array(items)) => {
                for item in items {
                    let (name, actions) = parse_grant(item).ok_or_else(malformed)?;
                    let level = if actions.iter().any(|a| a == "*") {
                        Some(3)
                    } else if actions.iter().any(|a| a == "push") {
                        Some(2)
                    } else if actions.iter().any(|a| a == "pull") {
                        Some(1)
                    } else {
                        None
                    };
                    if let Some(level) = level {
                        grants.push((normalize(&name, library_namespace), level));
                    }
                    access.push((name, actions));
                }
            }
            Some(_) => return Err(malformed()),
        }
        let context = claims.get("context");
        let kind_text = context
            .and_then(|c| c.get("entity_kind").or_else(|| c.get("kind")))
            .and_then(JsonValue::as_str);
        let anonymous = subject.as_deref() == Some(ANONYMOUS_SUBJECT);
        let entity_kind = match kind_text.and_then(EntityKind::parse) {
            Some(kind) => kind,
            None if anonymous => EntityKind::Anonymous,
            None => EntityKind::User,
        };
        let entity_reference = context
            .and_then(|c| c.get("entity_reference"))
            .and_then(JsonValue::as_str)
            .map(str::to_owned);
        Ok(Self {
            subject: subject.filter(|s| s != ANONYMOUS_SUBJECT),
            access,
            entity_kind,
            entity_reference,
            has_token: true,
            grants,
            library_namespace: library_namespace.to_owned(),
        })
    }
}

fn normalize(name: &str, library_namespace: &str) -> String {
    let (ns, repo) = split_namespace_repository(name, library_namespace);
    format!("{ns}/{repo}")
}

fn parse_grant(item: &JsonValue) -> Option<(String, Vec<String>)> {
    if item.get("type")?.as_str()? != "repository" {
        return None;
    }
    let name = item.get("name")?.as_str()?.to_owned();
    let JsonValue::Array(actions) = item.get("actions")? else {
        return None;
    };
    let actions = actions
        .iter()
        .map(|a| {
            a.as_str()
                .filter(|a| matches!(*a, "push" | "pull" | "*"))
                .map(str::to_owned)
        })
        .collect::<Option<Vec<_>>>()?;
    Some((name, actions))
}

/// The token of `Bearer <jwt>` with Quay's `TOKEN_REGEX`
/// (`\ABearer (([a-zA-Z0-9+\-_/]+\.)+[a-zA-Z0-9+\-_/]+)\Z`).
pub(crate) fn bearer_token(header: &str) -> Option<&str> {
    let token = header.strip_prefix("Bearer ")?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '_' | '/');
    let mut segments = 0;
    for segment in token.split('.') {
        if segment.is_empty() || !segment.chars().all(allowed) {
            return None;
        }
        segments += 1;
    }
    (segments >= 2).then_some(token)
}

/// The 401 for a refused token, with PyJWT's and Quay's messages.
pub(crate) fn refusal(token: &str, error: TokenError) -> RegistryAuthError {
    match error {
        TokenError::Backend(source) => RegistryAuthError::Backend(source),
        other => RegistryAuthError::InvalidToken {
            message: refusal_message(token, other),
        },
    }
}

/// PyJWT's or Quay's message for a refused token.
pub(crate) fn refusal_message(token: &str, error: TokenError) -> String {
    match error {
        TokenError::Malformed => super::malformed::reason(token),
        TokenError::AlgNotAllowed => "The specified alg value is not allowed".into(),
        TokenError::MissingKid => "Missing kid header".into(),
        TokenError::UnknownKid => "Unknown service key".into(),
        TokenError::BadSignature | TokenError::Backend(_) => "Signature verification failed".into(),
        TokenError::Expired => "Signature has expired".into(),
        TokenError::NotYetValid => "The token is not yet valid (nbf)".into(),
        TokenError::BadAudience => "Invalid audience".into(),
        TokenError::BadIssuer => "Invalid issuer".into(),
        TokenError::LifetimeTooLong => "Token was signed for too long".into(),
        TokenError::MissingClaim("sub") => "Missing sub field in JWT".into(),
        TokenError::MissingClaim(claim) => format!("Token is missing the \"{claim}\" claim"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(access: JsonValue) -> JsonValue {
        JsonValue::object([
            ("sub", JsonValue::str("admin")),
            ("access", access),
            (
                "context",
                JsonValue::object([
                    ("version", JsonValue::Int(2)),
                    ("entity_kind", JsonValue::str("user")),
                    ("entity_reference", JsonValue::str("uuid-1")),
                ]),
            ),
        ])
    }

    fn grant(name: &str, actions: &[&str]) -> JsonValue {
        JsonValue::object([
            ("type", JsonValue::str("repository")),
            ("name", JsonValue::str(name)),
            (
                "actions",
                JsonValue::Array(actions.iter().map(|a| JsonValue::str(*a)).collect()),
            ),
        ])
    }

    #[test]
    fn grants_follow_quay() {
        let c = claims(JsonValue::Array(vec![
            grant("testorg/hello", &["push", "pull"]),
            grant("ubuntu", &["pull"]),
            grant("a/admin", &["*"]),
            grant("a/none", &[]),
        ]));
        let id = RegistryIdentity::from_claims(&c, "library").expect("valid");
        assert_eq!(id.subject.as_deref(), Some("admin"));
        assert_eq!(id.entity_kind, EntityKind::User);
        assert!(id.can("testorg/hello", "pull") && id.can("testorg/hello", "push"));
        assert!(!id.can("testorg/hello", "*"));
        assert!(id.can("library/ubuntu", "pull") && id.can("ubuntu", "pull"));
        assert!(id.can("a/admin", "push") && id.can("a/admin", "*"));
        assert!(!id.can("a/none", "pull") && !id.can("testorg/other", "pull"));
        assert_eq!(id.access.len(), 4);
    }

    #[test]
    fn bad_access_is_refused() {
        let c = claims(JsonValue::Array(vec![grant("x/y", &["delete"])]));
        assert!(matches!(
            RegistryIdentity::from_claims(&c, "library"),
            Err(RegistryAuthError::InvalidToken { .. })
        ));
    }

    #[test]
    fn anonymous_tokens() {
        let c = JsonValue::object([
            ("sub", JsonValue::str("(anonymous)")),
            (
                "access",
                JsonValue::Array(vec![grant("admin/publicrepo", &["pull"])]),
            ),
        ]);
        let id = RegistryIdentity::from_claims(&c, "library").expect("valid");
        assert!(id.is_anonymous() && id.has_token);
        assert_eq!(id.entity_kind, EntityKind::Anonymous);
        assert!(id.can("admin/publicrepo", "pull"));
    }

    #[test]
    fn bearer_header_pattern() {
        assert_eq!(bearer_token("Bearer a.b.c"), Some("a.b.c"));
        assert_eq!(bearer_token("Bearer a.b"), Some("a.b"));
        for bad in [
            "Bearer garbage",
            "Basic a.b",
            "Bearer a..b",
            "Bearer a.b=",
            "bearer a.b",
        ] {
            assert_eq!(bearer_token(bad), None, "{bad}");
        }
    }
}
