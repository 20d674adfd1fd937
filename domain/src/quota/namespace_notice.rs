//! Quota threshold notices through a namespace's notification channels
//! (`FEATURE_QUOTA_NOTIFICATIONS`; Quay's `maybe_trigger_quota_notification` and
//! `spawn_namespace_notification`): which event a check raises, and the `notification` queue
//! item body Quay writes for each `namespacenotification` of that event.

use super::{QuotaCheck, QuotaSeverity, python_json_string};

/// The `externalnotificationevent.name` a check raises with its threshold: `quota_warning` for a
/// `Warning`, `quota_error` for a `Reject`; `None` for anything else or without a threshold.
pub fn namespace_event(check: &QuotaCheck) -> Option<(&'static str, i64)> {
    let event = match check.severity.as_ref()? {
        QuotaSeverity::Warning => "quota_warning",
        QuotaSeverity::Reject => "quota_error",
        QuotaSeverity::Other(_) => return None,
    };
    Some((event, check.threshold_percent?))
}

/// Python's `int(a / b)` for integers (`a / b` correctly rounded to a double, then truncated
/// toward zero); `b` must not be 0.
fn python_int_div(a: i128, b: i128) -> i64 {
    let negative = (a < 0) != (b < 0);
    let (p, q) = (a.unsigned_abs(), b.unsigned_abs());
    let n = p / q;
    // Round p / q to 53 significant bits (half to even), then truncate.
    let bits = 128 - n.leading_zeros();
    let shift = i64::from(bits) - 53;
    let (num, den) = if shift >= 0 {
        (p, q << shift)
    } else {
        (p << (-shift), q)
    };
    let mut m = num / den;
    let rem = num % den;
    if rem * 2 > den || (rem * 2 == den && m % 2 == 1) {
        m += 1;
    }
    let truncated = if shift >= 0 {
        m << shift
    } else {
        m >> (-shift)
    };
    let value = i64::try_from(truncated).unwrap_or(i64::MAX);
    if negative { -value } else { value }
}

/// Quay's `usage_percent`: `int(usage * 100 / limit)`, 0 when `limit` is 0.
pub fn usage_percent(usage_bytes: i64, limit_bytes: i64) -> i64 {
    if limit_bytes == 0 {
        return 0;
    }
    python_int_div(i128::from(usage_bytes) * 100, i128::from(limit_bytes))
}

/// Quay's `_format_bytes`: `"<n> bytes"` under 1024, else two decimals of KB, MB, GB or TB
/// (1024 each; TB for anything larger).
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    #[expect(
        clippy::cast_precision_loss,
        reason = "Python's float(num_bytes), rounding included"
    )]
    let mut value = bytes as f64;
    for (i, unit) in UNITS.iter().enumerate() {
        if value.abs() < 1024.0 || i == UNITS.len() - 1 {
            if i == 0 {
                return format!("{bytes} {unit}");
            }
            return format!("{value:.2} {unit}");
        }
        value /= 1024.0;
    }
    format!("{value:.2} TB")
}

/// The event data of a quota notice (Quay's `build_namespace_event_data` with the quota's extra
/// data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaEventData {
    /// The namespace name.
    pub namespace: String,
    /// `<PREFERRED_URL_SCHEME>://<SERVER_HOSTNAME>` (no trailing slash).
    pub base_url: String,
    /// The threshold crossed.
    pub threshold_percent: i64,
    /// The namespace size.
    pub usage_bytes: i64,
    /// The quota's `limit_bytes` (not the threshold's share).
    pub limit_bytes: i64,
}

/// The user behind the request (Quay's `performer_data`): `entity_id`, `entity_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Performer {
    /// `user.id`.
    pub id: i64,
    /// `user.username`.
    pub username: String,
}

