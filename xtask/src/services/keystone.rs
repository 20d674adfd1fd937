//! OpenStack Keystone and a second Swift proxy that authenticates with it, for the Swift
//! driver's Keystone (v3) tests.
//!
//! Debian's `python3-keystone` (installed with apt-get when missing) runs on SQLite under
//! `target/services/keystone/`: `keystone-manage db_sync`, `fernet_setup`, `credential_setup`
//! and `bootstrap`, then `keystone-wsgi-public` (its wsgiref test server) on a free loopback
//! port. Over its REST API we add the `object-store` service with an endpoint on the proxy, a
//! user `quay` in project `quay` (domain `Default`) and a user `quay-dom` in project `quay-dom`
//! of domain `quay-domain`, both with role `member`.
//!
//! The second proxy shares the rings, memcached and storage servers of the tempauth Swift (see
//! `swift`) and has keystonemiddleware's `authtoken` and Swift's `keystoneauth` in its pipeline
//! instead of tempauth. Keystone ≥ Queens has no v2.0 API, so v2 cannot be served here.
//! Pids and ports are kept in `keystone/pids`, the test variables in `keystone/env`.

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use crate::clients::{apt_install, on_path};

const PACKAGES: &[&str] = &["python3-keystone", "python3-keystonemiddleware"];
const ADMIN_PASSWORD: &str = "keystone-admin";
/// Password of both test users.
pub const USER_PASSWORD: &str = "quay-keystone-pw";

/// Starts Keystone and its Swift proxy unless running; returns their test variables.
pub fn up(sdir: &Path, swift_dir: &Path) -> Result<Vec<(String, String)>> {
    // The proxy shares the tempauth Swift's memcached and rings: a restarted Swift (new ports)
    // needs a new proxy.
    let same_swift = memcached_port(swift_dir).ok().is_some_and(|p| {
        std::fs::read_to_string(sdir.join("swift-memcached"))
            .is_ok_and(|t| t.trim() == p.to_string())
    });
    if same_swift
        && running(sdir)
        && let Ok(text) = std::fs::read_to_string(sdir.join("env"))
    {
        return Ok(text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect());
    }
    start(sdir, swift_dir)
}

/// Stops the processes `up` started (by their recorded pids).
pub fn down(sdir: &Path) -> Result<()> {
    super::stop_recorded(&sdir.join("pids"), "keystone");
    Ok(())
}

fn running(sdir: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(sdir.join("pids")) else {
        return false;
    };
    let mut seen = 0;
    for line in text.lines() {
        let parts: Vec<&str> = line.split(':').collect();
        let [_, pid, port] = parts.as_slice() else {
            return false;
        };
        if !super::alive(pid) || !port.parse().is_ok_and(super::object_stores::listening) {
            return false;
        }
        seen += 1;
    }
    seen == 2
}

