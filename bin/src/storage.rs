//! Building the storage locations of `DISTRIBUTED_STORAGE_CONFIG` through the storage adapter's
//! factory, with the crypto the drivers sign with coming from quay-fips.

use anyhow::{Context, Result, anyhow};
use quay_adapter_storage::DistributedStorage;
use quay_adapter_storage::factory::{DriverDeps, build_distributed};
use quay_ports::storage::signing::CdnUrlSigner;
use serde_json::Value;
use std::sync::Arc;

use crate::config::QuayConfig;

/// `(location, driver name, parameters)` of every configured location, as written in the file.
fn raw_locations(config: &QuayConfig) -> Result<Vec<(String, String, Value)>> {
    let raw = config
        .effective
        .get("DISTRIBUTED_STORAGE_CONFIG")
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("DISTRIBUTED_STORAGE_CONFIG is not set"))?;
    raw.iter()
        .map(|(location, entry)| {
            let pair = entry.as_array().filter(|a| a.len() == 2);
            let driver = pair.and_then(|a| a[0].as_str()).ok_or_else(|| {
                anyhow!(
                    "DISTRIBUTED_STORAGE_CONFIG.{location} must be [DriverName, {{parameters}}]"
                )
            })?;
            let params = pair.map(|a| a[1].clone()).unwrap_or(Value::Null);
            Ok((location.clone(), driver.to_owned(), params))
        })
        .collect()
}

/// The CloudFront signer of the first `CloudFrontedS3Storage` location, if any. Quay signs with
/// RSA-SHA1; under an enforced FIPS provider the SHA-256 form is used instead.
fn cloudfront_signer(
    locations: &[(String, String, Value)],
) -> Result<Option<Arc<dyn CdnUrlSigner>>> {
    let Some((location, _, params)) = locations
        .iter()
        .find(|(_, d, _)| d == "CloudFrontedS3Storage")
    else {
        return Ok(None);
    };
    let key_id = params
        .get("cloudfront_keypair_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let key_file = params
        .get("cloudfront_privatekey_filename")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            anyhow!(
                "DISTRIBUTED_STORAGE_CONFIG.{location}: cloudfront_privatekey_filename is required"
            )
        })?;
    let pem = std::fs::read(key_file)
        .with_context(|| format!("reading the CloudFront key {key_file}"))?;
    let hash = if quay_fips::provider::fips_enforced() {
        quay_fips::cdn::CloudFrontHash::Sha256
    } else {
        quay_fips::cdn::CloudFrontHash::Sha1
    };
    let signer = quay_fips::storage_signing::CloudFrontSigner::from_pem(key_id, &pem, hash)
        .map_err(|e| anyhow!("DISTRIBUTED_STORAGE_CONFIG.{location}: {e}"))?;
    Ok(Some(Arc::new(signer)))
}

/// Every configured location, with Quay's preference and default locations.
///
/// # Errors
/// An unknown driver, bad parameters, an unreadable CloudFront key.
pub fn build(config: &QuayConfig) -> Result<DistributedStorage> {
    let locations = raw_locations(config)?;
    let deps = DriverDeps {
        crypto: Arc::new(quay_fips::storage_signing::OpenSslStorageCrypto),
        cdn_signer: cloudfront_signer(&locations)?,
        client_network: None,
        chunk_cleanup: None,
    };
    let preference =
        (!config.storage.preference.is_empty()).then(|| config.storage.preference.clone());
    let readonly = config.registry_state == crate::config::RegistryState::Readonly;
    build_distributed(
        &locations,
        preference,
        config.storage.default_locations.clone(),
        readonly,
        &deps,
    )
    .map_err(|e| anyhow!("cannot set up storage: {e}"))
}
