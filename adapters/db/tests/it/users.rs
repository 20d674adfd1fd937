//! `create_user` writes a row as Python Quay does, and reads see it on both backends.

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use quay_adapter_db::{Database, connect};
use quay_domain::name::NamespaceName;
use quay_domain::user::{AccountKind, EmailAddress, PasswordHash};
use quay_ports::store::{NewUser, UserStoreError};

use crate::support::{self, TestPg, TestSqlite};

pub fn created_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid")
        + chrono::Duration::nanoseconds(123_456_789)
}

pub fn new_user(name: &str) -> NewUser {
    NewUser {
        username: NamespaceName::parse_new(name).expect("valid username"),
        email: EmailAddress::parse(&format!("{name}@example.com")).expect("valid email"),
        password_hash: Some(PasswordHash::new(
            "$2b$12$abcdefghijklmnopqrstuuJ0e4KkmXo5m0Qe8yVv1kq9w0xY2z3a.".into(),
        )),
        verified: true,
        removed_tag_expiration_s: 1_209_600,
        maximum_queued_builds_count: None,
        created_at: created_at(),
    }
}

async fn round_trip(db: &Database) -> Result<()> {
    let users = db.stores().users;
    let before = users.user_count().await?;
    let created = users.create_user(new_user("newuser")).await?;
    assert_eq!(created.username, "newuser");
    assert_eq!(created.kind, AccountKind::User);
    assert!(created.verified && created.enabled);
    assert_eq!(created.invalid_login_attempts, 0);
    assert_eq!(created.uuid.as_deref().map(str::len), Some(36));
    let micros = created_at() - chrono::Duration::nanoseconds(789);
    assert_eq!(created.creation_date, Some(micros));
    assert_eq!(created.last_invalid_login, micros);

    let found = users
        .find_namespace(&NamespaceName::parse("newuser")?)
        .await?
        .expect("found");
    assert_eq!(found, created);
    assert_eq!(users.user_count().await?, before + 1);

    match users.create_user(new_user("newuser")).await {
        Err(UserStoreError::UsernameTaken(name)) => assert_eq!(name, "newuser"),
        other => panic!("expected UsernameTaken, got {other:?}"),
    }
    let mut same_email = new_user("other");
    same_email.email = EmailAddress::parse("newuser@example.com")?;
    assert!(matches!(
        users.create_user(same_email).await,
        Err(UserStoreError::EmailTaken)
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_create_user_round_trip() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    let db = connect(support::settings(pg.target())).await?;
    round_trip(&db).await?;

    // The row as Python's User.create leaves it.
    let client = support::connect_raw(&pg.url).await?;
    let row = client
        .query_one(
            "SELECT verified, organization, robot, invoice_email, invalid_login_attempts, \
             removed_tag_expiration_s, enabled, stripe_id IS NULL, given_name IS NULL, \
             last_accessed IS NULL, creation_date = last_invalid_login, \
             to_char(creation_date, 'YYYY-MM-DD HH24:MI:SS.US') FROM \"user\" WHERE username = 'newuser'",
            &[],
        )
        .await?;
    assert!(row.get::<_, bool>(0));
    assert!(!row.get::<_, bool>(1) && !row.get::<_, bool>(2) && !row.get::<_, bool>(3));
    assert_eq!(row.get::<_, i32>(4), 0);
    assert_eq!(row.get::<_, i64>(5), 1_209_600);
    assert!(
        row.get::<_, bool>(6)
            && row.get::<_, bool>(7)
            && row.get::<_, bool>(8)
            && row.get::<_, bool>(9)
    );
    assert!(row.get::<_, bool>(10));
    assert_eq!(row.get::<_, String>(11), "2026-11-27 12:00:00.123456");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_create_user_round_trip() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    let db = connect(support::settings(file.target())).await?;
    round_trip(&db).await?;
    drop(db);

    // Booleans as integers and datetimes as Python's `str(datetime)` text.
    let out = std::process::Command::new("sqlite3")
        .arg(&file.path)
        .arg(
            "SELECT verified, typeof(verified), organization, robot, invoice_email, enabled, \
             creation_date, typeof(creation_date), last_invalid_login, stripe_id IS NULL \
             FROM user WHERE username = 'newuser'",
        )
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout)?.trim(),
        "1|integer|0|0|0|1|2026-11-27 12:00:00.123456|text|2026-11-27 12:00:00.123456|1"
    );
    Ok(())
}
