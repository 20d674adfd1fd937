//! Blob downloads across storage locations and through direct-download redirects, on the real
//! binary (mirror preset, SQLite):
//! - a blob whose only placement is a second location is served from there (Quay reads the
//!   placements in `DISTRIBUTED_STORAGE_PREFERENCE` order);
//! - on S3 (the moto test server) a blob `GET` is a 302 with `Accept-Ranges: bytes`, and with
//!   `FEATURE_PROXY_STORAGE` the `Location` is Quay's `/_storage_proxy/<b64url(jwt)>/...` URL, the
//!   JWT signed by the instance key and granting exactly the presigned S3 URL, which serves the
//!   blob; `/_storage_proxy_auth` (the front proxy's `auth_request`) accepts that URL and refuses
//!   altered ones and other tokens, and quay-rs relays `/_storage_proxy/...` itself.

use std::path::Path;
use std::process::Command;

use quay_e2e::{Server, client, free_port, sqlite, unique_db_name};
use serde_json::Value;

use crate::support::{Client, PASSWORD, env, serve_args, sha256, start, write_config};

/// Starts the mirror preset with `extra` YAML (storage keys) on a known port.
async fn start_mirror(dir: &Path, port: u16, extra: &str) -> Server {
    let yaml = format!("SERVER_HOSTNAME: 127.0.0.1:{port}\nPREFERRED_URL_SCHEME: http\n{extra}");
    let config = write_config(dir, &yaml);
    let args = serve_args("mirror", Some(&config), &dir.join("data"), Some(PASSWORD));
    start(dir, &args, Some(port)).await
}

/// An `admin` session with push access to `repo`.
async fn login(base: &str, port: u16, repo: &str) -> Client {
    let scope = format!("repository:{repo}:pull,push");
    Client::login(base, &format!("127.0.0.1:{port}"), &[&scope]).await
}

fn blob_file(root: &Path, digest: &str) -> std::path::PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    root.join("sha256").join(&hex[..2]).join(hex)
}

#[tokio::test]
async fn a_blob_placed_only_in_a_second_location_is_served_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    let port = free_port();
    let extra = format!(
        "DISTRIBUTED_STORAGE_CONFIG:\n  first: [LocalStorage, {{storage_path: {}}}]\n  \
         second: [LocalStorage, {{storage_path: {}}}]\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [first, second]\n\
         DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []\n",
        first.display(),
        second.display()
    );
    let mut server = start_mirror(dir.path(), port, &extra).await;
    let base = server.base.clone();
    let repo = "admin/placed";
    let c = login(&base, port, repo).await;
    let t = c.token.clone();
    let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
    let digest = sha256(&data);
    c.push_blob(repo, &data).await;
    let db = dir.path().join("data").join("quay_sqlite.db");
    let placements = |db: &Path| {
        sqlite(
            db,
            &format!(
                "SELECT l.name FROM imagestorageplacement p \
                 JOIN imagestoragelocation l ON l.id = p.location_id \
                 JOIN imagestorage s ON s.id = p.storage_id WHERE s.content_checksum = '{digest}'"
            ),
        )
    };
    assert_eq!(placements(&db), "first");

    // Move the bytes and the placement row to `second`, as replication then cleanup would.
    let (from, to) = (blob_file(&first, &digest), blob_file(&second, &digest));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::rename(&from, &to).unwrap();
    sqlite(
        &db,
        &format!(
            "UPDATE imagestorageplacement SET location_id = \
             (SELECT id FROM imagestoragelocation WHERE name = 'second') \
             WHERE storage_id = (SELECT id FROM imagestorage WHERE content_checksum = '{digest}')"
        ),
    );
    assert_eq!(placements(&db), "second");

    let url = format!("{base}/v2/{repo}/blobs/{digest}");
    let resp = client().get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(resp.status(), 200, "{}", server.output());
    // Local storage does not announce resumable downloads (Quay's BaseStorage).
    assert!(resp.headers().get("accept-ranges").is_none());
    assert_eq!(resp.bytes().await.unwrap().as_ref(), data.as_slice());
    let resp = client()
        .get(&url)
        .bearer_auth(&t)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &data[10..20]);
    let resp = client().head(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-length"].to_str().unwrap(),
        data.len().to_string()
    );

    // Placed in both, the preferred location (`first`) is read: its copy differs on purpose.
    let marker = b"bytes of the first location".to_vec();
    std::fs::create_dir_all(from.parent().unwrap()).unwrap();
    std::fs::write(&from, &marker).unwrap();
    sqlite(
        &db,
        &format!(
            "INSERT INTO imagestorageplacement (storage_id, location_id) VALUES \
             ((SELECT id FROM imagestorage WHERE content_checksum = '{digest}'), \
              (SELECT id FROM imagestoragelocation WHERE name = 'first'))"
        ),
    );
    let resp = client()
        .get(&url)
        .bearer_auth(&t)
        .header("Range", "bytes=0-4")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &marker[..5]);
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

