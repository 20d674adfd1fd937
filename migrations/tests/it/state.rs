//! inspect() and the refusals of upgrade().

use anyhow::Result;
use diesel_async::SimpleAsyncConnection;
use quay_migrations::{HEAD, MigrationError, SchemaState};

use crate::catalog;
use crate::harness::{self, with_scratch_pg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_states_and_refusals() -> Result<()> {
    with_scratch_pg("state", async |db| {
        let mut conn = db.connect().await?;
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::Empty
        );

        // A table but no alembic_version: not Quay's, refused untouched.
        conn.batch_execute("CREATE TABLE public.stranger (id integer)")
            .await?;
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::Unknown("none".into())
        );
        let before = catalog::pg::schema(&mut conn).await?;
        let err = quay_migrations::upgrade_pg(&mut conn).await.unwrap_err();
        assert!(matches!(err, MigrationError::NotQuay), "{err}");
        assert!(err.to_string().contains(HEAD), "{err}");
        assert_eq!(catalog::pg::schema(&mut conn).await?, before);

        // An unknown (newer) version: refused untouched, message names both and the fix.
        conn.batch_execute(
            "CREATE TABLE public.alembic_version (version_num varchar(32) PRIMARY KEY); \
             INSERT INTO public.alembic_version VALUES ('ffffffffffff')",
        )
        .await?;
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::Unknown("ffffffffffff".into())
        );
        let before = catalog::pg::schema(&mut conn).await?;
        let err = quay_migrations::upgrade_pg(&mut conn).await.unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, MigrationError::Unknown { .. }), "{msg}");
        assert!(
            msg.contains("ffffffffffff") && msg.contains(HEAD) && msg.contains("release"),
            "{msg}"
        );
        assert_eq!(catalog::pg::schema(&mut conn).await?, before);

        // An older Quay version: Behind, refused with the mirror-registry hint.
        conn.batch_execute("UPDATE public.alembic_version SET version_num = '3f8d7acdf7f9'")
            .await?;
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::Behind("3f8d7acdf7f9".into())
        );
        let err = quay_migrations::upgrade_pg(&mut conn).await.unwrap_err();
        assert!(err.to_string().contains("--from-mirror-registry"), "{err}");

        // Back to empty, then up, at head, no-op again, and down/up (redo) works.
        conn.batch_execute("DROP TABLE public.stranger, public.alembic_version")
            .await?;
        let applied = quay_migrations::upgrade_pg(&mut conn).await?;
        assert!(!applied.is_noop());
        let schema = catalog::pg::schema(&mut conn).await?;
        let again = quay_migrations::upgrade_pg(&mut conn).await?;
        assert!(again.is_noop());
        assert_eq!(again.from, SchemaState::AtHead);
        quay_migrations::revert_pg(&mut conn).await?;
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::Empty
        );
        quay_migrations::upgrade_pg(&mut conn).await?;
        assert_eq!(catalog::pg::schema(&mut conn).await?, schema);
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_states_and_refusals() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut conn = harness::open_sqlite(&dir.path().join("s.db"))?;
    assert_eq!(
        quay_migrations::inspect_sqlite(&mut conn).await?,
        SchemaState::Empty
    );

    conn.batch_execute("CREATE TABLE stranger (id integer)")
        .await?;
    assert_eq!(
        quay_migrations::inspect_sqlite(&mut conn).await?,
        SchemaState::Unknown("none".into())
    );
    let err = quay_migrations::upgrade_sqlite(&mut conn)
        .await
        .unwrap_err();
    assert!(matches!(err, MigrationError::NotQuay), "{err}");

    conn.batch_execute(
        "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('0123456789ab')",
    )
    .await?;
    let before = catalog::sqlite::schema(&mut conn).await?;
    let err = quay_migrations::upgrade_sqlite(&mut conn)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("0123456789ab") && msg.contains(HEAD), "{msg}");
    assert_eq!(catalog::sqlite::schema(&mut conn).await?, before);
    assert_eq!(
        catalog::sqlite::rows(&mut conn).await?,
        vec!["row alembic_version '0123456789ab'".to_owned()]
    );

    conn.batch_execute("DROP TABLE stranger; DROP TABLE alembic_version")
        .await?;
    assert!(!quay_migrations::upgrade_sqlite(&mut conn).await?.is_noop());
    assert!(quay_migrations::upgrade_sqlite(&mut conn).await?.is_noop());
    let schema = catalog::sqlite::schema(&mut conn).await?;
    quay_migrations::revert_sqlite(&mut conn).await?;
    assert_eq!(
        quay_migrations::inspect_sqlite(&mut conn).await?,
        SchemaState::Empty
    );
    quay_migrations::upgrade_sqlite(&mut conn).await?;
    assert_eq!(catalog::sqlite::schema(&mut conn).await?, schema);
    Ok(())
}
