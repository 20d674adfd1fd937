//! The rows a tag deletion writes beside closing the tag, as Quay's `_delete_tag`
//! (`data/model/oci/tag.py`) writes them in the same transaction, on PostgreSQL and SQLite:
//! - `FEATURE_IMAGE_PULL_STATS`: the tag's `tagpullstatistics` row is deleted, only with the
//!   feature on;
//! - `delete_tag_notifications_for_tag`: the tag's `tagnotificationsuccess` rows are deleted
//!   (also when a push moves the tag: `retarget_tag`);
//! - `RESET_CHILD_MANIFEST_EXPIRATION`: the hidden `$temp-` tags of a deleted manifest list's
//!   children that end later are closed at the deletion's time, only with the key on.

use anyhow::Result;
use quay_adapter_db::{Stores, connect};
use quay_domain::repository::RepositoryId;
use quay_ports::store::{ManifestPush, TagDeletion, TempTag};

use crate::support::{self, Raw, TestPg, TestSqlite};
use crate::tag_rules::{digest, ends, ms, tag_move};

const REPO: RepositoryId = RepositoryId(41);
/// Another repository of `admin`, whose rows no deletion in `REPO` may touch.
const OTHER: RepositoryId = RepositoryId(42);
const LOCK: i64 = 0x5eed_0000_0041;

const SETUP: &str = "
INSERT INTO repository (id, namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) VALUES
 (41, 1, 'effects', 2, NULL, 'e1', 1, FALSE, 0),
 (42, 1, 'bystander', 2, NULL, 'e2', 1, FALSE, 0);
";

/// Manifest `m` of `repo`: an image, or an index of `children` when there are any; tagged
/// `tag`, or else kept by the hidden `$temp-<m>` ending at `temp_end` (`None`: never).
fn push(
    repo: RepositoryId,
    m: u32,
    children: &[u32],
    tag: Option<&str>,
    temp_end: Option<i64>,
    now_ms: i64,
) -> ManifestPush {
    let list = !children.is_empty();
    ManifestPush {
        repository: repo,
        digest: digest(m),
        media_type: if list {
            "application/vnd.oci.image.index.v1+json".into()
        } else {
            "application/vnd.oci.image.manifest.v1+json".into()
        },
        bytes: format!("{{\"m\": {m}}}"),
        config_media_type: (!list).then(|| "application/vnd.oci.image.config.v1+json".into()),
        layers_compressed_size: None,
        subject: None,
        artifact_type: None,
        blob_digests: Vec::new(),
        child_digests: children.iter().map(|c| digest(*c)).collect(),
        optional_children: Vec::new(),
        labels: Vec::new(),
        now: chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default(),
        tag: tag.map(|t| tag_move(t, now_ms, LOCK)),
        temp_tag: tag.is_none().then(|| TempTag {
            name: format!("$temp-{m}"),
            now_ms,
            end_ms: temp_end,
        }),
        audit: None,
        quota: Default::default(),
    }
}

async fn commit(stores: &Stores, p: &ManifestPush) -> Result<()> {
    stores.manifests.commit_manifest_push(p).await?;
    Ok(())
}

fn deletion(now_ms: i64, pull_stats: bool, reset_children: bool) -> TagDeletion {
    TagDeletion {
        now_ms,
        lock_id: LOCK,
        refuse_immutable: true,
        clear_pull_statistics: pull_stats,
        reset_child_expiration: reset_children,
    }
}

/// The `tagpullstatistics` rows, `<repo>/<tag>:<count>`, by id.
async fn pull_stats(raw: &Raw<'_>) -> Result<Vec<String>> {
    raw.texts(
        "SELECT CAST(repository_id AS VARCHAR) || '/' || tag_name || ':' \
         || CAST(tag_pull_count AS VARCHAR) AS v FROM tagpullstatistics ORDER BY id",
    )
    .await
}

async fn add_pull_stats(raw: &Raw<'_>, repo: RepositoryId, tag: &str, count: i64) -> Result<()> {
    raw.execute(&format!(
        "INSERT INTO tagpullstatistics (repository_id, tag_name, tag_pull_count, \
         last_tag_pull_date, current_manifest_digest) \
         VALUES ({}, '{tag}', {count}, '2026-11-27 12:00:00', NULL)",
        repo.0
    ))
    .await
}

