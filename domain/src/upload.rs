//! Blob upload rules (Quay's `endpoints/v2/blob.py` and `data/registry_model/blobuploader.py`).
//!
//! Invariants:
//! - `Content-Range` is `<start>-<end>`, inclusive, ASCII digits, no `bytes ` prefix; absent means
//!   "append the whole body at the current offset";
//! - a chunk with a range must start exactly at the upload's current `byte_count`; any other start
//!   is answered 416 (the OCI rule; Quay skips an overlapping prefix and also takes `0-…` on a
//!   non-empty upload, see [`plan_chunk`]);
//! - the upload may never grow beyond `MAXIMUM_LAYER_SIZE`; a declared range is checked before any
//!   byte is read, the real total after the chunk is written;
//! - the uncompressed size is known only when the whole blob arrived as the first chunk at offset 0.

mod headers;
mod mount;
mod size;

pub use headers::{
    blob_location, manifest_location, range_after_chunk, range_after_start, range_for_status,
    range_not_satisfiable, upload_location,
};
pub use mount::{MountRequest, StartPlan};
pub use size::{DEFAULT_MAXIMUM_LAYER_SIZE, InvalidSize, LayerSizeLimit, parse_quay_size};

use crate::registry_error::{ErrorKind, RegistryError};

/// The range a chunk declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkRange {
    /// No `Content-Range`: the body is appended, whatever its length.
    Unbounded,
    /// `Content-Range: <start>-<end>`: `len` is `end - start + 1` and may be 0 (`end = start - 1`).
    Bounded {
        /// First byte offset.
        start: u64,
        /// Number of bytes declared.
        len: u64,
    },
}

/// Why an upload step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    /// `Content-Range` is malformed or its end is before its start minus one.
    #[error("Invalid range header")]
    InvalidRange,
    /// The chunk does not start at the current offset: answer 416 with
    /// [`range_not_satisfiable`]'s headers (no JSON body, as Quay).
    #[error("range not satisfiable: upload is at {byte_count}, chunk starts at {start}")]
    RangeNotSatisfiable {
        /// The upload's current size.
        byte_count: u64,
        /// The chunk's declared start.
        start: u64,
    },
    /// The blob would exceed `MAXIMUM_LAYER_SIZE`.
    #[error("{uploaded} is greater than maximum allowed size {max_allowed}")]
    TooLarge {
        /// Bytes the upload would hold.
        uploaded: u64,
        /// The limit.
        max_allowed: u64,
    },
    /// The final PUT has no `digest` query argument.
    #[error("Missing digest arg on monolithic upload")]
    MissingDigest,
    /// The uploaded content does not hash to the `digest` given (or that digest does not parse).
    #[error("provided digest did not match uploaded content")]
    DigestMismatch,
}

impl UploadError {
    /// The `/v2` answer. [`UploadError::RangeNotSatisfiable`] has none (it is a bare 416); this
    /// returns `None` for it.
    pub fn to_registry_error(&self) -> Option<RegistryError> {
        Some(match self {
            Self::InvalidRange => {
                RegistryError::new(ErrorKind::InvalidRequest).with_message("Invalid range header")
            }
            Self::RangeNotSatisfiable { .. } => return None,
            Self::TooLarge {
                uploaded,
                max_allowed,
            } => RegistryError::layer_too_large(*uploaded, *max_allowed),
            Self::MissingDigest => RegistryError::new(ErrorKind::BlobUploadInvalid)
                .with_detail_reason("Missing digest arg on monolithic upload"),
            Self::DigestMismatch => RegistryError::new(ErrorKind::BlobUploadInvalid),
        })
    }
}

