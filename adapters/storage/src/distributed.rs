//! `DistributedStorage`: several named locations, chosen per call as Python Quay does.
//!
//! - `DISTRIBUTED_STORAGE_CONFIG` gives the locations; `DISTRIBUTED_STORAGE_PREFERENCE` orders
//!   them (default: every location, in configuration order); uploads go to the first preferred
//!   location;
//! - a read picks the first preferred location among the blob's placements (its
//!   `imagestorageplacement` rows), else a random placement;
//! - `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS` are the replication targets when the namespace has
//!   no `UserRegion`s; the storage-replication worker calls [`DistributedStorage::replicate`],
//!   which copies the blob to every missing target, checks it arrived, and returns the locations
//!   to record as new placements;
//! - in read-only mode (`REGISTRY_STATE: readonly`) every write is refused with `ReadOnly`.

use std::sync::Arc;

use quay_ports::storage::locations::StorageLocations;
use quay_ports::storage::{BlobStorage, DownloadUrlRequest, StorageError};
use url::Url;

/// Configuration errors (names that are not locations).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DistributedConfigError {
    /// No location is configured.
    #[error("DISTRIBUTED_STORAGE_CONFIG has no location")]
    NoLocation,
    /// A preference or default location names no configured location.
    #[error("{key} names `{location}`, which is not in DISTRIBUTED_STORAGE_CONFIG")]
    UnknownLocation {
        /// The config key.
        key: &'static str,
        /// The unknown name.
        location: String,
    },
}

/// The named storage locations of one registry.
#[derive(Debug, Clone)]
pub struct DistributedStorage {
    locations: Vec<(String, Arc<dyn BlobStorage>)>,
    preferred: Vec<String>,
    default_locations: Vec<String>,
    readonly: bool,
}

impl DistributedStorage {
    /// Builds the set; `preference` `None` (or empty) means every location in config order.
    ///
    /// # Errors
    /// [`DistributedConfigError`] for an empty config or an unknown name.
    pub fn new(
        locations: Vec<(String, Arc<dyn BlobStorage>)>,
        preference: Option<Vec<String>>,
        default_locations: Vec<String>,
        readonly: bool,
    ) -> Result<Self, DistributedConfigError> {
        if locations.is_empty() {
            return Err(DistributedConfigError::NoLocation);
        }
        let known = |n: &String| locations.iter().any(|(l, _)| l == n);
        let preferred = match preference {
            Some(p) if !p.is_empty() => p,
            _ => locations.iter().map(|(l, _)| l.clone()).collect(),
        };
        for (key, names) in [
            ("DISTRIBUTED_STORAGE_PREFERENCE", &preferred),
            ("DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS", &default_locations),
        ] {
            if let Some(bad) = names.iter().find(|n| !known(n)) {
                return Err(DistributedConfigError::UnknownLocation {
                    key,
                    location: bad.clone(),
                });
            }
        }
        Ok(Self {
            locations,
            preferred,
            default_locations,
            readonly,
        })
    }

