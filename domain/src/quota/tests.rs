use super::*;

/// `(limit_bytes, percent, int(limit_bytes * percent / 100))` computed by CPython.
const PYTHON_BYTES_ALLOWED: &[(i64, i64, i64)] = &[
    (3072, 100, 3072),
    (10240, 80, 8192),
    (1000, 33, 330),
    (999, 1, 9),
    (4_611_686_018_427_387_904, 100, 4_611_686_018_427_387_904),
    (123_456_789_012_345_678, 77, 95_061_727_539_506_176),
    (9_007_199_254_740_993, 100, 9_007_199_254_740_992),
    (9_007_199_254_740_993, 50, 4_503_599_627_370_496),
    (9_223_372_036_854_775_807, 99, 9_131_138_316_486_227_968),
    (7_000_000_000_000_099, 100, 7_000_000_000_000_099),
    (7_036_874_417_766_499, 1, 70_368_744_177_664),
    (112_589_990_684_262_487, 1, 1_125_899_906_842_624),
    (112_589_990_684_262_499, 1, 1_125_899_906_842_625),
    (450_359_962_737_049_949, 1, 4_503_599_627_370_499),
    (450_359_962_737_049_950, 1, 4_503_599_627_370_500),
    (900_719_925_474_099_149, 1, 9_007_199_254_740_991),
    (900_719_925_474_099_150, 1, 9_007_199_254_740_992),
    (3_602_879_701_896_397_599, 1, 36_028_797_018_963_976),
    (8_742_515_960_871_040_056, 20, 1_748_503_192_174_208_000),
    (6_003_811_948_709_488_398, 7, 420_266_836_409_664_192),
    (7_574_919_410_927_480_627, 69, 5_226_694_393_539_961_856),
    (3_372_886_041_845_884_945, 75, 2_529_664_531_384_413_696),
    (345_837_553_644_369_356, 12, 41_500_506_437_324_320),
    (836_680_984_871_835_428, 71, 594_043_499_259_003_136),
];

#[test]
fn bytes_allowed_matches_python() {
    for &(limit, percent, expected) in PYTHON_BYTES_ALLOWED {
        assert_eq!(
            bytes_allowed(limit, percent),
            expected,
            "{limit} * {percent}"
        );
    }
}

fn quota(limit_bytes: i64, limits: &[(i64, &str)]) -> NamespaceQuota {
    NamespaceQuota {
        limit_bytes,
        limits: limits
            .iter()
            .map(|(p, n)| QuotaLimit {
                percent_of_limit: *p,
                severity: QuotaSeverity::from_name(n),
            })
            .collect(),
    }
}

#[test]
fn check_limits_picks_the_highest_reached_threshold() {
    let q = quota(1000, &[(80, "Warning"), (100, "Reject")]);
    let cases: &[(i64, Option<QuotaSeverity>, i64, Option<i64>)] = &[
        (0, None, 0, None),
        (799, None, 0, None),
        (800, Some(QuotaSeverity::Warning), 800, Some(80)),
        (999, Some(QuotaSeverity::Warning), 800, Some(80)),
        (1000, Some(QuotaSeverity::Reject), 1000, Some(100)),
        (5000, Some(QuotaSeverity::Reject), 1000, Some(100)),
    ];
    for (size, severity, limit_bytes, percent) in cases {
        let c = check_limits(Some(&q), 0, *size);
        assert_eq!(&c.severity, severity, "size {size}");
        assert_eq!(c.limit_bytes, *limit_bytes, "size {size}");
        assert_eq!(c.threshold_percent, *percent, "size {size}");
        assert_eq!(c.usage_bytes, *size);
        assert_eq!(c.quota_limit_bytes, 1000);
    }
}

#[test]
fn check_limits_keeps_the_first_of_equal_thresholds_and_ignores_order() {
    let q = quota(1000, &[(100, "Reject"), (50, "Warning"), (100, "Warning")]);
    let c = check_limits(Some(&q), 0, 1000);
    assert!(c.rejects());
    let q = quota(1000, &[(100, "Warning"), (100, "Reject")]);
    let c = check_limits(Some(&q), 0, 1000);
    assert!(c.warns() && !c.rejects());
}

