//! `CREATE_NAMESPACE_ON_PUSH`: a push to a missing namespace is refused while the setting is off;
//! with it on, the push creates the organization (e-mail plus-addressed from the pusher's), its
//! `owners` team with the `admin` team role and the pusher as member, then the repository with
//! the pusher's `admin` permission, and the image can be pulled back.

use super::state::{configure, serve};
use super::{
    Client, Db, OCI_MANIFEST, error_code, header, image_manifest, layer_and_config, sha256,
};
use crate::support::{PgDatabase, db_upgrade};

#[tokio::test]
async fn standalone_postgres_create_namespace_on_push() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_namespace_on_push");
    let data = dir.path().join("data");
    let config = configure(dir.path(), &pg, "");
    db_upgrade(&config, &data);
    let db = pg.db();
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
    let mut server = serve(dir.path(), &config, &data, true).await;
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
    configure(dir.path(), &pg, "CREATE_NAMESPACE_ON_PUSH: true");
    let mut server = serve(dir.path(), &config, &data, false).await;
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
    pg.drop_database();
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
