//! What the captured Python Quay held when the exchanges were recorded (inferred from the
//! captures and from the rows it wrote, `oracle_registry_rows_postgres.sql`): accounts by SQL
//! (there is no API for them yet), repositories and images through `/v2` as clients push them.

use std::collections::HashMap;

use secrecy::SecretString;
use serde_json::Value;

use super::{CAPTURED_HOST, Db, Session, send};

/// Password of `admin` and `user1`.
pub(crate) const PASSWORD: &str = "password";

/// The account UUIDs of the captured instance (tokens carry them as `entity_reference`).
const ADMIN_UUID: &str = "6e91a6aa-f79c-4698-918f-a4d280aeee86";
const USER1_UUID: &str = "ff9bfa0c-cf2c-46e9-abd9-6712df724c5d";

const ROBOT_TOKEN: &str = "ROBOTTOKEN0123456789ROBOTTOKEN0123456789ROBOTTOKEN0123456789ABCD";

/// The upload the capture cancels (`v2_upload_cancel`); it was started outside the capture.
const CANCELLED_UPLOAD: &str = "f742179b-ea18-48fb-b209-f4e0cb33e4df";

const IMAGES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/contract/images");

fn image_file(name: &str) -> Vec<u8> {
    std::fs::read(format!("{IMAGES}/{name}")).expect("image fixture")
}

/// The captured image: its layer (from the capture of its blob GET), config and manifests,
/// byte for byte what Python Quay served, so every digest is the captured one.
pub(crate) struct Image {
    pub(crate) layer: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) oci: Vec<u8>,
    pub(crate) docker: Vec<u8>,
}

/// Decodes a capture's `<binary N bytes, base64>...` body.
pub(crate) fn binary_body(text: &str) -> Option<Vec<u8>> {
    let rest = text.strip_prefix("<binary ")?;
    let (_, b64) = rest.split_once(", base64>")?;
    quay_fips::b64::std_decode(b64)
}

fn digest(data: &[u8]) -> String {
    quay_fips::digest::sha256_digest(data).expect("sha256")
}

impl Image {
    pub(crate) fn load() -> Self {
        let layer_capture = super::capture("v2_blob_get_layer");
        let layer = binary_body(
            layer_capture["response"]["body_text"]
                .as_str()
                .expect("layer body"),
        )
        .expect("binary layer");
        let image = Self {
            layer,
            config: image_file("config.json"),
            oci: image_file("oci-manifest.json"),
            docker: image_file("docker-v2s2-manifest.json"),
        };
        // The fixtures are the captured bytes: their digests are the ones the captures name.
        let path = |name: &str| {
            super::capture(name)["request"]["path"]
                .as_str()
                .expect("path")
                .rsplit('/')
                .next()
                .expect("digest")
                .to_owned()
        };
        assert_eq!(digest(&image.layer), path("v2_blob_get_layer"));
        assert_eq!(digest(&image.config), path("v2_blob_get_config"));
        assert_eq!(digest(&image.oci), path("v2_manifest_get_digest"));
        let v2s2 = super::capture("v2_manifest_get_v2s2");
        assert_eq!(
            Some(digest(&image.docker).as_str()),
            v2s2["response"]["headers"]["Docker-Content-Digest"].as_str()
        );
        image
    }
}

fn bcrypt(password: &str) -> String {
    // Cost 4: debug builds verify it quickly (Quay verifies any cost the hash names).
    quay_fips::password::hash_with_salt_str(password.as_bytes(), "$2b$04$replayreplayreplayrepO")
        .expect("bcrypt")
}

