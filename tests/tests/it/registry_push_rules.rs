//! Push rules of Quay's data model on the real binary, with the rows Python Quay writes, on
//! SQLite (mirror preset) and PostgreSQL (standalone preset):
//! - every new manifest gets its pending `manifestsecuritystatus` row;
//! - immutable tags (`FEATURE_IMMUTABLE_TAGS`): the `quay.immutable` label and immutability
//!   policies make pushed tags immutable (`tag.immutable`, `tag_made_immutable_by_policy`), and
//!   an immutable tag refuses to move or be deleted with `TAG_IMMUTABLE` 409;
//! - pull statistics (`FEATURE_IMAGE_PULL_STATS` + `PULL_METRICS_REDIS`): the Redis hashes a
//!   pull by tag or digest maintains, `tagpullstatistics` rows dropped with their tag, and the
//!   flush worker's `tagpullstatistics` / `manifestpullstatistics` rows (after a restart with
//!   `REDIS_FLUSH_INTERVAL_SECONDS: 1`, so the counters stay put while they are checked);
//! - repository states: a `MIRROR` repository takes pushes only from its mirror robot, a
//!   `READ_ONLY` one from nobody (the token is downscoped, so the push is `UNAUTHORIZED`).
//!
//! Needs `QUAY_TEST_REDIS_URL` and `QUAY_TEST_PG_URL` (`cargo xtask services up`), and the
//! `sqlite3`, `psql` and `redis-cli` clients.

use std::process::Command;
use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};

use crate::support::{
    Client, Db, OCI_MANIFEST, PASSWORD, PgDatabase, TestImage, db_upgrade, local_storage,
    serve_args, standalone_config, start, write_config,
};

const SERVICE: &str = "registry.example.com";
const DATABASE_SECRET_KEY: &str = "e2e-push-rules-database-secret";
const ROBOT_TOKEN: &str = "MIRRORROBOTTOKEN0123456789";

/// The test Redis, one database per backend so the two tests never share keys.
struct Redis {
    host: String,
    port: String,
    db: u8,
}

impl Redis {
    fn new(db: u8) -> Self {
        let url = std::env::var("QUAY_TEST_REDIS_URL")
            .expect("QUAY_TEST_REDIS_URL is not set: run `cargo xtask services up`");
        let hostport = url.trim_start_matches("redis://").trim_end_matches('/');
        let (host, port) = hostport.split_once(':').expect("redis://host:port");
        let redis = Self {
            host: host.to_owned(),
            port: port.to_owned(),
            db,
        };
        redis.cli(&["FLUSHDB"]);
        redis
    }

    fn cli(&self, args: &[&str]) -> String {
        self.output(args).trim_end().to_owned()
    }

    /// `redis-cli`'s output as printed: one line per reply element, empty values included
    /// (an empty value printed last must not be trimmed away).
    fn output(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args([
                "-h",
                &self.host,
                "-p",
                &self.port,
                "-n",
                &self.db.to_string(),
            ])
            .args(args)
            .output()
            .expect("redis-cli (Debian: redis-tools)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn config(&self) -> String {
        format!(
            "PULL_METRICS_REDIS: {{host: {}, port: {}, db: {}}}",
            self.host, self.port, self.db
        )
    }

    /// The hash at `key` once its `pull_count` is `count` (the adapter writes off the request
    /// path).
    async fn hash(&self, key: &str, count: &str) -> Vec<(String, String)> {
        for _ in 0..100 {
            let text = self.output(&["HGETALL", key]);
            let lines: Vec<&str> = match text.strip_suffix('\n') {
                Some(body) => body.split('\n').collect(),
                None => Vec::new(),
            };
            let pairs: Vec<(String, String)> = lines
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| (c[0].to_owned(), c[1].to_owned()))
                .collect();
            if pairs.iter().any(|(k, v)| k == "pull_count" && v == count) {
                return pairs;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "{key} never reached pull_count {count}: {}",
            self.cli(&["HGETALL", key])
        );
    }
}

impl Client {
    /// Uploads the image's blobs and puts its manifest at `reference`.
    async fn push(&self, repo: &str, reference: &str, image: &TestImage) -> reqwest::Response {
        self.push_image(
            repo,
            reference,
            &[&image.config, &image.layer],
            &image.manifest,
        )
        .await
    }

