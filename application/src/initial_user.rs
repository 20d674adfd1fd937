//! Creating the first superuser of an instance (`quay serve --init-user`, or the mirror
//! preset's generated `init` user, as mirror-registry does).

use quay_domain::name::NamespaceName;
use quay_domain::user::{EmailAddress, PasswordHash};
use quay_ports::clock::Clock;
use quay_ports::crypto::password::{PasswordHashError, PasswordHasher};
use quay_ports::store::user::{NewUser, UserStore, UserStoreError};
use secrecy::SecretString;

/// Seconds deleted tags stay restorable for a new user (Quay's `DEFAULT_TAG_EXPIRATION`, 2w).
pub const DEFAULT_REMOVED_TAG_EXPIRATION_S: i64 = 14 * 24 * 3600;

/// What [`ensure_initial_user`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitialUser {
    /// The account already existed; nothing was written (its password is left alone).
    AlreadyExists,
    /// The account was created.
    Created,
}

/// Errors of [`ensure_initial_user`].
#[derive(Debug, thiserror::Error)]
pub enum InitialUserError {
    /// The name is not a valid Quay username.
    #[error("`{name}` cannot be a Quay username: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// Why not.
        reason: String,
    },
    /// The password is empty or too short for Quay (at least 8 characters).
    #[error("the initial user's password must have at least 8 characters")]
    WeakPassword,
    /// Hashing failed.
    #[error(transparent)]
    Hash(#[from] PasswordHashError),
    /// The store failed (including a name or e-mail already taken by another account kind).
    #[error(transparent)]
    Store(#[from] UserStoreError),
}

/// Creates database user `username` with `password` unless an account of that name exists.
///
/// # Errors
/// See [`InitialUserError`]; nothing is written on error.
pub async fn ensure_initial_user(
    users: &dyn UserStore,
    hasher: &dyn PasswordHasher,
    clock: &dyn Clock,
    username: &str,
    password: &SecretString,
    email: &str,
) -> Result<InitialUser, InitialUserError> {
    if users.find_by_username(username).await?.is_some() {
        return Ok(InitialUser::AlreadyExists);
    }
    let name = NamespaceName::parse_new(username).map_err(|e| InitialUserError::InvalidName {
        name: username.to_owned(),
        reason: e.to_string(),
    })?;
    if secrecy::ExposeSecret::expose_secret(password)
        .chars()
        .count()
        < 8
    {
        return Err(InitialUserError::WeakPassword);
    }
    let email = EmailAddress::parse(email).map_err(|e| InitialUserError::InvalidName {
        name: email.to_owned(),
        reason: e.to_string(),
    })?;
    let hash = hasher.hash(password)?;
    users
        .create_user(NewUser {
            username: name,
            email,
            password_hash: Some(PasswordHash::new(hash)),
            verified: true,
            removed_tag_expiration_s: DEFAULT_REMOVED_TAG_EXPIRATION_S,
            maximum_queued_builds_count: None,
            created_at: clock.now(),
        })
        .await?;
    tracing::info!(user.name = %username, "initial superuser created");
    Ok(InitialUser::Created)
}
