//! The S3 family against moto (`cargo xtask services up`), plus SigV4 against AWS's examples.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quay_adapter_storage::S3Storage;
use quay_adapter_storage::s3::params::S3StorageParams;
use quay_adapter_storage::s3::sigv4::{Credentials, Signer, Unsigned};
use quay_ports::storage::BlobStorage;
use quay_ports::storage::conformance::Harness;
use url::Url;

use crate::support::{CliCrypto, service_env, unique};

pub const BUCKET: &str = "quay-conformance";

/// `S3Storage` parameters for the test server, as an operator would write them.
pub fn params(root: &str) -> S3StorageParams {
    serde_json::from_value(serde_json::json!({
        "storage_path": format!("/{root}"),
        "s3_bucket": BUCKET,
        "s3_access_key": service_env("QUAY_TEST_S3_ACCESS_KEY"),
        "s3_secret_key": service_env("QUAY_TEST_S3_SECRET_KEY"),
        "endpoint_url": service_env("QUAY_TEST_S3_ENDPOINT"),
    }))
    .expect("valid S3Storage parameters")
}

pub async fn open(root: &str) -> S3Storage {
    let s = S3Storage::new(
        params(root).to_config().expect("config"),
        Arc::new(CliCrypto),
    )
    .expect("driver");
    s.create_bucket().await.expect("creating the test bucket");
    s
}

struct S3;

#[async_trait]
impl Harness for S3 {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(open(root).await)
    }
    fn fresh_root(&self) -> String {
        unique("s3")
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

quay_ports::blob_storage_conformance!(S3);

fn example_creds() -> Credentials {
    Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
            .to_string()
            .into(),
        session_token: None,
    }
}

/// 2013-05-24T00:00:00Z, the instant of AWS's SigV4 examples.
const EXAMPLE_TIME: i64 = 1_369_353_600;

#[test]
fn sigv4_header_signature_matches_aws_example() {
    // "Example: GET Object" of the S3 SigV4 header-signing documentation.
    let signer = Signer::new(Arc::new(CliCrypto), "us-east-1", "s3");
    let req = Unsigned {
        method: "GET",
        host: "examplebucket.s3.amazonaws.com",
        path: "/test.txt",
        query: vec![],
        headers: vec![("range".into(), "bytes=0-9".into())],
    };
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let headers = signer
        .sign_headers(&req, empty, EXAMPLE_TIME, &example_creds())
        .unwrap();
    let auth = &headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .unwrap()
        .1;
    assert_eq!(
        auth,
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
         SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
         Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    );
}

#[test]
fn sigv4_presigned_url_matches_aws_example() {
    // "Example of a presigned URL" of the S3 query-string authentication documentation.
    let signer = Signer::new(Arc::new(CliCrypto), "us-east-1", "s3");
    let req = Unsigned {
        method: "GET",
        host: "examplebucket.s3.amazonaws.com",
        path: "/test.txt",
        query: vec![],
        headers: vec![],
    };
    let q = signer
        .presign_query(&req, EXAMPLE_TIME, 86_400, &example_creds())
        .unwrap();
    assert!(
        q.ends_with(
            "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
        ),
        "{q}"
    );
}

#[tokio::test]
async fn storage_metadata_is_what_python_quay_writes() {
    let s = open(&unique("s3meta")).await;
    let st = s.begin_upload().await.unwrap();
    assert_eq!(st.metadata, r#"{"chunks": []}"#);
    let (_, st) = s
        .upload_chunk(&st, 0, quay_ports::storage::stream::once("hello"))
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&st.metadata).unwrap();
    let chunk = &v["chunks"][0];
    assert!(chunk[0].as_str().unwrap().starts_with("uploads/"));
    assert_eq!((chunk[1].as_u64(), chunk[2].as_u64()), (Some(0), Some(5)));
    // A state written by Python Quay (json.dumps of namedtuples) is read back.
    let python = quay_ports::storage::UploadState {
        upload_id: st.upload_id.clone(),
        metadata: format!(
            r#"{{"chunks": [["{}", 0, 5]]}}"#,
            chunk[0].as_str().unwrap()
        ),
    };
    s.complete_upload(&python, "sha256/2c/2cf2").await.unwrap();
    let got = s.get_bytes("sha256/2c/2cf2", 100).await.unwrap();
    assert_eq!(&got[..], b"hello");
    let _ = Duration::from_secs(0);
}

mod cloudfront {
    use std::net::IpAddr;
    use std::sync::Arc;
    use std::time::Duration;

    use quay_adapter_storage::s3::cloudfront::{
        CloudFrontedS3Storage, CloudFrontedS3StorageParams,
    };
    use quay_ports::storage::redirect::ClientNetwork;
    use quay_ports::storage::signing::{CdnUrlSigner, SigningError};
    use quay_ports::storage::{BlobStorage, DownloadUrlRequest};

    /// Marks URLs as signed (the RSA canned-policy signature itself is quay-fips's, tested there).
    #[derive(Debug)]
    struct MarkSigner;
    impl CdnUrlSigner for MarkSigner {
        fn sign_url(&self, url: &str, expires: i64) -> Result<String, SigningError> {
            let sep = if url.contains('?') { '&' } else { '?' };
            Ok(format!(
                "{url}{sep}Expires={expires}&Signature=sig&Key-Pair-Id=KP"
            ))
        }
    }

