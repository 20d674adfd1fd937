//! Registry token scopes: the `scope` parameter of `GET /v2/auth` and the `access` grants of a
//! registry bearer token (Quay's `endpoints/v2/v2auth.py` and `auth/registry_jwt_auth.py`).
//!
//! Grammar (Quay's `SCOPE_REGEX_TEMPLATE`, anchored):
//! `repository:(<SERVER_HOSTNAME>/)?<path>:<action>(,<action>)*` where `<path>` is one or more
//! `/`-separated non-empty segments of `[.a-zA-Z0-9_-]` and `<action>` is `push`, `pull` or `*`.
//! Anything else (including `registry:catalog:*`) is refused with Quay's
//! `Unable to decode repository and actions: <scope>`.
//!
//! Invariants:
//! - `registry_and_repo` is the matched text before the actions, host prefix included: it is
//!   what the token's `access[].name` carries;
//! - the namespace/repository split follows Quay's `parse_namespace_repository`: split at the
//!   first `/`; a single component lives in `LIBRARY_NAMESPACE`.

use crate::name::{RepositoryName, RepositoryNameRules};

/// One action of a scope, in Quay's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScopeAction {
    /// `push`.
    Push,
    /// `pull`.
    Pull,
    /// `*`: administer.
    All,
}

impl ScopeAction {
    /// Parses `push`, `pull` or `*`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "push" => Some(Self::Push),
            "pull" => Some(Self::Pull),
            "*" => Some(Self::All),
            _ => None,
        }
    }

    /// Quay's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Pull => "pull",
            Self::All => "*",
        }
    }
}

/// A parsed `repository:` scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryScope {
    /// The path as requested, with the host prefix when given (`access[].name`).
    pub registry_and_repo: String,
    /// The namespace part (may be any text: it is looked up, not created from here).
    pub namespace: String,
    /// The repository name within the namespace, checked by the repository name rules.
    pub repository: RepositoryName,
    /// The requested actions, in request order, duplicates kept (Quay only tests membership).
    pub actions: Vec<ScopeAction>,
}

impl RepositoryScope {
    /// Whether `action` was requested.
    pub fn requests(&self, action: ScopeAction) -> bool {
        self.actions.contains(&action)
    }

    /// `namespace/repository`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.repository)
    }
}

/// Why a scope was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// The scope does not match the grammar (Quay's `InvalidRequest`, 400).
    #[error("Unable to decode repository and actions: {0}")]
    Undecodable(String),
    /// The repository name breaks the name rules (Quay's `NameInvalid`, 400); the text is
    /// Quay's message.
    #[error("{0}")]
    InvalidName(String),
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

fn is_path(s: &str) -> bool {
    !s.is_empty()
        && s.split('/')
            .all(|seg| !seg.is_empty() && seg.chars().all(is_path_char))
}

/// Splits `ns/repo/...` as Quay's `parse_namespace_repository` does: at the first `/` after
/// stripping trailing slashes; one component goes to `library_namespace`.
pub fn split_namespace_repository<'a>(
    path: &'a str,
    library_namespace: &'a str,
) -> (&'a str, &'a str) {
    let trimmed = path.trim_end_matches('/');
    match trimmed.split_once('/') {
        Some((ns, repo)) => (ns, repo),
        None => (library_namespace, trimmed),
    }
}

