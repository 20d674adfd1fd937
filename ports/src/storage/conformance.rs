//! The `BlobStorage` conformance suite: every driver runs it against a real server.
//!
//! A driver's integration tests implement [`Harness`] (how to open the driver on a fresh root,
//! how to fetch a signed URL) and expand [`crate::blob_storage_conformance!`], which generates
//! one `#[tokio::test]` per check below. Each check opens its own root (a fresh prefix), so the
//! checks run in parallel against one server. A check panics with a description on failure.

pub mod data;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use super::{BlobStorage, ByteRange, DownloadUrlRequest, StorageError, UploadState, stream};
use data::{failing_stream, pattern, pattern_stream, verify_stream};

/// What the suite needs from a driver's test setup.
#[async_trait]
pub trait Harness: Send + Sync {
    /// Opens the driver on `root` (a prefix, directory or container path). Opening the same root
    /// again must see the same objects: that is how the suite simulates a restart.
    async fn open(&self, root: &str) -> Arc<dyn BlobStorage>;

    /// A root no other check or run uses.
    fn fresh_root(&self) -> String;

    /// The current Unix time (signed URLs are made relative to it).
    fn now_unix(&self) -> i64;

    /// Fetches `url` with a plain HTTP client: status and body.
    async fn fetch(&self, url: &Url) -> (u16, Vec<u8>);

    /// Whether this driver, as configured, must sign direct-download URLs.
    fn signs_urls(&self) -> bool;

    /// Whether the server checks URL signatures and expiry. moto serves presigned URLs without
    /// checking them; its drivers' signing is covered by published signature vectors instead.
    fn server_checks_url_signatures(&self) -> bool {
        true
    }

    /// Prefix of objects that stay after completion as parts of the blob (Swift's DLO
    /// segments live under `segments/` until the blob is deleted); none by default.
    fn blob_parts_prefix(&self) -> Option<&'static str> {
        None
    }

    /// Size of the "large" object (bounded-memory streaming); default 64 MiB.
    fn large_size(&self) -> u64 {
        64 * 1024 * 1024
    }
}

const CHUNK: usize = 64 * 1024;

async fn fresh(h: &dyn Harness) -> (String, Arc<dyn BlobStorage>) {
    let root = h.fresh_root();
    let s = h.open(&root).await;
    (root, s)
}

fn check<T>(r: Result<T, StorageError>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e} ({e:?})"),
    }
}

async fn put_pattern(s: &dyn BlobStorage, path: &str, seed: u8, len: u64) {
    let n = check(
        s.put(path, pattern_stream(seed, 0, len, CHUNK), Some(len))
            .await,
        "put",
    );
    assert_eq!(n, len, "put reported {n} bytes written for {len}");
}

async fn assert_content(s: &dyn BlobStorage, path: &str, seed: u8, len: u64) {
    let meta = check(s.stat(path).await, "stat").expect("object exists after write");
    assert_eq!(meta.size, len, "stat size of {path}");
    let body = check(s.get(path, None).await, "get");
    if let Err(e) = verify_stream(body, seed, 0, len).await {
        panic!("content of {path}: {e}");
    }
}

/// put, stat, get, get_bytes; overwrite replaces.
pub async fn round_trip(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let path = "sha256/ab/abcdef";
    put_pattern(&*s, path, 1, 300_000).await;
    assert_content(&*s, path, 1, 300_000).await;
    let small = check(s.get_bytes(path, 300_000).await, "get_bytes");
    assert_eq!(&small[..], &pattern(1, 0, 300_000)[..]);
    assert!(matches!(
        s.get_bytes(path, 1000).await,
        Err(StorageError::TooLarge { .. })
    ));
    put_pattern(&*s, path, 2, 1000).await;
    assert_content(&*s, path, 2, 1000).await;
    // Unknown size: drivers must stream without a length.
    let n = check(
        s.put("unsized", pattern_stream(3, 0, 200_000, 7000), None)
            .await,
        "put without size",
    );
    assert_eq!(n, 200_000);
    assert_content(&*s, "unsized", 3, 200_000).await;
}

/// Missing objects: stat is None, get is NotFound.
pub async fn missing_objects(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    assert_eq!(check(s.stat("sha256/00/0000").await, "stat"), None);
    match s.get("sha256/00/0000", None).await {
        Err(StorageError::NotFound { .. }) => {}
        Err(e) => panic!("get of a missing object: {e:?}"),
        Ok(_) => panic!("get of a missing object succeeded"),
    }
}

