//! The driver table: each Quay storage driver's constructor parameters.
//!
//! From Quay's `storage/*.py` constructors: a missing required parameter or an unknown one
//! makes Python Quay's constructor call fail, so both are errors here.

use super::super::extract::{Ctx, Node};
use super::OtherDriver;

pub(super) struct DriverSpec {
    pub(super) name: &'static str,
    pub(super) driver: Option<OtherDriver>,
    pub(super) required: &'static [&'static str],
    pub(super) optional: &'static [&'static str],
    /// Forwards extra keyword arguments to `S3Storage`.
    pub(super) s3_kwargs: bool,
}

const S3_OPTIONAL: &[&str] = &[
    "s3_access_key",
    "s3_secret_key",
    "s3_region",
    "host",
    "port",
    "endpoint_url",
    "maximum_chunk_size_gb",
    "minimum_chunk_size_mb",
    "aws_session_token",
    "deferred_refreshable_credentials",
    "signature_version",
];
const RADOS_REQ: &[&str] = &[
    "hostname",
    "is_secure",
    "storage_path",
    "access_key",
    "secret_key",
    "bucket_name",
];
const RADOS_OPT: &[&str] = &[
    "region_name",
    "signature_version",
    "port",
    "minimum_chunk_size_mb",
    "maximum_chunk_size_mb",
    "server_side_assembly",
];

use OtherDriver as D;
pub(super) static DRIVERS: &[DriverSpec] = &[
    DriverSpec {
        name: "LocalStorage",
        driver: None,
        required: &["storage_path"],
        optional: &[],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "S3Storage",
        driver: None,
        required: &["storage_path", "s3_bucket"],
        optional: S3_OPTIONAL,
        s3_kwargs: false,
    },
    DriverSpec {
        name: "GoogleCloudStorage",
        driver: Some(D::GoogleCloudStorage),
        required: &["storage_path", "access_key", "secret_key", "bucket_name"],
        optional: &["boto_timeout", "minimum_chunk_size_mb", "signature_version"],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "RadosGWStorage",
        driver: Some(D::RadosGwStorage),
        required: RADOS_REQ,
        optional: RADOS_OPT,
        s3_kwargs: false,
    },
    DriverSpec {
        name: "RHOCSStorage",
        driver: Some(D::RhocsStorage),
        required: RADOS_REQ,
        optional: RADOS_OPT,
        s3_kwargs: false,
    },
    DriverSpec {
        name: "IBMCloudStorage",
        driver: Some(D::IbmCloudStorage),
        required: &[
            "hostname",
            "is_secure",
            "storage_path",
            "access_key",
            "secret_key",
            "bucket_name",
        ],
        optional: &["port", "maximum_chunk_size_mb", "signature_version"],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "STSS3Storage",
        driver: Some(D::StsS3Storage),
        required: &["storage_path", "s3_bucket"],
        optional: &[
            "sts_role_arn",
            "sts_user_access_key",
            "sts_user_secret_key",
            "s3_region",
            "endpoint_url",
            "maximum_chunk_size_gb",
            "signature_version",
        ],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "CloudFrontedS3Storage",
        driver: Some(D::CloudFrontedS3Storage),
        required: &[
            "cloudfront_distribution_domain",
            "cloudfront_key_id",
            "cloudfront_privatekey_filename",
            "storage_path",
            "s3_bucket",
            "s3_region",
        ],
        optional: &["cloudfront_distribution_org_overrides"],
        s3_kwargs: true,
    },
    DriverSpec {
        name: "CloudFlareStorage",
        driver: Some(D::CloudFlareStorage),
        required: &[
            "cloudflare_domain",
            "cloudflare_privatekey_filename",
            "storage_path",
            "s3_bucket",
            "s3_region",
        ],
        optional: &[],
        s3_kwargs: true,
    },
    DriverSpec {
        name: "AkamaiS3Storage",
        driver: Some(D::AkamaiS3Storage),
        required: &[
            "akamai_domain",
            "akamai_shared_secret",
            "storage_path",
            "s3_bucket",
            "s3_region",
        ],
        optional: &[],
        s3_kwargs: true,
    },
    DriverSpec {
        name: "MultiCDNStorage",
        driver: Some(D::MultiCdnStorage),
        required: &["storage_config", "providers", "default_provider", "rules"],
        optional: &[],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "SwiftStorage",
        driver: Some(D::SwiftStorage),
        required: &[
            "swift_container",
            "storage_path",
            "auth_url",
            "swift_user",
            "swift_password",
        ],
        optional: &[
            "auth_version",
            "os_options",
            "ca_cert_path",
            "temp_url_key",
            "simple_path_concat",
            "connect_timeout",
            "retry_count",
            "retry_on_ratelimit",
        ],
        s3_kwargs: false,
    },
    DriverSpec {
        name: "AzureStorage",
        driver: Some(D::AzureStorage),
        required: &["azure_container", "storage_path", "azure_account_name"],
        optional: &["azure_account_key", "sas_token", "endpoint_url"],
        s3_kwargs: false,
    },
];

pub(super) fn spec_of(driver: OtherDriver) -> &'static DriverSpec {
    DRIVERS
        .iter()
        .find(|s| s.driver == Some(driver))
        .unwrap_or(&DRIVERS[0])
}

/// Every valid driver name, for error messages.
pub(crate) fn driver_names() -> String {
    DRIVERS
        .iter()
        .map(|s| s.name)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn check_params(ctx: &mut Ctx, n: Node<'_>, spec: &DriverSpec) {
    for key in spec.required {
        if n.raw(key).is_none() {
            ctx.missing(n.key_path(key), format!("{} needs `{key}`", spec.name));
        }
    }
    let mut allowed: Vec<&str> = spec.required.iter().chain(spec.optional).copied().collect();
    if spec.s3_kwargs {
        allowed.extend(S3_OPTIONAL);
    }
    ctx.reject_unknown(n, &allowed);
}
