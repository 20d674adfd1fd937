//! The `/v2` content routes on the real binary, driven with raw HTTP as a registry client does:
//! monolithic and chunked blob uploads (with an out-of-order chunk, a bad digest, a cancel),
//! blob HEAD/GET/Range, manifest PUT/GET/HEAD/DELETE by tag and digest (OCI, Docker schema 2,
//! OCI index), tags list with pagination, referrers with a filter, a cross-repository mount, and
//! the database rows compared with what Python Quay writes, on SQLite (mirror preset) and
//! PostgreSQL (standalone preset).

use std::process::Command;
use std::time::Duration;

use quay_e2e::{Server, client, pg_url};
use serde_json::{Value, json};

enum Db {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Db {
    fn sql(&self, sql: &str) -> String {
        let out = match self {
            Db::Sqlite(path) => Command::new("sqlite3").arg(path).arg(sql).output(),
            Db::Postgres(url) => Command::new("psql").args([url, "-XAtqc", sql]).output(),
        }
        .expect("running the SQL client");
        assert!(
            out.status.success(),
            "SQL failed: {}\n{sql}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn bool_true(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "1",
            Db::Postgres(_) => "t",
        }
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().expect("stdin").write_all(data).expect("writing to gzip");
    child.wait_with_output().expect("gzip output").stdout
}

fn sha256(data: &[u8]) -> String {
    quay_fips::digest::sha256_digest(data).expect("sha256")
}

struct Client {
    base: String,
    service: String,
    token: String,
}

impl Client {
    async fn login(base: &str, service: &str, scopes: &[&str]) -> Self {
        let mut query = vec![("service", service)];
        query.extend(scopes.iter().map(|s| ("scope", *s)));
        let resp = client()
            .get(format!("{base}/v2/auth"))
            .query(&query)
            .basic_auth("admin", Some("password123"))
            .send()
            .await
            .expect("GET /v2/auth");
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("token JSON");
        Self {
            base: base.to_owned(),
            service: service.to_owned(),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        client().request(method, url).bearer_auth(&self.token)
    }

    async fn monolithic(&self, repo: &str, data: &[u8]) -> reqwest::Response {
        self.req(
            reqwest::Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(data)),
        )
        .body(data.to_vec())
        .send()
        .await
        .expect("POST monolithic")
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("Content-Type", media_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("PUT manifest")
    }
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

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
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
    assert_eq!(header(&resp, "range"), format!("bytes=0-{}", first.len()));
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
        format!("<{base}/v2/{repo}/tags/list?n=1&last=latest>; rel=\"next\"")
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

    catalog(&c).await;
    races(&c, db, &config, &layer).await;
    rows(db, &oci, &layer, &config).await;
}

/// The catalog: the caller's repositories, paged with Fernet tokens; nothing for anonymous.
async fn catalog(c: &Client) {
    let resp = c.req(reqwest::Method::GET, "/v2/_catalog").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"repositories": ["admin/hello", "admin/other"]}));
    let resp = c.req(reqwest::Method::GET, "/v2/_catalog?n=1").send().await.unwrap();
    let link = header(&resp, "link");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"repositories": ["admin/hello"]}));
    let next = link
        .strip_prefix('<')
        .and_then(|l| l.split_once(">; rel=\"next\""))
        .map(|(url, _)| url.to_owned())
        .expect("Link rel=next");
    assert!(next.starts_with(&format!("{}/v2/_catalog?n=1&next_page=", c.base)), "{next}");
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
async fn races(c: &Client, db: &Db, config: &[u8], layer: &[u8]) {
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
            let resp = client().post(url).bearer_auth(token).body(body).send().await.unwrap();
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
        let (url, token) = (format!("{}/v2/{repo}/manifests/race", c.base), c.token.clone());
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

/// The rows, compared with the shapes Python Quay writes (reference
/// `oracle_registry_rows_postgres.sql`).
async fn rows(db: &Db, oci: &[u8], layer: &[u8], config: &[u8]) {
    let t = db.bool_true();
    let repo = "(SELECT r.id FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id WHERE u.username = 'admin' AND r.name = 'hello')";
    // repository + side rows of create_repository.
    assert_eq!(
        db.sql(&format!(
            "SELECT v.name, k.name, r.state, length(r.badge_token) FROM repository r JOIN visibility v ON v.id = r.visibility_id \
             JOIN repositorykind k ON k.id = r.kind_id WHERE r.id = {repo}"
        )),
        "private|image|0|36"
    );
    assert_eq!(db.sql(&format!("SELECT count, score FROM repositoryactioncount a JOIN repositorysearchscore s ON s.repository_id = a.repository_id WHERE a.repository_id = {repo}")), "0|0");
    assert_eq!(
        db.sql(&format!("SELECT ro.name, u.username FROM repositorypermission p JOIN role ro ON ro.id = p.role_id JOIN \"user\" u ON u.id = p.user_id WHERE p.repository_id = {repo}")),
        "admin|admin"
    );
    // imagestorage: uploading and cas_path true, size recorded, one placement at `local`/`default`.
    assert_eq!(
        db.sql(&format!(
            "SELECT s.image_size, s.uploading, s.cas_path, length(s.uuid), count(p.id) FROM imagestorage s \
             JOIN imagestorageplacement p ON p.storage_id = s.id WHERE s.content_checksum = '{}' GROUP BY s.id",
            sha256(layer)
        )),
        format!("{}|{t}|{t}|36|1", layer.len())
    );
    // The manifest row: bytes in the database, backfill flags, media type by name.
    assert_eq!(
        db.sql(&format!(
            "SELECT mt.name, m.config_media_type, m.layers_compressed_size, m.subject IS NULL, m.subject_backfilled, \
             m.artifact_type_backfilled, m.manifest_bytes = '{}' FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id \
             WHERE m.repository_id = {repo} AND m.digest = '{}'",
            String::from_utf8_lossy(oci),
            sha256(oci)
        )),
        format!("{OCI_MANIFEST}|application/vnd.oci.image.config.v1+json|{}|{t}|{t}|{t}|{t}", layer.len())
    );
    // manifestblob: config and layer, ascending storage id.
    assert_eq!(
        db.sql(&format!(
            "SELECT s.content_checksum FROM manifestblob b JOIN manifest m ON m.id = b.manifest_id \
             JOIN imagestorage s ON s.id = b.blob_id WHERE m.digest = '{}' AND m.repository_id = {repo} ORDER BY b.blob_id",
            sha256(oci)
        )),
        format!("{}\n{}", sha256(config), sha256(layer))
    );
    assert_eq!(db.sql("SELECT count(*) FROM manifestchild"), "1");
    // Labels from the config, once per new manifest (OCI and schema 2 share the config).
    assert_eq!(
        db.sql(&format!(
            "SELECT l.key, l.value, mt.name, st.name, count(*) FROM manifestlabel ml JOIN label l ON l.id = ml.label_id \
             JOIN mediatype mt ON mt.id = l.media_type_id JOIN labelsourcetype st ON st.id = l.source_type_id \
             WHERE ml.repository_id = {repo} AND l.key = 'org.example.e2e' GROUP BY l.key, l.value, mt.name, st.name"
        )),
        "org.example.e2e|true|text/plain|manifest|6"
    );
    // Tags: latest has two lifetime rows (the first closed), v2s2 closed, hidden $temp- tags
    // for the manifests pushed by digest (the artifact's without expiry).
    assert_eq!(
        db.sql(&format!("SELECT count(*), count(lifetime_end_ms) FROM tag WHERE repository_id = {repo} AND name = 'latest'")),
        "2|1"
    );
    assert_eq!(
        db.sql(&format!("SELECT count(*) FROM tag WHERE repository_id = {repo} AND name = 'v2s2' AND lifetime_end_ms IS NOT NULL")),
        "1"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT count(*), count(lifetime_end_ms) FROM tag WHERE repository_id = {repo} AND hidden AND name LIKE '$temp-%'"
        )),
        "2|1"
    );
    assert_eq!(
        db.sql(&format!("SELECT count(*) FROM tag t JOIN tagkind k ON k.id = t.tag_kind_id WHERE t.repository_id = {repo} AND k.name <> 'tag'")),
        "0"
    );
    // uploadedblob links expire an hour after the upload.
    let expiry = match db {
        Db::Sqlite(_) => {
            "CAST(round((julianday(expires_at) - julianday(uploaded_at)) * 86400) AS INTEGER)"
        }
        Db::Postgres(_) => "CAST(round(extract(epoch FROM expires_at - uploaded_at)) AS INTEGER)",
    };
    assert_eq!(
        db.sql(&format!(
            "SELECT DISTINCT {expiry} FROM uploadedblob WHERE repository_id = {repo}"
        )),
        "3600"
    );
    // The action log: push_repo with Quay's metadata.
    let push = db.sql(&format!(
        "SELECT l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'push_repo' \
         AND l.repository_id = {repo} ORDER BY l.id LIMIT 1"
    ));
    assert_eq!(
        push,
        format!(
            "{{\"repo\": \"hello\", \"namespace\": \"admin\", \"user-agent\": \"\", \"tag\": \"latest\", \"mediaType\": \"{OCI_MANIFEST}\", \
             \"username\": \"admin\", \"resolved_ip\": {{\"provider\": \"internet\", \"service\": null, \"sync_token\": \"1645662201\", \
             \"country_iso_code\": null, \"aws_region\": null, \"continent\": null}}}}"
        )
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT k.name, count(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE l.repository_id = {repo} \
             AND l.performer_id IS NOT NULL GROUP BY k.name ORDER BY k.name"
        )),
        "delete_tag|1\npull_repo|2\npush_repo|8"
    );
}

