//! The two registries under test, as plain processes on loopback with their data under
//! `target/bench/<name>/`: `quay` (release build, mirror preset: SQLite + local storage, plain
//! HTTP, token auth with an initial user) and Debian's `docker-registry` (distribution 2.8,
//! filesystem storage, htpasswd Basic auth). Both log at `warn` without access logs.
//!
//! The process figures come from `/proc`: CPU seconds from `utime + stime` of
//! `/proc/PID/stat`, peak RSS from `VmHWM` of `/proc/PID/status`, reset through
//! `/proc/PID/clear_refs`.

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user both registries authenticate.
pub const USER: &str = "bench";
/// Its password.
pub const PASSWORD: &str = "bench-password-1";

/// A registry process, killed on drop.
pub struct Running {
    /// `quay` or `distribution`.
    pub name: &'static str,
    /// `target/bench/<name>/`: config, log and data.
    dir: std::path::PathBuf,
    /// How clients authenticate, for the report.
    pub auth: &'static str,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    child: Child,
}

fn log_file(dir: &Path) -> Result<(Stdio, Stdio)> {
    let log = std::fs::File::create(dir.join("server.log"))?;
    Ok((Stdio::from(log.try_clone()?), Stdio::from(log)))
}

fn fresh_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Starts the release `quay` binary with its data in `dir` (emptied first).
///
/// # Errors
/// When it cannot be spawned or is not ready within 60 s.
pub fn quay(bin: &Path, dir: &Path) -> Result<Running> {
    fresh_dir(dir)?;
    let port = crate::services::free_port()?;
    let (out, err) = log_file(dir)?;
    let mut cmd = Command::new(bin);
    cmd.arg("serve")
        .args(["--mode", "mirror", "--data-dir"])
        .arg(dir.join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--tls", "off"])
        .args(["--init-user", USER, "--init-password", PASSWORD])
        .env("RUST_LOG", "warn")
        .stdout(out)
        .stderr(err);
    for (k, _) in std::env::vars() {
        if k.starts_with("QUAY_") {
            cmd.env_remove(k);
        }
    }
    let child = cmd.spawn().context("spawning quay serve")?;
    ready(
        Running {
            name: "quay",
            dir: dir.to_path_buf(),
            auth: "token (Basic → /v2/auth → RS256 bearer)",
            base: format!("http://127.0.0.1:{port}"),
            child,
        },
        dir,
    )
}

/// Starts `docker-registry` with filesystem storage and htpasswd auth in `dir` (emptied first).
///
/// # Errors
/// When `htpasswd` fails, or the registry cannot be spawned or is not ready within 60 s.
pub fn distribution(dir: &Path) -> Result<Running> {
    fresh_dir(dir)?;
    let port = crate::services::free_port()?;
    let htpasswd = Command::new("htpasswd")
        .args(["-nbB", USER, PASSWORD])
        .output()
        .context("running htpasswd")?;
    if !htpasswd.status.success() {
        bail!(
            "htpasswd failed: {}",
            String::from_utf8_lossy(&htpasswd.stderr)
        );
    }
    std::fs::write(dir.join("htpasswd"), &htpasswd.stdout)?;
    let config = dir.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n\
             auth:\n  htpasswd:\n    realm: bench\n    path: {}\n",
            dir.join("data").display(),
            dir.join("htpasswd").display()
        ),
    )?;
    let (out, err) = log_file(dir)?;
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(out)
        .stderr(err)
        .spawn()
        .context("spawning docker-registry")?;
    ready(
        Running {
            name: "distribution",
            dir: dir.to_path_buf(),
            auth: "htpasswd Basic (bcrypt cost 5, checked per request)",
            base: format!("http://127.0.0.1:{port}"),
            child,
        },
        dir,
    )
}

/// Waits until `/v2/` answers (200 or 401) on the server's port.
fn ready(mut running: Running, dir: &Path) -> Result<Running> {
    let addr = running.base.trim_start_matches("http://").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(exit) = running.child.try_wait()? {
            bail!(
                "{} exited with {exit}:\n{}",
                running.name,
                std::fs::read_to_string(dir.join("server.log")).unwrap_or_default()
            );
        }
        if let Ok(status) = probe(&addr)
            && (status == 200 || status == 401)
        {
            return Ok(running);
        }
        if Instant::now() > deadline {
            bail!("{} did not answer /v2/ within 60 s", running.name);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status of a plain `GET /v2/` over a raw socket.
fn probe(addr: &str) -> Result<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    Ok(text.get(9..12).unwrap_or_default().parse()?)
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

impl Running {
    /// Stops the server and removes its data (gigabytes of blobs), keeping config and log.
    pub fn stop_and_clean(self) {
        let data = self.dir.join("data");
        drop(self);
        if let Err(e) = std::fs::remove_dir_all(&data) {
            eprintln!("bench: could not remove {}: {e}", data.display());
        }
    }

    /// The process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// User + system CPU seconds the server has used so far (all its threads).
    ///
    /// # Errors
    /// When `/proc/PID/stat` cannot be read or parsed.
    pub fn cpu_seconds(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        let after = stat.rsplit_once(')').context("/proc/PID/stat format")?.1;
        let fields: Vec<&str> = after.split_whitespace().collect();
        // Fields 14 and 15 of stat(5); `after` starts at field 3.
        let utime: f64 = fields.get(11).context("utime")?.parse()?;
        let stime: f64 = fields.get(12).context("stime")?.parse()?;
        Ok((utime + stime) / clock_ticks())
    }

    /// `VmHWM` (peak resident set) in MiB.
    ///
    /// # Errors
    /// When `/proc/PID/status` cannot be read or has no `VmHWM`.
    pub fn peak_rss_mib(&self) -> Result<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .context("VmHWM in /proc/PID/status")?;
        let kib: f64 = line
            .split_whitespace()
            .nth(1)
            .context("VmHWM value")?
            .parse()?;
        Ok(kib / 1024.0)
    }

    /// Resets `VmHWM` to the current RSS (`echo 5 > /proc/PID/clear_refs`).
    ///
    /// # Errors
    /// When the kernel refuses the write.
    pub fn reset_peak_rss(&self) -> Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5")
            .context("resetting the peak RSS through /proc/PID/clear_refs")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
