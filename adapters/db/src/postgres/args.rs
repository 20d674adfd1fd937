//! `DB_CONNECTION_ARGS` for PostgreSQL: the libpq keywords Quay hands to psycopg2, applied to a
//! `tokio_postgres::Config`, plus the TLS policy (`sslmode` and the certificate files).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use tokio_postgres::config::{SslMode, TargetSessionAttrs};

use crate::error::DbError;
use crate::settings::ConnectionArgs;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgSslMode {
    /// No TLS.
    Disable,
    /// TLS if the server offers it, certificates not checked (libpq's default; also `allow`).
    Prefer,
    /// TLS required; certificates not checked unless `sslrootcert` is set (then as `VerifyCa`).
    Require,
    /// TLS required; the chain must lead to `sslrootcert` (or the system roots).
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host.
    VerifyFull,
}

/// TLS settings from `sslmode`, `sslrootcert`, `sslcert`, `sslkey`.
#[derive(Debug, Clone)]
pub(crate) struct PgTls {
    pub mode: PgSslMode,
    pub root_cert: Option<PathBuf>,
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// Keys psycopg2/libpq accept that are peewee's or Quay's own, or superseded by `DB_URI`.
const IGNORED: &[&str] = &[
    "autorollback",
    "autoconnect",
    "threadlocals",
    "stale_timeout",
    "max_connections",
    "timeout",
    "_driver_autocommit",
    "host",
    "port",
    "user",
    "password",
    "dbname",
    "database",
];

/// Default `connect_timeout`, Quay's `DEFAULT_DB_CONNECT_TIMEOUT`.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn as_string(key: &str, v: &Value) -> Result<String, DbError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1".into() } else { "0".into() }),
        _ => Err(DbError::InvalidConnectionArg {
            key: key.into(),
            reason: "expected a string or number".into(),
        }),
    }
}

fn as_secs(key: &str, v: &Value) -> Result<Duration, DbError> {
    let s = as_string(key, v)?;
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| DbError::InvalidConnectionArg {
            key: key.into(),
            reason: format!("expected a number of seconds, got `{s}`"),
        })?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(DbError::InvalidConnectionArg {
            key: key.into(),
            reason: "must be a non-negative number".into(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}

fn parse_ssl_mode(key: &str, s: &str) -> Result<PgSslMode, DbError> {
    Ok(match s {
        "disable" => PgSslMode::Disable,
        "allow" | "prefer" => PgSslMode::Prefer,
        "require" => PgSslMode::Require,
        "verify-ca" => PgSslMode::VerifyCa,
        "verify-full" => PgSslMode::VerifyFull,
        other => {
            return Err(DbError::InvalidConnectionArg {
                key: key.into(),
                reason: format!(
                    "unknown sslmode `{other}`: use disable, allow, prefer, require, verify-ca or verify-full"
                ),
            });
        }
    })
}

/// Removes the TLS keywords tokio-postgres cannot parse from the URL's query string and returns
/// them as arguments; values in the URL lose to `DB_CONNECTION_ARGS`, as in libpq.
pub(crate) fn split_url_tls_params(url: &str) -> (String, Vec<(String, String)>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), Vec::new());
    };
    let mut kept = Vec::new();
    let mut taken = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if matches!(k, "sslmode" | "sslrootcert" | "sslcert" | "sslkey") {
            taken.push((k.to_owned(), v.replace("%2F", "/").replace("%2f", "/")));
        } else {
            kept.push(pair);
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    (url, taken)
}

