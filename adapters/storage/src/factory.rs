//! Builds drivers from `DISTRIBUTED_STORAGE_CONFIG` entries: `[DriverName, {params}]`.
//!
//! The composition root (bin) calls [`build_driver`] per location and [`build_distributed`] for
//! the whole map. Unknown driver names are an error listing the valid names (Python Quay falls
//! back to a fake driver silently).

use std::sync::Arc;

use quay_ports::storage::cleanup::ChunkCleanupSink;
use quay_ports::storage::redirect::ClientNetwork;
use quay_ports::storage::signing::{CdnSignerFactory, StorageCrypto};

mod cdn;
use quay_ports::storage::{BlobStorage, StorageError};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::aws_credentials::DefaultChain;
use crate::s3::params::{
    GoogleCloudStorageParams, IbmCloudStorageParams, RadosGwStorageParams, S3StorageParams,
};
use crate::s3::sts::StsS3StorageParams;
use crate::{
    AzureStorage, AzureStorageParams, DistributedConfigError, DistributedStorage, LocalStorage,
    LocalStorageParams, S3Storage, SwiftStorage, SwiftStorageParams,
};

/// Driver names quay-rs builds.
pub const DRIVER_NAMES: &[&str] = &[
    "LocalStorage",
    "S3Storage",
    "GoogleCloudStorage",
    "RadosGWStorage",
    "RHOCSStorage",
    "IBMCloudStorage",
    "STSS3Storage",
    "CloudFrontedS3Storage",
    "CloudFlareStorage",
    "AkamaiS3Storage",
    "MultiCDNStorage",
    "SwiftStorage",
    "AzureStorage",
];

/// Why a location could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The driver name is not one of [`DRIVER_NAMES`].
    #[error("{location}: unknown storage driver `{name}` (known: {})", DRIVER_NAMES.join(", "))]
    UnknownDriver {
        /// Location.
        location: String,
        /// The name given.
        name: String,
    },
    /// The parameters do not match the driver's constructor.
    #[error("{location}: invalid {driver} parameters: {source}")]
    Params {
        /// Location.
        location: String,
        /// Driver.
        driver: String,
        /// The mismatch.
        #[source]
        source: serde_json::Error,
    },
    /// The driver needs a port the composition root did not provide.
    #[error("{location}: {driver} needs {what}")]
    Missing {
        /// Location.
        location: String,
        /// Driver.
        driver: String,
        /// What is missing.
        what: &'static str,
    },
    /// The driver refused its configuration.
    #[error("{location}: {source}")]
    Driver {
        /// Location.
        location: String,
        /// The error.
        #[source]
        source: StorageError,
    },
    /// Preference or default locations name unknown locations.
    #[error(transparent)]
    Distributed(#[from] DistributedConfigError),
}

/// The ports drivers may need.
#[derive(Debug, Clone)]
pub struct DriverDeps {
    /// MACs and hashes for request signing (quay-fips).
    pub crypto: Arc<dyn StorageCrypto>,
    /// Builds the URL signers of `CloudFrontedS3Storage`, `CloudFlareStorage` and
    /// `AkamaiS3Storage` from their parameters (quay-fips).
    pub cdn_signers: Option<Arc<dyn CdnSignerFactory>>,
    /// Client network resolution (AWS ip-ranges) for CDN drivers.
    pub client_network: Option<Arc<dyn ClientNetwork>>,
    /// The `chunk_cleanup` queue for Swift.
    pub chunk_cleanup: Option<Arc<dyn ChunkCleanupSink>>,
    /// The AWS default credential chain, for S3-family locations without keys.
    pub aws_chain: Option<Arc<DefaultChain>>,
}

fn params<T: DeserializeOwned>(location: &str, driver: &str, v: &Value) -> Result<T, BuildError> {
    serde_json::from_value(v.clone()).map_err(|source| BuildError::Params {
        location: location.to_string(),
        driver: driver.to_string(),
        source,
    })
}