fn mirror_args(data: &std::path::Path) -> Vec<String> {
    [
        "--mode",
        "mirror",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
        "--init-user",
        "admin",
        "--init-password",
        "password123",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn mirror_sqlite_registry_content() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = mirror_args(&data);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = Server::spawn(dir.path(), &args, false).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
    let host = server.base.trim_start_matches("http://").to_owned();
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    scenario(&server.base, &host, &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

#[tokio::test]
async fn standalone_postgres_registry_content() {
    let dir = tempfile::tempdir().unwrap();
    let admin = pg_url();
    let name = "e2e_registry_content";
    Db::Postgres(admin.clone()).sql(&format!("DROP DATABASE IF EXISTS {name}"));
    Db::Postgres(admin.clone()).sql(&format!("CREATE DATABASE {name}"));
    let (prefix, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "SERVER_HOSTNAME: registry.example.com\nPREFERRED_URL_SCHEME: http\nDB_URI: {}\n\
             SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n\
             BUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\nUSER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: {}}}]\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n",
            url.replacen("postgres://", "postgresql://", 1),
            storage.display()
        ),
    )
    .unwrap();
    let data = dir.path().join("data");
    let common = [
        "--mode",
        "standalone",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ];
    let mut upgrade = vec!["db", "upgrade"];
    upgrade.extend(common);
    let migrate = quay_e2e::quay(&upgrade);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let args = [
        "--mode",
        "standalone",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
        "--init-user",
        "admin",
        "--init-password",
        "password123",
    ];
    let mut server = Server::spawn(dir.path(), &args, false).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
    let db = Db::Postgres(url);
    // `default` is not in Quay's seed data: the binary registers configured locations at boot.
    assert_eq!(
        db.sql("SELECT count(*) FROM imagestoragelocation WHERE name = 'default'"),
        "1"
    );
    scenario(&server.base, "registry.example.com", &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    Db::Postgres(admin).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