/// Ranged reads.
pub async fn ranges(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let len = 100_000;
    put_pattern(&*s, "obj", 4, len).await;
    for (start, end) in [(0, 1), (10, 20_000), (99_999, 100_000), (5000, len)] {
        let body = check(
            s.get("obj", Some(ByteRange::new(start, end))).await,
            "range get",
        );
        if let Err(e) = verify_stream(body, 4, start, end - start).await {
            panic!("range {start}..{end}: {e}");
        }
    }
    let body = check(
        s.get("obj", Some(ByteRange::from(60_000))).await,
        "open range",
    );
    verify_stream(body, 4, 60_000, len - 60_000)
        .await
        .unwrap_or_else(|e| panic!("open range: {e}"));
    match s.get("obj", Some(ByteRange::from(len + 10))).await {
        Err(StorageError::InvalidRange { .. }) => {}
        Err(e) => panic!("range past the end: {e:?}"),
        Ok(_) => panic!("range past the end succeeded"),
    }
}

/// Objects opened as local files ([`BlobStorage::open_region`]): a driver that offers a region
/// offers exactly the bytes `get` streams for the same range; a driver may offer none.
pub async fn file_regions(h: &dyn Harness) {
    use std::os::unix::fs::FileExt;
    let (_, s) = fresh(h).await;
    let len = 100_000;
    put_pattern(&*s, "obj", 6, len).await;
    for (start, end) in [(0, len), (0, 1), (10, 20_000), (99_999, len)] {
        let region = check(
            s.open_region("obj", Some(ByteRange::new(start, end))).await,
            "open region",
        );
        let Some(region) = region else { return };
        assert_eq!((region.offset, region.len), (start, end - start));
        let mut bytes = vec![0; usize::try_from(region.len).unwrap_or_default()];
        region
            .file
            .read_exact_at(&mut bytes, region.offset)
            .unwrap_or_else(|e| panic!("reading region {start}..{end}: {e}"));
        assert!(
            bytes == pattern(6, start, end - start),
            "region {start}..{end}"
        );
    }
    let whole = check(s.open_region("obj", None).await, "open whole");
    assert_eq!(whole.map(|r| (r.offset, r.len)), Some((0, len)));
    let clipped = check(
        s.open_region("obj", Some(ByteRange::new(90_000, len + 50)))
            .await,
        "open clipped",
    );
    assert_eq!(clipped.map(|r| (r.offset, r.len)), Some((90_000, 10_000)));
    match s.open_region("missing", None).await {
        Err(StorageError::NotFound { .. }) => {}
        other => panic!("region of a missing object: {other:?}"),
    }
    match s.open_region("obj", Some(ByteRange::from(len + 10))).await {
        Err(StorageError::InvalidRange { .. }) => {}
        other => panic!("region past the end: {other:?}"),
    }
}

/// Zero-byte objects and zero-byte uploads.
pub async fn empty_objects(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    check(s.put("empty", stream::empty(), Some(0)).await, "put empty");
    assert_content(&*s, "empty", 0, 0).await;
    check(
        s.put("empty2", stream::empty(), None).await,
        "put empty unsized",
    );
    assert_content(&*s, "empty2", 0, 0).await;
    let st = check(s.begin_upload().await, "begin");
    let (n, st) = check(s.upload_chunk(&st, 0, stream::empty()).await, "empty chunk");
    assert_eq!(n, 0);
    check(
        s.complete_upload(&st, "sha256/e3/e3b0").await,
        "complete empty",
    );
    assert_content(&*s, "sha256/e3/e3b0", 0, 0).await;
}

/// A large object streamed in and out (the harness's `large_size`).
pub async fn large_object(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let len = h.large_size();
    let n = check(
        s.put("large", pattern_stream(5, 0, len, 256 * 1024), Some(len))
            .await,
        "put large",
    );
    assert_eq!(n, len);
    assert_content(&*s, "large", 5, len).await;
    let tail = check(
        s.get("large", Some(ByteRange::from(len - 1000))).await,
        "tail",
    );
    verify_stream(tail, 5, len - 1000, 1000)
        .await
        .unwrap_or_else(|e| panic!("tail: {e}"));
}

async fn upload_parts(s: &dyn BlobStorage, seed: u8, parts: &[u64]) -> (UploadState, u64) {
    let mut st = check(s.begin_upload().await, "begin_upload");
    let mut offset = 0;
    for len in parts {
        let (n, next) = check(
            s.upload_chunk(&st, offset, pattern_stream(seed, offset, *len, CHUNK))
                .await,
            "upload_chunk",
        );
        assert_eq!(n, *len, "chunk bytes written");
        st = next;
        offset += len;
    }
    (st, offset)
}

