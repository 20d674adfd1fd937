//! What must hold after the adoption: every old row is there, and a few values by hand.

use std::path::Path;

use anyhow::{Context, Result};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use quay_migrations::SqliteConn;
use quay_migrations::mirror_registry::{Preflight, tables::LOOKUP_TABLES};

use super::Robot;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct S {
    #[diesel(sql_type = Text)]
    s: String,
}

async fn text(conn: &mut SqliteConn, sql: &str) -> Result<Vec<String>> {
    let rows: Vec<S> = diesel::sql_query(sql.to_owned())
        .load(conn)
        .await
        .context(sql.to_owned())?;
    Ok(rows.into_iter().map(|r| r.s).collect())
}

async fn number(conn: &mut SqliteConn, sql: &str) -> Result<i64> {
    let row: N = diesel::sql_query(sql.to_owned())
        .get_result(conn)
        .await
        .context(sql.to_owned())?;
    Ok(row.n)
}

/// Every old row is in the new table (on the columns both have), and counts match.
pub(super) async fn check_every_row_survived(
    new: &mut SqliteConn,
    backup: &Path,
    p: &Preflight,
) -> Result<()> {
    new.batch_execute(&format!("ATTACH DATABASE '{}' AS old", backup.display()))
        .await?;
    let mut checked = 0;
    for (table, old_rows) in &p.row_counts {
        if table == "alembic_version" || table == "namespacegeorestriction" {
            continue;
        }
        let new_rows = number(new, &format!("SELECT count(*) AS n FROM main.\"{table}\"")).await?;
        if LOOKUP_TABLES.contains(&table.as_str()) {
            assert!(new_rows >= *old_rows, "{table}: {new_rows} < {old_rows}");
        } else {
            assert_eq!(new_rows, *old_rows, "{table}");
        }
        let cols = text(
            new,
            &format!(
                "SELECT o.name AS s FROM pragma_table_info('{table}', 'old') o \
             JOIN pragma_table_info('{table}', 'main') m ON m.name = o.name ORDER BY o.cid"
            ),
        )
        .await?;
        let cols: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
        let cols = cols.join(", ");
        let lost = number(
            new,
            &format!(
                "SELECT count(*) AS n FROM (SELECT {cols} FROM old.\"{table}\" \
             EXCEPT SELECT {cols} FROM main.\"{table}\")"
            ),
        )
        .await?;
        assert_eq!(lost, 0, "{table}: {lost} old rows missing or changed");
        checked += 1;
    }
    assert_eq!(checked, 95);
    new.batch_execute("DETACH DATABASE old").await?;
    Ok(())
}

pub(super) async fn check_values(new: &mut SqliteConn, robot: &Robot) -> Result<()> {
    assert_eq!(
        text(
            new,
            "SELECT username || ' ' || email AS s FROM \"user\" ORDER BY id"
        )
        .await?,
        [
            "init init@quay.io",
            "init+mirror robot@example.invalid",
            "acme ops@acme.example"
        ]
    );
    assert_eq!(
        text(
            new,
            "SELECT r.name || ' ' || u.username AS s FROM repository r \
                   JOIN \"user\" u ON u.id = r.namespace_user_id ORDER BY r.id"
        )
        .await?,
        ["test-image init", "shared init"]
    );
    assert_eq!(
        text(
            new,
            "SELECT t.name || ' ' || r.name || ' ' || t.manifest_id || ' ' || t.immutable AS s \
                   FROM tag t JOIN repository r ON r.id = t.repository_id ORDER BY t.id"
        )
        .await?,
        ["v1 test-image 1 0", "v1 shared 2 0", "v2 shared 2 0"]
    );
    assert_eq!(
        text(new, "SELECT token AS s FROM robotaccounttoken").await?,
        std::slice::from_ref(&robot.token_stored)
    );
    assert_eq!(
        text(
            new,
            "SELECT name AS s FROM mediatype WHERE id IN (15, 16) ORDER BY id"
        )
        .await?,
        [
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.docker.distribution.manifest.v2+json"
        ]
    );
    assert_eq!(
        text(
            new,
            "SELECT name AS s FROM imagestoragelocation WHERE id = 9"
        )
        .await?,
        ["default"]
    );
    assert_eq!(
        number(new, "SELECT count(*) AS n FROM logentrykind").await?,
        146
    );
    assert_eq!(
        text(new, "SELECT name AS s FROM logentrykind WHERE id = 146").await?,
        ["reset_namespace_notification"]
    );
    assert_eq!(
        text(
            new,
            "SELECT name AS s FROM externalnotificationevent WHERE id IN (12, 13) ORDER BY id"
        )
        .await?,
        ["quota_warning", "quota_error"]
    );
    assert_eq!(
        text(
            new,
            "SELECT organization_id || ' ' || contact_email AS s FROM organizationcontactemail"
        )
        .await?,
        ["3 ops@acme.example"]
    );
    assert_eq!(
        text(
            new,
            "SELECT integrity_check AS s FROM pragma_integrity_check()"
        )
        .await?,
        ["ok"]
    );
    assert_eq!(
        text(new, "SELECT journal_mode AS s FROM pragma_journal_mode()").await?,
        ["wal"]
    );
    Ok(())
}
