//! `REGISTRY_STATE: readonly` and `DISABLE_PUSHES`: pushes are refused with Quay's answers
//! (405 `DENIED` with `is_readonly`, 405 `METHOD NOT ALLOWED`) while pulls still work, on the
//! same database and storage a normal instance filled.

use std::path::{Path, PathBuf};

use quay_e2e::Server;
use serde_json::Value;

use super::{Client, OCI_MANIFEST, header, image_manifest, layer_and_config, sha256};
use crate::support::{
    PASSWORD, PgDatabase, db_upgrade, local_storage, serve_args, server_keys, standalone_config,
    start, write_config,
};

/// Writes the standalone config (the test's database, local storage in `<dir>/storage`) with
/// the YAML line `extra`.
pub(super) fn configure(dir: &Path, pg: &PgDatabase, extra: &str) -> PathBuf {
    let storage = local_storage(&dir.join("storage"));
    let extra = format!("{}{extra}\n", server_keys("registry.example.com", "http"));
    write_config(dir, &standalone_config(&pg.url, &storage, &extra))
}

/// Starts the standalone instance, creating the `admin` user when `init`.
pub(super) async fn serve(dir: &Path, config: &Path, data: &Path, init: bool) -> Server {
    let args = serve_args("standalone", Some(config), data, init.then_some(PASSWORD));
    start(dir, &args, None).await
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
    let pg = PgDatabase::create("e2e_registry_state");
    let data = dir.path().join("data");
    let config = configure(dir.path(), &pg, "");
    db_upgrade(&config, &data);

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
    let mut server = serve(dir.path(), &config, &data, true).await;
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
        configure(dir.path(), &pg, extra);
        let mut server = serve(dir.path(), &config, &data, false).await;
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
    pg.drop_database();
}
