use super::*;
use crate::digest::Digest;
use proptest::prelude::*;

#[test]
fn content_range_grammar() {
    for (header, want) in [
        (None, Ok(ChunkRange::Unbounded)),
        (Some("0-10"), Ok(ChunkRange::Bounded { start: 0, len: 11 })),
        (
            Some("11-20"),
            Ok(ChunkRange::Bounded { start: 11, len: 10 }),
        ),
        (Some("5-4"), Ok(ChunkRange::Bounded { start: 5, len: 0 })),
        (Some("5-3"), Err(UploadError::InvalidRange)),
        (Some("bytes 0-10"), Err(UploadError::InvalidRange)),
        (Some("bytes=0-10"), Err(UploadError::InvalidRange)),
        (Some("0-10/11"), Err(UploadError::InvalidRange)),
        (Some("-1-3"), Err(UploadError::InvalidRange)),
        (Some("0-"), Err(UploadError::InvalidRange)),
        (Some(""), Err(UploadError::InvalidRange)),
        (Some(" 0-1"), Err(UploadError::InvalidRange)),
        (Some("+0-1"), Err(UploadError::InvalidRange)),
        (
            Some("0-99999999999999999999999"),
            Err(UploadError::InvalidRange),
        ),
        (
            Some("0-18446744073709551615"),
            Err(UploadError::InvalidRange),
        ),
    ] {
        assert_eq!(parse_content_range(header), want, "{header:?}");
    }
}

#[test]
fn chunk_offsets_follow_the_oci_rule() {
    let limit = LayerSizeLimit(100);
    let empty = UploadProgress::default();
    let half = UploadProgress {
        byte_count: 11,
        chunk_count: 1,
        uncompressed_byte_count: Some(50),
    };
    let plan = plan_chunk(ChunkRange::Unbounded, &empty, limit).unwrap();
    assert_eq!(
        plan,
        ChunkPlan {
            offset: 0,
            declared_len: None,
            measure_uncompressed: true
        }
    );
    let plan = plan_chunk(ChunkRange::Bounded { start: 11, len: 5 }, &half, limit).unwrap();
    assert_eq!(
        (plan.offset, plan.declared_len, plan.measure_uncompressed),
        (11, Some(5), false)
    );
    for start in [0, 10, 12] {
        assert_eq!(
            plan_chunk(ChunkRange::Bounded { start, len: 1 }, &half, limit),
            Err(UploadError::RangeNotSatisfiable {
                byte_count: 11,
                start
            }),
            "{start}"
        );
    }
    assert_eq!(
        plan_chunk(ChunkRange::Bounded { start: 11, len: 90 }, &half, limit),
        Err(UploadError::TooLarge {
            uploaded: 101,
            max_allowed: 100
        })
    );
    assert_eq!(
        plan_chunk(ChunkRange::Unbounded, &half, limit)
            .unwrap()
            .offset,
        11
    );
}

#[test]
fn progress_after_chunks() {
    let limit = LayerSizeLimit(100);
    let first = UploadProgress::default()
        .after_chunk(11, Some(40), limit)
        .unwrap();
    assert_eq!(
        first,
        UploadProgress {
            byte_count: 11,
            chunk_count: 1,
            uncompressed_byte_count: Some(40)
        }
    );
    let second = first.after_chunk(5, None, limit).unwrap();
    assert_eq!(second.uncompressed_byte_count, None);
    assert_eq!((second.byte_count, second.chunk_count), (16, 2));
    let empty_chunk = first.after_chunk(0, None, limit).unwrap();
    assert_eq!(empty_chunk.uncompressed_byte_count, Some(40));
    assert!(matches!(
        second.after_chunk(85, None, limit),
        Err(UploadError::TooLarge { uploaded: 101, .. })
    ));
}

#[test]
fn commit_digest_rules() {
    let computed =
        Digest::parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            .unwrap();
    assert_eq!(
        verify_commit_digest(None, &computed),
        Err(UploadError::MissingDigest)
    );
    assert_eq!(
        verify_commit_digest(Some("garbage"), &computed),
        Err(UploadError::DigestMismatch)
    );
    assert_eq!(
        verify_commit_digest(
            Some("sha256:2222222222222222222222222222222222222222222222222222222222222222"),
            &computed
        ),
        Err(UploadError::DigestMismatch)
    );
    assert_eq!(
        verify_commit_digest(Some(computed.as_str()), &computed),
        Ok(computed.clone())
    );
}

#[test]
fn upload_errors_render_like_quay() {
    let r = UploadError::InvalidRange.to_registry_error().unwrap();
    assert_eq!(
        (r.code(), r.status(), r.message()),
        ("INVALID_REQUEST", 400, "Invalid range header")
    );
    let r = UploadError::MissingDigest.to_registry_error().unwrap();
    assert_eq!(r.code(), "BLOB_UPLOAD_INVALID");
    assert_eq!(
        r.detail()["reason"],
        "Missing digest arg on monolithic upload"
    );
    // contract/registry/v2_upload_finish_bad_digest.json: empty detail.
    let r = UploadError::DigestMismatch.to_registry_error().unwrap();
    assert_eq!(r.envelope()["errors"][0]["detail"], serde_json::json!({}));
    let r = UploadError::TooLarge {
        uploaded: 2,
        max_allowed: 1,
    }
    .to_registry_error()
    .unwrap();
    assert_eq!((r.code(), r.status()), ("DENIED", 403));
    assert!(
        UploadError::RangeNotSatisfiable {
            byte_count: 1,
            start: 2
        }
        .to_registry_error()
        .is_none()
    );
}

proptest! {
    #[test]
    fn content_range_round_trips(start in 0u64..u64::MAX / 2, len in 0u64..u64::MAX / 2) {
        let end = (start + len).checked_sub(1);
        if let Some(end) = end {
            let header = format!("{start}-{end}");
            prop_assert_eq!(
                parse_content_range(Some(&header)),
                Ok(ChunkRange::Bounded { start, len })
            );
        }
    }

    #[test]
    fn content_range_never_panics(s in "\\PC{0,30}") {
        let _ = parse_content_range(Some(&s));
    }

    #[test]
    fn sequential_chunks_always_accepted(sizes in proptest::collection::vec(0u64..1000, 1..10)) {
        let limit = LayerSizeLimit(u64::MAX);
        let mut p = UploadProgress::default();
        for n in sizes {
            let range = match n.checked_sub(1) {
                Some(last) => ChunkRange::Bounded { start: p.byte_count, len: last + 1 },
                None => ChunkRange::Unbounded,
            };
            let plan = plan_chunk(range, &p, limit).unwrap();
            prop_assert_eq!(plan.offset, p.byte_count);
            p = p.after_chunk(n, None, limit).unwrap();
        }
    }
}
