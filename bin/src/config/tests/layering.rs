//! Quay defaults < preset < config file < environment.

use super::*;

#[test]
fn file_overrides_preset_and_env_overrides_file() {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) = temp_config(
        "SERVER_HOSTNAME: from-file.example.com\nFEATURE_PROXY_CACHE: true\nMAXIMUM_LAYER_SIZE: 5G\n",
    );
    // preset only
    let c = load(Some(Mode::Mirror), None, &no_env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server_hostname, "localhost:8443");
    assert!(!c.features.proxy_cache, "Quay default");
    // file over preset
    let c = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server_hostname, "from-file.example.com");
    assert!(c.features.proxy_cache);
    assert_eq!(c.maximum_layer_size, ByteSize(5_000_000_000));
    // QUAY_OVERRIDE_CONFIG over file
    let env = env_of(&[(
        ENV_OVERRIDE_JSON,
        r#"{"SERVER_HOSTNAME": "from-json.example.com", "FEATURE_PROXY_CACHE": false}"#,
    )]);
    let c = load(Some(Mode::Mirror), Some(&path), &env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server_hostname, "from-json.example.com");
    assert!(!c.features.proxy_cache);
    // QUAY_CONFIG__KEY over QUAY_OVERRIDE_CONFIG
    let env = env_of(&[
        (
            ENV_OVERRIDE_JSON,
            r#"{"SERVER_HOSTNAME": "from-json.example.com"}"#,
        ),
        ("QUAY_CONFIG__SERVER_HOSTNAME", "from-var.example.com"),
        ("QUAY_CONFIG__FEATURE_QUOTA_MANAGEMENT", "true"),
        ("QUAY_CONFIG__SUPER_USERS", "[alice, bob]"),
        ("QUAY_CONFIG__SECRET_KEY", "12345"),
    ]);
    let c = load(Some(Mode::Mirror), Some(&path), &env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.server_hostname, "from-var.example.com");
    assert!(c.features.quota_management);
    assert_eq!(c.super_users, ["alice", "bob"]);
    assert_eq!(
        c.secret_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned())
            .as_deref(),
        Some("12345")
    );
    assert_eq!(
        c.maximum_layer_size,
        ByteSize(5_000_000_000),
        "untouched keys keep the file's value"
    );
}

#[test]
fn quay_defaults_apply_without_preset() {
    let data = tempfile::tempdir().expect("temp dir");
    let c = load(
        None,
        Some(&fixture("standalone-operator.yaml")),
        &no_env,
        data.path(),
    )
    .map(|l| l.config)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.push_temp_tag_expiration_sec, 3600);
    assert_eq!(c.registry_jwt_auth_max_fresh_s, 3660);
    assert_eq!(c.library_namespace, "library");
    assert!(c.create_private_repo_on_push && !c.create_namespace_on_push);
    assert_eq!(c.fresh_login_timeout.as_str(), "10m");
    assert_eq!(c.session_timeout.duration().as_secs(), 31 * 86_400);
    assert_eq!(c.instance_service_key.service, "quay");
    assert_eq!(c.instance_service_key.expiration_minutes, 120);
    assert_eq!(c.registry_state, RegistryState::Normal);
    assert_eq!(c.mail.port, 587);
    assert!(c.features.anonymous_access && c.features.referrers_api);
    let helm = c
        .allowed_oci_artifact_types
        .get("application/vnd.cncf.helm.config.v1+json");
    assert_eq!(helm.map(Vec::len), Some(2), "Quay's default artifact types");
    assert_eq!(c.allowed_oci_artifact_types.len(), 4);
}

#[test]
fn whole_keys_are_replaced_not_merged() {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) = temp_config(
        "DISTRIBUTED_STORAGE_CONFIG:\n  disk2: [LocalStorage, {storage_path: /srv/blobs}]\nDISTRIBUTED_STORAGE_PREFERENCE: [disk2]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: []\nUSERFILES_LOCATION: disk2\n",
    );
    let c = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.storage.locations.keys().collect::<Vec<_>>(), ["disk2"]);
    let env = env_of(&[(ENV_STORAGE_PREFERENCE, "nowhere")]);
    let e = load(Some(Mode::Mirror), Some(&path), &env, data.path()).expect_err("unknown location");
    assert_eq!(err_paths(&e), ["DISTRIBUTED_STORAGE_PREFERENCE[0]"]);
}

#[test]
fn bad_override_json_is_an_error() {
    let data = tempfile::tempdir().expect("temp dir");
    let env = env_of(&[(ENV_OVERRIDE_JSON, "{not json")]);
    let e = load(Some(Mode::Mirror), None, &env, data.path()).expect_err("bad json");
    assert_eq!(err_paths(&e), [ENV_OVERRIDE_JSON]);
}
