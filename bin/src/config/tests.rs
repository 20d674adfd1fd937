//! Loader tests over the golden fixtures in `bin/tests/fixtures/config/`.

mod data_model_cache;
mod golden;
mod layering;
mod modes;

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::*;

pub(super) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

pub(super) fn no_env(_: &str) -> Option<String> {
    None
}

pub(super) fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// Writes `yaml` as config.yaml in a fresh temp dir (returned to keep it alive).
pub(super) fn temp_config(yaml: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).expect("write config");
    (dir, path)
}

pub(super) fn err_paths(e: &ConfigErrors) -> Vec<&str> {
    e.errors.iter().map(|e| e.path.as_str()).collect()
}

#[test]
fn mirror_minimal_fixture() {
    let data = tempfile::tempdir().expect("temp dir");
    let loaded = load(
        Some(Mode::Mirror),
        Some(&fixture("mirror-minimal.yaml")),
        &no_env,
        data.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = &loaded.config;
    let data = std::path::absolute(data.path()).expect("absolute");
    assert_eq!(c.server_hostname, "mirror.example.com:8443");
    assert_eq!(c.preferred_url_scheme, UrlScheme::Https);
    let DbUri::Sqlite { path } = &c.db.uri else {
        panic!("mirror uses SQLite")
    };
    assert_eq!(path, &data.join("quay_sqlite.db"));
    let uri = c
        .effective
        .get("DB_URI")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    assert_eq!(uri, format!("sqlite:///{}/quay_sqlite.db", data.display()));
    assert!(
        uri.starts_with("sqlite:////"),
        "Quay's absolute SQLite form: {uri}"
    );
    let Some(StorageDriver::Local(local)) = c.storage.locations.get("default") else {
        panic!("local storage")
    };
    assert_eq!(local.storage_path, data.join("storage"));
    assert_eq!(c.storage.preference, ["default"]);
    assert!(matches!(c.auth, AuthConfig::Database));
    assert!(c.features.anonymous_access && c.features.user_initialize && !c.features.user_events);
    assert_eq!(c.bootstrap_superuser.as_deref(), Some("init"));
    assert!(matches!(c.data_model_cache, CacheConfig::InMemory));
    assert!(c.buildlogs_redis.is_none() && c.user_events_redis.is_none());
    assert_eq!(
        c.tls,
        TlsConfig::SelfSigned {
            cert: data.join("tls/ssl.cert"),
            key: data.join("tls/ssl.key")
        }
    );
    assert_eq!(c.maximum_layer_size, ByteSize(20_000_000_000));
    assert_eq!(c.default_tag_expiration.as_str(), "2w");
    assert_eq!(
        c.database_secret_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .as_deref(),
        Some("6a1e0c3b-mirror-db-secret-fixture")
    );
}

#[test]
fn mirror_needs_no_file() {
    let data = tempfile::tempdir().expect("temp dir");
    let loaded =
        load(Some(Mode::Mirror), None, &no_env, data.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.config.server_hostname, "localhost:8443");
}

#[test]
fn operator_standalone_fixture_loads_as_quay_and_as_standalone() {
    let data = tempfile::tempdir().expect("temp dir");
    for mode in [None, Some(Mode::Standalone)] {
        let loaded = load(
            mode,
            Some(&fixture("standalone-operator.yaml")),
            &no_env,
            data.path(),
        )
        .unwrap_or_else(|e| panic!("{mode:?}: {e}"));
        let c = loaded.config;
        // SECURITY_SCANNER_V4_NOTIFICATION_ENDPOINT is not one of Quay's keys any more.
        let warned: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
        assert_eq!(
            warned,
            ["SECURITY_SCANNER_V4_NOTIFICATION_ENDPOINT"],
            "{mode:?}"
        );
        let DbUri::Postgres {
            host,
            port,
            database,
            user,
            ..
        } = &c.db.uri
        else {
            panic!("postgres")
        };
        assert_eq!(
            (host.as_str(), *port, database.as_str()),
            ("example-registry-quay-database", 5432, "quay")
        );
        assert_eq!(user.as_deref(), Some("quayuser"));
        assert_eq!(
            c.db.connection_args.other.get("threadlocals"),
            Some(&serde_json::json!(true))
        );
        let Some(StorageDriver::S3(s3)) = c.storage.locations.get("default") else {
            panic!("S3")
        };
        assert_eq!(
            (s3.s3_bucket.as_str(), s3.storage_path.as_str()),
            ("example-quay-bucket", "/datastorage/registry")
        );
        assert_eq!(s3.host.as_deref(), Some("s3.us-east-1.amazonaws.com"));
        assert_eq!(
            c.storage.locations.len(),
            1,
            "the file's storage replaces the preset's"
        );
        assert_eq!(
            c.buildlogs_redis
                .as_ref()
                .map(|r| (r.host.as_str(), r.port)),
            Some(("example-registry-quay-redis", 6379))
        );
        assert!(matches!(
            c.data_model_cache,
            CacheConfig::Redis { cluster: false, .. }
        ));
        assert_eq!(c.tls, TlsConfig::Off, "TLS ends at the route");
        assert!(c.features.security_scanner && c.features.proxy_cache && !c.features.mailing);
        assert_eq!(c.maximum_layer_size.bytes(), 50_000_000_000);
        assert_eq!(c.super_users, ["quayadmin"]);
        assert_eq!(c.global_readonly_super_users, ["auditor"]);
        assert_eq!(
            c.security_scanner_v4_endpoint
                .as_ref()
                .map(url::Url::as_str),
            Some("http://example-registry-clair-app/")
        );
        assert!(c.bootstrap_superuser.is_none());
    }
}

#[test]
fn three_mistakes_report_exactly_three_errors() {
    let data = tempfile::tempdir().expect("temp dir");
    let e = load(
        Some(Mode::Mirror),
        Some(&fixture("three-mistakes.yaml")),
        &no_env,
        data.path(),
    )
    .expect_err("three mistakes");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "DB_URI",
            "DISTRIBUTED_STORAGE_PREFERENCE[1]",
            "FEATURE_PROXY_CACHE"
        ],
        "{e}"
    );
    let text = e.to_string();
    assert_eq!(text.lines().count(), 3);
    assert!(
        text.contains("MySQL/MariaDB is not supported by quay-rs") && text.contains("PostgreSQL"),
        "{text}"
    );
    assert!(
        text.contains("`archive` is not a location") && text.contains("use one of: default"),
        "{text}"
    );
    assert!(!text.contains("fixture-mysql-password"), "{text}");
    let warned: Vec<&str> = e.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["SERVER_HOSTNAME_ALIAS"]);
}

