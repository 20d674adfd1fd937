//! Namespace quota on the `/v2` push path, on the real binary (mirror preset on SQLite,
//! standalone on PostgreSQL), with `FEATURE_QUOTA_MANAGEMENT` on and the quota rows seeded
//! directly, as Quay's API would write them:
//! - the sizes Python Quay's `update_sizes` writes (`quotanamespacesize`, `quotarepositorysize`:
//!   unique blob bytes, inserted complete by the first push);
//! - a manifest push over a `Reject` limit: `DENIED` 403 "Quota has been exceeded on
//!   namespace", the manifest kept under an expired hidden `$temp-` tag, no tag moved, no
//!   `push_repo` entry, a `quota_error` notification for the organization's administrators;
//! - blob `POST` and chunk `PATCH` refusals (the upload is cancelled), `quota_warning`
//!   notifications, `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES` for a namespace without a quota;
//! - nothing stored before is lost, and tag deletion leaves the sizes alone (Quay subtracts
//!   when garbage collection removes a manifest).

use serde_json::{Value, json};

use crate::support::{
    Client, Db, OCI_MANIFEST, PASSWORD, PgDatabase, SqliteMirror, image_manifest, server_keys,
    sha256, start_standalone,
};

pub(crate) const QUOTA_DENIED: &str = r#"{"errors":[{"code":"DENIED","detail":{},"message":"Quota has been exceeded on namespace"}]}"#;

impl Db {
    /// `size,backfill_start_ms,complete` of a size row (empty when missing).
    pub(crate) fn namespace_size(&self, namespace: &str) -> String {
        self.sql(&format!(
            "SELECT size_bytes || ',' || coalesce(backfill_start_ms, -1) || ',' || \
             CASE WHEN backfill_complete THEN 1 ELSE 0 END FROM quotanamespacesize \
             WHERE namespace_user_id = (SELECT id FROM \"user\" WHERE username = '{namespace}')"
        ))
    }

    fn repository_size(&self, namespace: &str, repo: &str) -> String {
        self.sql(&format!(
            "SELECT size_bytes || ',' || coalesce(backfill_start_ms, -1) || ',' || \
             CASE WHEN backfill_complete THEN 1 ELSE 0 END FROM quotarepositorysize \
             WHERE repository_id = (SELECT r.id FROM repository r JOIN \"user\" u \
             ON u.id = r.namespace_user_id WHERE u.username = '{namespace}' AND r.name = '{repo}')"
        ))
    }

    /// `(kind, target, metadata_json)` of every notification, by id.
    fn notifications(&self) -> Vec<String> {
        let out = self.sql(
            "SELECT k.name || '|' || u.username || '|' || n.metadata_json FROM notification n \
             JOIN notificationkind k ON k.id = n.kind_id JOIN \"user\" u ON u.id = n.target_id \
             ORDER BY n.id",
        );
        out.lines().map(str::to_owned).collect()
    }

    pub(crate) fn set_quota(&self, namespace: &str, limit_bytes: u64) {
        self.sql(&format!(
            "DELETE FROM quotalimits; DELETE FROM userorganizationquota;
             INSERT INTO userorganizationquota (namespace_id, limit_bytes) VALUES
              ((SELECT id FROM \"user\" WHERE username = '{namespace}'), {limit_bytes});
             INSERT INTO quotalimits (quota_id, quota_type_id, percent_of_limit) VALUES
              ((SELECT max(id) FROM userorganizationquota), (SELECT id FROM quotatype WHERE name = 'Warning'), 80),
              ((SELECT max(id) FROM userorganizationquota), (SELECT id FROM quotatype WHERE name = 'Reject'), 100);"
        ));
    }
}

/// Status and compact body (the error envelope re-serialised with sorted keys).
pub(crate) async fn answer(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str::<Value>(&text).map_or(text, |v| v.to_string());
    (status, body)
}

/// An image: a layer of `n` bytes and a config naming it; returns `(layer, config, manifest)`.
pub(crate) fn image(seed: u32, n: u32) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let layer: Vec<u8> = (0..n).map(|i| ((i * 7 + seed * 13) % 251) as u8).collect();
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
        "history": [{"created": "2026-11-27T00:00:00Z", "created_by": format!("quota e2e {seed}")}],
    }))
    .expect("JSON");
    let manifest = image_manifest(&config, &layer);
    (layer, config, manifest)
}

