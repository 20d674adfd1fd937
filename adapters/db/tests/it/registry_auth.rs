//! The stores of registry authentication (credentials, instance service key) on both backends,
//! over rows written as Python Quay writes them.

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use quay_adapter_db::{Database, connect};
use quay_domain::permission::TeamRole;
use quay_domain::user::AccountKind;
use quay_ports::store::NewInstanceKey;

use crate::support::{self, TestPg, TestSqlite};

/// Accounts, a team, a robot token and app tokens (ids fixed, booleans portable).
const ROWS: &str = r"
INSERT INTO teamrole (id, name) SELECT 1, 'admin' WHERE NOT EXISTS (SELECT 1 FROM teamrole WHERE id = 1);
INSERT INTO teamrole (id, name) SELECT 2, 'creator' WHERE NOT EXISTS (SELECT 1 FROM teamrole WHERE id = 2);
INSERT INTO teamrole (id, name) SELECT 3, 'member' WHERE NOT EXISTS (SELECT 1 FROM teamrole WHERE id = 3);
INSERT INTO user (id, uuid, username, password_hash, email, verified, organization, robot, invoice_email,
  invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled)
VALUES
  (101, 'uuid-user1', 'user1', '$2b$12$abcdefghijklmnopqrstuuJ0e4KkmXo5m0Qe8yVv1kq9w0xY2z3a.', 'user1@example.com', true, false, false, false, 0, '2026-11-27 11:00:00', 1209600, true),
  (102, 'uuid-org', 'testorg', NULL, 'shared@example.com', false, true, false, false, 0, '2026-11-27 11:00:00', 1209600, true),
  (103, 'uuid-bot', 'testorg+bot', NULL, 'bot-uuid', true, false, true, false, 0, '2026-11-27 11:00:00', 1209600, true);
INSERT INTO robotaccounttoken (id, robot_account_id, token, fully_migrated) VALUES (1, 103, 'v0$$encrypted', true);
INSERT INTO team (id, name, organization_id, role_id, description) VALUES (11, 'owners', 102, 1, ''), (12, 'builders', 102, 2, '');
INSERT INTO teammember (id, user_id, team_id) VALUES (21, 101, 11), (22, 101, 12), (23, 103, 12);
INSERT INTO appspecificauthtoken (id, user_id, uuid, title, created, expiration, last_accessed, token_name, token_secret)
VALUES
  (31, 101, 'app-uuid-1', 'ci', '2026-11-27 11:00:00', NULL, NULL, 'live', 'v0$$secret'),
  (32, 101, 'app-uuid-2', 'old', '2026-11-27 11:00:00', '2026-11-27 11:30:00', NULL, 'expired', 'v0$$secret');
INSERT INTO repository (id, namespace_user_id, name, visibility_id, badge_token, kind_id, trust_enabled, state)
VALUES (41, 102, 'hello', (SELECT id FROM visibility WHERE name = 'private'), 'badge', (SELECT id FROM repositorykind WHERE name = 'image'), false, 0);
INSERT INTO accesstoken (id, friendly_name, repository_id, created, role_id, temporary, kind_id, token_code, token_name)
VALUES (51, 'ci', 41, '2026-11-27 11:00:00', (SELECT id FROM role WHERE name = 'write'), false, NULL, 'v0$$code', 'tokenname');
INSERT INTO oauthapplication (id, client_id, redirect_uri, application_uri, organization_id, name, description, gravatar_email, secure_client_secret, fully_migrated)
VALUES (61, 'client', 'http://r', 'http://a', 102, 'app', '', NULL, NULL, true);
INSERT INTO oauthaccesstoken (id, uuid, application_id, authorized_user_id, scope, token_type, expires_at, data, token_code, token_name, last_accessed)
VALUES (71, 'oauth-uuid', 61, 101, 'repo:read', 'Bearer', '2026-11-28 12:00:00', '', '$2b$12$hash', 'oauthname', NULL);
";

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0)
        .single()
        .expect("valid")
}