fn b64url_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = s.bytes().filter(|c| *c != b'=').collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let mut n = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            n |= val(*c) << (18 - 6 * i);
        }
        let bytes = n.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    out
}

fn b64url_encode(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let mut n = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            n |= u32::from(*b) << (16 - 8 * i);
        }
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Verifies an RS256 JWT with the public half of `key_pem` through the `openssl` CLI.
fn verify_rs256(dir: &Path, jwt: &str, key_pem: &Path) -> bool {
    let (input, sig) = jwt.rsplit_once('.').unwrap();
    let public = dir.join("instance.pub.pem");
    let out = Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(key_pem)
        .arg("-out")
        .arg(&public)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (data, sigfile) = (dir.join("jwt.input"), dir.join("jwt.sig"));
    std::fs::write(&data, input).unwrap();
    std::fs::write(&sigfile, b64url_decode(sig)).unwrap();
    Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&sigfile)
        .arg(&data)
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one download, checked step by step")]
async fn s3_blob_get_redirects_through_the_storage_proxy() {
    let endpoint = env("QUAY_TEST_S3_ENDPOINT");
    let bucket = unique_db_name("quay-redirect").replace('_', "-");
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let extra = format!(
        "FEATURE_PROXY_STORAGE: true\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  s3:\n    - S3Storage\n    - s3_bucket: {bucket}\n      \
         storage_path: /registry\n      s3_access_key: {ak}\n      s3_secret_key: {sk}\n      \
         endpoint_url: {endpoint}\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [s3]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3]\n",
        ak = env("QUAY_TEST_S3_ACCESS_KEY"),
        sk = env("QUAY_TEST_S3_SECRET_KEY"),
    );
    let mut server = start_mirror(dir.path(), port, &extra).await;
    let base = server.base.clone();
    let repo = "admin/proxied";
    let c = login(&base, port, repo).await;
    let t = c.token.clone();
    let data = b"a blob behind the storage proxy ".repeat(512);
    let digest = sha256(&data);
    c.push_blob(repo, &data).await;

    let url = format!("{base}/v2/{repo}/blobs/{digest}");
    let head = client().head(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["accept-ranges"], "bytes");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = no_redirects.get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(resp.status(), 302, "{}", server.output());
    assert_eq!(resp.headers()["docker-content-digest"], digest.as_str());
    assert_eq!(resp.headers()["accept-ranges"], "bytes");
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let prefix = format!("http://127.0.0.1:{port}/_storage_proxy/");
    let rest = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("not a storage proxy URL: {location}"));
    let (encoded, target) = rest.split_once('/').unwrap();
    let jwt = String::from_utf8(b64url_decode(encoded)).unwrap();
    assert!(
        verify_rs256(dir.path(), &jwt, &dir.path().join("data").join("quay.pem")),
        "the proxy JWT is not signed by the instance key"
    );
    let mut parts = jwt.split('.');
    let header: Value = serde_json::from_slice(&b64url_decode(parts.next().unwrap())).unwrap();
    let claims: Value = serde_json::from_slice(&b64url_decode(parts.next().unwrap())).unwrap();
    let kid = std::fs::read_to_string(dir.path().join("data").join("quay.kid")).unwrap();
    assert_eq!(header["kid"], kid.trim());
    assert_eq!(claims["aud"], format!("127.0.0.1:{port}"));
    assert_eq!(claims["sub"], "storageproxy");
    assert_eq!(claims["context"], serde_json::json!({}));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    let access = &claims["access"][0];
    let keys: Vec<&str> = access
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 4);
    assert_eq!(access["type"], "storageproxy");
    // `<scheme>/<host>/<uri>` after the token is exactly what the JWT grants.
    let granted = format!(
        "{}/{}/{}",
        access["scheme"].as_str().unwrap(),
        access["host"].as_str().unwrap(),
        access["uri"].as_str().unwrap()
    );
    assert_eq!(target, granted);
    let uri = access["uri"].as_str().unwrap();
    let hex = digest.trim_start_matches("sha256:");
    assert!(
        uri.starts_with(&format!("{bucket}/registry/sha256/{}/{hex}?", &hex[..2])),
        "{uri}"
    );
    assert!(uri.contains("X-Amz-Signature="), "{uri}");
    // The front proxy's authorization subrequest accepts exactly this URL.
    let proxy_path = location
        .strip_prefix(&format!("http://127.0.0.1:{port}"))
        .unwrap();
    let check = |original: Option<String>| {
        let mut r = client().get(format!("{base}/_storage_proxy_auth"));
        if let Some(o) = original {
            r = r.header("X-Original-URI", o);
        }
        async move { r.send().await.unwrap() }
    };
    let ok = check(Some(proxy_path.to_owned())).await;
    assert_eq!(ok.status(), 200, "{}", server.output());
    assert_eq!(ok.text().await.unwrap(), "OK");
    let tampered = proxy_path.replace("/sha256/", "/sha512/");
    assert_eq!(check(Some(tampered)).await.status(), 401);
    let other_host = proxy_path.replacen("/http/", "/https/", 1);
    assert_eq!(check(Some(other_host)).await.status(), 401);
    assert_eq!(check(None).await.status(), 401);
    // A registry token is not a storage proxy token.
    let repo_token = format!("/_storage_proxy/{}/{target}", b64url_encode(t.as_bytes()));
    assert_eq!(check(Some(repo_token)).await.status(), 401);

    // quay-rs relays the proxied download itself (no nginx in front): whole and ranged.
    let proxied = client().get(&location).send().await.unwrap();
    assert_eq!(proxied.status(), 200, "{}", server.output());
    assert_eq!(
        proxied.headers()["content-length"].to_str().unwrap(),
        data.len().to_string()
    );
    assert_eq!(proxied.bytes().await.unwrap().as_ref(), data.as_slice());
    let ranged = client()
        .get(&location)
        .header("Range", "bytes=5-9")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap().as_ref(), &data[5..10]);
    let forged = location.replace("/sha256/", "/sha512/");
    assert_eq!(client().get(&forged).send().await.unwrap().status(), 401);
    // A real client following the redirect gets the blob.
    let followed = client().get(&url).bearer_auth(&t).send().await.unwrap();
    assert_eq!(followed.status(), 200);
    assert_eq!(followed.bytes().await.unwrap().as_ref(), data.as_slice());

    // The granted S3 URL itself serves the blob (what nginx would proxy to).
    let s3_url = format!(
        "{}://{}/{uri}",
        access["scheme"].as_str().unwrap(),
        access["host"].as_str().unwrap()
    );
    let fetched = reqwest::get(&s3_url).await.unwrap();
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.bytes().await.unwrap().as_ref(), data.as_slice());
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}
