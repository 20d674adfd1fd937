//! `cargo xtask fips`: build, install and use an OpenSSL FIPS provider for the second test pass.
//!
//! The provider comes from the crates.io `openssl-src` crate, version `300.1.4+3.1.2`, which
//! carries the full OpenSSL 3.1.2 tree (the FIPS 140-3 validated version, certificate #4985).
//! Steps, all under `target/fips/` (cached; a finished install is reused):
//!
//! 1. `cargo fetch` a throw-away manifest depending on `openssl-src = "=300.1.4"`, then copy
//!    `openssl-src-300.1.4+3.1.2/openssl` out of `$CARGO_HOME/registry/src`;
//! 2. `./Configure enable-fips no-tests <platform>`, `make build_generated`,
//!    `make providers/fips.so` (only the module, about 20 s on two cores);
//! 3. `openssl fipsinstall` with the system `openssl` (runs the module's self-tests and writes
//!    `fipsmodule.cnf`);
//! 4. write `openssl-fips.cnf`: activates `fips` and `base` (not `default`) and sets
//!    `default_properties = fips=yes`.
//!
//! Subcommands: `build` (default), `env` (print `export` lines), `test` (run the quay-fips tests
//! with FIPS as the default provider and `QUAY_EXPECT_FIPS=1`), `status`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// The `openssl-src` crate version that carries OpenSSL 3.1.2.
const OPENSSL_SRC_VERSION: &str = "300.1.4+3.1.2";

fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .map_or(manifest.clone(), Path::to_path_buf)
}

fn fips_dir() -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("fips")
}

/// Where the pieces live.
struct Layout {
    dir: PathBuf,
    module: PathBuf,
    module_cnf: PathBuf,
    openssl_cnf: PathBuf,
}

impl Layout {
    fn new() -> Self {
        let dir = fips_dir();
        Self {
            module: dir.join("install/lib/ossl-modules/fips.so"),
            module_cnf: dir.join("install/ssl/fipsmodule.cnf"),
            openssl_cnf: dir.join("openssl-fips.cnf"),
            dir,
        }
    }

    fn modules_dir(&self) -> PathBuf {
        self.dir.join("install/lib/ossl-modules")
    }

    fn is_installed(&self) -> bool {
        self.module.is_file() && self.module_cnf.is_file() && self.openssl_cnf.is_file()
    }
}

fn run_cmd(what: &str, cmd: &mut Command) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("{what}: could not start"))?;
    if !status.success() {
        bail!("{what} failed: {status}");
    }
    Ok(())
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME").map_or_else(
        || PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cargo"),
        PathBuf::from,
    )
}

/// Fetches `openssl-src` and returns its OpenSSL source tree.
fn fetch_sources(layout: &Layout) -> Result<PathBuf> {
    let fetch = layout.dir.join("fetch");
    std::fs::create_dir_all(fetch.join("src"))?;
    std::fs::write(
        fetch.join("Cargo.toml"),
        format!(
            "[package]\nname = \"fips-fetch\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nopenssl-src = \"={OPENSSL_SRC_VERSION}\"\n\n[workspace]\n"
        ),
    )?;
    std::fs::write(fetch.join("src/lib.rs"), "")?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_cmd(
        "cargo fetch openssl-src",
        Command::new(cargo)
            .arg("fetch")
            .arg("--manifest-path")
            .arg(fetch.join("Cargo.toml")),
    )?;
    let registry = cargo_home().join("registry/src");
    for index in
        std::fs::read_dir(&registry).with_context(|| format!("read {}", registry.display()))?
    {
        let candidate = index?
            .path()
            .join(format!("openssl-src-{OPENSSL_SRC_VERSION}/openssl"));
        if candidate.join("Configure").is_file() {
            return Ok(candidate);
        }
    }
    bail!(
        "openssl-src {OPENSSL_SRC_VERSION} not found under {}",
        registry.display()
    )
}

/// OpenSSL's `Configure` platform name for this host.
fn platform() -> Result<&'static str> {
    Ok(match std::env::consts::ARCH {
        "x86_64" => "linux-x86_64",
        "aarch64" => "linux-aarch64",
        "s390x" => "linux64-s390x",
        "powerpc64" if cfg!(target_endian = "little") => "linux-ppc64le",
        "powerpc64" => "linux-ppc64",
        other => bail!("no OpenSSL platform known for {other}"),
    })
}

