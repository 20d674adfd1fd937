//! Which OpenSSL providers are active and whether FIPS is enforced.
//!
//! The `openssl` crate has no safe binding for `EVP_default_properties_is_fips_enabled` or for
//! listing providers, and this workspace forbids `unsafe`, so the checks are behavioural: an
//! algorithm is fetched with a `provider=<name>` property query (which succeeds only if that
//! provider is loaded and active), and FIPS enforcement means the FIPS provider is active **and**
//! an implicit fetch of MD5 fails (so `default_properties = fips=yes` is in force and nothing can
//! fall back to the default provider).

use std::fmt;

use openssl::md::Md;

/// One provider probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderProbe {
    /// Provider name (`default`, `fips`, `legacy`).
    pub name: &'static str,
    /// Whether an algorithm of this provider could be fetched.
    pub active: bool,
}

/// What `quay fips status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FipsStatus {
    /// The OpenSSL library version string.
    pub openssl_version: String,
    /// `OPENSSL_CONF`, when set.
    pub openssl_conf: Option<String>,
    /// `OPENSSL_MODULES`, when set.
    pub openssl_modules: Option<String>,
    /// Provider probes.
    pub providers: Vec<ProviderProbe>,
    /// The FIPS provider is loaded and active.
    pub fips_provider_active: bool,
    /// Non-FIPS algorithms are unreachable through implicit fetches (MD5 refused).
    pub non_fips_refused: bool,
}

impl FipsStatus {
    /// FIPS is enforced: the FIPS provider is active and nothing falls back to a non-FIPS one.
    pub fn fips_enforced(&self) -> bool {
        self.fips_provider_active && self.non_fips_refused
    }

    /// One line for the `serve` start-up log.
    pub fn log_line(&self) -> String {
        let active: Vec<&str> = self
            .providers
            .iter()
            .filter(|p| p.active)
            .map(|p| p.name)
            .collect();
        format!(
            "OpenSSL {}; providers active: {}; FIPS enforced: {}; OPENSSL_CONF={}",
            self.openssl_version,
            if active.is_empty() {
                "none".to_owned()
            } else {
                active.join(",")
            },
            if self.fips_enforced() { "yes" } else { "no" },
            self.openssl_conf.as_deref().unwrap_or("(unset)"),
        )
    }
}

impl fmt::Display for FipsStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "OpenSSL library:       {}", self.openssl_version)?;
        writeln!(
            f,
            "OPENSSL_CONF:          {}",
            self.openssl_conf
                .as_deref()
                .unwrap_or("(unset: system default)")
        )?;
        writeln!(
            f,
            "OPENSSL_MODULES:       {}",
            self.openssl_modules
                .as_deref()
                .unwrap_or("(unset: built-in path)")
        )?;
        for p in &self.providers {
            writeln!(
                f,
                "provider {:<12}  {}",
                p.name,
                if p.active { "active" } else { "not active" }
            )?;
        }
        writeln!(
            f,
            "non-FIPS algorithms:   {}",
            if self.non_fips_refused {
                "refused (default_properties = fips=yes)"
            } else {
                "available"
            }
        )?;
        write!(
            f,
            "FIPS enforced:         {}",
            if self.fips_enforced() { "yes" } else { "no" }
        )
    }
}

fn provider_has(name: &str, algorithm: &str) -> bool {
    let query = format!("provider={name}");
    Md::fetch(None, algorithm, Some(&query)).is_ok()
}

/// Probes the providers of the default library context.
pub fn status() -> FipsStatus {
    openssl::init();
    let providers = vec![
        ProviderProbe {
            name: "default",
            active: provider_has("default", "SHA2-256"),
        },
        ProviderProbe {
            name: "fips",
            active: provider_has("fips", "SHA2-256"),
        },
        ProviderProbe {
            name: "legacy",
            active: provider_has("legacy", "MD4"),
        },
    ];
    let fips_provider_active = providers.iter().any(|p| p.name == "fips" && p.active);
    let non_fips_refused =
        Md::fetch(None, "MD5", None).is_err() && Md::fetch(None, "SHA2-256", None).is_ok();
    FipsStatus {
        openssl_version: openssl::version::version().to_owned(),
        openssl_conf: std::env::var("OPENSSL_CONF").ok(),
        openssl_modules: std::env::var("OPENSSL_MODULES").ok(),
        providers,
        fips_provider_active,
        non_fips_refused,
    }
}

/// Whether FIPS is enforced right now (see [`FipsStatus::fips_enforced`]).
pub fn fips_enforced() -> bool {
    status().fips_enforced()
}

/// Why `serve` must not start.
#[derive(Debug, thiserror::Error)]
pub enum FipsError {
    /// `FEATURE_FIPS: true` but FIPS is not enforced by OpenSSL.
    #[error(
        "FEATURE_FIPS is true but {reason}; point OPENSSL_CONF at a configuration that activates \
         the fips provider with `default_properties = fips=yes` (see `cargo xtask fips`), or set \
         FEATURE_FIPS: false"
    )]
    NotEnforced {
        /// What is missing.
        reason: &'static str,
        /// The probed status.
        status: Box<FipsStatus>,
    },
    /// The start-up known-answer self-check failed.
    #[error("crypto self-check failed: {0}")]
    SelfCheck(&'static str),
}

/// Start-up gate: with `feature_fips`, refuses unless FIPS is enforced; always runs a small
/// known-answer self-check. Returns the status for the log line.
///
/// # Errors
/// [`FipsError::NotEnforced`] or [`FipsError::SelfCheck`].
pub fn enforce(feature_fips: bool) -> Result<FipsStatus, FipsError> {
    let status = status();
    if feature_fips {
        let reason = if !status.fips_provider_active {
            Some("no FIPS provider is active")
        } else if !status.non_fips_refused {
            Some("the FIPS provider is active but non-FIPS algorithms are still reachable")
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(FipsError::NotEnforced {
                reason,
                status: Box::new(status),
            });
        }
    }
    self_check()?;
    Ok(status)
}

fn self_check() -> Result<(), FipsError> {
    let digest = openssl::hash::hash(openssl::hash::MessageDigest::sha256(), b"abc")
        .map_err(|_| FipsError::SelfCheck("SHA-256 unavailable"))?;
    if hex::encode(digest) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
        return Err(FipsError::SelfCheck("SHA-256 known answer mismatch"));
    }
    let key = secrecy::SecretString::from("4096".to_owned());
    let enc = crate::field::FieldEncrypterV0::new(&key)
        .map_err(|_| FipsError::SelfCheck("field key derivation"))?;
    let nonce = [0u8; crate::field::NONCE_LEN];
    let sealed = enc
        .encrypt_with_nonce(b"quay", &nonce, None)
        .map_err(|_| FipsError::SelfCheck("AES-256-CCM unavailable"))?;
    match enc.decrypt_bytes(&sealed) {
        Ok(pt) if pt == b"quay" => Ok(()),
        _ => Err(FipsError::SelfCheck("AES-256-CCM round trip")),
    }
}