/// The `notification` queue item body for namespace notification `uuid`, byte for byte what
/// Quay's `json.dumps` writes: `notification_uuid`, `event_data` (`namespace`, `homepage`,
/// `threshold_percent`, `usage_bytes`, `limit_bytes`, `usage_percent`, `usage_bytes_formatted`,
/// `limit_bytes_formatted`), `performer_data` (`entity_id`, `entity_name`, or empty), and
/// `notification_type: "namespace"`.
pub fn queue_body(uuid: &str, data: &QuotaEventData, performer: Option<&Performer>) -> String {
    let homepage = format!("{}/organization/{}", data.base_url, data.namespace);
    let performer = performer.map_or_else(
        || "{}".to_owned(),
        |p| {
            format!(
                "{{\"entity_id\": {}, \"entity_name\": {}}}",
                p.id,
                python_json_string(&p.username)
            )
        },
    );
    format!(
        "{{\"notification_uuid\": {uuid}, \"event_data\": {{\"namespace\": {ns}, \"homepage\": {home}, \
         \"threshold_percent\": {t}, \"usage_bytes\": {u}, \"limit_bytes\": {l}, \"usage_percent\": {p}, \
         \"usage_bytes_formatted\": {uf}, \"limit_bytes_formatted\": {lf}}}, \"performer_data\": {performer}, \
         \"notification_type\": \"namespace\"}}",
        uuid = python_json_string(uuid),
        ns = python_json_string(&data.namespace),
        home = python_json_string(&homepage),
        t = data.threshold_percent,
        u = data.usage_bytes,
        l = data.limit_bytes,
        p = usage_percent(data.usage_bytes, data.limit_bytes),
        uf = python_json_string(&format_bytes(data.usage_bytes)),
        lf = python_json_string(&format_bytes(data.limit_bytes)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(severity: Option<QuotaSeverity>, threshold: Option<i64>) -> QuotaCheck {
        QuotaCheck {
            limit_bytes: 80,
            severity,
            usage_bytes: 90,
            quota_limit_bytes: 100,
            threshold_percent: threshold,
        }
    }

    #[test]
    fn events() {
        assert_eq!(
            namespace_event(&check(Some(QuotaSeverity::Warning), Some(80))),
            Some(("quota_warning", 80))
        );
        assert_eq!(
            namespace_event(&check(Some(QuotaSeverity::Reject), Some(100))),
            Some(("quota_error", 100))
        );
        assert_eq!(namespace_event(&check(None, None)), None);
        assert_eq!(
            namespace_event(&check(Some(QuotaSeverity::Other("Info".into())), Some(5))),
            None
        );
        assert_eq!(
            namespace_event(&check(Some(QuotaSeverity::Reject), None)),
            None
        );
    }

    #[test]
    fn bytes_as_python_formats_them() {
        // Values from Python 3: `_format_bytes(n)`.
        assert_eq!(format_bytes(0), "0 bytes");
        assert_eq!(format_bytes(1023), "1023 bytes");
        assert_eq!(format_bytes(1024), "1.00 KB");
        assert_eq!(format_bytes(1536), "1.50 KB");
        assert_eq!(format_bytes(10 * 1024 * 1024 + 5243), "10.01 MB");
        assert_eq!(format_bytes(5 * 1024 * 1024 * 1024), "5.00 GB");
        assert_eq!(format_bytes(3 * (1i64 << 50)), "3072.00 TB");
        assert_eq!(format_bytes(-5), "-5 bytes");
    }

    #[test]
    fn usage_percent_truncates() {
        assert_eq!(usage_percent(90, 100), 90);
        assert_eq!(usage_percent(1, 3), 33);
        assert_eq!(usage_percent(2, 3), 66);
        assert_eq!(usage_percent(5, 0), 0);
        assert_eq!(usage_percent(250, 100), 250);
        assert_eq!(usage_percent(-1, 3), -33);
        // 100 * (2^53 + 1) / 100 rounds to 2^53 as a double, as in Python.
        assert_eq!(usage_percent((1i64 << 53) + 1, 100), 1i64 << 53);
        // Just under a whole percentage with a huge limit: the double rounds up to 99, as in
        // Python (exact integer division gives 98).
        assert_eq!(
            usage_percent(71_337_018_097_548_719, 72_057_594_037_927_999),
            99
        );
    }

    #[test]
    fn body_is_quays_json() {
        let data = QuotaEventData {
            namespace: "testorg".into(),
            base_url: "https://quay.example.com".into(),
            threshold_percent: 80,
            usage_bytes: 1536,
            limit_bytes: 2048,
        };
        let performer = Performer {
            id: 1,
            username: "admin".into(),
        };
        assert_eq!(
            queue_body("a1b2", &data, Some(&performer)),
            "{\"notification_uuid\": \"a1b2\", \"event_data\": {\"namespace\": \"testorg\", \
             \"homepage\": \"https://quay.example.com/organization/testorg\", \"threshold_percent\": 80, \
             \"usage_bytes\": 1536, \"limit_bytes\": 2048, \"usage_percent\": 75, \
             \"usage_bytes_formatted\": \"1.50 KB\", \"limit_bytes_formatted\": \"2.00 KB\"}, \
             \"performer_data\": {\"entity_id\": 1, \"entity_name\": \"admin\"}, \
             \"notification_type\": \"namespace\"}"
        );
        let body = queue_body("a1b2", &data, None);
        assert!(body.contains("\"performer_data\": {}, "), "{body}");
        let parsed: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(parsed["event_data"]["usage_percent"], 75);
    }
}
