//! The service keys registry tokens are signed and verified with (Quay's `InstanceKeys`): this
//! instance's private key signs; every approved, unexpired key of the `servicekey` table for the
//! service verifies — including keys of Python Quay instances sharing the database.
//!
//! The accepted set is reloaded from the database when older than [`REFRESH_INTERVAL_S`], and on
//! an unknown `kid` when the last reload is older than [`UNKNOWN_KID_RETRY_S`] (so a key another
//! instance registered a moment ago verifies, without letting forged `kid`s hammer the
//! database). A key past its `expiration_date` stops verifying at once, as Quay's `ExpiresDict`.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use quay_ports::clock::Clock;
use quay_ports::crypto::{TokenError, TokenSigner, VerifiedToken};
use quay_ports::store::{ServiceKey, ServiceKeyStore, ServiceKeyStoreError};

/// Seconds after which the accepted key set is reloaded on the next verification.
pub const REFRESH_INTERVAL_S: i64 = 60;
/// Minimum seconds between reloads triggered by unknown `kid`s.
pub const UNKNOWN_KID_RETRY_S: i64 = 5;

/// Builds signers: the crypto adapter's side of the keyring.
pub trait SignerFactory: Send + Sync {
    /// A signer that signs with this instance's key and verifies with it and with `keys` (their
    /// `jwk` column). Keys whose JWK cannot be used are skipped (and logged by the factory).
    ///
    /// # Errors
    /// [`TokenError::Backend`] when the signer cannot be built at all.
    fn build(&self, keys: &[ServiceKey]) -> Result<Arc<dyn TokenSigner>, TokenError>;
}

struct Loaded {
    signer: Arc<dyn TokenSigner>,
    expirations: HashMap<String, Option<DateTime<Utc>>>,
    loaded_at: DateTime<Utc>,
}

/// Signing and verification keys, reloaded from the database.
pub struct Keyring {
    service: String,
    factory: Arc<dyn SignerFactory>,
    store: Arc<dyn ServiceKeyStore>,
    clock: Arc<dyn Clock>,
    state: RwLock<Arc<Loaded>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Errors of [`Keyring::load`] and [`Keyring::refresh`].
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// The key table could not be read.
    #[error("cannot read the service keys")]
    Store(#[from] ServiceKeyStoreError),
    /// The signer could not be built.
    #[error("cannot build the token signer")]
    Signer(#[from] TokenError),
}

impl Keyring {
    /// Loads the accepted keys of `service` (`INSTANCE_SERVICE_KEY_SERVICE`).
    ///
    /// # Errors
    /// [`KeyringError`] when the table cannot be read or the signer cannot be built.
    pub async fn load(
        service: impl Into<String>,
        factory: Arc<dyn SignerFactory>,
        store: Arc<dyn ServiceKeyStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, KeyringError> {
        let service = service.into();
        let loaded = Self::fetch(&service, factory.as_ref(), store.as_ref(), clock.now()).await?;
        Ok(Self {
            service,
            factory,
            store,
            clock,
            state: RwLock::new(Arc::new(loaded)),
        })
    }

    async fn fetch(
        service: &str,
        factory: &dyn SignerFactory,
        store: &dyn ServiceKeyStore,
        now: DateTime<Utc>,
    ) -> Result<Loaded, KeyringError> {
        let keys = store.list_approved_keys(service, now).await?;
        let signer = factory.build(&keys)?;
        let expirations = keys
            .iter()
            .map(|k| (k.kid.clone(), k.expiration_date))
            .collect();
        Ok(Loaded {
            signer,
            expirations,
            loaded_at: now,
        })
    }

    fn current(&self) -> Arc<Loaded> {
        match self.state.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Reloads the accepted keys now.
    ///
    /// # Errors
    /// [`KeyringError`]; the previous keys stay in use.
    pub async fn refresh(&self) -> Result<(), KeyringError> {
        let loaded = Self::fetch(
            &self.service,
            self.factory.as_ref(),
            self.store.as_ref(),
            self.clock.now(),
        )
        .await?;
        let mut guard = match self.state.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Arc::new(loaded);
        Ok(())
    }

    async fn refresh_logged(&self) {
        if let Err(error) = self.refresh().await {
            tracing::warn!(error = %error, "reloading the service keys failed; keeping the previous set");
        }
    }

    /// The signer of this instance's key.
    pub fn signer(&self) -> Arc<dyn TokenSigner> {
        self.current().signer.clone()
    }

    /// Verifies a registry token with Quay's rules against the accepted keys at `now`.
    ///
    /// # Errors
    /// One [`TokenError`] per refusal; [`TokenError::UnknownKid`] also for a key that expired.
    pub async fn verify(
        &self,
        token: &str,
        audience: &str,
        now: i64,
    ) -> Result<VerifiedToken, TokenError> {
        let clock_now = self.clock.now();
        if (clock_now - self.current().loaded_at).num_seconds() >= REFRESH_INTERVAL_S {
            self.refresh_logged().await;
        }
        let mut result = self.current().signer.verify(token, audience, now);
        if matches!(result, Err(TokenError::UnknownKid))
            && (clock_now - self.current().loaded_at).num_seconds() >= UNKNOWN_KID_RETRY_S
        {
            self.refresh_logged().await;
            result = self.current().signer.verify(token, audience, now);
        }
        let verified = result?;
        let expired = match self.current().expirations.get(&verified.kid) {
            Some(Some(expiration)) => expiration.timestamp() <= now,
            Some(None) => false,
            // Our own key before it is listed (e.g. a read-only database): accepted by the signer.
            None => false,
        };
        if expired {
            return Err(TokenError::UnknownKid);
        }
        Ok(verified)
    }
}
