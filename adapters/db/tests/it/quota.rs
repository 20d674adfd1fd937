//! Quota accounting and limits on the push path, on PostgreSQL and SQLite: the size rows Python
//! Quay's `update_sizes` writes for new manifests (unique blobs per namespace and repository,
//! first-push inserts, backfill states, invalidation), the in-transaction `Reject` (manifest kept
//! under an expired hidden tag, no tag moved), and the reads and notification writes of
//! `QuotaStore`.

use anyhow::Result;
use chrono::{DateTime, Duration, TimeZone, Utc};
use quay_adapter_db::{Stores, connect};
use quay_domain::repository::RepositoryId;
use quay_domain::user::UserId;
use quay_ports::store::{
    CommitBlob, ManifestPush, ManifestStoreError, NewNotification, QuotaPush, QuotaVerify,
    SizeAccounting, SizeRowState, TagMove, TempTag, UploadRecord,
};

use crate::support::{self, Raw, TestPg, TestSqlite};

/// Repositories of `testorg` (2) and `user1` (4).
const A: RepositoryId = RepositoryId(11);
const B: RepositoryId = RepositoryId(12);
const MINE: RepositoryId = RepositoryId(13);
const TESTORG: UserId = UserId(2);

const SETUP: &str = "
INSERT INTO repository (id, namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) VALUES
 (11, 2, 'qa', 2, NULL, 'b1', 1, FALSE, 0),
 (12, 2, 'qb', 2, NULL, 'b2', 1, FALSE, 0),
 (13, 4, 'qmine', 2, NULL, 'b3', 1, FALSE, 0),
 (14, 1, 'race1', 2, NULL, 'b4', 1, FALSE, 0),
 (15, 1, 'race2', 2, NULL, 'b5', 1, FALSE, 0);
";

pub(crate) fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time")
}

pub(crate) fn digest(n: u32) -> String {
    format!("sha256:{n:064x}")
}

pub(crate) async fn blob(stores: &Stores, repo: RepositoryId, n: u32, size: u64) -> Result<()> {
    let now = at();
    stores
        .blobs
        .commit_blob(&CommitBlob {
            repository: repo,
            digest: digest(n),
            size,
            uncompressed_size: None,
            location: "default".into(),
            storage_uuid: format!("00000000-0000-4000-8000-{n:012x}"),
            now,
            link_expires_at: now + Duration::hours(1),
            finished_upload: None,
        })
        .await?;
    Ok(())
}

pub(crate) fn quota(accounting: SizeAccounting, verify: bool) -> QuotaPush {
    QuotaPush {
        accounting,
        verify: verify.then(|| QuotaVerify {
            default_reject_bytes: 0,
            reject_tag: TempTag {
                name: "$temp-refused".into(),
                now_ms: at().timestamp_millis(),
                end_ms: Some(0),
            },
        }),
        suppress_failures: false,
    }
}

pub(crate) fn push(
    repo: RepositoryId,
    m: u32,
    tag: &str,
    blobs: &[u32],
    q: QuotaPush,
) -> ManifestPush {
    let now = at();
    ManifestPush {
        repository: repo,
        digest: digest(m),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        bytes: format!("{{\"m\": {m}}}"),
        config_media_type: Some("application/vnd.oci.image.config.v1+json".into()),
        layers_compressed_size: None,
        subject: None,
        artifact_type: None,
        blob_digests: blobs.iter().map(|b| digest(*b)).collect(),
        child_digests: Vec::new(),
        optional_children: Vec::new(),
        labels: Vec::new(),
        now,
        tag: Some(TagMove {
            name: tag.to_owned(),
            now_ms: now.timestamp_millis(),
            lock_id: 7,
            end_ms: None,
            immutable: false,
            refuse_immutable: false,
            policy_audit: None,
        }),
        temp_tag: None,
        audit: None,
        quota: q,
    }
}

