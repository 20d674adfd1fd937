//! Preset requirements and contradictions.

use super::*;

#[test]
fn standalone_requires_postgres_and_redis() {
    let data = tempfile::tempdir().expect("temp dir");
    let e =
        load(Some(Mode::Standalone), None, &no_env, data.path()).expect_err("nothing configured");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "BUILDLOGS_REDIS",
            "DB_URI",
            "SERVER_HOSTNAME",
            "USER_EVENTS_REDIS"
        ],
        "{e}"
    );
    let db = e
        .errors
        .iter()
        .find(|x| x.path == "DB_URI")
        .expect("DB_URI error");
    assert!(db.fix.contains("postgresql://"), "{db}");

    let (_dir, path) = temp_config(
        "SERVER_HOSTNAME: q.example.com\nDB_URI: sqlite:////tmp/x.db\nBUILDLOGS_REDIS: {host: r}\nUSER_EVENTS_REDIS: {host: r}\n",
    );
    let e = load(Some(Mode::Standalone), Some(&path), &no_env, data.path()).expect_err("sqlite");
    assert_eq!(err_paths(&e), ["DB_URI"]);
    assert!(e.errors[0].problem.contains("PostgreSQL"));

    let (_dir, path) = temp_config(
        "SERVER_HOSTNAME: q.example.com\nDB_URI: postgresql://q:pw@db/quay\nBUILDLOGS_REDIS: {host: r}\nUSER_EVENTS_REDIS: {host: r, port: 6380}\n",
    );
    let c = load(Some(Mode::Standalone), Some(&path), &no_env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(
            c.storage.locations.get("default"),
            Some(StorageDriver::Local(_))
        ),
        "preset local storage"
    );
    assert!(matches!(c.tls, TlsConfig::SelfSigned { .. }));
    assert_eq!(c.user_events_redis.map(|r| r.port), Some(6380));
}

#[test]
fn full_mode_fixture_with_tls_files() {
    let data = tempfile::tempdir().expect("temp dir");
    let conf = tempfile::tempdir().expect("temp dir");
    let path = conf.path().join("config.yaml");
    std::fs::copy(fixture("full-ldap-cloudfront.yaml"), &path).expect("copy");
    let e =
        load(Some(Mode::Full), Some(&path), &no_env, data.path()).expect_err("no TLS files yet");
    assert_eq!(err_paths(&e), ["PREFERRED_URL_SCHEME"], "{e}");
    std::fs::write(conf.path().join("ssl.cert"), "cert").expect("write");
    std::fs::write(conf.path().join("ssl.key"), "key").expect("write");
    let loaded =
        load(Some(Mode::Full), Some(&path), &no_env, data.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert!(matches!(c.tls, TlsConfig::Provided { .. }));
    let AuthConfig::Ldap(ldap) = &c.auth else {
        panic!("LDAP")
    };
    assert_eq!(ldap.uri.as_str(), "ldaps://ldap.example.com:636");
    assert_eq!(ldap.base_dn, ["dc=example", "dc=com"]);
    assert_eq!(ldap.uid_attr, "uid");
    assert_eq!(c.db.read_replicas.len(), 1);
    assert_eq!(c.db.connection_args.max_connections, Some(20));
    assert!(c.storage.locations.values().all(StorageDriver::is_cdn));
    assert_eq!(c.ssl_protocols, ["TLSv1.2", "TLSv1.3"]);
    assert_eq!(
        c.allowed_oci_artifact_types
            .get("application/vnd.cncf.helm.config.v1+json")
            .map(Vec::len),
        Some(1)
    );
    assert_eq!(c.registry_jwt_auth_max_fresh_s, 600);
    assert!(c.mail.use_auth && c.mail.password.is_some());
    let debug = format!("{c:?}");
    for s in [
        "fixture-ldap-bind-password",
        "fixture-redis-password",
        "fixture-smtp-password",
        "fixture-replica-password",
        "fixture-full-s3-secret",
    ] {
        assert!(!debug.contains(s), "Debug leaks {s}");
    }
}

#[test]
fn full_mode_contradictions() {
    let data = tempfile::tempdir().expect("temp dir");
    let yaml = "SERVER_HOSTNAME: r.example.com\nPREFERRED_URL_SCHEME: http\nDB_URI: postgresql://q:pw@db/quay\nAUTHENTICATION_TYPE: Database\nDISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {storage_path: /srv}]\nDISTRIBUTED_STORAGE_PREFERENCE: [default]\nBUILDLOGS_REDIS: {host: r}\nUSER_EVENTS_REDIS: {host: r}\n";
    let (_dir, path) = temp_config(yaml);
    let e = load(Some(Mode::Full), Some(&path), &no_env, data.path()).expect_err("contradictions");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "AUTHENTICATION_TYPE",
            "DISTRIBUTED_STORAGE_CONFIG.default[0]",
            "PREFERRED_URL_SCHEME"
        ],
        "{e}"
    );
}

