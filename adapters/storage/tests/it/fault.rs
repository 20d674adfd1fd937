//! Faults: the connection to the real server is cut mid-transfer by a TCP proxy in the test.
//!
//! Reads of immutable blobs resume from the first byte not delivered (bounded retries); when the
//! backend stays gone the stream ends with an error, never silently short. Writes fail with a
//! retryable error and leave nothing visible.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use quay_ports::storage::conformance::data::{pattern_stream, verify_stream};
use quay_ports::storage::stream::next_chunk;
use quay_ports::storage::{BlobStorage, StorageError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP proxy to `upstream` that cuts every open connection once `cut_after` bytes went
/// through it (either way). After the cut it keeps accepting when `keep_accepting`, else it
/// refuses every new connection (the backend is gone).
pub struct CuttingProxy {
    pub port: u16,
    moved: Arc<AtomicU64>,
    shared: Arc<Shared>,
    generation: watch::Sender<u64>,
    dead: Arc<AtomicBool>,
}

struct Shared {
    moved: Arc<AtomicU64>,
    generation: watch::Sender<u64>,
    dead: Arc<AtomicBool>,
    fired: AtomicBool,
    cut_after: u64,
    keep_accepting: bool,
}

async fn pump(mut r: OwnedReadHalf, mut w: OwnedWriteHalf, sh: Arc<Shared>) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
        let total = sh.moved.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if total >= sh.cut_after && !sh.fired.swap(true, Ordering::SeqCst) {
            if !sh.keep_accepting {
                sh.dead.store(true, Ordering::SeqCst);
            }
            sh.generation.send_modify(|g| *g += 1);
        }
    }
}

impl CuttingProxy {
    pub async fn start(upstream: String, cut_after: u64, keep_accepting: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (generation, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            moved: Arc::new(AtomicU64::new(0)),
            generation: generation.clone(),
            dead: Arc::new(AtomicBool::new(false)),
            fired: AtomicBool::new(false),
            cut_after,
            keep_accepting,
        });
        let sh = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if sh.dead.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream).await else {
                    continue;
                };
                let sh = sh.clone();
                tokio::spawn(async move {
                    let mut cut = sh.generation.subscribe();
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let up = tokio::spawn(pump(cr, sw, sh.clone()));
                    let down = tokio::spawn(pump(sr, cw, sh.clone()));
                    let _ = cut.changed().await;
                    up.abort();
                    down.abort();
                });
            }
        });
        Self {
            port,
            moved: shared.moved.clone(),
            shared: shared.clone(),
            generation,
            dead: shared.dead.clone(),
        }
    }

    /// Bytes moved so far.
    pub fn moved(&self) -> u64 {
        self.moved.load(Ordering::SeqCst)
    }

    /// Whether the byte budget was reached and the connections were cut.
    pub fn did_cut(&self) -> bool {
        self.shared.fired.load(Ordering::SeqCst)
    }

    /// Cuts every connection now and refuses new ones.
    pub fn kill(&self) {
        self.dead.store(true, Ordering::SeqCst);
        self.generation.send_modify(|g| *g += 1);
    }
}

const MIB: u64 = 1024 * 1024;

/// A download whose connection is cut once resumes and delivers every byte.
pub async fn read_resumes_after_a_cut(
    direct: &dyn BlobStorage,
    proxied: &dyn BlobStorage,
    proxy: &CuttingProxy,
) {
    let len = 24 * MIB;
    direct
        .put("blob", pattern_stream(40, 0, len, 256 * 1024), Some(len))
        .await
        .unwrap();
    let body = proxied.get("blob", None).await.unwrap();
    verify_stream(body, 40, 0, len)
        .await
        .unwrap_or_else(|e| panic!("resumed download: {e}"));
    assert!(proxy.did_cut(), "the connection was cut mid-transfer");
}