#[test]
fn a_quota_without_limits_never_rejects_and_hides_the_default() {
    let q = quota(10, &[]);
    let c = check_limits(Some(&q), 5, 1_000_000);
    assert_eq!(c.severity, None);
    assert_eq!(c.limit_bytes, 0);
    assert_eq!(c.quota_limit_bytes, 10);
}

#[test]
fn system_default_rejects_only_when_set() {
    let off = check_limits(None, 0, i64::MAX);
    assert_eq!(off.severity, None);
    assert_eq!(off.threshold_percent, None);
    let under = check_limits(None, 100, 99);
    assert_eq!(under.severity, None);
    let at = check_limits(None, 100, 100);
    assert!(at.rejects());
    assert_eq!(at.threshold_percent, Some(100));
    assert_eq!(at.limit_bytes, 100);
    assert_eq!(at.quota_limit_bytes, 100);
}

#[test]
fn unknown_quota_types_neither_warn_nor_reject_but_can_mask() {
    let q = quota(100, &[(50, "Reject"), (90, "Mystery")]);
    let c = check_limits(Some(&q), 0, 95);
    assert_eq!(c.severity, Some(QuotaSeverity::Other("Mystery".into())));
    assert!(!c.rejects() && !c.warns());
    assert_eq!(QuotaSeverity::Reject.name(), "Reject");
}

#[test]
fn blob_totals_count_unique_blobs_per_scope() {
    let blob = |size, ns, repo| BlobUse {
        size,
        elsewhere_in_namespace: ns,
        elsewhere_in_repository: repo,
    };
    assert_eq!(blob_totals(&[]), (0, 0));
    assert_eq!(
        blob_totals(&[
            blob(Some(10), false, false),
            blob(Some(20), true, false),
            blob(Some(40), true, true),
            blob(None, false, false),
        ]),
        (10, 30)
    );
}

#[test]
fn size_writes_follow_the_backfill_state() {
    use SizeOperation::{Add, Subtract};
    use SizeRow::{Complete, Missing, Pending};
    let cases = [
        (Missing, Add, true, SizeWrite::Insert(7)),
        (Missing, Add, false, SizeWrite::Nothing),
        (Missing, Subtract, true, SizeWrite::Nothing),
        (Pending, Add, true, SizeWrite::Nothing),
        (Pending, Subtract, false, SizeWrite::Nothing),
        (Complete, Add, false, SizeWrite::Add(7)),
        (Complete, Add, true, SizeWrite::Add(7)),
        (Complete, Subtract, false, SizeWrite::Subtract(7)),
    ];
    for (row, op, only, expected) in cases {
        assert_eq!(
            size_write(row, op, only, 7),
            expected,
            "{row:?} {op:?} {only}"
        );
    }
}

#[test]
fn notification_metadata_is_written_as_python_does() {
    let blob = notice_metadata("acme", Some("Reject"));
    assert_eq!(
        metadata_json(&blob),
        r#"{"severity": "Reject", "namespace": "acme"}"#
    );
    let manifest = notice_metadata("acme", None);
    assert_eq!(metadata_json(&manifest), r#"{"namespace": "acme"}"#);
    assert_eq!(
        metadata_json(&[("k".into(), "é\"\\\n".into())]),
        r#"{"k": "\u00e9\"\\\n"}"#
    );
    assert_eq!(QuotaNotice::Error.kind(), "quota_error");
    assert_eq!(QuotaNotice::Warning.kind(), "quota_warning");
}

#[test]
fn metadata_matching_needs_every_pair() {
    let blob = notice_metadata("acme", Some("Reject"));
    let manifest = notice_metadata("acme", None);
    let stored_blob = metadata_json(&blob);
    let stored_manifest = metadata_json(&manifest);
    assert!(metadata_matches(&stored_blob, &blob));
    assert!(metadata_matches(&stored_blob, &manifest));
    assert!(!metadata_matches(&stored_manifest, &blob));
    assert!(!metadata_matches(r#"{"namespace": "other"}"#, &manifest));
    assert!(!metadata_matches("not json", &manifest));
    assert!(!metadata_matches("[]", &manifest));
}
