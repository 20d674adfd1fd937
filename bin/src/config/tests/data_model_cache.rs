//! `DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl`: the lifetime of the registry's
//! repository lookup cache.

use super::*;

/// The validated config of the mirror preset under `yaml`.
fn load_yaml(yaml: &str) -> Result<QuayConfig, ConfigErrors> {
    let data = tempfile::tempdir().expect("temp dir");
    let (_dir, path) = temp_config(yaml);
    load(Some(Mode::Mirror), Some(&path), &no_env, data.path()).map(|l| l.config)
}

fn ttl_secs(yaml: &str) -> Option<u64> {
    load_yaml(yaml)
        .unwrap_or_else(|e| panic!("{e}"))
        .repository_lookup_cache_ttl
        .map(|d| d.duration().as_secs())
}

#[test]
fn absent_means_the_registry_default() {
    assert_eq!(ttl_secs("SERVER_HOSTNAME: quay.example.com\n"), None);
    assert_eq!(
        ttl_secs("DATA_MODEL_CACHE_CONFIG:\n  engine: inmemory\n"),
        None
    );
}

#[test]
fn quay_durations_are_read_whatever_the_engine() {
    assert_eq!(
        ttl_secs("DATA_MODEL_CACHE_CONFIG:\n  repository_lookup_cache_ttl: 120s\n"),
        Some(120)
    );
    assert_eq!(
        ttl_secs(
            "DATA_MODEL_CACHE_CONFIG:\n  engine: redis\n  redis_config:\n    primary:\n      host: r\n  repository_lookup_cache_ttl: 2m\n"
        ),
        Some(120)
    );
    assert_eq!(
        ttl_secs(
            "DATA_MODEL_CACHE_CONFIG:\n  engine: memcached\n  endpoint: [mc, 11211]\n  repository_lookup_cache_ttl: 0s\n"
        ),
        Some(0)
    );
}

#[test]
fn bad_values_are_errors_at_the_nested_key() {
    for value in ["ten", "120", "-5s", "10x"] {
        let e = load_yaml(&format!(
            "DATA_MODEL_CACHE_CONFIG:\n  repository_lookup_cache_ttl: '{value}'\n"
        ))
        .expect_err(value);
        assert_eq!(
            err_paths(&e),
            ["DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl"],
            "{value}"
        );
    }
    // Quay reads the value with `convert_to_timedelta`, which needs a string: a bare number
    // would fail at the first pull there; here it fails at load.
    let e = load_yaml("DATA_MODEL_CACHE_CONFIG:\n  repository_lookup_cache_ttl: 120\n")
        .expect_err("a number");
    assert_eq!(
        err_paths(&e),
        ["DATA_MODEL_CACHE_CONFIG.repository_lookup_cache_ttl"]
    );
    assert!(e.errors[0].problem.contains("string"), "{e}");
}
