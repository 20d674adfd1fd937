//! Connection parameters as Quay's Redis settings give them: a map of `redis.StrictRedis`
//! keyword arguments (`host`, `port`, `db`, `username`, `password`, `ssl`, ...).

use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo as _};

/// Why a Redis setting cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum RedisParamsError {
    /// The setting is not a map.
    #[error("must be a map of connection settings (host, port, db, password, ...)")]
    NotAMap,
    /// A key has the wrong type or an out-of-range value.
    #[error("`{key}`: {problem}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// The client refused the parameters.
    #[error("invalid connection parameters: {0}")]
    Client(#[from] redis::RedisError),
}

/// Where and how to connect.
#[derive(Clone)]
pub struct RedisParams {
    /// `host` (default `localhost`).
    pub host: String,
    /// `port` (default 6379).
    pub port: u16,
    /// `db` (default 0).
    pub db: i64,
    /// `username` (Redis 6 ACL user).
    pub username: Option<String>,
    /// `password`.
    pub password: Option<String>,
    /// `ssl`: TLS through the system's OpenSSL (native-tls).
    pub ssl: bool,
    /// `socket_connect_timeout` and `socket_timeout` in seconds (Quay's pull metrics: 5).
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisParams")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("db", &self.db)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("ssl", &self.ssl)
            .finish_non_exhaustive()
    }
}

fn int(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &'static str,
) -> Result<Option<i64>, RedisParamsError> {
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            n.as_i64().map(Some).ok_or(RedisParamsError::Invalid {
                key,
                problem: "must be an integer",
            })
        }
        Some(serde_json::Value::String(s)) => {
            s.parse().map(Some).map_err(|_| RedisParamsError::Invalid {
                key,
                problem: "must be an integer",
            })
        }
        Some(_) => Err(RedisParamsError::Invalid {
            key,
            problem: "must be an integer",
        }),
    }
}

fn text(
    map: &serde_json::Map<String, serde_json::Value>,
    key: &'static str,
) -> Result<Option<String>, RedisParamsError> {
    match map.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RedisParamsError::Invalid {
            key,
            problem: "must be a string",
        }),
    }
}

impl RedisParams {
    /// Reads Quay's map. Keys quay-rs does not use (e.g. `retry_attempts`) are ignored.
    ///
    /// # Errors
    /// [`RedisParamsError`] naming the bad key.
    pub fn from_quay(value: &serde_json::Value) -> Result<Self, RedisParamsError> {
        let map = value.as_object().ok_or(RedisParamsError::NotAMap)?;
        let port = match int(map, "port")? {
            None => 6379,
            Some(p) => u16::try_from(p).map_err(|_| RedisParamsError::Invalid {
                key: "port",
                problem: "must be a TCP port",
            })?,
        };
        let timeout_s = int(map, "socket_timeout")?.unwrap_or(5).max(1);
        let ssl = match map.get("ssl") {
            None | Some(serde_json::Value::Null) => false,
            Some(serde_json::Value::Bool(b)) => *b,
            Some(_) => {
                return Err(RedisParamsError::Invalid {
                    key: "ssl",
                    problem: "must be true or false",
                });
            }
        };
        Ok(Self {
            host: text(map, "host")?.unwrap_or_else(|| "localhost".to_owned()),
            port,
            db: int(map, "db")?.unwrap_or(0),
            username: text(map, "username")?,
            password: text(map, "password")?,
            ssl,
            timeout: Duration::from_secs(timeout_s.unsigned_abs()),
        })
    }

    /// The client's connection information.
    ///
    /// # Errors
    /// [`RedisParamsError::Client`] when the client refuses them.
    pub fn connection_info(&self) -> Result<ConnectionInfo, RedisParamsError> {
        let addr = if self.ssl {
            ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(self.host.clone(), self.port)
        };
        let info = addr.into_connection_info()?;
        let mut settings = info.redis_settings().clone().set_db(self.db);
        if let Some(u) = &self.username {
            settings = settings.set_username(u);
        }
        if let Some(p) = &self.password {
            settings = settings.set_password(p);
        }
        Ok(info.set_redis_settings(settings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_defaults_and_keys() {
        let p = RedisParams::from_quay(&serde_json::json!({"host": "redis.example", "db": 1}))
            .expect("valid");
        assert_eq!(
            (p.host.as_str(), p.port, p.db, p.ssl),
            ("redis.example", 6379, 1, false)
        );
        let p = RedisParams::from_quay(&serde_json::json!({
            "port": "6380", "password": "s3cret", "ssl": true, "retry_attempts": 3
        }))
        .expect("valid");
        assert_eq!((p.host.as_str(), p.port, p.ssl), ("localhost", 6380, true));
        assert!(!format!("{p:?}").contains("s3cret"));
        let info = p.connection_info().expect("connection info");
        assert_eq!(info.redis_settings().password(), Some("s3cret"));
    }

    #[test]
    fn bad_values_name_their_key() {
        for (bad, key) in [
            (serde_json::json!({"port": 70000}), "port"),
            (serde_json::json!({"db": "x"}), "db"),
            (serde_json::json!({"host": 3}), "host"),
            (serde_json::json!({"ssl": "yes"}), "ssl"),
        ] {
            let e = RedisParams::from_quay(&bad).expect_err("invalid");
            assert!(e.to_string().contains(key), "{e}");
        }
        assert!(matches!(
            RedisParams::from_quay(&serde_json::json!("localhost")),
            Err(RedisParamsError::NotAMap)
        ));
    }
}