/// `user1`, the organization `testorg` with its `owners` team (`admin` a member) and the robot
/// `testorg+bot` with its encrypted token.
fn accounts(db: &Db, database_secret_key: &str) {
    let cipher =
        quay_fips::FieldEncrypterV0::new(&SecretString::from(database_secret_key.to_owned()))
            .expect("field encrypter");
    let encrypted = cipher
        .encrypt_with_nonce(ROBOT_TOKEN.as_bytes(), &[7; 13], None)
        .expect("encrypted");
    let hash = bcrypt(PASSWORD);
    let account = |name: &str, uuid: &str, password: Option<&str>, org: bool, robot: bool| {
        let password = password.map_or("NULL".to_owned(), |h| format!("'{h}'"));
        format!(
            "INSERT INTO \"user\" (uuid, username, password_hash, email, verified, organization, \
             robot, invoice_email, invalid_login_attempts, last_invalid_login, \
             removed_tag_expiration_s, enabled, creation_date) VALUES \
             ('{uuid}', '{name}', {password}, '{name}@example.com', true, {org}, {robot}, \
             false, 0, '2026-11-27 11:34:00', 1209600, true, '2026-11-27 11:34:00');"
        )
    };
    db.sql(
        &[
            // The binary created `admin` (a superuser) at start, with the default bcrypt cost.
            format!(
                "UPDATE \"user\" SET password_hash = '{hash}', uuid = '{ADMIN_UUID}' \
                 WHERE username = 'admin';"
            ),
            account("testorg", "replay-testorg", None, true, false),
            account("testorg+bot", "replay-testorg-bot", None, false, true),
            account("user1", USER1_UUID, Some(&hash), false, false),
            "INSERT INTO team (name, organization_id, role_id, description) \
             SELECT 'owners', o.id, r.id, '' FROM \"user\" o, teamrole r \
             WHERE o.username = 'testorg' AND r.name = 'admin';"
                .to_owned(),
            "INSERT INTO teammember (user_id, team_id) SELECT u.id, t.id FROM \"user\" u, team t \
             WHERE u.username = 'admin' AND t.name = 'owners';"
                .to_owned(),
            format!(
                "INSERT INTO robotaccounttoken (robot_account_id, token, fully_migrated) \
                 SELECT id, '{encrypted}', true FROM \"user\" WHERE username = 'testorg+bot';"
            ),
        ]
        .concat(),
    );
}

/// A registry client for seeding.
struct Pusher {
    base: String,
    authorization: String,
}

impl Pusher {
    async fn login(base: &str, user: &str, password: &str, scopes: &[&str]) -> Self {
        let token = token(base, user, password, scopes).await;
        Self {
            base: base.to_owned(),
            authorization: format!("Bearer {token}"),
        }
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
        want: u16,
    ) -> super::Exchange {
        let mut headers = vec![("Authorization".to_owned(), self.authorization.clone())];
        if let Some(ct) = content_type {
            headers.push(("Content-Type".to_owned(), ct.to_owned()));
        }
        let ex = send(&self.base, method, path, &headers, body).await;
        assert_eq!(
            ex.status,
            want,
            "seeding: {method} {path}: {}",
            String::from_utf8_lossy(&ex.body)
        );
        ex
    }

    /// Starts an upload and returns its UUID.
    async fn start(&self, repo: &str) -> String {
        let ex = self
            .call(
                "POST",
                &format!("/v2/{repo}/blobs/uploads/"),
                None,
                None,
                202,
            )
            .await;
        ex.header("Docker-Upload-UUID").expect("UUID").to_owned()
    }

    async fn monolithic(&self, repo: &str, data: &[u8]) {
        let path = format!("/v2/{repo}/blobs/uploads/?digest={}", digest(data));
        self.call("POST", &path, None, Some(data.to_vec()), 201)
            .await;
    }

    /// POST, two PATCHes, then PUT with the digest.
    async fn chunked(&self, repo: &str, data: &[u8]) {
        let uuid = self.start(repo).await;
        let path = format!("/v2/{repo}/blobs/uploads/{uuid}");
        let (a, b) = data.split_at(data.len() / 2);
        for chunk in [a, b] {
            self.call(
                "PATCH",
                &path,
                Some("application/octet-stream"),
                Some(chunk.to_vec()),
                202,
            )
            .await;
        }
        let put = format!("{path}?digest={}", digest(data));
        self.call("PUT", &put, None, None, 201).await;
    }

    async fn manifest(&self, repo: &str, tag: &str, media_type: &str, body: &[u8]) {
        let path = format!("/v2/{repo}/manifests/{tag}");
        self.call("PUT", &path, Some(media_type), Some(body.to_vec()), 201)
            .await;
    }
}

