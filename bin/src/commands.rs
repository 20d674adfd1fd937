//! The short-lived commands: `db`, `config`, `fips`, `migrate`, `version`.

use anyhow::{Result, bail};
use std::process::ExitCode;

use crate::cli::{Command, ConfigArgs, ConfigCommand, DbCommand, FipsCommand};
use crate::{config, database};

/// Runs a command other than `serve`.
///
/// # Errors
/// The command's failure, with its cause.
pub async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Serve(_) => bail!("internal: serve is not a short-lived command"),
        Command::Db(DbCommand::Status(source)) => db_status(&source).await,
        Command::Db(DbCommand::Upgrade(source)) => db_upgrade(&source).await,
        Command::Config(ConfigCommand::Validate(source)) => Ok(validate(&source)),
        Command::Fips(FipsCommand::Status(source)) => fips_status(&source),
        Command::Migrate(args) => {
            let options = crate::migrate::Options {
                from_mirror_registry: args.from_mirror_registry,
                preflight_only: args.preflight_only,
                config: args.config,
                target: args.target,
            };
            crate::migrate::run(&options, &crate::migrate::fips_decrypter)
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Version => {
            println!("quay {} (quay-rs)", env!("CARGO_PKG_VERSION"));
            println!("alembic head {}", quay_migrations::HEAD);
            println!("{}", quay_fips::status().openssl_version);
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn validate(source: &ConfigArgs) -> ExitCode {
    let mode = source.mode.or(if source.config.is_none() {
        Some(config::Mode::Mirror)
    } else {
        None
    });
    config::validate_command(
        mode,
        source.config.as_deref(),
        &config::process_env,
        &source.data_dir,
        &mut std::io::stdout(),
    )
}

fn fips_status(source: &ConfigArgs) -> Result<ExitCode> {
    let status = quay_fips::status();
    println!("{status}");
    let wanted = crate::load_config(source)
        .map(|c| c.feature("FEATURE_FIPS"))
        .unwrap_or(false);
    println!("FEATURE_FIPS: {wanted}");
    match quay_fips::enforce(wanted) {
        Ok(_) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            println!("serve would refuse to start: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn db_status(source: &ConfigArgs) -> Result<ExitCode> {
    let config = crate::load_config(source)?;
    if let Some(path) = database::sqlite_path(&config)
        && !path.exists()
    {
        println!("database: sqlite {} does not exist yet", path.display());
        println!(
            "schema: none; `quay db upgrade` creates it at Alembic head {}",
            quay_migrations::HEAD
        );
        return Ok(ExitCode::FAILURE);
    }
    let db = database::connect(&config).await?;
    let state = database::state(&db).await?;
    println!(
        "database: {}",
        database::settings(&config)?.primary.describe()
    );
    println!("schema: {}", database::describe(&state));
    Ok(if state == quay_migrations::SchemaState::AtHead {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn db_upgrade(source: &ConfigArgs) -> Result<ExitCode> {
    let config = crate::load_config(source)?;
    if let Some(parent) = database::sqlite_path(&config).and_then(std::path::Path::parent) {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", parent.display()))?;
    }
    let db = database::connect(&config).await?;
    let applied = database::upgrade(&db).await?;
    if applied.is_noop() {
        println!(
            "schema already at Alembic head {}; nothing to do",
            quay_migrations::HEAD
        );
    } else {
        println!(
            "schema created at Alembic head {} ({} migration(s) applied)",
            quay_migrations::HEAD,
            applied.migrations.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
