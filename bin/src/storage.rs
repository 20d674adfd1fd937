//! Building the storage locations of `DISTRIBUTED_STORAGE_CONFIG` through the storage adapter's
//! factory, with the crypto the drivers sign with coming from quay-fips.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Result, anyhow};
use quay_adapter_storage::DistributedStorage;
use quay_adapter_storage::aws_credentials::{AwsEnv, DefaultChain};
use quay_adapter_storage::factory::{DriverDeps, build_distributed};
use quay_ports::storage::redirect::{ClientNetwork, DownloadPolicy};
use quay_ports::storage::signing::{
    CdnRewriteSigner, CdnSignerFactory, CdnUrlSigner, SigningError,
};
use serde_json::Value;

use crate::config::{QuayConfig, UrlScheme};

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

/// The CDN signers through quay-fips, reading key files relative to the config directory (Quay
/// reads them from its config volume). Quay signs CloudFront URLs with RSA-SHA1; under an enforced
/// FIPS provider the SHA-256 form is used instead.
#[derive(Debug)]
struct FipsCdnSigners {
    config_dir: Option<PathBuf>,
}

impl FipsCdnSigners {
    fn read_key(&self, filename: &str) -> Result<Vec<u8>, SigningError> {
        let path = match &self.config_dir {
            Some(dir) => dir.join(filename),
            None => PathBuf::from(filename),
        };
        std::fs::read(&path).map_err(|e| {
            SigningError::Backend(
                format!("cannot read the key file {}: {e}", path.display()).into(),
            )
        })
    }
}

fn fips_error(e: quay_fips::error::CryptoError) -> SigningError {
    SigningError::Backend(Box::new(e))
}

impl CdnSignerFactory for FipsCdnSigners {
    fn cloudfront(
        &self,
        key_id: &str,
        private_key_filename: &str,
    ) -> Result<Arc<dyn CdnUrlSigner>, SigningError> {
        let pem = self.read_key(private_key_filename)?;
        let hash = if quay_fips::provider::fips_enforced() {
            quay_fips::cdn::CloudFrontHash::Sha256
        } else {
            quay_fips::cdn::CloudFrontHash::Sha1
        };
        let signer = quay_fips::storage_signing::CloudFrontSigner::from_pem(key_id, &pem, hash)
            .map_err(fips_error)?;
        Ok(Arc::new(signer))
    }

    fn cloudflare(
        &self,
        domain: &str,
        private_key_filename: &str,
        region: &str,
    ) -> Result<Arc<dyn CdnRewriteSigner>, SigningError> {
        let pem = self.read_key(private_key_filename)?;
        let signer = quay_fips::storage_signing::CloudFlareSigner::from_pem(domain, region, &pem)
            .map_err(fips_error)?;
        Ok(Arc::new(signer))
    }

    fn akamai(
        &self,
        domain: &str,
        shared_secret: &str,
        region: &str,
    ) -> Result<Arc<dyn CdnRewriteSigner>, SigningError> {
        let signer = quay_fips::storage_signing::AkamaiSigner::new(domain, region, shared_secret)
            .map_err(fips_error)?;
        Ok(Arc::new(signer))
    }
}

/// The file of AWS's published ranges (`https://ip-ranges.amazonaws.com/ip-ranges.json`) CDN
/// drivers use for the same-region bypass, looked up next to `config.yaml`.
pub const AWS_IP_RANGES_FILE: &str = "aws-ip-ranges.json";

/// The GeoIP database (MaxMind DB format, the file name Quay ships in `util/ipresolver`)
/// `MultiCDNStorage` continent rules resolve clients with, looked up next to `config.yaml`.
pub const GEOIP_DATABASE_FILE: &str = "ip-to-country.mmdb";

