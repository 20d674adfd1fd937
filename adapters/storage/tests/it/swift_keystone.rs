//! `SwiftStorage` with Keystone authentication, as Quay configures it through
//! python-swiftclient (`auth_version` and `os_options`).
//!
//! - v3: a real Keystone (Debian's `python3-keystone`) and a Swift proxy with keystonemiddleware
//!   `authtoken` + `keystoneauth`, started by `cargo xtask services up` (`QUAY_TEST_KEYSTONE_*`):
//!   the whole conformance suite, a user and project in a non-default domain, wrong passwords.
//! - v2: Keystone dropped the v2.0 API in Queens, so no current Keystone serves it. A local
//!   server answers `POST /v2.0/tokens` with a response in Keystone's v2.0 format, whose token
//!   is a real one from the v3 Keystone and whose catalog names the real proxy: the token
//!   exchange is checked against the v2 wire format and the data path against real Swift.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quay_adapter_storage::{SwiftStorage, SwiftStorageParams};
use quay_ports::storage::conformance::Harness;
use quay_ports::storage::{BlobStorage, StorageError, stream};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use crate::support::{CliCrypto, service_env, unique};

const CONTAINER: &str = "quay-keystone";
const TEMP_URL_KEY: &str = "quay-keystone-temp-url-key";

fn v3_params(root: &str, user: &str, password: &str, os_options: Value) -> SwiftStorageParams {
    serde_json::from_value(json!({
        "swift_container": CONTAINER,
        "storage_path": format!("/{root}"),
        "auth_url": service_env("QUAY_TEST_KEYSTONE_V3_URL"),
        "swift_user": user,
        "swift_password": password,
        "auth_version": 3,
        "os_options": os_options,
        "temp_url_key": TEMP_URL_KEY,
    }))
    .expect("valid SwiftStorage parameters")
}

/// User `quay` of project `quay` in domain `Default`, named as operators write it.
fn default_domain(root: &str) -> SwiftStorageParams {
    v3_params(
        root,
        &service_env("QUAY_TEST_KEYSTONE_USER"),
        &service_env("QUAY_TEST_KEYSTONE_PASSWORD"),
        json!({
            "project_name": service_env("QUAY_TEST_KEYSTONE_PROJECT"),
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            "region_name": "RegionOne",
        }),
    )
}

async fn open(params: &SwiftStorageParams) -> SwiftStorage {
    let s = SwiftStorage::new(params, Arc::new(CliCrypto), None).expect("driver");
    s.create_container()
        .await
        .expect("creating the test container through Keystone");
    s.set_temp_url_key(TEMP_URL_KEY)
        .await
        .expect("setting the TempURL key");
    s
}

struct KeystoneSwift;

#[async_trait]
impl Harness for KeystoneSwift {
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage> {
        Arc::new(open(&default_domain(root)).await)
    }
    fn fresh_root(&self) -> String {
        unique("swiftks")
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
    fn blob_parts_prefix(&self) -> Option<&'static str> {
        Some("segments/")
    }
}

quay_ports::blob_storage_conformance!(KeystoneSwift);

#[tokio::test]
async fn v3_user_and_project_in_another_domain() {
    let params = v3_params(
        &unique("swiftksdom"),
        &service_env("QUAY_TEST_KEYSTONE_DOMAIN_USER"),
        &service_env("QUAY_TEST_KEYSTONE_PASSWORD"),
        json!({
            "project_name": service_env("QUAY_TEST_KEYSTONE_DOMAIN_PROJECT"),
            "user_domain_name": service_env("QUAY_TEST_KEYSTONE_DOMAIN"),
            "project_domain_name": service_env("QUAY_TEST_KEYSTONE_DOMAIN"),
        }),
    );
    let s = open(&params).await;
    s.put("a/b", stream::once("domain data"), Some(11))
        .await
        .unwrap();
    assert_eq!(&s.get_bytes("a/b", 100).await.unwrap()[..], b"domain data");
    s.delete("a/b").await.unwrap();
    // The same user name looked up in the default domain does not exist.
    let mut wrong = params.clone();
    wrong.os_options.as_mut().unwrap()["user_domain_name"] = json!("Default");
    let s = SwiftStorage::new(&wrong, Arc::new(CliCrypto), None).unwrap();
    let err = s.stat("a/b").await.unwrap_err();
    assert!(err.to_string().contains("auth"), "{err}");
}

#[tokio::test]
async fn v3_wrong_password_is_a_clear_error() {
    let mut params = default_domain(&unique("swiftksbad"));
    params.swift_password = "not-the-password".to_string().into();
    let s = SwiftStorage::new(&params, Arc::new(CliCrypto), None).unwrap();
    let err = s.stat("x").await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable { .. }), "{err:?}");
    let chain = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(chain.contains("401"), "{chain}");
}

