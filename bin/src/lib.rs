//! The library half of the `quay` binary: the parts `main.rs` wires together and that
//! integration tests use directly.

pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod database;
pub mod logging;
pub mod migrate;
pub mod probes;
pub mod pull_metrics;
pub mod registry;
pub mod registry_content;
pub mod secrets;
pub mod serve;
pub mod storage;
pub mod workers;

use anyhow::Result;

/// Loads the configuration for a command, logging warnings; on errors, returns them all as one
/// error whose message lists each with its key path and fix.
///
/// # Errors
/// Every configuration error found.
pub fn load_config(source: &cli::ConfigArgs) -> Result<config::QuayConfig> {
    let mode = source.mode.or(if source.config.is_none() {
        Some(config::Mode::Mirror)
    } else {
        None
    });
    match config::load(
        mode,
        source.config.as_deref(),
        &config::process_env,
        &source.data_dir,
    ) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                tracing::warn!("config: {warning}");
            }
            Ok(loaded.config)
        }
        Err(errors) => Err(anyhow::anyhow!("the configuration is invalid:\n{errors}")),
    }
}
