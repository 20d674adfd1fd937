//! `cargo xtask bench`: speed and memory of `quay` against Debian's `docker-registry` (the CNCF
//! distribution registry, 2.8) in the same run, on loopback, both with auth on. Figures, not
//! assertions: the report prints each ratio beside the target of issue 3 and is written to
//! `target/bench/report.md`.
//!
//! - `cargo xtask bench`: installs the tools (`clients::ensure`), builds `quay` in release,
//!   generates the blobs once (`target/bench/data/`), then measures distribution and quay one
//!   after the other on fresh data directories (the idle one is stopped, so each has both
//!   cores). Figures: monolithic and chunked push, pull throughput, time to first byte and
//!   server CPU per GB, manifest GETs/s at 16 and 64 connections (`wrk`), manifest PUT p50/p90,
//!   and peak RSS while a 1 GiB blob is pushed beside 16 pulling clients.
//! - `cargo xtask bench pull` / `cargo xtask bench manifest`: only the pull figures (throughput,
//!   time to first byte, server CPU per GB) or only the manifest GETs/s, for both registries in
//!   the same run; the report goes to `target/bench/report-pull.md` / `report-manifest.md`.
//! - `cargo xtask bench push`: only the monolithic and chunked push figures, for both registries
//!   in the same run (`target/bench/report-push.md`).
//! - `BENCH_QUAY_BIN=/path/to/quay`: measure that binary instead of building one (to compare
//!   two builds against distribution); `BENCH_RUN_DIR=/some/dir`: the servers' directories and
//!   the report go there instead of `target/bench/` (for runs that overlap another one).
//! - `cargo xtask bench clients`: the real-client scenarios of `tests/tests/it/clients.rs`
//!   against distribution, a smoke check of the test harness itself (not of quay), kept out of
//!   the default test suite.

mod data;
mod floor;
mod http;
mod load;
mod measure;
mod report;
mod servers;

use anyhow::{Context, Result, bail};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use measure::{Figures, Scope};

/// Entry point of `cargo xtask bench`.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        None => full(Scope::All),
        Some("pull") => full(Scope::Pull),
        Some("manifest") => full(Scope::Manifest),
        Some("push") => full(Scope::Push),
        Some("clients") => peer_clients(),
        Some(other) => {
            bail!("unknown `bench {other}`: usage: cargo xtask bench [pull|manifest|push|clients]")
        }
    }
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(crate::services::root());
    cmd
}

fn peer_clients() -> Result<()> {
    crate::clients::ensure()?;
    let status = cargo()
        .args(["test", "-p", "quay-e2e", "--test", "it", "--locked"])
        .args([
            "clients::peer_distribution_smoke",
            "--",
            "--ignored",
            "--exact",
        ])
        .status()
        .context("running cargo test")?;
    if !status.success() {
        bail!("the client scenarios failed against distribution");
    }
    Ok(())
}

