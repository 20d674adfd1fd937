//! `cargo xtask ci`: everything CI runs, in order, failing at the first red step.
//!
//! fmt → layers → clippy (`-D warnings`) → build → services up → tests on the default
//! provider → crypto tests under the FIPS provider → `quay fips status` under it → services down. Services are stopped even when a step fails.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

/// A cargo command for CI. Incremental compilation is off: a CI build is never resumed, and
/// its `target/debug/incremental` would take as much disk as everything else built.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(crate::services::root())
        .env("CARGO_INCREMENTAL", "0");
    cmd
}

/// Free space CI needs under `target/` before it builds: the debug build, the test binaries,
/// the services' data (Swift, PostgreSQL) and the 1 GiB objects of the memory tests. Runs on a
/// fresh clone took 3.6–4.1 GB at their peak (3.4–3.6 GB of it `target/`), with the crates
/// already downloaded; the rest is margin for a cold cargo registry.
const MIN_FREE_GIB: u64 = 6;

/// Free bytes on the file system holding `path`, from GNU `df`.
fn free_bytes(path: &std::path::Path) -> Result<u64> {
    let out = Command::new("df")
        .args(["--output=avail", "-B1"])
        .arg(path)
        .output()
        .context("running df")?;
    let text = String::from_utf8_lossy(&out.stdout);
    parse_avail(&text)
        .with_context(|| format!("unreadable df output for {}: {text}", path.display()))
}

/// The byte count of `df --output=avail -B1`: a header line, then the number.
fn parse_avail(text: &str) -> Option<u64> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    lines.next()?;
    lines.next()?.parse().ok()
}

/// Prints the free space of the file systems CI writes to (`target/` and the temporary
/// directory the servers spool to).
fn report_disk(when: &str) {
    let root = crate::services::root();
    for path in [root.join("target"), std::env::temp_dir()] {
        let probe = if path.exists() { path } else { root.clone() };
        match free_bytes(&probe) {
            Ok(b) => eprintln!(
                "disk {when}: {:.1} GiB free under {}",
                b as f64 / f64::from(1u32 << 30),
                probe.display()
            ),
            Err(e) => eprintln!("disk {when}: {e:#}"),
        }
    }
}

/// Refuses to start when the disk cannot hold a CI run: on a full disk the failures are
/// confusing (Swift answers 503 below its 1 % reserve, moto 500, the linker a truncated file).
fn check_disk() -> Result<()> {
    let root = crate::services::root();
    let free = free_bytes(&root)?;
    if free < MIN_FREE_GIB << 30 {
        bail!(
            "only {:.1} GiB free under {}; CI needs at least {MIN_FREE_GIB} GiB (debug build, \
             test binaries, service data). Free some space (an old target/ is the usual culprit) \
             and run again",
            free as f64 / f64::from(1u32 << 30),
            root.display()
        );
    }
    Ok(())
}

fn step(name: &str, mut cmd: Command) -> Result<()> {
    let started = Instant::now();
    eprintln!("==> {name}");
    let status = cmd
        .status()
        .with_context(|| format!("{name}: could not start"))?;
    eprintln!(
        "<== {name}: {status} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if !status.success() {
        bail!("CI step `{name}` failed");
    }
    Ok(())
}

/// Entry point of `cargo xtask ci`.
pub fn run(_args: &[String]) -> Result<()> {
    let started = Instant::now();
    report_disk("at start");
    check_disk()?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    step("cargo fmt --check", fmt)?;

    eprintln!("==> layers");
    crate::layers::run()?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]);
    step("cargo clippy -D warnings", clippy)?;

    // The exact command the end-to-end harness runs (`quay_e2e::quay_bin`), so that its own
    // build finds everything fresh instead of linking a second binary with other features.
    let mut build = cargo();
    build.args(["build", "-p", "quay", "--bin", "quay", "--locked"]);
    step(
        "cargo build (the quay binary for the end-to-end tests)",
        build,
    )?;

    eprintln!("==> real registry clients (skopeo, podman) and benchmark peers");
    crate::clients::ensure()?;
    let env = crate::services::up()?;
    let result = tests(&env);
    report_disk("after the tests");
    let stopped = crate::services::down();
    result?;
    stopped?;
    eprintln!("ci: green in {:.0}s", started.elapsed().as_secs_f64());
    Ok(())
}

fn tests(env: &[(String, String)]) -> Result<()> {
    let mut test = cargo();
    test.args(["test", "--workspace", "--locked", "--no-fail-fast"])
        .env("CI", "true");
    for (k, v) in env {
        test.env(k, v);
    }
    step("cargo test (default OpenSSL provider)", test)?;
    eprintln!("==> crypto tests under the OpenSSL FIPS provider");
    crate::fips::test()?;
    fips_gate()
}

/// `quay fips status` under the FIPS provider with `FEATURE_FIPS: true` must report FIPS as
/// enforced (exit 0); the refusal without the provider is an end-to-end test.
fn fips_gate() -> Result<()> {
    let mut status = Command::new(crate::services::root().join("target/debug/quay"));
    status.args(["fips", "status", "--mode", "mirror", "--data-dir"]);
    status.arg(crate::services::root().join("target/fips-gate"));
    status.env("QUAY_CONFIG__FEATURE_FIPS", "true");
    for (k, v) in crate::fips::env()? {
        status.env(k, v);
    }
    step("quay fips status under the FIPS provider", status)
}

#[cfg(test)]
mod tests {
    use super::parse_avail;

    #[test]
    fn reads_dfs_available_bytes() {
        assert_eq!(parse_avail("    Avail\n 8912896000\n"), Some(8_912_896_000));
        assert_eq!(parse_avail("Avail\n"), None);
        assert_eq!(parse_avail("Avail\n-\n"), None);
        assert_eq!(parse_avail(""), None);
    }
}
