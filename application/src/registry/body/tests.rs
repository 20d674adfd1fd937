//! Tests of the body tally and its hashing thread.

use super::*;
use futures_util::StreamExt;

/// An order-sensitive checksum (FNV-1a) standing in for SHA-256; fails past `fail_after`.
struct Fnv {
    state: u64,
    seen: u64,
    fail_after: u64,
    /// Closed when the hasher is dropped.
    _alive: Option<std::sync::mpsc::Sender<()>>,
}

impl Fnv {
    fn boxed(fail_after: u64) -> Box<dyn HashStream> {
        Box::new(Self {
            state: 0xcbf2_9ce4_8422_2325,
            seen: 0,
            fail_after,
            _alive: None,
        })
    }

    fn of(data: &[u8]) -> String {
        let mut h = Self::boxed(u64::MAX);
        h.update(data).unwrap();
        h.finish().unwrap()
    }
}

impl HashStream for Fnv {
    fn update(&mut self, data: &[u8]) -> Result<(), DigestError> {
        self.seen += data.len() as u64;
        if self.seen > self.fail_after {
            return Err(DigestError::Backend("provider failure".into()));
        }
        for b in data {
            self.state = (self.state ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<String, DigestError> {
        Ok(format!("{:016x}", self.state))
    }

    fn export_state(&self) -> Option<Vec<u8>> {
        Some(self.state.to_le_bytes().to_vec())
    }
}

fn noise(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

fn body_of(data: &[u8], piece: usize) -> ByteStream {
    let pieces: Vec<Result<Bytes, io::Error>> = data
        .chunks(piece)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces).boxed()
}

async fn drain(mut body: ByteStream) -> (Vec<u8>, Option<io::Error>) {
    let mut out = Vec::new();
    while let Some(item) = body.next().await {
        match item {
            Ok(chunk) => out.extend_from_slice(&chunk),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[test]
fn gunzip_counts_the_first_member_only() {
    let raw = vec![7u8; 10_240];
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    io::Write::write_all(&mut enc, &raw).unwrap();
    let gz = enc.finish().unwrap();
    let mut g = Gunzip::new();
    for part in gz.chunks(7) {
        g.update(part);
    }
    assert_eq!(g.finish(), Some(10_240));
    let mut not_gzip = Gunzip::new();
    not_gzip.update(b"{\"architecture\":\"amd64\"}");
    assert_eq!(not_gzip.finish(), None);
}

/// Small and large bodies (the latter hashed on a thread) pass through whole, in order, and
/// leave the hash of every byte and the inflated size in the tally.
#[tokio::test]
async fn every_byte_is_passed_on_and_hashed() {
    let raw = noise(3 << 20);
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    io::Write::write_all(&mut enc, &raw).unwrap();
    let gz = enc.finish().unwrap();
    for data in [&raw[..1000], &raw[..], &gz[..]] {
        let tally = SharedTally::new(Some(Fnv::boxed(u64::MAX)), Some(Gunzip::new()));
        let body = tallied(body_of(data, 32 * 1024 + 7), tally.clone(), u64::MAX);
        let (out, err) = drain(body).await;
        assert!(err.is_none(), "{err:?}");
        assert_eq!(out, data);
        let seen = tally.take();
        assert_eq!(seen.written, data.len() as u64);
        assert_eq!(seen.hasher.unwrap().finish().unwrap(), Fnv::of(data));
        let inflated = seen.gunzip.unwrap().finish();
        let expected = (data.len() == gz.len()).then_some(raw.len() as u64);
        assert_eq!(inflated, expected);
    }
}

/// Polling again after the end keeps answering "no more".
#[tokio::test]
async fn the_end_stays_the_end() {
    let tally = SharedTally::new(Some(Fnv::boxed(u64::MAX)), None);
    let mut body = tallied(body_of(&noise(2 << 20), 64 * 1024), tally, u64::MAX);
    while body.next().await.is_some() {}
    assert!(body.next().await.is_none());
}

/// A hash that fails (on the thread or before it) ends the body with an error, never with
/// a normal end a driver would take for a whole body.
#[tokio::test]
async fn a_failing_hash_breaks_the_body() {
    let data = noise(4 << 20);
    for fail_after in [1000, 2 << 20] {
        let tally = SharedTally::new(Some(Fnv::boxed(fail_after)), None);
        let body = tallied(body_of(&data, 16 * 1024), tally.clone(), u64::MAX);
        let (_, err) = drain(body).await;
        let err = err.expect("the body must fail");
        assert!(
            err.to_string().contains("digest computation failed"),
            "{err}"
        );
    }
}

/// Past the allowance the body fails and says so, on either side of the thread hand-over.
#[tokio::test]
async fn too_large_bodies_are_cut_off() {
    let data = noise(3 << 20);
    for allowance in [500, (2 << 20) + 1] {
        let tally = SharedTally::new(Some(Fnv::boxed(u64::MAX)), None);
        let body = tallied(body_of(&data, 16 * 1024), tally.clone(), allowance);
        let (out, err) = drain(body).await;
        assert!(err.is_some());
        assert!(out.len() as u64 <= allowance);
        assert!(tally.take().too_large);
    }
}

/// A body abandoned midway (the client went away) stops its hashing thread.
#[tokio::test]
async fn an_abandoned_body_lets_its_thread_go() {
    let data = noise(2 << 20);
    let (alive, dropped) = std::sync::mpsc::channel();
    let hasher = Box::new(Fnv {
        state: 0,
        seen: 0,
        fail_after: u64::MAX,
        _alive: Some(alive),
    });
    let tally = SharedTally::new(Some(hasher), None);
    let mut body = tallied(body_of(&data, 16 * 1024), tally.clone(), u64::MAX);
    // Past the hand-over to the thread (1 MiB).
    for _ in 0..100 {
        body.next().await.unwrap().unwrap();
    }
    drop(body);
    let gone = dropped.recv_timeout(std::time::Duration::from_secs(10));
    assert_eq!(gone, Err(std::sync::mpsc::RecvTimeoutError::Disconnected));
    assert!(tally.take().hasher.is_none());
}
