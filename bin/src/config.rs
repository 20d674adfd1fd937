//! Quay's `config.yaml`, typed and validated.
//!
//! Quay's keys are the contract (`util/config/schema.py`, `config.py`): names, types and
//! defaults as Quay defines them. [`load`] layers, from lowest to highest:
//!
//! 1. Quay's defaults (typed defaults of [`QuayConfig`]'s fields),
//! 2. the preset of [`Mode`] (see `presets.rs`),
//! 3. the config file (`--config FILE`, Quay's own keys),
//! 4. the environment: `QUAY_OVERRIDE_CONFIG` (a JSON object, as Python Quay reads it),
//!    `QUAY_CONFIG__<KEY>=<value>` for any known key, and `QUAY_DISTRIBUTED_STORAGE_PREFERENCE`.
//!
//! A higher layer replaces a top-level key as a whole (Quay's `dict.update`). Every error
//! is collected ([`ConfigErrors`]), each with its key path, the problem and a fix. Unknown
//! top-level keys are warnings. Secrets are `SecretString`s; print [`QuayConfig::redacted`].

mod auth;
mod build;
mod checks;
mod db;
mod error;
mod extract;
mod keys;
mod layers;
mod model;
mod presets;
mod redact;
mod storage;
mod values;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub use auth::{AuthConfig, LdapConfig, OidcProvider};
pub use db::{DbConfig, DbConnectionArgs, DbReplica, DbUri};
pub use error::{ConfigError, ConfigErrors, ConfigWarning};
pub use layers::{ENV_OVERRIDE_JSON, ENV_PREFIX, ENV_STORAGE_PREFERENCE};
pub use model::{
    CacheConfig, InstanceServiceKey, ListenIpVersion, MailConfig, QuayConfig, RedisConfig,
    RegistryState, TlsConfig, UrlScheme,
};
pub use redact::{Params, REDACTED, is_secret_key};
pub use storage::{LocalStorageParams, OtherDriver, S3StorageParams, StorageConfig, StorageDriver};
pub use values::{ByteSize, QuayDuration};

/// A deployment preset (digest §15): defaults between Quay's and the config file's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// SQLite and local storage in the data dir, anonymous pulls, Database auth with a
    /// bootstrap superuser, in-memory cache, self-signed TLS, no Redis.
    Mirror,
    /// PostgreSQL (DB_URI required), local or S3 storage, Database auth, Redis required,
    /// provided or self-signed TLS.
    Standalone,
    /// PostgreSQL, S3-family storage behind a CDN, LDAP/OIDC, Redis, TLS required.
    Full,
}

impl Mode {
    /// The CLI spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Mode::Mirror => "mirror",
            Mode::Standalone => "standalone",
            Mode::Full => "full",
        }
    }
}

/// A loaded configuration and the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    /// The validated configuration.
    pub config: QuayConfig,
    /// Unknown keys and other non-fatal findings.
    pub warnings: Vec<ConfigWarning>,
}

/// The process environment, for [`load`]'s `env` argument.
#[must_use]
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Loads and validates the configuration: Quay defaults < preset of `mode` < `file` <
/// environment (looked up through `env`, e.g. [`process_env`]).
///
/// `data_dir` holds what presets put on disk (SQLite database, local storage, TLS files);
/// it is made absolute against the working directory. Reads `file` and checks for
/// `ssl.cert`/`ssl.key` next to it; writes nothing.
///
/// # Errors
/// Every problem found: YAML syntax (with line and column), wrong types, missing or
/// contradictory keys, unsupported databases. The warnings found so far ride along.
pub fn load(
    mode: Option<Mode>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    data_dir: &Path,
) -> Result<Loaded, ConfigErrors> {
    let mut ctx = extract::Ctx::default();
    let data_dir = checks::absolute(data_dir);
    let mut merged = mode
        .map(|m| presets::preset(m, &data_dir))
        .unwrap_or_default();
    if let Some(path) = file
        && let Some(layer) = layers::read_file(&mut ctx, path)
    {
        layers::merge(&mut merged, layer);
    }
    let env_layer = layers::env_layer(&mut ctx, env);
    layers::merge(&mut merged, env_layer);
    let config_dir = file.map(|f| checks::absolute(f.parent().unwrap_or_else(|| Path::new("."))));
    let site = build::Site {
        mode,
        data_dir: &data_dir,
        config_dir: config_dir.as_deref(),
    };
    let file_errors = !ctx.errors.is_empty();
    let built = build::build(&mut ctx, &merged, &site);
    match built {
        Some(config) if !file_errors && ctx.errors.is_empty() => Ok(Loaded {
            config,
            warnings: ctx.warnings,
        }),
        _ => Err(ConfigErrors {
            errors: ctx.errors,
            warnings: ctx.warnings,
        }),
    }
}

/// `quay config validate`: loads, prints every warning and error (one per line) to `out`,
/// and returns success only when there is no error.
pub fn validate_command(
    mode: Option<Mode>,
    file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    data_dir: &Path,
    out: &mut dyn Write,
) -> ExitCode {
    let (warnings, errors) = match load(mode, file, env, data_dir) {
        Ok(loaded) => (loaded.warnings, Vec::new()),
        Err(e) => (e.warnings, e.errors),
    };
    let mut lines: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    lines.extend(errors.iter().map(ToString::to_string));
    let summary = if errors.is_empty() {
        format!("configuration is valid ({} warning(s))", warnings.len())
    } else {
        format!(
            "configuration is invalid: {} error(s), {} warning(s)",
            errors.len(),
            warnings.len()
        )
    };
    lines.push(summary);
    let written = lines.iter().try_for_each(|l| writeln!(out, "{l}"));
    if errors.is_empty() && written.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