/// A registry token from `/v2/auth` (service and host: the captured instance's).
pub(crate) async fn token(base: &str, user: &str, password: &str, scopes: &[&str]) -> String {
    let mut path = format!("/v2/auth?service={CAPTURED_HOST}");
    for s in scopes {
        path.push_str("&scope=");
        path.push_str(s);
    }
    let basic = quay_fips::b64::std_encode(format!("{user}:{password}").as_bytes());
    let ex = send(
        base,
        "GET",
        &path,
        &[("Authorization".to_owned(), format!("Basic {basic}"))],
        None,
    )
    .await;
    assert_eq!(
        ex.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&ex.body)
    );
    let body: Value = serde_json::from_slice(&ex.body).expect("token JSON");
    body["token"].as_str().expect("token").to_owned()
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// Seeds the instance and returns the replay session.
pub(crate) async fn seed(base: &str, db: &Db, database_secret_key: &str) -> Session {
    accounts(db, database_secret_key);
    let image = Image::load();
    // In the order Python Quay created them (the catalog lists by repository id).
    let admin = Pusher::login(
        base,
        "admin",
        PASSWORD,
        &[
            "repository:testorg/hello:pull,push",
            "repository:testorg/robotrepo:pull,push",
            "repository:admin/publicrepo:pull,push",
            "repository:testorg/newrepo:pull,push",
        ],
    )
    .await;
    let hello = "testorg/hello";
    admin.monolithic(hello, &image.config).await;
    admin.chunked(hello, &image.layer).await;
    admin
        .manifest(hello, "latest", OCI_MANIFEST, &image.oci)
        .await;
    admin
        .manifest(hello, "v1.0", OCI_MANIFEST, &image.oci)
        .await;
    admin
        .manifest(hello, "v2s2", DOCKER_MANIFEST, &image.docker)
        .await;
    for repo in ["testorg/robotrepo", "admin/publicrepo"] {
        admin.monolithic(repo, &image.config).await;
        admin.monolithic(repo, &image.layer).await;
        admin
            .manifest(repo, "latest", OCI_MANIFEST, &image.oci)
            .await;
    }
    db.sql(
        "UPDATE repository SET visibility_id = (SELECT id FROM visibility WHERE name = 'public') \
         WHERE name = 'publicrepo';\
         INSERT INTO repositorypermission (user_id, repository_id, role_id) \
         SELECT u.id, r.id, ro.id FROM \"user\" u, repository r, role ro \
         WHERE u.username = 'testorg+bot' AND r.name = 'robotrepo' AND ro.name = 'write';",
    );
    // Python Quay created these two empty at `/v2/auth`; quay-rs creates a repository at the
    // first push request, so start an upload and cancel it.
    let uuid = admin.start("testorg/newrepo").await;
    admin
        .call(
            "DELETE",
            &format!("/v2/testorg/newrepo/blobs/uploads/{uuid}"),
            None,
            None,
            204,
        )
        .await;
    let user1 = Pusher::login(
        base,
        "user1",
        PASSWORD,
        &["repository:user1/mine:pull,push"],
    )
    .await;
    let uuid = user1.start("user1/mine").await;
    user1
        .call(
            "DELETE",
            &format!("/v2/user1/mine/blobs/uploads/{uuid}"),
            None,
            None,
            204,
        )
        .await;
    let names = db.sql(
        "SELECT u.username || '/' || r.name FROM repository r JOIN \"user\" u \
         ON u.id = r.namespace_user_id ORDER BY r.id",
    );
    assert_eq!(
        names.lines().collect::<Vec<_>>(),
        [
            "testorg/hello",
            "testorg/robotrepo",
            "admin/publicrepo",
            "testorg/newrepo",
            "user1/mine"
        ]
    );
    // The upload `v2_upload_cancel` cancels.
    let cancelled = admin.start(hello).await;
    Session {
        base: base.to_owned(),
        robot_token: ROBOT_TOKEN.to_owned(),
        tokens: HashMap::new(),
        uuids: vec![(CANCELLED_UPLOAD.to_owned(), cancelled)],
    }
}