async fn pull_statistics_cleared_with_the_feature(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    commit(stores, &push(REPO, 1, &[], Some("p1"), None, ms(0))).await?;
    commit(stores, &push(REPO, 1, &[], Some("p2"), None, ms(0))).await?;
    commit(stores, &push(REPO, 2, &[], Some("q1"), None, ms(0))).await?;
    commit(stores, &push(REPO, 2, &[], Some("q2"), None, ms(0))).await?;
    for (repo, tag, count) in [
        (REPO, "p1", 3),
        (REPO, "p2", 5),
        (REPO, "q1", 7),
        (REPO, "q2", 11),
        (REPO, "kept", 13),
        (OTHER, "p2", 17),
    ] {
        add_pull_stats(raw, repo, tag, count).await?;
    }
    // Feature off: the tag closes, its statistics stay.
    stores
        .manifests
        .delete_tag(REPO, "p1", &deletion(ms(10), false, false))
        .await?;
    assert_eq!(raw.rows(REPO, "p1").await?, ends(&["10"]));
    // Feature on: only this repository's row of that tag goes.
    stores
        .manifests
        .delete_tag(REPO, "p2", &deletion(ms(20), true, false))
        .await?;
    assert_eq!(raw.rows(REPO, "p2").await?, ends(&["20"]));
    assert_eq!(
        pull_stats(raw).await?,
        ends(&["41/p1:3", "41/q1:7", "41/q2:11", "41/kept:13", "42/p2:17"])
    );
    // By digest: every tag of the manifest loses its row.
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(2), &deletion(ms(30), true, false))
        .await?;
    assert_eq!(names, Some(vec!["q1".to_owned(), "q2".to_owned()]));
    assert_eq!(
        pull_stats(raw).await?,
        ends(&["41/p1:3", "41/kept:13", "42/p2:17"])
    );
    Ok(())
}

/// The `tagnotificationsuccess` rows, `<tag> <end>` of the tag each names, by id.
async fn notified(raw: &Raw<'_>) -> Result<Vec<String>> {
    raw.texts(&format!(
        "SELECT t.name || ' ' || COALESCE(CAST(t.lifetime_end_ms - {t0} AS VARCHAR), 'alive') AS v \
         FROM tagnotificationsuccess s JOIN tag t ON t.id = s.tag_id ORDER BY s.id",
        t0 = ms(0)
    ))
    .await
}

/// A `repo_image_expiry` notification of `REPO` (email), already sent for the live `tags`.
async fn notify(raw: &Raw<'_>, tags: &[&str]) -> Result<()> {
    raw.execute(
        "INSERT INTO repositorynotification (uuid, repository_id, event_id, method_id, title, \
         config_json, event_config_json, number_of_failures) VALUES \
         ('4f1d7c9e-0000-4000-8000-000000000041', 41, \
          (SELECT id FROM externalnotificationevent WHERE name = 'repo_image_expiry'), \
          (SELECT id FROM externalnotificationmethod WHERE name = 'email'), \
          NULL, '{}', '{\"days\": 5}', 0)",
    )
    .await?;
    for tag in tags {
        raw.execute(&format!(
            "INSERT INTO tagnotificationsuccess (notification_id, tag_id, method_id) VALUES \
             ((SELECT id FROM repositorynotification \
               WHERE uuid = '4f1d7c9e-0000-4000-8000-000000000041'), \
              (SELECT id FROM tag WHERE repository_id = 41 AND name = '{tag}' \
               AND lifetime_end_ms IS NULL), \
              (SELECT id FROM externalnotificationmethod WHERE name = 'email'))"
        ))
        .await?;
    }
    Ok(())
}

async fn tag_notifications_deleted(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    commit(stores, &push(REPO, 3, &[], Some("n1"), None, ms(100))).await?;
    commit(stores, &push(REPO, 3, &[], Some("n2"), None, ms(100))).await?;
    commit(stores, &push(REPO, 4, &[], Some("n3"), None, ms(100))).await?;
    commit(stores, &push(REPO, 4, &[], Some("moved"), None, ms(100))).await?;
    notify(raw, &["n1", "n2", "n3", "moved"]).await?;
    // A push moving `moved` drops its rows (Quay's `retarget_tag`).
    commit(stores, &push(REPO, 5, &[], Some("moved"), None, ms(105))).await?;
    assert_eq!(raw.rows(REPO, "moved").await?, ends(&["105", "alive"]));
    assert_eq!(
        notified(raw).await?,
        ends(&["n1 alive", "n2 alive", "n3 alive"])
    );
    // Deleting a tag drops its rows, whatever the feature flags.
    stores
        .manifests
        .delete_tag(REPO, "n1", &deletion(ms(110), false, false))
        .await?;
    assert_eq!(notified(raw).await?, ends(&["n2 alive", "n3 alive"]));
    // By digest: every tag of the manifest.
    stores
        .manifests
        .delete_manifest_tags(REPO, &digest(3), &deletion(ms(120), false, false))
        .await?;
    assert_eq!(notified(raw).await?, ends(&["n3 alive"]));
    Ok(())
}

