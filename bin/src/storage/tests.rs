//! CloudFlare and Akamai locations built as `serve` builds them (factory + quay-fips signers)
//! produce, byte for byte, the URLs computed independently in Python from Quay's algorithms
//! (`tests/fixtures/cdn/vectors.json`: SigV4 by hand with `hmac`, CloudFlare with
//! `cryptography`'s RSA PKCS#1 v1.5 SHA-256 and `urllib`, Akamai EdgeAuth with `hmac`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use quay_adapter_storage::factory::{DriverDeps, build_driver};
use quay_ports::storage::DownloadUrlRequest;
use serde_json::{Value, json};

use super::FipsCdnSigners;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cdn")
}

fn vectors() -> Value {
    serde_json::from_slice(&std::fs::read(fixtures().join("vectors.json")).unwrap()).unwrap()
}

fn deps() -> DriverDeps {
    DriverDeps {
        crypto: Arc::new(quay_fips::storage_signing::OpenSslStorageCrypto),
        cdn_signers: Some(Arc::new(FipsCdnSigners {
            config_dir: Some(fixtures()),
        })),
        client_network: None,
        chunk_cleanup: None,
        aws_chain: None,
    }
}

fn s3_params() -> serde_json::Map<String, Value> {
    let Value::Object(m) = json!({
        "storage_path": "/images",
        "s3_bucket": "quay-bucket",
        "s3_access_key": "AKIDEXAMPLE",
        "s3_secret_key": "quaytestsecretkey",
        "s3_region": "us-east-1",
    }) else {
        unreachable!()
    };
    m
}

fn request(ip: Option<&str>) -> DownloadUrlRequest {
    let now = vectors()["now"].as_i64().unwrap();
    let mut r = DownloadUrlRequest::get(now, Duration::from_secs(600)).with_pull_context(
        Some("joe"),
        "acme",
        "app",
        false,
    );
    r.client_ip = ip.map(|i| i.parse().unwrap());
    r
}

async fn url(driver: &str, extra: Value, ip: Option<&str>) -> String {
    let mut params = s3_params();
    params.extend(extra.as_object().unwrap().clone());
    let s = build_driver("cdn", driver, &Value::Object(params), &deps()).unwrap();
    s.direct_download_url("sha256/ab/abcdef0123", &request(ip))
        .await
        .unwrap()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn cloudflare_url_matches_the_python_vector() {
    let extra = json!({"cloudflare_domain": "cdn.example.org",
                       "cloudflare_privatekey_filename": "cloudflare-test.pem"});
    let v = vectors();
    assert_eq!(
        url("CloudFlareStorage", extra.clone(), Some("198.51.100.7")).await,
        v["cloudflare"].as_str().unwrap()
    );
    // Without a client address: the path-style S3 presigned URL, as boto3 signs it.
    assert_eq!(
        url("CloudFlareStorage", extra, None).await,
        v["s3_url"].as_str().unwrap()
    );
}

#[tokio::test]
async fn akamai_url_matches_the_python_vector() {
    let extra = json!({"akamai_domain": "akamai.example.org",
                       "akamai_shared_secret": "eee7e9157f81b2f6d471bf2c"});
    assert_eq!(
        url("AkamaiS3Storage", extra, Some("198.51.100.7")).await,
        vectors()["akamai"].as_str().unwrap()
    );
}

#[test]
fn bad_cdn_parameters_are_refused_at_build() {
    let build = |driver: &str, extra: Value| {
        let mut params = s3_params();
        params.extend(extra.as_object().unwrap().clone());
        build_driver("cdn", driver, &Value::Object(params), &deps())
    };
    let err = build(
        "CloudFlareStorage",
        json!({"cloudflare_domain": "d", "cloudflare_privatekey_filename": "missing.pem"}),
    )
    .unwrap_err();
    assert!(format!("{err:?}").contains("missing.pem"), "{err:?}");
    assert!(
        build(
            "AkamaiS3Storage",
            json!({"akamai_domain": "d", "akamai_shared_secret": "not hex"})
        )
        .is_err()
    );
    let mut no_region = s3_params();
    no_region.remove("s3_region");
    no_region.insert("akamai_domain".into(), json!("d"));
    no_region.insert("akamai_shared_secret".into(), json!("00"));
    assert!(build_driver("cdn", "AkamaiS3Storage", &Value::Object(no_region), &deps()).is_err());
    // MultiCDNStorage builds its providers from storage_config + their own parameters.
    let multi = json!({
        "storage_config": s3_params(),
        "providers": {
            "cf": ["CloudFlareStorage", {"cloudflare_domain": "cdn.example.org",
                   "cloudflare_privatekey_filename": "cloudflare-test.pem"}],
            "ak": ["AkamaiS3Storage", {"akamai_domain": "akamai.example.org",
                   "akamai_shared_secret": "eee7e9157f81b2f6d471bf2c"}]
        },
        "default_provider": "ak",
        "rules": [{"namespace": "acme", "target": "cf"}]
    });
    assert!(build_driver("multi", "MultiCDNStorage", &multi, &deps()).is_ok());
}