#[test]
fn provider_keys_checked_only_for_chosen_auth() {
    let data = tempfile::tempdir().expect("temp dir");
    // LDAP keys with Database auth: not checked.
    let (_dir, path) = temp_config("LDAP_URI: 5\n");
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .expect_err("type is still checked");
    assert_eq!(err_paths(&e), ["LDAP_URI"]);
    let (_dir, path) = temp_config("LDAP_ADMIN_DN: cn=x\n");
    assert!(load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).is_ok());
    // LDAP chosen without LDAP_URI.
    let (_dir, path) = temp_config(
        "AUTHENTICATION_TYPE: LDAP\nLDAP_BASE_DN: [dc=example, dc=com]\nLDAP_ADMIN_DN: cn=admin\nLDAP_ADMIN_PASSWD: pw\n",
    );
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("no LDAP_URI");
    assert_eq!(err_paths(&e), ["LDAP_URI"]);
    // OIDC chosen: provider mapping checked.
    let (_dir, path) = temp_config(
        "AUTHENTICATION_TYPE: OIDC\nCORP_LOGIN_CONFIG: {CLIENT_ID: quay, CLIENT_SECRET: s3cr3t-oidc}\n",
    );
    let e =
        load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("no OIDC_SERVER");
    assert_eq!(err_paths(&e), ["CORP_LOGIN_CONFIG.OIDC_SERVER"]);
    let (_dir, path) = temp_config(
        "AUTHENTICATION_TYPE: OIDC\nCORP_LOGIN_CONFIG: {CLIENT_ID: quay, CLIENT_SECRET: s3cr3t-oidc, OIDC_SERVER: 'https://sso.example.com/realms/corp/', SERVICE_NAME: Corp SSO}\n",
    );
    let c = load(Some(Mode::Mirror), Some(&path), &no_env, data.path())
        .map(|l| l.config)
        .unwrap_or_else(|e| panic!("{e}"));
    let AuthConfig::Oidc(providers) = &c.auth else {
        panic!("OIDC")
    };
    assert_eq!(providers[0].client_id, "quay");
    assert!(!format!("{c:?}").contains("s3cr3t-oidc"));
    assert!(
        c.bootstrap_superuser.is_none(),
        "no bootstrap superuser with external auth"
    );
    let (_dir, path) = temp_config("AUTHENTICATION_TYPE: Kerberos\n");
    let e = load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).expect_err("unknown type");
    assert!(
        e.errors[0]
            .fix
            .contains("Database, LDAP, JWT, Keystone, OIDC, AppToken")
    );
}

#[test]
fn quay_schema_required_keys_without_preset() {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) = temp_config("SERVER_HOSTNAME: quay.example.com\n");
    let e = load(None, Some(&path), &no_env, data.path()).expect_err("missing required keys");
    let mut paths = err_paths(&e);
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "AUTHENTICATION_TYPE",
            "BUILDLOGS_REDIS",
            "DB_URI",
            "DEFAULT_TAG_EXPIRATION",
            "DISTRIBUTED_STORAGE_CONFIG",
            "PREFERRED_URL_SCHEME",
            "TAG_EXPIRATION_OPTIONS",
            "USER_EVENTS_REDIS",
        ],
        "{e}"
    );
}
