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
    let s = S3Storage::new(params(root).to_config().expect("config"), Arc::new(CliCrypto))
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
}

quay_ports::blob_storage_conformance!(S3);

fn example_creds() -> Credentials {
    Credentials {
        access_key: "AKIAIOSFODNN7EXAMPLE".into(),
        secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string().into(),
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
    let auth = &headers.iter().find(|(k, _)| k == "authorization").unwrap().1;
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