    /// Names of all locations, in configuration order.
    pub fn location_names(&self) -> Vec<&str> {
        self.locations.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// The storage of location `name`.
    pub fn location(&self, name: &str) -> Option<&Arc<dyn BlobStorage>> {
        self.locations
            .iter()
            .find(|(l, _)| l == name)
            .map(|(_, s)| s)
    }

    /// `DISTRIBUTED_STORAGE_DEFAULT_LOCATIONS`.
    pub fn default_locations(&self) -> &[String] {
        &self.default_locations
    }

    /// Where new uploads go (the first preferred location) and its storage, for writing.
    ///
    /// # Errors
    /// `ReadOnly` in read-only mode.
    pub fn upload_location(&self) -> Result<(&str, &Arc<dyn BlobStorage>), StorageError> {
        self.writable()?;
        let name = self.preferred[0].as_str();
        let storage = self
            .location(name)
            .expect("preferences were checked against the locations in new()");
        Ok((name, storage))
    }

    /// Refuses writes in read-only mode.
    ///
    /// # Errors
    /// `ReadOnly` in read-only mode.
    pub fn writable(&self) -> Result<(), StorageError> {
        if self.readonly {
            Err(StorageError::ReadOnly)
        } else {
            Ok(())
        }
    }

    /// The location to read a blob placed in `placements` from: the first preferred location
    /// among them, else a random one of them.
    ///
    /// # Errors
    /// `NotFound` (with the path) when no placement names a configured location.
    pub fn for_read(
        &self,
        placements: &[String],
        path: &str,
    ) -> Result<(&str, &Arc<dyn BlobStorage>), StorageError> {
        if let Some(name) = self.preferred.iter().find(|p| placements.contains(p))
            && let Some(s) = self.location(name)
        {
            return Ok((name.as_str(), s));
        }
        let mut candidates: Vec<&(String, Arc<dyn BlobStorage>)> = self
            .locations
            .iter()
            .filter(|(l, _)| placements.contains(l))
            .collect();
        candidates.sort_by(|a, b| a.0.cmp(&b.0));
        if candidates.is_empty() {
            return Err(StorageError::NotFound {
                path: path.to_string(),
            });
        }
        let pick = (uuid::Uuid::new_v4().as_u128() % candidates.len() as u128) as usize;
        let (name, s) = candidates[pick];
        Ok((name.as_str(), s))
    }

    /// A direct-download URL from the read location of `placements` (Quay's default expiry is
    /// 600 s; the proxy-storage rewrite is `quay_ports::storage::redirect`).
    ///
    /// # Errors
    /// As [`Self::for_read`] and the driver's `direct_download_url`.
    pub async fn direct_download_url(
        &self,
        placements: &[String],
        path: &str,
        request: &DownloadUrlRequest,
    ) -> Result<Option<Url>, StorageError> {
        let (_, s) = self.for_read(placements, path)?;
        s.direct_download_url(path, request).await
    }

    /// Copies `path` from location `from` to location `to` (Quay's `copy_between`).
    ///
    /// # Errors
    /// `ReadOnly`; `Unsupported` for an unknown location name; the drivers' errors.
    pub async fn copy_between(&self, path: &str, from: &str, to: &str) -> Result<(), StorageError> {
        self.writable()?;
        let (Some(src), Some(dst)) = (self.location(from), self.location(to)) else {
            return Err(StorageError::Unsupported("copy between unknown locations"));
        };
        src.copy_to(&**dst, path).await
    }

    /// The storage-replication routine: makes `path`, placed in `placements`, present in every
    /// location of `targets` (the namespace's regions, or [`Self::default_locations`] when it
    /// has none). Returns the locations newly holding the blob, to be recorded as
    /// `imagestorageplacement` rows. A target already holding the object (a retried job) counts
    /// as newly placed without a copy.
    ///
    /// # Errors
    /// `ReadOnly`; `NotFound` when no placement is readable; copy failures (nothing is returned
    /// for a target whose copy failed, so the job can be retried).
    pub async fn replicate(
        &self,
        path: &str,
        placements: &[String],
        targets: &[String],
    ) -> Result<Vec<String>, StorageError> {
        self.writable()?;
        let (source, src) = self.for_read(placements, path)?;
        let mut placed = Vec::new();
        for target in targets.iter().filter(|t| !placements.contains(t)) {
            let Some(dst) = self.location(target) else {
                return Err(StorageError::Unsupported(
                    "replication to an unknown location",
                ));
            };
            if dst.stat(path).await?.is_none() {
                tracing::debug!(storage.path = path, from = source, to = %target, "replicating blob");
                src.copy_to(&**dst, path).await?;
            }
            let want = src.stat(path).await?.map(|m| m.size);
            let got = dst.stat(path).await?.map(|m| m.size);
            if got.is_none() || got != want {
                return Err(StorageError::backend(
                    "replicate",
                    path,
                    std::io::Error::other(format!("copy to {target} did not arrive intact")),
                ));
            }
            placed.push(target.clone());
        }
        Ok(placed)
    }
}

impl StorageLocations for DistributedStorage {
    fn for_read(&self, placements: &[String]) -> Option<(String, Arc<dyn BlobStorage>)> {
        DistributedStorage::for_read(self, placements, "")
            .ok()
            .map(|(name, s)| (name.to_owned(), Arc::clone(s)))
    }
}
