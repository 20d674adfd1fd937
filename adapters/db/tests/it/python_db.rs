//! Databases written by Python Quay are read through the ports: Quay's schema at Alembic head
//! with rows a running Python Quay wrote (PostgreSQL and SQLite), and a real mirror-registry
//! SQLite database at an older Alembic revision.

use anyhow::Result;
use chrono::{DateTime, TimeZone, Utc};
use quay_adapter_db::{Stores, connect};
use quay_domain::name::{NamespaceName, RepositoryName, RepositoryNameRules, RobotName, TagName};
use quay_domain::permission::{Role, TeamRole, effective_repository_role};
use quay_domain::repository::{RepositoryId, RepositoryKind, RepositoryState, Visibility};
use quay_domain::user::AccountKind;
use quay_ports::store::{Consistency, Cursor, PageRequest};

use crate::support::{self, TestPg, TestSqlite};

fn ns(s: &str) -> NamespaceName {
    NamespaceName::parse(s).expect("valid namespace")
}

fn repo(s: &str) -> RepositoryName {
    RepositoryName::parse(s, RepositoryNameRules::Extended).expect("valid repository")
}

fn at(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, h, m, 0)
        .single()
        .expect("valid time")
}

/// What both backends must read from the oracle rows.
async fn check_oracle_rows(stores: &Stores) -> Result<()> {
    check_accounts(stores).await?;
    check_repositories(stores).await?;
    check_tags(stores).await?;
    check_permissions(stores).await?;
    check_service_keys(stores).await
}

async fn check_accounts(stores: &Stores) -> Result<()> {
    let admin = stores
        .users
        .find_by_username("admin")
        .await?
        .expect("admin exists");
    assert_eq!(admin.kind, AccountKind::User);
    assert!(admin.verified && admin.enabled && admin.password_hash.is_some());
    assert_eq!(admin.removed_tag_expiration_s, 1_209_600);
    assert!(admin.creation_date.is_some());
    let org = stores
        .users
        .find_namespace(&ns("testorg"))
        .await?
        .expect("testorg exists");
    assert_eq!(org.kind, AccountKind::Organization);
    let robot = RobotName::parse("testorg+bot")?;
    let bot = stores
        .users
        .find_robot(&robot)
        .await?
        .expect("robot exists");
    assert_eq!(bot.kind, AccountKind::Robot);
    assert_eq!(bot.robot_name(), Some(robot));
    assert!(stores.users.find_namespace(&ns("nobody")).await?.is_none());
    assert_eq!(
        stores.users.user_count().await?,
        2,
        "admin and user1; not the org nor the robot"
    );

    Ok(())
}

async fn check_repositories(stores: &Stores) -> Result<()> {
    let hello = stores
        .repositories
        .find_repository(&ns("testorg"), &repo("hello"))
        .await?
        .expect("hello");
    assert_eq!(hello.full_name(), "testorg/hello");
    assert_eq!(hello.visibility, Visibility::Private);
    assert_eq!(hello.kind, RepositoryKind::Image);
    assert_eq!(hello.state, RepositoryState::Normal);
    let public = stores
        .repositories
        .find_repository(&ns("admin"), &repo("publicrepo"))
        .await?
        .expect("public");
    assert_eq!(public.visibility, Visibility::Public);
    let described = stores
        .repositories
        .find_repository(&ns("testorg"), &repo("robotrepo"))
        .await?
        .expect("r");
    assert_eq!(described.description.as_deref(), Some("pushed by robot"));
    assert!(
        stores
            .repositories
            .find_repository(&ns("testorg"), &repo("nope"))
            .await?
            .is_none()
    );

    let first = stores
        .repositories
        .list_repositories(&ns("testorg"), PageRequest::first(2))
        .await?;
    let names: Vec<_> = first.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["hello", "newrepo"]);
    let next = first.next.expect("more pages");
    let second = stores
        .repositories
        .list_repositories(
            &ns("testorg"),
            PageRequest {
                after: Some(next),
                limit: 2,
            },
        )
        .await?;
    let names: Vec<_> = second.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["robotrepo"]);
    assert!(second.next.is_none());
    let bad = PageRequest {
        after: Some(Cursor(String::new())),
        limit: 2,
    };
    assert!(
        stores
            .repositories
            .list_repositories(&ns("testorg"), bad)
            .await
            .is_err()
    );

    Ok(())
}

async fn check_tags(stores: &Stores) -> Result<()> {
    let hello = stores
        .repositories
        .find_repository(&ns("testorg"), &repo("hello"))
        .await?
        .expect("hello");
    let now_ms = at(12, 0).timestamp_millis();
    let tags = stores
        .tags
        .list_live_tags(hello.id, now_ms, PageRequest::first(50))
        .await?;
    let names: Vec<_> = tags.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["latest", "v1.0", "v2s2"]);
    let latest = stores
        .tags
        .find_live_tag(hello.id, &TagName::parse("latest")?, now_ms)
        .await?
        .expect("latest");
    assert_eq!(latest.manifest_id.map(|m| m.0), Some(1));

    let paged = stores
        .tags
        .list_live_tags(hello.id, now_ms, PageRequest::first(2))
        .await?;
    let names: Vec<_> = paged.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["latest", "v1.0"]);
    let rest = stores
        .tags
        .list_live_tags(
            hello.id,
            now_ms,
            PageRequest {
                after: paged.next,
                limit: 2,
            },
        )
        .await?;
    let names: Vec<_> = rest.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["v2s2"]);
    assert!(rest.next.is_none());

    // admin/conformance (id 6) near the end of the conformance run: the hidden `$temp-` tags are
    // never listed, tags whose lifetime ended are dead, `tagtest0` (ends later) is live.
    let conformance = RepositoryId(6);
    let during = stores
        .tags
        .list_live_tags(conformance, 1_795_780_099_000, PageRequest::first(50))
        .await?;
    let names: Vec<_> = during.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["tagtest0"]);
    let after = stores
        .tags
        .list_live_tags(conformance, now_ms, PageRequest::first(50))
        .await?;
    assert!(after.items.is_empty(), "{:?}", after.items);

    Ok(())
}