/// Applies `args` (after `url_tls`, the TLS keywords found in the URL) to `config` and returns
/// the TLS policy. Unknown keys are logged and ignored, as they were harmless to older configs.
pub(crate) fn apply(
    config: &mut tokio_postgres::Config,
    url_tls: Vec<(String, String)>,
    args: &ConnectionArgs,
) -> Result<PgTls, DbError> {
    let mut tls = PgTls {
        mode: PgSslMode::Prefer,
        root_cert: None,
        client_cert: None,
        client_key: None,
    };
    config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    let url_pairs = url_tls.into_iter().map(|(k, v)| (k, Value::String(v)));
    let arg_pairs = args.iter().map(|(k, v)| (k.clone(), v.clone()));
    for (key, value) in url_pairs.chain(arg_pairs) {
        let key = key.as_str();
        match key {
            "sslmode" => tls.mode = parse_ssl_mode(key, &as_string(key, &value)?)?,
            "sslrootcert" => tls.root_cert = Some(PathBuf::from(as_string(key, &value)?)),
            "sslcert" => tls.client_cert = Some(PathBuf::from(as_string(key, &value)?)),
            "sslkey" => tls.client_key = Some(PathBuf::from(as_string(key, &value)?)),
            "connect_timeout" => {
                config.connect_timeout(as_secs(key, &value)?);
            }
            "application_name" => {
                config.application_name(as_string(key, &value)?);
            }
            "options" => {
                config.options(as_string(key, &value)?);
            }
            "keepalives" => {
                config.keepalives(as_string(key, &value)? != "0");
            }
            "keepalives_idle" => {
                config.keepalives_idle(as_secs(key, &value)?);
            }
            "keepalives_interval" => {
                config.keepalives_interval(as_secs(key, &value)?);
            }
            "target_session_attrs" => {
                let attrs = match as_string(key, &value)?.as_str() {
                    "any" => TargetSessionAttrs::Any,
                    "read-write" => TargetSessionAttrs::ReadWrite,
                    "read-only" => TargetSessionAttrs::ReadOnly,
                    other => {
                        return Err(DbError::InvalidConnectionArg {
                            key: key.into(),
                            reason: format!(
                                "unsupported value `{other}`: use any, read-write or read-only"
                            ),
                        });
                    }
                };
                config.target_session_attrs(attrs);
            }
            k if IGNORED.contains(&k) => {}
            other => tracing::warn!(
                db.arg = other,
                "ignoring unsupported DB_CONNECTION_ARGS key"
            ),
        }
    }
    if tls.client_cert.is_some() != tls.client_key.is_some() {
        return Err(DbError::InvalidConnectionArg {
            key: "sslcert".into(),
            reason: "sslcert and sslkey must be given together".into(),
        });
    }
    config.ssl_mode(match tls.mode {
        PgSslMode::Disable => SslMode::Disable,
        PgSslMode::Prefer => SslMode::Prefer,
        PgSslMode::Require | PgSslMode::VerifyCa | PgSslMode::VerifyFull => SslMode::Require,
    });
    Ok(tls)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(v: Value) -> ConnectionArgs {
        match v {
            Value::Object(m) => m,
            _ => panic!("object expected"),
        }
    }

    #[test]
    fn url_tls_params_are_split_off() {
        let (url, taken) = split_url_tls_params(
            "postgresql://h/db?sslmode=verify-full&application_name=x&sslrootcert=%2Fca.pem",
        );
        assert_eq!(url, "postgresql://h/db?application_name=x");
        assert_eq!(
            taken,
            vec![
                ("sslmode".into(), "verify-full".into()),
                ("sslrootcert".into(), "/ca.pem".into())
            ]
        );
    }

    #[test]
    fn args_are_applied() {
        let mut config = tokio_postgres::Config::new();
        let tls = apply(
            &mut config,
            vec![("sslmode".into(), "require".into())],
            &args(json!({
                "sslmode": "verify-full", "sslrootcert": "/ca.pem", "connect_timeout": 3,
                "application_name": "quay", "autorollback": true, "threadlocals": true
            })),
        )
        .expect("valid");
        assert_eq!(tls.mode, PgSslMode::VerifyFull);
        assert_eq!(tls.root_cert, Some(PathBuf::from("/ca.pem")));
        assert_eq!(config.get_connect_timeout(), Some(&Duration::from_secs(3)));
        assert_eq!(config.get_application_name(), Some("quay"));
        assert_eq!(config.get_ssl_mode(), SslMode::Require);
    }

    #[test]
    fn bad_args_are_rejected() {
        let mut config = tokio_postgres::Config::new();
        assert!(apply(&mut config, vec![], &args(json!({"sslmode": "sometimes"}))).is_err());
        assert!(
            apply(
                &mut config,
                vec![],
                &args(json!({"connect_timeout": "soon"}))
            )
            .is_err()
        );
        assert!(apply(&mut config, vec![], &args(json!({"sslcert": "/c.pem"}))).is_err());
    }
}
