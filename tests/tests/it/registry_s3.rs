//! The registry on S3 storage: the standalone preset on PostgreSQL with `S3Storage` pointing at
//! the S3-compatible test server; a real client pushes and pulls, and the blob lands under
//! Quay's path layout in the bucket.

use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use quay_e2e::{free_port, psql, unique_db_name};

use crate::support::{
    PASSWORD, PgDatabase, db_upgrade, env, serve_args, server_keys, standalone_config, start,
    write_config,
};

fn contains_file(dir: &std::path::Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| {
            let path = e.path();
            if path.is_dir() {
                contains_file(&path, name)
            } else {
                e.file_name() == name
            }
        })
}

fn config(dir: &std::path::Path, db_url: &str, port: u16, bucket: &str) -> std::path::PathBuf {
    let storage = format!(
        "DISTRIBUTED_STORAGE_CONFIG:\n  s3:\n    - S3Storage\n    - s3_bucket: {bucket}\n      \
         storage_path: /registry\n      s3_access_key: {ak}\n      s3_secret_key: {sk}\n      \
         endpoint_url: {endpoint}\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [s3]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [s3]\n",
        ak = env("QUAY_TEST_S3_ACCESS_KEY"),
        sk = env("QUAY_TEST_S3_SECRET_KEY"),
        endpoint = env("QUAY_TEST_S3_ENDPOINT"),
    );
    let extra = server_keys(&format!("127.0.0.1:{port}"), "http");
    write_config(dir, &standalone_config(db_url, &storage, &extra))
}

#[tokio::test]
async fn push_and_pull_through_v2_with_s3_storage() {
    let endpoint = env("QUAY_TEST_S3_ENDPOINT");
    let bucket = unique_db_name("quay-e2e").replace('_', "-");
    let created = reqwest::Client::new()
        .put(format!("{endpoint}/{bucket}"))
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "creating the bucket: {}",
        created.status()
    );

    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_s3");
    let db_url = pg.url.clone();
    let port = free_port();
    let cfg = config(dir.path(), &db_url, port, &bucket);
    db_upgrade(&cfg, dir.path());
    let args = serve_args("standalone", Some(&cfg), dir.path(), Some(PASSWORD));
    let mut server = start(dir.path(), &args, Some(port)).await;

    let client = Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let auth = RegistryAuth::Basic("admin".into(), "password123".into());
    let reference: Reference = format!("127.0.0.1:{port}/admin/ons3:v1").parse().unwrap();
    let layer = ImageLayer::oci_v1(b"a layer stored in S3 ".repeat(4096), None);
    let config = Config::oci_v1(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
        None,
    );
    client
        .push(
            &reference,
            std::slice::from_ref(&layer),
            config,
            &auth,
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("push failed: {e}\n{}", server.output()));

    let image = client
        .pull(
            &reference,
            &auth,
            vec![oci_client::manifest::IMAGE_LAYER_MEDIA_TYPE],
        )
        .await
        .unwrap_or_else(|e| panic!("pull failed: {e}\n{}", server.output()));
    assert_eq!(image.layers[0].data, layer.data);

    // The blob is placed in the S3 location only, and nothing of it is on local disk.
    let digest = layer.sha256_digest();
    let placed = psql(
        &db_url,
        &format!(
            "select l.name from imagestorageplacement p \
             join imagestoragelocation l on l.id = p.location_id \
             join imagestorage s on s.id = p.storage_id where s.content_checksum = '{digest}'"
        ),
    );
    assert_eq!(placed, "s3");
    let hex = digest.trim_start_matches("sha256:");
    assert!(
        !contains_file(dir.path(), hex),
        "a blob was written to local disk"
    );

    assert!(server.terminate().unwrap().success());
    pg.drop_database();
}