fn middleware_installed() -> bool {
    Command::new("/usr/bin/python3")
        .args(["-c", "import keystonemiddleware"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn ensure_installed() -> Result<()> {
    if on_path("keystone-manage") && on_path("keystone-wsgi-public") && middleware_installed() {
        return Ok(());
    }
    apt_install(PACKAGES, false)
}

fn manage(sdir: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new("keystone-manage")
        .arg("--config-file")
        .arg(sdir.join("keystone.conf"))
        .args(args)
        .output()
        .context("running keystone-manage")?;
    if !out.status.success() {
        bail!(
            "keystone-manage {}: {}",
            args[0],
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn wait_listening(sdir: &Path, name: &str, port: u16) -> Result<()> {
    let started = Instant::now();
    while !super::object_stores::listening(port) {
        if started.elapsed() > Duration::from_secs(60) {
            let log = std::fs::read_to_string(sdir.join(format!("{name}.log"))).unwrap_or_default();
            bail!("keystone {name} did not listen on 127.0.0.1:{port}; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn spawn(sdir: &Path, name: &str, mut cmd: Command) -> Result<u32> {
    let log = std::fs::File::create(sdir.join(format!("{name}.log")))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting keystone {name}"))?;
    Ok(child.id())
}

/// The memcached port of the running tempauth Swift.
fn memcached_port(swift_dir: &Path) -> Result<u16> {
    let text = std::fs::read_to_string(swift_dir.join("pids"))
        .context("Swift must be up before the Keystone proxy")?;
    text.lines()
        .find_map(|l| l.strip_prefix("memcached:"))
        .and_then(|rest| rest.split(':').nth(1))
        .and_then(|p| p.parse().ok())
        .context("no memcached in swift/pids")
}

/// Writes `keystone.conf` and runs `keystone-manage` (schema, keys, admin, identity endpoint);
/// returns the user name the services run as.
fn bootstrap(sdir: &Path, keystone: &str) -> Result<String> {
    let d = sdir.display();
    std::fs::write(
        sdir.join("keystone.conf"),
        format!(
            "[DEFAULT]\nuse_stderr = true\n[database]\nconnection = sqlite:///{d}/keystone.db\n\
             [token]\nprovider = fernet\n[fernet_tokens]\nkey_repository = {d}/fernet-keys\n\
             [fernet_receipts]\nkey_repository = {d}/fernet-keys\n\
             [credential]\nkey_repository = {d}/credential-keys\n"
        ),
    )?;
    let user = String::from_utf8(Command::new("id").arg("-un").output()?.stdout)?
        .trim()
        .to_string();
    let group = String::from_utf8(Command::new("id").arg("-gn").output()?.stdout)?
        .trim()
        .to_string();
    manage(sdir, &["db_sync"])?;
    let owner = ["--keystone-user", &user, "--keystone-group", &group];
    manage(sdir, &[&["fernet_setup"], &owner[..]].concat())?;
    manage(sdir, &[&["credential_setup"], &owner[..]].concat())?;
    let v3 = format!("{keystone}/v3/");
    manage(
        sdir,
        &[
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-admin-url",
            &v3,
            "--bootstrap-internal-url",
            &v3,
            "--bootstrap-public-url",
            &v3,
            "--bootstrap-region-id",
            "RegionOne",
        ],
    )?;
    Ok(user)
}

fn start(sdir: &Path, swift_dir: &Path) -> Result<Vec<(String, String)>> {
    ensure_installed()?;
    down(sdir)?;
    if sdir.exists() {
        std::fs::remove_dir_all(sdir).with_context(|| format!("removing {}", sdir.display()))?;
    }
    std::fs::create_dir_all(sdir.join("fernet-keys"))?;
    std::fs::create_dir_all(sdir.join("credential-keys"))?;
    let memcached = memcached_port(swift_dir)?;
    std::fs::write(sdir.join("swift-memcached"), memcached.to_string())?;
    let (kport, pport) = (free_port()?, free_port()?);
    let keystone = format!("http://127.0.0.1:{kport}");
    let user = bootstrap(sdir, &keystone)?;
    let mut pids = String::new();
    let mut cmd = Command::new("keystone-wsgi-public");
    cmd.args(["--host", "127.0.0.1", "--port", &kport.to_string(), "--"])
        .arg("--config-file")
        .arg(sdir.join("keystone.conf"));
    pids.push_str(&format!(
        "keystone:{}:{kport}\n",
        spawn(sdir, "keystone", cmd)?
    ));
    std::fs::write(sdir.join("pids"), &pids)?;
    wait_listening(sdir, "keystone", kport)?;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(provision(&keystone, pport))?;

    write_proxy_config(sdir, swift_dir, &keystone, pport, memcached, &user)?;
    let mut cmd = Command::new("swift-proxy-server");
    cmd.arg(sdir.join("proxy-server.conf"));
    pids.push_str(&format!("proxy:{}:{pport}\n", spawn(sdir, "proxy", cmd)?));
    std::fs::write(sdir.join("pids"), &pids)?;
    wait_listening(sdir, "proxy", pport)?;

    let env = vec![
        (
            "QUAY_TEST_KEYSTONE_V3_URL".to_string(),
            format!("{keystone}/v3"),
        ),
        ("QUAY_TEST_KEYSTONE_USER".to_string(), "quay".to_string()),
        (
            "QUAY_TEST_KEYSTONE_PASSWORD".to_string(),
            USER_PASSWORD.to_string(),
        ),
        ("QUAY_TEST_KEYSTONE_PROJECT".to_string(), "quay".to_string()),
        (
            "QUAY_TEST_KEYSTONE_DOMAIN".to_string(),
            "quay-domain".to_string(),
        ),
        (
            "QUAY_TEST_KEYSTONE_DOMAIN_USER".to_string(),
            "quay-dom".to_string(),
        ),
        (
            "QUAY_TEST_KEYSTONE_DOMAIN_PROJECT".to_string(),
            "quay-dom".to_string(),
        ),
        (
            "QUAY_TEST_KEYSTONE_SWIFT_URL".to_string(),
            format!("http://127.0.0.1:{pport}"),
        ),
    ];
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(sdir.join("env"), text)?;
    eprintln!("Keystone on 127.0.0.1:{kport}, its Swift proxy on 127.0.0.1:{pport}");
    Ok(env)
}

fn write_proxy_config(
    sdir: &Path,
    swift_dir: &Path,
    keystone: &str,
    port: u16,
    memcached: u16,
    user: &str,
) -> Result<()> {
    let filters = super::swift::egg_filters();
    let text = format!(
        "[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {port}\nswift_dir = {etc}\nworkers = 0\n\
         user = {user}\nlog_address = {nolog}\n\
         [pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache \
         listing-formats tempurl authtoken keystoneauth dlo proxy-logging proxy-server\n\
         [app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\
         [filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{memcached}\n\
         [filter:authtoken]\npaste.filter_factory = keystonemiddleware.auth_token:filter_factory\n\
         www_authenticate_uri = {keystone}/v3\nauth_url = {keystone}\nauth_type = password\n\
         project_domain_id = default\nuser_domain_id = default\nproject_name = admin\n\
         username = admin\npassword = {ADMIN_PASSWORD}\ndelay_auth_decision = True\n\
         memcached_servers = 127.0.0.1:{memcached}\n\
         [filter:keystoneauth]\nuse = egg:swift#keystoneauth\noperator_roles = admin, member\n\
         {filters}",
        etc = swift_dir.join("etc").display(),
        nolog = sdir.join("no-syslog").display(),
    );
    std::fs::write(sdir.join("proxy-server.conf"), text)?;
    Ok(())
}

/// Keystone's REST API with an admin token.
struct Admin {
    client: reqwest::Client,
    v3: String,
    token: String,
}

impl Admin {
    async fn login(keystone: &str) -> Result<Self> {
        let client = reqwest::Client::new();
        let v3 = format!("{keystone}/v3");
        let resp = client
            .post(format!("{v3}/auth/tokens"))
            .json(&json!({"auth": {
                "identity": {"methods": ["password"], "password": {"user": {
                    "name": "admin", "domain": {"id": "default"}, "password": ADMIN_PASSWORD}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}))
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("Keystone admin login answered {}", resp.status());
        }
        let token = resp
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .context("no X-Subject-Token")?
            .to_string();
        Ok(Self { client, v3, token })
    }

    /// `method` on `path`; Keystone on SQLite sometimes answers 500 "database is locked" right
    /// after a write (the request did not happen), so server errors are retried.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        for attempt in 1..=10 {
            let mut req = self
                .client
                .request(method.clone(), format!("{}/{path}", self.v3))
                .header("x-auth-token", &self.token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let resp = req.send().await?;
            let status = resp.status();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if status.is_success() {
                return Ok(v);
            }
            if !status.is_server_error() || attempt == 10 {
                bail!("Keystone {method} {path} answered {status}: {v}");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        bail!("Keystone {path}: no answer")
    }

    /// Creates an object and returns its id (`{"<kind>": {"id": …}}`).
    async fn create(&self, path: &str, kind: &str, body: Value) -> Result<String> {
        let v = self
            .call(reqwest::Method::POST, path, Some(json!({ kind: body })))
            .await?;
        v[kind]["id"]
            .as_str()
            .map(str::to_string)
            .with_context(|| format!("Keystone {path}: no id"))
    }
}

/// Adds the object-store service, its endpoints, and the two test users over the REST API.
async fn provision(keystone: &str, proxy_port: u16) -> Result<()> {
    let admin = Admin::login(keystone).await?;
    let service = admin
        .create(
            "services",
            "service",
            json!({"name": "swift", "type": "object-store"}),
        )
        .await?;
    let url = format!("http://127.0.0.1:{proxy_port}/v1/AUTH_$(project_id)s");
    for interface in ["public", "internal", "admin"] {
        admin
            .create(
                "endpoints",
                "endpoint",
                json!({"service_id": service, "interface": interface, "region_id": "RegionOne",
                    "url": url}),
            )
            .await?;
    }
    let roles = admin
        .call(reqwest::Method::GET, "roles?name=member", None)
        .await?;
    let member = roles["roles"][0]["id"]
        .as_str()
        .context("no `member` role")?
        .to_string();
    let domain = admin
        .create(
            "domains",
            "domain",
            json!({"name": "quay-domain", "enabled": true}),
        )
        .await?;
    for (name, domain) in [("quay", "default"), ("quay-dom", domain.as_str())] {
        let project = admin
            .create(
                "projects",
                "project",
                json!({"name": name, "domain_id": domain, "enabled": true}),
            )
            .await?;
        let user = admin
            .create(
                "users",
                "user",
                json!({"name": name, "domain_id": domain, "password": USER_PASSWORD,
                    "enabled": true}),
            )
            .await?;
        admin
            .call(
                reqwest::Method::PUT,
                &format!("projects/{project}/users/{user}/roles/{member}"),
                None,
            )
            .await?;
    }
    Ok(())
}
