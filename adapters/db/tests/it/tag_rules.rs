//! The rules Quay's `retarget_tag` and tag deletions apply under the `retarget_tag` lock, on
//! PostgreSQL and SQLite:
//! - cosign siblings (`sha256-<hex>.sig`, `.att`, `.sbom`) expire when the last visible,
//!   non-cosign tag leaves their manifest (`_expire_cosign_sibling_tags`): distinct ends, immutable
//!   ones kept, hidden and cosign-named tags never keeping the manifest;
//! - immutability policies are read inside the push transaction (a policy committed while the
//!   push waits for the lock applies), with the expiry and `tag_made_immutable_by_policy` rules.

use std::time::Duration as StdDuration;

use anyhow::{Result, ensure};
use chrono::{DateTime, TimeZone, Utc};
use quay_adapter_db::{Stores, connect};
use quay_domain::repository::RepositoryId;
use quay_ports::store::{
    AuditEntry, ManifestPush, ManifestStoreError, PolicyCheck, TagDeletion, TagMove, TempTag,
};

use crate::support::{self, Raw, TestPg, TestSqlite};

/// A repository of `admin` (user 1) and one of `testorg` (user 2).
const REPO: RepositoryId = RepositoryId(31);
const ORG_REPO: RepositoryId = RepositoryId(32);
const LOCK: i64 = 0x5eed_0000_0031;

const SETUP: &str = "
INSERT INTO repository (id, namespace_user_id, name, visibility_id, description, badge_token, kind_id, trust_enabled, state) VALUES
 (31, 1, 'signed', 2, NULL, 'c1', 1, FALSE, 0),
 (32, 2, 'policed', 2, NULL, 'c2', 1, FALSE, 0);
";

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time")
}

/// `T0 + ms`, the milliseconds every write of a scenario uses.
pub(crate) fn ms(offset: i64) -> i64 {
    at().timestamp_millis() + offset
}

fn hex(n: u32) -> String {
    format!("{n:064x}")
}

pub(crate) fn digest(n: u32) -> String {
    format!("sha256:{}", hex(n))
}

/// The cosign tag `suffix` of manifest `n`.
fn sibling(n: u32, suffix: &str) -> String {
    format!("sha256-{}.{suffix}", hex(n))
}

/// A move of the mutable tag `name` at `now_ms` under `lock_id`, refused on an immutable tag.
pub(crate) fn tag_move(name: &str, now_ms: i64, lock_id: i64) -> TagMove {
    TagMove {
        name: name.to_owned(),
        now_ms,
        lock_id,
        end_ms: None,
        immutable: false,
        refuse_immutable: true,
        policy_audit: None,
    }
}

fn push(repo: RepositoryId, m: u32, tag: Option<&str>, now_ms: i64) -> ManifestPush {
    ManifestPush {
        repository: repo,
        digest: digest(m),
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        bytes: format!("{{\"m\": {m}}}"),
        config_media_type: Some("application/vnd.oci.image.config.v1+json".into()),
        layers_compressed_size: None,
        subject: None,
        artifact_type: None,
        blob_digests: Vec::new(),
        child_digests: Vec::new(),
        optional_children: Vec::new(),
        labels: Vec::new(),
        now: at(),
        tag: tag.map(|t| tag_move(t, now_ms, LOCK)),
        temp_tag: tag.is_none().then(|| TempTag {
            name: format!("$temp-{m}"),
            now_ms,
            end_ms: Some(now_ms + 3_600_000),
        }),
        audit: None,
        quota: Default::default(),
    }
}

fn deletion(now_ms: i64) -> TagDeletion {
    TagDeletion {
        now_ms,
        lock_id: LOCK,
        refuse_immutable: true,
        clear_pull_statistics: false,
        reset_child_expiration: false,
    }
}

impl Raw<'_> {
    /// Every row named `name` in `repo`, by id: `end` (`alive` when open), then ` immutable`
    /// or ` hidden` when set.
    pub(crate) async fn rows(&self, repo: RepositoryId, name: &str) -> Result<Vec<String>> {
        self.texts(&format!(
            "SELECT COALESCE(CAST(lifetime_end_ms - {t0} AS VARCHAR), 'alive') \
             || CASE WHEN immutable THEN ' immutable' ELSE '' END \
             || CASE WHEN hidden THEN ' hidden' ELSE '' END AS v \
             FROM tag WHERE repository_id = {} AND name = '{name}' ORDER BY id",
            repo.0,
            t0 = ms(0),
        ))
        .await
    }
}

