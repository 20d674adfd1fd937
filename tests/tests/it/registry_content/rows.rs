//! The database rows of a push session, compared with the shapes Python Quay writes (the
//! reference `oracle_registry_rows_postgres.sql`).

use super::{Db, OCI_MANIFEST, sha256};

/// The rows, compared with the shapes Python Quay writes (reference
/// `oracle_registry_rows_postgres.sql`).
pub(super) async fn rows(db: &Db, oci: &[u8], layer: &[u8], config: &[u8]) {
    let t = db.bool_true();
    let repo = "(SELECT r.id FROM repository r JOIN \"user\" u ON u.id = r.namespace_user_id WHERE u.username = 'admin' AND r.name = 'hello')";
    // repository + side rows of create_repository.
    assert_eq!(
        db.sql(&format!(
            "SELECT v.name, k.name, r.state, length(r.badge_token) FROM repository r JOIN visibility v ON v.id = r.visibility_id \
             JOIN repositorykind k ON k.id = r.kind_id WHERE r.id = {repo}"
        )),
        "private|image|0|36"
    );
    assert_eq!(db.sql(&format!("SELECT count, score FROM repositoryactioncount a JOIN repositorysearchscore s ON s.repository_id = a.repository_id WHERE a.repository_id = {repo}")), "0|0");
    assert_eq!(
        db.sql(&format!("SELECT ro.name, u.username FROM repositorypermission p JOIN role ro ON ro.id = p.role_id JOIN \"user\" u ON u.id = p.user_id WHERE p.repository_id = {repo}")),
        "admin|admin"
    );
    // imagestorage: uploading and cas_path true, size recorded, one placement at `local`/`default`.
    assert_eq!(
        db.sql(&format!(
            "SELECT s.image_size, s.uploading, s.cas_path, length(s.uuid), count(p.id) FROM imagestorage s \
             JOIN imagestorageplacement p ON p.storage_id = s.id WHERE s.content_checksum = '{}' GROUP BY s.id",
            sha256(layer)
        )),
        format!("{}|{t}|{t}|36|1", layer.len())
    );
    // The manifest row: bytes in the database, backfill flags, media type by name.
    assert_eq!(
        db.sql(&format!(
            "SELECT mt.name, m.config_media_type, m.layers_compressed_size, m.subject IS NULL, m.subject_backfilled, \
             m.artifact_type_backfilled, m.manifest_bytes = '{}' FROM manifest m JOIN mediatype mt ON mt.id = m.media_type_id \
             WHERE m.repository_id = {repo} AND m.digest = '{}'",
            String::from_utf8_lossy(oci),
            sha256(oci)
        )),
        format!("{OCI_MANIFEST}|application/vnd.oci.image.config.v1+json|{}|{t}|{t}|{t}|{t}", layer.len())
    );
    // manifestblob: config and layer, ascending storage id.
    assert_eq!(
        db.sql(&format!(
            "SELECT s.content_checksum FROM manifestblob b JOIN manifest m ON m.id = b.manifest_id \
             JOIN imagestorage s ON s.id = b.blob_id WHERE m.digest = '{}' AND m.repository_id = {repo} ORDER BY b.blob_id",
            sha256(oci)
        )),
        format!("{}\n{}", sha256(config), sha256(layer))
    );
    assert_eq!(db.sql("SELECT count(*) FROM manifestchild"), "1");
    // Labels from the config, once per new manifest (OCI and schema 2 share the config).
    assert_eq!(
        db.sql(&format!(
            "SELECT l.key, l.value, mt.name, st.name, count(*) FROM manifestlabel ml JOIN label l ON l.id = ml.label_id \
             JOIN mediatype mt ON mt.id = l.media_type_id JOIN labelsourcetype st ON st.id = l.source_type_id \
             WHERE ml.repository_id = {repo} AND l.key = 'org.example.e2e' GROUP BY l.key, l.value, mt.name, st.name"
        )),
        "org.example.e2e|true|text/plain|manifest|6"
    );
    // Tags: latest has two lifetime rows (the first closed), v2s2 closed, hidden $temp- tags
    // for the manifests pushed by digest (the artifact's without expiry).
    assert_eq!(
        db.sql(&format!("SELECT count(*), count(lifetime_end_ms) FROM tag WHERE repository_id = {repo} AND name = 'latest'")),
        "2|1"
    );
    assert_eq!(
        db.sql(&format!("SELECT count(*) FROM tag WHERE repository_id = {repo} AND name = 'v2s2' AND lifetime_end_ms IS NOT NULL")),
        "1"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT count(*), count(lifetime_end_ms) FROM tag WHERE repository_id = {repo} AND hidden AND name LIKE '$temp-%'"
        )),
        "2|1"
    );
    assert_eq!(
        db.sql(&format!("SELECT count(*) FROM tag t JOIN tagkind k ON k.id = t.tag_kind_id WHERE t.repository_id = {repo} AND k.name <> 'tag'")),
        "0"
    );
    // uploadedblob links expire an hour after the upload.
    let expiry = match db {
        Db::Sqlite(_) => {
            "CAST(round((julianday(expires_at) - julianday(uploaded_at)) * 86400) AS INTEGER)"
        }
        Db::Postgres(_) => "CAST(round(extract(epoch FROM expires_at - uploaded_at)) AS INTEGER)",
    };
    assert_eq!(
        db.sql(&format!(
            "SELECT DISTINCT {expiry} FROM uploadedblob WHERE repository_id = {repo}"
        )),
        "3600"
    );
    // The action log: push_repo with Quay's metadata.
    let push = db.sql(&format!(
        "SELECT l.metadata_json FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE k.name = 'push_repo' \
         AND l.repository_id = {repo} ORDER BY l.id LIMIT 1"
    ));
    assert_eq!(
        push,
        format!(
            "{{\"repo\": \"hello\", \"namespace\": \"admin\", \"user-agent\": \"\", \"tag\": \"latest\", \"mediaType\": \"{OCI_MANIFEST}\", \
             \"username\": \"admin\", \"resolved_ip\": {{\"provider\": \"internet\", \"service\": null, \"sync_token\": \"1645662201\", \
             \"country_iso_code\": null, \"aws_region\": null, \"continent\": null}}}}"
        )
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT k.name, count(*) FROM logentry3 l JOIN logentrykind k ON k.id = l.kind_id WHERE l.repository_id = {repo} \
             AND l.performer_id IS NOT NULL GROUP BY k.name ORDER BY k.name"
        )),
        "delete_tag|1\npull_repo|2\npush_repo|8"
    );
}
