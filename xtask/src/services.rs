//! Throw-away services for tests, started as plain processes under `target/services/`.
//!
//! PostgreSQL 15 (`initdb`, `pg_ctl` on PATH) runs on a free loopback port with trust
//! authentication. PostgreSQL refuses to run as root, so as root the cluster belongs to the
//! `postgres` system user (created when missing). `services up` prints the environment the tests
//! read (`QUAY_TEST_PG_URL`) and writes it to `target/services/env`.
//!
//! The object stores of the storage conformance suite run beside it (see `object_stores`): an
//! S3-compatible server (moto, from PyPI) and Azurite (from npm), installed under
//! `target/services/` when missing, and a one-node Swift from Debian's packages (`swift`).
//! Redis (`redis-server` from Debian, see `redis`) serves the pull-statistics tests
//! (`QUAY_TEST_REDIS_URL`).
//! Keystone (Debian's `python3-keystone`, see `keystone`) with a second Swift proxy using
//! keystonemiddleware serves the Swift driver's Keystone tests (`QUAY_TEST_KEYSTONE_*`).

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

mod keystone;
mod object_stores;
mod redis;
mod swift;

/// Entry point of `cargo xtask services`.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("up") => {
            for (k, v) in up()? {
                println!("export {k}={v}");
            }
            Ok(())
        }
        Some("down") => down(),
        Some("env") => {
            for (k, v) in read_env()? {
                println!("export {k}={v}");
            }
            Ok(())
        }
        _ => bail!("usage: cargo xtask services up|down|env"),
    }
}

/// The project root (the workspace directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn services_dir() -> PathBuf {
    root().join("target").join("services")
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("binding a probe socket on loopback")?;
    Ok(listener.local_addr()?.port())
}

/// Whether process `pid` is alive (it has an entry under `/proc`).
fn alive(pid: impl std::fmt::Display) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Sends `pid` SIGTERM with kill(1) when it is alive; returns whether it was. A failing `kill`
/// is not an error: the process may have exited in between.
fn terminate(pid: &str) -> bool {
    if !alive(pid) {
        return false;
    }
    let _ = Command::new("kill").arg(pid).status();
    true
}

/// Stops every process recorded in `pids` (`name:pid[:port]` lines, as `up` writes them),
/// printing `<service> <name> stopped` for each one that was alive, then removes the file.
/// A missing file means nothing was started; lines without a pid are skipped.
fn stop_recorded(pids: &Path, service: &str) {
    let Ok(text) = std::fs::read_to_string(pids) else {
        return;
    };
    for line in text.lines() {
        let mut parts = line.split(':');
        let (Some(name), Some(pid)) = (parts.next(), parts.next()) else {
            continue;
        };
        if terminate(pid) {
            eprintln!("{service} {name} stopped");
        }
    }
    let _ = std::fs::remove_file(pids);
}

use crate::clients::is_root;

/// Runs a PostgreSQL tool, as the `postgres` user when we are root.
fn pg_command(tool: &str) -> Command {
    if is_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--", tool]);
        cmd
    } else {
        Command::new(tool)
    }
}

fn ensure_postgres_user() -> Result<()> {
    if !is_root() {
        return Ok(());
    }
    let exists = Command::new("id")
        .arg("postgres")
        .output()?
        .status
        .success();
    if !exists {
        let status = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "postgres",
            ])
            .status()
            .context("running useradd postgres")?;
        if !status.success() {
            bail!("could not create the `postgres` system user that runs the test cluster");
        }
    }
    Ok(())
}

