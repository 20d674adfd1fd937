//! `CloudFlareStorage`, `AkamaiS3Storage` and `MultiCDNStorage` against moto: they store like S3
//! (the conformance suite) and choose between the S3 URL and the CDN URL as Quay does. The CDN
//! signatures themselves are quay-fips's (checked against Python vectors there and in bin);
//! here a recording signer shows what the driver asks to sign.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use quay_adapter_storage::S3Storage;
use quay_adapter_storage::cdn::{CdnKind, CdnS3Storage};
use quay_ports::storage::conformance::Harness;
use quay_ports::storage::redirect::ClientNetwork;
use quay_ports::storage::signing::{CdnMetricParams, CdnRewriteSigner, SigningError};
use quay_ports::storage::{BlobStorage, DownloadUrlRequest};
use url::Url;

use crate::support::{CliCrypto, unique};

/// One signing request: the S3 URL, now, lifetime, and the metric parameters.
pub type SignCall = (String, i64, u64, [Option<String>; 3]);

/// Records what it is asked to sign and answers `https://cdn.test<path>?signed=<expiry>`.
#[derive(Debug, Default)]
pub struct RecordingSigner {
    pub calls: Mutex<Vec<SignCall>>,
    pub fail: bool,
}

impl CdnRewriteSigner for RecordingSigner {
    fn sign_s3_url(
        &self,
        s3_presigned_url: &str,
        now_unix: i64,
        expires_in_secs: u64,
        params: &CdnMetricParams<'_>,
    ) -> Result<String, SigningError> {
        let own = |v: Option<&str>| v.map(str::to_owned);
        self.calls.lock().unwrap().push((
            s3_presigned_url.to_owned(),
            now_unix,
            expires_in_secs,
            [
                own(params.namespace),
                own(params.username),
                own(params.repo_name),
            ],
        ));
        if self.fail {
            return Err(SigningError::Backend("refused".into()));
        }
        let url = Url::parse(s3_presigned_url).unwrap();
        Ok(format!("https://cdn.test{}?signed={now_unix}", url.path()))
    }
}

/// 10.0.0.0/8 is AWS us-east-1 (continent NA), 10.9.0.0/16 AWS eu-west-1 (EU), 203.0.113.0/24
/// is outside AWS in Africa; everything else is unknown.
#[derive(Debug)]
pub struct FakeNetwork;

impl ClientNetwork for FakeNetwork {
    fn aws_region(&self, ip: IpAddr) -> Option<String> {
        let IpAddr::V4(v) = ip else { return None };
        match v.octets() {
            [10, 9, ..] => Some("eu-west-1".into()),
            [10, ..] => Some("us-east-1".into()),
            _ => None,
        }
    }
    fn continent(&self, ip: IpAddr) -> Option<String> {
        let IpAddr::V4(v) = ip else { return None };
        match v.octets() {
            [10, 9, ..] => Some("EU".into()),
            [10, ..] => Some("NA".into()),
            [203, 0, 113, _] => Some("AF".into()),
            _ => None,
        }
    }
}

/// An S3 driver on moto, path-style as the CDN drivers build theirs.
async fn s3(root: &str) -> S3Storage {
    let mut cfg = crate::s3::params(root).to_config().expect("config");
    cfg.virtual_host = false;
    let s = S3Storage::new(cfg, Arc::new(CliCrypto)).expect("driver");
    s.create_bucket().await.expect("bucket");
    s
}

async fn cdn(kind: CdnKind, root: &str, signer: Arc<RecordingSigner>) -> CdnS3Storage {
    CdnS3Storage::new(
        kind,
        s3(root).await,
        "us-east-1".into(),
        signer,
        Some(Arc::new(FakeNetwork)),
    )
}

struct CdnHarness(CdnKind);

#[async_trait]
impl Harness for CdnHarness {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(cdn(self.0, root, Arc::default()).await)
    }
    fn fresh_root(&self) -> String {
        unique("cdn")
    }
    fn now_unix(&self) -> i64 {
        quay_adapter_storage::now_unix()
    }
    async fn fetch(&self, url: &Url) -> (u16, Vec<u8>) {
        crate::support::fetch(url).await
    }
    fn signs_urls(&self) -> bool {
        true
    }
    fn server_checks_url_signatures(&self) -> bool {
        false
    }
}

mod cloudflare_conformance {
    quay_ports::blob_storage_conformance!(super::CdnHarness(
        quay_adapter_storage::cdn::CdnKind::CloudFlare
    ));
}

mod akamai_conformance {
    quay_ports::blob_storage_conformance!(super::CdnHarness(
        quay_adapter_storage::cdn::CdnKind::Akamai
    ));
}

