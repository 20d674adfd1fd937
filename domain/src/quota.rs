//! Namespace quota rules, as Python Quay applies them on the `/v2` push path
//! (`data/model/quota.py` for the size accounting, `data/model/namespacequota.py` for the limits).
//!
//! Size accounting (`quotanamespacesize`, `quotarepositorysize`): when a manifest row is created
//! in a repository, each distinct blob it links counts once toward the namespace when no other
//! manifest of the namespace links it, and once toward the repository when no other manifest of
//! the repository links it ([`blob_totals`]). A total is written only when its row is complete
//! (`backfill_complete`), or inserted when the row is missing and the manifest is the only one
//! with blobs in its scope (the first push); otherwise the backfill worker owns it
//! ([`size_write`]). When the manifest is garbage collected the same totals are subtracted.
//! With quota management off, a new manifest instead marks existing totals stale
//! (`QUOTA_INVALIDATE_TOTALS`).
//!
//! Limits: one quota per namespace (`userorganizationquota.limit_bytes`) with thresholds
//! (`quotalimits`, a percentage and a `Warning` or `Reject` type); without a quota,
//! `DEFAULT_SYSTEM_REJECT_QUOTA_BYTES` rejects when non-zero ([`check_limits`]).

use serde_json::Value;

pub mod namespace_notice;

/// What a limit does when crossed (`quotatype.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaSeverity {
    /// `Warning`: the push proceeds; the namespace's administrators are notified.
    Warning,
    /// `Reject`: the push is refused with `DENIED` 403.
    Reject,
    /// Any other name in `quotatype` (neither warns nor rejects).
    Other(String),
}

impl QuotaSeverity {
    /// The severity named `name` in `quotatype`.
    pub fn from_name(name: &str) -> Self {
        match name {
            "Warning" => Self::Warning,
            "Reject" => Self::Reject,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The `quotatype.name`.
    pub fn name(&self) -> &str {
        match self {
            Self::Warning => "Warning",
            Self::Reject => "Reject",
            Self::Other(n) => n,
        }
    }
}

/// One threshold of a namespace quota (`quotalimits`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaLimit {
    /// `percent_of_limit` (1–100 when written through Quay's API).
    pub percent_of_limit: i64,
    /// `quota_type`.
    pub severity: QuotaSeverity,
}

/// A namespace's quota (`userorganizationquota`) and its thresholds, in `quotalimits.id` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceQuota {
    /// `limit_bytes`.
    pub limit_bytes: i64,
    /// The thresholds.
    pub limits: Vec<QuotaLimit>,
}

/// The outcome of [`check_limits`] (Quay's `check_limits` dictionary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCheck {
    /// Bytes allowed by the crossed threshold (0 when none is crossed).
    pub limit_bytes: i64,
    /// The crossed threshold's severity, if any.
    pub severity: Option<QuotaSeverity>,
    /// The size checked.
    pub usage_bytes: i64,
    /// The quota's `limit_bytes` (or the system default).
    pub quota_limit_bytes: i64,
    /// The crossed threshold's percentage.
    pub threshold_percent: Option<i64>,
}

impl QuotaCheck {
    /// Whether the push must be refused.
    pub fn rejects(&self) -> bool {
        self.severity == Some(QuotaSeverity::Reject)
    }

    /// Whether the push proceeds with a warning.
    pub fn warns(&self) -> bool {
        self.severity == Some(QuotaSeverity::Warning)
    }
}

/// Python's `int(limit_bytes * percent / 100)`: the exact product divided with one correct
/// rounding to a double, then truncated toward zero.
pub fn bytes_allowed(limit_bytes: i64, percent: i64) -> i64 {
    let product = i128::from(limit_bytes) * i128::from(percent);
    let negative = product < 0;
    let magnitude = product.unsigned_abs();
    let truncated = truncated_quotient(magnitude);
    let value = i64::try_from(truncated).unwrap_or(i64::MAX);
    if negative { -value } else { value }
}

/// `trunc(round_to_double(p / 100))` for `p >= 0`.
fn truncated_quotient(p: u128) -> u128 {
    let q = p / 100;
    // Below 2^46 a double resolves 1/128, so `q + r/100` (r < 100) cannot round up to `q + 1`.
    if q < (1u128 << 46) {
        return q;
    }
    // The quotient has `bits` significant bits; a double keeps 53 of them.
    let bits = 128 - q.leading_zeros();
    let shift = i64::from(bits) - 53;
    // m = p / (100 * 2^shift), rounded half to even, then scaled back.
    let (num, den) = if shift >= 0 {
        (p, 100u128 << shift)
    } else {
        (p << (-shift), 100u128)
    };
    let mut m = num / den;
    let rem = num % den;
    if rem * 2 > den || (rem * 2 == den && m % 2 == 1) {
        m += 1;
    }
    if shift >= 0 {
        m << shift
    } else {
        m >> (-shift)
    }
}

