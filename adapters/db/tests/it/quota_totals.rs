//! The quota backfill (Quay's `quotatotalworker.py` `backfill` with `run_backfill`) and
//! `FEATURE_QUOTA_SUPPRESS_FAILURES` on the push path, on PostgreSQL and SQLite.
//!
//! The backfill starts from blobs, manifests and tags pushed without size rows, runs one worker
//! pass, and compares every row with the figures Quay's `get_namespace_total` /
//! `get_repository_total` give: the literal sums of the distinct blobs, and the same sums by
//! Quay's own derived-table query run on the database.

use anyhow::Result;
use quay_adapter_db::{Stores, connect};
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{BackfillOutcome, ManifestPush, SizeAccounting, SizeRowState};

use crate::quota::{blob, digest, push, quota};
use crate::support::{self, Raw, TestPg, TestSqlite};

const A: RepositoryId = RepositoryId(11);
const B: RepositoryId = RepositoryId(12);
const MINE: RepositoryId = RepositoryId(13);
const ADMIN_REPO: RepositoryId = RepositoryId(14);
const DOOMED: RepositoryId = RepositoryId(16);

/// The start time the pass writes.
const NOW_MS: i64 = 1_790_000_000_000;

/// Repositories of `testorg` (2: `qa`, `qb`, `qdel` marked for deletion), `user1` (4) and
/// `admin` (1); a disabled user (5).
const SETUP: &str = "
INSERT INTO repository (id, namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) VALUES
 (11, 2, 'qa', 2, NULL, 'b1', 1, FALSE, 0),
 (12, 2, 'qb', 2, NULL, 'b2', 1, FALSE, 0),
 (13, 4, 'qmine', 2, NULL, 'b3', 1, FALSE, 0),
 (14, 1, 'qadmin', 2, NULL, 'b4', 1, FALSE, 0),
 (16, 2, 'qdel', 2, NULL, 'b6', 1, FALSE, 0);
INSERT INTO \"user\" (id, uuid, username, password_hash, email, verified, stripe_id, organization, robot, invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, enabled, invoice_email_address, company, family_name, given_name, location, maximum_queued_builds_count, creation_date, last_accessed) VALUES
 (5, '0b7c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c05', 'gone', NULL, 'gone@example.com', FALSE, NULL, FALSE, FALSE, FALSE, 0, '2026-11-27 11:34:35.290003', 1209600, FALSE, NULL, NULL, NULL, NULL, NULL, NULL, '2026-11-27 11:34:35.290009', NULL);
";

/// Quay's `get_namespace_total` query for namespace `ns`.
fn quay_namespace_total(ns: i64) -> String {
    format!(
        "SELECT CAST(COALESCE(SUM(d.image_size), 0) AS BIGINT) FROM (SELECT s.id, s.image_size \
         FROM imagestorage s JOIN manifestblob mb ON s.id = mb.blob_id \
         JOIN repository r ON r.id = mb.repository_id WHERE r.namespace_user_id = {ns} \
         GROUP BY s.id, s.image_size) d"
    )
}

/// Quay's `get_repository_total` query for repository `repo`.
fn quay_repository_total(repo: i64) -> String {
    format!(
        "SELECT CAST(COALESCE(SUM(d.image_size), 0) AS BIGINT) FROM (SELECT s.id, s.image_size \
         FROM imagestorage s JOIN manifestblob mb ON s.id = mb.blob_id \
         WHERE mb.repository_id = {repo} GROUP BY s.id, s.image_size) d"
    )
}

fn done(size_bytes: i64) -> Option<SizeRowState> {
    Some(SizeRowState {
        size_bytes,
        backfill_start_ms: Some(NOW_MS),
        backfill_complete: true,
    })
}

fn untracked(repo: RepositoryId, m: u32, tag: &str, blobs: &[u32]) -> ManifestPush {
    push(repo, m, tag, blobs, quota(SizeAccounting::Off, false))
}

/// One pass as the worker runs it: the candidates, then each namespace.
async fn pass(stores: &Stores, batch: usize) -> Result<Vec<(UserId, BackfillOutcome)>> {
    let mut done = Vec::new();
    for ns in stores.quota.backfill_candidates(batch).await? {
        done.push((ns, stores.quota.backfill_namespace(ns, NOW_MS).await?));
    }
    Ok(done)
}

async fn backfill(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    seed(stores, raw).await?;
    first_pass(stores, raw).await?;
    later_passes(stores, raw).await
}