/// Builds `fips.so`, installs it with `openssl fipsinstall` and writes the configuration.
fn build(layout: &Layout) -> Result<()> {
    let started = Instant::now();
    let sources = fetch_sources(layout)?;
    let tree = layout.dir.join("openssl-3.1.2");
    if !tree.join("Configure").is_file() {
        if tree.exists() {
            std::fs::remove_dir_all(&tree)?;
        }
        run_cmd(
            "copy OpenSSL sources",
            Command::new("cp").arg("-a").arg(&sources).arg(&tree),
        )?;
    }
    let jobs = std::thread::available_parallelism()
        .map_or(2, |n| n.get().min(2))
        .to_string();
    if !tree.join("providers/fips.so").is_file() {
        eprintln!("fips: configuring and building the OpenSSL 3.1.2 FIPS provider (about 20 s)");
        run_cmd(
            "Configure enable-fips",
            Command::new("perl").current_dir(&tree).args([
                "./Configure",
                "enable-fips",
                "no-tests",
                platform()?,
            ]),
        )?;
        run_cmd(
            "make build_generated",
            Command::new("make")
                .current_dir(&tree)
                .args(["-j", &jobs, "build_generated"]),
        )?;
        run_cmd(
            "make providers/fips.so",
            Command::new("make")
                .current_dir(&tree)
                .args(["-j", &jobs, "providers/fips.so"]),
        )?;
    }
    std::fs::create_dir_all(layout.modules_dir())?;
    std::fs::create_dir_all(layout.module_cnf.parent().unwrap_or(&layout.dir))?;
    std::fs::copy(tree.join("providers/fips.so"), &layout.module)?;
    run_cmd(
        "openssl fipsinstall",
        Command::new("openssl")
            .env_remove("OPENSSL_CONF")
            .args(["fipsinstall", "-module"])
            .arg(&layout.module)
            .arg("-out")
            .arg(&layout.module_cnf),
    )?;
    std::fs::write(&layout.openssl_cnf, openssl_cnf(&layout.module_cnf))?;
    eprintln!(
        "fips: provider built and installed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn openssl_cnf(module_cnf: &Path) -> String {
    format!(
        "# Written by `cargo xtask fips`: FIPS provider as the only source of algorithms.\n\
         config_diagnostics = 1\n\
         openssl_conf = openssl_init\n\n\
         .include {}\n\n\
         [openssl_init]\nproviders = provider_sect\nalg_section = algorithm_sect\n\n\
         [provider_sect]\nfips = fips_sect\nbase = base_sect\n\n\
         [base_sect]\nactivate = 1\n\n\
         [algorithm_sect]\ndefault_properties = fips=yes\n",
        module_cnf.display()
    )
}

/// Ensures the provider is installed and returns the environment of the FIPS test pass:
/// `OPENSSL_CONF`, `OPENSSL_MODULES` and `QUAY_EXPECT_FIPS=1`.
///
/// # Errors
/// Any failing build or install step.
pub fn env() -> Result<Vec<(String, String)>> {
    let layout = Layout::new();
    if !layout.is_installed() {
        build(&layout)?;
    }
    let check = Command::new("openssl")
        .env("OPENSSL_CONF", &layout.openssl_cnf)
        .env("OPENSSL_MODULES", layout.modules_dir())
        .args(["list", "-providers"])
        .output()
        .context("openssl list -providers")?;
    let listing = String::from_utf8_lossy(&check.stdout);
    if !check.status.success() || !listing.contains("fips") {
        bail!(
            "the FIPS provider does not load with {}:\n{listing}{}",
            layout.openssl_cnf.display(),
            String::from_utf8_lossy(&check.stderr)
        );
    }
    Ok(vec![
        (
            "OPENSSL_CONF".to_owned(),
            layout.openssl_cnf.display().to_string(),
        ),
        (
            "OPENSSL_MODULES".to_owned(),
            layout.modules_dir().display().to_string(),
        ),
        ("QUAY_EXPECT_FIPS".to_owned(), "1".to_owned()),
    ])
}

/// Runs the quay-fips tests with FIPS as the default provider (test binaries are built first,
/// outside the FIPS environment, so cargo itself never runs under it).
///
/// # Errors
/// Build, install or test failure.
pub fn test() -> Result<()> {
    let vars = env()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run_cmd(
        "cargo test --no-run -p quay-fips",
        Command::new(&cargo).current_dir(root()).args([
            "test",
            "-p",
            "quay-fips",
            "--tests",
            "--locked",
            "--no-run",
        ]),
    )?;
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(root()).args([
        "test",
        "-p",
        "quay-fips",
        "--tests",
        "--locked",
        "--",
        "--nocapture",
    ]);
    for (k, v) in &vars {
        cmd.env(k, v);
    }
    run_cmd("cargo test -p quay-fips (FIPS provider)", &mut cmd)
}

/// Entry point of `cargo xtask fips [build|env|test|status]`.
///
/// # Errors
/// As the subcommand.
pub fn run(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        None | Some("build") => {
            let layout = Layout::new();
            if layout.is_installed() {
                eprintln!(
                    "fips: provider already installed under {}",
                    layout.dir.display()
                );
            } else {
                build(&layout)?;
            }
            for (k, v) in env()? {
                println!("export {k}={v}");
            }
            Ok(())
        }
        Some("env") => {
            for (k, v) in env()? {
                println!("export {k}={v}");
            }
            Ok(())
        }
        Some("test") => test(),
        Some("status") => {
            let vars = env()?;
            let mut cmd = Command::new("openssl");
            cmd.args(["list", "-providers"]);
            for (k, v) in &vars {
                cmd.env(k, v);
            }
            run_cmd("openssl list -providers", &mut cmd)
        }
        Some(other) => bail!("usage: cargo xtask fips [build|env|test|status] (got `{other}`)"),
    }
}
