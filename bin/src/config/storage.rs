//! `DISTRIBUTED_STORAGE_CONFIG` and friends.
//!
//! The config maps a location name to `[DriverName, {params}]`. The driver name picks a
//! variant of [`StorageDriver`]; an unknown name is an error listing the valid names (Python
//! Quay silently falls back to a fake driver). Parameters are checked against the driver's
//! constructor: missing required parameters and unknown ones are errors, as Python Quay's
//! constructor call would fail on them at start-up.

use std::collections::BTreeMap;
use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use super::extract::{Ctx, Node};
use super::redact::Params;

mod drivers;

pub(crate) use drivers::driver_names;
use drivers::{DRIVERS, check_params, spec_of};

/// `LocalStorage` parameters.
#[derive(Debug, Clone)]
pub struct LocalStorageParams {
    /// Directory holding the blobs.
    pub storage_path: PathBuf,
}

/// `S3Storage` parameters (Quay's constructor arguments).
#[derive(Debug, Clone)]
pub struct S3StorageParams {
    /// Key prefix inside the bucket.
    pub storage_path: String,
    /// Bucket name.
    pub s3_bucket: String,
    /// Access key id (absent: the AWS default credential chain).
    pub s3_access_key: Option<SecretString>,
    /// Secret access key.
    pub s3_secret_key: Option<SecretString>,
    /// Region.
    pub s3_region: Option<String>,
    /// Endpoint host for S3-compatible services.
    pub host: Option<String>,
    /// Endpoint port.
    pub port: Option<u16>,
    /// Full endpoint URL (takes precedence over host/port).
    pub endpoint_url: Option<Url>,
    /// Largest multipart chunk, in GB.
    pub maximum_chunk_size_gb: Option<f64>,
    /// Smallest multipart chunk, in MB.
    pub minimum_chunk_size_mb: Option<f64>,
    /// Session token for temporary credentials.
    pub aws_session_token: Option<SecretString>,
    /// Use refreshable credentials from the environment.
    pub deferred_refreshable_credentials: Option<bool>,
    /// Signature version (`s3v4`).
    pub signature_version: Option<String>,
}

/// Drivers whose parameters are kept as a checked but untyped map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherDriver {
    /// `GoogleCloudStorage`.
    GoogleCloudStorage,
    /// `RadosGWStorage`.
    RadosGwStorage,
    /// `RHOCSStorage` (ODF/NooBaa).
    RhocsStorage,
    /// `IBMCloudStorage`.
    IbmCloudStorage,
    /// `STSS3Storage`.
    StsS3Storage,
    /// `CloudFrontedS3Storage`.
    CloudFrontedS3Storage,
    /// `CloudFlareStorage`.
    CloudFlareStorage,
    /// `AkamaiS3Storage`.
    AkamaiS3Storage,
    /// `MultiCDNStorage`.
    MultiCdnStorage,
    /// `SwiftStorage`.
    SwiftStorage,
    /// `AzureStorage`.
    AzureStorage,
}

/// One storage location's driver and parameters. `Debug` hides secrets.
#[derive(Debug, Clone)]
pub enum StorageDriver {
    /// Local filesystem.
    Local(LocalStorageParams),
    /// Amazon S3 or an S3-compatible service.
    S3(Box<S3StorageParams>),
    /// Another Quay driver, parameters checked against its constructor.
    Other {
        /// Which driver.
        driver: OtherDriver,
        /// Its parameters (secrets redacted in `Debug`).
        params: Params,
    },
}

impl StorageDriver {
    /// The driver name as written in `config.yaml`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            StorageDriver::Local(_) => "LocalStorage",
            StorageDriver::S3(_) => "S3Storage",
            StorageDriver::Other { driver, .. } => spec_of(*driver).name,
        }
    }

    /// Whether the driver serves downloads through a CDN.
    #[must_use]
    pub fn is_cdn(&self) -> bool {
        matches!(
            self,
            StorageDriver::Other {
                driver: OtherDriver::CloudFrontedS3Storage
                    | OtherDriver::CloudFlareStorage
                    | OtherDriver::AkamaiS3Storage
                    | OtherDriver::MultiCdnStorage,
                ..
            }
        )
    }
}

