//! Registry authentication on the real binary: `/v2/auth` tokens for users and robots,
//! anonymous pulls, Quay's failure bodies and login backoff, and verification with every
//! approved key of the `servicekey` table (a key "Python Quay" registered), on SQLite (mirror
//! preset) and PostgreSQL (standalone preset).

use std::time::{Duration, Instant};

use quay_e2e::client;
use quay_ports::crypto::{JsonValue, RegistryTokenRequest, TokenSigner};
use secrecy::SecretString;
use serde_json::Value;

use crate::support::{
    Db, PASSWORD, PgDatabase, db_upgrade, instance_secret, local_storage, serve_args, server_keys,
    standalone_config, start, write_config,
};

/// An organization, a robot with an encrypted token, three repositories, a read permission.
fn seed(db: &Db, database_secret_key: &str, robot_token: &str) {
    let cipher =
        quay_fips::FieldEncrypterV0::new(&SecretString::from(database_secret_key.to_owned()))
            .expect("field encrypter");
    let encrypted = cipher
        .encrypt_with_nonce(robot_token.as_bytes(), &[7; 13], None)
        .expect("encrypted");
    let account = |name: &str, org: bool, robot: bool| {
        format!(
            "INSERT INTO \"user\" (uuid, username, email, verified, organization, robot, invoice_email, \
             invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled) VALUES \
             ('uuid-{name}', '{name}', '{name}@example.com', true, {org}, {robot}, false, 0, \
             '2026-11-27 12:00:00', 1209600, true);"
        )
    };
    let repo = |ns: &str, name: &str, visibility: &str| {
        format!(
            "INSERT INTO repository (namespace_user_id, name, visibility_id, badge_token, kind_id, \
             trust_enabled, state) SELECT u.id, '{name}', v.id, 'badge', k.id, false, 0 \
             FROM \"user\" u, visibility v, repositorykind k WHERE u.username = '{ns}' \
             AND v.name = '{visibility}' AND k.name = 'image';"
        )
    };
    let sql = [
        account("testorg", true, false),
        account("testorg+bot", false, true),
        format!(
            "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) \
             SELECT id, '{encrypted}', true FROM \"user\" WHERE username = 'testorg+bot';"
        ),
        repo("testorg", "hello", "private"),
        repo("testorg", "robotrepo", "private"),
        repo("admin", "publicrepo", "public"),
        "INSERT INTO repositorypermission (user_id, repository_id, role_id) \
         SELECT u.id, r.id, ro.id FROM \"user\" u, repository r, role ro \
         WHERE u.username = 'testorg+bot' AND r.name = 'robotrepo' AND ro.name = 'read';"
            .to_owned(),
    ]
    .concat();
    db.sql(&sql);
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    let bytes = quay_fips::b64::url_nopad_decode(payload).expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

struct Registry<'a> {
    base: &'a str,
    /// The audience tokens are issued for (SERVER_HOSTNAME, or the request host).
    service: String,
}

impl Registry<'_> {
    async fn token(&self, user: Option<(&str, &str)>, scopes: &[&str]) -> reqwest::Response {
        let mut query = vec![("service", self.service.as_str())];
        query.extend(scopes.iter().map(|s| ("scope", *s)));
        let mut req = client().get(format!("{}/v2/auth", self.base)).query(&query);
        if let Some((u, p)) = user {
            req = req.basic_auth(u, Some(p));
        }
        req.send().await.expect("GET /v2/auth")
    }

    async fn claims(&self, user: Option<(&str, &str)>, scopes: &[&str]) -> Value {
        let resp = self.token(user, scopes).await;
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.expect("JSON");
        claims(body["token"].as_str().expect("token"))
    }

    async fn base(&self, bearer: Option<&str>) -> (u16, String) {
        let mut req = client().get(format!("{}/v2/", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("GET /v2/");
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("body"))
    }
}

/// A foreign key registered as approved in `servicekey`, as another Quay instance would.
struct ForeignKey {
    tokens: quay_fips::RegistryTokens,
    kid: String,
}

