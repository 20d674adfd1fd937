//! The loopback floor: what sending bytes over loopback TCP costs the sender with no server at
//! all (1 MiB `write`s from memory to a reader thread), in CPU seconds per GB. No registry can
//! pull for less, so it shows how far a pull CPU target is reachable on this kernel.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};

use anyhow::{Context, Result};

/// Bytes sent per measurement.
const TOTAL: usize = 2 << 30;
/// Bytes per `write`.
const PIECE: usize = 1 << 20;

/// CPU time of the calling thread, seconds (`/proc/thread-self/schedstat`: nanoseconds on CPU).
fn thread_cpu_seconds() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat")
        .context("reading /proc/thread-self/schedstat")?;
    let ns: f64 = text
        .split_whitespace()
        .next()
        .context("empty schedstat")?
        .parse()
        .context("schedstat")?;
    Ok(ns / 1e9)
}

/// The sender's CPU seconds per GB for [`TOTAL`] bytes over loopback.
///
/// # Errors
/// When the loopback connection cannot be made or breaks.
pub fn cpu_s_per_gb() -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding loopback")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> Result<usize> {
        let (mut conn, _) = listener.accept()?;
        let mut buf = vec![0u8; PIECE];
        let mut got = 0;
        loop {
            match conn.read(&mut buf)? {
                0 => return Ok(got),
                n => got += n,
            }
        }
    });
    let mut conn = TcpStream::connect(addr).context("connecting over loopback")?;
    let piece = vec![0x5au8; PIECE];
    let before = thread_cpu_seconds()?;
    for _ in 0..TOTAL / PIECE {
        conn.write_all(&piece).context("writing over loopback")?;
    }
    let spent = thread_cpu_seconds()? - before;
    drop(conn);
    let got = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    anyhow::ensure!(got == TOTAL, "the reader got {got} of {TOTAL} bytes");
    Ok(spent / (TOTAL as f64 / 1e9))
}
