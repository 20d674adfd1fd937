//! `CREATE_NAMESPACE_ON_PUSH`: a push to a missing namespace is refused while the setting is off;
//! with it on, the push creates the organization (e-mail plus-addressed from the pusher's), its
//! `owners` team with the `admin` team role and the pusher as member, then the repository with
//! the pusher's `admin` permission, and the image can be pulled back.

use quay_e2e::pg_url;

use super::state::{start, write_config};
use super::{
    Client, Db, OCI_MANIFEST, error_code, header, image_manifest, layer_and_config, sha256,
};

#[tokio::test]
async fn standalone_postgres_create_namespace_on_push() {
    let dir = tempfile::tempdir().unwrap();
    let admin = pg_url();
    let name = &quay_e2e::unique_db_name("e2e_namespace_on_push");
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
    let db = Db::Postgres(url.clone());
    let repo = "neworg/repo";
    let scopes = ["repository:neworg/repo:pull,push"];
    let (layer, image_config) = layer_and_config();
    let manifest = image_manifest(
        OCI_MANIFEST,
        "application/vnd.oci.image.config.v1+json",
        &image_config,
        &layer,
        "application/vnd.oci.image.layer.v1.tar+gzip",
    );

    // Off (the default): no grant, the push is refused and nothing is created.
    let mut server = start(dir.path(), &config, &data, true).await;
    let c = Client::login(&server.base, "registry.example.com", &scopes).await;
    let resp = c
        .req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(resp).await, (401, "UNAUTHORIZED".into()));
    assert_eq!(
        error_code(c.monolithic(repo, &image_config).await).await,
        (401, "UNAUTHORIZED".into())
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM \"user\" WHERE username = 'neworg'"),
        "0"
    );
    assert!(server.terminate().unwrap().success(), "{}", server.output());

    // On: the first write creates the organization, then the repository.
    write_config(&config, &url, &storage, "CREATE_NAMESPACE_ON_PUSH: true");
    let mut server = start(dir.path(), &config, &data, false).await;
    let c = Client::login(&server.base, "registry.example.com", &scopes).await;
    let resp = c.monolithic(repo, &image_config).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    assert_eq!(c.monolithic(repo, &layer).await.status(), 201);
    let resp = c.put_manifest(repo, "v1", OCI_MANIFEST, &manifest).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);

    assert_created(&db);

    // The pull works, and a second repository goes into the now existing organization.
    pull_back(&c, repo, &manifest, &layer).await;
    let other = Client::login(
        &server.base,
        "registry.example.com",
        &["repository:neworg/second:pull,push"],
    )
    .await;
    assert_eq!(
        other
            .monolithic("neworg/second", &image_config)
            .await
            .status(),
        201
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM \"user\" WHERE username = 'neworg'"),
        "1"
    );
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    Db::Postgres(admin).sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}

/// The organization, its `owners` team with the pusher, the repository and its permission.
fn assert_created(db: &Db) {
    let pusher_email = db.sql("SELECT email FROM \"user\" WHERE username = 'admin'");
    let (local, domain) = pusher_email.split_once('@').expect("an e-mail address");
    let t = db.bool_true();
    assert_eq!(
        db.sql(
            "SELECT organization, robot, verified, password_hash IS NULL, email \
             FROM \"user\" WHERE username = 'neworg'"
        ),
        format!("{t}|f|f|{t}|{local}+neworg@{domain}")
    );
    assert_eq!(
        db.sql(
            "SELECT t.name, r.name, t.description, u.username FROM team t \
             JOIN teamrole r ON r.id = t.role_id JOIN \"user\" o ON o.id = t.organization_id \
             JOIN teammember m ON m.team_id = t.id JOIN \"user\" u ON u.id = m.user_id \
             WHERE o.username = 'neworg'"
        ),
        "owners|admin||admin"
    );
    assert_eq!(
        db.sql(
            "SELECT r.visibility_id = v.id, u.username, ro.name FROM repository r \
             JOIN \"user\" n ON n.id = r.namespace_user_id \
             JOIN visibility v ON v.name = 'private' \
             JOIN repositorypermission p ON p.repository_id = r.id \
             JOIN \"user\" u ON u.id = p.user_id JOIN role ro ON ro.id = p.role_id \
             WHERE n.username = 'neworg' AND r.name = 'repo'"
        ),
        format!("{t}|admin|admin")
    );
}

/// The pushed manifest and layer come back.
async fn pull_back(c: &Client, repo: &str, manifest: &[u8], layer: &[u8]) {
    let resp = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/v1"))
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "docker-content-digest"), sha256(manifest));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), manifest);
    let resp = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/blobs/{}", sha256(layer)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.bytes().await.unwrap().as_ref(), layer);
}
