//! Setup shared by the end-to-end tests: the instance's database, a PostgreSQL database per test,
//! standalone configs, starting `quay serve`, and registry tokens and pushes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use quay_e2e::{Server, client, pg_url};
use serde_json::{Value, json};

/// The password of the `admin` user the instances are started with.
pub(crate) const PASSWORD: &str = "password123";

/// The OCI image manifest media type.
pub(crate) const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// How long an instance may take to answer `/health/instance`.
const STARTUP: Duration = Duration::from_secs(60);

/// `sha256:<hex>` of `data`.
pub(crate) fn sha256(data: &[u8]) -> String {
    quay_fips::digest::sha256_digest(data).expect("sha256")
}

/// An OCI image manifest of `config` (an OCI image config) and the single gzip `layer`.
pub(crate) fn image_manifest(config: &[u8], layer: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": sha256(config),
            "size": config.len(),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": sha256(layer),
            "size": layer.len(),
        }],
    }))
    .expect("JSON")
}

/// A one-layer OCI image: a layer unique to `seed`, a config with `labels`, and its manifest.
pub(crate) struct TestImage {
    pub(crate) layer: Vec<u8>,
    pub(crate) config: Vec<u8>,
    pub(crate) manifest: Vec<u8>,
}

impl TestImage {
    pub(crate) fn new(seed: u8, labels: &Value) -> Self {
        let layer: Vec<u8> = (0..4096u32)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        let config = serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": [sha256(&layer)]},
            "config": {"Labels": labels},
        }))
        .expect("JSON");
        let manifest = image_manifest(&config, &layer);
        Self {
            layer,
            config,
            manifest,
        }
    }

    /// The manifest's digest.
    pub(crate) fn digest(&self) -> String {
        sha256(&self.manifest)
    }
}

/// A service variable written by `cargo xtask services up`.
///
/// # Panics
/// When it is unset.
pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `cargo xtask services up` and export what it prints")
    })
}

/// A key of the `instance-secrets.yaml` that `quay serve` writes into its data directory.
pub(crate) fn instance_secret(data: &Path, key: &str) -> String {
    let text =
        std::fs::read_to_string(data.join("instance-secrets.yaml")).expect("instance secrets");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').to_owned())
        .expect("secret present")
}

/// Runs SQL on the instance's database.
pub(crate) enum Db {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Db {
    /// Runs `sql` with the `sqlite3` or `psql` client; returns the trimmed output.
    pub(crate) fn sql(&self, sql: &str) -> String {
        let out = match self {
            Db::Sqlite(path) => std::process::Command::new("sqlite3")
                .arg(path)
                .arg(sql)
                .output(),
            Db::Postgres(url) => std::process::Command::new("psql")
                .args([url, "-XAtqc", sql])
                .output(),
        }
        .expect("running the SQL client");
        assert!(
            out.status.success(),
            "SQL failed: {}\n{sql}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// How the client prints a true boolean.
    pub(crate) fn bool_true(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "1",
            Db::Postgres(_) => "t",
        }
    }

    /// The database's current UTC time as a `timestamp without time zone` expression.
    pub(crate) fn utc_now(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
            Db::Postgres(_) => "(now() AT TIME ZONE 'utc')",
        }
    }
}

/// A PostgreSQL database of its own for one test, on the test cluster (`QUAY_TEST_PG_URL`).
pub(crate) struct PgDatabase {
    admin: String,
    name: String,
    /// Its URL.
    pub(crate) url: String,
}

impl PgDatabase {
    /// Creates `<prefix>_<pid>_<n>` (dropping a leftover of that name first).
    pub(crate) fn create(prefix: &str) -> Self {
        let admin = pg_url();
        let name = quay_e2e::unique_db_name(prefix);
        let on_admin = Db::Postgres(admin.clone());
        on_admin.sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        on_admin.sql(&format!("CREATE DATABASE {name}"));
        let (prefix, _) = admin.rsplit_once('/').expect("a database URL");
        let url = format!("{prefix}/{name}");
        Self { admin, name, url }
    }

    /// The database, to run SQL on.
    pub(crate) fn db(&self) -> Db {
        Db::Postgres(self.url.clone())
    }

