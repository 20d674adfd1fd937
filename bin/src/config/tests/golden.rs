//! Golden snapshots of the validated config (`{:#?}`, which is secret-free by design).
//!
//! Regenerate after an intended change with `UPDATE_GOLDEN=1 cargo test -p quay --lib config::`
//! and review the diff of `bin/tests/fixtures/config/*.validated.txt`.

use super::*;

fn check_golden(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{name} differs from the validated config; rerun with UPDATE_GOLDEN=1 and review the diff.\n--- actual ---\n{actual}"
    );
}

#[test]
fn standalone_operator_validated_snapshot() {
    let data = tempfile::tempdir().expect("temp dir");
    let loaded = load(
        None,
        Some(&fixture("standalone-operator.yaml")),
        &no_env,
        data.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    check_golden(
        "standalone-operator.validated.txt",
        &format!("{:#?}\n", loaded.config),
    );
}

#[test]
fn mirror_minimal_validated_snapshot() {
    let data = tempfile::tempdir().expect("temp dir");
    let loaded = load(
        Some(Mode::Mirror),
        Some(&fixture("mirror-minimal.yaml")),
        &no_env,
        data.path(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let data = std::path::absolute(data.path())
        .expect("absolute")
        .display()
        .to_string();
    check_golden(
        "mirror-minimal.validated.txt",
        &format!("{:#?}\n", loaded.config).replace(&data, "<DATA_DIR>"),
    );
}

#[test]
fn yaml11_booleans_are_read_like_python_quay() {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) =
        temp_config("FEATURE_PROXY_CACHE: yes\nFEATURE_MAILING: off\nSERVER_HOSTNAME: 'on'\n");
    let loaded = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.config.features.proxy_cache && !loaded.config.features.mailing);
    assert_eq!(
        loaded.config.server_hostname, "on",
        "string keys keep the word"
    );
    let mut warned: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    warned.sort_unstable();
    assert_eq!(warned, ["FEATURE_MAILING", "FEATURE_PROXY_CACHE"]);
}
