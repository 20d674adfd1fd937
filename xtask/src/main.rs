//! Developer and CI workflows for quay-rs: `cargo xtask <command>`.
//!
//! - `ci`: everything CI runs (fmt, layers, clippy, services, tests, FIPS pass).
//! - `services up|down|env`: throw-away PostgreSQL under `target/services/`.
//! - `layers`: the dependency rules of the house style.
//! - `schema`: print and diff the migrated schemas.
//! - `fips`: build the OpenSSL FIPS provider and run the crypto tests under it.

mod bench;
mod ci;
mod clients;
mod fips;
mod layers;
mod schema;
mod services;

use anyhow::{Result, bail};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask <ci|services up|services down|services env|layers|schema|fips [build|env|test|status]>"
        );
    };
    match cmd.as_str() {
        "ci" => ci::run(rest),
        "services" => services::run(rest),
        "layers" => layers::run(),
        "schema" => schema::run(rest),
        "fips" => fips::run(rest),
        "bench" => bench::run(rest),
        other => bail!("unknown xtask command `{other}`"),
    }
}
