//! `quay migrate --from-mirror-registry PATH`: adopt a mirror-registry v2 install.
//!
//! Runs the read-only preflight (printing every check), then builds a head-schema copy of the
//! install's SQLite database next to it, table by table, and finally swaps it into place,
//! keeping the original file, untouched, as `quay_sqlite.db.pre-quay-rs`. With `--target` the
//! copy is written there and nothing is swapped. The method and what happens to the data are
//! documented in `quay_migrations::mirror_registry`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use quay_migrations::mirror_registry::{self, Outcome, PreflightInput, Progress};
use quay_ports::crypto::FieldCipher as _;
use secrecy::{ExposeSecret as _, SecretString};

/// Decrypts one stored field value; the error is a readable reason.
pub type Decrypter = Box<dyn Fn(&str) -> Result<String, String> + Send + Sync>;

/// Builds the robot-token decrypter from the install's `DATABASE_SECRET_KEY`.
pub type MakeDecrypter = dyn Fn(&SecretString) -> Result<Decrypter> + Sync;

/// What `quay migrate --from-mirror-registry` is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The install: its root directory (`--quayRoot`) or its `quay_sqlite.db`.
    pub from_mirror_registry: PathBuf,
    /// Stop after the read-only preflight.
    pub preflight_only: bool,
    /// The install's `config.yaml`, when not at `<quayRoot>/quay-config/config.yaml`.
    pub config: Option<PathBuf>,
    /// Write the adopted database here and leave the install alone (no swap).
    pub target: Option<PathBuf>,
}

/// The real decrypter: Quay's field encryption `v0` from `quay-fips`.
///
/// # Errors
/// When the key cannot be converted (empty, or a character above U+00FF).
pub fn fips_decrypter(database_secret_key: &SecretString) -> Result<Decrypter> {
    let cipher = quay_fips::FieldEncrypterV0::new(database_secret_key)
        .map_err(|e| anyhow::anyhow!("DATABASE_SECRET_KEY cannot be used: {e}"))?;
    Ok(Box::new(move |stored: &str| {
        cipher
            .decrypt(stored)
            .map(|plain| plain.expose_secret().to_owned())
            .map_err(|e| e.to_string())
    }))
}

/// Runs the command; `make_decrypter` is normally [`fips_decrypter`].
///
/// # Errors
/// The install cannot be found, the preflight fails (every failed check is listed), or the copy
/// fails (the original is untouched and the partial copy removed).
pub async fn run(options: &Options, make_decrypter: &MakeDecrypter) -> Result<()> {
    let install = mirror_registry::locate(&options.from_mirror_registry)?;
    println!("mirror-registry database: {}", install.database.display());
    let config = options.config.clone().or(install.config.clone());
    let decrypter = match &config {
        Some(path) => {
            println!("configuration: {}", path.display());
            Some(make_decrypter(&database_secret_key(path)?)?)
        }
        None => {
            println!("configuration: not found (give --config to check robot tokens)");
            None
        }
    };
    let target = options
        .target
        .clone()
        .unwrap_or_else(|| default_target(&install.database));

    println!("preflight (read-only):");
    let decrypt = decrypter
        .as_deref()
        .map(|d| d as &(dyn Fn(&str) -> Result<String, String> + Sync));
    let preflight = mirror_registry::preflight(PreflightInput {
        database: &install.database,
        target: &target,
        decrypt,
    })
    .await
    .context("running the preflight")?;
    for check in &preflight.checks {
        println!("  {check}");
    }
    if !preflight.passed() {
        bail!(
            "the preflight failed; nothing was written:\n{}",
            preflight.failures()
        );
    }
    let warnings = preflight
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Warn)
        .count();
    println!("preflight passed ({warnings} warning(s))");
    if options.preflight_only {
        println!("--preflight-only: nothing was written");
        return Ok(());
    }

    let report = mirror_registry::build_adopted(&preflight, &target, &mut print_progress)
        .await
        .context("building the adopted database (the original is untouched)")?;
    let rows: i64 = report.tables.iter().map(|t| t.rows).sum();
    println!(
        "copied {} tables, {rows} rows, every count verified; {} lookup rows added; \
         {} organization contact e-mails filled",
        report.tables.len(),
        report.lookups_added.len(),
        report.contact_emails
    );
    if options.target.is_some() {
        println!(
            "adopted database written to {}; {} is unchanged",
            target.display(),
            install.database.display()
        );
        return Ok(());
    }
    let swapped = mirror_registry::swap_into_place(&install.database, &target)?;
    println!(
        "done: {} is at Alembic head {}; the original is kept as {}",
        swapped.database.display(),
        quay_migrations::HEAD,
        swapped.backup.display()
    );
    Ok(())
}

fn print_progress(event: &Progress) {
    match event {
        Progress::Step(step) => println!("{step}"),
        Progress::Table {
            name,
            index,
            total,
            rows,
        } => println!("  [{index:>3}/{total}] {name}: {rows} rows"),
    }
}

/// Next to the database, so the final rename stays on one file system.
fn default_target(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}.quay-rs-new", database.display()))
}

