//! `cargo xtask schema [--sqlite-only] [--print]`: migrate both backends from `migrations/`,
//! write their schemas to `target/schema/`, and diff them against Quay's dumps (the fixtures in
//! `migrations/tests/fixtures/`), loaded the same way.
//!
//! Uses the `sqlite3`, `psql` and `pg_dump` command-line tools (xtask depends on no workspace
//! crate). PostgreSQL needs `QUAY_TEST_PG_URL` (`cargo xtask services up`). The only tolerated
//! difference is `blobupload.created`'s default, which Alembic stamps with the install time.
//! The catalog-level comparison (columns, indexes, constraints, rows) is the integration test
//! `cargo test -p quay-migrations --test it`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn out_dir() -> Result<PathBuf> {
    let dir = repo().join("target/schema");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// The `up.sql` files of one tree, in migration order.
fn up_files(backend: &str) -> Result<Vec<PathBuf>> {
    let tree = repo().join("migrations").join(backend);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&tree)
        .with_context(|| format!("reading {}", tree.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("up.sql").is_file())
        .collect();
    dirs.sort();
    Ok(dirs.into_iter().map(|d| d.join("up.sql")).collect())
}

fn fixture(name: &str) -> PathBuf {
    repo().join("migrations/tests/fixtures").join(name)
}

fn output(mut cmd: Command, what: &str) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("{what}: cannot run {:?}", cmd.get_program()))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8(out.stdout).with_context(|| format!("{what}: output is not UTF-8"))
}

