//! Test support for `/v2` handlers: the capture world of
//! `quay_application::registry_auth::fakes` served with a real RS256 signer.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quay_application::health::HealthService;
use quay_application::registry_auth::fakes::{
    ManualClock, MemoryDirectory, PlainCipher, PlainHasher, PrefixPasswords,
};
use quay_application::registry_auth::{
    Keyring, RegistryAuth, RegistryAuthPorts, RegistryAuthSettings, RegistryHost, SignerFactory,
};
use quay_ports::crypto::{TokenError, TokenSigner};
use quay_ports::store::ServiceKey;

use crate::AppServices;

/// The capture host.
pub(crate) const HOST: &str = "127.0.0.1:8180";

/// A private key PEM and its kid.
#[derive(Clone)]
pub(crate) struct TestKey {
    pub(crate) kid: String,
    pub(crate) pem: String,
}

impl TestKey {
    pub(crate) fn generate() -> Self {
        let key = quay_fips::jwk::generate_rsa(2048).expect("RSA key");
        let kid = quay_fips::jwk::rsa_thumbprint(&key).expect("thumbprint");
        let pem = String::from_utf8(key.private_key_to_pem_pkcs8().expect("PEM")).expect("text");
        Self { kid, pem }
    }

    pub(crate) fn tokens(&self) -> quay_fips::RegistryTokens {
        quay_fips::RegistryTokens::from_pem("quay", self.kid.clone(), &self.pem, 3660)
            .expect("signer")
    }

    /// The `servicekey` row of this key.
    pub(crate) fn row(&self, expires: Option<DateTime<Utc>>) -> ServiceKey {
        let key = quay_fips::jwk::private_key_from_pem(&self.pem).expect("key");
        let jwk = quay_fips::jwk::public_jwk(&key).expect("jwk");
        ServiceKey {
            kid: self.kid.clone(),
            name: "python".into(),
            service: "quay".into(),
            jwk: quay_fips::jwk::jwk_json(&jwk),
            metadata: "{}".into(),
            created_date: DateTime::from_timestamp(0, 0).expect("epoch"),
            expiration_date: expires,
            rotation_duration: None,
        }
    }
}

struct Factory(TestKey);

impl SignerFactory for Factory {
    fn build(&self, keys: &[ServiceKey]) -> Result<Arc<dyn TokenSigner>, TokenError> {
        let mut tokens = self.0.tokens();
        for key in keys {
            let jwk =
                quay_fips::pyjson::parse(&key.jwk).map_err(|e| TokenError::Backend(Box::new(e)))?;
            tokens
                .add_service_jwk(&jwk)
                .map_err(|e| TokenError::Backend(Box::new(e)))?;
        }
        Ok(Arc::new(tokens))
    }
}

/// A registry over the capture world.
pub(crate) struct TestRegistry {
    pub(crate) dir: MemoryDirectory,
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) auth: Arc<RegistryAuth>,
}

impl TestRegistry {
    pub(crate) async fn new(settings: impl FnOnce(&mut RegistryAuthSettings)) -> Self {
        let dir = MemoryDirectory::capture_world();
        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_795_779_389, 0).expect("valid"),
        ));
        let keyring = Keyring::load(
            "quay",
            Arc::new(Factory(TestKey::generate())),
            Arc::new(dir.clone()),
            clock.clone(),
        )
        .await
        .expect("keyring");
        let mut s = RegistryAuthSettings::defaults(RegistryHost::Configured {
            hostname: HOST.into(),
            scheme: "http".into(),
        });
        s.super_users = vec!["admin".into()];
        settings(&mut s);
        let ports = RegistryAuthPorts {
            users: Arc::new(dir.clone()),
            repositories: Arc::new(dir.clone()),
            permissions: Arc::new(dir.clone()),
            credentials: Arc::new(dir.clone()),
            hasher: Arc::new(PlainHasher),
            cipher: Arc::new(PlainCipher),
            encrypted_passwords: Arc::new(PrefixPasswords),
            audit: None,
            clock: clock.clone(),
        };
        let auth = Arc::new(RegistryAuth::new(s, ports, Arc::new(keyring)));
        Self { dir, clock, auth }
    }

    /// The clock, in Unix seconds.
    pub(crate) fn clock_now(&self) -> i64 {
        quay_ports::clock::Clock::now(self.clock.as_ref()).timestamp()
    }

    pub(crate) fn services(&self) -> AppServices {
        AppServices {
            health: HealthService::new(vec![], vec![]),
            registry_auth: Some(self.auth.clone()),
        }
    }
}
