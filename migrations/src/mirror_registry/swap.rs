//! Putting the adopted database in the original's place, keeping the original as a backup.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::AdoptError;

/// Where the files went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swapped {
    /// The original database, renamed (untouched).
    pub backup: PathBuf,
    /// The adopted database, now at the original's path.
    pub database: PathBuf,
}

/// Renames `database` (and its `-wal`/`-shm` files, if any) to a free
/// `<database>.pre-quay-rs[.N]` name, then renames `adopted` to `database`, with the original's
/// permissions and, when allowed, owner (mirror-registry runs Quay as uid 1001). If the second
/// rename fails, the first is undone.
///
/// # Errors
/// [`AdoptError::Io`] when a rename or the permission copy fails.
pub fn swap_into_place(database: &Path, adopted: &Path) -> Result<Swapped, AdoptError> {
    let meta = std::fs::metadata(database).map_err(AdoptError::io("reading", database))?;
    std::fs::set_permissions(adopted, meta.permissions())
        .map_err(AdoptError::io("setting permissions of", adopted))?;
    // Only root may give a file away; an unprivileged run keeps its own ownership.
    let _ = std::os::unix::fs::chown(adopted, Some(meta.uid()), Some(meta.gid()));

    let backup = free_backup_name(database);
    let side = |p: &Path, s: &str| PathBuf::from(format!("{}{s}", p.display()));
    std::fs::rename(database, &backup).map_err(AdoptError::io("renaming", database))?;
    for s in ["-wal", "-shm"] {
        if side(database, s).exists() {
            std::fs::rename(side(database, s), side(&backup, s))
                .map_err(AdoptError::io("renaming", &side(database, s)))?;
        }
    }
    if let Err(e) = std::fs::rename(adopted, database) {
        let _ = std::fs::rename(&backup, database);
        return Err(AdoptError::io("renaming", adopted)(e));
    }
    Ok(Swapped {
        backup,
        database: database.to_owned(),
    })
}

fn free_backup_name(database: &Path) -> PathBuf {
    let base = format!("{}.pre-quay-rs", database.display());
    let mut candidate = PathBuf::from(&base);
    let mut n = 1;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{base}.{n}"));
        n += 1;
    }
    candidate
}