#[test]
fn yaml_syntax_errors_carry_line_and_column() {
    let data = tempfile::tempdir().expect("temp dir");
    let e = load(
        Some(Mode::Mirror),
        Some(&fixture("bad-syntax.yaml")),
        &no_env,
        data.path(),
    )
    .expect_err("bad yaml");
    assert_eq!(e.errors.len(), 1, "{e}");
    assert!(
        e.errors[0]
            .path
            .contains("bad-syntax.yaml at line 4, column"),
        "{e}"
    );
    assert!(e.errors[0].problem.starts_with("YAML syntax error"), "{e}");
}

#[test]
fn secrets_never_printed() {
    let data = tempfile::tempdir().expect("temp dir");
    let loaded = load(
        None,
        Some(&fixture("standalone-operator.yaml")),
        &no_env,
        data.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let secrets = [
        "fixture-db-password",
        "2b7c33f1-fixture-database-secret-key",
        "fixture-flask-secret-key-value",
        "fixture-s3-secret-key-value",
        "AKIAFIXTUREACCESSKEY",
        "Zml4dHVyZS1jbGFpci1wc2s=",
    ];
    let debug = format!("{loaded:?}");
    let redacted = serde_json::to_string(&loaded.config.redacted()).expect("json");
    for s in secrets {
        assert!(!debug.contains(s), "Debug leaks {s}");
        assert!(!redacted.contains(s), "redacted() leaks {s}");
    }
    assert!(
        redacted
            .contains("postgresql://quayuser:<redacted>@example-registry-quay-database:5432/quay"),
        "{redacted}"
    );
    assert!(redacted.contains("example-quay-bucket"));
    // Wrong types on secret keys name the type, never the value.
    let (_dir, path) =
        temp_config("SECRET_KEY: [hunter2-secret]\nDB_URI: oracle://u:hunter3@h/x\n");
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("errors");
    let shown = format!("{e}\n{e:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("hunter3"),
        "{shown}"
    );
}

#[test]
fn unknown_keys_warn_and_still_load() {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) = temp_config(
        "FEATURE_TELEPORTATION: true\nSERVER_HOSTNAM: typo.example.com\nRHSSO_LOGIN_CONFIG: {}\n",
    );
    let loaded = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut warned: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    warned.sort_unstable();
    assert_eq!(warned, ["FEATURE_TELEPORTATION", "SERVER_HOSTNAM"]);
    assert!(loaded.warnings[0].to_string().starts_with("warning: "));
}