/// `rows` expected: ends relative to `T0`.
pub(crate) fn ends(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

async fn commit(stores: &Stores, p: &ManifestPush) -> Result<()> {
    stores.manifests.commit_manifest_push(p).await?;
    Ok(())
}

async fn cosign_on_retarget(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Image 1 tagged `v1`, with a signature, an attestation and an immutable SBOM; manifests
    // 101..103 are what cosign would push under those tags.
    commit(stores, &push(REPO, 1, Some("v1"), ms(0))).await?;
    commit(stores, &push(REPO, 101, Some(&sibling(1, "sig")), ms(1))).await?;
    commit(stores, &push(REPO, 102, Some(&sibling(1, "att")), ms(2))).await?;
    commit(stores, &push(REPO, 103, Some(&sibling(1, "sbom")), ms(3))).await?;
    raw.execute(&format!(
        "UPDATE tag SET immutable = TRUE WHERE name = '{}'",
        sibling(1, "sbom")
    ))
    .await?;
    // Re-pushing the same manifest under `v1` leaves the siblings.
    commit(stores, &push(REPO, 1, Some("v1"), ms(10))).await?;
    assert_eq!(raw.rows(REPO, &sibling(1, "sig")).await?, ends(&["alive"]));
    // Retarget `v1` to image 2: the mutable siblings close at distinct ends, the SBOM stays.
    commit(stores, &push(REPO, 2, Some("v1"), ms(20))).await?;
    assert_eq!(raw.rows(REPO, "v1").await?, ends(&["10", "20", "alive"]));
    assert_eq!(raw.rows(REPO, &sibling(1, "sig")).await?, ends(&["20"]));
    assert_eq!(raw.rows(REPO, &sibling(1, "att")).await?, ends(&["19"]));
    assert_eq!(
        raw.rows(REPO, &sibling(1, "sbom")).await?,
        ends(&["alive immutable"])
    );

    // Image 3 under `a` and `b`: moving `a` keeps its signature, `b` still shows the image.
    commit(stores, &push(REPO, 3, Some("a"), ms(30))).await?;
    commit(stores, &push(REPO, 3, Some("b"), ms(30))).await?;
    commit(stores, &push(REPO, 103, Some(&sibling(3, "sig")), ms(31))).await?;
    commit(stores, &push(REPO, 2, Some("a"), ms(40))).await?;
    assert_eq!(raw.rows(REPO, &sibling(3, "sig")).await?, ends(&["alive"]));
    // Re-signing at the deletion's millisecond leaves a closed row ending there: the sibling
    // steps down one millisecond past it.
    commit(stores, &push(REPO, 104, Some(&sibling(3, "sig")), ms(50))).await?;
    let deleted = stores
        .manifests
        .delete_tag(REPO, "b", &deletion(ms(50)))
        .await?;
    assert_eq!(deleted, Some(digest(3)));
    assert_eq!(
        raw.rows(REPO, &sibling(3, "sig")).await?,
        ends(&["50", "49"])
    );

    Ok(())
}

async fn cosign_on_delete(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    // Image 4 under `d`, also kept by a hidden `$temp-` tag and a cosign-named tag: neither
    // keeps its siblings once `d` is deleted.
    commit(stores, &push(REPO, 4, None, ms(60))).await?;
    commit(stores, &push(REPO, 4, Some("d"), ms(60))).await?;
    commit(stores, &push(REPO, 4, Some(&sibling(99, "att")), ms(60))).await?;
    commit(stores, &push(REPO, 105, Some(&sibling(4, "sbom")), ms(61))).await?;
    raw.execute(&format!(
        "UPDATE tag SET hidden = TRUE WHERE name = '{}'",
        sibling(4, "sbom")
    ))
    .await?;
    stores
        .manifests
        .delete_tag(REPO, "d", &deletion(ms(70)))
        .await?;
    assert_eq!(raw.rows(REPO, "$temp-4").await?, ends(&["3600060 hidden"]));
    assert_eq!(raw.rows(REPO, &sibling(99, "att")).await?, ends(&["alive"]));
    assert_eq!(
        raw.rows(REPO, &sibling(4, "sbom")).await?,
        ends(&["70 hidden"])
    );

    // Deleting a cosign-named tag, or a manifest only cosign-named tags hold, cascades nowhere:
    // manifest 4's `sha256-<99>.att` goes, manifest 104's own sibling stays.
    commit(stores, &push(REPO, 106, Some(&sibling(104, "sig")), ms(71))).await?;
    stores
        .manifests
        .delete_tag(REPO, &sibling(99, "att"), &deletion(ms(80)))
        .await?;
    assert_eq!(raw.rows(REPO, &sibling(99, "att")).await?, ends(&["80"]));
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(104), &deletion(ms(80)))
        .await?;
    assert_eq!(names, Some(Vec::new()));
    commit(stores, &push(REPO, 104, Some(&sibling(5, "sig")), ms(81))).await?;
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(104), &deletion(ms(82)))
        .await?;
    assert_eq!(names, Some(vec![sibling(5, "sig")]));
    assert_eq!(
        raw.rows(REPO, &sibling(104, "sig")).await?,
        ends(&["alive"])
    );

    // A manifest only a hidden tag holds: deleting it by digest closes that tag (quay-rs's
    // OCI difference) but, like Quay, which deletes nothing there, expires no sibling.
    commit(stores, &push(REPO, 7, None, ms(90))).await?;
    commit(stores, &push(REPO, 107, Some(&sibling(7, "sig")), ms(90))).await?;
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(7), &deletion(ms(91)))
        .await?;
    assert_eq!(names, Some(vec!["$temp-7".to_owned()]));
    assert_eq!(raw.rows(REPO, &sibling(7, "sig")).await?, ends(&["alive"]));

    // By digest with visible tags: every tag closes, then the siblings once, at `now`.
    commit(stores, &push(REPO, 8, Some("e1"), ms(100))).await?;
    commit(stores, &push(REPO, 8, Some("e2"), ms(100))).await?;
    commit(stores, &push(REPO, 108, Some(&sibling(8, "sig")), ms(100))).await?;
    commit(stores, &push(REPO, 109, Some(&sibling(8, "att")), ms(100))).await?;
    let names = stores
        .manifests
        .delete_manifest_tags(REPO, &digest(8), &deletion(ms(110)))
        .await?;
    assert_eq!(names, Some(vec!["e1".to_owned(), "e2".to_owned()]));
    assert_eq!(raw.rows(REPO, &sibling(8, "sig")).await?, ends(&["110"]));
    assert_eq!(raw.rows(REPO, &sibling(8, "att")).await?, ends(&["109"]));

    // An immutable image tag refuses its deletion, siblings included.
    commit(stores, &push(REPO, 9, Some("locked"), ms(120))).await?;
    commit(stores, &push(REPO, 110, Some(&sibling(9, "sig")), ms(120))).await?;
    raw.execute("UPDATE tag SET immutable = TRUE WHERE name = 'locked'")
        .await?;
    let refused = stores
        .manifests
        .delete_tag(REPO, "locked", &deletion(ms(130)))
        .await;
    assert!(matches!(refused, Err(ManifestStoreError::TagImmutable(_))));
    assert_eq!(raw.rows(REPO, &sibling(9, "sig")).await?, ends(&["alive"]));
    Ok(())
}