/// The storage settings. `Debug` leaves out `config_dir` (a path of the machine, not a setting).
#[derive(Clone)]
pub struct StorageConfig {
    /// Location name → driver.
    pub locations: BTreeMap<String, StorageDriver>,
    /// `DISTRIBUTED_STORAGE_PREFERENCE`: uploads go to the first.
    pub preference: Vec<String>,
    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`: where new blobs are replicated.
    pub default_locations: Vec<String>,
    /// `USERFILES_LOCATION` (default: the first preferred location).
    pub userfiles_location: String,
    /// `USERFILES_PATH`.
    pub userfiles_path: String,
    /// The directory of `config.yaml`: relative key files of CDN drivers
    /// (`cloudfront_privatekey_filename`, `cloudflare_privatekey_filename`) are read from it, as
    /// Quay's config provider reads them from its volume.
    pub config_dir: Option<PathBuf>,
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageConfig")
            .field("locations", &self.locations)
            .field("preference", &self.preference)
            .field("default_locations", &self.default_locations)
            .field("userfiles_location", &self.userfiles_location)
            .field("userfiles_path", &self.userfiles_path)
            .finish()
    }
}

/// Parses one `[DriverName, {params}]` entry found at `path`.
pub(crate) fn parse_driver(ctx: &mut Ctx, path: &str, value: &Value) -> Option<StorageDriver> {
    let shape = "write [DriverName, {parameters}], e.g. [LocalStorage, {storage_path: /datastorage/registry}]";
    let Value::Array(pair) = value else {
        ctx.error(
            path,
            format!(
                "expected a [driver, parameters] pair, found {}",
                super::error::type_name(value)
            ),
            shape,
        );
        return None;
    };
    if pair.len() != 2 {
        ctx.error(
            path,
            format!("expected 2 items, found {}", pair.len()),
            shape,
        );
        return None;
    }
    let name_path = format!("{path}[0]");
    let Value::String(name) = &pair[0] else {
        ctx.wrong_type(name_path, "a driver name", &pair[0]);
        return None;
    };
    let Some(spec) = DRIVERS.iter().find(|s| s.name == name) else {
        ctx.error(
            name_path,
            format!("unknown storage driver `{name}`"),
            format!("use one of: {}", driver_names()),
        );
        return None;
    };
    let params_path = format!("{path}[1]");
    let Value::Object(params) = &pair[1] else {
        ctx.wrong_type(params_path, "a mapping of driver parameters", &pair[1]);
        return None;
    };
    let n = Node {
        map: params,
        path: &params_path,
    };
    check_params(ctx, n, spec);
    match spec.driver {
        None if spec.name == "LocalStorage" => local(ctx, n).map(StorageDriver::Local),
        None => s3(ctx, n).map(|p| StorageDriver::S3(Box::new(p))),
        Some(driver) => Some(StorageDriver::Other {
            driver,
            params: Params(params.clone()),
        }),
    }
}

fn local(ctx: &mut Ctx, n: Node<'_>) -> Option<LocalStorageParams> {
    let path = ctx.str(n, "storage_path")?;
    if path.is_empty() {
        ctx.error(
            n.key_path("storage_path"),
            "empty path",
            "give the directory that holds the blobs",
        );
        return None;
    }
    Some(LocalStorageParams {
        storage_path: PathBuf::from(path),
    })
}

fn s3(ctx: &mut Ctx, n: Node<'_>) -> Option<S3StorageParams> {
    let endpoint_url = ctx
        .str(n, "endpoint_url")
        .and_then(|u| match Url::parse(&u) {
            Ok(url) => Some(url),
            Err(e) => {
                ctx.error(
                    n.key_path("endpoint_url"),
                    format!("not a URL ({e})"),
                    "write https://host:port",
                );
                None
            }
        });
    let params = S3StorageParams {
        storage_path: ctx.str(n, "storage_path").unwrap_or_default(),
        s3_bucket: ctx.str(n, "s3_bucket").unwrap_or_default(),
        s3_access_key: ctx.secret(n, "s3_access_key"),
        s3_secret_key: ctx.secret(n, "s3_secret_key"),
        s3_region: ctx.str(n, "s3_region"),
        host: ctx.str(n, "host"),
        port: ctx.port(n, "port"),
        endpoint_url,
        maximum_chunk_size_gb: ctx.f64(n, "maximum_chunk_size_gb"),
        minimum_chunk_size_mb: ctx.f64(n, "minimum_chunk_size_mb"),
        aws_session_token: ctx.secret(n, "aws_session_token"),
        deferred_refreshable_credentials: ctx.bool(n, "deferred_refreshable_credentials"),
        signature_version: ctx.str(n, "signature_version"),
    };
    if params.s3_access_key.is_some() != params.s3_secret_key.is_some() {
        ctx.error(
            n.path,
            "s3_access_key and s3_secret_key must be given together",
            "set both, or neither to use the default AWS credential chain",
        );
    }
    (!params.s3_bucket.is_empty()).then_some(params)
}

/// Reads the whole storage block from the top level.
pub(crate) fn parse(ctx: &mut Ctx, root: Node<'_>) -> Option<StorageConfig> {
    const KEY: &str = "DISTRIBUTED_STORAGE_CONFIG";
    let map: Option<&Map<String, Value>> = ctx.object(root, KEY);
    let mut locations = BTreeMap::new();
    if let Some(map) = map {
        if map.is_empty() {
            ctx.error(
                KEY,
                "no storage location",
                "add one, e.g. default: [LocalStorage, {storage_path: /datastorage/registry}]",
            );
        }
        for (name, value) in map {
            if let Some(d) = parse_driver(ctx, &format!("{KEY}.{name}"), value) {
                locations.insert(name.clone(), d);
            }
        }
    } else if root.raw(KEY).is_none() {
        ctx.missing(KEY, "add default: [LocalStorage, {storage_path: /datastorage/registry}] or an S3Storage location");
    }
    let known: Vec<&str> = map
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let preference = ctx
        .str_list(root, "DISTRIBUTED_STORAGE_PREFERENCE")
        .unwrap_or_default();
    let default_locations = ctx
        .str_list(root, "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS")
        .unwrap_or_default();
    if map.is_some() {
        if preference.is_empty() && root.raw("DISTRIBUTED_STORAGE_PREFERENCE").is_some() {
            ctx.error(
                "DISTRIBUTED_STORAGE_PREFERENCE",
                "empty list",
                format!("list at least one of: {}", known.join(", ")),
            );
        } else if root.raw("DISTRIBUTED_STORAGE_PREFERENCE").is_none() {
            ctx.missing(
                "DISTRIBUTED_STORAGE_PREFERENCE",
                format!(
                    "list the locations to use, e.g. [{}]",
                    known.first().unwrap_or(&"default")
                ),
            );
        }
        check_names(ctx, "DISTRIBUTED_STORAGE_PREFERENCE", &preference, &known);
        check_names(
            ctx,
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS",
            &default_locations,
            &known,
        );
    }
    let userfiles_location = ctx
        .str(root, "USERFILES_LOCATION")
        .or_else(|| preference.first().cloned())
        .unwrap_or_default();
    if map.is_some()
        && root.raw("USERFILES_LOCATION").is_some()
        && !known.contains(&userfiles_location.as_str())
    {
        ctx.error(
            "USERFILES_LOCATION",
            format!("`{userfiles_location}` is not a storage location"),
            format!("use one of: {}", known.join(", ")),
        );
    }
    let userfiles_path = ctx
        .str(root, "USERFILES_PATH")
        .unwrap_or_else(|| "userfiles/".to_owned());
    map.map(|_| StorageConfig {
        locations,
        preference,
        default_locations,
        userfiles_location,
        userfiles_path,
        config_dir: None,
    })
}

fn check_names(ctx: &mut Ctx, key: &str, names: &[String], known: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        if !known.contains(&name.as_str()) {
            ctx.error(
                format!("{key}[{i}]"),
                format!("`{name}` is not a location of DISTRIBUTED_STORAGE_CONFIG"),
                format!("use one of: {}", known.join(", ")),
            );
        }
    }
}
