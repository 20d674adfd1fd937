//! PostgreSQL connections: our own tokio-postgres client (TLS through OpenSSL via
//! `postgres-native-tls`), wrapped into an `AsyncPgConnection`, and the pool built on it.

use std::error::Error as StdError;
use std::sync::Arc;

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use futures_util::FutureExt;
use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use crate::error::DbError;
use crate::settings::ConnectionArgs;

pub(crate) mod args;

use args::{PgSslMode, PgTls};

/// Everything needed to open one PostgreSQL connection.
pub(crate) struct PgConnector {
    config: tokio_postgres::Config,
    tls: Option<native_tls::TlsConnector>,
    target: String,
}

fn parse_config(
    url: &SecretString,
) -> Result<(tokio_postgres::Config, Vec<(String, String)>), DbError> {
    let (url, url_tls) = args::split_url_tls_params(url.expose_secret());
    // tokio-postgres's parse errors name the bad option, never the password.
    let config: tokio_postgres::Config = url.parse().map_err(|e: tokio_postgres::Error| {
        DbError::InvalidUri(format!("not a PostgreSQL URL: {e}"))
    })?;
    Ok((config, url_tls))
}

fn target_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// `postgresql host:port/db`, for logs; never the password.
pub(crate) fn describe_url(url: &SecretString) -> String {
    match parse_config(url) {
        Ok((config, _)) => format!("postgresql {}", target_of(&config)),
        Err(_) => "postgresql (unparsable DB_URI)".into(),
    }
}

fn read_file(target: &str, what: &str, path: &std::path::Path) -> Result<Vec<u8>, DbError> {
    std::fs::read(path).map_err(|e| DbError::Tls {
        target: target.into(),
        hint: format!("cannot read {what} {}", path.display()),
        source: Box::new(e),
    })
}

fn tls_connector(target: &str, tls: &PgTls) -> Result<Option<native_tls::TlsConnector>, DbError> {
    if tls.mode == PgSslMode::Disable {
        return Ok(None);
    }
    let bad = |hint: String, e: native_tls::Error| DbError::Tls {
        target: target.into(),
        hint,
        source: Box::new(e),
    };
    let mut b = native_tls::TlsConnector::builder();
    let verify_chain = match tls.mode {
        PgSslMode::Prefer => false,
        // libpq: `require` with a root certificate file behaves as `verify-ca`.
        PgSslMode::Require => tls.root_cert.is_some(),
        PgSslMode::VerifyCa | PgSslMode::VerifyFull | PgSslMode::Disable => true,
    };
    b.danger_accept_invalid_certs(!verify_chain);
    b.danger_accept_invalid_hostnames(tls.mode != PgSslMode::VerifyFull);
    if let Some(path) = &tls.root_cert {
        let pem = read_file(target, "sslrootcert", path)?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            bad(
                format!(
                    "sslrootcert {} is not a PEM certificate bundle",
                    path.display()
                ),
                e,
            )
        })?;
        for cert in certs {
            b.add_root_certificate(cert);
        }
        b.disable_built_in_roots(true);
    }
    if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
        let cert_pem = read_file(target, "sslcert", cert)?;
        let key_pem = read_file(target, "sslkey", key)?;
        let identity = native_tls::Identity::from_pkcs8(&cert_pem, &key_pem).map_err(|e| {
            bad(
                format!(
                    "sslcert {} / sslkey {} unusable: the key must be unencrypted PKCS#8 PEM \
                     (convert with `openssl pkcs8 -topk8 -nocrypt`)",
                    cert.display(),
                    key.display()
                ),
                e,
            )
        })?;
        b.identity(identity);
    }
    b.build()
        .map(Some)
        .map_err(|e| bad("cannot build the TLS client".into(), e))
}

fn chain_text(e: &(dyn StdError + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

fn classify(target: &str, e: tokio_postgres::Error) -> DbError {
    let target = target.to_owned();
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        if code.starts_with("28") {
            return DbError::Authentication {
                target,
                source: Box::new(e),
            };
        }
        if code == "3D000" {
            return DbError::MissingDatabase {
                target,
                source: Box::new(e),
            };
        }
        return DbError::Postgres {
            target,
            source: Box::new(e),
        };
    }
    let text = chain_text(&e);
    if text.starts_with("error performing TLS handshake") {
        let hint = if text.contains("does not support TLS") {
            "the server does not offer TLS: enable ssl on the server or lower sslmode".to_owned()
        } else if text.contains("certificate verify failed") || text.contains("verify") {
            "the server certificate could not be verified: check sslrootcert and, for verify-full, \
             that the certificate names the host in DB_URI"
                .to_owned()
        } else {
            "check sslmode, sslrootcert, sslcert and sslkey".to_owned()
        };
        return DbError::Tls {
            target,
            hint,
            source: Box::new(e),
        };
    }
    if text.starts_with("error connecting to server")
        || text.starts_with("timeout")
        || text.contains("communicating")
    {
        return DbError::Unreachable {
            target,
            source: Box::new(e),
        };
    }
    DbError::Postgres {
        target,
        source: Box::new(e),
    }
}

impl PgConnector {
    /// Parses the URL and arguments and prepares TLS (reading certificate files now, so that
    /// mistakes surface at start).
    pub(crate) fn new(
        url: &SecretString,
        connection_args: &ConnectionArgs,
    ) -> Result<Self, DbError> {
        let (mut config, url_tls) = parse_config(url)?;
        let tls = args::apply(&mut config, url_tls, connection_args)?;
        let target = target_of(&config);
        let tls = tls_connector(&target, &tls)?;
        Ok(Self {
            config,
            tls,
            target,
        })
    }

    /// `host:port/database`.
    pub(crate) fn target(&self) -> &str {
        &self.target
    }

    /// Opens one connection.
    pub(crate) async fn connect(&self) -> Result<AsyncPgConnection, DbError> {
        let wrapped = match &self.tls {
            None => {
                let (client, conn) = self
                    .config
                    .connect(NoTls)
                    .await
                    .map_err(|e| classify(&self.target, e))?;
                AsyncPgConnection::try_from_client_and_connection(client, conn).await
            }
            Some(tls) => {
                let make = postgres_native_tls::MakeTlsConnector::new(tls.clone());
                let (client, conn) = self
                    .config
                    .connect(make)
                    .await
                    .map_err(|e| classify(&self.target, e))?;
                AsyncPgConnection::try_from_client_and_connection(client, conn).await
            }
        };
        wrapped.map_err(|e| DbError::Postgres {
            target: self.target.clone(),
            source: Box::new(e),
        })
    }
}

/// A pool whose connections come from `connector`.
pub(crate) fn pool(
    connector: Arc<PgConnector>,
    size: usize,
) -> Result<Pool<AsyncPgConnection>, DbError> {
    let target = connector.target.clone();
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    manager_config.custom_setup = Box::new(move |_url| {
        let connector = Arc::clone(&connector);
        async move {
            connector
                .connect()
                .await
                .map_err(|e| ConnectionError::BadConnection(chain_text(&e)))
        }
        .boxed()
    });
    // The URL is unused by our setup callback; pass only the safe target description.
    let manager = AsyncDieselConnectionManager::new_with_config(
        format!("postgresql {target}"),
        manager_config,
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .build()
        .map_err(|e| DbError::Postgres {
            target,
            source: Box::new(e),
        })
}