/// Parses one `scope` parameter.
///
/// # Errors
/// [`ScopeError::Undecodable`] when the text breaks the grammar; [`ScopeError::InvalidName`]
/// when the repository name breaks `rules` (Quay's messages: `Invalid repository name: <path>`,
/// or `Nested repositories are not supported. Found: <path>` without extended names).
pub fn parse_scope(
    scope: &str,
    server_hostname: &str,
    library_namespace: &str,
    rules: RepositoryNameRules,
) -> Result<RepositoryScope, ScopeError> {
    let undecodable = || ScopeError::Undecodable(scope.to_owned());
    let rest = scope.strip_prefix("repository:").ok_or_else(undecodable)?;
    // Neither the path nor the actions contain ':', so the actions follow the last one.
    let (registry_and_repo, actions_text) = rest.rsplit_once(':').ok_or_else(undecodable)?;
    let actions = actions_text
        .split(',')
        .map(ScopeAction::parse)
        .collect::<Option<Vec<_>>>()
        .ok_or_else(undecodable)?;
    let prefixed = registry_and_repo
        .strip_prefix(server_hostname)
        .and_then(|r| r.strip_prefix('/'))
        .filter(|r| !server_hostname.is_empty() && is_path(r));
    let namespace_and_repo = match prefixed {
        Some(path) => path,
        None if is_path(registry_and_repo) => registry_and_repo,
        None => return Err(undecodable()),
    };
    let (namespace, repo) = split_namespace_repository(namespace_and_repo, library_namespace);
    let repository = RepositoryName::parse(repo, rules).map_err(|_| {
        if rules == RepositoryNameRules::Standard && namespace_and_repo.split('/').count() > 2 {
            ScopeError::InvalidName(format!(
                "Nested repositories are not supported. Found: {namespace_and_repo}"
            ))
        } else {
            ScopeError::InvalidName(format!("Invalid repository name: {namespace_and_repo}"))
        }
    })?;
    Ok(RepositoryScope {
        registry_and_repo: registry_and_repo.to_owned(),
        namespace: namespace.to_owned(),
        repository,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "127.0.0.1:8180";

    fn parse(s: &str) -> Result<RepositoryScope, ScopeError> {
        parse_scope(s, HOST, "library", RepositoryNameRules::Extended)
    }

    #[test]
    fn parses_quay_scopes() {
        let s = parse("repository:testorg/hello:pull,push").expect("valid");
        assert_eq!(s.registry_and_repo, "testorg/hello");
        assert_eq!(
            (s.namespace.as_str(), s.repository.as_str()),
            ("testorg", "hello")
        );
        assert_eq!(s.actions, vec![ScopeAction::Pull, ScopeAction::Push]);
        let s = parse("repository:127.0.0.1:8180/testorg/a/b:*").expect("valid");
        assert_eq!(s.registry_and_repo, "127.0.0.1:8180/testorg/a/b");
        assert_eq!(s.full_name(), "testorg/a/b");
        let s = parse("repository:ubuntu:pull").expect("valid");
        assert_eq!(s.full_name(), "library/ubuntu");
    }

    #[test]
    fn refuses_like_quay() {
        for bad in [
            "garbage",
            "registry:catalog:*",
            "repository:testorg/hello",
            "repository:testorg/hello:",
            "repository:testorg/hello:delete",
            "repository:testorg//hello:pull",
            "repository::pull",
            "repository:other.host:1/ns/r:pull",
        ] {
            assert_eq!(
                parse(bad),
                Err(ScopeError::Undecodable(bad.to_owned())),
                "{bad}"
            );
        }
        assert_eq!(
            parse("repository:testorg/Hello:pull"),
            Err(ScopeError::InvalidName(
                "Invalid repository name: testorg/Hello".into()
            ))
        );
        assert_eq!(
            parse_scope(
                "repository:a/b/c:pull",
                HOST,
                "library",
                RepositoryNameRules::Standard
            ),
            Err(ScopeError::InvalidName(
                "Nested repositories are not supported. Found: a/b/c".into()
            ))
        );
    }

    #[test]
    fn splits_like_parse_namespace_repository() {
        assert_eq!(split_namespace_repository("a/b/c", "library"), ("a", "b/c"));
        assert_eq!(
            split_namespace_repository("a/", "library"),
            ("library", "a")
        );
        assert_eq!(
            split_namespace_repository("h:1/a/b", "library"),
            ("h:1", "a/b")
        );
    }
}