fn register_foreign_key(db: &Db) -> ForeignKey {
    let key = quay_fips::jwk::generate_rsa(2048).expect("RSA");
    let kid = quay_fips::jwk::rsa_thumbprint(&key).expect("kid");
    let jwk = quay_fips::jwk::jwk_json(&quay_fips::jwk::public_jwk(&key).expect("jwk"));
    db.sql(&format!(
        "INSERT INTO servicekeyapproval (approver_id, approval_type, approved_date, notes) \
         VALUES (NULL, 'Super User API', '2026-11-27 12:00:00', 'e2e');\
         INSERT INTO servicekey (name, kid, service, jwk, metadata, created_date, expiration_date, approval_id) \
         SELECT 'python-quay', '{kid}', 'quay', '{jwk}', '{{}}', '2026-11-27 12:00:00', '2099-01-01 00:00:00', \
         max(id) FROM servicekeyapproval;"
    ));
    let tokens = quay_fips::RegistryTokens::new("quay", kid.clone(), key, 3660).expect("signer");
    ForeignKey { tokens, kid }
}

fn unix_now() -> i64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "tokens are checked against the wall clock of the server"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .try_into()
        .expect("fits")
}

fn sign(tokens: &quay_fips::RegistryTokens, audience: &str, now: i64) -> String {
    let request = RegistryTokenRequest {
        audience: audience.to_owned(),
        subject: "admin".into(),
        access: JsonValue::Array(vec![]),
        context: JsonValue::Object(vec![]),
        lifetime_s: 3600,
    };
    tokens.sign(&request, now).expect("signed")
}

/// Everything both backends must do.
async fn scenario(registry: &Registry<'_>, db: &Db, admin: (&str, &str)) {
    login(registry, db, admin).await;
    scopes_robots_anonymous(registry, admin).await;
    failures_and_backoff(registry, db, admin).await;
    other_instances_keys(registry, db).await;
}

/// The instance key, `docker login`, then `/v2/` with the token.
async fn login(registry: &Registry<'_>, db: &Db, admin: (&str, &str)) {
    // The instance key is registered, approved automatically, unexpired.
    assert_eq!(
        db.sql(
            "SELECT count(*) FROM servicekey k JOIN servicekeyapproval a ON a.id = k.approval_id \
             WHERE k.service = 'quay' AND a.approval_type = 'Automatic' AND k.expiration_date IS NOT NULL"
        ),
        "1"
    );

    // docker login, then /v2/ with the token.
    let (status, body) = registry.base(None).await;
    assert_eq!((status, body.as_str()), (401, "true"));
    let resp = registry.token(Some(admin), &[]).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["cache-control"],
        "no-cache, no-store, must-revalidate"
    );
    let token = resp.json::<Value>().await.expect("JSON")["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let c = claims(&token);
    assert_eq!(
        (c["iss"].as_str(), c["sub"].as_str()),
        (Some("quay"), Some("admin"))
    );
    assert_eq!(c["aud"].as_str(), Some(registry.service.as_str()));
    assert_eq!(
        c["exp"].as_i64().expect("exp") - c["iat"].as_i64().expect("iat"),
        3600
    );
    assert_eq!(c["context"]["entity_kind"], "user");
    assert_eq!(registry.base(Some(&token)).await, (200, "true".to_owned()));
    // ACTION_LOG_AUDIT_LOGINS (on by default): the login is in the action log.
    assert_eq!(
        db.sql(
            "SELECT l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
             JOIN \"user\" u ON u.id = l.performer_id \
             WHERE k.name = 'login_success' AND u.username = 'admin' AND l.account_id = u.id"
        ),
        r#"{"kind": "user", "type": "v2auth", "useragent": ""}"#
    );
}

