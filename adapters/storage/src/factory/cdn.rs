//! The CDN-fronted S3 drivers of the factory: `CloudFrontedS3Storage`, `CloudFlareStorage`,
//! `AkamaiS3Storage` and `MultiCDNStorage` (whose providers are built through
//! [`super::build_driver`]).

use std::sync::Arc;

use quay_ports::storage::BlobStorage;
use quay_ports::storage::signing::CdnSignerFactory;
use serde_json::Value;

use super::{BuildError, DriverDeps, build_driver, params, s3_driver};
use crate::cdn::{
    AkamaiS3StorageParams, CdnKind, CdnS3Storage, CloudFlareStorageParams, MultiCdnStorage,
    MultiCdnStorageParams, required_region,
};
use crate::s3::cloudfront::{CloudFrontedS3Storage, CloudFrontedS3StorageParams};

fn signers<'a>(
    location: &str,
    driver: &str,
    deps: &'a DriverDeps,
) -> Result<&'a Arc<dyn CdnSignerFactory>, BuildError> {
    deps.cdn_signers
        .as_ref()
        .ok_or_else(|| BuildError::Missing {
            location: location.to_string(),
            driver: driver.to_string(),
            what: "a CDN URL signer",
        })
}

/// Builds one of the CDN drivers.
///
/// # Errors
/// As [`super::build_driver`].
pub(super) fn build(
    location: &str,
    driver: &str,
    raw: &Value,
    deps: &DriverDeps,
) -> Result<Arc<dyn BlobStorage>, BuildError> {
    let wrap = |source| BuildError::Driver {
        location: location.to_string(),
        source,
    };
    Ok(match driver {
        "CloudFrontedS3Storage" => {
            let p: CloudFrontedS3StorageParams = params(location, driver, raw)?;
            let signer = signers(location, driver, deps)?
                .cloudfront(&p.cloudfront_key_id, &p.cloudfront_privatekey_filename)
                .map_err(|e| wrap(e.into()))?;
            let s3 = s3_driver(location, driver, &p.s3, deps, false)?;
            Arc::new(CloudFrontedS3Storage::new(
                s3,
                &p,
                signer,
                deps.client_network.clone(),
            ))
        }
        "CloudFlareStorage" => {
            let p: CloudFlareStorageParams = params(location, driver, raw)?;
            let region = required_region(&p.s3).map_err(wrap)?;
            let signer = signers(location, driver, deps)?
                .cloudflare(
                    &p.cloudflare_domain,
                    &p.cloudflare_privatekey_filename,
                    &region,
                )
                .map_err(|e| wrap(e.into()))?;
            let s3 = s3_driver(location, driver, &p.s3, deps, true)?;
            Arc::new(CdnS3Storage::new(
                CdnKind::CloudFlare,
                s3,
                region,
                signer,
                deps.client_network.clone(),
            ))
        }
        "AkamaiS3Storage" => {
            use secrecy::ExposeSecret as _;
            let p: AkamaiS3StorageParams = params(location, driver, raw)?;
            let region = required_region(&p.s3).map_err(wrap)?;
            let signer = signers(location, driver, deps)?
                .akamai(
                    &p.akamai_domain,
                    p.akamai_shared_secret.expose_secret(),
                    &region,
                )
                .map_err(|e| wrap(e.into()))?;
            let s3 = s3_driver(location, driver, &p.s3, deps, true)?;
            Arc::new(CdnS3Storage::new(
                CdnKind::Akamai,
                s3,
                region,
                signer,
                deps.client_network.clone(),
            ))
        }
        "MultiCDNStorage" => {
            let p: MultiCdnStorageParams = params(location, driver, raw)?;
            let plan = p.plan().map_err(wrap)?;
            let mut providers = Vec::new();
            for (name, provider_driver, merged) in &plan.providers {
                let inner = format!("{location}.providers.{name}");
                providers.push((
                    name.clone(),
                    build_driver(&inner, provider_driver, merged, deps)?,
                ));
            }
            Arc::new(
                MultiCdnStorage::new(
                    providers,
                    &plan.default_provider,
                    plan.rules,
                    deps.client_network.clone(),
                )
                .map_err(wrap)?,
            )
        }
        other => {
            return Err(BuildError::UnknownDriver {
                location: location.to_string(),
                name: other.to_string(),
            });
        }
    })
}
