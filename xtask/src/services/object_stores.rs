//! Object stores for the storage conformance suite, as plain processes under `target/services/`.
//!
//! - **moto** (PyPI `moto[server]`, in a virtualenv at `target/services/moto/venv`): an
//!   S3-compatible server for the S3 family and for GCS's S3 interoperability mode. Chosen over
//!   s3s-fs because it installs from a registry without compiling (this machine has 2 cores),
//!   and it implements what Quay's S3 driver uses (multipart upload, `UploadPartCopy`, presigned
//!   URLs with expiry).
//! - **Azurite** (npm `azurite`, at `target/services/azurite`): Microsoft's Blob emulator, which
//!   checks Shared Key and SAS signatures.
//!
//! Each runs on a free loopback port; its pid is kept in `<name>/pid`, its log in `<name>/log`.
//! A server still running from an earlier `up` is reused.

use anyhow::{Context, Result, bail};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::free_port;

/// Pinned versions: a new release must not change what CI tests against unnoticed.
const MOTO: &str = "moto[server]==5.2.5";
const AZURITE: &str = "azurite@3.35.0";

/// Azurite's well-known development account and key (public, documented by Microsoft).
const AZURITE_ACCOUNT: &str = "devstoreaccount1";
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Starts moto and Azurite unless running; returns their test variables.
pub fn up(dir: &Path) -> Result<Vec<(String, String)>> {
    let mut env = Vec::new();
    let s3_port = moto_up(&dir.join("moto"))?;
    let s3 = format!("http://127.0.0.1:{s3_port}");
    env.push(("QUAY_TEST_S3_ENDPOINT".to_string(), s3));
    env.push((
        "QUAY_TEST_S3_ACCESS_KEY".to_string(),
        "quaytest".to_string(),
    ));
    env.push((
        "QUAY_TEST_S3_SECRET_KEY".to_string(),
        "quaytestsecret".to_string(),
    ));
    env.push(("QUAY_TEST_S3_REGION".to_string(), "us-east-1".to_string()));
    let az_port = azurite_up(&dir.join("azurite"))?;
    env.push((
        "QUAY_TEST_AZURITE_BLOB_ENDPOINT".to_string(),
        format!("http://127.0.0.1:{az_port}/{AZURITE_ACCOUNT}"),
    ));
    env.push((
        "QUAY_TEST_AZURITE_ACCOUNT".to_string(),
        AZURITE_ACCOUNT.to_string(),
    ));
    env.push(("QUAY_TEST_AZURITE_KEY".to_string(), AZURITE_KEY.to_string()));
    Ok(env)
}

/// Stops the servers `up` started (by their recorded pid).
pub fn down(dir: &Path) -> Result<()> {
    for name in ["moto", "azurite"] {
        let sdir = dir.join(name);
        if let Some((pid, _)) = running(&sdir) {
            let status = Command::new("kill")
                .arg(pid.to_string())
                .status()
                .with_context(|| format!("stopping {name}"))?;
            if !status.success() {
                bail!("could not stop {name} (pid {pid})");
            }
            let _ = std::fs::remove_file(sdir.join("pid"));
            eprintln!("{name} stopped");
        }
    }
    Ok(())
}

/// `(pid, port)` of a server recorded in `sdir/pid` that is alive and listening.
fn running(sdir: &Path) -> Option<(u32, u16)> {
    let text = std::fs::read_to_string(sdir.join("pid")).ok()?;
    let (pid, port) = text.trim().split_once(':')?;
    let (pid, port): (u32, u16) = (pid.parse().ok()?, port.parse().ok()?);
    (super::alive(pid) && listening(port)).then_some((pid, port))
}

/// Whether something accepts TCP connections on loopback `port`.
pub(super) fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(300),
    )
    .is_ok()
}

fn run_install(mut cmd: Command, what: &str, log: &Path) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: could not start"))?;
    std::fs::write(log, [&out.stdout[..], &out.stderr[..]].concat())?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}); see {}:\n{}",
            out.status,
            log.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Spawns `cmd` detached with its output in `sdir/log`, waits for `port`, records the pid.
fn spawn_server(mut cmd: Command, sdir: &Path, port: u16, name: &str) -> Result<()> {
    let log = std::fs::File::create(sdir.join("log"))?;
    let child = cmd
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let pid = child.id();
    let started = Instant::now();
    while !listening(port) {
        if started.elapsed() > Duration::from_secs(90) || !super::alive(pid) {
            let log = std::fs::read_to_string(sdir.join("log")).unwrap_or_default();
            bail!("{name} did not start listening on 127.0.0.1:{port}; its log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::fs::write(sdir.join("pid"), format!("{pid}:{port}"))?;
    eprintln!("{name} on 127.0.0.1:{port} (pid {pid})");
    Ok(())
}

fn moto_up(sdir: &Path) -> Result<u16> {
    if let Some((_, port)) = running(sdir) {
        return Ok(port);
    }
    std::fs::create_dir_all(sdir)?;
    let venv = sdir.join("venv");
    let server: PathBuf = venv.join("bin").join("moto_server");
    if !server.is_file() {
        let mut mk = Command::new("python3");
        mk.args(["-m", "venv"]).arg(&venv);
        run_install(mk, "python3 -m venv (for moto)", &sdir.join("install.log"))?;
        let mut pip = Command::new(venv.join("bin").join("pip"));
        pip.args(["install", "--quiet", MOTO]);
        run_install(pip, "pip install 'moto[server]'", &sdir.join("install.log"))?;
    }
    let port = free_port()?;
    let mut cmd = Command::new(&server);
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
        // Objects stay in memory (this machine has plenty) instead of spooling to the temporary
        // directory past 5 MiB: the 1 GiB memory tests would otherwise need that much disk twice.
        .env("MOTO_S3_DEFAULT_KEY_BUFFER_SIZE", (4u64 << 30).to_string());
    spawn_server(cmd, sdir, port, "moto (S3-compatible server)")?;
    Ok(port)
}

fn azurite_up(sdir: &Path) -> Result<u16> {
    if let Some((_, port)) = running(sdir) {
        return Ok(port);
    }
    std::fs::create_dir_all(sdir)?;
    let bin = sdir.join("node_modules").join(".bin").join("azurite-blob");
    if !bin.is_file() {
        let mut npm = Command::new("npm");
        npm.args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(sdir)
            .arg(AZURITE);
        run_install(npm, "npm install azurite", &sdir.join("install.log"))?;
    }
    // Blobs are kept in memory: the 1 GiB memory tests left 1.2 GiB of extents on disk.
    let data = sdir.join("data");
    if data.exists() {
        std::fs::remove_dir_all(&data)?;
    }
    let port = free_port()?;
    let mut cmd = Command::new(&bin);
    cmd.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .args(["--inMemoryPersistence", "--extentMemoryLimit", "4096"])
        .args([
            "--skipApiVersionCheck",
            "--disableProductStyleUrl",
            "--disableTelemetry",
        ]);
    spawn_server(cmd, sdir, port, "Azurite (Azure Blob emulator)")?;
    Ok(port)
}
