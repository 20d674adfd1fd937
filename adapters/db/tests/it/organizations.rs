//! `create_organization` writes the organization, its `owners` team and the creator's
//! membership as Python Quay's `create_organization` does, in one transaction, on both backends.

use anyhow::Result;
use quay_adapter_db::{Database, connect};
use quay_domain::name::NamespaceName;
use quay_domain::user::{Account, AccountKind};
use quay_ports::store::{NewOrganization, UserStoreError};

use crate::support::{self, TestPg, TestSqlite};
use crate::users::{created_at, new_user};

/// Renumbers `teamrole` so that ids differ from the seed's: the store must look `admin` up by
/// name.
const SHIFT_TEAM_ROLES: &str = "UPDATE teamrole SET id = id + 40";

/// `team name|role name|description|member` for each membership of an organization's teams.
fn teams_query(org: &str) -> String {
    format!(
        "SELECT t.name || '|' || r.name || '|' || t.description || '|' || u.username \
         FROM team t JOIN teamrole r ON r.id = t.role_id \
         JOIN \"user\" o ON o.id = t.organization_id \
         JOIN teammember m ON m.team_id = t.id JOIN \"user\" u ON u.id = m.user_id \
         WHERE o.username = '{org}' ORDER BY u.username"
    )
}

fn new_org(name: &str, email: Option<&str>, creator: &Account) -> NewOrganization {
    NewOrganization {
        name: NamespaceName::parse_new(name).expect("valid name"),
        email: email.map(str::to_owned),
        creator: creator.id,
        email_must_be_unused: true,
        removed_tag_expiration_s: 1_209_600,
        maximum_queued_builds_count: Some(5),
        created_at: created_at(),
    }
}

async fn create_and_refuse(db: &Database) -> Result<()> {
    let users = db.stores().users;
    let pusher = users.create_user(new_user("pusher")).await?;
    let users_before = users.user_count().await?;

    let org = users
        .create_organization(new_org(
            "neworg",
            Some("pusher+neworg@example.com"),
            &pusher,
        ))
        .await?;
    assert_eq!(org.username, "neworg");
    assert_eq!(org.kind, AccountKind::Organization);
    assert_eq!(org.email, "pusher+neworg@example.com");
    assert!(org.password_hash.is_none());
    assert!(!org.verified && org.enabled);
    assert_eq!(org.invalid_login_attempts, 0);
    assert_eq!(org.removed_tag_expiration_s, 1_209_600);
    assert_eq!(org.maximum_queued_builds_count, Some(5));
    assert_eq!(org.uuid.as_deref().map(str::len), Some(36));
    let micros = created_at() - chrono::Duration::nanoseconds(789);
    assert_eq!(org.creation_date, Some(micros));
    assert_eq!(org.last_invalid_login, micros);
    assert_eq!(org.last_accessed, None);
    let found = users
        .find_namespace(&NamespaceName::parse("neworg")?)
        .await?
        .expect("organization found");
    assert_eq!(found, org);
    // Organizations are not users.
    assert_eq!(users.user_count().await?, users_before);

    // The name is taken now, by the organization or by a user.
    for name in ["neworg", "pusher"] {
        match users
            .create_organization(new_org(name, None, &pusher))
            .await
        {
            Err(UserStoreError::UsernameTaken(n)) => assert_eq!(n, name),
            other => panic!("expected UsernameTaken for {name}, got {other:?}"),
        }
    }
    // A user's e-mail is refused unless organizations may share it.
    assert!(matches!(
        users
            .create_organization(new_org("mailorg", Some("pusher@example.com"), &pusher))
            .await,
        Err(UserStoreError::EmailTaken)
    ));
    let mut shared = new_org("mailorg", Some("pusher@example.com"), &pusher);
    shared.email_must_be_unused = false;
    let shared = users.create_organization(shared).await?;
    assert_eq!(shared.email, "pusher@example.com");
    // Without an e-mail the row gets a uuid4, as Quay's `create_user_noverify` does.
    let blank = users
        .create_organization(new_org("blankorg", None, &pusher))
        .await?;
    assert_eq!(blank.email.len(), 36);
    assert_eq!(blank.email.matches('-').count(), 4);

    // A failing membership insert (unknown creator) leaves neither the row nor the team.
    let mut ghost = pusher.clone();
    ghost.id.0 = 999_999;
    assert!(matches!(
        users
            .create_organization(new_org("ghostorg", None, &ghost))
            .await,
        Err(UserStoreError::Backend(_))
    ));
    assert!(
        users
            .find_namespace(&NamespaceName::parse("ghostorg")?)
            .await?
            .is_none()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_create_organization() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    pg.execute(SHIFT_TEAM_ROLES).await?;
    let db = connect(support::settings(pg.target())).await?;
    create_and_refuse(&db).await?;

    let client = support::connect_raw(&pg.url).await?;
    let teams: Vec<String> = client
        .query(&teams_query("neworg"), &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(teams, ["owners|admin||pusher"]);
    let row = client
        .query_one(
            "SELECT organization, robot, invoice_email, stripe_id IS NULL, \
             given_name IS NULL, password_hash IS NULL, \
             (SELECT count(*) FROM team WHERE name = 'owners') \
             FROM \"user\" WHERE username = 'neworg'",
            &[],
        )
        .await?;
    assert!(row.get::<_, bool>(0) && !row.get::<_, bool>(1) && !row.get::<_, bool>(2));
    assert!(row.get::<_, bool>(3) && row.get::<_, bool>(4) && row.get::<_, bool>(5));
    // neworg, mailorg and blankorg: the failed ghostorg left no team.
    assert_eq!(row.get::<_, i64>(6), 3);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_create_organization() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    file.execute(SHIFT_TEAM_ROLES)?;
    let db = connect(support::settings(file.target())).await?;
    create_and_refuse(&db).await?;
    drop(db);

    let query = format!(
        "{}; SELECT organization, verified, invoice_email, stripe_id IS NULL, \
         password_hash IS NULL, creation_date, (SELECT count(*) FROM team WHERE name = 'owners') \
         FROM user WHERE username = 'neworg';",
        teams_query("neworg")
    );
    let out = std::process::Command::new("sqlite3")
        .arg(&file.path)
        .arg(query)
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout)?.trim(),
        "owners|admin||pusher\n1|0|0|1|1|2026-11-27 12:00:00.123456|3"
    );
    Ok(())
}