#[test]
fn storage_errors_have_precise_paths() {
    let data = tempfile::tempdir().expect("temp dir");
    let yaml = "DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {storage_pth: /x}]\n  other: [FancyStorage, {}]\n  s3: [S3Storage, {s3_bucket: 5, storage_path: /r}]\nDISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [nowhere]\n";
    let (_dir, path) = temp_config(yaml);
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("errors");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "DISTRIBUTED_STORAGE_CONFIG.default[1].storage_path",
            "DISTRIBUTED_STORAGE_CONFIG.default[1].storage_pth",
            "DISTRIBUTED_STORAGE_CONFIG.other[0]",
            "DISTRIBUTED_STORAGE_CONFIG.s3[1].s3_bucket",
            "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS[0]",
        ],
        "{e}"
    );
    let unknown = e
        .errors
        .iter()
        .find(|x| x.path.ends_with("other[0]"))
        .expect("driver error");
    assert!(
        unknown
            .fix
            .contains("LocalStorage, S3Storage, GoogleCloudStorage"),
        "{unknown}"
    );
}

#[test]
fn value_checks() {
    let data = tempfile::tempdir().expect("temp dir");
    let yaml = "MAXIMUM_LAYER_SIZE: 20 gigs\nDEFAULT_TAG_EXPIRATION: 3w\nREGISTRY_STATE: frozen\nSERVER_HOSTNAME: https://quay.example.com\nLIBRARY_NAMESPACE: 7\nSSL_PROTOCOLS: [TLSv1.3, SSLv3]\nDB_CONNECTION_ARGS: {sslmode: always}\n";
    let (_dir, path) = temp_config(yaml);
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("errors");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    paths.dedup();
    assert_eq!(
        paths,
        [
            "DB_CONNECTION_ARGS.sslmode",
            "DEFAULT_TAG_EXPIRATION",
            "LIBRARY_NAMESPACE",
            "MAXIMUM_LAYER_SIZE",
            "REGISTRY_STATE",
            "SERVER_HOSTNAME",
            "SSL_PROTOCOLS[1]",
        ],
        "{e}"
    );
}

#[test]
fn validate_command_prints_everything_and_fails_on_errors() {
    let data = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    let code = validate_command(
        Some(Mode::Mirror),
        Some(&fixture("three-mistakes.yaml")),
        &no_env,
        data.path(),
        &mut out,
    );
    let text = String::from_utf8(out).expect("utf8");
    assert_eq!(code, std::process::ExitCode::FAILURE);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("error: ")).count(),
        3,
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("warning: ")).count(),
        1,
        "{text}"
    );
    assert!(
        text.ends_with("configuration is invalid: 3 error(s), 1 warning(s)\n"),
        "{text}"
    );

    let mut out = Vec::new();
    let code = validate_command(
        Some(Mode::Mirror),
        Some(&fixture("mirror-minimal.yaml")),
        &no_env,
        data.path(),
        &mut out,
    );
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(
        String::from_utf8(out).expect("utf8"),
        "configuration is valid (0 warning(s))\n"
    );
}