    async fn get(&self, repo: &str, reference: &str) -> u16 {
        self.req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .expect("GET manifest")
        .status()
        .as_u16()
    }

    async fn delete(&self, repo: &str, reference: &str) -> reqwest::Response {
        self.req(
            reqwest::Method::DELETE,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .send()
        .await
        .expect("DELETE manifest")
    }
}

async fn error(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.expect("error JSON");
    (status, body["errors"][0].clone())
}

fn repo_id(db: &Db, name: &str) -> String {
    db.sql(&format!(
        "SELECT r.id FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id \
         WHERE u.username = 'admin' AND r.name = '{name}'"
    ))
}

/// `name:immutable:digest` of the live visible tag `name`.
fn live_tag(db: &Db, repo: &str, name: &str) -> String {
    db.sql(&format!(
        "SELECT t.name || ':' || (CASE WHEN t.immutable THEN 1 ELSE 0 END) || ':' || m.digest \
         FROM tag t JOIN manifest m ON m.id = t.manifest_id \
         WHERE t.repository_id = {} AND t.name = '{name}' AND t.hidden = false \
         AND t.lifetime_end_ms IS NULL",
        repo_id(db, repo.trim_start_matches("admin/"))
    ))
}

async fn scenario(base: &str, db: &Db, redis: &Redis) {
    let repo = "admin/rules";
    let scope = format!("repository:{repo}:pull,push");
    let admin = Client::login(base, SERVICE, &[&scope]).await;
    security_status(&admin, db, repo).await;
    immutable_label(&admin, db, repo).await;
    expiry_label(&admin, db, repo).await;
    policies(&admin, db, repo).await;
    pull_statistics(&admin, db, redis, repo).await;
    repository_states(base, db).await;
}

/// Quay's `_create_manifest` writes one pending security status per new manifest.
async fn security_status(admin: &Client, db: &Db, repo: &str) {
    let image = TestImage::new(1, &json!({}));
    let resp = admin.push(repo, "v1", &image).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    assert_eq!(admin.push(repo, "v1-again", &image).await.status(), 201);
    let rows = db.sql(&format!(
        "SELECT s.index_status || '|' || s.error_json || '|' || s.metadata_json || '|' || \
         s.indexer_hash || '|' || s.indexer_version || '|' || \
         (CASE WHEN s.repository_id = m.repository_id THEN 1 ELSE 0 END) || '|' || \
         (CASE WHEN s.last_indexed IS NOT NULL THEN 1 ELSE 0 END) \
         FROM manifestsecuritystatus s JOIN manifest m ON m.id = s.manifest_id \
         WHERE m.digest = '{}'",
        image.digest()
    ));
    assert_eq!(rows, "0|{}|{}||4|1|1", "one row, written once");
    assert_eq!(live_tag(db, repo, "v1"), format!("v1:0:{}", image.digest()));
}

/// The `quay.immutable` label, and what an immutable tag refuses.
async fn immutable_label(admin: &Client, db: &Db, repo: &str) {
    let locked = TestImage::new(2, &json!({"quay.immutable": "True "}));
    let resp = admin.push(repo, "locked", &locked).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    let expected = format!("locked:1:{}", locked.digest());
    assert_eq!(live_tag(db, repo, "locked"), expected);

    // Moving it: refused; the new manifest stays (untagged, with its status row) as in Quay.
    let other = TestImage::new(3, &json!({}));
    let (status, e) = error(admin.push(repo, "locked", &other).await).await;
    assert_eq!(status, 409);
    assert_eq!(e["code"], "TAG_IMMUTABLE");
    assert_eq!(e["message"], "tag is immutable and cannot be overwritten");
    assert_eq!(e["detail"], json!({"message": "tag 'locked' is immutable"}));
    assert_eq!(live_tag(db, repo, "locked"), expected);
    let rid = repo_id(db, "rules");
    assert_eq!(
        db.sql(&format!(
            "SELECT COUNT(*) FROM tag WHERE repository_id = {rid} AND name = 'locked'"
        )),
        "1"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT COUNT(s.id) || ':' || (SELECT COUNT(*) FROM tag t WHERE t.manifest_id = m.id) \
             FROM manifest m LEFT JOIN manifestsecuritystatus s ON s.manifest_id = m.id \
             WHERE m.repository_id = {rid} AND m.digest = '{}' GROUP BY m.id",
            other.digest()
        )),
        "1:0"
    );
    // The same manifest again: still a move of an immutable tag.
    let (status, _) = error(admin.push(repo, "locked", &locked).await).await;
    assert_eq!(status, 409);