    /// 10.0.0.0/8 is "AWS us-east-1", everything else is outside.
    #[derive(Debug)]
    struct FakeNetwork;
    impl ClientNetwork for FakeNetwork {
        fn aws_region(&self, ip: IpAddr) -> Option<String> {
            matches!(ip, IpAddr::V4(v) if v.octets()[0] == 10).then(|| "us-east-1".to_string())
        }
    }

    fn params(root: &str) -> CloudFrontedS3StorageParams {
        serde_json::from_value(serde_json::json!({
            "cloudfront_distribution_domain": "d111.cloudfront.net",
            "cloudfront_key_id": "KP",
            "cloudfront_privatekey_filename": "cloudfront.pem",
            "cloudfront_distribution_org_overrides": {"acme": "acme.cloudfront.net"},
            "storage_path": format!("/{root}"),
            "s3_bucket": super::BUCKET,
            "s3_access_key": "a",
            "s3_secret_key": "s",
            "s3_region": "us-east-1",
        }))
        .expect("valid CloudFrontedS3Storage parameters")
    }

    fn storage() -> CloudFrontedS3Storage {
        let p = params("root");
        let s3 = quay_adapter_storage::S3Storage::new(
            p.s3.to_config().unwrap(),
            Arc::new(crate::support::CliCrypto),
        )
        .unwrap();
        CloudFrontedS3Storage::new(s3, &p, Arc::new(MarkSigner), Some(Arc::new(FakeNetwork)))
    }

    fn request(ip: Option<&str>, ns: Option<&str>) -> DownloadUrlRequest {
        let mut r = DownloadUrlRequest::get(1_700_000_000, Duration::from_secs(600));
        r.client_ip = ip.map(|i| i.parse().unwrap());
        r.namespace = ns.map(str::to_string);
        r.cdn_arguments = vec![
            ("username".into(), "joe".into()),
            ("namespace".into(), ns.unwrap_or("None").into()),
            ("repo_name".into(), "app".into()),
            ("cdn_specific".into(), "False".into()),
        ];
        r
    }

    #[tokio::test]
    async fn outside_clients_get_cloudfront_urls() {
        let url = storage()
            .direct_download_url("sha256/ab/abc", &request(Some("203.0.113.9"), Some("acme")))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://acme.cloudfront.net/sha256/ab/abc?username=joe&namespace=acme&repo_name=app\
             &cdn_specific=False&Expires=1700000600&Signature=sig&Key-Pair-Id=KP"
        );
        let url = storage()
            .direct_download_url(
                "sha256/ab/abc",
                &request(Some("203.0.113.9"), Some("other")),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(url.host_str(), Some("d111.cloudfront.net"));
    }

    #[tokio::test]
    async fn same_region_and_unknown_clients_get_s3_urls() {
        for ip in [Some("10.1.2.3"), None] {
            let url = storage()
                .direct_download_url("sha256/ab/abc", &request(ip, Some("acme")))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                url.host_str(),
                Some(format!("{}.s3.us-east-1.amazonaws.com", super::BUCKET).as_str())
            );
            assert_eq!(url.path(), "/root/sha256/ab/abc");
            assert!(url.query().unwrap().contains("X-Amz-Signature="));
        }
    }
}

mod sts {
    use std::sync::Arc;

    use quay_adapter_storage::S3Storage;
    use quay_adapter_storage::s3::sts::StsS3StorageParams;
    use quay_ports::storage::{BlobStorage, stream};

    use crate::support::{CliCrypto, service_env, unique};

    /// `STSS3Storage` assumes its role through STS (moto's) and signs S3 calls with the
    /// temporary credentials.
    #[tokio::test]
    async fn assumes_the_role_and_uses_its_credentials() {
        let endpoint = service_env("QUAY_TEST_S3_ENDPOINT");
        let p: StsS3StorageParams = serde_json::from_value(serde_json::json!({
            "storage_path": format!("/{}", unique("sts")),
            "s3_bucket": super::BUCKET,
            "sts_role_arn": "arn:aws:iam::123456789012:role/quay",
            "sts_user_access_key": service_env("QUAY_TEST_S3_ACCESS_KEY"),
            "sts_user_secret_key": service_env("QUAY_TEST_S3_SECRET_KEY"),
            "endpoint_url": endpoint,
        }))
        .unwrap();
        let role = p.role(Arc::new(CliCrypto), Some(&endpoint)).unwrap();
        let client = reqwest::Client::new();
        let creds = role.credentials(&client).await.expect("AssumeRole");
        assert!(creds.session_token.is_some());
        assert_ne!(creds.access_key, service_env("QUAY_TEST_S3_ACCESS_KEY"));
        let again = role.credentials(&client).await.unwrap();
        assert_eq!(
            again.access_key, creds.access_key,
            "cached until near expiry"
        );
        let s = S3Storage::with_assumed_role(p.to_config().unwrap(), role, Arc::new(CliCrypto))
            .unwrap();
        s.create_bucket().await.unwrap();
        s.put("x", stream::once("data"), Some(4)).await.unwrap();
        assert_eq!(&s.get_bytes("x", 10).await.unwrap()[..], b"data");
    }
}
