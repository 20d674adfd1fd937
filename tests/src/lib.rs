//! Harness for end-to-end tests: builds and runs the real `quay` binary on a free port.
#![doc = include_str!("../README.md")]

use anyhow::{Context, Result, bail};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one level below the workspace root")
        .to_path_buf()
}

/// Path of the `quay` binary, built once per test process (`cargo build -p quay`).
///
/// # Panics
/// When the binary cannot be built: an end-to-end test cannot run without it.
pub fn quay_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "quay", "--bin", "quay"])
            .current_dir(workspace_root())
            .status()
            .expect("running cargo build for the quay binary");
        assert!(status.success(), "cargo build -p quay failed");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"));
        let bin = target.join("debug").join("quay");
        assert!(bin.is_file(), "{} missing after cargo build", bin.display());
        bin
    })
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Runs `quay ARGS` to completion with a clean environment for the `QUAY_*` variables.
pub fn quay(args: &[&str]) -> Output {
    quay_command(args).output().expect("running quay")
}

/// A `quay` command with the `QUAY_*` variables of the caller's environment removed.
pub fn quay_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(quay_bin());
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("QUAY_") && k != "QUAY_TEST_PG_URL" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A running `quay serve`, killed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT` or `https://...`.
    pub base: String,
    /// When the process was spawned.
    pub started: Instant,
    log: PathBuf,
}

impl Server {
    /// Spawns `quay serve ARGS --listen 127.0.0.1:PORT`; output goes to a log file in `dir`.
    ///
    /// # Errors
    /// When the process cannot be spawned.
    pub fn spawn(dir: &Path, args: &[&str], tls: bool) -> Result<Self> {
        Self::spawn_on(dir, args, tls, free_port())
    }

    /// As [`Server::spawn`], on a port chosen by the caller (e.g. one already written into a
    /// config file's `SERVER_HOSTNAME`).
    ///
    /// # Errors
    /// When the process cannot be spawned.
    pub fn spawn_on(dir: &Path, args: &[&str], tls: bool, port: u16) -> Result<Self> {
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(format!("quay-{port}.log"));
        let out = std::fs::File::create(&log)?;
        let mut all: Vec<&str> = vec!["serve", "--listen", &listen];
        all.extend_from_slice(args);
        let mut command = quay_command(&all);
        let started = Instant::now();
        let child = command
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()
            .context("spawning quay serve")?;
        let scheme = if tls { "https" } else { "http" };
        Ok(Self {
            child,
            base: format!("{scheme}://127.0.0.1:{port}"),
            started,
            log,
        })
    }

    /// The server's output so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Polls `path` until it answers `status`, or fails after `within`.
    ///
    /// # Errors
    /// When the server exits or does not answer in time; the error carries its output.
    pub async fn wait_for(
        &mut self,
        path: &str,
        status: u16,
        within: Duration,
    ) -> Result<Duration> {
        let client = client();
        let deadline = self.started + within;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                bail!("quay exited with {exit}:\n{}", self.output());
            }
            if let Ok(resp) = client.get(format!("{}{path}", self.base)).send().await
                && resp.status().as_u16() == status
            {
                return Ok(self.started.elapsed());
            }
            if Instant::now() > deadline {
                bail!(
                    "{path} did not answer {status} within {within:?}:\n{}",
                    self.output()
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    ///
    /// # Errors
    /// When the signal cannot be sent or the process does not stop within 10 s.
    pub fn terminate(&mut self) -> Result<std::process::ExitStatus> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        if !status.success() {
            bail!("kill -TERM failed");
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(exit) = self.child.try_wait()? {
                return Ok(exit);
            }
            if Instant::now() > deadline {
                bail!(
                    "quay did not stop within 10 s of SIGTERM:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that accepts the self-signed certificates of test servers.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(10))
        .build()
        .expect("building the test HTTP client")
}

/// The PostgreSQL superuser URL of the test cluster.
///
/// # Panics
/// When `QUAY_TEST_PG_URL` is unset: run `cargo xtask services up` (or `cargo xtask ci`).
pub fn pg_url() -> String {
    std::env::var("QUAY_TEST_PG_URL").expect(
        "QUAY_TEST_PG_URL is not set: start the test PostgreSQL with `cargo xtask services up` \
         and export what it prints, or run the whole suite with `cargo xtask ci`",
    )
}

/// A database name unique to this test process and call, so that concurrent runs sharing one
/// PostgreSQL cluster (or tests in one run) never collide: `<prefix>_<pid>_<n>`.
pub fn unique_db_name(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

fn run_sql(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs `sql` on a SQLite file with the `sqlite3` CLI and returns its trimmed output.
///
/// # Panics
/// When the CLI fails.
pub fn sqlite(db: &Path, sql: &str) -> String {
    let mut cmd = Command::new("sqlite3");
    cmd.arg(db).arg(sql);
    run_sql(cmd, "sqlite3")
}

/// Runs `sql` on a PostgreSQL URL with `psql` (unaligned, tuples only) and returns its output.
///
/// # Panics
/// When `psql` fails.
pub fn psql(url: &str, sql: &str) -> String {
    let mut cmd = Command::new("psql");
    cmd.args([url, "-XAtqc", sql]);
    run_sql(cmd, "psql")
}