/// Blobs, manifests and tags without size rows.
async fn seed(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Blobs: 1 (100 B), 2 (10 B), 3 (50 B), 4 (5 B) in qa; 1 and 5 (7 B) in qb; 9 (1000 B)
    // in qdel; 7 (1000 B) and 8 (30 B) in qmine.
    for (repo, n, size) in [
        (A, 1, 100),
        (A, 2, 10),
        (A, 3, 50),
        (A, 4, 5),
        (B, 1, 100),
        (B, 5, 7),
        (DOOMED, 9, 1000),
        (MINE, 7, 1000),
        (MINE, 8, 30),
    ] {
        blob(stores, repo, n, size).await?;
    }
    for p in [
        untracked(A, 101, "one", &[1, 2]),
        untracked(A, 102, "two", &[1, 3]),
        untracked(B, 201, "one", &[1, 5]),
        untracked(DOOMED, 601, "one", &[9]),
        untracked(MINE, 301, "one", &[7, 8]),
        untracked(MINE, 302, "two", &[7]),
    ] {
        stores.manifests.commit_manifest_push(&p).await?;
    }
    raw.execute("UPDATE repository SET state = 3 WHERE id = 16")
        .await?;
    assert_eq!(stores.quota.size_rows(A).await?, (None, None));
    Ok(())
}

fn ids(v: Vec<UserId>) -> Vec<i64> {
    v.into_iter().map(|u| u.0).collect()
}

/// The first pass computes every row.
async fn first_pass(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Candidates: enabled, non-robot namespaces without a started row, in id order.
    assert_eq!(
        ids(stores.quota.backfill_candidates(100).await?),
        vec![1, 2, 4]
    );
    assert_eq!(ids(stores.quota.backfill_candidates(2).await?), vec![1, 2]);

    // One pass.
    let outcomes = pass(stores, 100).await?;
    assert_eq!(
        outcomes,
        vec![
            (
                UserId(1),
                BackfillOutcome {
                    namespace_total: Some(0),
                    repositories: vec![(ADMIN_REPO, 0)],
                    stopped_at_deleted: false,
                }
            ),
            (
                UserId(2),
                BackfillOutcome {
                    namespace_total: Some(1167),
                    repositories: vec![(A, 160), (B, 107)],
                    stopped_at_deleted: false,
                }
            ),
            (
                UserId(4),
                BackfillOutcome {
                    namespace_total: Some(1030),
                    repositories: vec![(MINE, 1030)],
                    stopped_at_deleted: false,
                }
            ),
        ]
    );
    // The rows, against the literal sums and Quay's queries.
    assert_eq!(stores.quota.size_rows(A).await?, (done(1167), done(160)));
    assert_eq!(stores.quota.size_rows(B).await?.1, done(107));
    assert_eq!(
        stores.quota.size_rows(MINE).await?,
        (done(1030), done(1030))
    );
    assert_eq!(
        stores.quota.size_rows(ADMIN_REPO).await?,
        (done(0), done(0))
    );
    assert_eq!(stores.quota.size_rows(DOOMED).await?.1, None);
    for ns in [1, 2, 4] {
        let stored = raw
            .scalar(&format!(
                "SELECT size_bytes FROM quotanamespacesize WHERE namespace_user_id = {ns}"
            ))
            .await?;
        assert_eq!(
            stored,
            raw.scalar(&quay_namespace_total(ns)).await?,
            "namespace {ns}"
        );
    }
    for repo in [11, 12, 13, 14] {
        let stored = raw
            .scalar(&format!(
                "SELECT size_bytes FROM quotarepositorysize WHERE repository_id = {repo}"
            ))
            .await?;
        assert_eq!(
            stored,
            raw.scalar(&quay_repository_total(repo)).await?,
            "repository {repo}"
        );
    }
    assert_eq!(
        raw.scalar("SELECT count(*) FROM quotanamespacesize WHERE namespace_user_id IN (3, 5)")
            .await?,
        0
    );

    Ok(())
}