/// Reads `DATABASE_SECRET_KEY` from an install's `config.yaml` (a string or a number).
fn database_secret_key(config: &Path) -> Result<SecretString> {
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    secret_key_from_yaml(&text).with_context(|| format!("in {}", config.display()))
}

fn secret_key_from_yaml(text: &str) -> Result<SecretString> {
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).context("not YAML")?;
    let key = match doc.get("DATABASE_SECRET_KEY") {
        Some(serde_yaml_ng::Value::String(s)) => s.clone(),
        Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
        Some(_) => bail!("DATABASE_SECRET_KEY is neither a string nor a number"),
        None => bail!("DATABASE_SECRET_KEY is missing"),
    };
    Ok(SecretString::from(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_secret_key_as_text_or_number() {
        let k = secret_key_from_yaml("DATABASE_SECRET_KEY: 'abc'\nX: 1\n").unwrap();
        assert_eq!(k.expose_secret(), "abc");
        let k = secret_key_from_yaml("DATABASE_SECRET_KEY: 4096\n").unwrap();
        assert_eq!(k.expose_secret(), "4096");
        assert!(secret_key_from_yaml("SECRET_KEY: x\n").is_err());
    }

    #[test]
    fn the_fips_decrypter_reads_quays_robot_tokens() {
        // Vector fe-encrypt-4096-hello (Python Quay's FieldEncrypter, key "4096").
        let d = fips_decrypter(&SecretString::from("4096".to_owned())).unwrap();
        assert_eq!(
            d("v0$$/4Wum/6gGpX9QtziSRXpor7VrFGfAv3gSyK/LMQMz625Xs/18wvCqQ==").unwrap(),
            "hello world"
        );
        let wrong = fips_decrypter(&SecretString::from("4097".to_owned())).unwrap();
        assert!(wrong("v0$$/4Wum/6gGpX9QtziSRXpor7VrFGfAv3gSyK/LMQMz625Xs/18wvCqQ==").is_err());
    }

    fn sqlite3(db: &Path, sql: &str) -> String {
        let out = std::process::Command::new("sqlite3")
            .arg(db)
            .arg(sql)
            .output()
            .expect("the sqlite3 CLI runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adopts_a_mirror_registry_root_end_to_end() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("quay-install");
        std::fs::create_dir_all(root.join("sqlite-storage")).unwrap();
        std::fs::create_dir_all(root.join("quay-config")).unwrap();
        std::fs::write(
            root.join("quay-config/config.yaml"),
            "DATABASE_SECRET_KEY: 4096\n",
        )
        .unwrap();
        let db = root.join("sqlite-storage/quay_sqlite.db");
        let dump = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../migrations/tests/fixtures/mirror_registry_v2.0.11_db_dump.sql");
        sqlite3(&db, &format!(".read {}", dump.display()));
        // A robot whose token Python Quay encrypted with key 4096 ("hello world" vector).
        sqlite3(
            &db,
            "INSERT INTO \"user\" (id, username, email, verified, organization, robot, \
             invoice_email, invalid_login_attempts, last_invalid_login, \
             removed_tag_expiration_s, enabled) VALUES (7, 'init+r', 'r@x', 1, 0, 1, 0, 0, \
             '2026-01-01 00:00:00', 1209600, 1); INSERT INTO robotaccounttoken VALUES (1, 7, \
             'v0$$/4Wum/6gGpX9QtziSRXpor7VrFGfAv3gSyK/LMQMz625Xs/18wvCqQ==', 1)",
        );
        let original = std::fs::read(&db).unwrap();
        let options = Options {
            from_mirror_registry: root.clone(),
            preflight_only: true,
            config: None,
            target: None,
        };
        run(&options, &fips_decrypter).await.unwrap();
        assert_eq!(
            std::fs::read(&db).unwrap(),
            original,
            "--preflight-only wrote"
        );

        // A wrong key fails the preflight, naming the robot.
        let wrong = dir.path().join("wrong.yaml");
        std::fs::write(&wrong, "DATABASE_SECRET_KEY: '4097'\n").unwrap();
        let err = run(
            &Options {
                config: Some(wrong),
                preflight_only: false,
                ..options.clone()
            },
            &fips_decrypter,
        )
        .await
        .unwrap_err();
        assert!(format!("{err:#}").contains("init+r"), "{err:#}");
        assert_eq!(std::fs::read(&db).unwrap(), original);

        run(
            &Options {
                preflight_only: false,
                ..options
            },
            &fips_decrypter,
        )
        .await
        .unwrap();
        assert_eq!(
            sqlite3(&db, "SELECT version_num FROM alembic_version"),
            quay_migrations::HEAD
        );
        assert_eq!(sqlite3(&db, "SELECT count(*) FROM tag"), "3");
        let backup = PathBuf::from(format!("{}.pre-quay-rs", db.display()));
        assert_eq!(std::fs::read(&backup).unwrap(), original);
    }

    #[test]
    fn default_target_is_beside_the_database() {
        assert_eq!(
            default_target(Path::new("/q/sqlite-storage/quay_sqlite.db")),
            PathBuf::from("/q/sqlite-storage/quay_sqlite.db.quay-rs-new")
        );
    }
}
