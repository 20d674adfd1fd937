//! Python Quay's resumable upload hasher state (`BlobUpload.sha_state`), read and written
//! byte for byte so an upload started by Python can be finished here and the other way round.
//!
//! Python stores `base64(pickle.dumps(resumablesha256.sha256))`. The pickle (protocol 4, or 5
//! from Python 3.14) wraps the 112-byte C struct of B-Con's `sha256.c`:
//!
//! | offset | field |
//! |---|---|
//! | 0..64 | `data[64]` (buffered bytes; only `datalen` of them count) |
//! | 64..68 | `u32 datalen` |
//! | 68..72 | padding (zero) |
//! | 72..80 | `u64 bitlen` (bits of the completed 64-byte blocks) |
//! | 80..112 | `u32 state[8]` |
//!
//! The integers are in the **native byte order of the Python process** (little-endian on x86_64,
//! aarch64, ppc64le; big-endian on s390x), so every conversion here takes an explicit
//! [`ByteOrder`]; nothing depends on the byte order of the Rust host.
//!
//! OpenSSL cannot import a SHA-256 state, so continuing such a hash keeps its own buffer, length
//! and state ([`sha256`]) and borrows only the block compression from the `sha2` crate (which uses
//! the CPU's SHA instructions: ~1.5 GB/s here against ~0.1 GB/s for a portable byte loop; measure
//! with `cargo run --release -p quay-fips --example sha_state_speed`). That is SHA-256 outside the
//! FIPS module: [`PortableSha256Digester::new`] refuses when FIPS is enforced, and FIPS deployments
//! use `OpenSslDigester` (re-hash from storage at completion).

mod sha256;

use quay_ports::crypto::{DigestError, Digester, HashStream};

use crate::error::{CryptoError, Forbidden};

pub use sha256::ResumableSha256;

/// Byte order of the Python process that wrote (or will read) the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// x86_64, aarch64, ppc64le.
    Little,
    /// s390x.
    Big,
}

impl ByteOrder {
    /// The order of this host (right when Python runs on the same architecture).
    pub fn native() -> Self {
        if cfg!(target_endian = "big") {
            ByteOrder::Big
        } else {
            ByteOrder::Little
        }
    }
}

/// Size of the C struct.
pub const STATE_LEN: usize = 112;

const PICKLE_HEAD: &[u8] = b"\x8c\x0fresumablesha256\x94\x8c\x06sha256\x94\x93\x94)\x81\x94Cp";
const PICKLE_TAIL: &[u8] = b"\x94b.";

/// Wraps a C struct in Python's pickle (protocol 4, one frame).
pub fn to_pickle(state: &[u8; STATE_LEN]) -> Vec<u8> {
    let frame_len = (PICKLE_HEAD.len() + STATE_LEN + PICKLE_TAIL.len()) as u64;
    let mut out = vec![0x80, 0x04, 0x95];
    out.extend_from_slice(&frame_len.to_le_bytes()); // pickle frames are little-endian by spec
    out.extend_from_slice(PICKLE_HEAD);
    out.extend_from_slice(state);
    out.extend_from_slice(PICKLE_TAIL);
    out
}

/// Extracts the C struct from Python's pickle. Only this exact shape is accepted (no general
/// unpickling, so nothing in the column can run code).
///
/// # Errors
/// `InvalidState` for anything else.
pub fn from_pickle(pickle: &[u8]) -> Result<[u8; STATE_LEN], DigestError> {
    let rest = pickle
        .strip_prefix(b"\x80\x04\x95")
        .or_else(|| pickle.strip_prefix(b"\x80\x05\x95"))
        .ok_or(DigestError::InvalidState)?;
    let (len_bytes, body) = rest
        .split_first_chunk::<8>()
        .ok_or(DigestError::InvalidState)?;
    if u64::from_le_bytes(*len_bytes) != body.len() as u64 {
        return Err(DigestError::InvalidState);
    }
    let body = body
        .strip_prefix(PICKLE_HEAD)
        .ok_or(DigestError::InvalidState)?;
    let body = body
        .strip_suffix(PICKLE_TAIL)
        .ok_or(DigestError::InvalidState)?;
    body.try_into().map_err(|_| DigestError::InvalidState)
}

const PORTABLE_SHA256: Forbidden = Forbidden {
    feature: "resumable upload hashing compatible with Python Quay (blobupload.sha_state)",
    algorithm: "SHA-256 outside the FIPS module",
    config_key: "FEATURE_FIPS",
    remedy: "use OpenSslDigester; uploads are then re-hashed from storage when they complete",
};

/// A `Digester` whose streams export and resume Python's `sha_state` pickles.
#[derive(Debug, Clone, Copy)]
pub struct PortableSha256Digester {
    order: ByteOrder,
}

impl PortableSha256Digester {
    /// For a Python fleet of the given byte order.
    ///
    /// # Errors
    /// [`CryptoError::FipsForbidden`] when FIPS is enforced.
    pub fn new(order: ByteOrder) -> Result<Self, CryptoError> {
        if crate::provider::fips_enforced() {
            return Err(PORTABLE_SHA256.into());
        }
        Ok(Self { order })
    }
}

struct Stream {
    hasher: ResumableSha256,
    order: ByteOrder,
}

impl HashStream for Stream {
    fn update(&mut self, data: &[u8]) -> Result<(), DigestError> {
        self.hasher.update(data);
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<String, DigestError> {
        Ok(format!("sha256:{}", hex::encode(self.hasher.finish())))
    }

    fn export_state(&self) -> Option<Vec<u8>> {
        Some(to_pickle(&self.hasher.to_c_struct(self.order)))
    }
}

impl Digester for PortableSha256Digester {
    fn sha256_digest(&self, data: &[u8]) -> Result<String, DigestError> {
        crate::digest::sha256_digest(data).map_err(|e| DigestError::Backend(Box::new(e)))
    }

    fn sha256_stream(&self) -> Result<Box<dyn HashStream>, DigestError> {
        Ok(Box::new(Stream {
            hasher: ResumableSha256::new(),
            order: self.order,
        }))
    }

    fn resume_sha256(&self, state: &[u8]) -> Result<Box<dyn HashStream>, DigestError> {
        let raw = from_pickle(state)?;
        let hasher = ResumableSha256::from_c_struct(&raw, self.order)?;
        Ok(Box::new(Stream {
            hasher,
            order: self.order,
        }))
    }
}
