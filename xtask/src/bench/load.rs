//! Load shapes: manifest GETs at a fixed connection count (driven by `wrk`, whose C event loop
//! leaves the two cores to the server rather than to the load generator), sequential manifest
//! PUTs, and the mixed phase of one 1 GiB push beside 16 pulling clients.

use anyhow::{Context, Result, bail};
use std::process::Command;
use std::time::Duration;

use super::data::Blob;
use super::http::{OCI_MANIFEST, Registry};

/// Requests per second of `GET manifests/<reference>` over `connections` connections for
/// `seconds`, and the count of non-2xx answers.
///
/// # Errors
/// When `wrk` fails or its output lacks the rate.
pub fn manifest_gets(
    registry: &Registry,
    reference: &str,
    connections: u32,
    seconds: u32,
) -> Result<(f64, u64)> {
    let url = registry.url(&format!("manifests/{reference}"))?;
    let out = Command::new("wrk")
        .args(["-t", "2", "-c", &connections.to_string()])
        .args(["-d", &format!("{seconds}s"), "--timeout", "10s"])
        .args([
            "-H",
            &format!("Authorization: {}", registry.authorization()?),
        ])
        .args(["-H", &format!("Accept: {OCI_MANIFEST}")])
        .arg(url.as_str())
        .output()
        .context("running wrk")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|v| v.trim().to_owned())
    };
    let rate: f64 = field("Requests/sec:")
        .context("no Requests/sec in wrk's output")?
        .parse()?;
    let errors: u64 = field("Non-2xx or 3xx responses:")
        .map(|v| v.parse())
        .transpose()?
        .unwrap_or(0);
    let socket_errors = field("Socket errors:").unwrap_or_default();
    if !socket_errors.is_empty() {
        eprintln!("bench: wrk socket errors at {connections} connections: {socket_errors}");
    }
    Ok((rate, errors))
}

/// Latencies of `count` sequential manifest PUTs (distinct manifests, distinct tags), sorted.
///
/// # Errors
/// When a PUT fails.
pub async fn manifest_puts(registry: &Registry, manifests: Vec<Vec<u8>>) -> Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(manifests.len());
    for (i, body) in manifests.into_iter().enumerate() {
        latencies.push(registry.put_manifest(&format!("put-{i}"), body).await?);
    }
    latencies.sort();
    Ok(latencies)
}

/// The `q` quantile of sorted latencies, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// One monolithic push of `big` while `pullers` clients each pull `pulled` once; returns the
/// push time and the bytes the pullers read.
///
/// # Errors
/// When the push or a pull fails.
pub async fn push_beside_pulls(
    registry: &Registry,
    big: &Blob,
    pulled: &str,
    pullers: usize,
) -> Result<(Duration, u64)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..pullers {
        let registry = registry.clone();
        let digest = pulled.to_owned();
        tasks.spawn(async move { registry.pull(&digest).await.map(|p| p.bytes) });
    }
    let push = registry.push_monolithic(big).await?;
    let mut bytes = 0;
    while let Some(joined) = tasks.join_next().await {
        bytes += joined.context("a pulling task panicked")??;
    }
    Ok((push, bytes))
}