/// Chunks appended in order, then completed; temporary objects are gone.
pub async fn chunked_in_order(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let before = check(s.list("").await, "list");
    let (st, total) = upload_parts(&*s, 6, &[6 * 1024 * 1024, 5 * 1024 * 1024 + 3, 777]).await;
    check(s.complete_upload(&st, "sha256/aa/aaaa").await, "complete");
    assert_content(&*s, "sha256/aa/aaaa", 6, total).await;
    let after = check(s.list("").await, "list");
    let new: Vec<_> = after
        .iter()
        .filter(|o| !before.iter().any(|b| b.path == o.path))
        .filter(|o| h.blob_parts_prefix().is_none_or(|p| !o.path.starts_with(p)))
        .map(|o| o.path.as_str())
        .collect();
    assert_eq!(
        new,
        ["sha256/aa/aaaa"],
        "only the blob remains after completion"
    );
}

/// A chunk goes to a new driver instance (restart, or another replica) via the serialised state.
pub async fn chunked_resumed_after_restart(h: &dyn Harness) {
    let (root, s) = fresh(h).await;
    let (st, done) = upload_parts(&*s, 7, &[300_000]).await;
    let saved = st.metadata.clone();
    let id = st.upload_id.clone();
    drop(s);
    let s = h.open(&root).await;
    let st = UploadState {
        upload_id: id,
        metadata: saved,
    };
    let (n, st) = check(
        s.upload_chunk(&st, done, pattern_stream(7, done, 200_000, CHUNK))
            .await,
        "chunk after restart",
    );
    assert_eq!(n, 200_000);
    check(
        s.complete_upload(&st, "blob").await,
        "complete after restart",
    );
    assert_content(&*s, "blob", 7, 500_000).await;
}

/// Chunks at a wrong offset are refused and the upload stays usable.
pub async fn chunked_out_of_order_refused(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let (st, done) = upload_parts(&*s, 8, &[1000]).await;
    for bad in [done + 1, done + 5000] {
        match s
            .upload_chunk(&st, bad, pattern_stream(8, bad, 10, CHUNK))
            .await
        {
            Err(StorageError::InvalidOffset { expected, got }) => {
                assert_eq!((expected, got), (done, bad));
            }
            Err(e) => panic!("chunk at offset {bad}: {e:?}"),
            Ok(_) => panic!("chunk at offset {bad} accepted, expected {done}"),
        }
    }
    let (_, st) = check(
        s.upload_chunk(&st, done, pattern_stream(8, done, 10, CHUNK))
            .await,
        "chunk at the right offset",
    );
    check(s.complete_upload(&st, "b").await, "complete");
    assert_content(&*s, "b", 8, done + 10).await;
}

/// A chunk whose body fails leaves the previous state valid and nothing visible.
pub async fn chunk_body_failure(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let (st, done) = upload_parts(&*s, 9, &[50_000]).await;
    let r = s
        .upload_chunk(&st, done, failing_stream(9, 100_000, 30_000))
        .await;
    assert!(r.is_err(), "a failing body must fail the chunk");
    let (_, st) = check(
        s.upload_chunk(&st, done, pattern_stream(9, done, 20_000, CHUNK))
            .await,
        "retry with the old state",
    );
    check(s.complete_upload(&st, "b").await, "complete");
    assert_content(&*s, "b", 9, 70_000).await;
}

/// A failed `put` never makes a partial object visible, and keeps a previous one.
pub async fn put_body_failure(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    for size_hint in [Some(100_000), None] {
        let r = s
            .put("p", failing_stream(10, 100_000, 40_000), size_hint)
            .await;
        assert!(r.is_err(), "a failing body must fail the put");
        assert_eq!(
            check(s.stat("p").await, "stat"),
            None,
            "partial object visible"
        );
    }
    put_pattern(&*s, "p", 11, 5000).await;
    let r = s.put("p", failing_stream(10, 100_000, 40_000), None).await;
    assert!(r.is_err());
    assert_content(&*s, "p", 11, 5000).await;
    let r = s.put("q", pattern_stream(1, 0, 10, CHUNK), Some(20)).await;
    assert!(r.is_err(), "a wrong size hint must fail");
    assert_eq!(check(s.stat("q").await, "stat"), None);
}

/// Two uploads of the same digest complete to the same path; the blob is intact.
pub async fn two_writers_same_digest(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let (a, len) = upload_parts(&*s, 12, &[70_000, 30_000]).await;
    let (b, _) = upload_parts(&*s, 12, &[100_000]).await;
    let (ra, rb) = futures_join(
        s.complete_upload(&a, "sha256/cc/cccc"),
        s.complete_upload(&b, "sha256/cc/cccc"),
    )
    .await;
    check(ra, "first writer");
    check(rb, "second writer");
    assert_content(&*s, "sha256/cc/cccc", 12, len).await;
    let leftovers = check(s.list("uploads/").await, "list uploads");
    assert!(leftovers.is_empty(), "uploads left: {leftovers:?}");
}