    // Deleting it, by tag or by digest: refused, nothing changes.
    let (status, e) = error(admin.delete(repo, "locked").await).await;
    assert_eq!((status, e["code"].as_str()), (409, Some("TAG_IMMUTABLE")));
    let (status, e) = error(admin.delete(repo, &locked.digest()).await).await;
    assert_eq!(
        (status, e["detail"]["message"].as_str()),
        (409, Some("tag 'locked' is immutable"))
    );
    assert_eq!(live_tag(db, repo, "locked"), expected);
    assert_eq!(admin.get(repo, "locked").await, 200);
}

/// `quay.expires-after` sets the pushed tag's end; an immutable tag keeps none
/// (`FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE` off).
async fn expiry_label(admin: &Client, db: &Db, repo: &str) {
    let rid = repo_id(db, "rules");
    let lifetime = |tag: &str| {
        db.sql(&format!(
            "SELECT COALESCE(lifetime_end_ms - lifetime_start_ms, -1) FROM tag \
             WHERE repository_id = {rid} AND name = '{tag}' AND hidden = false \
             ORDER BY id DESC LIMIT 1"
        ))
    };
    let expiring = TestImage::new(4, &json!({"quay.expires-after": "2h"}));
    assert_eq!(admin.push(repo, "temp", &expiring).await.status(), 201);
    assert_eq!(lifetime("temp"), "7200000");
    // The stored manifest's label applies to a later push of it too.
    assert_eq!(admin.push(repo, "temp2", &expiring).await.status(), 201);
    assert_eq!(lifetime("temp2"), "7200000");
    let frozen = TestImage::new(
        5,
        &json!({"quay.expires-after": "1h", "quay.immutable": "true"}),
    );
    assert_eq!(admin.push(repo, "frozen", &frozen).await.status(), 201);
    assert_eq!(lifetime("frozen"), "-1");
    assert_eq!(
        live_tag(db, repo, "frozen"),
        format!("frozen:1:{}", frozen.digest())
    );
    let bad = TestImage::new(6, &json!({"quay.expires-after": "soon"}));
    assert_eq!(admin.push(repo, "never", &bad).await.status(), 201);
    assert_eq!(lifetime("never"), "-1");
}

