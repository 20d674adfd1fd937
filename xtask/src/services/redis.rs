//! Redis for the pull-statistics tests (`PULL_METRICS_REDIS`): Debian's `redis-server`
//! (installed with apt-get when missing, which needs root), daemonized on a free loopback port
//! under `target/services/redis/` without persistence. Its pid is in `redis/redis.pid`, its port
//! in `redis/port`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::free_port;
use crate::clients::{apt_install, on_path};

/// Starts Redis unless running; returns its test variable (`QUAY_TEST_REDIS_URL`).
pub fn up(rdir: &Path) -> Result<Vec<(String, String)>> {
    let port = match running(rdir) {
        Some(p) => p,
        None => start(rdir)?,
    };
    Ok(vec![(
        "QUAY_TEST_REDIS_URL".to_string(),
        format!("redis://127.0.0.1:{port}"),
    )])
}

/// Stops the server `up` started (by its recorded pid).
pub fn down(rdir: &Path) -> Result<()> {
    let Some(pid) = pid(rdir) else {
        return Ok(());
    };
    if super::terminate(&pid.to_string()) {
        eprintln!("redis-server stopped");
    }
    let _ = std::fs::remove_file(rdir.join("redis.pid"));
    Ok(())
}

fn pid(rdir: &Path) -> Option<u32> {
    std::fs::read_to_string(rdir.join("redis.pid"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The port when the recorded server is alive and listening.
fn running(rdir: &Path) -> Option<u16> {
    let pid = pid(rdir)?;
    if !super::alive(pid) {
        return None;
    }
    let port: u16 = std::fs::read_to_string(rdir.join("port"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    super::object_stores::listening(port).then_some(port)
}

fn ensure_installed() -> Result<()> {
    if on_path("redis-server") {
        return Ok(());
    }
    apt_install(&["redis-server"], false)
}

fn start(rdir: &Path) -> Result<u16> {
    ensure_installed()?;
    std::fs::create_dir_all(rdir).with_context(|| format!("creating {}", rdir.display()))?;
    let port = free_port()?;
    let out = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "yes"])
        .arg("--dir")
        .arg(rdir)
        .arg("--pidfile")
        .arg(rdir.join("redis.pid"))
        .arg("--logfile")
        .arg(rdir.join("log"))
        .output()
        .context("starting redis-server")?;
    if !out.status.success() {
        bail!(
            "redis-server did not start ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(rdir.join("port"), port.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if running(rdir).is_some() {
            eprintln!("redis-server on 127.0.0.1:{port} ({})", rdir.display());
            return Ok(port);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = std::fs::read_to_string(rdir.join("log")).unwrap_or_default();
    bail!("redis-server did not listen on {port}; its log:\n{log}")
}
