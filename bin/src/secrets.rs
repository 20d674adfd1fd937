//! Instance secrets of the mirror preset: `SECRET_KEY` and `DATABASE_SECRET_KEY` are generated
//! on first start and kept in the data directory (mode 0600), as mirror-registry's installer
//! writes them into its config. A config file or the environment still overrides them.

use anyhow::{Context, Result};
use quay_ports::crypto::SecureRandom;
use secrecy::SecretString;
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::QuayConfig;

/// The file holding the generated secrets, under the data directory.
pub const FILE: &str = "instance-secrets.yaml";

fn uuid4(bytes: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

fn generate() -> Result<String> {
    let mut bytes = [0u8; 16];
    quay_fips::random::OpenSslRandom
        .fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("cannot generate a secret: {e}"))?;
    Ok(uuid4(bytes))
}

/// Fills the secrets the configuration lacks from `data_dir`, generating and saving them on
/// first use.
///
/// # Errors
/// When the file cannot be read, parsed or written.
pub fn fill_missing(config: &mut QuayConfig, data_dir: &Path) -> Result<()> {
    if config.secret_key.is_some() && config.database_secret_key.is_some() {
        return Ok(());
    }
    let path = data_dir.join(FILE);
    let mut stored: BTreeMap<String, String> = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_yaml_ng::from_str(&text)
            .with_context(|| format!("{} is not a YAML map of secrets", path.display()))?
    } else {
        BTreeMap::new()
    };
    let before = stored.len();
    for key in ["SECRET_KEY", "DATABASE_SECRET_KEY"] {
        if !stored.contains_key(key) {
            stored.insert(key.to_owned(), generate()?);
        }
    }
    if stored.len() != before {
        let text = serde_yaml_ng::to_string(&stored)?;
        crate::serve::write_private(&path, text.as_bytes())?;
        tracing::info!(secrets.file = %path.display(), "generated instance secrets");
    }
    if config.secret_key.is_none() {
        config.secret_key = stored
            .get("SECRET_KEY")
            .map(|s| SecretString::from(s.clone()));
    }
    if config.database_secret_key.is_none() {
        config.database_secret_key = stored
            .get("DATABASE_SECRET_KEY")
            .map(|s| SecretString::from(s.clone()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid4_sets_version_and_variant() {
        let u = uuid4([0xff; 16]);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(uuid4([0; 16]), "00000000-0000-4000-8000-000000000000");
    }
}