fn build_release() -> Result<std::path::PathBuf> {
    if let Some(bin) = std::env::var_os("BENCH_QUAY_BIN") {
        eprintln!(
            "bench: measuring {} (BENCH_QUAY_BIN)",
            bin.to_string_lossy()
        );
        return Ok(bin.into());
    }
    eprintln!("bench: cargo build --release -p quay");
    let status = cargo()
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "quay",
            "--bin",
            "quay",
        ])
        .status()
        .context("running cargo build --release")?;
    if !status.success() {
        bail!("cargo build --release -p quay failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| crate::services::root().join("target"));
    Ok(target.join("release").join("quay"))
}

fn measure_one(
    rt: &tokio::runtime::Runtime,
    start: impl FnOnce() -> Result<servers::Running>,
    blobs: &data::Blobs,
    scope: Scope,
    name: &'static str,
    notes: &mut Vec<String>,
) -> Figures {
    let result = start().and_then(|server| {
        let figures = rt.block_on(measure::run(&server, blobs, scope));
        server.stop_and_clean();
        figures
    });
    result.unwrap_or_else(|e| {
        eprintln!("bench: {name} could not be measured: {e:#}");
        notes.push(format!("{name} could not be measured: {e:#}"));
        Figures::failed(name, "n/a")
    })
}

fn full(scope: Scope) -> Result<()> {
    let started = Instant::now();
    crate::clients::ensure()?;
    let bin = build_release()?;
    let measured = Instant::now();
    let dir = crate::services::root().join("target").join("bench");
    let blobs = data::prepare(&dir.join("data"))?;
    // Server directories and report: `BENCH_RUN_DIR` lets two runs share the machine without
    // removing each other's servers' data (the blobs stay in `target/bench/data`).
    let dir = std::env::var_os("BENCH_RUN_DIR").map_or(dir, std::path::PathBuf::from);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut notes = vec![format!("load average before: {}", load_average())];
    let peer = measure_one(
        &rt,
        || servers::distribution(&dir.join("distribution")),
        &blobs,
        scope,
        "distribution",
        &mut notes,
    );
    let quay = measure_one(
        &rt,
        || servers::quay(&bin, &dir.join("quay")),
        &blobs,
        scope,
        "quay",
        &mut notes,
    );
    notes.push(format!("load average after: {}", load_average()));
    notes.push(
        "the machine is shared: absolute figures move with its load, so compare the two columns \
         of one run; issue 3's reference run had distribution pulling 512 MiB at ~2.5 GB/s and \
         serving ~1.9k manifest GETs/s at 16 connections"
            .to_owned(),
    );
    notes.push(format!(
        "sha256sum on this machine: {:.2} GB/s (one core; every push is hashed server-side)",
        sha256_rate(&crate::services::root().join("target/bench/data/mono-256m.bin"))
    ));
    if scope.pulls() {
        match floor::cpu_s_per_gb() {
            Ok(floor) => notes.push(format!(
                "loopback floor: a bare sender writing 1 MiB pieces to a reader over loopback TCP \
                 spends {floor:.2} CPU-s/GB (the kernel's TCP path, which every pull pays on top \
                 of the server's own work)"
            )),
            Err(e) => notes.push(format!("loopback floor could not be measured: {e:#}")),
        }
    }
    notes.push(format!(
        "machine: {} cores; client and server share them; loopback HTTP/1.1; one server runs at a time",
        std::thread::available_parallelism().map_or(0, usize::from)
    ));
    notes.push(format!(
        "quay: release build, mirror preset (SQLite, local storage), RUST_LOG=warn; \
         distribution {}: filesystem storage, log level warn, access log off",
        peer_version()
    ));
    notes.push(format!(
        "measured in {:.0} s (plus {:.0} s of tool install and release build)",
        measured.elapsed().as_secs_f64(),
        (measured - started).as_secs_f64()
    ));
    let text = report::render(&quay, &peer, &notes);
    println!("{text}");
    let file = match scope {
        Scope::All => "report.md",
        Scope::Pull => "report-pull.md",
        Scope::Manifest => "report-manifest.md",
        Scope::Push => "report-push.md",
    };
    write_report(&dir.join(file), &text)
}

/// `/proc/loadavg`'s 1, 5 and 15 minute figures: the machine is shared, so say how busy it was.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// GB/s of `sha256sum` over `file` (a bound on any registry's push throughput here).
fn sha256_rate(file: &Path) -> f64 {
    let size = std::fs::metadata(file).map_or(0, |m| m.len());
    let started = Instant::now();
    let ok = Command::new("sha256sum")
        .arg(file)
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        size as f64 / 1e9 / started.elapsed().as_secs_f64()
    } else {
        f64::NAN
    }
}

fn peer_version() -> String {
    Command::new("docker-registry")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn write_report(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("bench: report written to {}", path.display());
    Ok(())
}
