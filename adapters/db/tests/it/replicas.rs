//! `DB_READ_REPLICAS`: reads go to a replica; a dead replica falls back to the primary; writes
//! and read-after-write use the primary.

use anyhow::Result;
use quay_adapter_db::{ConnectionArgs, DbTarget, connect};
use quay_domain::name::NamespaceName;
use secrecy::SecretString;

use crate::support::{self, TestPg};
use crate::users::new_user;

pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind probe socket");
    listener.local_addr().expect("local addr").port()
}

#[tokio::test(flavor = "multi_thread")]
async fn reads_go_to_the_replica_and_writes_to_the_primary() -> Result<()> {
    let primary = TestPg::new().await?;
    primary.load_quay_schema().await?;
    // The "replica" is a second database whose content differs, so we can see where reads go.
    let replica = TestPg::new().await?;
    replica.load_quay_schema().await?;
    replica.execute(support::PYTHON_ACCOUNTS).await?;

    let mut settings = support::settings(primary.target());
    settings.replicas.push(replica.target());
    let db = connect(settings).await?;
    let users = db.stores().users;

    let admin = users.find_by_username("admin").await?;
    assert!(admin.is_some(), "read served by the replica");
    assert_eq!(users.user_count().await?, 2);

    let created = users.create_user(new_user("writer")).await?;
    assert_eq!(
        created.username, "writer",
        "the write and its RETURNING read use the primary"
    );
    assert!(
        users
            .find_namespace(&NamespaceName::parse("writer")?)
            .await?
            .is_none(),
        "the replica does not have the primary's write"
    );
    let stats = db.routing_stats();
    assert_eq!(stats.replica_reads, 3);
    assert_eq!(stats.replica_fallbacks, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_replica_falls_back_to_the_primary() -> Result<()> {
    let primary = TestPg::new().await?;
    primary.load_quay_schema().await?;
    primary.execute(support::PYTHON_ACCOUNTS).await?;

    let dead = DbTarget::Postgres {
        url: SecretString::from(format!(
            "postgresql://quay:secret@127.0.0.1:{}/quay",
            closed_port()
        )),
        connection_args: ConnectionArgs::new(),
    };
    let mut settings = support::settings(primary.target());
    settings.replicas.push(dead);
    let db = connect(settings).await?;
    let users = db.stores().users;

    assert!(users.find_by_username("admin").await?.is_some());
    assert!(users.find_by_username("user1").await?.is_some());
    let stats = db.routing_stats();
    assert_eq!(stats.replica_reads, 0);
    assert_eq!(stats.replica_fallbacks, 2);
    Ok(())
}
