//! `quay serve` on Swift storage (the real Swift proxy of `cargo xtask services up`, tempauth):
//! a cancelled chunked upload leaves its segments on Quay's `chunk_cleanup` queue, in rows as
//! Python Quay writes them, and the chunk-cleanup worker that `quay serve` starts for a
//! `SwiftStorage` location deletes the segments and completes the items (Quay's 30 s delay and
//! 10 s poll: about 40 s).

use std::time::{Duration, Instant};

use quay_e2e::{client, free_port, psql, unique_db_name};

use crate::support::{
    Client, PASSWORD, PgDatabase, db_upgrade, env, serve_args, server_keys, standalone_config,
    start, write_config,
};

const CONTAINER: &str = "quay-e2e-swift";

/// `(storage URL, token)` from tempauth.
async fn swift_session() -> (String, String) {
    let resp = client()
        .get(env("QUAY_TEST_SWIFT_AUTH_URL"))
        .header("x-auth-user", env("QUAY_TEST_SWIFT_USER"))
        .header("x-auth-key", env("QUAY_TEST_SWIFT_KEY"))
        .send()
        .await
        .expect("Swift auth");
    let h = |n: &str| resp.headers()[n].to_str().unwrap().to_string();
    (h("x-storage-url"), h("x-auth-token"))
}

/// Object names in the test container under `prefix`.
async fn swift_list(prefix: &str) -> Vec<String> {
    let (url, token) = swift_session().await;
    let resp = client()
        .get(format!("{url}/{CONTAINER}"))
        .query(&[("prefix", prefix)])
        .header("x-auth-token", token)
        .send()
        .await
        .expect("Swift listing");
    assert!(resp.status().is_success(), "listing: {}", resp.status());
    let text = resp.text().await.unwrap();
    text.lines().map(str::to_string).collect()
}

fn config(dir: &std::path::Path, db_url: &str, port: u16, root: &str) -> std::path::PathBuf {
    let storage = format!(
        "DISTRIBUTED_STORAGE_CONFIG:\n  swift_us:\n    - SwiftStorage\n    - swift_container: {CONTAINER}\n      \
         storage_path: /{root}\n      auth_url: {auth}\n      swift_user: {user}\n      \
         swift_password: {key}\n      auth_version: 1\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [swift_us]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [swift_us]\n",
        auth = env("QUAY_TEST_SWIFT_AUTH_URL"),
        user = env("QUAY_TEST_SWIFT_USER"),
        key = env("QUAY_TEST_SWIFT_KEY"),
    );
    let extra = server_keys(&format!("127.0.0.1:{port}"), "http");
    write_config(dir, &standalone_config(db_url, &storage, &extra))
}

#[tokio::test]
async fn cancelled_swift_upload_segments_are_cleaned_by_the_worker() {
    let (url, token) = swift_session().await;
    let created = client()
        .put(format!("{url}/{CONTAINER}"))
        .header("x-auth-token", token)
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "container: {}",
        created.status()
    );

    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_swift");
    let db_url = pg.url.clone();
    let port = free_port();
    let root = unique_db_name("swiftcc").replace('_', "-");
    let cfg = config(dir.path(), &db_url, port, &root);
    db_upgrade(&cfg, dir.path());
    let args = serve_args("standalone", Some(&cfg), dir.path(), Some(PASSWORD));
    let mut server = start(dir.path(), &args, Some(port)).await;
    let base = server.base.clone();

    let service = format!("127.0.0.1:{port}");
    let bearer = Client::login(&base, &service, &["repository:admin/swiftcc:pull,push"])
        .await
        .token;
    let resp = client()
        .post(format!("{base}/v2/admin/swiftcc/blobs/uploads/"))
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", server.output());
    let uuid = resp.headers()["docker-upload-uuid"]
        .to_str()
        .unwrap()
        .to_string();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let resp = client()
        .patch(&location)
        .bearer_auth(&bearer)
        .header("content-range", "0-9")
        .body(b"0123456789".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202, "{}", server.output());
    let prefix = format!("{root}/segments/{uuid}/");
    assert_eq!(swift_list(&prefix).await, [format!("{prefix}000000000")]);

    let resp = client()
        .delete(&location)
        .bearer_auth(&bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204, "{}", server.output());
    // The segment waits on the queue, in Python Quay's row format.
    let row = psql(
        &db_url,
        "select queue_name, body, retries_remaining, available, processing_expires is null, \
         available_after > now() at time zone 'utc' from queueitem",
    );
    assert_eq!(
        row,
        format!(
            "chunk_cleanup/segment/swift_us/{uuid}/|{{\"location\": \"swift_us\", \"uuid\": \
             \"{uuid}\", \"path\": \"segments/{uuid}/000000000\"}}|5|t|t|t"
        )
    );
    assert_eq!(
        swift_list(&prefix).await.len(),
        1,
        "not deleted in the request"
    );

    // The worker deletes it once the 30 s delay has passed.
    let deadline = Instant::now() + Duration::from_secs(75);
    loop {
        let left = psql(&db_url, "select count(*) from queueitem");
        if left == "0" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the item was not processed:\n{}",
            server.output()
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert!(
        swift_list(&prefix).await.is_empty(),
        "segment still in Swift"
    );
    assert!(server.terminate().unwrap().success());
    pg.drop_database();
}