/// Children 11..15 pushed by digest, each kept by `$temp-<n>`; 13's never ends, 15's ended at
/// `T0 + 250`; 11 is also tagged `visible`. Index 20 lists 11, 12, 13 and 15; index 21 lists 14.
async fn lists(stores: &Stores) -> Result<()> {
    let hour = ms(200) + 3_600_000;
    commit(stores, &push(REPO, 11, &[], None, Some(hour), ms(200))).await?;
    commit(stores, &push(REPO, 11, &[], Some("visible"), None, ms(200))).await?;
    commit(stores, &push(REPO, 12, &[], None, Some(hour), ms(200))).await?;
    commit(stores, &push(REPO, 13, &[], None, None, ms(200))).await?;
    commit(stores, &push(REPO, 14, &[], None, Some(hour), ms(200))).await?;
    commit(stores, &push(REPO, 15, &[], None, Some(ms(250)), ms(200))).await?;
    // The same digest in another repository, with its own temporary tag.
    commit(stores, &push(OTHER, 12, &[], None, Some(hour), ms(200))).await?;
    commit(
        stores,
        &push(REPO, 20, &[11, 12, 13, 15], Some("l1"), None, ms(200)),
    )
    .await?;
    commit(stores, &push(REPO, 20, &[], Some("l2"), None, ms(200))).await?;
    commit(stores, &push(REPO, 21, &[14], Some("l3"), None, ms(200))).await
}

/// The rows of `$temp-11` .. `$temp-15`, `visible`, and `OTHER`'s `$temp-12`.
async fn children(raw: &Raw<'_>) -> Result<Vec<Vec<String>>> {
    let mut all = Vec::new();
    for name in [
        "$temp-11", "$temp-12", "$temp-13", "$temp-14", "$temp-15", "visible",
    ] {
        all.push(raw.rows(REPO, name).await?);
    }
    all.push(raw.rows(OTHER, "$temp-12").await?);
    Ok(all)
}

fn expect(items: &[&str]) -> Vec<Vec<String>> {
    items.iter().map(|s| ends(&[s])).collect()
}

async fn child_temp_tags_reset_with_the_key(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    lists(stores).await?;
    let untouched = expect(&[
        "3600200 hidden",
        "3600200 hidden",
        "alive hidden",
        "3600200 hidden",
        "250 hidden",
        "alive",
        "3600200 hidden",
    ]);
    assert_eq!(children(raw).await?, untouched);
    // Key off: the index's tag closes, its children keep their temporary tags.
    stores
        .manifests
        .delete_tag(REPO, "l1", &deletion(ms(300), false, false))
        .await?;
    assert_eq!(raw.rows(REPO, "l1").await?, ends(&["300"]));
    assert_eq!(children(raw).await?, untouched);
    // Key on: the children's later-ending `$temp-` tags close at the deletion; one that never
    // ends, one already ended, a visible tag and another repository's tag are left.
    stores
        .manifests
        .delete_tag(REPO, "l2", &deletion(ms(400), false, true))
        .await?;
    assert_eq!(
        children(raw).await?,
        expect(&[
            "400 hidden",
            "400 hidden",
            "alive hidden",
            "3600200 hidden",
            "250 hidden",
            "alive",
            "3600200 hidden",
        ])
    );
    // By digest, key on.
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(21), &deletion(ms(500), false, true))
        .await?;
    assert_eq!(names, Some(vec!["l3".to_owned()]));
    assert_eq!(raw.rows(REPO, "$temp-14").await?, ends(&["500 hidden"]));
    Ok(())
}

/// A refused deletion (immutable tag) writes none of the side effects.
async fn refusal_writes_nothing(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    commit(
        stores,
        &push(REPO, 16, &[], None, Some(ms(3_600_600)), ms(600)),
    )
    .await?;
    commit(
        stores,
        &push(REPO, 30, &[16], Some("locked"), None, ms(600)),
    )
    .await?;
    raw.execute("UPDATE tag SET immutable = TRUE WHERE repository_id = 41 AND name = 'locked'")
        .await?;
    add_pull_stats(raw, REPO, "locked", 19).await?;
    let refused = stores
        .manifests
        .delete_tag(REPO, "locked", &deletion(ms(700), true, true))
        .await;
    assert!(refused.is_err(), "an immutable tag refuses its deletion");
    assert_eq!(raw.rows(REPO, "locked").await?, ends(&["alive immutable"]));
    assert_eq!(raw.rows(REPO, "$temp-16").await?, ends(&["3600600 hidden"]));
    assert!(pull_stats(raw).await?.contains(&"41/locked:19".to_owned()));
    Ok(())
}

async fn scenario(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    pull_statistics_cleared_with_the_feature(stores, raw).await?;
    tag_notifications_deleted(stores, raw).await?;
    child_temp_tags_reset_with_the_key(stores, raw).await?;
    refusal_writes_nothing(stores, raw).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_deletion_side_effects_postgres() -> Result<()> {
    let pg = TestPg::with_accounts(SETUP).await?;
    let db = connect(support::settings(pg.target())).await?;
    scenario(&db.stores(), &Raw::Pg(&pg)).await
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_deletion_side_effects_sqlite() -> Result<()> {
    let file = TestSqlite::with_accounts(SETUP)?;
    let db = connect(support::settings(file.target())).await?;
    scenario(&db.stores(), &Raw::Sqlite(&file)).await
}