/// Repository policies, then namespace policies (here one that protects every tag it does not
/// match), decide at push time; Quay logs
/// `tag_made_immutable_by_policy` before the push's own entry.
async fn policies(admin: &Client, db: &Db, repo: &str) {
    let rid = repo_id(db, "rules");
    db.sql(&format!(
        "INSERT INTO repositoryimmutabilitypolicy (uuid, repository_id, namespace_id, policy) \
         SELECT 'rp-1', {rid}, namespace_user_id, '{{\"tag_pattern\": \"rel-[0-9]+\"}}' \
         FROM repository WHERE id = {rid}"
    ));
    db.sql(
        "INSERT INTO namespaceimmutabilitypolicy (uuid, namespace_id, policy) \
         SELECT 'np-1', id, '{\"tag_pattern\": \"dev-.*|v[0-9]+\", \"tag_pattern_matches\": false}' \
         FROM \"user\" WHERE username = 'admin'",
    );
    let image = TestImage::new(1, &json!({}));
    for (tag, immutable) in [("rel-1", 1), ("dev-1", 0), ("stable", 1)] {
        let resp = admin.push(repo, tag, &image).await;
        assert_eq!(resp.status(), 201, "{tag}");
        assert_eq!(
            live_tag(db, repo, tag),
            format!("{tag}:{immutable}:{}", image.digest())
        );
    }
    // Quay's order: the policy entry, then push_repo, for each immutable tag.
    let kinds = db.sql(&format!(
        "SELECT k.name || ' ' || COALESCE(e.performer_id, 0) || ' ' || COALESCE(e.ip, '-') \
         FROM logentry3 e JOIN logentrykind k ON k.id = e.kind_id \
         WHERE e.repository_id = {rid} AND k.name IN ('tag_made_immutable_by_policy', 'push_repo') \
         ORDER BY e.id"
    ));
    let tail: Vec<&str> = kinds.lines().rev().take(5).collect();
    assert_eq!(tail[0].split(' ').next(), Some("push_repo"));
    assert!(
        tail[1].starts_with("tag_made_immutable_by_policy 0 -"),
        "{kinds}"
    );
    assert_eq!(tail[2].split(' ').next(), Some("push_repo"), "dev-1");
    assert_eq!(tail[3].split(' ').next(), Some("push_repo"));
    assert!(
        tail[4].starts_with("tag_made_immutable_by_policy 0 -"),
        "{kinds}"
    );
    let metadata = db.sql(&format!(
        "SELECT e.metadata_json FROM logentry3 e JOIN logentrykind k ON k.id = e.kind_id \
         WHERE e.repository_id = {rid} AND k.name = 'tag_made_immutable_by_policy' ORDER BY e.id"
    ));
    assert_eq!(
        metadata,
        "{\"tag\": \"rel-1\", \"repo\": \"rules\", \"namespace\": \"admin\", \"immutable\": true}\n\
         {\"tag\": \"stable\", \"repo\": \"rules\", \"namespace\": \"admin\", \"immutable\": true}"
    );
}

/// Redis hashes of pulls by tag and by digest; a deleted tag loses its statistics row.
async fn pull_statistics(admin: &Client, db: &Db, redis: &Redis, repo: &str) {
    let rid = repo_id(db, "rules");
    let image = TestImage::new(1, &json!({}));
    let digest = image.digest();
    assert_eq!(admin.get(repo, "v1").await, 200);
    assert_eq!(admin.get(repo, "v1").await, 200);
    assert_eq!(admin.get(repo, &digest).await, 200);
    let tag = redis
        .hash(&format!("pull_events:repo:{rid}:tag:v1:{digest}"), "2")
        .await;
    let field = |pairs: &[(String, String)], k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {k} in {pairs:?}"))
    };
    // Exactly Quay's fields (a hash with a digest value is a hashtable: no field order).
    let mut keys: Vec<&str> = tag.iter().map(|(k, _)| k.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "last_pull_timestamp",
            "manifest_digest",
            "pull_count",
            "pull_method",
            "repository_id",
            "tag_name"
        ]
    );
    assert_eq!(field(&tag, "repository_id"), rid);
    assert_eq!(field(&tag, "tag_name"), "v1");
    assert_eq!(field(&tag, "manifest_digest"), digest);
    assert_eq!(field(&tag, "pull_method"), "tag");
    let ts: i64 = field(&tag, "last_pull_timestamp").parse().expect("seconds");
    assert!(
        ts > 1_700_000_000 && ts < 10_000_000_000,
        "Unix seconds: {ts}"
    );
    let by_digest = redis
        .hash(&format!("pull_events:repo:{rid}:digest:{digest}"), "1")
        .await;
    assert_eq!(field(&by_digest, "pull_method"), "digest");
    assert_eq!(field(&by_digest, "tag_name"), "");
    assert_eq!(
        redis.cli(&["TTL", &format!("pull_events:repo:{rid}:digest:{digest}")]),
        "-1"
    );

    // Deleting a tag drops its flushed statistics (Quay's `_delete_tag`).
    for tag in ["v1", "v1-again"] {
        db.sql(&format!(
            "INSERT INTO tagpullstatistics (repository_id, tag_name, tag_pull_count, \
             last_tag_pull_date, current_manifest_digest) \
             VALUES ({rid}, '{tag}', 3, '2001-01-01 00:00:00', '{digest}')"
        ));
    }
    assert_eq!(admin.delete(repo, "v1-again").await.status(), 202);
    assert_eq!(
        db.sql(&format!(
            "SELECT tag_name FROM tagpullstatistics WHERE repository_id = {rid} ORDER BY tag_name"
        )),
        "v1"
    );
}

