//! The `/v2` content routes on the real binary, driven with raw HTTP as a registry client does:
//! monolithic and chunked blob uploads (with an out-of-order chunk, a bad digest, a cancel),
//! blob HEAD/GET/Range, manifest PUT/GET/HEAD/DELETE by tag and digest (OCI, Docker schema 2,
//! OCI index), tags list with pagination, referrers with a filter, a cross-repository mount, and
//! the database rows compared with what Python Quay writes, on SQLite (mirror preset) and
//! PostgreSQL (standalone preset).

use std::process::Command;

mod edge;
mod namespace_on_push;
mod patch_race;
mod rows;
mod schema1;
mod state;

use quay_e2e::client;
use serde_json::{Value, json};

use crate::support::{
    Client, Db, OCI_MANIFEST, PASSWORD, PgDatabase, serve_args, server_keys, sha256, start,
    start_standalone,
};

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(data)
        .expect("writing to gzip");
    child.wait_with_output().expect("gzip output").stdout
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
        .unwrap_or_default()
}

async fn error_code(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error JSON");
    (
        status,
        body["errors"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A gzip'd tar-ish layer and an image config.
fn layer_and_config() -> (Vec<u8>, Vec<u8>) {
    let layer: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]},"config":{"Labels":{"org.example.e2e":"true"}},"history":[{"created":"2026-11-27T00:00:00Z","created_by":"/bin/sh -c #(nop) ADD file:e2e in /"}]}"#.to_vec();
    (layer, config)
}

fn image_manifest(
    media_type: &str,
    config_type: &str,
    config: &[u8],
    layer: &[u8],
    layer_type: &str,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": layer_type, "digest": sha256(layer), "size": layer.len()}],
    }))
    .expect("JSON")
}