pub(crate) fn complete(size_bytes: i64) -> Option<SizeRowState> {
    Some(SizeRowState {
        size_bytes,
        backfill_start_ms: Some(0),
        backfill_complete: true,
    })
}

const STALE: Option<SizeRowState> = Some(SizeRowState {
    size_bytes: 0,
    backfill_start_ms: None,
    backfill_complete: false,
});

/// The namespace and repository size rows.
type SizeRows = (Option<SizeRowState>, Option<SizeRowState>);

/// Commits `push`, then reads the size rows of its repository.
async fn sized(stores: &Stores, push: &ManifestPush) -> Result<SizeRows> {
    stores.manifests.commit_manifest_push(push).await?;
    Ok(stores.quota.size_rows(push.repository).await?)
}

async fn scenario(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    accounting(stores, raw).await?;
    limits(stores, raw).await?;
    reads(stores, raw).await?;
    first_pushes_at_once(stores).await
}

/// The size rows of new manifests.
async fn accounting(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    let track = || quota(SizeAccounting::Track, false);
    // Blobs: 1 (100 B) in A and B, 2 (10 B), 3 (50 B), 4 (5 B) in A, 5 (7 B) in B.
    for (repo, n, size) in [
        (A, 1, 100),
        (A, 2, 10),
        (A, 3, 50),
        (A, 4, 5),
        (B, 1, 100),
        (B, 5, 7),
        (B, 6, 1),
        (MINE, 7, 1000),
    ] {
        blob(stores, repo, n, size).await?;
    }

    // First manifest of the namespace and the repository: both rows inserted, complete.
    assert_eq!(
        sized(stores, &push(A, 101, "one", &[1, 2], track())).await?,
        (complete(110), complete(110))
    );

    // Blob 1 again: counted once.
    assert_eq!(
        sized(stores, &push(A, 102, "two", &[1, 3, 4], track())).await?,
        (complete(165), complete(165))
    );

    // Re-pushing an existing manifest changes nothing.
    assert_eq!(
        sized(stores, &push(A, 101, "again", &[1, 2], track())).await?,
        (complete(165), complete(165))
    );

    // Another repository: blob 1 counts for the repository, not the namespace.
    assert_eq!(
        sized(stores, &push(B, 201, "one", &[1, 5], track())).await?,
        (complete(172), complete(107))
    );

    // A repository row whose backfill is pending is left to the backfill worker.
    raw.execute(
        "UPDATE quotarepositorysize SET backfill_complete = FALSE WHERE repository_id = 12",
    )
    .await?;
    stores
        .manifests
        .commit_manifest_push(&push(B, 202, "two", &[6], track()))
        .await?;
    let (ns, repo) = stores.quota.size_rows(B).await?;
    assert_eq!(ns, complete(173));
    assert_eq!(
        repo.map(|r| (r.size_bytes, r.backfill_complete)),
        Some((107, false))
    );

    // A namespace with manifests but no row: backfill required, nothing written.
    stores
        .manifests
        .commit_manifest_push(&push(
            MINE,
            301,
            "one",
            &[7],
            quota(SizeAccounting::Off, false),
        ))
        .await?;
    assert_eq!(
        sized(stores, &push(MINE, 302, "two", &[7], track())).await?,
        (None, None)
    );

    Ok(())
}