fn run_ok(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: could not start"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn pg_running(data: &Path) -> bool {
    pg_command("pg_ctl")
        .arg("-D")
        .arg(data)
        .arg("status")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Starts the services that are not running yet and returns the test environment.
pub fn up() -> Result<Vec<(String, String)>> {
    let dir = services_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut env = pg_up(&dir)?;
    env.extend(object_stores::up(&dir)?);
    env.extend(swift::up(&dir.join("swift"))?);
    env.extend(keystone::up(&dir.join("keystone"), &dir.join("swift"))?);
    env.extend(redis::up(&dir.join("redis"))?);
    let text: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    std::fs::write(dir.join("env"), text)?;
    Ok(env)
}

/// Starts the PostgreSQL test cluster unless it runs; returns its variables.
fn pg_up(dir: &Path) -> Result<Vec<(String, String)>> {
    let pg_dir = dir.join("pg");
    let data = pg_dir.join("data");
    if pg_running(&data) {
        return Ok(read_env()?
            .into_iter()
            .filter(|(k, _)| k.starts_with("QUAY_TEST_PG_"))
            .collect());
    }
    which("initdb")?;
    which("pg_ctl")?;
    ensure_postgres_user()?;
    if pg_dir.exists() {
        std::fs::remove_dir_all(&pg_dir)
            .with_context(|| format!("removing {}", pg_dir.display()))?;
    }
    std::fs::create_dir_all(&pg_dir)?;
    if is_root() {
        run_ok(
            {
                let mut c = Command::new("chown");
                c.arg("-R").arg("postgres").arg(&pg_dir);
                c
            },
            "chown of the test cluster directory",
        )?;
    }
    let mut initdb = pg_command("initdb");
    initdb
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
            "-D",
        ])
        .arg(&data);
    run_ok(initdb, "initdb")?;
    let port = free_port()?;
    let opts = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=300 -c shared_buffers=64MB",
        pg_dir.display()
    );
    let mut start = pg_command("pg_ctl");
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(pg_dir.join("log"))
        .args(["-o", &opts, "-w", "-t", "60", "start"]);
    run_ok(start, "pg_ctl start").with_context(|| {
        let log = std::fs::read_to_string(pg_dir.join("log")).unwrap_or_default();
        format!("PostgreSQL did not start; its log:\n{log}")
    })?;
    let env = vec![(
        "QUAY_TEST_PG_URL".to_string(),
        format!("postgres://postgres@127.0.0.1:{port}/postgres"),
    )];
    eprintln!(
        "PostgreSQL test cluster on 127.0.0.1:{port} ({})",
        data.display()
    );
    Ok(env)
}

/// Stops what `up` started. Stopping nothing is not an error.
pub fn down() -> Result<()> {
    object_stores::down(&services_dir())?;
    keystone::down(&services_dir().join("keystone"))?;
    swift::down(&services_dir().join("swift"))?;
    redis::down(&services_dir().join("redis"))?;
    let data = services_dir().join("pg").join("data");
    if pg_running(&data) {
        let mut stop = pg_command("pg_ctl");
        stop.arg("-D").arg(&data).args(["-m", "fast", "-w", "stop"]);
        run_ok(stop, "pg_ctl stop")?;
        eprintln!("PostgreSQL test cluster stopped");
    }
    Ok(())
}

fn read_env() -> Result<Vec<(String, String)>> {
    let path = services_dir().join("env");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} missing: run `cargo xtask services up`", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}

fn which(tool: &str) -> Result<()> {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    if !found {
        bail!(
            "`{tool}` is not on PATH: install PostgreSQL 15 (Debian: apt-get install postgresql-15) \
             and put /usr/lib/postgresql/15/bin on PATH"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn stop_recorded_terminates_live_pids_and_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("xtask-stop-recorded-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut child = Command::new("sleep").arg("60").spawn().expect("sleep");
        let pids = dir.join("pids");
        // A live process, a line without a pid, and a pid that cannot be alive.
        std::fs::write(
            &pids,
            format!("sleeper:{}:0\nbroken\ngone:4294967295:1\n", child.id()),
        )
        .expect("write pids");
        stop_recorded(&pids, "test");
        let status = child.wait().expect("wait for sleep");
        assert_eq!(status.signal(), Some(15), "SIGTERM from kill(1): {status}");
        assert!(!pids.exists(), "the pids file is removed");
        // Nothing recorded: nothing to do, and no error.
        stop_recorded(&pids, "test");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
