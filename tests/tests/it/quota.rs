//! Namespace quota on the `/v2` push path, on the real binary (mirror preset on SQLite,
//! standalone on PostgreSQL), with `FEATURE_QUOTA_MANAGEMENT` on and the quota rows seeded
//! directly, as Quay's API would write them:
//! - the sizes Python Quay's `update_sizes` writes (`quotanamespacesize`, `quotarepositorysize`:
//!   unique blob bytes, inserted complete by the first push);
//! - a manifest push over a `Reject` limit: `DENIED` 403 "Quota has been exceeded on
//!   namespace", the manifest kept under an expired hidden `$temp-` tag, no tag moved, no
//!   `push_repo` entry, a `quota_error` notification for the organization's administrators;
//! - blob `POST` and chunk `PATCH` refusals (the upload is cancelled), `quota_warning`
//!   notifications, `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES` for a namespace without a quota;
//! - nothing stored before is lost, and tag deletion leaves the sizes alone (Quay subtracts
//!   when garbage collection removes a manifest).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use quay_e2e::{Server, client, pg_url};
use serde_json::{Value, json};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const QUOTA_DENIED: &str = r#"{"errors":[{"code":"DENIED","detail":{},"message":"Quota has been exceeded on namespace"}]}"#;

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

    /// `size,backfill_start_ms,complete` of a size row (empty when missing).
    fn namespace_size(&self, namespace: &str) -> String {
        self.sql(&format!(
            "SELECT size_bytes || ',' || coalesce(backfill_start_ms, -1) || ',' || \
             CASE WHEN backfill_complete THEN 1 ELSE 0 END FROM quotanamespacesize \
             WHERE namespace_user_id = (SELECT id FROM \"user\" WHERE username = '{namespace}')"
        ))
    }

    fn repository_size(&self, namespace: &str, repo: &str) -> String {
        self.sql(&format!(
            "SELECT size_bytes || ',' || coalesce(backfill_start_ms, -1) || ',' || \
             CASE WHEN backfill_complete THEN 1 ELSE 0 END FROM quotarepositorysize \
             WHERE repository_id = (SELECT r.id FROM repository r JOIN \"user\" u \
             ON u.id = r.namespace_user_id WHERE u.username = '{namespace}' AND r.name = '{repo}')"
        ))
    }

    /// `(kind, target, metadata_json)` of every notification, by id.
    fn notifications(&self) -> Vec<String> {
        let out = self.sql(
            "SELECT k.name || '|' || u.username || '|' || n.metadata_json FROM notification n \
             JOIN notificationkind k ON k.id = n.kind_id JOIN \"user\" u ON u.id = n.target_id \
             ORDER BY n.id",
        );
        out.lines().map(str::to_owned).collect()
    }

    fn set_quota(&self, namespace: &str, limit_bytes: u64) {
        self.sql(&format!(
            "DELETE FROM quotalimits; DELETE FROM userorganizationquota;
             INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES
              ((SELECT id FROM \"user\" WHERE username = '{namespace}'), {limit_bytes});
             INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES
              ((SELECT max(id) FROM userorganizationquota), (SELECT id FROM quotatype WHERE name = 'Warning'), 80),
              ((SELECT max(id) FROM userorganizationquota), (SELECT id FROM quotatype WHERE name = 'Reject'), 100);"
        ));
    }
}

fn sha256(data: &[u8]) -> String {
    quay_fips::digest::sha256_digest(data).expect("sha256")
}

struct Client {
    base: String,
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

    async fn blob(&self, repo: &str, data: &[u8]) -> reqwest::Response {
        self.req(
            reqwest::Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(data)),
        )
        .body(data.to_vec())
        .send()
        .await
        .expect("POST monolithic")
    }

    async fn manifest(&self, repo: &str, reference: &str, body: &[u8]) -> reqwest::Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("Content-Type", OCI_MANIFEST)
        .body(body.to_vec())
        .send()
        .await
        .expect("PUT manifest")
    }
}

/// Status and compact body (the error envelope re-serialised with sorted keys).
async fn answer(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str::<Value>(&text).map_or(text, |v| v.to_string());
    (status, body)
}

/// An image: a layer of `n` bytes and a config naming it; returns `(layer, config, manifest)`.
fn image(seed: u32, n: u32) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let layer: Vec<u8> = (0..n).map(|i| ((i * 7 + seed * 13) % 251) as u8).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        "history": [{"created": "2026-11-27T00:00:00Z", "created_by": format!("quota e2e {seed}")}],
    }))
    .expect("JSON");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": sha256(&layer), "size": layer.len()}],
    }))
    .expect("JSON");
    (layer, config, manifest)
}