pub(crate) fn len(parts: &[&[u8]]) -> u64 {
    parts.iter().map(|p| p.len() as u64).sum()
}

#[expect(clippy::too_many_lines, reason = "one quota session, step by step")]
async fn scenario(base: &str, service: &str, db: &Db) {
    let repo = "quotaorg/app";
    let c = Client::login(
        base,
        service,
        &[
            "repository:quotaorg/app:pull,push",
            "repository:quotaorg/other:pull,push",
            "repository:admin/solo:pull,push",
        ],
    )
    .await;
    let (layer1, config1, manifest1) = image(1, 4000);
    let (layer2, config2, manifest2) = image(2, 4000);
    let s1 = len(&[&layer1, &config1]);
    let s2 = s1 + len(&[&layer2, &config2]);

    // The first push of the namespace inserts both size rows, complete.
    let pushed = c
        .push_image(repo, "v1", &[&config1, &layer1], &manifest1)
        .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s1},0,1"));
    assert_eq!(db.repository_size("quotaorg", "app"), format!("{s1},0,1"));
    // Another repository with the same layer: the namespace counts it once.
    let other = "quotaorg/other";
    let pushed = c
        .push_image(other, "v1", &[&config1, &layer1], &manifest1)
        .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s1},0,1"));
    assert_eq!(db.repository_size("quotaorg", "other"), format!("{s1},0,1"));

    // A quota one byte short of the second image: its blobs go in (the namespace is under the
    // limit), its manifest is refused after being counted.
    db.set_quota("quotaorg", s2 - 1);
    assert_eq!(c.monolithic(repo, &config2).await.status(), 201);
    assert_eq!(c.monolithic(repo, &layer2).await.status(), 201);
    let refused = answer(c.put_manifest(repo, "v2", OCI_MANIFEST, &manifest2).await).await;
    assert_eq!(refused, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));
    assert_eq!(db.repository_size("quotaorg", "app"), format!("{s2},0,1"));
    let digest2 = sha256(&manifest2);
    assert_eq!(
        db.sql(&format!(
            "SELECT CASE WHEN t.name LIKE '$temp-%' AND t.hidden AND t.lifetime_end_ms = 0 \
             THEN 'expired hidden' ELSE t.name END \
             FROM tag t JOIN manifest m ON m.id = t.manifest_id WHERE m.digest = '{digest2}'"
        )),
        "expired hidden"
    );
    assert_eq!(
        db.sql("SELECT count(*) FROM tag WHERE name = 'v2'"),
        "0",
        "no tag moved"
    );
    assert_eq!(
        db.sql(
            "SELECT count(*) FROM logentry3 WHERE kind_id = \
             (SELECT id FROM logentrykind WHERE name = 'push_repo')"
        ),
        "2",
        "only the accepted pushes are logged"
    );
    let get = c
        .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/v2"))
        .header("Accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 404);
    assert_eq!(
        db.notifications(),
        vec![r#"quota_error|admin|{"namespace": "quotaorg"}"#.to_owned()]
    );

    // At the limit, uploads are refused at POST (before any mount), once notified.
    for _ in 0..2 {
        let resp = c.start_upload(repo).await;
        assert_eq!(answer(resp).await, (403, QUOTA_DENIED.to_owned()));
    }
    let mount = c
        .req(
            reqwest::Method::POST,
            &format!(
                "/v2/{repo}/blobs/uploads/?mount={}&from=quotaorg/other",
                sha256(&layer1)
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer(mount).await, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(
        db.notifications(),
        vec![
            r#"quota_error|admin|{"namespace": "quotaorg"}"#.to_owned(),
            r#"quota_error|admin|{"severity": "Reject", "namespace": "quotaorg"}"#.to_owned(),
        ]
    );

    // Room for 100 more bytes: a chunked upload starts and takes a first chunk of 150 bytes;
    // the next chunk counts the upload's bytes and is refused, and the upload is gone.
    db.set_quota("quotaorg", s2 + 100);
    let start = c.start_upload(repo).await;
    assert_eq!(start.status(), 202);
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let patch = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "0-149")
        .body(vec![7u8; 150])
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 202);
    let location = patch.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(db.sql("SELECT count(*) FROM blobupload"), "1");
    let patch = c
        .req(reqwest::Method::PATCH, &location)
        .header("Content-Range", "150-299")
        .body(vec![8u8; 150])
        .send()
        .await
        .unwrap();
    assert_eq!(answer(patch).await, (403, QUOTA_DENIED.to_owned()));
    assert_eq!(db.sql("SELECT count(*) FROM blobupload"), "0");
    let status = c.req(reqwest::Method::GET, &location).send().await.unwrap();
    assert_eq!(status.status(), 404);

    // Between 80 % and 100 %: pushes go through with a warning to the administrators. The
    // manifest refused before is already counted: tagging it now adds nothing.
    db.set_quota("quotaorg", s2 + 1000);
    assert_eq!(
        c.put_manifest(repo, "v2", OCI_MANIFEST, &manifest2)
            .await
            .status(),
        201
    );
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));
    assert_eq!(
        db.notifications().last().map(String::as_str),
        Some(r#"quota_warning|admin|{"namespace": "quotaorg"}"#)
    );
    assert_eq!(
        c.put_manifest(repo, "v3", OCI_MANIFEST, &manifest1)
            .await
            .status(),
        201
    );
    assert_eq!(db.notifications().len(), 3, "one warning per administrator");

    // Nothing stored before is lost.
    for (tag, manifest) in [("v1", &manifest1), ("v2", &manifest2)] {
        let got = c
            .req(reqwest::Method::GET, &format!("/v2/{repo}/manifests/{tag}"))
            .header("Accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.bytes().await.unwrap().as_ref(), manifest.as_slice());
    }
    let got = c
        .req(
            reqwest::Method::GET,
            &format!("/v2/{repo}/blobs/{}", sha256(&layer1)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), layer1.as_slice());

    // Deleting a tag leaves the sizes to garbage collection.
    let deleted = c
        .req(reqwest::Method::DELETE, &format!("/v2/{repo}/manifests/v3"))
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert_eq!(db.namespace_size("quotaorg"), format!("{s2},0,1"));

    // A namespace without a quota falls under DEFAULT_SYSTEM_REJECT_QUOTA_BYTES (6000 here):
    // the first image fits, the second is refused at its manifest, then at the next upload.
    let solo = "admin/solo";
    let pushed = c
        .push_image(solo, "v1", &[&config1, &layer1], &manifest1)
        .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(c.monolithic(solo, &config2).await.status(), 201);
    assert_eq!(c.monolithic(solo, &layer2).await.status(), 201);
    assert_eq!(
        answer(c.put_manifest(solo, "v2", OCI_MANIFEST, &manifest2).await).await,
        (403, QUOTA_DENIED.to_owned())
    );
    assert_eq!(db.namespace_size("admin"), format!("{s2},0,1"));
    assert_eq!(
        answer(c.monolithic(solo, b"more").await).await,
        (403, QUOTA_DENIED.to_owned())
    );
    // A manifest pushed by digest (a list's child) is counted, never refused.
    let child: Value = serde_json::from_slice(&manifest2).unwrap();
    let mut child = child;
    child["config"] = json!({"mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256(&config1), "size": config1.len()});
    let child = serde_json::to_vec(&child).unwrap();
    let by_digest = c
        .put_manifest(solo, &sha256(&child), OCI_MANIFEST, &child)
        .await;
    assert_eq!(by_digest.status(), 201);
    assert_eq!(db.namespace_size("admin"), format!("{s2},0,1"));
    assert_eq!(
        db.notifications()[3..],
        [
            r#"quota_error|admin|{"namespace": "admin"}"#.to_owned(),
            r#"quota_error|admin|{"severity": "Reject", "namespace": "admin"}"#.to_owned(),
        ]
    );
}

const QUOTA_KEYS: &str = "FEATURE_QUOTA_MANAGEMENT: true\nDEFAULT_SYSTEM_REJECT_QUOTA_BYTES: 6000\n\
                          CREATE_NAMESPACE_ON_PUSH: true\n";

#[tokio::test]
async fn mirror_sqlite_quota() {
    let mirror = SqliteMirror::start(QUOTA_KEYS).await;
    scenario(&mirror.server.base, &mirror.host, &mirror.db).await;
    mirror.stop();
}

#[tokio::test]
async fn standalone_postgres_quota() {
    let dir = tempfile::tempdir().unwrap();
    let pg = PgDatabase::create("e2e_quota");
    let extra = server_keys("registry.example.com", "http") + QUOTA_KEYS;
    let mut server = start_standalone(dir.path(), &pg, &extra, PASSWORD).await;
    scenario(&server.base, "registry.example.com", &pg.db()).await;
    assert!(server.terminate().unwrap().success(), "{}", server.output());
    pg.drop_database();
}
