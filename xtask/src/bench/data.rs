//! Benchmark content: incompressible pseudo-random blobs, generated once under
//! `target/bench/data/` with their digests (computed by `sha256sum`: the xtask links no crypto).

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// A blob in memory with its digest.
#[derive(Clone)]
pub struct Blob {
    /// `sha256:<hex>`.
    pub digest: String,
    /// The content.
    pub data: Bytes,
}

/// Every blob the benchmark pushes or pulls.
pub struct Blobs {
    /// 256 MiB, pushed monolithically.
    pub mono: Blob,
    /// 256 MiB, pushed in 16 MiB chunks.
    pub chunked: Blob,
    /// 512 MiB, pulled.
    pub pull: Blob,
    /// 1 GiB, pushed while 16 clients pull (the peak RSS phase).
    pub big: Blob,
    /// A small image config and layer for the manifest figures.
    pub config: Blob,
    /// See `config`.
    pub layer: Blob,
}

const MIB: usize = 1 << 20;

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// `sha256:<hex>` of `data`, from `sha256sum`.
pub fn sha256(data: &[u8]) -> Result<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running sha256sum")?;
    let mut stdin = child.stdin.take().context("sha256sum stdin")?;
    let input = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().context("waiting for sha256sum")?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("sha256sum writer panicked"))?
        .context("writing to sha256sum")?;
    if !out.status.success() {
        bail!("sha256sum failed");
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let hex = text.split_whitespace().next().context("sha256sum output")?;
    Ok(format!("sha256:{hex}"))
}

/// Loads `name` from `dir`, generating it (and its digest file) when missing.
fn blob(dir: &Path, name: &str, seed: u64, len: usize) -> Result<Blob> {
    let path = dir.join(format!("{name}.bin"));
    let digest_path = dir.join(format!("{name}.sha256"));
    if let (Ok(data), Ok(digest)) = (std::fs::read(&path), std::fs::read_to_string(&digest_path))
        && data.len() == len
        && digest.starts_with("sha256:")
    {
        return Ok(Blob {
            digest: digest.trim().to_owned(),
            data: Bytes::from(data),
        });
    }
    eprintln!("bench: generating {name} ({} MiB)", len / MIB);
    let data = noise(seed, len);
    let digest = sha256(&data)?;
    std::fs::write(&path, &data).with_context(|| format!("writing {}", path.display()))?;
    std::fs::write(&digest_path, &digest)?;
    Ok(Blob {
        digest,
        data: Bytes::from(data),
    })
}

/// Every blob of the benchmark, from (or into) `dir`.
///
/// # Errors
/// When the directory cannot be written or `sha256sum` fails.
pub fn prepare(dir: &Path) -> Result<Blobs> {
    std::fs::create_dir_all(dir)?;
    let layer = blob(dir, "layer", 5, 64 << 10)?;
    let config_json = serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
    });
    let config_data = serde_json::to_vec(&config_json)?;
    let config = Blob {
        digest: sha256(&config_data)?,
        data: Bytes::from(config_data),
    };
    Ok(Blobs {
        mono: blob(dir, "mono-256m", 1, 256 * MIB)?,
        chunked: blob(dir, "chunked-256m", 2, 256 * MIB)?,
        pull: blob(dir, "pull-512m", 3, 512 * MIB)?,
        big: blob(dir, "big-1g", 4, 1024 * MIB)?,
        config,
        layer,
    })
}

/// An OCI image manifest over `blobs.config` and `blobs.layer`, made distinct by `n`.
pub fn manifest(blobs: &Blobs, n: usize) -> Result<Vec<u8>> {
    let descriptor = |media_type: &str, b: &Blob| serde_json::json!({"mediaType": media_type, "digest": b.digest, "size": b.data.len()});
    Ok(serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": super::http::OCI_MANIFEST,
        "config": descriptor("application/vnd.oci.image.config.v1+json", &blobs.config),
        "layers": [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", &blobs.layer)],
        "annotations": {"org.example.bench.n": n.to_string()},
    }))?)
}