/// `MIRROR`: only the mirror robot pushes; `READ_ONLY`: nobody; pulls keep working.
async fn repository_states(base: &str, db: &Db) {
    let repo = "admin/mirrored";
    let scope = format!("repository:{repo}:pull,push");
    let image = TestImage::new(1, &json!({}));
    let admin = Client::login(base, SERVICE, &[&scope]).await;
    assert_eq!(admin.push(repo, "v1", &image).await.status(), 201);
    let rid = repo_id(db, "mirrored");
    let cipher =
        quay_fips::FieldEncrypterV0::new(&SecretString::from(DATABASE_SECRET_KEY.to_owned()))
            .expect("field encrypter");
    let encrypted = cipher
        .encrypt_with_nonce(ROBOT_TOKEN.as_bytes(), &[9; 13], None)
        .expect("encrypted");
    db.sql(&format!(
        "INSERT INTO \"user\" (uuid, username, email, verified, organization, robot, \
         invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, \
         enabled) VALUES ('uuid-mirrorbot', 'admin+mirrorbot', 'mirrorbot@example.com', true, \
         false, true, false, 0, '2026-11-27 12:00:00', 1209600, true);
         INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) \
         SELECT id, '{encrypted}', true FROM \"user\" WHERE username = 'admin+mirrorbot';
         INSERT INTO repositorypermission (user_id, repository_id, role_id) \
         SELECT u.id, {rid}, ro.id FROM \"user\" u, role ro \
         WHERE u.username = 'admin+mirrorbot' AND ro.name = 'write';
         INSERT INTO repomirrorrule (uuid, repository_id, creation_date, rule_type, rule_value) \
         VALUES ('rule-mirrored', {rid}, '2026-11-27 12:00:00', 1, '[\"latest\"]');
         INSERT INTO repomirrorconfig (repository_id, creation_date, is_enabled, mirror_type, \
         internal_robot_id, external_registry_config, sync_status, root_rule_id, \
         external_reference) SELECT {rid}, '2026-11-27 12:00:00', true, 1, u.id, '{{}}', 0, \
         r.id, 'quay.io/example/mirrored' FROM \"user\" u, repomirrorrule r \
         WHERE u.username = 'admin+mirrorbot' AND r.uuid = 'rule-mirrored';
         UPDATE repository SET state = 2 WHERE id = {rid};"
    ));
    let robot = Client::login_as(base, SERVICE, ("admin+mirrorbot", ROBOT_TOKEN), &[&scope]).await;
    let admin = Client::login(base, SERVICE, &[&scope]).await;
    let (status, e) = error(admin.push(repo, "v2", &image).await).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (401, Some("UNAUTHORIZED")),
        "{e}"
    );
    let resp = robot.push(repo, "v2", &image).await;
    assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    assert_eq!(live_tag(db, repo, "v2"), format!("v2:0:{}", image.digest()));

    db.sql(&format!("UPDATE repository SET state = 1 WHERE id = {rid}"));
    for who in ["admin", "admin+mirrorbot"] {
        let password = if who == "admin" {
            PASSWORD
        } else {
            ROBOT_TOKEN
        };
        let s = Client::login_as(base, SERVICE, (who, password), &[&scope]).await;
        let (status, e) = error(s.push(repo, "v3", &image).await).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (401, Some("UNAUTHORIZED")),
            "{who}"
        );
        assert_eq!(s.get(repo, "v2").await, 200, "{who} still pulls");
    }
    assert_eq!(
        db.sql(&format!(
            "SELECT COUNT(*) FROM tag WHERE repository_id = {rid} AND name = 'v3'"
        )),
        "0"
    );
}