/// The limits check inside the push transaction.
async fn limits(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // The limits: 200 bytes, warning at 80 %, reject at 100 %.
    raw.execute(
        "INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES (2, 200);
         INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES
          ((SELECT id FROM userorganizationquota WHERE namespace_id = 2), (SELECT id FROM quotatype WHERE name = 'Warning'), 80),
          ((SELECT id FROM userorganizationquota WHERE namespace_id = 2), (SELECT id FROM quotatype WHERE name = 'Reject'), 100);",
    )
    .await?;
    let usage = stores.quota.namespace_usage(A, false).await?;
    assert_eq!(usage.size_bytes, 173);
    assert_eq!(usage.namespace, "testorg");
    let q = usage.quota.expect("quota");
    assert_eq!(q.limit_bytes, 200);
    assert_eq!(
        q.limits
            .iter()
            .map(|l| (l.percent_of_limit, l.severity.name().to_owned()))
            .collect::<Vec<_>>(),
        vec![(80, "Warning".to_owned()), (100, "Reject".to_owned())]
    );

    // Under the limit after the push (173 + 0: blob 4 is already counted): goes through.
    let verified = || quota(SizeAccounting::Track, true);
    stores
        .manifests
        .commit_manifest_push(&push(A, 103, "three", &[4], verified()))
        .await?;
    // A new blob of 30 bytes takes the namespace to 203: refused after the accounting.
    blob(stores, A, 8, 30).await?;
    let refused = stores
        .manifests
        .commit_manifest_push(&push(A, 104, "four", &[8], verified()))
        .await;
    assert!(
        matches!(refused, Err(ManifestStoreError::QuotaExceeded)),
        "{refused:?}"
    );
    assert_eq!(
        stores.quota.size_rows(A).await?,
        (complete(203), complete(195))
    );
    let now_ms = at().timestamp_millis() + 1;
    assert!(
        stores
            .manifests
            .find_manifest(A, &digest(104))
            .await?
            .is_some()
    );
    assert!(
        stores
            .manifests
            .find_tagged_manifest(A, "four", now_ms)
            .await?
            .is_none()
    );
    let expired_hidden = format!(
        "SELECT count(*) FROM tag WHERE repository_id = 11 AND name = '$temp-refused' AND hidden \
         AND lifetime_end_ms = 0 AND manifest_id = (SELECT id FROM manifest WHERE digest = '{}')",
        digest(104)
    );
    assert_eq!(raw.scalar(&expired_hidden).await?, 1);
    // The same manifest again: refused, no second temporary tag, no size change.
    let again = stores
        .manifests
        .commit_manifest_push(&push(A, 104, "five", &[8], verified()))
        .await;
    assert!(matches!(again, Err(ManifestStoreError::QuotaExceeded)));
    assert_eq!(raw.scalar(&expired_hidden).await?, 1);
    assert_eq!(
        stores.quota.size_rows(A).await?,
        (complete(203), complete(195))
    );
    // Tags pushed before are untouched.
    assert!(
        stores
            .manifests
            .find_tagged_manifest(A, "one", now_ms)
            .await?
            .is_some()
    );

    Ok(())
}