/// A real v3 token and the proxy's storage URL for user `quay`.
async fn real_v3_token() -> (String, String) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/auth/tokens",
            service_env("QUAY_TEST_KEYSTONE_V3_URL")
        ))
        .json(&json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": service_env("QUAY_TEST_KEYSTONE_USER"),
                "domain": {"name": "Default"},
                "password": service_env("QUAY_TEST_KEYSTONE_PASSWORD")}}},
            "scope": {"project": {"name": service_env("QUAY_TEST_KEYSTONE_PROJECT"),
                "domain": {"name": "Default"}}}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let token = resp.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_string();
    let body: Value = resp.json().await.unwrap();
    let project = body["token"]["project"]["id"].as_str().unwrap();
    let url = format!(
        "{}/v1/AUTH_{project}",
        service_env("QUAY_TEST_KEYSTONE_SWIFT_URL")
    );
    (token, url)
}

/// Keystone's v2.0 `POST /tokens` answer (the documented format of the Identity v2.0 API).
fn v2_access(token: &str, storage_url: &str) -> Value {
    json!({"access": {
        "token": {
            "issued_at": "2026-11-27T10:00:00.000000Z",
            "expires": "2099-01-01T00:00:00Z",
            "id": token,
            "tenant": {"description": null, "enabled": true, "id": "t1", "name": "quay"},
            "audit_ids": ["3T2dc1CGQxyJsHdDu1xkcw"]
        },
        "serviceCatalog": [
            {"endpoints": [{"adminURL": "http://127.0.0.1:1/v2.0", "region": "RegionOne",
                "internalURL": "http://127.0.0.1:1/v2.0", "id": "e1",
                "publicURL": "http://127.0.0.1:1/v2.0"}],
             "endpoints_links": [], "type": "identity", "name": "keystone"},
            {"endpoints": [
                {"adminURL": "http://127.0.0.1:2/wrong-region", "region": "RegionTwo",
                 "internalURL": "http://127.0.0.1:2/wrong-region", "id": "e2",
                 "publicURL": "http://127.0.0.1:2/wrong-region"},
                {"adminURL": storage_url, "region": "RegionOne",
                 "internalURL": "http://127.0.0.1:3/internal", "id": "e3",
                 "publicURL": storage_url}],
             "endpoints_links": [], "type": "object-store", "name": "swift"}
        ],
        "user": {"username": "quay", "roles_links": [], "id": "u1",
            "roles": [{"name": "member"}], "name": "quay"},
        "metadata": {"is_admin": 0, "roles": ["r1"]}
    }})
}

/// Serves `POST /v2.0/tokens` with `answer`, recording each request body.
async fn v2_keystone(answer: Value) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then the body by Content-Length.
            let (head_end, len) = loop {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break (0, 0);
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = sock.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    break;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let request_line = String::from_utf8_lossy(&buf)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
            log.lock().unwrap().push((request_line, body));
            let text = answer.to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{text}",
                text.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
    });
    (format!("http://{addr}/v2.0"), seen)
}

#[tokio::test]
async fn v2_token_exchange_and_real_data_path() {
    let (token, storage_url) = real_v3_token().await;
    let (auth_url, seen) = v2_keystone(v2_access(&token, &storage_url)).await;
    // Quay's default auth_version is 2; `tenant_name` in os_options as swiftclient reads it.
    let params: SwiftStorageParams = serde_json::from_value(json!({
        "swift_container": CONTAINER,
        "storage_path": format!("/{}", unique("swiftv2")),
        "auth_url": auth_url,
        "swift_user": "quay",
        "swift_password": "v2-password",
        "os_options": {"tenant_name": "quay", "region_name": "RegionOne"},
    }))
    .unwrap();
    let s = SwiftStorage::new(&params, Arc::new(CliCrypto), None).unwrap();
    s.create_container().await.unwrap();
    s.put("v2/object", stream::once("through v2"), Some(10))
        .await
        .unwrap();
    assert_eq!(
        &s.get_bytes("v2/object", 100).await.unwrap()[..],
        b"through v2"
    );
    s.delete("v2/object").await.unwrap();
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one token for all requests");
    assert_eq!(requests[0].0, "POST /v2.0/tokens HTTP/1.1");
    assert_eq!(
        requests[0].1,
        json!({"auth": {"tenantName": "quay",
            "passwordCredentials": {"username": "quay", "password": "v2-password"}}})
    );

    // `tenant:user` in swift_user, as swiftclient splits it.
    let (auth_url, seen) = v2_keystone(v2_access(&token, &storage_url)).await;
    let mut params = params.clone();
    params.auth_url = auth_url;
    params.swift_user = "quay:quay".into();
    // Without region_name the first object-store endpoint would be used, as swiftclient does.
    params.os_options = json!({"region_name": "RegionOne"}).as_object().cloned();
    let s = SwiftStorage::new(&params, Arc::new(CliCrypto), None).unwrap();
    assert!(s.stat("v2/object").await.unwrap().is_none());
    assert_eq!(
        seen.lock().unwrap()[0].1["auth"]["tenantName"],
        json!("quay")
    );
}
