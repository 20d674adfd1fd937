//! Edge cases of a session: the catalog, races, layer limits, a client that disconnects, and an
//! upload Python Quay started.

use std::time::Duration;

use quay_e2e::client;
use serde_json::{Value, json};

use super::{Client, Db, OCI_MANIFEST, error_code, gzip, header, sha256};

/// The catalog: the caller's repositories, paged with Fernet tokens; nothing for anonymous.
pub(super) async fn catalog(c: &Client) {
    let resp = c
        .req(reqwest::Method::GET, "/v2/_catalog")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"repositories": ["admin/hello", "admin/other"]})
    );
    let resp = c
        .req(reqwest::Method::GET, "/v2/_catalog?n=1")
        .send()
        .await
        .unwrap();
    let link = header(&resp, "link");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"repositories": ["admin/hello"]}));
    let next = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(url, _)| url.to_owned())
        .expect("Link rel=next");
    assert!(next.starts_with("/v2/_catalog?n=1&next_page="), "{next}");
    let resp = c.req(reqwest::Method::GET, &next).send().await.unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"repositories": ["admin/other"]}));
    let anon: Value = client()
        .get(format!("{}/v2/_catalog", c.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(anon, json!({"repositories": []}));
}

/// Several clients pushing the same new blob, and the same tag, at once: all succeed, one
/// `imagestorage` row, one live tag row.
pub(super) async fn races(c: &Client, db: &Db, config: &[u8], layer: &[u8]) {
    let repo = "admin/hello";
    let raw = b"pushed by four clients at once".repeat(2000);
    let blob = gzip(&raw);
    let digest = sha256(&blob);
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (url, token, body) = (
            format!("{}/v2/{repo}/blobs/uploads/?digest={digest}", c.base),
            c.token.clone(),
            blob.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client()
                .post(url)
                .bearer_auth(token)
                .body(body)
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    // One row; a gzip blob sent whole records its uncompressed size, as Quay does.
    assert_eq!(
        db.sql(&format!("SELECT count(*), min(uncompressed_size) FROM imagestorage WHERE content_checksum = '{digest}'")),
        format!("1|{}", raw.len())
    );
    let mut tasks = Vec::new();
    for i in 0..4 {
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(layer), "size": layer.len()}],
            "annotations": {"e2e.race": i.to_string()},
        }))
        .unwrap();
        let (url, token) = (
            format!("{}/v2/{repo}/manifests/race", c.base),
            c.token.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let resp = client()
                .put(url)
                .bearer_auth(token)
                .header("Content-Type", OCI_MANIFEST)
                .body(manifest)
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    assert_eq!(
        db.sql("SELECT count(*), count(*) - count(lifetime_end_ms) FROM tag WHERE name = 'race'"),
        "4|1"
    );
}

/// `MAXIMUM_LAYER_SIZE` (1M here) and a client that goes away mid-chunk: clean errors, nothing
/// recorded, the upload still usable.
pub(super) async fn limits(base: &str, service: &str, db: &Db) {
    let c = Client::login(base, service, &["repository:admin/hello:pull,push"]).await;
    let big = vec![1u8; 1_500_000];
    let resp = c.monolithic("admin/hello", &big).await;
    let (status, body) = (resp.status().as_u16(), resp.json::<Value>().await.unwrap());
    assert_eq!(
        (status, body["errors"][0]["code"].as_str()),
        (403, Some("DENIED"))
    );
    assert_eq!(body["errors"][0]["detail"]["max_allowed"], 1_000_000);
    assert_eq!(
        db.sql(&format!(
            "SELECT count(*) FROM imagestorage WHERE content_checksum = '{}'",
            sha256(&big)
        )),
        "0"
    );
    let start = c
        .req(reqwest::Method::POST, "/v2/admin/hello/blobs/uploads/")
        .send()
        .await
        .unwrap();
    let location = header(&start, "location");
    let uuid = header(&start, "docker-upload-uuid");
    // A declared range past the limit is refused before any byte is read.
    let resp = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "0-1999999")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (403, "DENIED".into()));
    // The client announces 100000 bytes, sends 1000 and disconnects.
    let addr = base.trim_start_matches("http://").to_owned();
    let path = location.trim_start_matches(base).to_owned();
    let token = c.token.clone();
    tokio::task::spawn_blocking(move || {
        use std::io::Write as _;
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "PATCH {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n"
        )
        .unwrap();
        s.write_all(&[9u8; 1000]).unwrap();
        s.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        db.sql(&format!(
            "SELECT byte_count, chunk_count FROM blobupload WHERE uuid = '{uuid}'"
        )),
        "0|0"
    );
    let data = b"after the disconnect".to_vec();
    let resp = c
        .req(
            reqwest::Method::PUT,
            &format!("{location}?digest={}", sha256(&data)),
        )
        .body(data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let stored = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/admin/hello/blobs/{}", sha256(&data)),
        )
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(stored.as_ref(), data.as_slice());
}

/// Python Quay's pickled resumable SHA-256 for an empty upload (`blobupload.sha_state` in the
/// reference rows a running Python Quay wrote).
const PYTHON_EMPTY_SHA_STATE: &str = "gASVlQAAAAAAAACMD3Jlc3VtYWJsZXNoYTI1NpSMBnNoYTI1NpSTlCmBlENwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABn5glqha5nu3Lzbjw69U+lf1IOUYxoBZur2YMfGc3gW5RiLg==";

/// An upload Python Quay started (its row and its empty `uploads/<uuid>` file) is finished here:
/// the pickled hasher state is resumed, chunks appended, the digest verified.
pub(super) async fn python_upload(base: &str, service: &str, db: &Db, storage: &std::path::Path) {
    let uuid = "715dcd5b-a160-4ffa-9287-0fa65b3c248b";
    db.sql(&format!(
        "INSERT INTO blobupload (repository_id, uuid, byte_count, sha_state, location_id, storage_metadata, \
         chunk_count, uncompressed_byte_count, created) SELECT r.id, '{uuid}', 0, '{PYTHON_EMPTY_SHA_STATE}', l.id, '{{}}', 0, NULL, \
         '2026-11-27 11:47:44.569243' FROM repository r, imagestoragelocation l WHERE r.name = 'hello' AND l.name = 'default'"
    ));
    std::fs::create_dir_all(storage.join("uploads")).unwrap();
    std::fs::write(storage.join("uploads").join(uuid), b"").unwrap();
    let c = Client::login(base, service, &["repository:admin/hello:pull,push"]).await;
    let location = format!("{base}/v2/admin/hello/blobs/uploads/{uuid}");
    let blob = b"finished by quay-rs".repeat(100);
    let resp = c
        .req(reqwest::Method::PATCH, &location)
        .body(blob[..1000].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_ne!(
        db.sql(&format!(
            "SELECT sha_state FROM blobupload WHERE uuid = '{uuid}'"
        )),
        PYTHON_EMPTY_SHA_STATE
    );
    let resp = c
        .req(
            reqwest::Method::PUT,
            &format!("{location}?digest={}", sha256(&blob)),
        )
        .body(blob[1000..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&blob));
}
