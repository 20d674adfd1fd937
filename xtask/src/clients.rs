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

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
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
    if !is_root() {
        bail!(
            "missing registry clients: run `apt-get install -y {}` as root",
            missing.join(" ")
        );
    }
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .context("running apt-get update")?;
    if !update.success() {
        bail!("apt-get update failed ({update})");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !install.success() {
        bail!(
            "apt-get install -y {} failed ({install})",
            missing.join(" ")
        );
    }
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
