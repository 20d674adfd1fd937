//! The standalone preset on a real PostgreSQL: an empty database is refused until
//! `quay db upgrade`; an unreachable one is a clear error.

use quay_e2e::{Server, pg_url, psql, quay};
use std::path::Path;
use std::time::Duration;

/// A fresh database on the test cluster; returns its URL.
fn fresh_database(name: &str) -> String {
    let admin = pg_url();
    psql(
        &admin,
        &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
    );
    psql(&admin, &format!("CREATE DATABASE {name}"));
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

fn write_config(dir: &Path, db_url: &str) -> std::path::PathBuf {
    let quay_uri = db_url.replacen("postgres://", "postgresql://", 1);
    let storage = dir.join("storage");
    let yaml = format!(
        "SERVER_HOSTNAME: localhost\nPREFERRED_URL_SCHEME: http\nDB_URI: {quay_uri}\n\
         SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n\
         BUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\nUSER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
         DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: {}}}]\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n",
        storage.display()
    );
    std::fs::create_dir_all(&storage).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    path
}

#[tokio::test]
async fn standalone_needs_db_upgrade_then_serves() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(&quay_e2e::unique_db_name("e2e_standalone"));
    let config = write_config(dir.path(), &url);
    let cfg = config.to_str().unwrap();
    let common = [
        "--mode",
        "standalone",
        "--config",
        cfg,
        "--data-dir",
        dir.path().to_str().unwrap(),
    ];

    let mut args = vec!["serve", "--tls", "off", "--listen", "127.0.0.1:1"];
    args.extend(common);
    let refused = quay(&args);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("quay db upgrade"), "{stderr}");
    assert_eq!(
        psql(
            &url,
            "select count(*) from pg_tables where schemaname = 'public'"
        ),
        "0",
        "serve must not create tables"
    );

    let mut status = vec!["db", "status"];
    status.extend(common);
    assert!(
        !quay(&status).status.success(),
        "status of an empty database is not OK"
    );

    let mut upgrade = vec!["db", "upgrade"];
    upgrade.extend(common);
    let out = quay(&upgrade);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        psql(&url, "select version_num from alembic_version"),
        "9fa37f66a9b6"
    );
    let out = quay(&status);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("9fa37f66a9b6"));

    let mut serve = vec![
        "--tls",
        "off",
        "--init-user",
        "admin",
        "--init-password",
        "correct-horse-battery",
    ];
    serve.extend(common);
    let mut server = Server::spawn(dir.path(), &serve, false).unwrap();
    server
        .wait_for("/health/instance", 200, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(psql(&url, "select username from \"user\""), "admin");
    assert!(server.terminate().unwrap().success());
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let port = quay_e2e::free_port();
    let config = write_config(
        dir.path(),
        &format!("postgresql://quay:secretpw@127.0.0.1:{port}/quay"),
    );
    let out = quay(&[
        "serve",
        "--mode",
        "standalone",
        "--config",
        config.to_str().unwrap(),
        "--tls",
        "off",
        "--listen",
        "127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("127.0.0.1:{port}")), "{stderr}");
    assert!(
        !stderr.contains("secretpw"),
        "the password was printed:\n{stderr}"
    );
}