async fn check_permissions(stores: &Stores) -> Result<()> {
    let role = |user: &'static str, namespace: &'static str, name: &'static str| async move {
        let account = stores.users.find_by_username(user).await?.expect("account");
        let repository = stores
            .repositories
            .find_repository(&ns(namespace), &repo(name))
            .await?
            .expect("repository");
        let grants = stores
            .permissions
            .repository_grants(account.id, repository.id, Consistency::AllowReplica)
            .await?;
        anyhow::Ok(effective_repository_role(&account, &repository, &grants))
    };
    // admin: direct admin permission and member of testorg's `owners` (team role admin).
    assert_eq!(role("admin", "testorg", "hello").await?, Some(Role::Admin));
    assert_eq!(
        role("admin", "testorg", "newrepo").await?,
        Some(Role::Admin)
    );
    // The robot was granted write on robotrepo only.
    assert_eq!(
        role("testorg+bot", "testorg", "robotrepo").await?,
        Some(Role::Write)
    );
    assert_eq!(role("testorg+bot", "testorg", "hello").await?, None);
    // user1 owns its namespace, and has nothing in testorg.
    assert_eq!(role("user1", "user1", "mine").await?, Some(Role::Admin));
    assert_eq!(role("user1", "testorg", "hello").await?, None);

    let admin = stores
        .users
        .find_by_username("admin")
        .await?
        .expect("admin");
    let org_grants = stores
        .permissions
        .repository_grants(admin.id, RepositoryId(4), Consistency::Primary)
        .await?;
    assert_eq!(org_grants.org_team_roles, [TeamRole::Admin]);
    assert_eq!(org_grants.repository_roles, [Role::Admin]);
    Ok(())
}

async fn check_service_keys(stores: &Stores) -> Result<()> {
    let keys = stores
        .service_keys
        .list_approved_keys("quay", at(12, 0))
        .await?;
    assert_eq!(keys.len(), 2);
    let keys = stores
        .service_keys
        .list_approved_keys("quay", at(13, 35))
        .await?;
    assert_eq!(
        keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
        ["wJXzI4mkQlmf328sCFaSZDGebnN1zovySx_iLXu3a3w"]
    );
    assert!(keys[0].jwk.contains("\"kty\""));
    assert!(
        stores
            .service_keys
            .list_approved_keys("quay", at(14, 0))
            .await?
            .is_empty()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_database_written_by_python_quay_is_readable() -> Result<()> {
    let pg = TestPg::new().await?;
    pg.load_quay_schema().await?;
    pg.execute(support::PYTHON_ACCOUNTS).await?;
    pg.execute(support::ORACLE_ROWS).await?;
    let db = connect(support::settings(pg.target())).await?;
    db.ping().await?;
    check_oracle_rows(&db.stores()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_database_at_quay_head_with_python_rows_is_readable() -> Result<()> {
    let file = TestSqlite::new()?;
    file.load_quay_schema()?;
    file.execute(support::PYTHON_ACCOUNTS)?;
    file.execute(&support::oracle_rows_for_sqlite())?;
    let db = connect(support::settings(file.target())).await?;
    db.ping().await?;
    check_oracle_rows(&db.stores()).await
}

#[tokio::test(flavor = "multi_thread")]
async fn mirror_registry_sqlite_database_is_readable() -> Result<()> {
    let file = TestSqlite::new()?;
    file.execute(support::MIRROR_REGISTRY_DUMP)?;
    let db = connect(support::settings(file.target())).await?;
    let stores = db.stores();

    let init = stores
        .users
        .find_namespace(&ns("init"))
        .await?
        .expect("init user");
    assert_eq!(init.kind, AccountKind::User);
    assert_eq!(init.email, "init@quay.io");
    assert_eq!(
        init.uuid.as_deref(),
        Some("c6f515bd-b3fa-4c00-9e50-699d713a7ea5")
    );
    assert_eq!(
        init.last_invalid_login,
        Utc.with_ymd_and_hms(2026, 7, 31, 12, 36, 42)
            .single()
            .expect("t")
            + chrono::Duration::microseconds(332_282)
    );
    assert_eq!(stores.users.user_count().await?, 1);

    let page = stores
        .repositories
        .list_repositories(&ns("init"), PageRequest::first(10))
        .await?;
    let names: Vec<_> = page.items.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["shared", "test-image"]);
    let shared = &page.items[0];
    assert_eq!(shared.visibility, Visibility::Private);

    let now_ms = Utc
        .with_ymd_and_hms(2026, 8, 1, 0, 0, 0)
        .single()
        .expect("t")
        .timestamp_millis();
    let tags = stores
        .tags
        .list_live_tags(shared.id, now_ms, PageRequest::first(10))
        .await?;
    let names: Vec<_> = tags.items.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["v1", "v2"]);

    let at_install = Utc
        .with_ymd_and_hms(2026, 7, 31, 13, 0, 0)
        .single()
        .expect("t");
    assert_eq!(
        stores
            .service_keys
            .list_approved_keys("quay", at_install)
            .await?
            .len(),
        1
    );
    Ok(())
}