async fn credentials(db: &Database) -> Result<()> {
    let stores = db.stores();
    let store = stores.credentials;
    let user = store.find_login_account("user1").await?.expect("by name");
    assert_eq!((user.id.0, user.kind), (101, AccountKind::User));
    let by_email = store
        .find_login_account("user1@example.com")
        .await?
        .expect("by e-mail");
    assert_eq!(by_email.id, user.id);
    // Organizations never log in by e-mail, but their name still finds them.
    assert!(
        store
            .find_login_account("shared@example.com")
            .await?
            .is_none()
    );
    assert!(store.find_login_account("testorg").await?.is_some());
    assert!(store.find_login_account("nosuch").await?.is_none());

    store.record_failed_login(user.id, at(12, 0)).await?;
    store.record_failed_login(user.id, at(12, 1)).await?;
    let failed = store.find_account(user.id).await?.expect("exists");
    assert_eq!(failed.invalid_login_attempts, 2);
    assert_eq!(failed.last_invalid_login, at(12, 1));
    store.clear_failed_logins(user.id, at(12, 2)).await?;
    let cleared = store.find_account(user.id).await?.expect("exists");
    assert_eq!(cleared.invalid_login_attempts, 0);
    assert_eq!(cleared.last_accessed, Some(at(12, 2)));

    let robot = store
        .find_login_account("testorg+bot")
        .await?
        .expect("robot");
    assert_eq!(
        store.robot_token(robot.id).await?.as_deref(),
        Some("v0$$encrypted")
    );
    assert_eq!(store.robot_token(user.id).await?, None);
    store.touch_account(robot.id, at(12, 3)).await?;
    assert_eq!(
        store
            .find_account(robot.id)
            .await?
            .expect("robot")
            .last_accessed,
        Some(at(12, 3))
    );

    let org = store.find_login_account("testorg").await?.expect("org");
    let mut roles = store.namespace_team_roles(user.id, org.id).await?;
    roles.sort();
    assert_eq!(roles, vec![TeamRole::Creator, TeamRole::Admin]);
    assert_eq!(
        store.namespace_team_roles(robot.id, org.id).await?,
        vec![TeamRole::Creator]
    );
    assert!(
        store
            .namespace_team_roles(user.id, user.id)
            .await?
            .is_empty()
    );

    let live = store
        .find_app_token("live", at(12, 0))
        .await?
        .expect("live");
    assert_eq!((live.uuid.as_str(), live.user_id), ("app-uuid-1", user.id));
    assert_eq!(live.encrypted_secret, "v0$$secret");
    assert!(store.find_app_token("expired", at(12, 0)).await?.is_none());
    assert!(store.find_app_token("expired", at(11, 0)).await?.is_some());
    store.touch_app_token(live.id, at(12, 5)).await?;

    let token = store
        .find_access_token("tokenname")
        .await?
        .expect("access token");
    assert_eq!(
        (
            token.repository_id.0,
            token.role,
            token.encrypted_code.as_str()
        ),
        (41, quay_domain::permission::Role::Write, "v0$$code")
    );
    assert!(store.find_access_token("nosuch").await?.is_none());
    let oauth = store
        .find_oauth_token("oauthname")
        .await?
        .expect("oauth token");
    assert_eq!(
        (
            oauth.uuid.as_str(),
            oauth.authorized_user,
            oauth.scope.as_str()
        ),
        ("oauth-uuid", user.id, "repo:read")
    );
    assert_eq!(oauth.expires_at, at(12, 0) + chrono::Duration::days(1));
    assert_eq!(oauth.code_hash, "$2b$12$hash");
    store.touch_oauth_token(oauth.id, at(12, 6)).await?;
    Ok(())
}

fn key(kid: &str, created: DateTime<Utc>, expires: Option<DateTime<Utc>>) -> NewInstanceKey {
    NewInstanceKey {
        kid: kid.into(),
        name: "http://localhost:8080".into(),
        service: "quay".into(),
        jwk: format!(r#"{{"n": "x", "e": "AQAB", "kty": "RSA", "kid": "{kid}"}}"#),
        metadata: r#"{"created_by": "CLI tool"}"#.into(),
        created_at: created,
        expires_at: expires,
        expired_ttl_s: 7 * 24 * 3600,
        unapproved_ttl_s: 24 * 3600,
    }
}

async fn instance_keys(db: &Database) -> Result<()> {
    let stores = db.stores();
    let keys = stores.instance_keys;
    let now = at(12, 0);
    let long_ago = now - chrono::Duration::days(30);
    keys.register_instance_key(key(
        "old",
        long_ago,
        Some(long_ago + chrono::Duration::hours(2)),
    ))
    .await?;
    keys.register_instance_key(key("current", now, Some(now + chrono::Duration::hours(2))))
        .await?;
    // Registering `current` collected the key that expired weeks ago.
    assert!(keys.find_key("old").await?.is_none());
    let found = keys.find_key("current").await?.expect("registered");
    assert_eq!(found.service, "quay");
    assert_eq!(
        found.expiration_date,
        Some(now + chrono::Duration::hours(2))
    );
    let listed = stores.service_keys.list_approved_keys("quay", now).await?;
    assert_eq!(
        listed.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["current"]
    );
    assert!(keys.set_key_expiration("current", Some(now)).await?);
    assert!(!keys.set_key_expiration("nosuch", None).await?);
    assert!(
        stores
            .service_keys
            .list_approved_keys("quay", now)
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_registry_auth_stores() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    pg.execute(&ROWS.replace("INTO user ", "INTO \"user\" "))
        .await?;
    let db = connect(support::settings(pg.target())).await?;
    credentials(&db).await?;
    instance_keys(&db).await?;
    // The approval row is Quay's automatic approval.
    let client = support::connect_raw(&pg.url).await?;
    let row = client
        .query_one(
            "SELECT a.approval_type, a.approver_id IS NULL, a.notes FROM servicekey k \
             JOIN servicekeyapproval a ON a.id = k.approval_id WHERE k.kid = 'current'",
            &[],
        )
        .await?;
    assert_eq!(row.get::<_, String>(0), "Automatic");
    assert!(row.get::<_, bool>(1));
    assert_eq!(row.get::<_, String>(2), "");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_registry_auth_stores() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    file.execute(ROWS)?;
    let db = connect(support::settings(file.target())).await?;
    credentials(&db).await?;
    instance_keys(&db).await?;
    Ok(())
}