fn features(redis: &Redis, flush_interval_s: u32) -> String {
    format!(
        "SERVER_HOSTNAME: {SERVICE}\nPREFERRED_URL_SCHEME: http\n\
         DATABASE_SECRET_KEY: {DATABASE_SECRET_KEY}\n\
         FEATURE_IMMUTABLE_TAGS: true\nFEATURE_IMAGE_PULL_STATS: true\n{}\n\
         REDIS_FLUSH_INTERVAL_SECONDS: {flush_interval_s}\n",
        redis.config()
    )
}

/// After a restart with a one-second flush interval: the worker moved every counter of the
/// scenario into the tables (adding to the row the scenario wrote) and deleted it.
async fn flushed(db: &Db, redis: &Redis) {
    let rules = repo_id(db, "rules");
    let mirrored = repo_id(db, "mirrored");
    let d1 = TestImage::new(1, &json!({})).digest();
    let locked = TestImage::new(2, &json!({"quay.immutable": "True "})).digest();
    let sorted = |text: String| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines.join("\n")
    };
    let manifests = || {
        sorted(db.sql(
            "SELECT repository_id || ' ' || manifest_digest || ' ' || manifest_pull_count \
             FROM manifestpullstatistics",
        ))
    };
    let mut expected = [
        format!("{rules} {d1} 3"),
        format!("{rules} {locked} 1"),
        format!("{mirrored} {d1} 2"),
    ];
    expected.sort();
    let expected = expected.join("\n");
    for _ in 0..200 {
        if manifests() == expected && redis.cli(&["KEYS", "pull_events:*"]).is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(manifests(), expected);
    assert_eq!(redis.cli(&["KEYS", "pull_events:*"]), "");
    let tags = sorted(db.sql(
        "SELECT repository_id || ' ' || tag_name || ' ' || tag_pull_count || ' ' || \
         COALESCE(current_manifest_digest, '-') || ' ' || \
         (CASE WHEN last_tag_pull_date > '2001-01-01 00:00:00' THEN 'newer' ELSE 'older' END) \
         FROM tagpullstatistics",
    ));
    let mut expected = [
        format!("{rules} locked 1 {locked} newer"),
        format!("{rules} v1 5 {d1} newer"),
        format!("{mirrored} v2 2 {d1} newer"),
    ];
    expected.sort();
    assert_eq!(tags, expected.join("\n"));
}

#[tokio::test]
async fn mirror_sqlite_push_rules() {
    let redis = Redis::new(5);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = write_config(dir.path(), &features(&redis, 300));
    let args = serve_args("mirror", Some(&config), &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    scenario(&server.base, &db, &redis).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    write_config(dir.path(), &features(&redis, 1));
    let mut server = start(dir.path(), &args, None).await;
    flushed(&db, &redis).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
}

#[tokio::test]
async fn standalone_postgres_push_rules() {
    let redis = Redis::new(6);
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_push_rules");
    let storage = local_storage(&dir.path().join("storage"));
    let write = |flush_interval_s: u32| {
        let extra = format!(
            "SECRET_KEY: e2e-secret\n{}",
            features(&redis, flush_interval_s)
        );
        write_config(dir.path(), &standalone_config(&pg.url, &storage, &extra))
    };
    let config = write(300);
    let data = dir.path().join("data");
    db_upgrade(&config, &data);
    let args = serve_args("standalone", Some(&config), &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    let db = pg.db();
    scenario(&server.base, &db, &redis).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    write(1);
    let mut server = start(dir.path(), &args, None).await;
    flushed(&db, &redis).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    pg.drop_database();
}