fn len(parts: &[&[u8]]) -> u64 {
    parts.iter().map(|p| p.len() as u64).sum()
}

#[expect(clippy::too_many_lines, reason = "one quota session, step by step")]
async fn scenario(base: &str, service: &str, db: &Db) {
    let repo = "quotaorg/app";
    let c = Client::login(
        base,
        service,
        &[
            "repository:quotaorg/app:pull,push",
            "repository:quotaorg/other:pull,push",
            "repository:admin/solo:pull,push",
        ],
    )
    .await;
    let (layer1, config1, manifest1) = image(1, 4000);
    let (layer2, config2, manifest2) = image(2, 4000);
    let s1 = len(&[&layer1, &config1]);
    let s2 = s1 + len(&[&layer2, &config2]);

    // The first push of the namespace inserts both size rows, complete.
    assert_eq!(c.blob(repo, &config1).await.status(), 201);
    assert_eq!(c.blob(repo, &layer1).await.status(), 201);
    assert_eq!(c.manifest(repo, "v1", &manifest1).await.status(), 201);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s1},0,1"));
    assert_eq!(db.repository_size("quotaorg", "app"), format!("{s1},0,1"));
    // Another repository with the same layer: the namespace counts it once.
    let other = "quotaorg/other";
    assert_eq!(c.blob(other, &config1).await.status(), 201);
    assert_eq!(c.blob(other, &layer1).await.status(), 201);
    assert_eq!(c.manifest(other, "v1", &manifest1).await.status(), 201);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s1},0,1"));
    assert_eq!(db.repository_size("quotaorg", "other"), format!("{s1},0,1"));

    // A quota one byte short of the second image: its blobs go in (the namespace is under the
    // limit), its manifest is refused after being counted.
    db.set_quota("quotaorg", s2 - 1);
    assert_eq!(c.blob(repo, &config2).await.status(), 201);
    assert_eq!(c.blob(repo, &layer2).await.status(), 201);
    let refused = answer(c.manifest(repo, "v2", &manifest2).await).await;
    assert_eq!(refused, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));
    assert_eq!(db.repository_size("quotaorg", "app"), format!("{s2},0,1"));
    let digest2 = sha256(&manifest2);
    assert_eq!(
        db.sql(&format!(
            "SELECT CASE WHEN t.name LIKE '$temp-%' AND t.hidden AND t.lifetime_end_ms = 0 \
             THEN 'expired hidden' ELSE t.name END \
             FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = '{digest2}'"
        )),
        "expired hidden"
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM tag WHERE name = 'v2'"),
        "0",
        "no tag moved"
    );
    assert_eq!(
        db.sql(
            "SELECT count(*) FROM logentry3 WHERE kind_id = \
             (SELECT id FROM logentrykind WHERE name = 'push_repo')"
        ),
        "2",
        "only the accepted pushes are logged"
    );
    let get = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/v2"))
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    assert_eq!(
        db.notifications(),
        vec![r#"quota_error|admin|{"namespace": "quotaorg"}"#.to_owned()]
    );

    // At the limit, uploads are refused at POST (before any mount), once notified.
    for _ in 0..2 {
        let resp = c
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer(resp).await, (403, QUOTA_DENIED.to_owned()));
    }
    let mount = c
        .req(
            reqwest::Method::POST,
            &format!(
                "/v2/{repo}/blobs/uploads/?mount={}&from=quotaorg/other",
                sha256(&layer1)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer(mount).await, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(
        db.notifications(),
        vec![
            r#"quota_error|admin|{"namespace": "quotaorg"}"#.to_owned(),
            r#"quota_error|admin|{"severity": "Reject", "namespace": "quotaorg"}"#.to_owned(),
        ]
    );

    // Room for 100 more bytes: a chunked upload starts and takes a first chunk of 150 bytes;
    // the next chunk counts the upload's bytes and is refused, and the upload is gone.
    db.set_quota("quotaorg", s2 + 100);
    let start = c
        .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 202);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let patch = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "0-149")
        .body(vec![7u8; 150])
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 202);
    let location = patch.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(db.sql("SELECT count(*) FROM blobupload"), "1");
    let patch = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "150-299")
        .body(vec![8u8; 150])
        .send()
        .await
        .unwrap();
    assert_eq!(answer(patch).await, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(db.sql("SELECT count(*) FROM blobupload"), "0");
    let status = c.req(reqwest::Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), 404);

    // Between 80 % and 100 %: pushes go through with a warning to the administrators. The
    // manifest refused before is already counted: tagging it now adds nothing.
    db.set_quota("quotaorg", s2 + 1000);
    assert_eq!(c.manifest(repo, "v2", &manifest2).await.status(), 201);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));
    assert_eq!(
        db.notifications().last().map(String::as_str),
        Some(r#"quota_warning|admin|{"namespace": "quotaorg"}"#)
    );
    assert_eq!(c.manifest(repo, "v3", &manifest1).await.status(), 201);
    assert_eq!(db.notifications().len(), 3, "one warning per administrator");

    // Nothing stored before is lost.
    for (tag, manifest) in [("v1", &manifest1), ("v2", &manifest2)] {
        let got = c
            .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/{tag}"))
            .header("Accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.unwrap().as_ref(), manifest.as_slice());
    }
    let got = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/blobs/{}", sha256(&layer1)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), layer1.as_slice());

    // Deleting a tag leaves the sizes to garbage collection.
    let deleted = c
        .req(reqwest::Method::DELETE, &format!("/v2/{repo}/manifests/v3"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));

    // A namespace without a quota falls under DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (6000 here):
    // the first image fits, the second is refused at its manifest, then at the next upload.
    let solo = "admin/solo";
    assert_eq!(c.blob(solo, &config1).await.status(), 201);
    assert_eq!(c.blob(solo, &layer1).await.status(), 201);
    assert_eq!(c.manifest(solo, "v1", &manifest1).await.status(), 201);
    assert_eq!(c.blob(solo, &config2).await.status(), 201);
    assert_eq!(c.blob(solo, &layer2).await.status(), 201);
    assert_eq!(
        answer(c.manifest(solo, "v2", &manifest2).await).await,
        (403, QUOTA_DENIED.to_owned())
    );
    assert_eq!(db.namespace_size("admin"), format!("{s2},0,1"));
    assert_eq!(
        answer(c.blob(solo, b"more").await).await,
        (403, QUOTA_DENIED.to_owned())
    );
    // A manifest pushed by digest (a list's child) is counted, never refused.
    let child: Value = serde_json::from_slice(&manifest2).unwrap();
    let mut child = child;
    child["config"] = json!({"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config1), "size": config1.len()});
    let child = serde_json::to_vec(&child).unwrap();
    let by_digest = c.manifest(solo, &sha256(&child), &child).await;
    assert_eq!(by_digest.status(), 201);
    assert_eq!(db.namespace_size("admin"), format!("{s2},0,1"));
    assert_eq!(
        db.notifications()[3..],
        [
            r#"quota_error|admin|{"namespace": "admin"}"#.to_owned(),
            r#"quota_error|admin|{"severity": "Reject", "namespace": "admin"}"#.to_owned(),
        ]
    );
}

const QUOTA_KEYS: &str = "FEATURE_QUOTA_MANAGEMENT: true\nDEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 6000\n\
                          CREATE_NAMESPACE_ON_PUSH: true\n";

async fn wait(server: &mut Server) {
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
}

#[tokio::test]
async fn mirror_sqlite_quota() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, QUOTA_KEYS).unwrap();
    let args = [
        "--mode",
        "mirror",
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
    wait(&mut server).await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    scenario(&server.base, &host, &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

fn standalone_config(path: &Path, db_url: &str, storage: &Path) {
    std::fs::write(
        path,
        format!(
            "SERVER_HOSTNAME: registry.example.com\nPREFERRED_URL_SCHEME: http\nDB_URI: {}\n\
             SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n\
             BUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\nUSER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: {}}}]\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n\
             {QUOTA_KEYS}",
            db_url.replacen("postgres://", "postgresql://", 1),
            storage.display()
        ),
    )
    .unwrap();
}

#[tokio::test]
async fn standalone_postgres_quota() {
    let dir = tempfile::tempdir().unwrap();
    let admin = pg_url();
    let name = &quay_e2e::unique_db_name("e2e_quota");
    Db::Postgres(admin.clone()).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    Db::Postgres(admin.clone()).sql(&format!("CREATE DATABASE {name}"));
    let (prefix, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let config = dir.path().join("config.yaml");
    standalone_config(&config, &url, &storage);
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
    let mut args = common.to_vec();
    args.extend([
        "--tls",
        "off",
        "--init-user",
        "admin",
        "--init-password",
        "password123",
    ]);
    let mut server = Server::spawn(dir.path(), &args, false).unwrap();
    wait(&mut server).await;
    let db = Db::Postgres(url);
    scenario(&server.base, "registry.example.com", &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    Db::Postgres(admin).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
