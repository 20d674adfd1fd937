//! Bounded memory: a 1 GiB blob goes through a driver (chunked upload, then streamed download)
//! while this process's peak RSS stays under 64 MiB.
//!
//! The transfer runs in a child process (this test binary, running one ignored test), so the
//! peak (`VmHWM` in `/proc/self/status`) measures that transfer alone.

use std::process::Command;

use quay_ports::storage::BlobStorage;
use quay_ports::storage::conformance::data::{pattern_stream, verify_stream};

const GIB: u64 = 1024 * 1024 * 1024;
const LIMIT_KIB: u64 = 64 * 1024;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

async fn transfer(s: &dyn BlobStorage) {
    let st = s.begin_upload().await.expect("begin");
    let (n, st) = s
        .upload_chunk(&st, 0, pattern_stream(50, 0, GIB, 256 * 1024))
        .await
        .expect("1 GiB chunk");
    assert_eq!(n, GIB);
    s.complete_upload(&st, "sha256/1g/1gib")
        .await
        .expect("complete");
    let body = s.get("sha256/1g/1gib", None).await.expect("get");
    verify_stream(body, 50, 0, GIB)
        .await
        .expect("1 GiB read back");
    s.delete("sha256/1g/1gib").await.expect("delete");
}

fn run_child(test: &str) -> u64 {
    let exe = std::env::current_exe().expect("test binary");
    let out = Command::new(exe)
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("running the child test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child {test} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak = stdout
        .split("PEAK_RSS_KIB=")
        .nth(1)
        .map(|v| {
            v.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("the child reports its peak RSS:\n{stdout}"));
    eprintln!("{test}: peak RSS {} MiB while moving 1 GiB", peak / 1024);
    peak
}

#[tokio::test]
#[ignore = "child process of s3_moves_1gib_in_bounded_memory"]
async fn child_s3_1gib() {
    let s = crate::s3::open(&crate::support::unique("s3mem")).await;
    transfer(&s).await;
    println!("PEAK_RSS_KIB={}", peak_rss_kib());
}

#[tokio::test]
#[ignore = "child process of azure_moves_1gib_in_bounded_memory"]
async fn child_azure_1gib() {
    let s = crate::azure::open(&crate::support::unique("azmem")).await;
    transfer(&s).await;
    println!("PEAK_RSS_KIB={}", peak_rss_kib());
}

#[test]
fn s3_moves_1gib_in_bounded_memory() {
    let _ = crate::support::service_env("QUAY_TEST_S3_ENDPOINT");
    let peak = run_child("memory::child_s3_1gib");
    assert!(peak < LIMIT_KIB, "peak RSS {peak} KiB over {LIMIT_KIB} KiB");
}

#[test]
fn azure_moves_1gib_in_bounded_memory() {
    let _ = crate::support::service_env("QUAY_TEST_AZURITE_KEY");
    let peak = run_child("memory::child_azure_1gib");
    assert!(peak < LIMIT_KIB, "peak RSS {peak} KiB over {LIMIT_KIB} KiB");
}