/// An `S3Storage` from `S3Storage`-shaped parameters: static keys, or the AWS default chain when
/// none are configured (as boto3 does for Quay). `path_style` forces path-style addressing.
fn s3_driver(
    location: &str,
    driver: &str,
    p: &crate::s3::S3StorageParams,
    deps: &DriverDeps,
    path_style: bool,
) -> Result<S3Storage, BuildError> {
    let wrap = |source| BuildError::Driver {
        location: location.to_string(),
        source,
    };
    let crypto = deps.crypto.clone();
    if p.uses_default_chain() {
        let Some(chain) = deps.aws_chain.clone() else {
            return Err(BuildError::Missing {
                location: location.to_string(),
                driver: driver.to_string(),
                what: "s3_access_key/s3_secret_key or the AWS default credential chain",
            });
        };
        let mut cfg = p.to_chain_config().map_err(wrap)?;
        cfg.virtual_host &= !path_style;
        return S3Storage::with_default_chain(cfg, chain, crypto).map_err(wrap);
    }
    let mut cfg = p.to_config().map_err(wrap)?;
    cfg.virtual_host &= !path_style;
    S3Storage::new(cfg, crypto).map_err(wrap)
}

/// Builds the driver of one location.
///
/// # Errors
/// [`BuildError`] for an unknown name, bad parameters or a missing port.
pub fn build_driver(
    location: &str,
    driver: &str,
    raw: &Value,
    deps: &DriverDeps,
) -> Result<Arc<dyn BlobStorage>, BuildError> {
    let wrap = |source| BuildError::Driver {
        location: location.to_string(),
        source,
    };
    let crypto = deps.crypto.clone();
    Ok(match driver {
        "LocalStorage" => {
            let p: LocalStorageParams = params(location, driver, raw)?;
            Arc::new(LocalStorage::new(&p))
        }
        "S3Storage" => {
            let p: S3StorageParams = params(location, driver, raw)?;
            Arc::new(s3_driver(location, driver, &p, deps, false)?)
        }
        "RadosGWStorage" | "RHOCSStorage" => {
            let p: RadosGwStorageParams = params(location, driver, raw)?;
            Arc::new(S3Storage::new(p.to_config().map_err(wrap)?, crypto).map_err(wrap)?)
        }
        "IBMCloudStorage" => {
            let p: IbmCloudStorageParams = params(location, driver, raw)?;
            Arc::new(S3Storage::new(p.to_config().map_err(wrap)?, crypto).map_err(wrap)?)
        }
        "GoogleCloudStorage" => {
            let p: GoogleCloudStorageParams = params(location, driver, raw)?;
            Arc::new(S3Storage::new(p.to_config(None).map_err(wrap)?, crypto).map_err(wrap)?)
        }
        "STSS3Storage" => {
            let p: StsS3StorageParams = params(location, driver, raw)?;
            let role = p.role(crypto.clone(), None).map_err(wrap)?;
            Arc::new(
                S3Storage::with_assumed_role(p.to_config().map_err(wrap)?, role, crypto)
                    .map_err(wrap)?,
            )
        }
        "CloudFrontedS3Storage" | "CloudFlareStorage" | "AkamaiS3Storage" | "MultiCDNStorage" => {
            cdn::build(location, driver, raw, deps)?
        }
        "SwiftStorage" => {
            let p: SwiftStorageParams = params(location, driver, raw)?;
            let cleanup = deps
                .chunk_cleanup
                .clone()
                .map(|sink| (location.to_string(), sink));
            Arc::new(SwiftStorage::new(&p, crypto, cleanup).map_err(wrap)?)
        }
        "AzureStorage" => {
            let p: AzureStorageParams = params(location, driver, raw)?;
            Arc::new(AzureStorage::new(&p, crypto).map_err(wrap)?)
        }
        other => {
            return Err(BuildError::UnknownDriver {
                location: location.to_string(),
                name: other.to_string(),
            });
        }
    })
}

/// Builds every location of `DISTRIBUTED_STORAGE_CONFIG` (`location → [driver, params]`, in
/// configuration order) and the `DistributedStorage` over them.
///
/// # Errors
/// The first [`BuildError`].
pub fn build_distributed(
    config: &[(String, String, Value)],
    preference: Option<Vec<String>>,
    default_locations: Vec<String>,
    readonly: bool,
    deps: &DriverDeps,
) -> Result<DistributedStorage, BuildError> {
    let mut locations = Vec::new();
    for (location, driver, raw) in config {
        locations.push((location.clone(), build_driver(location, driver, raw, deps)?));
    }
    Ok(DistributedStorage::new(
        locations,
        preference,
        default_locations,
        readonly,
    )?)
}