/// Quay's `check_limits(namespace, size)`: with a quota, the highest threshold `size` has
/// reached (`size >= limit_bytes * percent / 100`), the first in order on ties; without one,
/// `Reject` at 100 % when `default_reject_bytes > 0` and `size >= default_reject_bytes`.
pub fn check_limits(
    quota: Option<&NamespaceQuota>,
    default_reject_bytes: i64,
    size: i64,
) -> QuotaCheck {
    let Some(quota) = quota else {
        let exceeded = default_reject_bytes > 0 && size >= default_reject_bytes;
        return QuotaCheck {
            limit_bytes: default_reject_bytes,
            severity: exceeded.then_some(QuotaSeverity::Reject),
            usage_bytes: size,
            quota_limit_bytes: default_reject_bytes,
            threshold_percent: exceeded.then_some(100),
        };
    };
    let mut limit_bytes = 0;
    let mut severity = None;
    let mut threshold_percent = None;
    for limit in &quota.limits {
        let allowed = bytes_allowed(quota.limit_bytes, limit.percent_of_limit);
        if size >= allowed && limit_bytes < allowed {
            limit_bytes = allowed;
            severity = Some(limit.severity.clone());
            threshold_percent = Some(limit.percent_of_limit);
        }
    }
    QuotaCheck {
        limit_bytes,
        severity,
        usage_bytes: size,
        quota_limit_bytes: quota.limit_bytes,
        threshold_percent,
    }
}

/// Whether a size is being added (new manifest) or subtracted (garbage-collected manifest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeOperation {
    /// A manifest was created.
    Add,
    /// A manifest was removed.
    Subtract,
}

/// One distinct blob of a manifest, as the accounting sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlobUse {
    /// `imagestorage.image_size` (`NULL` counts 0).
    pub size: Option<i64>,
    /// Another manifest of the namespace links the blob.
    pub elsewhere_in_namespace: bool,
    /// Another manifest of the repository links the blob.
    pub elsewhere_in_repository: bool,
}

/// The `(namespace, repository)` byte totals a manifest adds or removes: blobs no other
/// manifest of the namespace links count toward both; blobs linked elsewhere in the namespace
/// but not in the repository count toward the repository only.
pub fn blob_totals(blobs: &[BlobUse]) -> (i64, i64) {
    let mut namespace = 0i64;
    let mut repository = 0i64;
    for blob in blobs {
        let size = blob.size.unwrap_or(0);
        if !blob.elsewhere_in_namespace {
            namespace = namespace.saturating_add(size);
            repository = repository.saturating_add(size);
        } else if !blob.elsewhere_in_repository {
            repository = repository.saturating_add(size);
        }
    }
    (namespace, repository)
}

/// The state of a size row (`quotanamespacesize` or `quotarepositorysize`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRow {
    /// No row.
    Missing,
    /// A row whose backfill has not completed (the backfill worker owns it).
    Pending,
    /// A complete row.
    Complete,
}

/// What to write to a size row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeWrite {
    /// Leave it (backfill pending or required).
    Nothing,
    /// Insert a complete row (`backfill_start_ms = 0`) holding this size.
    Insert(i64),
    /// `size_bytes = size_bytes + n`.
    Add(i64),
    /// `size_bytes = size_bytes - n`.
    Subtract(i64),
}

/// Quay's `write_namespace_total` / `write_repository_total`: `only_manifest` says no other
/// manifest links blobs in the row's scope (the first push there).
pub fn size_write(row: SizeRow, op: SizeOperation, only_manifest: bool, total: i64) -> SizeWrite {
    match (row, op) {
        (SizeRow::Pending, _) => SizeWrite::Nothing,
        (SizeRow::Missing, SizeOperation::Add) if only_manifest => SizeWrite::Insert(total),
        (SizeRow::Missing, _) => SizeWrite::Nothing,
        (SizeRow::Complete, SizeOperation::Add) => SizeWrite::Add(total),
        (SizeRow::Complete, SizeOperation::Subtract) => SizeWrite::Subtract(total),
    }
}

/// The notification kinds written to a namespace's administrators (`notificationkind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaNotice {
    /// `quota_warning`.
    Warning,
    /// `quota_error`.
    Error,
}

impl QuotaNotice {
    /// The `notificationkind.name`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Warning => "quota_warning",
            Self::Error => "quota_error",
        }
    }
}

/// The metadata of a quota notification, in Quay's key order: `severity` (blob uploads only),
/// then `namespace`.
pub fn notice_metadata(namespace: &str, severity: Option<&str>) -> Vec<(String, String)> {
    let mut pairs = Vec::with_capacity(2);
    if let Some(s) = severity {
        pairs.push(("severity".to_owned(), s.to_owned()));
    }
    pairs.push(("namespace".to_owned(), namespace.to_owned()));
    pairs
}

/// The `metadata_json` Python's `json.dumps` writes for `pairs` (`", "` and `": "`
/// separators, non-ASCII escaped).
pub fn metadata_json(pairs: &[(String, String)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(&python_json_string(k));
        out.push_str(": ");
        out.push_str(&python_json_string(v));
    }
    out.push('}');
    out
}

fn python_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quay's `notification_exists_with_metadata` test for one stored notification: its metadata
/// parses as a JSON object holding every pair (unparseable metadata never matches).
pub fn metadata_matches(stored_json: &str, pairs: &[(String, String)]) -> bool {
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(stored_json) else {
        return false;
    };
    pairs
        .iter()
        .all(|(k, v)| map.get(k).and_then(Value::as_str) == Some(v.as_str()))
}

#[cfg(test)]
mod tests;
