//! The `login_success` action log entry of a `docker login` (Quay's `ACTION_LOG_AUDIT_LOGINS`
//! branch of `generate_registry_jwt`).

use quay_domain::name::NamespaceName;
use quay_ports::store::AuditEntry;

use super::RegistryAuth;
use super::basic::Principal;
use super::identity::EntityKind;

/// Python's `json.dumps` of a string (`ensure_ascii`).
fn py_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Python's `json.dumps` of a flat string dictionary, keys in order.
fn py_object(pairs: &[(&str, String)]) -> String {
    let body: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}: {}", py_str(k), py_str(v)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

impl RegistryAuth {
    /// Writes `login_success` for users, robots and app-specific tokens (Quay logs nothing for
    /// access tokens, which have no user; OAuth logins are not logged here, see the report).
    /// A failure is logged and does not fail the login.
    pub(crate) async fn audit_login(
        &self,
        principal: &Principal,
        ip: Option<&str>,
        user_agent: &str,
    ) {
        let Some(audit) = &self.ports.audit else {
            return;
        };
        let Some(account) = &principal.account else {
            return;
        };
        let mut metadata: Vec<(&str, String)> = match principal.kind {
            EntityKind::User => vec![("kind", "user".into())],
            EntityKind::Robot => vec![
                ("kind", "robot".into()),
                ("robot", account.username.clone()),
            ],
            EntityKind::AppSpecificToken => {
                let title = principal.title.clone().unwrap_or_default();
                vec![
                    ("kind", "app_specific_token".into()),
                    ("app_specific_token_title", title),
                ]
            }
            EntityKind::Anonymous | EntityKind::Token | EntityKind::OAuthToken => return,
        };
        metadata.push(("type", "v2auth".into()));
        metadata.push(("useragent", user_agent.to_owned()));
        // The entry belongs to the user's namespace, or the robot's owner.
        let namespace = account.username.split('+').next().unwrap_or_default();
        let account_id = if principal.kind == EntityKind::Robot {
            let owner = match NamespaceName::parse(namespace) {
                Ok(name) => self.ports.users.find_namespace(&name).await.ok().flatten(),
                Err(_) => None,
            };
            match owner {
                Some(owner) => owner.id.0,
                None => return,
            }
        } else {
            account.id.0
        };
        let entry = AuditEntry {
            kind: "login_success".into(),
            account_id,
            performer_id: Some(account.id.0),
            repository_id: None,
            datetime: self.ports.clock.now(),
            ip: ip.map(str::to_owned),
            metadata_json: py_object(&metadata),
        };
        if let Err(error) = audit.log_action(&entry).await {
            tracing::warn!(error = %error, "writing the login_success action log entry failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_python_json() {
        assert_eq!(
            py_object(&[
                ("kind", "user".into()),
                ("type", "v2auth".into()),
                ("useragent", "docker/24 \"x\" é".into())
            ]),
            r#"{"kind": "user", "type": "v2auth", "useragent": "docker/24 \"x\" \u00e9"}"#
        );
    }
}
