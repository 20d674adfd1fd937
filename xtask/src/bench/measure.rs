//! Every figure for one registry, measured in a fixed order on a fresh instance.

use anyhow::Result;
use std::time::Duration;

use super::data::{Blobs, manifest};
use super::http::Registry;
use super::load;
use super::servers::{PASSWORD, Running, USER};

/// The figures of one registry.
#[derive(Debug, Default)]
pub struct Figures {
    /// `quay` or `distribution`.
    pub name: &'static str,
    /// How the clients authenticated.
    pub auth: &'static str,
    /// Monolithic push of 256 MiB, GB/s (median of 3).
    pub mono_push_gbps: f64,
    /// Chunked push of 256 MiB in 16 MiB chunks, GB/s (median of 3).
    pub chunked_push_gbps: f64,
    /// Blob pull of 512 MiB, GB/s (median of 3).
    pub pull_gbps: f64,
    /// Time to first byte of those pulls, ms (median of 3).
    pub pull_ttfb_ms: f64,
    /// Server CPU seconds per GB pulled (over the 3 pulls).
    pub pull_cpu_s_per_gb: f64,
    /// Manifest GETs per second at 16 connections.
    pub get_rps_16: f64,
    /// Manifest GETs per second at 64 connections.
    pub get_rps_64: f64,
    /// Non-2xx answers during the GET runs.
    pub get_errors: u64,
    /// Manifest PUT latency p50, ms.
    pub put_p50_ms: f64,
    /// Manifest PUT latency p90, ms.
    pub put_p90_ms: f64,
    /// Peak RSS while 1 GiB is pushed and 16 clients pull, MiB.
    pub rss_phase_mib: f64,
    /// Time of that 1 GiB push, s.
    pub rss_phase_push_s: f64,
    /// Peak RSS over the whole run, MiB.
    pub rss_run_mib: f64,
}

impl Figures {
    /// The figures of a registry that could not be measured: every number is NaN.
    pub fn failed(name: &'static str, auth: &'static str) -> Self {
        let n = f64::NAN;
        Self {
            name,
            auth,
            mono_push_gbps: n,
            chunked_push_gbps: n,
            pull_gbps: n,
            pull_ttfb_ms: n,
            pull_cpu_s_per_gb: n,
            get_rps_16: n,
            get_rps_64: n,
            get_errors: 0,
            put_p50_ms: n,
            put_p90_ms: n,
            rss_phase_mib: n,
            rss_phase_push_s: n,
            rss_run_mib: n,
        }
    }
}

const GB: f64 = 1e9;
/// Seconds per manifest GET run.
const GET_SECONDS: u32 = 5;
/// Runs of each push figure (the median is reported).
const PUSH_RUNS: usize = 3;
/// Sequential manifest PUTs for the latency figures.
const PUTS: usize = 200;

fn gbps(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / GB / took.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Which figures a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every figure (`cargo xtask bench`).
    All,
    /// Pull throughput, time to first byte and server CPU (`cargo xtask bench pull`).
    Pull,
    /// Manifest GETs per second (`cargo xtask bench manifest`).
    Manifest,
    /// Monolithic and chunked push throughput (`cargo xtask bench push`).
    Push,
}

impl Scope {
    fn pushes(self) -> bool {
        matches!(self, Self::All | Self::Push)
    }
    pub(super) fn pulls(self) -> bool {
        matches!(self, Self::All | Self::Pull)
    }
    fn gets(self) -> bool {
        matches!(self, Self::All | Self::Manifest)
    }
}