/// Later passes: nothing to do, then only what a push reset.
async fn later_passes(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Nothing left; running a namespace again writes nothing.
    assert!(stores.quota.backfill_candidates(100).await?.is_empty());
    assert_eq!(
        stores
            .quota
            .backfill_namespace(UserId(2), NOW_MS + 1)
            .await?,
        BackfillOutcome::default()
    );

    // A push with quota management off resets qa and testorg: the next pass redoes those two.
    stores
        .manifests
        .commit_manifest_push(&push(
            A,
            103,
            "three",
            &[4],
            quota(SizeAccounting::Invalidate, false),
        ))
        .await?;
    assert_eq!(ids(stores.quota.backfill_candidates(100).await?), vec![2]);
    assert_eq!(
        pass(stores, 100).await?,
        vec![(
            UserId(2),
            BackfillOutcome {
                namespace_total: Some(1172),
                repositories: vec![(A, 165)],
                stopped_at_deleted: false,
            }
        )]
    );
    assert_eq!(stores.quota.size_rows(A).await?, (done(1172), done(165)));
    assert_eq!(raw.scalar(&quay_namespace_total(2)).await?, 1172);

    // A row whose backfill started but never completed is left alone, as in Quay.
    raw.execute(
        "UPDATE quotanamespacesize SET backfill_complete = FALSE, size_bytes = 0 WHERE namespace_user_id = 4",
    )
    .await?;
    assert!(stores.quota.backfill_candidates(100).await?.is_empty());
    assert_eq!(
        stores.quota.backfill_namespace(UserId(4), NOW_MS).await?,
        BackfillOutcome::default()
    );
    Ok(())
}

/// `FEATURE_QUOTA_SUPPRESS_FAILURES`: a failing size write fails the push without the flag; with
/// it, the push (manifest and tag) goes through without size rows.
async fn suppressed(stores: &Stores, raw: &Raw<'_>, failing_trigger: &str) -> Result<()> {
    blob(stores, ADMIN_REPO, 21, 1000).await?;
    raw.execute(failing_trigger).await?;
    let tracked = |suppress_failures| {
        let mut q = quota(SizeAccounting::Track, false);
        q.suppress_failures = suppress_failures;
        push(ADMIN_REPO, 401, "one", &[21], q)
    };
    let failed = stores.manifests.commit_manifest_push(&tracked(false)).await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(
        stores
            .manifests
            .find_manifest(ADMIN_REPO, &digest(401))
            .await?
            .is_none()
    );

    stores
        .manifests
        .commit_manifest_push(&tracked(true))
        .await?;
    assert!(
        stores
            .manifests
            .find_manifest(ADMIN_REPO, &digest(401))
            .await?
            .is_some()
    );
    let now_ms = crate::quota::at().timestamp_millis() + 1;
    assert!(
        stores
            .manifests
            .find_tagged_manifest(ADMIN_REPO, "one", now_ms)
            .await?
            .is_some()
    );
    assert_eq!(stores.quota.size_rows(ADMIN_REPO).await?, (None, None));
    Ok(())
}

const PG_FAILING_TRIGGER: &str = "
CREATE FUNCTION quota_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'size write refused by the test'; END $$;
CREATE TRIGGER quota_refuse BEFORE INSERT OR UPDATE ON quotanamespacesize
 FOR EACH ROW EXECUTE FUNCTION quota_refuse();
";

const SQLITE_FAILING_TRIGGER: &str = "
CREATE TRIGGER quota_refuse_insert BEFORE INSERT ON quotanamespacesize
 BEGIN SELECT RAISE(ABORT, 'size write refused by the test'); END;
CREATE TRIGGER quota_refuse_update BEFORE UPDATE ON quotanamespacesize
 BEGIN SELECT RAISE(ABORT, 'size write refused by the test'); END;
";

async fn pg() -> Result<(TestPg, Stores)> {
    let pg = TestPg::with_accounts(SETUP).await?;
    pg.execute("SELECT setval(pg_get_serial_sequence('repository', 'id'), 20);")
        .await?;
    let db = connect(support::settings(pg.target())).await?;
    Ok((pg, db.stores()))
}

fn sqlite() -> Result<TestSqlite> {
    TestSqlite::with_accounts(SETUP)
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_backfill_postgres() -> Result<()> {
    let (pg, stores) = pg().await?;
    backfill(&stores, &Raw::Pg(&pg)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_backfill_sqlite() -> Result<()> {
    let file = sqlite()?;
    let db = connect(support::settings(file.target())).await?;
    backfill(&db.stores(), &Raw::Sqlite(&file)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_suppressed_failures_postgres() -> Result<()> {
    let (pg, stores) = pg().await?;
    suppressed(&stores, &Raw::Pg(&pg), PG_FAILING_TRIGGER).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_suppressed_failures_sqlite() -> Result<()> {
    let file = sqlite()?;
    let db = connect(support::settings(file.target())).await?;
    suppressed(&db.stores(), &Raw::Sqlite(&file), SQLITE_FAILING_TRIGGER).await
}