/// Parses a `DISTRIBUTED_STORAGE_CONFIG` JSON value (`{location: [driver, params]}`) into the
/// list [`build_distributed`] takes. `serde_json` maps are sorted by key, so callers that need
/// Quay's default preference (configuration order) pass the preference explicitly.
///
/// # Errors
/// `Params` (location `DISTRIBUTED_STORAGE_CONFIG`) when an entry is not `[name, {params}]`.
pub fn parse_config(value: &Value) -> Result<Vec<(String, String, Value)>, BuildError> {
    let shape = |msg: &str| BuildError::Params {
        location: "DISTRIBUTED_STORAGE_CONFIG".into(),
        driver: String::new(),
        source: serde::de::Error::custom(msg),
    };
    let Value::Object(map) = value else {
        return Err(shape("expected a map of location to [driver, params]"));
    };
    map.iter()
        .map(|(location, entry)| {
            let name = entry
                .get(0)
                .and_then(Value::as_str)
                .ok_or_else(|| shape("an entry must be [driver name, {params}]"))?;
            let params = entry
                .get(1)
                .cloned()
                .unwrap_or_else(|| Value::Object(serde_json::Map::new()));
            Ok((location.clone(), name.to_string(), params))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct NoCrypto;
    impl StorageCrypto for NoCrypto {
        fn hmac(
            &self,
            _: quay_ports::storage::signing::MacAlgorithm,
            _: &[u8],
            _: &[u8],
        ) -> Result<Vec<u8>, quay_ports::storage::signing::SigningError> {
            Ok(vec![0; 32])
        }
        fn sha256(&self, _: &[u8]) -> Result<[u8; 32], quay_ports::storage::signing::SigningError> {
            Ok([0; 32])
        }
    }

    fn deps() -> DriverDeps {
        DriverDeps {
            crypto: Arc::new(NoCrypto),
            cdn_signers: None,
            client_network: None,
            chunk_cleanup: None,
            aws_chain: None,
        }
    }

    #[test]
    fn builds_quay_configs_and_names_bad_ones() {
        let cfg = serde_json::json!({
            "local_us": ["LocalStorage", {"storage_path": "/datastorage/registry"}],
            "s3_eu": ["S3Storage", {"storage_path": "/r", "s3_bucket": "b",
                                    "s3_access_key": "a", "s3_secret_key": "s"}],
            "rgw": ["RadosGWStorage", {"hostname": "rgw", "is_secure": false, "storage_path": "/r",
                                      "access_key": "a", "secret_key": "s", "bucket_name": "b"}],
        });
        let parsed = parse_config(&cfg).unwrap();
        let d = build_distributed(&parsed, None, vec!["s3_eu".into()], false, &deps()).unwrap();
        assert_eq!(d.location_names(), ["local_us", "rgw", "s3_eu"]);
        let err = build_driver("x", "FakeStorage", &serde_json::json!({}), &deps()).unwrap_err();
        assert!(
            err.to_string()
                .contains("unknown storage driver `FakeStorage`"),
            "{err}"
        );
        let err = build_driver(
            "x",
            "S3Storage",
            &serde_json::json!({"s3_bukket": 1}),
            &deps(),
        )
        .unwrap_err();
        assert!(matches!(err, BuildError::Params { .. }), "{err}");
        let err = build_driver(
            "cf",
            "CloudFrontedS3Storage",
            &serde_json::json!({"cloudfront_distribution_domain": "d", "cloudfront_key_id": "k",
                "cloudfront_privatekey_filename": "f", "storage_path": "/", "s3_bucket": "b",
                "s3_access_key": "a", "s3_secret_key": "s", "s3_region": "us-east-1"}),
            &deps(),
        )
        .unwrap_err();
        assert!(matches!(err, BuildError::Missing { .. }), "{err}");
    }
}
