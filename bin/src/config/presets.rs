//! The `mirror`, `standalone` and `full` presets: Quay keys that sit between Quay's defaults
//! and the config file (the file and the environment override them key by key).
//!
//! | mode | DB | storage | auth | cache | TLS |
//! |---|---|---|---|---|---|
//! | mirror | SQLite in the data dir | LocalStorage in the data dir | anonymous pulls + Database, generated `init` superuser | in-memory | self-signed |
//! | standalone | PostgreSQL (DB_URI required) | LocalStorage in the data dir, or S3 from the file | Database | Redis (required) | provided or self-signed |
//! | full | PostgreSQL (required) | S3-family (+ CDN) from the file | LDAP/OIDC/JWT/Keystone | Redis (required) | required |

use std::path::Path;

use serde_json::{Map, Value, json};

use super::Mode;

/// The name of the storage location the presets define.
pub(crate) const LOCATION: &str = "default";

/// `USERFILES_LOCATION` and the log archive locations are not preset: a file that renames
/// the storage location would otherwise inherit a dangling `default`. When absent, quay-rs
/// uses the first preferred location.
///
/// The preset layer for `mode`. Paths are under `data_dir` (made absolute by the caller).
pub(crate) fn preset(mode: Mode, data_dir: &Path) -> Map<String, Value> {
    let data = data_dir.display().to_string();
    let local_storage =
        json!({ LOCATION: ["LocalStorage", { "storage_path": format!("{data}/storage") }] });
    let common = json!({
        "PREFERRED_URL_SCHEME": "https",
        "DISTRIBUTED_STORAGE_PREFERENCE": [LOCATION],
        "DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS": [LOCATION],
        "DEFAULT_TAG_EXPIRATION": "2w",
        "TAG_EXPIRATION_OPTIONS": ["0s", "1d", "1w", "2w", "4w"],
        "SETUP_COMPLETE": true,
    });
    let specific = match mode {
        Mode::Mirror => json!({
            "SERVER_HOSTNAME": "localhost:8443",
            "DB_URI": format!("sqlite:///{data}/quay_sqlite.db"),
            "DISTRIBUTED_STORAGE_CONFIG": local_storage,
            "AUTHENTICATION_TYPE": "Database",
            "FEATURE_ANONYMOUS_ACCESS": true,
            "FEATURE_USER_INITIALIZE": true,
            "SUPER_USERS": ["init"],
            "DATA_MODEL_CACHE_CONFIG": { "engine": "inmemory" },
            "FEATURE_MAILING": false,
            "FEATURE_BUILD_SUPPORT": false,
            "FEATURE_USER_EVENTS": false,
            "FEATURE_SECURITY_SCANNER": false,
            "FEATURE_REPO_MIRROR": false,
        }),
        Mode::Standalone => json!({
            "DISTRIBUTED_STORAGE_CONFIG": local_storage,
            "AUTHENTICATION_TYPE": "Database",
            "FEATURE_BUILD_SUPPORT": false,
        }),
        Mode::Full => json!({
            "FEATURE_BUILD_SUPPORT": false,
        }),
    };
    let mut out = Map::new();
    for layer in [common, specific] {
        if let Value::Object(m) = layer {
            out.extend(m);
        }
    }
    out
}
