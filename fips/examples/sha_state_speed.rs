//! Throughput of the resumable SHA-256 behind `blobupload.sha_state`, beside OpenSSL's SHA-256
//! over the same bytes: `cargo run --release -p quay-fips --example sha_state_speed [MiB]`.

use std::time::Instant;

use quay_fips::upload_state::ResumableSha256;

fn main() {
    let mib: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(256);
    let data: Vec<u8> = (0..mib << 20).map(|i| (i * 31 % 251) as u8).collect();
    // 64 KiB pieces (the size of a body chunk off the socket), one odd split to cover buffering.
    let started = Instant::now();
    let mut h = ResumableSha256::new();
    h.update(&data[..7]);
    for piece in data[7..].chunks(64 * 1024) {
        h.update(piece);
    }
    let ours = h.finish();
    let took = started.elapsed().as_secs_f64();
    println!(
        "resumable sha256: {:.0} MB/s ({mib} MiB)",
        data.len() as f64 / 1e6 / took
    );
    let started = Instant::now();
    let openssl = quay_fips::digest::sha256_digest(&data).expect("openssl sha256");
    let took = started.elapsed().as_secs_f64();
    println!(
        "openssl sha256:   {:.0} MB/s",
        data.len() as f64 / 1e6 / took
    );
    let ours = format!("sha256:{}", hex::encode(ours));
    assert_eq!(ours, openssl, "the two digests differ");
}
