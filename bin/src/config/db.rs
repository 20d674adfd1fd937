//! `DB_URI`, `DB_CONNECTION_ARGS` and `DB_READ_REPLICAS`.
//!
//! Quay writes SQLAlchemy-style URIs: `postgresql://user:pass@host:5432/quay` and
//! `sqlite:////absolute/path/quay_sqlite.db` (three slashes then the path; a fourth slash
//! makes the path absolute). MySQL/MariaDB URIs, which Python Quay accepts, are rejected:
//! quay-rs runs on PostgreSQL and SQLite only.

use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::{Map, Value};
use url::Url;

use super::extract::{Ctx, Node};

/// A parsed `DB_URI`. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub enum DbUri {
    /// PostgreSQL server.
    Postgres {
        /// Host name or address.
        host: String,
        /// Port (5432 when the URI has none).
        port: u16,
        /// Database name.
        database: String,
        /// User name, if given.
        user: Option<String>,
        /// Password, if given (percent-decoded).
        password: Option<SecretString>,
        /// Query parameters (`sslmode=require` ...), in order.
        params: Vec<(String, String)>,
        /// The whole URI as written (it contains the password).
        uri: SecretString,
    },
    /// SQLite database file.
    Sqlite {
        /// Database file path as written (relative paths are relative to the working dir).
        path: PathBuf,
    },
}

impl DbUri {
    /// Parses a `DB_URI`.
    ///
    /// # Errors
    /// `(problem, fix)` when the scheme is not PostgreSQL or SQLite or the URI is malformed.
    pub fn parse(s: &str) -> Result<Self, (String, String)> {
        let scheme = s
            .split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase());
        let base = scheme
            .as_deref()
            .map(|sc| sc.split('+').next().unwrap_or(sc));
        match base {
            Some("sqlite") => Self::parse_sqlite(s),
            Some("postgresql" | "postgres") => Self::parse_postgres(s),
            Some("mysql" | "mariadb") => Err((
                "MySQL/MariaDB is not supported by quay-rs".to_owned(),
                "migrate the data to PostgreSQL and use postgresql://user:password@host:5432/quay".to_owned(),
            )),
            Some(other) => Err((
                format!("database scheme `{other}` is not supported"),
                "use postgresql://user:password@host:5432/quay or sqlite:////absolute/path/quay_sqlite.db".to_owned(),
            )),
            None => Err((
                "not a database URI (no `scheme://`)".to_owned(),
                "use postgresql://user:password@host:5432/quay or sqlite:////absolute/path/quay_sqlite.db".to_owned(),
            )),
        }
    }

    fn parse_sqlite(s: &str) -> Result<Self, (String, String)> {
        let (_, rest) = s.split_once("://").unwrap_or((s, ""));
        match rest.strip_prefix('/') {
            Some(path) if !path.is_empty() => Ok(DbUri::Sqlite {
                path: PathBuf::from(path),
            }),
            _ => Err((
                "SQLite URI has no file path".to_owned(),
                "write sqlite:////absolute/path/quay_sqlite.db (four slashes for an absolute path)"
                    .to_owned(),
            )),
        }
    }

    fn parse_postgres(s: &str) -> Result<Self, (String, String)> {
        let fix = "write postgresql://user:password@host:5432/database".to_owned();
        let url =
            Url::parse(s).map_err(|e| (format!("malformed PostgreSQL URI ({e})"), fix.clone()))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| ("PostgreSQL URI has no host".to_owned(), fix.clone()))?;
        let database = url.path().trim_start_matches('/');
        if database.is_empty() {
            return Err(("PostgreSQL URI has no database name".to_owned(), fix));
        }
        let decode = |p: &str| percent_decode(p);
        Ok(DbUri::Postgres {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: url.port().unwrap_or(5432),
            database: decode(database),
            user: Some(url.username()).filter(|u| !u.is_empty()).map(decode),
            password: url.password().map(|p| SecretString::from(decode(p))),
            params: url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
            uri: SecretString::from(s.to_owned()),
        })
    }

    /// Whether this is PostgreSQL.
    #[must_use]
    pub fn is_postgres(&self) -> bool {
        matches!(self, DbUri::Postgres { .. })
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `DB_CONNECTION_ARGS`: the arguments quay-rs uses, plus the rest kept as given.
#[derive(Debug, Clone, Default)]
pub struct DbConnectionArgs {
    /// Pool size (`max_connections`).
    pub max_connections: Option<u64>,
    /// Seconds after which an idle connection is recycled (`stale_timeout`).
    pub stale_timeout: Option<u64>,
    /// Connect timeout in seconds (`connect_timeout`).
    pub connect_timeout: Option<u64>,
    /// libpq `sslmode`.
    pub sslmode: Option<String>,
    /// libpq `sslrootcert`: CA file for the server certificate.
    pub sslrootcert: Option<PathBuf>,
    /// Other arguments (Python driver options such as `threadlocals`), kept but unused.
    pub other: Map<String, Value>,
}

/// One `DB_READ_REPLICAS` entry.
#[derive(Debug, Clone)]
pub struct DbReplica {
    /// Replica URI.
    pub uri: DbUri,
    /// Replica connection arguments (the primary's when absent, as in Quay).
    pub connection_args: DbConnectionArgs,
}

/// The database settings.
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Primary database.
    pub uri: DbUri,
    /// Connection arguments of the primary.
    pub connection_args: DbConnectionArgs,
    /// Read replicas (PostgreSQL only).
    pub read_replicas: Vec<DbReplica>,
}

