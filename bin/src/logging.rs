//! Logging through `tracing`: readable by default, JSON lines on request.

use crate::cli::LogFormat;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` filters (default `info`; Quay's `DEBUGLOG=true`
/// means `debug`); `JSONLOG=true` (Quay's switch) or `--log-format json` selects JSON.
pub fn init(format: Option<LogFormat>) {
    let env = |k: &str| std::env::var(k).ok();
    let debug = env("DEBUGLOG").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(if debug { "debug" } else { "info" }));
    let json = match format {
        Some(f) => f == LogFormat::Json,
        None => env("JSONLOG").is_some_and(|v| v.eq_ignore_ascii_case("true")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init();
    } else {
        builder.init();
    }
}
