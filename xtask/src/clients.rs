//! Real registry clients for the end-to-end tests and the benchmark, from Debian's packages.
//!
//! - `skopeo` and `podman`: the real-client tests (`tests/tests/it/clients.rs`). Podman runs as
//!   root with its own storage root; it only pushes and pulls, so it needs no systemd, no
//!   container runtime setup and no network configuration.
//! - `docker-registry`: Debian's build of the CNCF distribution registry, the peer the benchmark
//!   (`cargo xtask bench`) measures against, `htpasswd` (apache2-utils) for its Basic auth, and
//!   `wrk`, the HTTP load generator of the benchmark's manifest GET figures.
//!
//! [`ensure`] installs whatever is missing with `apt-get` and fails loudly when it cannot: a
//! missing client is a CI failure, never a skipped test.

use anyhow::{Context, Result, bail};
use std::process::Command;

/// A tool the tests or the benchmark run, and the Debian package that provides it.
const TOOLS: &[(&str, &str)] = &[
    ("skopeo", "skopeo"),
    ("podman", "podman"),
    ("docker-registry", "docker-registry"),
    ("htpasswd", "apache2-utils"),
    ("wrk", "wrk"),
];

/// Whether `tool` is an executable file on `PATH`.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Whether this process runs as root (and so may install packages).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Installs Debian `packages` (`apt-get update` once per process first), without recommended
/// packages unless `recommends`; as root only, else fails naming the command to run.
///
/// # Errors
/// When not root, or when `apt-get` fails.
pub fn apt_install(packages: &[&str], recommends: bool) -> Result<()> {
    static UPDATED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let list = packages.join(" ");
    if !is_root() {
        bail!("missing packages: run `apt-get install -y {list}` as root");
    }
    let updated = *UPDATED.get_or_init(|| {
        Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok_and(|s| s.success())
    });
    if !updated {
        bail!("apt-get update failed");
    }
    let mut install = Command::new("apt-get");
    install.args(["install", "-y", "-qq"]);
    if !recommends {
        install.arg("--no-install-recommends");
    }
    let status = install
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !status.success() {
        bail!("apt-get install -y {list} failed ({status})");
    }
    Ok(())
}

/// Installs skopeo, podman, docker-registry, htpasswd and wrk when any is missing.
///
/// # Errors
/// When a tool is missing and we are not root, or `apt-get` fails, or a tool is still missing
/// after the install.
pub fn ensure() -> Result<()> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("clients: installing {}", missing.join(" "));
    apt_install(&missing, true)?;
    let still: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| !on_path(tool))
        .map(|(tool, _)| *tool)
        .collect();
    if !still.is_empty() {
        bail!("still missing after apt-get install: {}", still.join(" "));
    }
    Ok(())
}
