//! Adopting a mirror-registry v2 install: its SQLite database at Alembic `3f8d7acdf7f9` is
//! brought to [`crate::HEAD`] without losing a row.
//!
//! # Layout of an install
//! mirror-registry keeps everything under `--quayRoot` (default `~/quay-install`):
//! `quay-config/config.yaml` (holds `DATABASE_SECRET_KEY`), `sqlite-storage/quay_sqlite.db` (the
//! database, WAL mode, owned by uid 1001) and `quay-storage/` (blobs). [`locate`] accepts the root
//! or the `.db` file.
//!
//! # Method
//! 1. [`preflight`] (read-only; opens the file with `mode=ro`): file readable, no live WAL
//!    (mirror-registry stopped), `integrity_check`, version `3f8d7acdf7f9`, every table of
//!    that schema present, every head column missing from the old table nullable or defaulted,
//!    lookup rows compared with head's seed, rows of dropped tables, every robot token
//!    decrypts with the install's `DATABASE_SECRET_KEY`, free space next to the target.
//! 2. [`build_adopted`]: creates a fresh head database (our migration, so the schema is exactly
//!    Quay's), `ATTACH`es the old file read-only and, in one transaction, copies every table
//!    column-for-column for the columns both have (new columns take their defaults), ids
//!    preserved; replays the data steps of Quay's migrations; verifies every table's count.
//! 3. [`swap_into_place`]: the original file becomes a backup, the new one takes its name.
//!
//! # What happens to the data between `3f8d7acdf7f9` and head
//! Quay's 23 revisions after `3f8d7acdf7f9` (a32e17bfad20 ... 9fa37f66a9b6) do:
//! - DDL only (reproduced by building the head schema): new tables (pull statistics, org
//!   mirroring, immutability policies, namespace notifications, quota notification state,
//!   organization contact email), new columns with defaults (`tag.immutable` = false,
//!   `repomirrorconfig.skopeo_timeout` = 300, nullable `architecture_filter`,
//!   `oauthaccesstoken.created/last_accessed/display_name`), index changes, PostgreSQL-only
//!   `manifestblob.id` bigint.
//! - a32e17bfad20 copies `repomirrorconfig.external_registry_password` into a wider column of
//!   the same name: the by-name copy does it.
//! - Lookup rows: eight revisions add `logentrykind` names and 6715e4719375 adds two
//!   `externalnotificationevent` names, each with the next free id (autoincrement). Here: the old
//!   rows are kept with their ids (other rows reference them, and Quay resolves lookups by name),
//!   and every head name missing from the old table is added with head's id when free, else
//!   `max(id) + 1`, in head's id order, which is what the Alembic chain produces. mirror-registry
//!   databases differ from a fresh head on purpose in places (e.g. `mediatype` 15/16 swapped, an
//!   extra `imagestoragelocation` `default`); the preflight lists every difference.
//! - 414c5e2fc487 fills `organizationcontactemail` from organizations' e-mails (`length < 64`),
//!   and b1a79fa8e630 then puts that contact e-mail back on organizations whose e-mail has no
//!   `@`: both statements are replayed after the copy.
//! - 15f06d00c4b3 drops `namespacegeorestriction`: its rows are not carried over (Quay drops
//!   them too); the preflight counts them and they stay in the backup.
//! - `alembic_version` becomes head.

mod copy;
mod db;
mod install;
mod preflight;
mod swap;
pub mod tables;

use std::path::PathBuf;

pub use copy::{AdoptReport, TableCopy, build_adopted};
pub use install::{Install, locate};
pub use preflight::{Check, Outcome, Preflight, PreflightInput, preflight};
pub use swap::{Swapped, swap_into_place};

use crate::MigrationError;

/// The Alembic revision of mirror-registry v2.0.11's database (Quay 3.12).
pub const MIRROR_REGISTRY_REVISION: &str = "3f8d7acdf7f9";

/// Decrypts one value of an encrypted column (Quay's field encryption, keyed from the
/// install's `DATABASE_SECRET_KEY`); the error is a human-readable reason.
pub type FieldDecrypter<'a> = &'a (dyn Fn(&str) -> Result<String, String> + Sync);

/// Progress of [`build_adopted`], for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A phase starts (creating the schema, copying, verifying ...).
    Step(String),
    /// One table was copied: `index` of `total`, `rows` rows.
    Table {
        /// Table name.
        name: String,
        /// 1-based position.
        index: usize,
        /// Number of tables to copy.
        total: usize,
        /// Rows copied.
        rows: i64,
    },
}

/// Why adopting an install failed. Nothing of the original file is changed in any case.
#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    /// No database found at or under the given path.
    #[error(
        "no mirror-registry database at {path}: looked for {tried}; pass the path of quay_sqlite.db itself (with the default podman volume it is under `podman volume inspect sqlite-storage`)"
    )]
    NotFound {
        /// The path given.
        path: PathBuf,
        /// The candidates tried, joined.
        tried: String,
    },
    /// A path is not UTF-8 (SQLite URIs need text).
    #[error("path {0} is not UTF-8")]
    NotUtf8(PathBuf),
    /// A file operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// SQLite could not open a file.
    #[error("opening {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: diesel::ConnectionError,
    },
    /// A statement failed.
    #[error("{step}: {source}")]
    Query {
        /// What was being done.
        step: String,
        /// The cause.
        #[source]
        source: diesel::result::Error,
    },
    /// Creating the head schema failed.
    #[error("creating the head schema: {0}")]
    Schema(#[from] MigrationError),
    /// The preflight did not pass; [`build_adopted`] refuses to run.
    #[error("the preflight failed: {0}")]
    PreflightFailed(String),
    /// After the copy a table does not hold the expected number of rows (rolled back).
    #[error(
        "table {table}: expected {expected} rows after the copy, found {found}; nothing was written"
    )]
    CountMismatch {
        /// Table name.
        table: String,
        /// Rows expected.
        expected: i64,
        /// Rows found.
        found: i64,
    },
    /// The new database failed its integrity check.
    #[error("the new database fails integrity_check: {0}")]
    Integrity(String),
}

impl AdoptError {
    fn query(step: impl Into<String>) -> impl FnOnce(diesel::result::Error) -> Self {
        let step = step.into();
        move |source| Self::Query { step, source }
    }

    fn io(action: &'static str, path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_owned();
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }
}

impl From<diesel::result::Error> for AdoptError {
    fn from(source: diesel::result::Error) -> Self {
        Self::Query {
            step: "transaction".to_owned(),
            source,
        }
    }
}
