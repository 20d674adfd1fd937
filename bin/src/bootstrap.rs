//! The instance's first superuser: `--init-user/--init-password` in any mode, or, on the
//! mirror preset's first start, the configured bootstrap superuser with a generated password
//! printed once (as mirror-registry does).

use anyhow::{Context, Result};
use quay_adapter_db::Stores;
use quay_application::initial_user::{InitialUser, ensure_initial_user};
use quay_ports::crypto::SecureRandom;
use secrecy::{ExposeSecret, SecretString};

use crate::clock::SystemClock;
use crate::config::QuayConfig;

const PASSWORD_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// Creates the initial superuser when asked to, or when the mirror preset starts on an instance
/// without users.
///
/// # Errors
/// An invalid name or password, or a database failure.
pub async fn initial_user(
    stores: &Stores,
    config: &QuayConfig,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<()> {
    let hasher = quay_fips::password::BcryptHasher::default();
    let email_host = config
        .server_hostname
        .split(':')
        .next()
        .filter(|h| h.contains('.'))
        .unwrap_or("quay.local");
    if let (Some(user), Some(password)) = (user, password) {
        let password = SecretString::from(password.to_owned());
        let email = format!("{user}@{email_host}");
        let outcome = ensure_initial_user(
            stores.users.as_ref(),
            &hasher,
            &SystemClock,
            user,
            &password,
            &email,
        )
        .await
        .with_context(|| format!("cannot create the initial user {user}"))?;
        if outcome == InitialUser::AlreadyExists {
            tracing::info!(user.name = %user, "initial user already exists; left unchanged");
        }
        return Ok(());
    }
    let Some(user) = config.bootstrap_superuser.as_deref() else {
        return Ok(());
    };
    if stores.users.user_count().await.context("counting users")? > 0 {
        return Ok(());
    }
    let generated = quay_fips::random::OpenSslRandom
        .string_from(PASSWORD_ALPHABET, 32)
        .map_err(|e| anyhow::anyhow!("cannot generate a password: {e}"))?;
    let password = SecretString::from(generated);
    let email = format!("{user}@{email_host}");
    ensure_initial_user(
        stores.users.as_ref(),
        &hasher,
        &SystemClock,
        user,
        &password,
        &email,
    )
    .await
    .with_context(|| format!("cannot create the initial superuser {user}"))?;
    // Printed once, on stdout, never logged: the operator needs it to log in.
    println!(
        "Initial superuser created. Log in with credentials ({user}, {}) and change the password; it is not shown again.",
        password.expose_secret()
    );
    Ok(())
}