fn policy_entry(repo: RepositoryId, account: i64, tag: &str) -> AuditEntry {
    AuditEntry {
        kind: "tag_made_immutable_by_policy".into(),
        account_id: account,
        performer_id: None,
        repository_id: Some(repo.0),
        datetime: at(),
        ip: None,
        metadata_json: format!("{{\"tag\": \"{tag}\"}}"),
    }
}

/// A push of `tag` expiring at `T0 + 1h`, with the policies applied.
fn policed(m: u32, tag: &str, now_ms: i64, can_expire: bool) -> ManifestPush {
    let mut p = push(ORG_REPO, m, Some(tag), now_ms);
    if let Some(t) = p.tag.as_mut() {
        t.end_ms = Some(now_ms + 3_600_000);
        t.policy_audit = Some(PolicyCheck {
            immutable_can_expire: can_expire,
            audit: policy_entry(ORG_REPO, 2, tag),
        });
    }
    p
}

async fn policy_entries(raw: &Raw<'_>) -> Result<Vec<String>> {
    raw.texts(
        "SELECT l.metadata_json AS v FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id \
         WHERE k.name = 'tag_made_immutable_by_policy' ORDER BY l.id",
    )
    .await
}

async fn policy_scenario(stores: &Stores, raw: &Raw<'_>) -> Result<()> {
    raw.execute(
        "INSERT INTO repositoryimmutabilitypolicy (uuid, repository_id, namespace_id, policy) VALUES \
         ('6b0c5a8e-0000-4000-8000-000000000001', 32, 2, '{\"tag_pattern\": \"v[0-9]+\"}');
         INSERT INTO namespaceimmutabilitypolicy (uuid, namespace_id, policy) VALUES \
         ('6b0c5a8e-0000-4000-8000-000000000002', 2, '{\"tag_pattern\": \"dev-.*\", \"tag_pattern_matches\": false}');",
    )
    .await?;
    // The repository's policy: immutable, expiry dropped, the entry logged.
    commit(stores, &policed(1, "v1", ms(0), false)).await?;
    assert_eq!(raw.rows(ORG_REPO, "v1").await?, ends(&["alive immutable"]));
    // The namespace's inverted policy: `release` does not match `dev-.*`, so it is immutable
    // and, with FEATURE_IMMUTABLE_TAGS_CAN_EXPIRE, keeps its expiry.
    commit(stores, &policed(1, "release", ms(0), true)).await?;
    assert_eq!(
        raw.rows(ORG_REPO, "release").await?,
        ends(&["3600000 immutable"])
    );
    // No policy applies: mutable, expiring, nothing logged.
    commit(stores, &policed(1, "dev-1", ms(0), false)).await?;
    assert_eq!(raw.rows(ORG_REPO, "dev-1").await?, ends(&["3600000"]));
    // Without FEATURE_IMMUTABLE_TAGS no policy is read.
    commit(stores, &push(ORG_REPO, 1, Some("v2"), ms(0))).await?;
    assert_eq!(raw.rows(ORG_REPO, "v2").await?, ends(&["alive"]));
    assert_eq!(
        policy_entries(raw).await?,
        ends(&["{\"tag\": \"v1\"}", "{\"tag\": \"release\"}"])
    );
    // The policy-made immutable tag now refuses a move.
    let refused = stores
        .manifests
        .commit_manifest_push(&policed(2, "v1", ms(10), false))
        .await;
    assert!(matches!(refused, Err(ManifestStoreError::TagImmutable(t)) if t == "v1"));
    assert_eq!(raw.rows(ORG_REPO, "v1").await?, ends(&["alive immutable"]));
    // A policy deleted before the push no longer applies.
    raw.execute("DELETE FROM namespaceimmutabilitypolicy")
        .await?;
    commit(stores, &policed(1, "release2", ms(20), false)).await?;
    assert_eq!(raw.rows(ORG_REPO, "release2").await?, ends(&["3600020"]));
    ensure!(
        raw.scalar("SELECT COUNT(*) FROM tag WHERE repository_id = 32 AND immutable")
            .await?
            == 2,
        "only v1 and release are immutable"
    );
    Ok(())
}

