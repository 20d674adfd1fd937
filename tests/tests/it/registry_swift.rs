//! `quay serve` on Swift storage (the real Swift proxy of `cargo xtask services up`, tempauth):
//! a cancelled chunked upload leaves its segments on Quay's `chunk_cleanup` queue, in rows as
//! Python Quay writes them, and the chunk-cleanup worker that `quay serve` starts for a
//! `SwiftStorage` location deletes the segments and completes the items (Quay's 30 s delay and
//! 10 s poll: about 40 s).

use std::time::{Duration, Instant};

use quay_e2e::{Server, client, free_port, pg_url, psql, quay, unique_db_name};
use serde_json::Value;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `cargo xtask services up` and export what it prints")
    })
}

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
    let yaml = format!(
        "SERVER_HOSTNAME: 127.0.0.1:{port}\nPREFERRED_URL_SCHEME: http\nDB_URI: {db}\n\
         SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n\
         BUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\nUSER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  swift_us:\n    - SwiftStorage\n    - swift_container: {CONTAINER}\n      \
         storage_path: /{root}\n      auth_url: {auth}\n      swift_user: {user}\n      \
         swift_password: {key}\n      auth_version: 1\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [swift_us]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [swift_us]\n",
        db = db_url.replacen("postgres://", "postgresql://", 1),
        auth = env("QUAY_TEST_SWIFT_AUTH_URL"),
        user = env("QUAY_TEST_SWIFT_USER"),
        key = env("QUAY_TEST_SWIFT_KEY"),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test]
#[expect(clippy::too_many_lines, reason = "one scenario, step by step")]
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
    let admin = pg_url();
    let name = unique_db_name("e2e_swift");
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let db_url = format!("{}/{name}", admin.rsplit_once('/').unwrap().0);
    let port = free_port();
    let root = unique_db_name("swiftcc").replace('_', "-");
    let cfg = config(dir.path(), &db_url, port, &root);
    let common = [
        "--mode",
        "standalone",
        "--config",
        cfg.to_str().unwrap(),
        "--data-dir",
        dir.path().to_str().unwrap(),
    ];
    let mut upgrade = vec!["db", "upgrade"];
    upgrade.extend(common);
    let out = quay(&upgrade);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut args = vec![
        "--tls",
        "off",
        "--init-user",
        "admin",
        "--init-password",
        "password123",
    ];
    args.extend(common);
    let mut server = Server::spawn_on(dir.path(), &args, false, port).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
    let base = server.base.clone();

    let resp = client()
        .get(format!("{base}/v2/auth"))
        .query(&[
            ("service", format!("127.0.0.1:{port}").as_str()),
            ("scope", "repository:admin/swiftcc:pull,push"),
        ])
        .basic_auth("admin", Some("password123"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let bearer = resp.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
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
    psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
}
