//! Blob storage drivers of quay-rs.
#![doc = include_str!("../README.md")]

pub mod aws_credentials;
pub mod azure;
pub mod cdn;
pub mod distributed;
pub mod factory;
pub mod geoip;
pub mod http;
pub mod ipranges;
pub mod local;
pub mod proxy_backend;
pub mod pyjson;
pub mod s3;
pub mod swift;

pub use azure::{AzureStorage, AzureStorageParams};
pub use distributed::{DistributedConfigError, DistributedStorage};
pub use local::{LocalStorage, LocalStorageParams};
pub use s3::S3Storage;
pub use swift::{SwiftStorage, SwiftStorageParams};

/// The wall clock, Unix seconds (adapters may read it; the domain and application may not).
pub fn now_unix() -> i64 {
    #[expect(clippy::disallowed_methods, reason = "adapters own the wall clock")]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