/// Cancel removes every temporary object; cancelling twice succeeds.
pub async fn cancel_leaves_nothing(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    let (st, _) = upload_parts(&*s, 13, &[10_000, 20_000]).await;
    check(s.cancel_upload(&st).await, "cancel");
    check(s.cancel_upload(&st).await, "cancel again");
    let all = check(s.list("").await, "list");
    assert!(all.is_empty(), "objects left after cancel: {all:?}");
}

/// Delete is idempotent.
pub async fn delete_idempotent(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    put_pattern(&*s, "d", 14, 10).await;
    check(s.delete("d").await, "delete");
    assert_eq!(check(s.stat("d").await, "stat"), None);
    check(s.delete("d").await, "delete again");
    check(s.delete("never/existed").await, "delete missing");
}

/// Listing for cleanup returns relative paths, sizes and times.
pub async fn listing(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    put_pattern(&*s, "uploads/one", 15, 10).await;
    put_pattern(&*s, "uploads/two", 15, 20).await;
    put_pattern(&*s, "sha256/ab/abab", 15, 30).await;
    let mut l = check(s.list("uploads/").await, "list");
    l.sort_by(|a, b| a.path.cmp(&b.path));
    let got: Vec<_> = l.iter().map(|o| (o.path.as_str(), o.size)).collect();
    assert_eq!(got, [("uploads/one", 10), ("uploads/two", 20)]);
    assert!(l.iter().all(|o| o.modified_unix.is_some()), "{l:?}");
    assert_eq!(check(s.list("").await, "list all").len(), 3);
}

/// Signed URLs serve the object and stop working after they expire.
pub async fn signed_urls(h: &dyn Harness) {
    let (_, s) = fresh(h).await;
    put_pattern(&*s, "sha256/5e/5eed", 16, 4096).await;
    let now = h.now_unix();
    let req = DownloadUrlRequest::get(now, Duration::from_secs(600));
    let url = check(s.direct_download_url("sha256/5e/5eed", &req).await, "sign");
    if !h.signs_urls() {
        assert_eq!(url, None, "this driver must not sign");
        return;
    }
    let url = url.expect("this driver signs direct-download URLs");
    let (status, body) = h.fetch(&url).await;
    assert_eq!(
        status,
        200,
        "signed URL {url}: {}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(body, pattern(16, 0, 4096));
    if !h.server_checks_url_signatures() {
        return;
    }
    let old = DownloadUrlRequest::get(now - 7200, Duration::from_secs(60));
    let expired =
        check(s.direct_download_url("sha256/5e/5eed", &old).await, "sign").expect("signs");
    let (status, _) = h.fetch(&expired).await;
    assert!(
        (400..500).contains(&status),
        "an expired URL answered {status}: {expired}"
    );
    let mut forged = url.clone();
    forged.set_path(&url.path().replace("5eed", "5eee"));
    let (status, _) = h.fetch(&forged).await;
    assert!(
        (400..500).contains(&status),
        "a forged URL answered {status}"
    );
}

/// Copy between two locations (the storage-replication worker's routine).
pub async fn copy_between_locations(h: &dyn Harness) {
    let (_, a) = fresh(h).await;
    let (_, b) = fresh(h).await;
    put_pattern(&*a, "sha256/cd/cdcd", 17, 123_456).await;
    check(a.copy_to(&*b, "sha256/cd/cdcd").await, "copy_to");
    assert_content(&*b, "sha256/cd/cdcd", 17, 123_456).await;
    assert!(matches!(
        a.copy_to(&*b, "missing").await,
        Err(StorageError::NotFound { .. })
    ));
}

/// Polls two futures to completion concurrently (ports has no futures-util).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    let mut ra = None;
    let mut rb = None;
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let std::task::Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let std::task::Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if ra.is_some() && rb.is_some() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    match (ra, rb) {
        (Some(x), Some(y)) => (x, y),
        _ => unreachable!("both futures completed"),
    }
}

/// Generates one `#[tokio::test]` per conformance check; `$harness` is an expression building
/// the [`Harness`] (evaluated in every test).
#[macro_export]
macro_rules! blob_storage_conformance {
    ($harness:expr) => {
        $crate::blob_storage_conformance!(@each $harness;
            round_trip, missing_objects, ranges, file_regions, empty_objects, large_object, chunked_in_order,
            chunked_resumed_after_restart, chunked_out_of_order_refused, chunk_body_failure,
            put_body_failure, two_writers_same_digest, cancel_leaves_nothing, delete_idempotent,
            listing, signed_urls, copy_between_locations);
    };
    (@each $harness:expr; $($check:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let harness = $harness;
                $crate::storage::conformance::$check(&harness).await;
            }
        )*
    };
}