/// Downscoping for users, the robot and anonymous callers.
async fn scopes_robots_anonymous(registry: &Registry<'_>, admin: (&str, &str)) {
    // Scopes: own namespace push on a new repository, org repository without permission.
    let c = registry
        .claims(
            Some(admin),
            &[
                "repository:admin/newrepo:pull,push",
                "repository:testorg/hello:pull",
            ],
        )
        .await;
    assert_eq!(
        c["access"][0]["actions"],
        serde_json::json!(["push", "pull"])
    );
    assert_eq!(c["access"][1]["actions"], serde_json::json!([]));

    // The robot, with the token stored encrypted under DATABASE_SECRET_KEY.
    let bot = (
        "testorg+bot",
        "ROBOTTOKEN0123456789ROBOTTOKEN0123456789ROBOTTOKEN0123456789ABCD",
    );
    let c = registry
        .claims(Some(bot), &["repository:testorg/robotrepo:pull,push"])
        .await;
    assert_eq!(c["sub"], "testorg+bot");
    assert_eq!(c["access"][0]["actions"], serde_json::json!(["pull"]));
    assert_eq!(c["context"]["entity_kind"], "robot");
    let resp = registry.token(Some(("testorg+bot", "wrong")), &[]).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.text().await.expect("body"),
        "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"detail\":{},\"message\":\"Could not find robot with username: testorg+bot and supplied password.\"}]}\n"
    );

    // Anonymous: public yes, private no.
    let c = registry
        .claims(None, &["repository:admin/publicrepo:pull"])
        .await;
    assert_eq!(
        (c["sub"].as_str(), &c["access"][0]["actions"]),
        (Some("(anonymous)"), &serde_json::json!(["pull"]))
    );
    let c = registry
        .claims(None, &["repository:testorg/hello:pull"])
        .await;
    assert_eq!(c["access"][0]["actions"], serde_json::json!([]));
}

/// Bad scope, bad password, then Quay's backoff.
async fn failures_and_backoff(registry: &Registry<'_>, db: &Db, admin: (&str, &str)) {
    let resp = registry.token(Some(admin), &["registry:catalog:*"]).await;
    assert_eq!(resp.status(), 400);
    let resp = registry
        .token(
            Some((admin.0, "wrong-password")),
            &["repository:testorg/hello:pull"],
        )
        .await;
    assert_eq!(resp.status(), 401);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .expect("ascii")
            .starts_with("Bearer realm=")
    );
    assert_eq!(
        resp.text().await.expect("body"),
        "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"detail\":{},\"message\":\"Invalid Username or Password\"}]}\n"
    );
    assert_eq!(
        db.sql("SELECT invalid_login_attempts FROM \"user\" WHERE username = 'admin'"),
        "1"
    );
    // A debug build's bcrypt can outlast the 0.5 s window of one failure, so widen it: five
    // failures just now keep the user out for 15.5 s (Quay's exponential backoff).
    db.sql(&format!(
        "UPDATE \"user\" SET invalid_login_attempts = 5, last_invalid_login = {} WHERE username = 'admin'",
        db.utc_now()
    ));
    let resp = registry
        .token(Some(admin), &["repository:testorg/hello:pull"])
        .await;
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        (10..=15).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_eq!(
        resp.text().await.expect("body"),
        "Too many login attempts. \nPlease reset your Quay password and try again."
    );
    db.sql(
        "UPDATE \"user\" SET last_invalid_login = '2026-01-01 00:00:00' WHERE username = 'admin'",
    );
    assert_eq!(registry.token(Some(admin), &[]).await.status(), 200);
    assert_eq!(
        db.sql("SELECT invalid_login_attempts FROM \"user\" WHERE username = 'admin'"),
        "0"
    );
}

