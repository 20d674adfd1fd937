//! (B) Adopting a mirror-registry v2.0.11 install.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use diesel_async::SimpleAsyncConnection;
use quay_migrations::SchemaState;
use quay_migrations::mirror_registry::{
    self, FieldDecrypter, Outcome, Preflight, PreflightInput, Progress,
};

mod survival;

use crate::catalog::{self, assert_same};
use crate::harness;

/// The install's DATABASE_SECRET_KEY and a robot token Quay encrypted with it (vector
/// fe-encrypt-4096-robot_token_64).
struct Robot {
    key: String,
    token_plain: String,
    token_stored: String,
}

fn robot_vector() -> Result<Robot> {
    let v: serde_json::Value =
        serde_json::from_str(&harness::read_fixture("field_encryption_v0_vectors.json"))?;
    let vector = v["vectors"]
        .as_array()
        .context("vectors")?
        .iter()
        .find(|x| x["id"] == "fe-encrypt-4096-robot_token_64")
        .context("robot vector")?;
    let s = |x: &serde_json::Value| x.as_str().map(str::to_owned).context("string");
    Ok(Robot {
        key: s(&vector["input"]["secret_key"])?,
        token_plain: s(&vector["input"]["plaintext"])?,
        token_stored: s(&vector["expected"]["ciphertext"])?,
    })
}

/// A mirror-registry root: quay-config/config.yaml, sqlite-storage/quay_sqlite.db (the
/// v2.0.11 fixture plus a robot with a real encrypted token and an organization), quay-storage/.
async fn make_install(root: &Path, robot: &Robot) -> Result<PathBuf> {
    std::fs::create_dir_all(root.join("quay-config"))?;
    std::fs::create_dir_all(root.join("sqlite-storage"))?;
    std::fs::create_dir_all(root.join("quay-storage"))?;
    std::fs::write(
        root.join("quay-config/config.yaml"),
        format!(
            "DATABASE_SECRET_KEY: '{}'\nDB_URI: sqlite:////sqlite/quay_sqlite.db\n",
            robot.key
        ),
    )?;
    let db = root.join("sqlite-storage/quay_sqlite.db");
    let mut conn = harness::open_sqlite(&db)?;
    harness::load_sqlite_dump(&mut conn, "mirror_registry_v2.0.11_db_dump.sql").await?;
    conn.batch_execute(&format!(
        "INSERT INTO \"user\" (id, uuid, username, email, verified, organization, robot, \
           invoice_email, invalid_login_attempts, last_invalid_login, removed_tag_expiration_s, \
           enabled) VALUES \
           (2, 'u-robot', 'init+mirror', 'robot@example.invalid', 1, 0, 1, 0, 0, \
            '2026-07-31 12:40:00', 1209600, 1), \
           (3, 'u-org', 'acme', 'ops@acme.example', 1, 1, 0, 0, 0, '2026-07-31 12:41:00', \
            1209600, 1); \
         INSERT INTO robotaccounttoken (id, robot_account_id, token, fully_migrated) \
           VALUES (1, 2, '{}', 1); \
         PRAGMA journal_mode = WAL;",
        robot.token_stored
    ))
    .await?;
    drop(conn);
    Ok(db)
}

/// Quay's field decryption as recorded in the vectors Python Quay produced: a stored value
/// decrypts under `key` exactly when a vector says so. (`quay migrate` wires the real
/// `quay-fips` cipher; bin's test runs it on the same install.)
fn decrypter(key: &str) -> Result<impl Fn(&str) -> Result<String, String> + Sync> {
    let v: serde_json::Value =
        serde_json::from_str(&harness::read_fixture("field_encryption_v0_vectors.json"))?;
    let mut known = Vec::new();
    for x in v["vectors"].as_array().context("vectors")? {
        let (stored, plain) = match x["op"].as_str() {
            Some("encrypt") => (&x["expected"]["ciphertext"], &x["input"]["plaintext"]),
            _ => (&x["input"]["ciphertext"], &x["expected"]["plaintext"]),
        };
        if x["input"]["secret_key"] == key {
            let s = |v: &serde_json::Value| v.as_str().map(str::to_owned).context("string");
            known.push((s(stored)?, s(plain)?));
        }
    }
    Ok(move |stored: &str| {
        known
            .iter()
            .find(|(s, _)| s == stored)
            .map(|(_, p)| p.clone())
            .ok_or_else(|| "DecryptionFailureException".to_owned())
    })
}