/// A download whose backend disappears mid-body ends with an error, not a short body.
pub async fn read_fails_clearly_when_the_backend_is_gone(
    direct: &dyn BlobStorage,
    proxied: &dyn BlobStorage,
    proxy: &CuttingProxy,
) {
    let len = 24 * MIB;
    direct
        .put("blob", pattern_stream(41, 0, len, 256 * 1024), Some(len))
        .await
        .unwrap();
    let mut body = proxied.get("blob", None).await.unwrap();
    let mut got = 0u64;
    let mut failed = None;
    while let Some(chunk) = next_chunk(&mut body).await {
        match chunk {
            Ok(c) => {
                got += c.len() as u64;
                if got >= 4 * MIB {
                    proxy.kill();
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let e = failed.unwrap_or_else(|| panic!("stream ended quietly after {got} of {len} bytes"));
    assert!(got < len, "all bytes arrived before the cut");
    assert!(
        e.to_string().contains("blob"),
        "the error names the object: {e}"
    );
}

/// An upload cut mid-body fails and leaves nothing visible; a chunk cut mid-body leaves the
/// upload usable from its previous state.
pub async fn writes_cut_mid_body_leave_nothing(
    direct: &dyn BlobStorage,
    proxied: &dyn BlobStorage,
    proxy: &CuttingProxy,
) {
    let len = 16 * MIB;
    let err = proxied
        .put("cut", pattern_stream(42, 0, len, 256 * 1024), Some(len))
        .await
        .expect_err("a write through a cut connection must fail");
    assert!(
        matches!(
            err,
            StorageError::Unavailable { .. }
                | StorageError::Timeout { .. }
                | StorageError::Backend { .. }
        ),
        "{err:?}"
    );
    assert_eq!(err.oci_code(), "UNAVAILABLE");
    assert!(proxy.moved() > MIB, "the cut happened mid-transfer");
    assert_eq!(
        direct.stat("cut").await.unwrap(),
        None,
        "a partial object is visible"
    );
    let st = direct.begin_upload().await.unwrap();
    let r = proxied
        .upload_chunk(&st, 0, pattern_stream(42, 0, len, 256 * 1024))
        .await;
    assert!(r.is_err(), "a chunk through a dead backend must fail");
    let (_, st) = direct
        .upload_chunk(&st, 0, pattern_stream(42, 0, 1000, 1000))
        .await
        .unwrap();
    direct.complete_upload(&st, "done").await.unwrap();
    let got = direct.get("done", None).await.unwrap();
    verify_stream(got, 42, 0, 1000).await.unwrap();
    assert!(direct.list("uploads/").await.unwrap().is_empty());
}

/// Completing an upload whose chunks the client joins survives a connection cut mid-join: the
/// chunks are still stored, so the join is retried from the start and the blob is whole.
pub async fn complete_retries_a_cut_join(
    direct: &dyn BlobStorage,
    proxied: &dyn BlobStorage,
    proxy: &CuttingProxy,
) {
    let part = 2 * MIB;
    let st = direct.begin_upload().await.unwrap();
    let (_, st) = direct
        .upload_chunk(&st, 0, pattern_stream(43, 0, part, 256 * 1024))
        .await
        .unwrap();
    let (_, st) = direct
        .upload_chunk(&st, part, pattern_stream(43, part, part, 256 * 1024))
        .await
        .unwrap();
    proxied
        .complete_upload(&st, "joined")
        .await
        .expect("the join is retried after the cut");
    assert!(proxy.did_cut(), "the connection was cut during the join");
    let got = direct.get("joined", None).await.unwrap();
    verify_stream(got, 43, 0, 2 * part).await.unwrap();
    assert!(direct.list("uploads/").await.unwrap().is_empty());
}

mod s3 {
    use super::*;

    async fn pair(
        cut_after: u64,
        keep: bool,
    ) -> (Arc<dyn BlobStorage>, Arc<dyn BlobStorage>, CuttingProxy) {
        let upstream = crate::support::service_env("QUAY_TEST_S3_ENDPOINT");
        let upstream = upstream.trim_start_matches("http://").to_string();
        let proxy = CuttingProxy::start(upstream, cut_after, keep).await;
        let root = crate::support::unique("s3fault");
        let direct = crate::s3::open(&root).await;
        let mut p = crate::s3::params(&root);
        p.endpoint_url = Some(format!("http://127.0.0.1:{}", proxy.port));
        let proxied = quay_adapter_storage::S3Storage::new(
            p.to_config().unwrap(),
            Arc::new(crate::support::CliCrypto),
        )
        .unwrap();
        (Arc::new(direct), Arc::new(proxied), proxy)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_resumes_after_a_cut() {
        let (d, p, proxy) = pair(6 * MIB, true).await;
        super::read_resumes_after_a_cut(&*d, &*p, &proxy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_fails_clearly_when_the_backend_is_gone() {
        let (d, p, proxy) = pair(u64::MAX, true).await;
        super::read_fails_clearly_when_the_backend_is_gone(&*d, &*p, &proxy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_cut_mid_body_leave_nothing() {
        let (d, p, proxy) = pair(3 * MIB, false).await;
        super::writes_cut_mid_body_leave_nothing(&*d, &*p, &proxy).await;
    }

    /// Chunks under the 5 MiB part minimum are joined by the client: the cut lands in the
    /// final `PUT` (about 5 MiB through: the chunk reads and the write move together).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn complete_retries_a_cut_join() {
        let (d, p, proxy) = pair(5 * MIB, true).await;
        super::complete_retries_a_cut_join(&*d, &*p, &proxy).await;
    }
}

mod azure {
    use super::*;

    async fn pair(
        cut_after: u64,
        keep: bool,
    ) -> (Arc<dyn BlobStorage>, Arc<dyn BlobStorage>, CuttingProxy) {
        let endpoint = url::Url::parse(&crate::support::service_env(
            "QUAY_TEST_AZURITE_BLOB_ENDPOINT",
        ))
        .unwrap();
        let upstream = format!("127.0.0.1:{}", endpoint.port().unwrap());
        let proxy = CuttingProxy::start(upstream, cut_after, keep).await;
        let root = crate::support::unique("azfault");
        let direct = crate::azure::open(&root).await;
        let mut p = crate::azure::params(&root);
        p.endpoint_url = Some(format!(
            "http://127.0.0.1:{}{}",
            proxy.port,
            endpoint.path()
        ));
        let proxied =
            quay_adapter_storage::AzureStorage::new(&p, Arc::new(crate::support::CliCrypto))
                .unwrap();
        (Arc::new(direct), Arc::new(proxied), proxy)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_resumes_after_a_cut() {
        let (d, p, proxy) = pair(6 * MIB, true).await;
        super::read_resumes_after_a_cut(&*d, &*p, &proxy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn read_fails_clearly_when_the_backend_is_gone() {
        let (d, p, proxy) = pair(u64::MAX, true).await;
        super::read_fails_clearly_when_the_backend_is_gone(&*d, &*p, &proxy).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn writes_cut_mid_body_leave_nothing() {
        let (d, p, proxy) = pair(3 * MIB, false).await;
        super::writes_cut_mid_body_leave_nothing(&*d, &*p, &proxy).await;
    }
}