/// A token signed by another instance's approved key verifies (after the key reload); unknown,
/// forged, expired and misdirected tokens do not.
async fn other_instances_keys(registry: &Registry<'_>, db: &Db) {
    let foreign = register_foreign_key(db);
    let now = unix_now();
    let theirs = sign(&foreign.tokens, &registry.service, now);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = registry.base(Some(&theirs)).await;
        if status == 200 {
            break;
        }
        assert_eq!(body, "{\"error\": \"Unknown service key\"}");
        assert!(Instant::now() < deadline, "the foreign key never verified");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Refused: a key nobody registered, a forged signature, an expired token.
    let stranger = quay_fips::RegistryTokens::new(
        "quay",
        "stranger-kid",
        quay_fips::jwk::generate_rsa(2048).expect("RSA"),
        3660,
    )
    .expect("signer");
    let unknown = sign(&stranger, &registry.service, now);
    assert_eq!(
        registry.base(Some(&unknown)).await,
        (401, "{\"error\": \"Unknown service key\"}".into())
    );
    let forged_with_their_kid = quay_fips::RegistryTokens::new(
        "quay",
        foreign.kid.clone(),
        quay_fips::jwk::generate_rsa(2048).expect("RSA"),
        3660,
    )
    .expect("signer");
    let forged = sign(&forged_with_their_kid, &registry.service, now);
    assert_eq!(
        registry.base(Some(&forged)).await,
        (401, "{\"error\": \"Signature verification failed\"}".into())
    );
    let expired = sign(&foreign.tokens, &registry.service, now - 7200);
    assert_eq!(
        registry.base(Some(&expired)).await,
        (401, "{\"error\": \"Signature has expired\"}".into())
    );
    let wrong_audience = sign(&foreign.tokens, "elsewhere.example.com", now);
    assert_eq!(
        registry.base(Some(&wrong_audience)).await,
        (401, "{\"error\": \"Invalid audience\"}".into())
    );
}

#[tokio::test]
async fn mirror_sqlite_registry_auth() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let args = serve_args("mirror", None, &data, Some(PASSWORD));
    let mut server = start(dir.path(), &args, None).await;
    assert!(data.join("quay.pem").is_file() && data.join("quay.kid").is_file());
    let db = Db::Sqlite(data.join("quay_sqlite.db"));
    seed(
        &db,
        &instance_secret(&data, "DATABASE_SECRET_KEY"),
        "ROBOTTOKEN0123456789ROBOTTOKEN0123456789ROBOTTOKEN0123456789ABCD",
    );
    let host = server.base.trim_start_matches("http://").to_owned();
    // The mirror preset has no real SERVER_HOSTNAME: the challenge follows the request's host.
    let resp = client()
        .get(format!("{}/v2/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        format!("Bearer realm=\"http://{host}/v2/auth\",service=\"{host}\"").as_str()
    );
    let registry = Registry {
        base: &server.base,
        service: host,
    };
    scenario(&registry, &db, ("admin", PASSWORD)).await;
    assert!(server.terminate().unwrap().success());
}

#[tokio::test]
async fn standalone_postgres_registry_auth() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_registry_auth");
    let storage = local_storage(&dir.path().join("storage"));
    let extra = server_keys("registry.example.com", "https");
    let config = write_config(dir.path(), &standalone_config(&pg.url, &storage, &extra));
    db_upgrade(&config, dir.path());
    let args = serve_args(
        "standalone",
        Some(&config),
        dir.path(),
        Some("correct-horse-battery"),
    );
    let mut server = start(dir.path(), &args, None).await;
    let db = pg.db();
    seed(
        &db,
        "e2e-database-secret",
        "ROBOTTOKEN0123456789ROBOTTOKEN0123456789ROBOTTOKEN0123456789ABCD",
    );
    // A configured SERVER_HOSTNAME fixes the realm and the audience, as in Quay.
    let resp = client()
        .get(format!("{}/v2/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["www-authenticate"],
        "Bearer realm=\"https://registry.example.com/v2/auth\",service=\"registry.example.com\""
    );
    let registry = Registry {
        base: &server.base,
        service: "registry.example.com".into(),
    };
    scenario(&registry, &db, ("admin", "correct-horse-battery")).await;
    assert!(server.terminate().unwrap().success());
    pg.drop_database();
}