fn request(ip: Option<&str>, cdn_specific: bool) -> DownloadUrlRequest {
    let mut r = DownloadUrlRequest::get(1_700_000_000, Duration::from_secs(600)).with_pull_context(
        Some("joe"),
        "acme",
        "app",
        cdn_specific,
    );
    r.client_ip = ip.map(|i| i.parse().unwrap());
    r
}

fn is_s3(url: &Url) -> bool {
    url.query().is_some_and(|q| q.contains("X-Amz-Signature="))
        && url
            .as_str()
            .starts_with(&crate::support::service_env("QUAY_TEST_S3_ENDPOINT"))
}

#[tokio::test]
async fn cdn_urls_only_for_clients_outside_the_buckets_region() {
    for kind in [CdnKind::CloudFlare, CdnKind::Akamai] {
        let signer = Arc::new(RecordingSigner::default());
        let s = cdn(kind, &unique("cdnurl"), signer.clone()).await;
        let url = |ip, specific| {
            let s = &s;
            async move {
                s.direct_download_url("sha256/ab/abc", &request(ip, specific))
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        // No client address, or a client in the bucket's AWS region: the S3 URL.
        assert!(is_s3(&url(None, false).await));
        assert!(is_s3(&url(Some("10.1.2.3"), false).await));
        assert!(signer.calls.lock().unwrap().is_empty());
        // ... unless the namespace is CDN-specific.
        let u = url(Some("10.1.2.3"), true).await;
        assert_eq!(u.host_str(), Some("cdn.test"), "{kind:?}");
        // Another AWS region, or outside AWS: the CDN.
        assert_eq!(
            url(Some("10.9.0.1"), false).await.host_str(),
            Some("cdn.test")
        );
        let u = url(Some("198.51.100.7"), false).await;
        assert_eq!(u.host_str(), Some("cdn.test"));
        assert_eq!(u.query(), Some("signed=1700000000"));
        let calls = signer.calls.lock().unwrap();
        assert_eq!(calls.len(), 3);
        let (s3_url, now, expires_in, params) = &calls[2];
        // The URL handed to the signer is the path-style S3 presigned URL.
        let s3_url = Url::parse(s3_url).unwrap();
        assert!(is_s3(&s3_url), "{s3_url}");
        assert!(
            s3_url
                .path()
                .starts_with(&format!("/{}/", crate::s3::BUCKET)),
            "{s3_url}"
        );
        assert!(s3_url.path().ends_with("/sha256/ab/abc"));
        assert_eq!((*now, *expires_in), (1_700_000_000, 600));
        assert_eq!(
            params,
            &[Some("acme".into()), Some("joe".into()), Some("app".into())]
        );
    }
}

#[tokio::test]
async fn akamai_falls_back_to_s3_when_signing_fails_cloudflare_does_not() {
    let failing = || {
        Arc::new(RecordingSigner {
            fail: true,
            ..RecordingSigner::default()
        })
    };
    let akamai = cdn(CdnKind::Akamai, &unique("cdnfail"), failing()).await;
    let url = akamai
        .direct_download_url("sha256/ab/abc", &request(Some("198.51.100.7"), false))
        .await
        .unwrap()
        .unwrap();
    assert!(is_s3(&url));
    let cloudflare = cdn(CdnKind::CloudFlare, &unique("cdnfail"), failing()).await;
    assert!(
        cloudflare
            .direct_download_url("sha256/ab/abc", &request(Some("198.51.100.7"), false))
            .await
            .is_err()
    );
}

mod multi {
    use super::*;
    use quay_adapter_storage::cdn::multi::{MultiCdnStorage, Rule};

    fn rule(ns: Option<&str>, continent: Option<&str>, host: Option<&str>, target: &str) -> Rule {
        Rule {
            namespace: ns.map(str::to_owned),
            continent: continent.map(str::to_owned),
            host: host.map(str::to_owned),
            target: target.to_owned(),
        }
    }

    #[tokio::test]
    async fn rules_pick_the_provider_and_the_default_stores() {
        let root = unique("multicdn");
        let (cf, ak) = (
            Arc::new(RecordingSigner::default()),
            Arc::new(RecordingSigner::default()),
        );
        let providers: Vec<(String, Arc<dyn BlobStorage>)> = vec![
            (
                "CloudFlare".into(),
                Arc::new(cdn(CdnKind::CloudFlare, &root, cf.clone()).await),
            ),
            (
                "Akamai".into(),
                Arc::new(cdn(CdnKind::Akamai, &root, ak.clone()).await),
            ),
        ];
        let multi = MultiCdnStorage::new(
            providers,
            "Akamai",
            vec![
                rule(Some("acme"), None, Some("quay.io"), "CloudFlare"),
                rule(None, Some("AF"), None, "CloudFlare"),
            ],
            Some(Arc::new(FakeNetwork)),
        )
        .unwrap();
        let pick = |ip: &str, host: Option<&str>| {
            let mut r = request(Some(ip), false);
            r.host = host.map(str::to_owned);
            multi.provider_for(&r).0.to_owned()
        };
        assert_eq!(pick("198.51.100.7", Some("quay.io")), "CloudFlare");
        assert_eq!(pick("198.51.100.7", Some("other.io")), "Akamai");
        assert_eq!(pick("203.0.113.5", None), "CloudFlare");
        assert_eq!(pick("10.9.0.1", None), "Akamai");
        let url = multi
            .direct_download_url("sha256/ab/abc", &request(Some("203.0.113.5"), false))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(url.host_str(), Some("cdn.test"));
        assert_eq!(
            (
                cf.calls.lock().unwrap().len(),
                ak.calls.lock().unwrap().len()
            ),
            (1, 0)
        );
        // Reads and writes go to the default provider's bucket.
        multi
            .put(
                "sha256/ab/abc",
                quay_ports::storage::stream::once("multi"),
                Some(5),
            )
            .await
            .unwrap();
        assert_eq!(
            &multi.get_bytes("sha256/ab/abc", 10).await.unwrap()[..],
            b"multi"
        );
        assert!(!multi.supports_resumable_downloads());
    }

    /// Signs as `https://<host><path>`, so the URL tells which provider answered.
    #[derive(Debug)]
    struct HostSigner(&'static str);

    impl CdnRewriteSigner for HostSigner {
        fn sign_s3_url(
            &self,
            s3_presigned_url: &str,
            _now_unix: i64,
            _expires_in_secs: u64,
            _params: &CdnMetricParams<'_>,
        ) -> Result<String, SigningError> {
            let url = Url::parse(s3_presigned_url).unwrap();
            Ok(format!("https://{}{}", self.0, url.path()))
        }
    }

    /// Continent rules resolved through a real MaxMind DB file (the IPLocate layout Quay ships
    /// and MaxMind's GeoLite2 layout): every continent goes to its provider, addresses the
    /// database does not know to the default.
    #[tokio::test]
    async fn continent_rules_follow_the_geoip_database() {
        use quay_adapter_storage::geoip::{GeoIpDatabase, IpResolver};
        const CONTINENTS: &[(&str, &str)] = &[
            ("AF", "af.cdn.test"),
            ("AN", "an.cdn.test"),
            ("AS", "as.cdn.test"),
            ("EU", "eu.cdn.test"),
            ("NA", "na.cdn.test"),
            ("OC", "oc.cdn.test"),
            ("SA", "sa.cdn.test"),
        ];
        let root = unique("multigeo");
        let s3 = s3(&root).await;
        let mut providers: Vec<(String, Arc<dyn BlobStorage>)> = Vec::new();
        let mut rules = Vec::new();
        for (continent, host) in CONTINENTS.iter().copied().chain([("", "default.cdn.test")]) {
            let name = if continent.is_empty() {
                "default"
            } else {
                continent
            };
            let signer: Arc<dyn CdnRewriteSigner> = Arc::new(HostSigner(host));
            providers.push((
                name.to_owned(),
                Arc::new(CdnS3Storage::new(
                    CdnKind::CloudFlare,
                    s3.clone(),
                    "us-east-1".into(),
                    signer,
                    None,
                )),
            ));
            if !continent.is_empty() {
                rules.push(rule(None, Some(continent), None, name));
            }
        }
        for file in ["ip-to-country.mmdb", "geolite2-country.mmdb"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/geoip")
                .join(file);
            let resolver = IpResolver::new(None, Some(GeoIpDatabase::from_file(&path).unwrap()));
            let multi = MultiCdnStorage::new(
                providers.clone(),
                "default",
                rules.clone(),
                Some(Arc::new(resolver)),
            )
            .unwrap();
            for (ip, host) in [
                ("41.1.2.3", "af.cdn.test"),
                ("2001:db8:a0::1", "an.cdn.test"),
                ("202.12.27.33", "as.cdn.test"),
                ("193.0.0.5", "eu.cdn.test"),
                ("2a00:1450::1", "eu.cdn.test"),
                ("8.8.8.8", "na.cdn.test"),
                ("::ffff:8.8.8.4", "na.cdn.test"),
                ("1.1.1.1", "oc.cdn.test"),
                ("200.160.1.1", "sa.cdn.test"),
                ("127.0.0.1", "default.cdn.test"),
                ("192.168.1.1", "default.cdn.test"),
            ] {
                let url = multi
                    .direct_download_url("sha256/ab/abc", &request(Some(ip), false))
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(url.host_str(), Some(host), "{file}: {ip}");
            }
            // No client address: no continent, the default provider, which then hands out the
            // plain S3 URL (as every CDN driver does without a client address).
            let url = multi
                .direct_download_url("sha256/ab/abc", &request(None, false))
                .await
                .unwrap()
                .unwrap();
            assert!(is_s3(&url), "{url}");
        }
    }
}