/// Measures `server` (fresh, empty) with `blobs`: the figures of `scope`, the others NaN.
///
/// # Errors
/// When a request fails: a broken registry gets no figures.
pub async fn run(server: &Running, blobs: &Blobs, scope: Scope) -> Result<Figures> {
    let mut f = Figures::failed(server.name, server.auth);
    let registry = Registry::login(&server.base, &format!("{USER}/bench"), USER, PASSWORD).await?;
    // Warm-up: the repository exists and the small blobs are in place.
    registry.push_monolithic(&blobs.layer).await?;
    registry.push_monolithic(&blobs.config).await?;
    registry.put_manifest("latest", manifest(blobs, 0)?).await?;
    registry.get_manifest("latest").await?;

    if scope.pushes() {
        pushes(&mut f, &registry, blobs).await?;
    }
    if scope.pulls() {
        pulls(&mut f, server, &registry, blobs).await?;
    }
    if scope.gets() {
        eprintln!("bench[{}]: manifest GETs", f.name);
        let (rps, e16) = load::manifest_gets(&registry, "latest", 16, GET_SECONDS)?;
        f.get_rps_16 = rps;
        let (rps, e64) = load::manifest_gets(&registry, "latest", 64, GET_SECONDS)?;
        f.get_rps_64 = rps;
        f.get_errors = e16 + e64;
    }
    if scope == Scope::All {
        puts_and_mixed(&mut f, server, &registry, blobs).await?;
    }
    Ok(f)
}

async fn pushes(f: &mut Figures, registry: &Registry, blobs: &Blobs) -> Result<()> {
    eprintln!("bench[{}]: pushes", f.name);
    // Median of a few runs (the later ones upload a blob that exists, which every registry
    // still receives, hashes and stores in full before de-duplicating).
    let (mut mono, mut chunked) = (Vec::new(), Vec::new());
    for _ in 0..PUSH_RUNS {
        let took = registry.push_monolithic(&blobs.mono).await?;
        mono.push(gbps(blobs.mono.data.len(), took));
        let took = registry.push_chunked(&blobs.chunked, 16 << 20).await?;
        chunked.push(gbps(blobs.chunked.data.len(), took));
    }
    f.mono_push_gbps = median(mono);
    f.chunked_push_gbps = median(chunked);
    Ok(())
}

async fn pulls(
    f: &mut Figures,
    server: &Running,
    registry: &Registry,
    blobs: &Blobs,
) -> Result<()> {
    eprintln!("bench[{}]: pulls", f.name);
    registry.push_monolithic(&blobs.pull).await?;
    let cpu_before = server.cpu_seconds()?;
    let (mut rates, mut ttfbs, mut bytes) = (Vec::new(), Vec::new(), 0u64);
    for _ in 0..3 {
        let pull = registry.pull(&blobs.pull.digest).await?;
        anyhow::ensure!(pull.bytes == blobs.pull.data.len() as u64, "short pull");
        rates.push(pull.bytes as f64 / GB / pull.total.as_secs_f64());
        ttfbs.push(pull.ttfb.as_secs_f64() * 1e3);
        bytes += pull.bytes;
    }
    f.pull_cpu_s_per_gb = (server.cpu_seconds()? - cpu_before) / (bytes as f64 / GB);
    f.pull_gbps = median(rates);
    f.pull_ttfb_ms = median(ttfbs);
    Ok(())
}

/// Manifest PUT latencies, then the peak RSS of a 1 GiB push beside 16 pulls.
async fn puts_and_mixed(
    f: &mut Figures,
    server: &Running,
    registry: &Registry,
    blobs: &Blobs,
) -> Result<()> {
    eprintln!("bench[{}]: manifest PUTs", f.name);
    let manifests = (1..=PUTS)
        .map(|n| manifest(blobs, n))
        .collect::<Result<Vec<_>>>()?;
    let latencies = load::manifest_puts(registry, manifests).await?;
    f.put_p50_ms = load::quantile_ms(&latencies, 0.5);
    f.put_p90_ms = load::quantile_ms(&latencies, 0.9);

    eprintln!("bench[{}]: 1 GiB push beside 16 pulls", f.name);
    f.rss_run_mib = server.peak_rss_mib()?;
    server.reset_peak_rss()?;
    let (push, _) = load::push_beside_pulls(registry, &blobs.big, &blobs.pull.digest, 16).await?;
    f.rss_phase_push_s = push.as_secs_f64();
    f.rss_phase_mib = server.peak_rss_mib()?;
    f.rss_run_mib = f.rss_run_mib.max(f.rss_phase_mib);
    Ok(())
}