/// Replaces the install-time literal in `blobupload.created`'s default (the tolerated
/// difference) and drops the lines that vary per dump (`\restrict` keys, tool versions).
fn normalize(schema: &str) -> String {
    let mut out = String::new();
    let mut in_blobupload = false;
    for line in schema.lines() {
        if line.starts_with("\\restrict")
            || line.starts_with("\\unrestrict")
            || line.starts_with("-- Dumped from")
            || line.starts_with("-- Dumped by")
        {
            continue;
        }
        if line.starts_with("CREATE TABLE") && line.contains("blobupload") {
            in_blobupload = true;
        }
        if line.starts_with(')') {
            in_blobupload = false;
        }
        if in_blobupload && line.trim_start().starts_with("created ") {
            out.push_str(&mask_timestamp(line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn mask_timestamp(line: &str) -> String {
    match (line.find("DEFAULT '"), line.find("default '")) {
        (Some(i), _) | (None, Some(i)) => {
            let start = i + "DEFAULT '".len();
            match line[start..].find('\'') {
                Some(len) => format!("{}<install time>{}", &line[..start], &line[start + len..]),
                None => line.to_owned(),
            }
        }
        _ => line.to_owned(),
    }
}

/// Writes both schemas, prints the diff; returns whether they are equal.
fn compare(name: &str, migrated: &str, fixture: &str, print: bool) -> Result<bool> {
    let dir = out_dir()?;
    let left = dir.join(format!("{name}-migrated.sql"));
    let right = dir.join(format!("{name}-fixture.sql"));
    std::fs::write(&left, normalize(migrated))?;
    std::fs::write(&right, normalize(fixture))?;
    if print {
        println!("===== {name}: migrated schema ({}) =====", left.display());
        print!("{migrated}");
    }
    let mut diff = Command::new("diff");
    diff.arg("-u").arg(&right).arg(&left);
    let out = diff.output().context("running diff")?;
    if out.status.success() {
        println!(
            "{name}: migrated schema = Quay's dump ({} and {})",
            left.display(),
            right.display()
        );
        Ok(true)
    } else {
        println!("{name}: migrated schema differs from Quay's dump:");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        Ok(false)
    }
}

fn sqlite_schema(db: &Path, files: &[PathBuf]) -> Result<String> {
    let _ = std::fs::remove_file(db);
    for f in files {
        let mut cmd = Command::new("sqlite3");
        cmd.arg("-bail")
            .arg(db)
            .arg(format!(".read {}", f.display()));
        output(cmd, &format!("sqlite3 .read {}", f.display()))?;
    }
    let mut cmd = Command::new("sqlite3");
    cmd.arg(db).arg(".schema");
    output(cmd, "sqlite3 .schema")
}

fn sqlite(print: bool) -> Result<bool> {
    let dir = out_dir()?;
    let migrated = sqlite_schema(&dir.join("migrated.db"), &up_files("sqlite")?)?;
    let fixture = sqlite_schema(
        &dir.join("fixture.db"),
        &[
            fixture("quay_schema_sqlite.sql"),
            fixture("quay_seed_data_sqlite.sql"),
        ],
    )?;
    compare("sqlite", &migrated, &fixture, print)
}

/// `url` with its database name replaced by `db`.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    match query {
        Some(q) => format!("{}/{db}?{q}", &base[..path]),
        None => format!("{}/{db}", &base[..path]),
    }
}

fn psql(url: &str, args: &[&str], what: &str) -> Result<String> {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url])
        .args(args);
    output(cmd, what)
}

fn pg_schema(admin: &str, name: &str, files: &[PathBuf]) -> Result<String> {
    psql(
        admin,
        &[
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ],
        "dropdb",
    )?;
    psql(
        admin,
        &["-c", &format!("CREATE DATABASE {name}")],
        "createdb",
    )?;
    let url = with_database(admin, name);
    let result = (|| {
        for f in files {
            let path = f.display().to_string();
            psql(&url, &["-1", "-f", &path], &format!("psql -f {path}"))?;
        }
        let mut dump = Command::new("pg_dump");
        dump.args(["--schema-only", "--no-owner", "--no-privileges", "-d", &url]);
        output(dump, "pg_dump --schema-only")
    })();
    psql(
        admin,
        &[
            "-c",
            &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
        ],
        "dropdb",
    )?;
    result
}

fn postgres(print: bool) -> Result<bool> {
    let Ok(admin) = std::env::var("QUAY_TEST_PG_URL") else {
        bail!(
            "QUAY_TEST_PG_URL is not set: run `cargo xtask services up` and export the URL it \
             prints (or pass --sqlite-only)"
        );
    };
    let pid = std::process::id();
    let migrated = pg_schema(
        &admin,
        &format!("xtask_schema_migrated_{pid}"),
        &up_files("postgres")?,
    )?;
    let fixture = pg_schema(
        &admin,
        &format!("xtask_schema_fixture_{pid}"),
        &[
            fixture("quay_schema_postgres.sql"),
            fixture("quay_seed_data_postgres.sql"),
        ],
    )?;
    compare("postgres", &migrated, &fixture, print)
}

/// Entry point of `cargo xtask schema`.
///
/// # Errors
/// A tool is missing or fails, PostgreSQL is not configured, or a schema differs.
pub fn run(args: &[String]) -> Result<()> {
    let print = args.iter().any(|a| a == "--print");
    let sqlite_only = args.iter().any(|a| a == "--sqlite-only");
    if let Some(other) = args
        .iter()
        .find(|a| *a != "--print" && *a != "--sqlite-only")
    {
        bail!("usage: cargo xtask schema [--sqlite-only] [--print] (unknown `{other}`)");
    }
    let mut same = sqlite(print)?;
    if !sqlite_only {
        same &= postgres(print)?;
    }
    if !same {
        bail!("the migrated schema differs from Quay's (see the diff above)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_only_blobupload_created() {
        let pg = "CREATE TABLE public.blobupload (\n    created timestamp without time zone \
                  DEFAULT '2026-11-27 11:28:00'::timestamp without time zone NOT NULL,\n);\n\
                  CREATE TABLE public.tag (\n    created timestamp DEFAULT '2026-01-01'\n);\n";
        let n = normalize(pg);
        assert!(n.contains("DEFAULT '<install time>'::timestamp"), "{n}");
        assert!(n.contains("DEFAULT '2026-01-01'"), "{n}");
    }

    #[test]
    fn replaces_the_database_name() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/p?a=b", "x"),
            "postgres://u@h:1/x?a=b"
        );
    }
}