#[expect(clippy::too_many_lines, reason = "one registry session, step by step")]
async fn scenario(base: &str, service: &str, db: &Db) {
    let repo = "admin/hello";
    let c = Client::login(
        base,
        service,
        &[
            "repository:admin/hello:pull,push",
            "repository:admin/other:pull,push",
        ],
    )
    .await;
    let (layer, config) = layer_and_config();

    // Anonymous callers get the Bearer challenge on a repository that does not exist yet.
    let anon = client()
        .get(format!("{base}/v2/{repo}/tags/list"))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
    assert!(header(&anon, "www-authenticate").contains("scope=\"repository:admin/hello:pull\""));

    // Monolithic upload of the config (creates the repository).
    let resp = c.monolithic(repo, &config).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    // (re-send to read headers)
    let resp = c.monolithic(repo, &config).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&config));
    assert_eq!(
        header(&resp, "location"),
        format!("{base}/v2/{repo}/blobs/{}", sha256(&config))
    );

    // Chunked upload of the layer.
    let resp = c
        .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "range"), "bytes=0--1");
    let uuid = header(&resp, "docker-upload-uuid");
    let location = header(&resp, "location");
    assert_eq!(location, format!("{base}/v2/{repo}/blobs/uploads/{uuid}"));
    assert_eq!(
        db.sql(&format!("SELECT byte_count, chunk_count, sha_state IS NOT NULL FROM blobupload WHERE uuid = '{uuid}'")),
        format!("0|0|{}", db.bool_true())
    );
    let (first, second) = layer.split_at(40_000);
    let resp = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", format!("0-{}", first.len() - 1))
        .body(first.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "range"), format!("0-{}", first.len() - 1));
    let resp = c.req(reqwest::Method::GET, &location).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    // The OCI spec's status (Quay: `bytes=0-<len>`, no `Location`).
    assert_eq!(header(&resp, "range"), format!("0-{}", first.len() - 1));
    assert_eq!(header(&resp, "location"), location);
    // Out of order: 416 with the current size, nothing stored.
    let resp = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "50000-50009")
        .body(vec![0u8; 10])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 416);
    assert_eq!(header(&resp, "range"), format!("0-{}", first.len()));
    assert_eq!(header(&resp, "docker-upload-uuid"), uuid);
    // A malformed range.
    let resp = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "bytes 1-2")
        .body(vec![0u8; 2])
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (400, "INVALID_REQUEST".into()));
    // Wrong digest at the end: refused, upload kept.
    let resp = c
        .req(
            reqwest::Method::PUT,
            &format!("{location}?digest={}", sha256(b"nope")),
        )
        .header(
            "Content-Range",
            format!("{}-{}", first.len(), layer.len() - 1),
        )
        .body(second.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (400, "BLOB_UPLOAD_INVALID".into()));
    let resp = c
        .req(
            reqwest::Method::PUT,
            &format!("{location}?digest={}", sha256(&layer)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&layer));
    assert_eq!(
        db.sql(&format!(
            "SELECT count(*) FROM blobupload WHERE uuid = '{uuid}'"
        )),
        "0"
    );

    // Blob HEAD, GET, Range, unknown.
    let blob = format!("/v2/{repo}/blobs/{}", sha256(&layer));
    let resp = c.req(reqwest::Method::HEAD, &blob).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-length"), layer.len().to_string());
    assert_eq!(header(&resp, "cache-control"), "max-age=31436000");
    let resp = c.req(reqwest::Method::GET, &blob).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().as_ref(), layer.as_slice());
    let resp = c
        .req(reqwest::Method::GET, &blob)
        .header("Range", "bytes=10-19")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        header(&resp, "content-range"),
        format!("bytes 10-19/{}", layer.len())
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &layer[10..20]);
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/blobs/{}", sha256(b"unknown")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (404, "BLOB_UNKNOWN".into()));
    let resp = c.req(reqwest::Method::DELETE, &blob).send().await.unwrap();
    assert_eq!(error_code(resp).await, (405, "UNSUPPORTED".into()));

    // Manifests: OCI by tag, Docker schema 2 by tag, an index by digest then by tag.
    let oci = image_manifest(
        OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        &config,
        &layer,
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    let resp = c.put_manifest(repo, "latest", OCI_MANIFEST, &oci).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&oci));
    assert_eq!(
        header(&resp, "location"),
        format!("/v2/{repo}/manifests/{}", sha256(&oci))
    );
    assert_eq!(resp.text().await.unwrap(), "OK");
    let v2s2 = image_manifest(
        DOCKER_V2,
        "application/vnd.docker.container.image.v1+json",
        &config,
        &layer,
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
    );
    let resp = c.put_manifest(repo, "v2s2", DOCKER_V2, &v2s2).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": sha256(&oci), "size": oci.len(),
                       "platform": {"architecture": "amd64", "os": "linux"}}],
    }))
    .unwrap();
    let resp = c
        .put_manifest(repo, &sha256(&index), OCI_INDEX, &index)
        .await;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        c.put_manifest(repo, "multi", OCI_INDEX, &index)
            .await
            .status(),
        201
    );
    // Pushing latest again moves the tag (a new lifetime row).
    assert_eq!(
        c.put_manifest(repo, "latest", OCI_MANIFEST, &oci)
            .await
            .status(),
        201
    );

    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/manifests/latest"),
        )
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), OCI_MANIFEST);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&oci));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), oci.as_slice());
    let resp = c
        .req(
            reqwest::Method::HEAD,
            &format!("/v2/{repo}/manifests/{}", sha256(&index)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-length"), index.len().to_string());
    assert_eq!(header(&resp, "content-type"), OCI_INDEX);

    // Bad manifests: unknown blob, digest mismatch, malformed JSON, unsupported type.
    let ghost = image_manifest(
        OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        &config,
        b"ghost layer",
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    let resp = c.put_manifest(repo, "ghost", OCI_MANIFEST, &ghost).await;
    assert_eq!(error_code(resp).await, (400, "MANIFEST_INVALID".into()));
    let resp = c
        .put_manifest(repo, &sha256(b"x"), OCI_MANIFEST, &oci)
        .await;
    assert_eq!(error_code(resp).await, (400, "MANIFEST_INVALID".into()));
    let resp = c
        .put_manifest(repo, "bad", OCI_MANIFEST, b"{not json")
        .await;
    assert_eq!(error_code(resp).await, (400, "MANIFEST_INVALID".into()));
    let resp = c.put_manifest(repo, "bad", "text/plain", &oci).await;
    assert_eq!(error_code(resp).await, (415, "MANIFEST_INVALID".into()));
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/manifests/nosuchtag"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (404, "MANIFEST_UNKNOWN".into()));

    // Tags, paginated.
    let resp = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/tags/list"))
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"name": repo, "tags": ["latest", "multi", "v2s2"]})
    );
    let resp = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/tags/list?n=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&resp, "link"),
        format!("</v2/{repo}/tags/list?n=1&last=latest>; rel=\"next\"")
    );
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/tags/list?n=5&last=latest"),
        )
        .send()
        .await
        .unwrap();
    assert!(header(&resp, "link").is_empty());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["tags"], json!(["multi", "v2s2"]));

    // Delete a tag: gone at once (MANIFEST_UNKNOWN), listing updated.
    let resp = c
        .req(
            reqwest::Method::DELETE,
            &format!("/v2/{repo}/manifests/v2s2"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/v2s2"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (404, "MANIFEST_UNKNOWN".into()));

    // Referrers: an artifact pointing at `latest`, pushed by digest.
    let empty = b"{}".to_vec();
    assert_eq!(c.monolithic(repo, &empty).await.status(), 201);
    let artifact = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.sbom",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(&empty), "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256(&empty), "size": 2}],
        "subject": {"mediaType": OCI_MANIFEST, "digest": sha256(&oci), "size": oci.len()},
    }))
    .unwrap();
    let resp = c
        .put_manifest(repo, &sha256(&artifact), OCI_MANIFEST, &artifact)
        .await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let resp = c
        .put_manifest(repo, &sha256(&artifact), OCI_MANIFEST, &artifact)
        .await;
    assert_eq!(header(&resp, "oci-subject"), sha256(&oci));
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/referrers/{}", sha256(&oci)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), OCI_INDEX);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["manifests"][0]["digest"], sha256(&artifact));
    assert_eq!(
        body["manifests"][0]["artifactType"],
        "application/vnd.example.sbom"
    );
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!(
                "/v2/{repo}/referrers/{}?artifactType=application/x-other",
                sha256(&oci)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(header(&resp, "oci-filters-applied"), "artifactType");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["manifests"], json!([]));
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/referrers/{}", sha256(b"none")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // Cross-repository mount, then a failed mount falling back to an upload; cancel it.
    let resp = c
        .req(
            reqwest::Method::POST,
            &format!(
                "/v2/admin/other/blobs/uploads/?mount={}&from={repo}",
                sha256(&layer)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(&layer));
    let resp = c
        .req(
            reqwest::Method::POST,
            &format!(
                "/v2/admin/other/blobs/uploads/?mount={}&from={repo}",
                sha256(b"absent")
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location");
    assert_eq!(
        c.req(reqwest::Method::DELETE, &location)
            .send()
            .await
            .unwrap()
            .status(),
        204
    );
    let resp = c.req(reqwest::Method::GET, &location).send().await.unwrap();
    assert_eq!(error_code(resp).await, (404, "BLOB_UPLOAD_UNKNOWN".into()));

    edge::catalog(&c).await;
    edge::races(&c, db, &config, &layer).await;
    patch_race::patch_race(&c).await;
    rows::rows(db, &oci, &layer, &config).await;
    schema1::conversion(&c, &layer, &oci).await;
    schema1::signed_push(&c, &layer).await;
}

#[tokio::test]
async fn mirror_sqlite_registry_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    scenario(&server.base, &host, &db).await;
    edge::python_upload(&server.base, &host, &db, &data.join("storage")).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

#[tokio::test]
async fn standalone_postgres_registry_content() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_registry_content");
    let extra = server_keys("registry.example.com", "http") + "MAXIMUM_LAYER_SIZE: 1M\n";
    let mut server = start_standalone(dir.path(), &pg, &extra, PASSWORD).await;
    let db = pg.db();
    // `default` is not in Quay's seed data: the binary registers configured locations at boot.
    assert_eq!(
        db.sql("SELECT count(*) FROM imagestoragelocation WHERE name = 'default'"),
        "1"
    );
    scenario(&server.base, "registry.example.com", &db).await;
    edge::limits(&server.base, "registry.example.com", &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    pg.drop_database();
}