/// Reads `DB_URI` at `path`.
pub(crate) fn parse_uri(ctx: &mut Ctx, n: Node<'_>, key: &str) -> Option<DbUri> {
    let s = ctx.str(n, key)?;
    match DbUri::parse(&s) {
        Ok(u) => Some(u),
        Err((problem, fix)) => {
            ctx.error(n.key_path(key), problem, fix);
            None
        }
    }
}

/// Reads `DB_CONNECTION_ARGS`.
pub(crate) fn parse_args(ctx: &mut Ctx, n: Node<'_>, key: &str) -> Option<DbConnectionArgs> {
    let map = ctx.object(n, key)?;
    let path = n.key_path(key);
    let args = Node { map, path: &path };
    let mut other = map.clone();
    for k in [
        "max_connections",
        "stale_timeout",
        "connect_timeout",
        "sslmode",
        "sslrootcert",
    ] {
        other.remove(k);
    }
    const SSLMODES: &[&str] = &[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];
    let sslmode = ctx.str(args, "sslmode");
    if let Some(mode) = sslmode.as_deref().filter(|m| !SSLMODES.contains(m)) {
        ctx.error(
            args.key_path("sslmode"),
            format!("`{mode}` is not a libpq sslmode"),
            format!("use one of: {}", SSLMODES.join(", ")),
        );
    }
    Some(DbConnectionArgs {
        max_connections: ctx.u64(args, "max_connections"),
        stale_timeout: ctx.u64(args, "stale_timeout"),
        connect_timeout: ctx.u64(args, "connect_timeout"),
        sslmode,
        sslrootcert: ctx.str(args, "sslrootcert").map(PathBuf::from),
        other,
    })
}

/// Reads `DB_READ_REPLICAS`.
pub(crate) fn parse_replicas(
    ctx: &mut Ctx,
    n: Node<'_>,
    primary: &DbConnectionArgs,
) -> Vec<DbReplica> {
    let Some(value) = n.raw("DB_READ_REPLICAS") else {
        return Vec::new();
    };
    let Value::Array(items) = value else {
        ctx.wrong_type(
            "DB_READ_REPLICAS",
            "a list of {DB_URI, DB_CONNECTION_ARGS} mappings",
            value,
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let path = format!("DB_READ_REPLICAS[{i}]");
        let Value::Object(map) = item else {
            ctx.wrong_type(path, "a mapping with DB_URI", item);
            continue;
        };
        let r = Node { map, path: &path };
        ctx.reject_unknown(r, &["DB_URI", "DB_CONNECTION_ARGS"]);
        let uri = parse_uri(ctx, r, "DB_URI");
        if r.raw("DB_URI").is_none() {
            ctx.missing(r.key_path("DB_URI"), "give the replica's postgresql:// URI");
        }
        let args = parse_args(ctx, r, "DB_CONNECTION_ARGS").unwrap_or_else(|| primary.clone());
        match uri {
            Some(uri @ DbUri::Postgres { .. }) => out.push(DbReplica {
                uri,
                connection_args: args,
            }),
            Some(DbUri::Sqlite { .. }) => ctx.error(
                r.key_path("DB_URI"),
                "a read replica cannot be SQLite",
                "use a postgresql:// URI or remove the replica",
            ),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::path::Path;

    #[test]
    fn postgres_uri() {
        let u = DbUri::parse("postgresql://quay:p%40ss@db.example.com:5433/quay?sslmode=require");
        let Ok(DbUri::Postgres {
            host,
            port,
            database,
            user,
            password,
            params,
            ..
        }) = u
        else {
            panic!("not postgres");
        };
        assert_eq!(
            (host.as_str(), port, database.as_str()),
            ("db.example.com", 5433, "quay")
        );
        assert_eq!(user.as_deref(), Some("quay"));
        assert_eq!(
            password.map(|p| p.expose_secret().to_owned()).as_deref(),
            Some("p@ss")
        );
        assert_eq!(params, vec![("sslmode".to_owned(), "require".to_owned())]);
    }

    #[test]
    fn sqlite_uri() {
        let Ok(DbUri::Sqlite { path }) = DbUri::parse("sqlite:////var/lib/quay/quay_sqlite.db")
        else {
            panic!("not sqlite");
        };
        assert_eq!(path, PathBuf::from("/var/lib/quay/quay_sqlite.db"));
        assert!(
            matches!(DbUri::parse("sqlite:///rel/x.db"), Ok(DbUri::Sqlite { path }) if path == Path::new("rel/x.db"))
        );
        assert!(DbUri::parse("sqlite://").is_err());
    }

    #[test]
    fn unsupported_uris() {
        let Err((problem, _)) = DbUri::parse("mysql+pymysql://u:p@h/quay") else {
            panic!()
        };
        assert!(problem.contains("MySQL"));
        assert!(DbUri::parse("oracle://h/x").is_err());
        assert!(DbUri::parse("just text").is_err());
        assert!(DbUri::parse("postgresql://host").is_err());
    }

    #[test]
    fn debug_hides_password() {
        let u = DbUri::parse("postgresql://quay:hunter2@db/quay").ok();
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
