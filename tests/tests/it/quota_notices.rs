//! `FEATURE_QUOTA_NOTIFICATIONS` on the real binary (mirror preset on SQLite): a blob upload
//! that reaches a quota threshold puts one `notification` queue item per channel of the
//! namespace (`namespacenotification`, seeded as Quay's API writes it), with Quay's body, once
//! per threshold within the cooldown; the administrators' `notification` rows are written as
//! without the flag.

use serde_json::Value;

use crate::quota::{QUOTA_DENIED, answer, image, len};
use crate::support::{Client, Db, SqliteMirror};

const KEYS: &str = "FEATURE_QUOTA_MANAGEMENT: true\nFEATURE_QUOTA_NOTIFICATIONS: true\n";

const CHANNELS: &str = "
INSERT INTO namespacenotification (uuid, namespace_id, event_id, method_id, title, config_json, event_config_json, number_of_failures) VALUES
 ('e2e-error-mail', (SELECT id FROM \"user\" WHERE username = 'admin'), (SELECT id FROM externalnotificationevent WHERE name = 'quota_error'), (SELECT id FROM externalnotificationmethod WHERE name = 'email'), NULL, '{}', '{}', 0),
 ('e2e-warning-hook', (SELECT id FROM \"user\" WHERE username = 'admin'), (SELECT id FROM externalnotificationevent WHERE name = 'quota_warning'), (SELECT id FROM externalnotificationmethod WHERE name = 'webhook'), NULL, '{}', '{}', 0);
";

impl Db {
    /// `queue_name` and body of every queue item, by id.
    fn queued(&self) -> Vec<(String, Value)> {
        self.sql("SELECT queue_name || '|' || body FROM queueitem ORDER BY id")
            .lines()
            .map(|l| {
                let (name, body) = l.split_once('|').expect("name|body");
                (
                    name.to_owned(),
                    serde_json::from_str(body).expect("JSON body"),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn mirror_sqlite_quota_notices() {
    let mirror = SqliteMirror::start(KEYS).await;
    let db = &mirror.db;
    let repo = "admin/noticed";
    let c = Client::login(
        &mirror.server.base,
        &mirror.host,
        &["repository:admin/noticed:pull,push"],
    )
    .await;
    let (layer, config_blob, manifest) = image(3, 4000);
    let size = len(&[&layer, &config_blob]);
    let pushed = c
        .push_image(repo, "v1", &[&config_blob, &layer], &manifest)
        .await;
    assert_eq!(pushed.status(), 201);
    assert_eq!(db.namespace_size("admin"), format!("{size},0,1"));
    db.sql(CHANNELS);
    let admin_id: i64 = db
        .sql("SELECT id FROM \"user\" WHERE username = 'admin'")
        .parse()
        .unwrap();

    // At the limit: refused, one item for the quota_error channel, once within the cooldown.
    db.set_quota("admin", size);
    for _ in 0..2 {
        let resp = c.start_upload(repo).await;
        assert_eq!(answer(resp).await, (403, QUOTA_DENIED.to_owned()));
    }
    let queued = db.queued();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (name, body) = &queued[0];
    assert_eq!(name, "notification/admin/quota_error/");
    assert_eq!(body["notification_uuid"], "e2e-error-mail");
    assert_eq!(body["notification_type"], "namespace");
    let event = &body["event_data"];
    assert_eq!(event["namespace"], "admin");
    assert!(
        event["homepage"]
            .as_str()
            .unwrap()
            .ends_with("/organization/admin"),
        "{event}"
    );
    assert_eq!(event["threshold_percent"], 100);
    assert_eq!(event["usage_bytes"], size);
    assert_eq!(event["limit_bytes"], size);
    assert_eq!(event["usage_percent"], 100);
    assert_eq!(
        event["usage_bytes_formatted"],
        format!("{:.2} KB", size as f64 / 1024.0)
    );
    assert_eq!(body["performer_data"]["entity_id"], admin_id);
    assert_eq!(body["performer_data"]["entity_name"], "admin");
    assert_eq!(
        db.sql(
            "SELECT threshold_percent || ',' || CASE WHEN cleared THEN 1 ELSE 0 END \
             FROM quotanotificationstate"
        ),
        "100,0"
    );
    // The administrators' notification is written as without the flag.
    assert_eq!(
        db.sql(
            "SELECT count(*) FROM notification WHERE kind_id = \
             (SELECT id FROM notificationkind WHERE name = 'quota_error')"
        ),
        "1"
    );

    // Between the warning (80 %) and the limit: the upload starts, the warning channel gets
    // its item.
    db.set_quota("admin", size + size / 10);
    let resp = c.start_upload(repo).await;
    assert_eq!(resp.status(), 202);
    let queued = db.queued();
    assert_eq!(queued.len(), 2, "{queued:?}");
    assert_eq!(queued[1].0, "notification/admin/quota_warning/");
    assert_eq!(queued[1].1["notification_uuid"], "e2e-warning-hook");
    assert_eq!(queued[1].1["event_data"]["threshold_percent"], 80);
    mirror.stop();
}
