//! (A) The migrated schema is Quay's, exactly, on both backends.

use anyhow::Result;
use quay_migrations::{HEAD, SchemaState};

use crate::catalog::{self, assert_same};
use crate::harness::{self, with_scratch_pg};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_migrated_schema_and_rows_equal_quays_dump() -> Result<()> {
    let (migrated_schema, migrated_rows) = with_scratch_pg("migrated", async |db| {
        let mut conn = db.connect().await?;
        let applied = quay_migrations::upgrade_pg(&mut conn).await?;
        assert_eq!(applied.from, SchemaState::Empty);
        assert_eq!(applied.migrations.len(), quay_migrations::POSTGRES.len());
        assert_eq!(
            quay_migrations::inspect_pg(&mut conn).await?,
            SchemaState::AtHead
        );
        let mut fresh = db.connect().await?;
        Ok((
            catalog::pg::schema(&mut fresh).await?,
            catalog::pg::rows(&mut fresh).await?,
        ))
    })
    .await?;
    let (fixture_schema, fixture_rows) = with_scratch_pg("fixture", async |db| {
        let mut conn = db.connect().await?;
        harness::load_pg_dump(&mut conn, "quay_schema_postgres.sql").await?;
        harness::load_pg_dump(&mut conn, "quay_seed_data_postgres.sql").await?;
        let mut fresh = db.connect().await?;
        Ok((
            catalog::pg::schema(&mut fresh).await?,
            catalog::pg::rows(&mut fresh).await?,
        ))
    })
    .await?;
    assert!(migrated_schema.len() > 1000, "suspiciously small catalog");
    assert_same(
        "PostgreSQL schema",
        "migrated",
        &migrated_schema,
        "Quay's dump",
        &fixture_schema,
    );
    assert_same(
        "PostgreSQL rows",
        "migrated",
        &migrated_rows,
        "Quay's seed",
        &fixture_rows,
    );
    assert!(migrated_rows.contains(&format!(
        "row alembic_version {{\"version_num\":\"{HEAD}\"}}"
    )));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_migrated_schema_and_rows_equal_quays_dump() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut migrated = harness::open_sqlite(&dir.path().join("migrated.db"))?;
    let applied = quay_migrations::upgrade_sqlite(&mut migrated).await?;
    assert_eq!(applied.from, SchemaState::Empty);
    assert_eq!(
        quay_migrations::inspect_sqlite(&mut migrated).await?,
        SchemaState::AtHead
    );

    let mut fixture = harness::open_sqlite(&dir.path().join("fixture.db"))?;
    harness::load_sqlite_dump(&mut fixture, "quay_schema_sqlite.sql").await?;
    harness::load_sqlite_dump(&mut fixture, "quay_seed_data_sqlite.sql").await?;

    let m = catalog::sqlite::schema(&mut migrated).await?;
    let f = catalog::sqlite::schema(&mut fixture).await?;
    assert!(m.len() > 1000, "suspiciously small catalog");
    assert_same("SQLite schema", "migrated", &m, "Quay's dump", &f);
    let mr = catalog::sqlite::rows(&mut migrated).await?;
    let fr = catalog::sqlite::rows(&mut fixture).await?;
    assert_same("SQLite rows", "migrated", &mr, "Quay's seed", &fr);
    assert!(mr.contains(&format!("row alembic_version '{HEAD}'")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_backends_hold_the_same_tables_and_lookup_rows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut lite = harness::open_sqlite(&dir.path().join("q.db"))?;
    quay_migrations::upgrade_sqlite(&mut lite).await?;
    let lite_tables = catalog::sqlite::tables(&mut lite).await?;
    let pg_tables = with_scratch_pg("tables", async |db| {
        let mut conn = db.connect().await?;
        quay_migrations::upgrade_pg(&mut conn).await?;
        let mut t: Vec<String> = catalog::pg::schema(&mut conn)
            .await?
            .iter()
            .filter_map(|l| l.strip_prefix("table "))
            .filter_map(|l| l.split(' ').next())
            .map(str::to_owned)
            .collect();
        t.sort();
        Ok(t)
    })
    .await?;
    assert_eq!(lite_tables, pg_tables);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_comparison_catches_a_one_column_difference() -> Result<()> {
    use diesel_async::SimpleAsyncConnection;
    let dir = tempfile::tempdir()?;
    let mut a = harness::open_sqlite(&dir.path().join("a.db"))?;
    let mut b = harness::open_sqlite(&dir.path().join("b.db"))?;
    quay_migrations::upgrade_sqlite(&mut a).await?;
    quay_migrations::upgrade_sqlite(&mut b).await?;
    b.batch_execute("DROP INDEX tag_repository_id_immutable")
        .await?;
    let d = catalog::diff(
        "a",
        &catalog::sqlite::schema(&mut a).await?,
        "b",
        &catalog::sqlite::schema(&mut b).await?,
    );
    assert!(
        d.contains("only in a:  index tag_repository_id_immutable on tag"),
        "{d}"
    );

    let d = with_scratch_pg("negative", async |db| {
        let mut conn = db.connect().await?;
        quay_migrations::upgrade_pg(&mut conn).await?;
        let before = catalog::pg::schema(&mut conn).await?;
        conn.batch_execute("ALTER TABLE public.tag ALTER COLUMN name TYPE varchar(256)")
            .await?;
        let after = catalog::pg::schema(&mut conn).await?;
        Ok(catalog::diff("before", &before, "after", &after))
    })
    .await?;
    assert!(
        d.contains("column tag.name #2 character varying(256)"),
        "{d}"
    );
    Ok(())
}
