//! Tag rules Quay's `retarget_tag` applies under its `retarget_tag:<repo id>` lock, on the real
//! binary, on SQLite (mirror preset) and PostgreSQL (standalone preset):
//! - cosign siblings: moving or deleting the last tag of an image expires its
//!   `sha256-<hex>.sig` / `.att` tags (`_expire_cosign_sibling_tags`), at distinct ends;
//! - immutability policies are read inside the push transaction: a policy committed while the
//!   push waits for the lock (PostgreSQL: a session holding Quay's advisory lock; SQLite: a
//!   session holding the write lock) makes the pushed tag immutable.
//!
//! Needs `QUAY_TEST_PG_URL` (`cargo xtask services up`) and the `sqlite3` and `psql` clients.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;

use crate::support::{
    Client, Db, OCI_MANIFEST, PASSWORD, PgDatabase, SqliteMirror, TestImage, start_standalone,
};

const SERVICE: &str = "registry.example.com";
const REPO: &str = "admin/signed";

/// The cosign tag `suffix` of `image` (`sha256-<hex>.<suffix>`).
fn sibling(image: &TestImage, suffix: &str) -> String {
    format!("{}.{suffix}", image.digest().replace(':', "-"))
}

/// An image unique to `seed`.
fn unique_image(seed: u8) -> TestImage {
    TestImage::new(seed, &json!({}))
}

async fn push(client: &Client, tag: &str, image: &TestImage) {
    let resp = client
        .push_image(REPO, tag, &[&image.config, &image.layer], &image.manifest)
        .await;
    assert_eq!(resp.status(), 201, "{tag}: {:?}", resp.text().await);
}

async fn status(client: &Client, method: reqwest::Method, tag: &str) -> u16 {
    client
        .req(method, &format!("/v2/{REPO}/manifests/{tag}"))
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .expect("manifest request")
        .status()
        .as_u16()
}

/// `end - (end of the closed row of tag `anchor`)` for each row named `name`, by id (`alive`
/// for an open row).
fn ends(db: &Db, name: &str, anchor: &str) -> String {
    db.sql(&format!(
        "SELECT COALESCE(CAST(t.lifetime_end_ms - a.lifetime_end_ms AS VARCHAR), 'alive') \
         FROM tag t, tag a WHERE t.name = '{name}' AND a.name = '{anchor}' \
         AND a.lifetime_end_ms IS NOT NULL AND a.repository_id = t.repository_id ORDER BY t.id"
    ))
}

async fn cosign(client: &Client, db: &Db) {
    // `v1` on image 1, signed and attested; then `v1` moves to image 2.
    let (image, signature, attestation) = (unique_image(1), unique_image(2), unique_image(3));
    push(client, "v1", &image).await;
    push(client, &sibling(&image, "sig"), &signature).await;
    push(client, &sibling(&image, "att"), &attestation).await;
    push(client, "v1", &unique_image(4)).await;
    assert_eq!(ends(db, &sibling(&image, "sig"), "v1"), "0");
    assert_eq!(ends(db, &sibling(&image, "att"), "v1"), "-1");
    assert_eq!(
        status(client, reqwest::Method::GET, &sibling(&image, "sig")).await,
        404
    );

    // Image 5 under `a` and `b`: deleting `a` keeps the signature (`b` still shows the image),
    // deleting `b` expires it with `b`.
    let image = unique_image(5);
    push(client, "a", &image).await;
    push(client, "b", &image).await;
    push(client, &sibling(&image, "sig"), &unique_image(6)).await;
    assert_eq!(status(client, reqwest::Method::DELETE, "a").await, 202);
    assert_eq!(
        status(client, reqwest::Method::GET, &sibling(&image, "sig")).await,
        200
    );
    assert_eq!(status(client, reqwest::Method::DELETE, "b").await, 202);
    assert_eq!(ends(db, &sibling(&image, "sig"), "b"), "0");
    assert_eq!(
        status(client, reqwest::Method::GET, &sibling(&image, "sig")).await,
        404
    );
}

/// A session holding the lock a push takes before writing its tag, fed through `psql` or
/// `sqlite3`'s standard input.
struct Holder {
    child: Child,
}

