//! Finding the database (and config) of a mirror-registry install.

use std::path::{Path, PathBuf};

use super::AdoptError;

/// The files of an install that the migration uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// The SQLite database (`<quayRoot>/sqlite-storage/quay_sqlite.db`).
    pub database: PathBuf,
    /// `<quayRoot>/quay-config/config.yaml`, when found.
    pub config: Option<PathBuf>,
}

/// Resolves `path`: either the install root (`--quayRoot`) or the database file itself.
///
/// # Errors
/// [`AdoptError::NotFound`] when neither is found.
pub fn locate(path: &Path) -> Result<Install, AdoptError> {
    if path.is_file() {
        // <quayRoot>/sqlite-storage/quay_sqlite.db -> <quayRoot>/quay-config/config.yaml
        let config = path
            .parent()
            .and_then(Path::parent)
            .map(|root| root.join("quay-config/config.yaml"))
            .filter(|c| c.is_file());
        return Ok(Install {
            database: path.to_owned(),
            config,
        });
    }
    let candidates = [
        path.join("sqlite-storage/quay_sqlite.db"),
        path.join("quay_sqlite.db"),
    ];
    let Some(database) = candidates.iter().find(|c| c.is_file()) else {
        return Err(AdoptError::NotFound {
            path: path.to_owned(),
            tried: candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let config = Some(path.join("quay-config/config.yaml")).filter(|c| c.is_file());
    Ok(Install {
        database: database.clone(),
        config,
    })
}
