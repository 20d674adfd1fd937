//! Connection failures are reported with the host and port or the file, and what to fix; never
//! with the password.

use anyhow::Result;
use quay_adapter_db::{ConnectionArgs, DbError, DbTarget, connect};
use secrecy::SecretString;

use crate::replicas::closed_port;
use crate::support::{self, TestPg, with_database};

pub fn chain(e: &DbError) -> String {
    let mut s = e.to_string();
    let mut cur = std::error::Error::source(e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_postgres_names_host_and_port_not_password() -> Result<()> {
    let port = closed_port();
    let uri = SecretString::from(format!("postgresql://quay:hunter2@127.0.0.1:{port}/quay"));
    let target = DbTarget::from_quay_uri(&uri, ConnectionArgs::new())?;
    let err = connect(support::settings(target))
        .await
        .err()
        .expect("must fail");
    let text = chain(&err);
    assert!(matches!(err, DbError::Unreachable { .. }), "{text}");
    assert!(text.contains(&format!("127.0.0.1:{port}/quay")), "{text}");
    assert!(text.contains("check that the server is running"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
    assert!(!format!("{err:?}").contains("hunter2"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_postgres_database_is_reported() -> Result<()> {
    let url = with_database(&support::pg_admin_url(), "quay_h2_does_not_exist");
    let target = DbTarget::Postgres {
        url: SecretString::from(url),
        connection_args: ConnectionArgs::new(),
    };
    let err = connect(support::settings(target))
        .await
        .err()
        .expect("must fail");
    assert!(
        matches!(err, DbError::MissingDatabase { .. }),
        "{}",
        chain(&err)
    );
    assert!(err.to_string().contains("does not exist"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_in_a_missing_directory_is_reported() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("absent").join("quay.db");
    let target = DbTarget::Sqlite {
        path: path.clone(),
        connection_args: ConnectionArgs::new(),
    };
    let err = connect(support::settings(target))
        .await
        .err()
        .expect("must fail");
    let text = err.to_string();
    assert!(matches!(err, DbError::Sqlite { .. }), "{text}");
    assert!(
        text.contains(&path.display().to_string()) && text.contains("does not exist"),
        "{text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn ping_works_on_both_backends() -> Result<()> {
    let pg = TestPg::new().await?;
    connect(support::settings(pg.target()))
        .await?
        .ping()
        .await?;
    let file = support::TestSqlite::new()?;
    connect(support::settings(file.target()))
        .await?
        .ping()
        .await?;
    Ok(())
}