/// A policy committed while a push waits for the retarget lock applies to it: the push reads
/// the policies under the lock, not before (PostgreSQL, where the lock is an advisory lock).
async fn policy_race_postgres(stores: &Stores, pg: &TestPg) -> Result<()> {
    let holder = support::connect_raw(&pg.url).await?;
    holder
        .batch_execute(&format!("BEGIN; SELECT pg_advisory_xact_lock({LOCK})"))
        .await?;
    let pushed = {
        let stores = stores.clone();
        tokio::spawn(async move {
            stores
                .manifests
                .commit_manifest_push(&policed(3, "late", ms(200), false))
                .await
        })
    };
    let watcher = support::connect_raw(&pg.url).await?;
    let mut waited = 0;
    loop {
        let row = watcher
            .query_one(
                "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted \
                 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await?;
        if row.get::<_, i64>(0) >= 1 {
            break;
        }
        waited += 1;
        ensure!(waited < 500, "the push never waited for the retarget lock");
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    // The push has begun its transaction and waits; a policy arrives, then the lock frees.
    watcher
        .batch_execute(
            "INSERT INTO repositoryimmutabilitypolicy (uuid, repository_id, namespace_id, policy) \
             VALUES ('6b0c5a8e-0000-4000-8000-000000000003', 32, 2, '{\"tag_pattern\": \"late\"}')",
        )
        .await?;
    holder.batch_execute("COMMIT").await?;
    pushed.await??;
    let raw = Raw::Pg(pg);
    assert_eq!(
        raw.rows(ORG_REPO, "late").await?,
        ends(&["alive immutable"])
    );
    ensure!(
        policy_entries(&raw)
            .await?
            .contains(&"{\"tag\": \"late\"}".to_owned()),
        "tag_made_immutable_by_policy logged for `late`"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn cosign_siblings_and_policies_postgres() -> Result<()> {
    let pg = TestPg::with_accounts(SETUP).await?;
    let db = connect(support::settings(pg.target())).await?;
    let stores = db.stores();
    let raw = Raw::Pg(&pg);
    cosign_on_retarget(&stores, &raw).await?;
    cosign_on_delete(&stores, &raw).await?;
    policy_scenario(&stores, &raw).await?;
    policy_race_postgres(&stores, &pg).await
}

#[tokio::test(flavor = "multi_thread")]
async fn cosign_siblings_and_policies_sqlite() -> Result<()> {
    let file = TestSqlite::with_accounts(SETUP)?;
    let db = connect(support::settings(file.target())).await?;
    let stores = db.stores();
    let raw = Raw::Sqlite(&file);
    cosign_on_retarget(&stores, &raw).await?;
    cosign_on_delete(&stores, &raw).await?;
    policy_scenario(&stores, &raw).await
}
