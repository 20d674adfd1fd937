//! The short-lived commands.

use quay_e2e::{quay, workspace_root};

#[test]
fn config_validate_reports_all_three_mistakes() {
    let file = workspace_root().join("bin/tests/fixtures/config/three-mistakes.yaml");
    let dir = tempfile::tempdir().unwrap();
    let out = quay(&[
        "config",
        "validate",
        "--mode",
        "mirror",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--config",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("DB_URI"), "{stdout}");
    assert!(
        stdout.contains("DISTRIBUTED_STORAGE_PREFERENCE"),
        "{stdout}"
    );
    assert!(stdout.contains("FEATURE_PROXY_CACHE"), "{stdout}");
    assert!(stdout.contains("3 error(s)"), "{stdout}");
    assert!(
        !stdout.contains("fixture-mysql-password"),
        "a secret was printed:\n{stdout}"
    );
}

#[test]
fn config_validate_accepts_the_mirror_preset() {
    let dir = tempfile::tempdir().unwrap();
    let out = quay(&[
        "config",
        "validate",
        "--mode",
        "mirror",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("configuration is valid"), "{stdout}");
}

#[test]
fn version_names_the_alembic_head() {
    let out = quay(&["version"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("9fa37f66a9b6"));
}

#[test]
fn fips_status_reports_providers() {
    let dir = tempfile::tempdir().unwrap();
    let out = quay(&[
        "fips",
        "status",
        "--mode",
        "mirror",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FEATURE_FIPS: false"), "{stdout}");
    assert!(stdout.to_lowercase().contains("provider"), "{stdout}");
}

#[test]
fn feature_fips_without_a_fips_provider_refuses_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let out = quay_e2e::quay_command(&[
        "serve",
        "--mode",
        "mirror",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--tls",
        "off",
        "--listen",
        "127.0.0.1:1",
    ])
    .env("QUAY_CONFIG__FEATURE_FIPS", "true")
    .env_remove("OPENSSL_CONF")
    .output()
    .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FEATURE_FIPS"), "{stderr}");
    assert!(
        !dir.path().join("quay_sqlite.db").exists(),
        "nothing may be written before the refusal"
    );
}
