//! The client address of a registry request, as Python Quay sees it behind its front proxy.
//!
//! Quay wraps its app in werkzeug's `ProxyFix` unless `PROXY_COUNT` is set to a false value
//! (absent counts as `1`; the number itself is not used beyond its truth). `ProxyFix`'s default
//! trusts one hop: the client address becomes the last entry of `X-Forwarded-For` (every line of
//! the header joined with commas, entries trimmed) when there is a non-empty one, else stays the
//! TCP peer. That address goes to the audit log (`logentry3.ip`) and to storage (the CDN
//! same-region bypass, `MultiCDNStorage` continent rules).
//!
//! Unlike werkzeug, an entry that is not an IP address is not taken: the peer is kept, so the
//! audit log never records arbitrary header text.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;

/// `X-Forwarded-For`.
pub const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Whether the client address is taken from `X-Forwarded-For` (one trusted hop) or is the TCP
/// peer. Registered as app data; without it, Quay's default (one trusted hop) applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIpPolicy {
    /// Take the last `X-Forwarded-For` entry.
    pub trust_forwarded_for: bool,
}

impl Default for ClientIpPolicy {
    fn default() -> Self {
        Self {
            trust_forwarded_for: true,
        }
    }
}

impl ClientIpPolicy {
    /// The policy for Quay's `PROXY_COUNT` value (`None`: the key is absent). Python truth:
    /// `null`, `false`, `0`, `""`, `[]` and `{}` turn the proxy fix off.
    pub fn from_proxy_count(value: Option<&serde_json::Value>) -> Self {
        use serde_json::Value;
        let trust = match value {
            None => true,
            Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
            Some(Value::String(s)) => !s.is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
        };
        Self {
            trust_forwarded_for: trust,
        }
    }
}

/// The last non-empty `X-Forwarded-For` entry across `lines`, when it is an IP address.
pub(crate) fn last_forwarded<'a>(lines: impl Iterator<Item = &'a str>) -> Option<IpAddr> {
    let joined = lines.collect::<Vec<_>>().join(",");
    let mut entries: Vec<&str> = joined.split(',').collect();
    // Python's `parse_http_list` drops a trailing empty entry ("a," is ["a"]) but keeps a
    // blank one ("a, " is ["a", ""]).
    if entries.last() == Some(&"") {
        entries.pop();
    }
    let last = entries.last()?.trim();
    let last = last
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(last);
    if last.is_empty() {
        return None;
    }
    last.parse().ok()
}

/// The client address of `req` as text (what `Caller::ip` and the audit log carry).
pub(crate) fn client_ip(req: &HttpRequest) -> Option<String> {
    let policy = req
        .app_data::<actix_web::web::Data<ClientIpPolicy>>()
        .map(|p| *p.get_ref())
        .unwrap_or_default();
    if policy.trust_forwarded_for {
        let lines = req
            .headers()
            .get_all(X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok());
        if let Some(ip) = last_forwarded(lines) {
            return Some(ip.to_string());
        }
    }
    req.peer_addr().map(|a| a.ip().to_canonical().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::web::Data;

    fn ip(headers: &[&str], policy: Option<ClientIpPolicy>) -> Option<String> {
        let mut req = TestRequest::default().peer_addr("192.0.2.10:5000".parse().unwrap());
        for h in headers {
            req = req.append_header((X_FORWARDED_FOR, *h));
        }
        if let Some(p) = policy {
            req = req.app_data(Data::new(p));
        }
        client_ip(&req.to_http_request())
    }

    #[test]
    fn one_hop_is_trusted_by_default_like_proxyfix() {
        assert_eq!(ip(&[], None).as_deref(), Some("192.0.2.10"));
        assert_eq!(ip(&["203.0.113.7"], None).as_deref(), Some("203.0.113.7"));
        // The last entry is the one the trusted proxy appended; earlier ones are the client's.
        assert_eq!(
            ip(&["10.1.1.1, 198.51.100.2 ,203.0.113.7"], None).as_deref(),
            Some("203.0.113.7")
        );
        // Several header lines count as one list, in order.
        assert_eq!(
            ip(&["10.1.1.1", "198.51.100.2"], None).as_deref(),
            Some("198.51.100.2")
        );
        assert_eq!(
            ip(&["198.51.100.2, 203.0.113.7,"], None).as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(ip(&["2001:db8::7"], None).as_deref(), Some("2001:db8::7"));
        assert_eq!(
            ip(&["\"203.0.113.8\""], None).as_deref(),
            Some("203.0.113.8")
        );
    }

    #[test]
    fn empty_or_non_address_entries_keep_the_peer() {
        assert_eq!(ip(&[""], None).as_deref(), Some("192.0.2.10"));
        assert_eq!(ip(&["203.0.113.7, "], None).as_deref(), Some("192.0.2.10"));
        assert_eq!(ip(&["unknown"], None).as_deref(), Some("192.0.2.10"));
        assert_eq!(
            ip(&["203.0.113.7:443"], None).as_deref(),
            Some("192.0.2.10")
        );
        assert_eq!(ip(&["<script>"], None).as_deref(), Some("192.0.2.10"));
    }

    #[test]
    fn proxy_count_false_values_use_the_peer() {
        let off = ClientIpPolicy::from_proxy_count(Some(&serde_json::json!(0)));
        assert!(!off.trust_forwarded_for);
        assert_eq!(
            ip(&["203.0.113.7"], Some(off)).as_deref(),
            Some("192.0.2.10")
        );
        for v in [
            serde_json::json!(null),
            serde_json::json!(false),
            serde_json::json!(""),
            serde_json::json!([]),
            serde_json::json!(0.0),
        ] {
            assert!(
                !ClientIpPolicy::from_proxy_count(Some(&v)).trust_forwarded_for,
                "{v}"
            );
        }
        for v in [
            serde_json::json!(1),
            serde_json::json!(2),
            serde_json::json!(true),
            serde_json::json!("1"),
        ] {
            assert!(
                ClientIpPolicy::from_proxy_count(Some(&v)).trust_forwarded_for,
                "{v}"
            );
        }
        assert!(ClientIpPolicy::from_proxy_count(None).trust_forwarded_for);
        let on = ClientIpPolicy::from_proxy_count(Some(&serde_json::json!(2)));
        // Any true PROXY_COUNT still trusts exactly one hop, as ProxyFix() does.
        assert_eq!(
            ip(&["198.51.100.2, 203.0.113.7"], Some(on)).as_deref(),
            Some("203.0.113.7")
        );
    }
}