/// Parses `Content-Range` (Quay's `^([0-9]+)-([0-9]+)$`).
///
/// # Errors
/// [`UploadError::InvalidRange`] when malformed, out of `u64` range, or `end < start - 1`.
pub fn parse_content_range(header: Option<&str>) -> Result<ChunkRange, UploadError> {
    let Some(value) = header else {
        return Ok(ChunkRange::Unbounded);
    };
    let (start, end) = value.split_once('-').ok_or(UploadError::InvalidRange)?;
    let number = |s: &str| -> Result<u64, UploadError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(UploadError::InvalidRange);
        }
        s.parse().map_err(|_| UploadError::InvalidRange)
    };
    let (start, end) = (number(start)?, number(end)?);
    let len = end
        .checked_add(1)
        .and_then(|e| e.checked_sub(start))
        .ok_or(UploadError::InvalidRange)?;
    Ok(ChunkRange::Bounded { start, len })
}

/// The state of an upload that the rules need (columns of Quay's `blobupload` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UploadProgress {
    /// Bytes stored so far.
    pub byte_count: u64,
    /// Chunks stored so far.
    pub chunk_count: u64,
    /// Uncompressed size, when known.
    pub uncompressed_byte_count: Option<u64>,
}

/// How to store one chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Offset at which the chunk's bytes go (always the current `byte_count`).
    pub offset: u64,
    /// Bytes the client declared, if it sent a range. `Some(0)` (`Content-Range: n-(n-1)`) means
    /// there is nothing to store: answer with the current progress unchanged, as Quay does.
    pub declared_len: Option<u64>,
    /// Whether to gunzip the stream on the fly to measure the uncompressed size (first chunk at
    /// offset 0).
    pub measure_uncompressed: bool,
}

/// Plans a chunk: checks its start and the declared size against the limit.
///
/// # Errors
/// [`UploadError::RangeNotSatisfiable`] when a declared start is not the current `byte_count`;
/// [`UploadError::TooLarge`] when `start + len` exceeds the limit.
pub fn plan_chunk(
    range: ChunkRange,
    progress: &UploadProgress,
    limit: LayerSizeLimit,
) -> Result<ChunkPlan, UploadError> {
    let declared_len = match range {
        ChunkRange::Unbounded => None,
        ChunkRange::Bounded { start, len } => {
            if start != progress.byte_count {
                return Err(UploadError::RangeNotSatisfiable {
                    byte_count: progress.byte_count,
                    start,
                });
            }
            limit.check(start.saturating_add(len))?;
            Some(len)
        }
    };
    Ok(ChunkPlan {
        offset: progress.byte_count,
        declared_len,
        measure_uncompressed: progress.byte_count == 0 && progress.chunk_count == 0,
    })
}

impl UploadProgress {
    /// The progress after `written` bytes of a chunk were stored; `measured_uncompressed` is the
    /// gunzipped size when the plan asked to measure it and the stream was valid gzip.
    ///
    /// # Errors
    /// [`UploadError::TooLarge`] when the new total exceeds the limit (the upload should then be
    /// cancelled, as Quay's `complete_when_uploaded` does for monolithic uploads).
    pub fn after_chunk(
        &self,
        written: u64,
        measured_uncompressed: Option<u64>,
        limit: LayerSizeLimit,
    ) -> Result<Self, UploadError> {
        let byte_count = self.byte_count.saturating_add(written);
        limit.check(byte_count)?;
        let uncompressed_byte_count = match measured_uncompressed {
            Some(n) if self.chunk_count == 0 => Some(n),
            _ if written > 0 => None,
            _ => self.uncompressed_byte_count,
        };
        Ok(Self {
            byte_count,
            chunk_count: self.chunk_count + 1,
            uncompressed_byte_count,
        })
    }
}

/// Checks the final PUT's `digest` argument and compares it with the computed digest (Quay's
/// `digests_equal`: both parsed, then compared as text).
///
/// # Errors
/// [`UploadError::MissingDigest`] when absent; [`UploadError::DigestMismatch`] when it does not
/// parse or differs.
pub fn verify_commit_digest(
    given: Option<&str>,
    computed: &crate::digest::Digest,
) -> Result<crate::digest::Digest, UploadError> {
    let given = given.ok_or(UploadError::MissingDigest)?;
    let parsed = crate::digest::Digest::parse(given).map_err(|_| UploadError::DigestMismatch)?;
    if &parsed != computed {
        return Err(UploadError::DigestMismatch);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests;
