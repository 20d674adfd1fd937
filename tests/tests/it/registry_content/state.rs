//! `REGISTRY_STATE: readonly` and `DISABLE_PUSHES`: pushes are refused with Quay's answers
//! (405 `DENIED` with `is_readonly`, 405 `METHOD NOT ALLOWED`) while pulls still work, on the
//! same database and storage a normal instance filled.

use std::path::Path;
use std::time::Duration;

use quay_e2e::{Server, pg_url};
use serde_json::Value;

use super::{Client, Db, OCI_MANIFEST, header, image_manifest, layer_and_config, sha256};

pub(super) fn write_config(path: &Path, db_url: &str, storage: &Path, extra: &str) {
    std::fs::write(
        path,
        format!(
            "SERVER_HOSTNAME: registry.example.com\nPREFERRED_URL_SCHEME: http\nDB_URI: {}\n\
             SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n\
             BUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\nUSER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
             DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: {}}}]\n\
             DISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n\
             {extra}\n",
            db_url.replacen("postgres://", "postgresql://", 1),
            storage.display()
        ),
    )
    .unwrap();
}

pub(super) async fn start(dir: &Path, config: &Path, data: &Path, init: bool) -> Server {
    let mut args = vec![
        "--mode",
        "standalone",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
    ];
    if init {
        args.extend(["--init-user", "admin", "--init-password", "password123"]);
    }
    let mut server = Server::spawn(dir, &args, false).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
    server
}

async fn refused(resp: reqwest::Response) -> (u16, String, Value) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error JSON");
    let error = body["errors"][0].clone();
    (
        status,
        error["code"].as_str().unwrap_or_default().to_owned(),
        error,
    )
}

#[tokio::test]
async fn standalone_postgres_registry_state_refuses_pushes() {
    let dir = tempfile::tempdir().unwrap();
    let admin = pg_url();
    let name = &quay_e2e::unique_db_name("e2e_registry_state");
    Db::Postgres(admin.clone()).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    Db::Postgres(admin.clone()).sql(&format!("CREATE DATABASE {name}"));
    let (prefix, _) = admin.rsplit_once('/').unwrap();
    let url = format!("{prefix}/{name}");
    let storage = dir.path().join("storage");
    std::fs::create_dir_all(&storage).unwrap();
    let config = dir.path().join("config.yaml");
    let data = dir.path().join("data");
    write_config(&config, &url, &storage, "");
    let upgrade = quay_e2e::quay(&[
        "db",
        "upgrade",
        "--mode",
        "standalone",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(
        upgrade.status.success(),
        "{}",
        String::from_utf8_lossy(&upgrade.stderr)
    );

    // A normal instance pushes an image.
    let repo = "admin/state";
    let scopes = ["repository:admin/state:pull,push"];
    let (layer, image_config) = layer_and_config();
    let manifest = image_manifest(
        OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        &image_config,
        &layer,
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );
    let mut server = start(dir.path(), &config, &data, true).await;
    let c = Client::login(&server.base, "registry.example.com", &scopes).await;
    assert_eq!(c.monolithic(repo, &image_config).await.status(), 201);
    assert_eq!(c.monolithic(repo, &layer).await.status(), 201);
    let resp = c.put_manifest(repo, "v1", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    assert!(server.terminate().unwrap().success(), "{}", server.output());

    for (extra, code) in [
        ("REGISTRY_STATE: readonly", "DENIED"),
        ("DISABLE_PUSHES: true", "METHOD NOT ALLOWED"),
    ] {
        write_config(&config, &url, &storage, extra);
        let mut server = start(dir.path(), &config, &data, false).await;
        let c = Client::login(&server.base, "registry.example.com", &scopes).await;
        // Pushes: upload start, monolithic upload, manifest.
        let resp = c
            .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        let (status, got, error) = refused(resp).await;
        assert_eq!((status, got.as_str()), (405, code), "{extra}: {error}");
        assert_eq!(
            error.get("is_readonly").is_some(),
            code == "DENIED",
            "{extra}: {error}"
        );
        let (status, got, _) = refused(c.monolithic(repo, b"new blob").await).await;
        assert_eq!((status, got.as_str()), (405, code), "{extra}");
        let resp = c.put_manifest(repo, "v2", OCI_MANIFEST, &manifest).await;
        let (status, got, _) = refused(resp).await;
        assert_eq!((status, got.as_str()), (405, code), "{extra}");
        // Pulls still work.
        let resp = c
            .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/v1"))
            .header("Accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{extra}");
        assert_eq!(header(&resp, "docker-content-digest"), sha256(&manifest));
        assert_eq!(resp.bytes().await.unwrap().as_ref(), manifest.as_slice());
        let resp = c
            .req(
                reqwest::Method::GET,
                &format!("/v2/{repo}/blobs/{}", sha256(&layer)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{extra}");
        assert_eq!(resp.bytes().await.unwrap().as_ref(), layer.as_slice());
        assert!(server.terminate().unwrap().success(), "{}", server.output());
    }
    Db::Postgres(admin).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