/// The reads of the upload checks and the notifications.
async fn reads(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Uploads in progress count for the upload checks.
    for (uuid, bytes) in [("u-1", 11u64), ("u-2", 22)] {
        stores
            .uploads
            .create_upload(&UploadRecord {
                repository: A,
                uuid: uuid.into(),
                byte_count: bytes,
                chunk_count: 1,
                uncompressed_byte_count: None,
                sha_state: None,
                storage_metadata: "{}".into(),
                location: "default".into(),
                created: at(),
            })
            .await?;
    }
    assert_eq!(
        stores.quota.namespace_usage(A, true).await?.upload_bytes,
        33
    );
    assert_eq!(
        stores.quota.namespace_usage(A, false).await?.upload_bytes,
        0
    );
    assert_eq!(stores.quota.namespace_usage(B, true).await?.upload_bytes, 0);

    // Notification targets: testorg's admins (admin, via owners), user1 itself.
    let targets = stores
        .quota
        .notification_targets(TESTORG, "quota_error")
        .await?;
    assert_eq!(
        targets
            .iter()
            .map(|t| (t.user, t.existing_metadata.len()))
            .collect::<Vec<_>>(),
        vec![(UserId(1), 0)]
    );
    stores
        .quota
        .create_notifications(&[NewNotification {
            uuid: "6f1c2d3e-4b5a-4c6d-8e7f-001122334455".into(),
            kind: "quota_error".into(),
            target: UserId(1),
            metadata_json: r#"{"namespace": "testorg"}"#.into(),
            created: at(),
        }])
        .await?;
    let targets = stores
        .quota
        .notification_targets(TESTORG, "quota_error")
        .await?;
    assert_eq!(
        targets[0].existing_metadata,
        vec![r#"{"namespace": "testorg"}"#.to_owned()]
    );
    assert!(
        stores
            .quota
            .notification_targets(TESTORG, "quota_warning")
            .await?[0]
            .existing_metadata
            .is_empty()
    );
    let mine = stores
        .quota
        .notification_targets(UserId(4), "quota_error")
        .await?;
    assert_eq!(
        mine.iter().map(|t| t.user).collect::<Vec<_>>(),
        vec![UserId(4)]
    );
    assert_eq!(
        raw.scalar(
            "SELECT count(*) FROM notification WHERE target_id = 1 AND dismissed = FALSE \
             AND lookup_path IS NULL AND kind_id = (SELECT id FROM notificationkind WHERE name = 'quota_error')"
        )
        .await?,
        1
    );

    invalidation(stores, raw).await
}

/// With quota management off.
async fn invalidation(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // With quota management off, a new manifest marks started totals stale.
    assert_eq!(
        sized(
            stores,
            &push(
                A,
                105,
                "six",
                &[2],
                quota(SizeAccounting::Invalidate, false),
            )
        )
        .await?,
        (STALE, STALE)
    );
    // ... and `Off` leaves rows alone.
    raw.execute("UPDATE quotanamespacesize SET size_bytes = 5, backfill_start_ms = 1 WHERE namespace_user_id = 2")
        .await?;
    stores
        .manifests
        .commit_manifest_push(&push(
            A,
            106,
            "seven",
            &[2],
            quota(SizeAccounting::Off, false),
        ))
        .await?;
    assert_eq!(
        stores.quota.size_rows(A).await?.0.map(|r| r.size_bytes),
        Some(5)
    );
    Ok(())
}

/// Two first pushes of one namespace at once (different repositories): both succeed and the
/// namespace row holds both sizes, whichever inserted it.
async fn first_pushes_at_once(stores: &Stores) -> Result<()> {
    let (r1, r2) = (RepositoryId(14), RepositoryId(15));
    blob(stores, r1, 21, 1000).await?;
    blob(stores, r2, 22, 2000).await?;
    let track = || quota(SizeAccounting::Track, false);
    let (p1, p2) = (
        push(r1, 401, "one", &[21], track()),
        push(r2, 402, "one", &[22], track()),
    );
    let (a, b) = tokio::join!(
        stores.manifests.commit_manifest_push(&p1),
        stores.manifests.commit_manifest_push(&p2),
    );
    a?;
    b?;
    let (ns, one) = stores.quota.size_rows(r1).await?;
    assert_eq!(ns, complete(3000));
    assert_eq!(one, complete(1000));
    assert_eq!(stores.quota.size_rows(r2).await?.1, complete(2000));
    Ok(())
}

const PG_SEQUENCES: &str = "
SELECT setval(pg_get_serial_sequence('repository', 'id'), 20);
";

#[tokio::test(flavor = "multi_thread")]
async fn quota_on_the_push_path_postgres() -> Result<()> {
    let pg = TestPg::with_accounts(SETUP).await?;
    pg.execute(PG_SEQUENCES).await?;
    let db = connect(support::settings(pg.target())).await?;
    scenario(&db.stores(), &Raw::Pg(&pg)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_on_the_push_path_sqlite() -> Result<()> {
    let file = TestSqlite::with_accounts(SETUP)?;
    let db = connect(support::settings(file.target())).await?;
    scenario(&db.stores(), &Raw::Sqlite(&file)).await
}
