//! TLS to PostgreSQL through OpenSSL (native-tls): a private PostgreSQL with `ssl=on` and a
//! self-signed certificate made with the `openssl` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use diesel::sql_types::Bool;
use diesel_async::RunQueryDsl;
use quay_adapter_db::{ConnectionArgs, DbError, DbTarget, RawConnection, connect};
use secrecy::SecretString;
use serde_json::json;

use crate::errors::chain;
use crate::replicas::closed_port;
use crate::support;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool, as the `postgres` user when we are root (PostgreSQL refuses root).
fn pg_tool(tool: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", tool]);
        c
    } else {
        Command::new(tool)
    }
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output().with_context(|| format!("starting {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn self_signed(dir: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
    let (crt, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let mut c = Command::new("openssl");
    c.args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
    ])
    .args([
        "-addext",
        "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout",
    ])
    .arg(&key)
    .arg("-out")
    .arg(&crt);
    run(c, "openssl req")?;
    Ok((crt, key))
}

/// A throw-away PostgreSQL cluster with TLS on, stopped on drop.
struct TlsPg {
    dir: tempfile::TempDir,
    port: u16,
    ca: PathBuf,
    other_ca: PathBuf,
}

impl TlsPg {
    fn start() -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let (crt, key) = self_signed(dir.path(), "server")?;
        let (other_ca, _) = self_signed(dir.path(), "other")?;
        if is_root() {
            run(
                {
                    let mut c = Command::new("chown");
                    c.arg("-R").arg("postgres").arg(dir.path());
                    c
                },
                "chown",
            )?;
        }
        run(
            {
                let mut c = Command::new("chmod");
                c.arg("600").arg(&key);
                c
            },
            "chmod",
        )?;
        let data = dir.path().join("data");
        let mut initdb = pg_tool("initdb");
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&data);
        run(initdb, "initdb")?;
        let port = closed_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            dir.path().display(),
            crt.display(),
            key.display()
        );
        let mut start = pg_tool("pg_ctl");
        start
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-o", &opts, "-w", "start"]);
        run(start, "pg_ctl start")
            .with_context(|| std::fs::read_to_string(dir.path().join("log")).unwrap_or_default())?;
        Ok(Self {
            dir,
            port,
            ca: crt,
            other_ca,
        })
    }

    fn target(&self, args: serde_json::Value) -> DbTarget {
        let serde_json::Value::Object(connection_args) = args else {
            panic!("object expected")
        };
        DbTarget::Postgres {
            url: SecretString::from(format!(
                "postgresql://postgres:pw@127.0.0.1:{}/postgres",
                self.port
            )),
            connection_args,
        }
    }
}

impl Drop for TlsPg {
    fn drop(&mut self) {
        let mut stop = pg_tool("pg_ctl");
        stop.arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"]);
        let _ = stop.output();
    }
}

async fn uses_tls(target: DbTarget) -> Result<bool> {
    let db = connect(support::settings(target)).await?;
    let RawConnection::Postgres(mut conn) = db.raw_primary_connection().await? else {
        bail!("postgres expected")
    };
    let ssl: bool = diesel::select(diesel::dsl::sql::<Bool>(
        "(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())",
    ))
    .get_result(&mut *conn)
    .await?;
    Ok(ssl)
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_modes_against_a_server_with_ssl_on() -> Result<()> {
    let pg = TlsPg::start()?;
    let ca = pg.ca.display().to_string();
    let other = pg.other_ca.display().to_string();

    assert!(
        uses_tls(pg.target(json!({"sslmode": "require"}))).await?,
        "require uses TLS"
    );
    assert!(
        !uses_tls(pg.target(json!({"sslmode": "disable"}))).await?,
        "disable does not"
    );
    assert!(uses_tls(pg.target(json!({"sslmode": "verify-full", "sslrootcert": ca}))).await?);
    assert!(uses_tls(pg.target(json!({"sslmode": "verify-ca", "sslrootcert": ca}))).await?);

    let err = connect(support::settings(
        pg.target(json!({"sslmode": "verify-full", "sslrootcert": other})),
    ))
    .await
    .err()
    .expect("a certificate from another root must be refused");
    let text = chain(&err);
    assert!(matches!(err, DbError::Tls { .. }), "{text}");
    assert!(
        text.contains(&format!("127.0.0.1:{}", pg.port)) && text.contains("certificate"),
        "{text}"
    );
    assert!(!text.contains(":pw@"), "{text}");

    let missing = connect(support::settings(pg.target(
        json!({"sslmode": "verify-full", "sslrootcert": "/nonexistent/ca.pem"}),
    )))
    .await
    .err()
    .expect("missing root file");
    assert!(
        chain(&missing).contains("/nonexistent/ca.pem"),
        "{}",
        chain(&missing)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn require_against_a_server_without_tls_is_a_clear_error() -> Result<()> {
    let pg = support::TestPg::new().await?;
    let mut url = pg.url.clone();
    url.push_str("?sslmode=require");
    let target = DbTarget::Postgres {
        url: SecretString::from(url),
        connection_args: ConnectionArgs::new(),
    };
    let err = connect(support::settings(target))
        .await
        .err()
        .expect("no TLS on the test cluster");
    assert!(matches!(err, DbError::Tls { .. }), "{}", chain(&err));
    assert!(
        err.to_string().contains("does not offer TLS"),
        "{}",
        chain(&err)
    );
    Ok(())
}
