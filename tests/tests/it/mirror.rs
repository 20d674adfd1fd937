//! `quay serve --mode mirror` on a fresh machine: SQLite, local disk, TLS, initial superuser.

use quay_e2e::{Server, client, quay, sqlite};
use std::process::Command;
use std::time::Duration;

use crate::support::{serve_args, start};

/// The health endpoints answer with Quay's services, in Quay's JSON shape, uncached.
async fn assert_health_shapes(base: &str) {
    let resp = client()
        .get(format!("{}/health/instance", base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["cache-control"],
        "no-cache, no-store, must-revalidate"
    );
    let body: serde_json::Value = resp.json().await.unwrap();
    let services = body["data"]["services"].as_object().unwrap();
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "auth",
            "database",
            "disk_space",
            "registry_gunicorn",
            "service_key",
            "web_gunicorn"
        ]
    );
    assert_eq!(body["status_code"], 200);
    let e2e: serde_json::Value = client()
        .get(format!("{}/health/endtoend", base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = e2e["data"]["services"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, ["auth", "database", "redis", "storage"]);
}

#[tokio::test]
async fn mirror_first_start_serves_health_and_prints_password_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();
    let mut server = Server::spawn(
        dir.path(),
        &["--mode", "mirror", "--data-dir", data_arg, "--tls", "off"],
        false,
    )
    .unwrap();
    let elapsed = server
        .wait_for("/health/instance", 200, Duration::from_secs(20))
        .await
        .unwrap();
    eprintln!("first start: /health/instance answered 200 after {elapsed:?}");

    assert_health_shapes(&server.base).await;

    let exit = server.terminate().unwrap();
    assert!(
        exit.success(),
        "SIGTERM must stop quay cleanly: {exit}\n{}",
        server.output()
    );
    let first_output = server.output();
    let line = first_output
        .lines()
        .find(|l| l.contains("Initial superuser created"))
        .unwrap_or_else(|| panic!("no password line:\n{first_output}"));
    assert!(line.contains("(init, "), "{line}");

    // Instance secrets generated once, private to the owner.
    let secrets = data.join("instance-secrets.yaml");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&secrets).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let secrets_text = std::fs::read_to_string(&secrets).unwrap();
    assert!(secrets_text.contains("DATABASE_SECRET_KEY") && secrets_text.contains("SECRET_KEY"));

    // Quay's schema at head, the init user stored with a bcrypt hash.
    let db = data.join("quay_sqlite.db");
    assert_eq!(
        sqlite(&db, "select version_num from alembic_version"),
        "9fa37f66a9b6"
    );
    let row = sqlite(
        &db,
        "select username, verified, organization, robot, substr(password_hash,1,4) from user",
    );
    assert_eq!(row, "init|1|0|0|$2b$");

    // Second start: same data, no new password, still healthy.
    let mut again = Server::spawn(
        dir.path(),
        &["--mode", "mirror", "--data-dir", data_arg, "--tls", "off"],
        false,
    )
    .unwrap();
    let elapsed = again
        .wait_for("/health/instance", 200, Duration::from_secs(20))
        .await
        .unwrap();
    eprintln!("second start: /health/instance answered 200 after {elapsed:?}");
    assert!(
        !again.output().contains("Initial superuser created"),
        "{}",
        again.output()
    );
    assert_eq!(sqlite(&db, "select count(*) from user"), "1");
    assert_eq!(
        std::fs::read_to_string(&secrets).unwrap(),
        secrets_text,
        "secrets are generated once"
    );
}

#[tokio::test]
async fn mirror_tls_auto_generates_a_certificate_for_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::spawn(
        dir.path(),
        &["--mode", "mirror", "--data-dir", data.to_str().unwrap()],
        true,
    )
    .unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(20))
        .await
        .unwrap();
    // Quay's file names, ssl.cert / ssl.key, under the data directory's tls/.
    let pems = [data.join("tls/ssl.cert")];
    assert!(pems[0].is_file(), "no certificate at {}", pems[0].display());
    let key_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(data.join("tls/ssl.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(key_mode & 0o777, 0o600, "the private key must be private");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&pems[0])
        .output()
        .expect("openssl x509");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("DNS:localhost"), "{text}");
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");
    // A second start reuses the same certificate.
    let before = std::fs::read(&pems[0]).unwrap();
    server.terminate().unwrap();
    let mut again = Server::spawn(
        dir.path(),
        &["--mode", "mirror", "--data-dir", data.to_str().unwrap()],
        true,
    )
    .unwrap();
    again
        .wait_for("/health/instance", 200, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(
        before == std::fs::read(&pems[0]).unwrap(),
        "the certificate must be reused"
    );
}

#[tokio::test]
async fn init_user_is_created_once_in_any_mode() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some("correct-horse-battery"));
    let mut server = start(dir.path(), &args, None).await;
    server.terminate().unwrap();
    let db = data.join("quay_sqlite.db");
    assert_eq!(sqlite(&db, "select username from user"), "admin");
    let hash = sqlite(
        &db,
        "select password_hash from user where username = 'admin'",
    );
    let mut again = start(dir.path(), &args, None).await;
    again.terminate().unwrap();
    assert_eq!(
        sqlite(
            &db,
            "select password_hash from user where username = 'admin'"
        ),
        hash,
        "an existing user is left alone"
    );
}

#[test]
fn weak_init_password_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = quay(&[
        "serve",
        "--mode",
        "mirror",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
        "--listen",
        "127.0.0.1:1",
        "--init-user",
        "admin",
        "--init-password",
        "short",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 8 characters"), "{stderr}");
}

#[test]
fn unknown_database_version_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let db = data.join("quay_sqlite.db");
    sqlite(
        &db,
        "create table alembic_version (version_num varchar(32) not null); insert into alembic_version values ('ffffffffffff'); create table user (id integer primary key);",
    );
    let before = std::fs::read(&db).unwrap();
    let out = quay(&[
        "serve",
        "--mode",
        "mirror",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
        "--listen",
        "127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ffffffffffff") && stderr.contains("9fa37f66a9b6"),
        "{stderr}"
    );
    assert!(
        before == std::fs::read(&db).unwrap(),
        "the database must not be modified"
    );
}

#[test]
fn data_dir_that_cannot_be_created_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").unwrap();
    let data = file.join("data");
    let out = quay(&[
        "serve",
        "--mode",
        "mirror",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
        "--listen",
        "127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("data directory") && stderr.contains("--data-dir"),
        "{stderr}"
    );
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = [
        "--log-format",
        "json",
        "--mode",
        "mirror",
        "--data-dir",
        data.to_str().unwrap(),
        "--tls",
        "off",
    ];
    let mut server = Server::spawn(dir.path(), &args, false).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(20))
        .await
        .unwrap();
    assert!(server.terminate().unwrap().success());
    let output = server.output();
    let mut logged = 0;
    for line in output
        .lines()
        .filter(|l| !l.starts_with("Initial superuser created"))
    {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(
            value["level"].is_string() && value["timestamp"].is_string(),
            "{line}"
        );
        logged += 1;
    }
    assert!(logged > 0, "no log lines:\n{output}");
    assert!(output.contains("\"quay is serving\""), "{output}");
}