    /// Drops the database (at the end of a test that passed).
    pub(crate) fn drop_database(self) {
        Db::Postgres(self.admin).sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

/// `SERVER_HOSTNAME`, `PREFERRED_URL_SCHEME` and the two secret keys, as YAML lines.
pub(crate) fn server_keys(host: &str, scheme: &str) -> String {
    format!(
        "SERVER_HOSTNAME: {host}\nPREFERRED_URL_SCHEME: {scheme}\n\
         SECRET_KEY: e2e-secret\nDATABASE_SECRET_KEY: e2e-database-secret\n"
    )
}

/// One `LocalStorage` location `default` at `path`, preferred and default, as YAML lines.
pub(crate) fn local_storage(path: &Path) -> String {
    std::fs::create_dir_all(path).expect("storage directory");
    format!(
        "DISTRIBUTED_STORAGE_CONFIG:\n  default: [LocalStorage, {{storage_path: {}}}]\n\
         DISTRIBUTED_STORAGE_PREFERENCE: [default]\nDISTRIBUTED_STORAGE_DEFAULT_LOCATIONS: [default]\n",
        path.display()
    )
}

/// A standalone config on the PostgreSQL `db_url` with the storage YAML `storage`, then `extra`.
pub(crate) fn standalone_config(db_url: &str, storage: &str, extra: &str) -> String {
    format!(
        "DB_URI: {}\nBUILDLOGS_REDIS: {{host: 127.0.0.1, port: 6379}}\n\
         USER_EVENTS_REDIS: {{host: 127.0.0.1, port: 6379}}\n{storage}{extra}",
        db_url.replacen("postgres://", "postgresql://", 1)
    )
}

/// Writes `yaml` to `<dir>/config.yaml` and returns that path.
pub(crate) fn write_config(dir: &Path, yaml: &str) -> PathBuf {
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).expect("writing config.yaml");
    path
}

/// `quay db upgrade` of a standalone instance.
pub(crate) fn db_upgrade(config: &Path, data: &Path) {
    let out = quay_e2e::quay(&[
        "db",
        "upgrade",
        "--mode",
        "standalone",
        "--config",
        config.to_str().expect("UTF-8 path"),
        "--data-dir",
        data.to_str().expect("UTF-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--mode MODE [--config CONFIG] --data-dir DATA --tls off`, then the `admin` user with
/// `password` when given.
pub(crate) fn serve_args(
    mode: &str,
    config: Option<&Path>,
    data: &Path,
    password: Option<&str>,
) -> Vec<String> {
    let mut args = vec!["--mode".to_owned(), mode.to_owned()];
    if let Some(config) = config {
        args.extend(["--config".to_owned(), config.display().to_string()]);
    }
    args.extend([
        "--data-dir".to_owned(),
        data.display().to_string(),
        "--tls".to_owned(),
        "off".to_owned(),
    ]);
    if let Some(password) = password {
        args.extend([
            "--init-user".to_owned(),
            "admin".to_owned(),
            "--init-password".to_owned(),
            password.to_owned(),
        ]);
    }
    args
}

/// `quay serve` on the standalone preset: `pg`'s database (after `quay db upgrade`), local
/// storage and the data directory under `dir`, the `extra` config lines, and `password` for the
/// bootstrap superuser.
pub(crate) async fn start_standalone(
    dir: &Path,
    pg: &PgDatabase,
    extra: &str,
    password: &str,
) -> Server {
    let storage = local_storage(&dir.join("storage"));
    let config = write_config(dir, &standalone_config(&pg.url, &storage, extra));
    let data = dir.join("data");
    db_upgrade(&config, &data);
    let args = serve_args("standalone", Some(&config), &data, Some(password));
    start(dir, &args, None).await
}

/// Spawns `quay serve ARGS` over HTTP (on `port` when given) and waits until it is healthy.
pub(crate) async fn start(dir: &Path, args: &[String], port: Option<u16>) -> Server {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = match port {
        Some(port) => Server::spawn_on(dir, &args, false, port),
        None => Server::spawn(dir, &args, false),
    }
    .expect("spawning quay serve");
    server
        .wait_for("/health/instance", 200, STARTUP)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    server
}

/// `quay serve` in the mirror preset on SQLite (user `admin`, password [`PASSWORD`]), in a
/// temporary directory removed when this is dropped.
pub(crate) struct SqliteMirror {
    _dir: tempfile::TempDir,
    pub(crate) server: Server,
    /// The server's `host:port`, the service of its registry tokens.
    pub(crate) host: String,
    /// The instance's SQLite database.
    pub(crate) db: Db,
}

impl SqliteMirror {
    /// Starts an instance whose config file holds `keys`.
    pub(crate) async fn start(keys: &str) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let data = dir.path().join("data");
        let config = write_config(dir.path(), keys);
        let args = serve_args("mirror", Some(&config), &data, Some(PASSWORD));
        let server = start(dir.path(), &args, None).await;
        let host = server.base.trim_start_matches("http://").to_owned();
        let db = Db::Sqlite(data.join("quay_sqlite.db"));
        Self {
            _dir: dir,
            server,
            host,
            db,
        }
    }

    /// Stops the server, which must exit successfully.
    pub(crate) fn stop(mut self) {
        assert!(
            self.server.terminate().unwrap().success(),
            "{}",
            self.server.output()
        );
    }
}

/// A registry session of `admin` (password [`PASSWORD`]) with a bearer token from `/v2/auth`.
pub(crate) struct Client {
    /// The instance's base URL.
    pub(crate) base: String,
    /// The bearer token.
    pub(crate) token: String,
}

impl Client {
    /// Gets a token of `admin` for `service` and `scopes`.
    pub(crate) async fn login(base: &str, service: &str, scopes: &[&str]) -> Self {
        Self::login_as(base, service, ("admin", PASSWORD), scopes).await
    }

    /// Gets a token of `(user, password)` for `service` and `scopes`.
    pub(crate) async fn login_as(
        base: &str,
        service: &str,
        (user, password): (&str, &str),
        scopes: &[&str],
    ) -> Self {
        let mut query = vec![("service", service)];
        query.extend(scopes.iter().map(|s| ("scope", *s)));
        let resp = client()
            .get(format!("{base}/v2/auth"))
            .query(&query)
            .basic_auth(user, Some(password))
            .send()
            .await
            .expect("GET /v2/auth");
        assert_eq!(resp.status(), 200, "{user}");
        let body: Value = resp.json().await.expect("token JSON");
        Self {
            base: base.to_owned(),
            token: body["token"].as_str().expect("token").to_owned(),
        }
    }

    /// A request to `path` (relative to the instance, or a whole URL) with the token.
    pub(crate) fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let url = if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        client().request(method, url).bearer_auth(&self.token)
    }

    /// A monolithic blob upload (`POST ...?digest=`).
    pub(crate) async fn monolithic(&self, repo: &str, data: &[u8]) -> reqwest::Response {
        self.req(
            reqwest::Method::POST,
            &format!("/v2/{repo}/blobs/uploads/?digest={}", sha256(data)),
        )
        .body(data.to_vec())
        .send()
        .await
        .expect("POST monolithic")
    }

    /// `POST /v2/<repo>/blobs/uploads/`: starts a blob upload.
    pub(crate) async fn start_upload(&self, repo: &str) -> reqwest::Response {
        self.req(reqwest::Method::POST, &format!("/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .expect("POST blob upload")
    }

    /// A monolithic blob upload that must succeed (201).
    pub(crate) async fn push_blob(&self, repo: &str, data: &[u8]) {
        let resp = self.monolithic(repo, data).await;
        assert_eq!(resp.status(), 201, "{:?}", resp.text().await);
    }

    /// `PUT /v2/<repo>/manifests/<reference>`.
    pub(crate) async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> reqwest::Response {
        self.req(
            reqwest::Method::PUT,
            &format!("/v2/{repo}/manifests/{reference}"),
        )
        .header("Content-Type", media_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("PUT manifest")
    }

    /// Uploads `blobs` (returning the answer of the first one refused), then puts `manifest`
    /// (an OCI image manifest) at `reference`.
    pub(crate) async fn push_image(
        &self,
        repo: &str,
        reference: &str,
        blobs: &[&[u8]],
        manifest: &[u8],
    ) -> reqwest::Response {
        for blob in blobs {
            let resp = self.monolithic(repo, blob).await;
            if resp.status() != 201 {
                return resp;
            }
        }
        self.put_manifest(repo, reference, OCI_MANIFEST, manifest)
            .await
    }
}