async fn run_preflight(db: &Path, target: &Path, decrypt: FieldDecrypter<'_>) -> Result<Preflight> {
    Ok(mirror_registry::preflight(PreflightInput {
        database: db,
        target,
        decrypt: Some(decrypt),
    })
    .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_refuses_a_wrong_secret_key_without_touching_anything() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let robot = robot_vector()?;
    let db = make_install(dir.path(), &robot).await?;
    let before = std::fs::read(&db)?;
    let target = dir.path().join("new.db");
    let wrong = decrypter("4097")?;
    let p = run_preflight(&db, &target, &wrong).await?;
    assert!(!p.passed(), "{:#?}", p.checks);
    assert!(
        p.failures().contains("robot tokens") && p.failures().contains("init+mirror"),
        "{}",
        p.failures()
    );
    let err = mirror_registry::build_adopted(&p, &target, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("preflight failed"), "{err}");
    assert!(!target.exists());
    assert_eq!(
        std::fs::read(&db)?,
        before,
        "the preflight wrote to the database"
    );
    for side in ["-wal", "-shm", "-journal"] {
        let f = PathBuf::from(format!("{}{side}", db.display()));
        assert!(!f.exists(), "the preflight created {}", f.display());
    }

    // Without a key, tokens cannot be checked: refused too.
    let p = mirror_registry::preflight(PreflightInput {
        database: &db,
        target: &target,
        decrypt: None,
    })
    .await?;
    assert!(
        p.failures().contains("DATABASE_SECRET_KEY"),
        "{}",
        p.failures()
    );

    // A head database is not a mirror-registry one.
    let head = dir.path().join("head.db");
    let mut conn = harness::open_sqlite(&head)?;
    quay_migrations::upgrade_sqlite(&mut conn).await?;
    let ok = decrypter(&robot.key)?;
    let p = run_preflight(&head, &target, &ok).await?;
    assert!(p.failures().contains("already at head"), "{}", p.failures());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopts_a_mirror_registry_install_without_losing_a_row() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let robot = robot_vector()?;
    let root = dir.path().join("quay-install");
    let db = make_install(&root, &robot).await?;
    let original = std::fs::read(&db)?;

    let install = mirror_registry::locate(&root)?;
    assert_eq!(install.database, db);
    assert_eq!(install.config, Some(root.join("quay-config/config.yaml")));
    assert_eq!(mirror_registry::locate(&db)?, install);

    let target = PathBuf::from(format!("{}.quay-rs-new", db.display()));
    let decrypt = decrypter(&robot.key)?;
    assert_eq!(
        decrypt(&robot.token_stored).map_err(anyhow::Error::msg)?,
        robot.token_plain
    );
    let p = run_preflight(&db, &target, &decrypt).await?;
    let report: Vec<String> = p.checks.iter().map(ToString::to_string).collect();
    println!("{}", report.join("\n"));
    assert!(p.passed(), "{}", report.join("\n"));
    assert_eq!(p.journal_mode, "wal");
    let has = |name: &str, outcome: Outcome, needle: &str| {
        p.checks
            .iter()
            .any(|c| c.name == name && c.outcome == outcome && c.detail.contains(needle))
    };
    assert!(
        has("robot tokens", Outcome::Pass, "all 1 robot tokens"),
        "{}",
        report.join("\n")
    );
    assert!(
        has("lookup rows", Outcome::Warn, "mediatype: id 15"),
        "{}",
        report.join("\n")
    );
    assert!(
        has("lookup rows", Outcome::Warn, "'default' (id 9)"),
        "{}",
        report.join("\n")
    );
    assert!(
        has(
            "lookup rows",
            Outcome::Pass,
            "logentrykind: head adds 115=change_tag_immutability"
        ),
        "{}",
        report.join("\n")
    );
    assert!(has("integrity", Outcome::Pass, "ok"));
    assert_eq!(
        std::fs::read(&db)?,
        original,
        "the preflight wrote to the database"
    );

    let mut events = Vec::new();
    let adopted =
        mirror_registry::build_adopted(&p, &target, &mut |e| events.push(e.clone())).await?;
    assert_eq!(
        std::fs::read(&db)?,
        original,
        "the copy wrote to the old database"
    );
    let copied = events
        .iter()
        .filter(|e| matches!(e, Progress::Table { .. }))
        .count();
    assert_eq!(copied, 95, "one progress line per copied table: {events:?}");
    assert_eq!(adopted.contact_emails, 1);
    assert_eq!(adopted.org_emails_fixed, 0);

    let swapped = mirror_registry::swap_into_place(&db, &target)?;
    assert_eq!(
        std::fs::read(&swapped.backup)?,
        original,
        "the backup is the original, byte for byte"
    );
    assert!(!target.exists());

    let mut new = harness::open_sqlite(&db)?;
    assert_eq!(
        quay_migrations::inspect_sqlite(&mut new).await?,
        SchemaState::AtHead
    );

    // The schema is exactly Quay's head (the same comparison as (A)).
    let mut fixture = harness::open_sqlite(&dir.path().join("fixture.db"))?;
    harness::load_sqlite_dump(&mut fixture, "quay_schema_sqlite.sql").await?;
    assert_same(
        "adopted SQLite schema",
        "adopted",
        &catalog::sqlite::schema(&mut new).await?,
        "Quay's dump",
        &catalog::sqlite::schema(&mut fixture).await?,
    );

    survival::check_every_row_survived(&mut new, &swapped.backup, &p).await?;
    survival::check_values(&mut new, &robot).await?;
    Ok(())
}
