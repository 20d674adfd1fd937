//! `cargo xtask ci`: everything CI runs, in order, failing at the first red step.
//!
//! fmt → layers → clippy (`-D warnings`) → build → services up → tests on the default
//! provider → crypto tests under the FIPS provider → `quay fips status` under it → services down. Services are stopped even when a step fails.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Instant;

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(crate::services::root());
    cmd
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

    let mut build = cargo();
    build.args(["build", "--workspace", "--bins", "--locked"]);
    step("cargo build (binaries for the end-to-end tests)", build)?;

    eprintln!("==> real registry clients (skopeo, podman) and benchmark peers");
    crate::clients::ensure()?;
    let env = crate::services::up()?;
    let result = tests(&env);
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
