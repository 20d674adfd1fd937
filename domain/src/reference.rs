//! What a `/v2` URL names: a repository path (`<namespace>/<repository>`) and a manifest reference
//! (a tag or a digest).
//!
//! Invariants (Quay's `RepositoryPathConverter`, `parse_namespace_repository` in `util/names.py`,
//! and the manifest routes in `endpoints/v2/manifest.py`):
//! - the path's first `/`-separated component is the namespace, the rest the repository name; a
//!   single component means the `LIBRARY_NAMESPACE` (default `library`) when
//!   `FEATURE_LIBRARY_SUPPORT` is on, and is refused otherwise;
//! - every component is non-empty;
//! - the namespace follows the lookup grammar of [`NamespaceName::parse`], the repository that of
//!   [`RepositoryName::parse`] under `FEATURE_EXTENDED_REPOSITORY_NAMES`;
//! - a reference containing `:` is a digest (`[A-Za-z0-9_+.-]+:[A-Fa-f0-9]+`), anything else must be
//!   a tag (`^\w[\w.-]{0,127}$`, ASCII). The two grammars are disjoint.

use std::fmt;

use crate::digest::Digest;
use crate::name::{NameError, NamespaceName, RepositoryName, RepositoryNameRules, TagName};
use crate::registry_error::{ErrorKind, RegistryError};

/// Why a `/v2` path or reference was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    /// The path has an empty component (`a//b`, leading or trailing `/`) or is empty.
    #[error("repository path has an empty component")]
    EmptyComponent,
    /// A single-component path while `FEATURE_LIBRARY_SUPPORT` is off.
    #[error("A namespace must be specified explicitly")]
    NamespaceRequired,
    /// The namespace or repository name breaks the grammar.
    #[error(transparent)]
    Name(#[from] NameError),
    /// The reference is neither a tag nor a digest.
    #[error("invalid manifest reference {0:?}")]
    InvalidReference(String),
}

impl ReferenceError {
    /// The `/v2` answer.
    ///
    /// Quay answers unroutable references with Flask's HTML 404 and bad names mostly with a
    /// failed lookup (401 or 404); we answer `MANIFEST_UNKNOWN` 404 and `NAME_INVALID` 400 in the
    /// OCI envelope instead.
    pub fn to_registry_error(&self) -> RegistryError {
        match self {
            Self::InvalidReference(_) => RegistryError::new(ErrorKind::ManifestUnknown),
            other => {
                RegistryError::new(ErrorKind::NameInvalid).with_detail_message(other.to_string())
            }
        }
    }
}

/// How `/v2` repository paths are read (Quay's configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryPathRules {
    /// `LIBRARY_NAMESPACE`, used for single-component paths.
    pub library_namespace: NamespaceName,
    /// `FEATURE_LIBRARY_SUPPORT` (default on).
    pub library_support: bool,
    /// `FEATURE_EXTENDED_REPOSITORY_NAMES` (default on: nested `a/b/c`).
    pub names: RepositoryNameRules,
}

impl Default for RepositoryPathRules {
    fn default() -> Self {
        Self {
            library_namespace: NamespaceName::parse("library")
                .expect("`library` is a valid namespace name"),
            library_support: true,
            names: RepositoryNameRules::Extended,
        }
    }
}

/// A repository named by a `/v2` URL.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryPath {
    /// The namespace (user or organization).
    pub namespace: NamespaceName,
    /// The repository within it (may contain `/` with extended names).
    pub repository: RepositoryName,
}

impl RepositoryPath {
    /// Parses the `<name>` part of a `/v2/<name>/...` URL (already percent-decoded).
    ///
    /// # Errors
    /// [`ReferenceError`] for empty components, a missing namespace without library support, or
    /// names that break Quay's grammar.
    pub fn parse(path: &str, rules: &RepositoryPathRules) -> Result<Self, ReferenceError> {
        if path.is_empty() || path.split('/').any(str::is_empty) {
            return Err(ReferenceError::EmptyComponent);
        }
        let (namespace, repository) = match path.split_once('/') {
            Some((ns, repo)) => (NamespaceName::parse(ns)?, repo),
            None if rules.library_support => (rules.library_namespace.clone(), path),
            None => return Err(ReferenceError::NamespaceRequired),
        };
        let repository = RepositoryName::parse(repository, rules.names)?;
        Ok(Self {
            namespace,
            repository,
        })
    }

    /// `namespace/repository`, as in URLs, scopes and the schema 1 `name` field.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.namespace, self.repository)
    }
}

impl fmt::Display for RepositoryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.repository)
    }
}

/// A manifest reference: a tag or a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A tag name.
    Tag(TagName),
    /// A content digest.
    Digest(Digest),
}

impl Reference {
    /// Parses the `<reference>` of `/v2/<name>/manifests/<reference>`.
    ///
    /// # Errors
    /// [`ReferenceError::InvalidReference`] when it is neither a digest nor a valid tag.
    pub fn parse(s: &str) -> Result<Self, ReferenceError> {
        let invalid = || ReferenceError::InvalidReference(s.to_owned());
        if s.contains(':') {
            return Digest::parse(s).map(Self::Digest).map_err(|_| invalid());
        }
        TagName::parse(s).map(Self::Tag).map_err(|_| invalid())
    }

    /// The tag, if this is one.
    pub fn as_tag(&self) -> Option<&TagName> {
        match self {
            Self::Tag(t) => Some(t),
            Self::Digest(_) => None,
        }
    }

    /// The digest, if this is one.
    pub fn as_digest(&self) -> Option<&Digest> {
        match self {
            Self::Digest(d) => Some(d),
            Self::Tag(_) => None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(t) => f.write_str(t.as_str()),
            Self::Digest(d) => f.write_str(d.as_str()),
        }
    }
}

#[cfg(test)]
mod tests;
