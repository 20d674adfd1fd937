//! Action log entries of the registry (`push_repo`, `pull_repo`, `delete_tag`) with the metadata
//! Python Quay's `track_and_log` writes, serialised as Python's `json.dumps` (`", "` and `": "`
//! separators, insertion order, non-ASCII escaped).
//!
//! Metadata order: `repo`, `namespace`, `user-agent`, the call's own keys, then `username` and
//! `is_robot` for an authenticated caller, then `resolved_ip`. Quay fills `resolved_ip` from its
//! IP-range database; quay-rs has none and writes Quay's answer for an address it cannot place.

use quay_domain::repository::Repository;
use quay_domain::user::{Account, AccountKind};
use quay_ports::store::AuditEntry;

use super::{Caller, Registry, RegistryFailure};

/// One metadata value.
pub(crate) enum Meta {
    Str(String),
    Bool(bool),
    Raw(&'static str),
}

const RESOLVED_IP: &str = "{\"provider\": \"internet\", \"service\": null, \"sync_token\": \"1645662201\", \"country_iso_code\": null, \"aws_region\": null, \"continent\": null}";

fn py_string(s: &str, out: &mut String) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
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
}

/// Python's `json.dumps` of a flat object.
pub(crate) fn dumps(pairs: &[(&str, Meta)]) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        py_string(k, &mut out);
        out.push_str(": ");
        match v {
            Meta::Str(s) => py_string(s, &mut out),
            Meta::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Meta::Raw(r) => out.push_str(r),
        }
    }
    out.push('}');
    out
}

impl Registry {
    /// Builds an entry of `kind` about `repo` with the call's own metadata keys.
    pub(crate) fn audit_entry(
        &self,
        kind: &str,
        caller: &Caller,
        performer: Option<&Account>,
        repo: &Repository,
        extra: Vec<(&str, Meta)>,
    ) -> AuditEntry {
        let mut pairs: Vec<(&str, Meta)> = vec![
            ("repo", Meta::Str(repo.name.as_str().to_owned())),
            ("namespace", Meta::Str(repo.namespace.as_str().to_owned())),
            (
                "user-agent",
                Meta::Str(caller.user_agent.clone().unwrap_or_default()),
            ),
        ];
        pairs.extend(extra);
        if let Some(account) = performer {
            pairs.push(("username", Meta::Str(account.username.clone())));
            if account.kind == AccountKind::Robot {
                pairs.push(("is_robot", Meta::Bool(true)));
            }
        }
        pairs.push(("resolved_ip", Meta::Raw(RESOLVED_IP)));
        AuditEntry {
            kind: kind.to_owned(),
            account_id: repo.namespace_id.0,
            performer_id: performer.map(|a| a.id.0),
            repository_id: Some(repo.id.0),
            datetime: self.now(),
            ip: caller.ip.clone(),
            metadata_json: dumps(&pairs),
        }
    }

    /// Writes an entry; a failure is logged, never returned (Quay logs best-effort).
    pub(crate) async fn log(&self, entry: AuditEntry) {
        if let Err(e) = self.ports.audit.log_action(&entry).await {
            let e = RegistryFailure::internal("writing the action log", e);
            tracing::warn!(error = %e, log.kind = %entry.kind, "could not write an action log entry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dumps_like_python() {
        let s = dumps(&[
            ("repo", Meta::Str("hello".into())),
            ("x", Meta::Str("é\"".into())),
            ("is_robot", Meta::Bool(true)),
            ("resolved_ip", Meta::Raw(RESOLVED_IP)),
        ]);
        assert_eq!(
            s,
            "{\"repo\": \"hello\", \"x\": \"\\u00e9\\\"\", \"is_robot\": true, \"resolved_ip\": {\"provider\": \"internet\", \"service\": null, \"sync_token\": \"1645662201\", \"country_iso_code\": null, \"aws_region\": null, \"continent\": null}}"
        );
    }
}
