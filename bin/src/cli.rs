//! The `quay` command line.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::Mode;

/// One binary serving Quay's registry, API and workers on Quay's own database and storage.
#[derive(Debug, Parser)]
#[command(name = "quay", version, about, propagate_version = true)]
pub struct Cli {
    /// Log format: readable text (default) or one JSON object per line (`JSONLOG=true` too).
    #[arg(long, global = true, value_enum, env = "QUAY_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP (registry, API, health) until SIGTERM or Ctrl-C.
    Serve(ServeArgs),
    /// Database schema commands.
    #[command(subcommand)]
    Db(DbCommand),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Bring an existing installation to quay-rs (a mirror-registry SQLite install).
    Migrate(MigrateArgs),
    /// FIPS commands.
    #[command(subcommand)]
    Fips(FipsCommand),
    /// Print the version, the Alembic head this build speaks and the OpenSSL it links.
    Version,
}

/// Where the configuration comes from; shared by every command that reads it.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Preset: mirror (SQLite, local disk, self-signed TLS), standalone or full.
    #[arg(long, value_enum, env = "QUAY_MODE")]
    pub mode: Option<Mode>,
    /// Quay's config.yaml; its keys override the preset's.
    #[arg(long, env = "QUAY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database, local storage, TLS files (mirror preset).
    #[arg(long, env = "QUAY_DATA_DIR", default_value = "quay-data")]
    pub data_dir: PathBuf,
}

/// `quay serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub source: ConfigArgs,
    /// Address to listen on (default 0.0.0.0:8443 with TLS, 0.0.0.0:8080 without).
    #[arg(long, env = "QUAY_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// `auto` (self-signed certificate in the data directory when none is configured), `off`
    /// (plain HTTP, for tests or behind a TLS-terminating proxy), or `CERT,KEY` PEM files.
    #[arg(long, env = "QUAY_TLS")]
    pub tls: Option<TlsArg>,
    /// Create this superuser at start if it does not exist.
    #[arg(long, requires = "init_password", env = "QUAY_INIT_USER")]
    pub init_user: Option<String>,
    /// Password of `--init-user`.
    #[arg(
        long,
        requires = "init_user",
        env = "QUAY_INIT_PASSWORD",
        hide_env_values = true
    )]
    pub init_password: Option<String>,
}

/// The `--tls` choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsArg {
    /// Use the configured certificate, or make a self-signed one.
    Auto,
    /// Plain HTTP.
    Off,
    /// These PEM files.
    Files { cert: PathBuf, key: PathBuf },
}

impl std::str::FromStr for TlsArg {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "off" => Ok(Self::Off),
            other => match other.split_once(',') {
                Some((cert, key)) if !cert.is_empty() && !key.is_empty() => Ok(Self::Files {
                    cert: cert.into(),
                    key: key.into(),
                }),
                _ => Err(format!(
                    "`{other}` is not a TLS choice: use `auto`, `off` or `CERT.pem,KEY.pem`"
                )),
            },
        }
    }
}

/// `quay db ...`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create Quay's schema at the Alembic head in an empty database (no-op at head).
    Upgrade(ConfigArgs),
    /// Show the database's Alembic version and whether quay-rs can use it.
    Status(ConfigArgs),
}

/// `quay config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Check a configuration and report every error at once.
    Validate(ConfigArgs),
}

/// `quay fips ...`.
#[derive(Debug, Subcommand)]
pub enum FipsCommand {
    /// Report the loaded OpenSSL providers and whether FIPS is enforced.
    Status(ConfigArgs),
}

/// `quay migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// A mirror-registry install: its root directory (quayRoot) or its `quay_sqlite.db`.
    #[arg(long, value_name = "PATH")]
    pub from_mirror_registry: PathBuf,
    /// Only run the read-only preflight.
    #[arg(long)]
    pub preflight_only: bool,
    /// The install's config.yaml (default: `quay-config/config.yaml` under the install root);
    /// its DATABASE_SECRET_KEY decrypts the robot tokens in the preflight.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write the migrated database here and leave the original in place (no swap).
    #[arg(long, value_name = "FILE")]
    pub target: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_arg_parses_the_three_forms() {
        assert_eq!("auto".parse::<TlsArg>(), Ok(TlsArg::Auto));
        assert_eq!("off".parse::<TlsArg>(), Ok(TlsArg::Off));
        assert_eq!(
            "a.pem,b.pem".parse::<TlsArg>(),
            Ok(TlsArg::Files {
                cert: "a.pem".into(),
                key: "b.pem".into()
            })
        );
        assert!("a.pem".parse::<TlsArg>().is_err());
        assert!(",b".parse::<TlsArg>().is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn init_user_requires_password() {
        let parsed = Cli::try_parse_from(["quay", "serve", "--init-user", "admin"]);
        assert!(parsed.is_err());
    }
}
