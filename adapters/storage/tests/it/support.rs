//! Test support: crypto through the `openssl` CLI, service environment, HTTP fetches.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

use quay_ports::storage::signing::{MacAlgorithm, SigningError, StorageCrypto};
use url::Url;

/// `StorageCrypto` through the `openssl` command-line tool (tests only; bin wires quay-fips).
#[derive(Debug, Default)]
pub struct CliCrypto;

fn openssl(args: &[&str], input: &[u8]) -> Result<Vec<u8>, SigningError> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SigningError::Backend(Box::new(e)))?;
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .map_err(|e| SigningError::Backend(Box::new(e)))?;
    let out = child
        .wait_with_output()
        .map_err(|e| SigningError::Backend(Box::new(e)))?;
    if !out.status.success() {
        return Err(SigningError::Backend(
            String::from_utf8_lossy(&out.stderr).into_owned().into(),
        ));
    }
    Ok(out.stdout)
}

impl StorageCrypto for CliCrypto {
    fn hmac(&self, alg: MacAlgorithm, key: &[u8], data: &[u8]) -> Result<Vec<u8>, SigningError> {
        let md = match alg {
            MacAlgorithm::Sha1 => "-sha1",
            MacAlgorithm::Sha256 => "-sha256",
        };
        let keyopt = format!("hexkey:{}", hex::encode(key));
        openssl(
            &["dgst", md, "-mac", "HMAC", "-macopt", &keyopt, "-binary"],
            data,
        )
    }

    fn sha256(&self, data: &[u8]) -> Result<[u8; 32], SigningError> {
        let out = openssl(&["dgst", "-sha256", "-binary"], data)?;
        out.try_into()
            .map_err(|_| SigningError::Backend("short digest".into()))
    }
}

/// The value of a service variable written by `cargo xtask services up`; fails when unset.
pub fn service_env(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: run `cargo xtask services up` and export what it prints \
             (or `eval $(cargo xtask services env)`) before running these tests"
        ),
    }
}

/// A token unique in this test process and across runs.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        quay_adapter_storage::now_unix(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// GET `url` with a plain client: status and body.
pub async fn fetch(url: &Url) -> (u16, Vec<u8>) {
    let resp = reqwest::get(url.clone())
        .await
        .expect("fetching a signed URL");
    let status = resp.status().as_u16();
    let body = resp.bytes().await.expect("reading a signed URL").to_vec();
    (status, body)
}
