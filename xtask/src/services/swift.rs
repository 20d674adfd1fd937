//! A one-node OpenStack Swift ("SAIO") for the Swift storage driver's tests.
//!
//! Debian's `swift-proxy`, `swift-account`, `swift-container`, `swift-object` and `memcached`
//! (installed with apt-get when missing, which needs root) run as plain processes under
//! `target/services/swift/`: one-replica rings on one device directory, `mount_check = false`,
//! and a proxy pipeline with tempauth (user `test:tester`, key `testing`), TempURL and DLO.
//! Each process's pid and port are kept in `swift/pids` (`name:pid:port` lines).

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;
use crate::clients::{apt_install, on_path};

const PACKAGES: &[&str] = &[
    "swift-proxy",
    "swift-account",
    "swift-container",
    "swift-object",
    "memcached",
];
const SERVERS: &[&str] = &["account", "container", "object"];

/// Starts Swift unless running; returns its test variables.
pub fn up(sdir: &Path) -> Result<Vec<(String, String)>> {
    let port = match running(sdir) {
        Some(p) => p,
        None => start(sdir)?,
    };
    Ok(vec![
        (
            "QUAY_TEST_SWIFT_AUTH_URL".to_string(),
            format!("http://127.0.0.1:{port}/auth/v1.0"),
        ),
        (
            "QUAY_TEST_SWIFT_USER".to_string(),
            "test:tester".to_string(),
        ),
        ("QUAY_TEST_SWIFT_KEY".to_string(), "testing".to_string()),
    ])
}

/// Stops the processes `up` started (by their recorded pids).
pub fn down(sdir: &Path) -> Result<()> {
    super::stop_recorded(&sdir.join("pids"), "swift");
    Ok(())
}

/// The proxy port when every recorded process is alive and the proxy listens.
fn running(sdir: &Path) -> Option<u16> {
    let text = std::fs::read_to_string(sdir.join("pids")).ok()?;
    let mut proxy = None;
    for line in text.lines() {
        let parts: Vec<&str> = line.split(':').collect();
        let [name, pid, port] = parts.as_slice() else {
            return None;
        };
        if !super::alive(pid) {
            return None;
        }
        if *name == "proxy" {
            proxy = port.parse().ok();
        }
    }
    proxy.filter(|p| super::object_stores::listening(*p))
}

fn ensure_installed() -> Result<()> {
    if on_path("swift-proxy-server") && on_path("memcached") {
        return Ok(());
    }
    apt_install(PACKAGES, false)
}

fn write_configs(sdir: &Path, ports: &[(String, u16)], user: &str) -> Result<()> {
    let etc = sdir.join("etc");
    let port = |n: &str| {
        ports
            .iter()
            .find(|(k, _)| k == n)
            .map(|(_, p)| *p)
            .unwrap_or(0)
    };
    std::fs::write(
        etc.join("swift.conf"),
        "[swift-hash]\nswift_hash_path_suffix = quaytest\nswift_hash_path_prefix = quaytest\n\
         [storage-policy:0]\nname = gold\ndefault = yes\n",
    )?;
    let common = |p: u16| {
        format!(
            "[DEFAULT]\nbind_ip = 127.0.0.1\nbind_port = {p}\nswift_dir = {}\nworkers = 0\n\
             user = {user}\nlog_address = {}\n",
            etc.display(),
            sdir.join("no-syslog").display()
        )
    };
    for name in SERVERS {
        let text = format!(
            "{}devices = {}\nmount_check = false\nfallocate_reserve = 0\n\
             [pipeline:main]\npipeline = {name}-server\n\
             [app:{name}-server]\nuse = egg:swift#{name}\n",
            common(port(name)),
            sdir.join("srv").display()
        );
        std::fs::write(etc.join(format!("{name}-server.conf")), text)?;
        let builder = etc.join(format!("{name}.builder"));
        let ring = |args: &[&str]| -> Result<()> {
            let out = Command::new("swift-ring-builder")
                .arg(&builder)
                .args(args)
                .output()
                .context("swift-ring-builder")?;
            // `rebalance` exits 1 with a warning on a one-device ring; the ring is still written.
            if !out.status.success() && args[0] != "rebalance" {
                bail!(
                    "swift-ring-builder {args:?}: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            Ok(())
        };
        ring(&["create", "1", "1", "1"])?;
        ring(&["add", &format!("r1z1-127.0.0.1:{}/d1", port(name)), "100"])?;
        ring(&["rebalance"])?;
    }
    let filters = egg_filters();
    let proxy = format!(
        "{}[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache \
         listing-formats tempurl tempauth dlo proxy-logging proxy-server\n\
         [app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\n\
         allow_account_management = true\n\
         [filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n\
         [filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:{}\n{filters}",
        common(port("proxy")),
        port("memcached")
    );
    std::fs::write(etc.join("proxy-server.conf"), proxy)?;
    Ok(())
}

/// The `[filter:*]` sections both proxies (tempauth here, Keystone's) load from Swift's eggs.
pub(super) fn egg_filters() -> String {
    [
        ("catch_errors", "catch_errors"),
        ("gatekeeper", "gatekeeper"),
        ("healthcheck", "healthcheck"),
        ("proxy-logging", "proxy_logging"),
        ("listing-formats", "listing_formats"),
        ("tempurl", "tempurl"),
        ("dlo", "dlo"),
    ]
    .iter()
    .map(|(name, egg)| format!("[filter:{name}]\nuse = egg:swift#{egg}\n"))
    .collect()
}

fn start(sdir: &Path) -> Result<u16> {
    ensure_installed()?;
    down(sdir)?;
    if sdir.exists() {
        std::fs::remove_dir_all(sdir).with_context(|| format!("removing {}", sdir.display()))?;
    }
    std::fs::create_dir_all(sdir.join("etc"))?;
    std::fs::create_dir_all(sdir.join("srv").join("d1"))?;
    let user = String::from_utf8(Command::new("id").arg("-un").output()?.stdout)?
        .trim()
        .to_string();
    let mut ports = Vec::new();
    for name in ["memcached", "account", "container", "object", "proxy"] {
        ports.push((name.to_string(), free_port()?));
    }
    write_configs(sdir, &ports, &user)?;
    let mut pids = String::new();
    for (name, port) in &ports {
        let mut cmd = if name == "memcached" {
            let mut c = Command::new("memcached");
            c.args([
                "-l",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                "0",
                "-u",
                &user,
            ]);
            c
        } else {
            let mut c = Command::new(format!("swift-{name}-server"));
            c.arg(sdir.join("etc").join(format!("{name}-server.conf")));
            c
        };
        let log = std::fs::File::create(sdir.join(format!("{name}.log")))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting swift {name}"))?;
        pids.push_str(&format!("{name}:{}:{port}\n", child.id()));
        std::fs::write(sdir.join("pids"), &pids)?;
        let started = Instant::now();
        while !super::object_stores::listening(*port) {
            if started.elapsed() > Duration::from_secs(60) {
                let log =
                    std::fs::read_to_string(sdir.join(format!("{name}.log"))).unwrap_or_default();
                bail!("swift {name} did not listen on 127.0.0.1:{port}; its log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let proxy = ports
        .iter()
        .find(|(n, _)| n == "proxy")
        .map(|(_, p)| *p)
        .unwrap_or(0);
    eprintln!("Swift (tempauth, TempURL, DLO) on 127.0.0.1:{proxy}");
    Ok(proxy)
}