/// AWS ip-ranges and the GeoIP database from the config directory, when a CDN driver is
/// configured and the files are there; without the ranges every client is treated as outside
/// AWS (always the CDN URL), without the database continent rules never match.
fn client_network(config: &QuayConfig) -> Result<Option<Arc<dyn ClientNetwork>>> {
    if !config.storage.locations.values().any(|d| d.is_cdn()) {
        return Ok(None);
    }
    let file = |name: &str| {
        config
            .storage
            .config_dir
            .as_ref()
            .map(|d| d.join(name))
            .filter(|p| p.is_file())
    };
    let ranges = match file(AWS_IP_RANGES_FILE) {
        Some(path) => Some(
            quay_adapter_storage::ipranges::AwsIpRanges::from_file(&path)
                .map_err(|e| anyhow!("{e}"))?,
        ),
        None => {
            tracing::warn!(
                "no {AWS_IP_RANGES_FILE} next to config.yaml: CDN storage treats every client as outside AWS"
            );
            None
        }
    };
    let geoip = match file(GEOIP_DATABASE_FILE) {
        Some(path) => Some(
            quay_adapter_storage::geoip::GeoIpDatabase::from_file(&path)
                .map_err(|e| anyhow!("{e}"))?,
        ),
        None => {
            tracing::warn!(
                "no {GEOIP_DATABASE_FILE} next to config.yaml: MultiCDNStorage continent rules never match"
            );
            None
        }
    };
    let resolver = quay_adapter_storage::geoip::IpResolver::new(ranges, geoip);
    Ok((!resolver.is_empty()).then(|| Arc::new(resolver) as Arc<dyn ClientNetwork>))
}

/// The relay of `/_storage_proxy/` downloads, with `FEATURE_PROXY_STORAGE`.
///
/// # Errors
/// When the HTTP client cannot be built.
pub fn proxy_backend(
    config: &QuayConfig,
) -> Result<Option<Arc<dyn quay_ports::storage::redirect::DownloadProxyBackend>>> {
    if !config.features.proxy_storage {
        return Ok(None);
    }
    let backend = quay_adapter_storage::proxy_backend::HttpProxyBackend::new()
        .map_err(|e| anyhow!("cannot set up the storage proxy: {e}"))?;
    Ok(Some(Arc::new(backend)))
}

/// How blob downloads are answered: `FEATURE_PROXY_STORAGE`, `PREFERRED_URL_SCHEME`,
/// `SERVER_HOSTNAME`, `CDN_SPECIFIC_NAMESPACES`.
pub fn download_policy(config: &QuayConfig) -> DownloadPolicy {
    let cdn_specific_namespaces = config
        .effective
        .get("CDN_SPECIFIC_NAMESPACES")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    DownloadPolicy {
        proxy_storage: config.features.proxy_storage,
        preferred_url_scheme: match config.preferred_url_scheme {
            UrlScheme::Http => "http".to_owned(),
            UrlScheme::Https => "https".to_owned(),
        },
        server_hostname: config.server_hostname.clone(),
        cdn_specific_namespaces,
    }
}

/// Every configured location, with Quay's preference and default locations.
///
/// # Errors
/// An unknown driver, bad parameters, an unreadable CloudFront key.
pub fn build(config: &QuayConfig) -> Result<DistributedStorage> {
    build_with_cleanup(config, None)
}

/// [`build`], with Swift locations putting their unused upload segments on `chunk_cleanup`
/// (Quay's `chunk_cleanup` queue).
///
/// # Errors
/// As [`build`].
pub fn build_with_cleanup(
    config: &QuayConfig,
    chunk_cleanup: Option<Arc<dyn quay_ports::storage::cleanup::ChunkCleanupSink>>,
) -> Result<DistributedStorage> {
    let locations = raw_locations(config)?;
    let deps = DriverDeps {
        crypto: Arc::new(quay_fips::storage_signing::OpenSslStorageCrypto),
        cdn_signers: Some(Arc::new(FipsCdnSigners {
            config_dir: config.storage.config_dir.clone(),
        })),
        client_network: client_network(config)?,
        chunk_cleanup,
        // S3-family locations without keys sign with the AWS default chain, as boto3 does.
        aws_chain: Some(Arc::new(DefaultChain::new(AwsEnv::from_process()))),
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

#[cfg(test)]
mod tests;
