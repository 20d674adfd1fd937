//! The configured storage locations seen from the use cases: which one to read a blob from,
//! given the locations holding it (its `imagestorageplacement` rows).

use std::fmt::Debug;
use std::sync::Arc;

use super::BlobStorage;

/// Picks the location to read a placed blob from (Quay's `DistributedStorage`: the first
/// location of `DISTRIBUTED_STORAGE_PREFERENCE` among the placements, else one of them).
pub trait StorageLocations: Send + Sync + Debug {
    /// The name and storage of the location to read a blob placed in `placements` from, or
    /// `None` when no placement names a configured location.
    fn for_read(&self, placements: &[String]) -> Option<(String, Arc<dyn BlobStorage>)>;
}
