//! Replays every `/v2` exchange captured from a running Python Quay
//! (`tests/fixtures/contract/registry/v2_*.json`, in the captured order of `index.json`) against
//! the real binary, after seeding what the capture assumed: users `admin` and `user1`, the
//! organization `testorg` owned by `admin` with the robot `testorg+bot`, the repositories
//! `testorg/hello`, `testorg/robotrepo`, `admin/publicrepo` (public), `testorg/newrepo` and
//! `user1/mine`, and the captured images pushed through `/v2` itself (so their rows are real).
//!
//! For each exchange it compares the status, the body (error envelopes as JSON, blobs and
//! manifests byte for byte, registry tokens claim by claim) and the headers the capture carries
//! (minus `Server`, `Date`, `Connection`, which nginx and the transport set). Values that change
//! per run are normalised, never dropped: upload UUIDs are mapped from the capture's to ours (and
//! ours must be UUIDs), catalog page tokens must be Fernet tokens and the next page they point to
//! is checked, JWT timestamps must keep Quay's lifetime. Every deliberate difference is in the
//! commented allow-list of `replay/allowed.rs` (and in `docs/registry-differences.md`).

mod allowed;
mod compare;
mod seed;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::support::{
    Db, PgDatabase, instance_secret, serve_args, server_keys, start, start_standalone,
};

/// The captures, copied from the Python Quay oracle.
const CAPTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/contract/registry");

/// The captured instance's address: sent as `Host` so that realms and `Location`s compare as is.
const CAPTURED_HOST: &str = "127.0.0.1:8180";

fn capture(name: &str) -> Value {
    let path = format!("{CAPTURES}/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("capture JSON")
}

/// The `/v2` captures in the order they were captured.
fn captured_order() -> Vec<String> {
    let index = capture("index");
    index
        .as_array()
        .expect("index array")
        .iter()
        .map(|e| {
            e["file"]
                .as_str()
                .expect("file")
                .trim_end_matches(".json")
                .to_owned()
        })
        .collect()
}

/// The replay's HTTP client: no redirects followed, no decompression.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("HTTP client")
}

/// One response, as the comparison needs it.
pub(crate) struct Exchange {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Exchange {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one request as the capture describes it, with `Host` set to the captured host.
pub(crate) async fn send(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(String, String)],
    body: Option<Vec<u8>>,
) -> Exchange {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = http()
        .request(method, format!("{base}{path}"))
        .header("Host", CAPTURED_HOST);
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let resp = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = resp.bytes().await.expect("body").to_vec();
    Exchange {
        status,
        headers,
        body,
    }
}

/// What a replay run learns as it goes.
pub(crate) struct Session {
    pub(crate) base: String,
    pub(crate) robot_token: String,
    /// Registry tokens by the capture's `auth` description.
    pub(crate) tokens: HashMap<String, String>,
    /// Capture upload UUID → ours.
    pub(crate) uuids: Vec<(String, String)>,
}

impl Session {
    /// Replaces the capture's per-run values with ours.
    pub(crate) fn localise(&self, text: &str) -> String {
        self.uuids
            .iter()
            .fold(text.to_owned(), |t, (theirs, ours)| t.replace(theirs, ours))
    }
}

/// Seeds, replays every capture, and fails with the full list of differences.
async fn replay_all(base: &str, db: &Db, database_secret_key: &str) {
    let mut session = seed::seed(base, db, database_secret_key).await;
    let order = captured_order();
    assert_eq!(order.len(), 59, "every /v2 capture is replayed");
    let mut differences = Vec::new();
    let mut allowed_used = Vec::new();
    for name in &order {
        let cap = capture(name);
        let (mut found, allowed) = compare::replay_one(&mut session, name, &cap).await;
        // The 429 holds for half a second after one failed login: on a loaded machine the
        // pair may straddle it, so the failure and the throttled login are sent again.
        for _ in 0..2 {
            if name != "v2_auth_throttled" || found.is_empty() {
                break;
            }
            let badpw = capture("v2_auth_badpw");
            let (again, _) = compare::replay_one(&mut session, "v2_auth_badpw", &badpw).await;
            differences.extend(
                again
                    .into_iter()
                    .map(|d| format!("v2_auth_badpw (again): {d}")),
            );
            found = compare::replay_one(&mut session, name, &cap).await.0;
        }
        differences.extend(found.into_iter().map(|d| format!("{name}: {d}")));
        if allowed {
            allowed_used.push(name.clone());
        }
    }
    // An allow-list entry that no longer applies must be removed (with its doc row).
    let kept = allowed::entries();
    let stale: Vec<&str> = kept
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !allowed_used.iter().any(|u| u == n))
        .collect();
    assert!(stale.is_empty(), "allow-list entries never used: {stale:?}");
    eprintln!("{} captures replayed; kept differences:", order.len());
    for (name, reason) in &kept {
        eprintln!("  {name}: {reason}");
    }
    assert!(
        differences.is_empty(),
        "{} difference(s) from Python Quay:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[tokio::test]
async fn mirror_sqlite_replays_python_captures() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some(seed::PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    let key = instance_secret(&data, "DATABASE_SECRET_KEY");
    replay_all(&server.base, &db, &key).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

#[tokio::test]
async fn standalone_postgres_replays_python_captures() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_replay");
    // SERVER_HOSTNAME is the captured instance's (the mirror preset follows the request's host).
    let extra = server_keys(CAPTURED_HOST, "http");
    let mut server = start_standalone(dir.path(), &pg, &extra, seed::PASSWORD).await;
    replay_all(&server.base, &pg.db(), "e2e-database-secret").await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    pg.drop_database();
}