impl Holder {
    fn start(db: &Db, repo_id: &str) -> Self {
        let (mut cmd, begin) = match db {
            // Quay's `compute_advisory_lock_id("retarget_tag", id)`, computed by PostgreSQL.
            Db::Postgres(url) => {
                let mut cmd = Command::new("psql");
                cmd.args([url.as_str(), "-XAtq", "-v", "ON_ERROR_STOP=1"]);
                let begin = format!(
                    "BEGIN;\nSELECT pg_advisory_xact_lock(('x' || substr(encode(sha256(\
                     'retarget_tag:{repo_id}'::bytea), 'hex'), 1, 16))::bit(64)::bigint);\n"
                );
                (cmd, begin)
            }
            Db::Sqlite(path) => {
                let mut cmd = Command::new("sqlite3");
                cmd.arg(path);
                (cmd, "BEGIN IMMEDIATE;\n".to_owned())
            }
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("SQL client");
        child
            .stdin
            .as_mut()
            .expect("stdin")
            .write_all(begin.as_bytes())
            .expect("BEGIN");
        Self { child }
    }

    /// Runs `sql` in the held transaction, commits, and waits for the session to end.
    fn commit_with(mut self, sql: &str) {
        let mut stdin = self.child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("{sql};\nCOMMIT;\n").as_bytes())
            .expect("COMMIT");
        drop(stdin);
        assert!(self.child.wait().expect("SQL client").success());
    }
}

/// Whether the holder has the lock (`granted`) or a push waits for it (`!granted`).
fn lock_state(db: &Db, granted: bool) -> bool {
    match db {
        Db::Postgres(_) => {
            db.sql(&format!(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted = {granted} \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )) != "0"
        }
        // SQLite cannot show a waiting writer: only that the write lock is taken.
        Db::Sqlite(path) => {
            granted
                && !Command::new("sqlite3")
                    .args([
                        "-cmd",
                        ".timeout 0",
                        path.to_str().expect("UTF-8"),
                        "BEGIN IMMEDIATE; ROLLBACK;",
                    ])
                    .output()
                    .expect("sqlite3")
                    .status
                    .success()
        }
    }
}

async fn wait_for_lock(db: &Db, granted: bool) {
    for _ in 0..500 {
        if lock_state(db, granted) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the lock never reached granted = {granted}");
}

/// A policy committed while the push waits on the lock applies to the pushed tag.
async fn policy_race(base: &str, db: &Db) {
    let scope = format!("repository:{REPO}:pull,push");
    let pusher = Client::login(base, SERVICE, &[&scope]).await;
    let image = unique_image(7);
    pusher.push_blob(REPO, &image.config).await;
    pusher.push_blob(REPO, &image.layer).await;
    let rid = db.sql(
        "SELECT r.id FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id \
         WHERE u.username = 'admin' AND r.name = 'signed'",
    );
    let holder = Holder::start(db, &rid);
    wait_for_lock(db, true).await;
    let manifest = image.manifest.clone();
    let pushed = tokio::spawn(async move {
        pusher
            .put_manifest(REPO, "late", OCI_MANIFEST, &manifest)
            .await
            .status()
            .as_u16()
    });
    match db {
        Db::Postgres(_) => wait_for_lock(db, false).await,
        Db::Sqlite(_) => tokio::time::sleep(Duration::from_millis(1500)).await,
    }
    assert!(!pushed.is_finished(), "the push waits for the lock");
    holder.commit_with(&format!(
        "INSERT INTO repositoryimmutabilitypolicy (uuid, repository_id, namespace_id, policy) \
         SELECT 'race-1', id, namespace_user_id, '{{\"tag_pattern\": \"late\"}}' \
         FROM repository WHERE id = {rid}"
    ));
    assert_eq!(pushed.await.expect("push task"), 201);
    assert_eq!(
        db.sql(&format!(
            "SELECT CASE WHEN immutable THEN 1 ELSE 0 END FROM tag \
             WHERE repository_id = {rid} AND name = 'late' AND lifetime_end_ms IS NULL"
        )),
        "1"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT e.metadata_json FROM logentry3 e JOIN logentrykind k ON k.id = e.kind_id \
             WHERE e.repository_id = {rid} AND k.name = 'tag_made_immutable_by_policy'"
        )),
        "{\"tag\": \"late\", \"repo\": \"signed\", \"namespace\": \"admin\", \"immutable\": true}"
    );
}

async fn scenario(base: &str, db: &Db) {
    let scope = format!("repository:{REPO}:pull,push");
    let admin = Client::login(base, SERVICE, &[&scope]).await;
    cosign(&admin, db).await;
    policy_race(base, db).await;
}

fn features() -> String {
    format!(
        "SERVER_HOSTNAME: {SERVICE}\nPREFERRED_URL_SCHEME: http\n\
         DATABASE_SECRET_KEY: e2e-cosign-database-secret\nFEATURE_IMMUTABLE_TAGS: true\n"
    )
}

#[tokio::test]
async fn mirror_sqlite_cosign_and_policy_lock() {
    let mirror = SqliteMirror::start(&features()).await;
    scenario(&mirror.server.base, &mirror.db).await;
    mirror.stop();
}

#[tokio::test]
async fn standalone_postgres_cosign_and_policy_lock() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_cosign");
    let extra = format!("SECRET_KEY: e2e-secret\n{}", features());
    let mut server = start_standalone(dir.path(), &pg, &extra, PASSWORD).await;
    let db = pg.db();
    scenario(&server.base, &db).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    pg.drop_database();
}
