//! SHA-256 (FIPS 180-4) with the state layout of B-Con's `sha256.c`, so the state can be saved
//! and resumed. All word conversions name their byte order.

use quay_ports::crypto::DigestError;

use super::{ByteOrder, STATE_LEN};

const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// A SHA-256 whose state can be exported in Python `resumablesha256`'s layout.
#[derive(Debug, Clone)]
pub struct ResumableSha256 {
    data: [u8; 64],
    datalen: u32,
    bitlen: u64,
    state: [u32; 8],
}

impl Default for ResumableSha256 {
    fn default() -> Self {
        Self::new()
    }
}

/// The SHA-256 compression function over whole blocks: `sha2`'s, which picks the CPU's SHA
/// instructions (x86 SHA-NI, ARMv8 SHA2) at run time and falls back to portable code. Only the
/// compression is borrowed: the buffer, length and state stay ours, in B-Con's layout.
fn transform(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    sha2::block_api::compress256(state, blocks);
}

fn put_u32(out: &mut [u8], v: u32, order: ByteOrder) {
    out.copy_from_slice(&match order {
        ByteOrder::Little => v.to_le_bytes(),
        ByteOrder::Big => v.to_be_bytes(),
    });
}

fn get_u32(b: &[u8], order: ByteOrder) -> u32 {
    let a = [b[0], b[1], b[2], b[3]];
    match order {
        ByteOrder::Little => u32::from_le_bytes(a),
        ByteOrder::Big => u32::from_be_bytes(a),
    }
}

impl ResumableSha256 {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self {
            data: [0; 64],
            datalen: 0,
            bitlen: 0,
            state: H0,
        }
    }

    /// Feeds bytes: tops up the buffered partial block, compresses every whole block straight
    /// from `input`, and buffers the tail (as B-Con's byte loop would leave it).
    pub fn update(&mut self, mut input: &[u8]) {
        let buffered = self.datalen as usize;
        if buffered > 0 {
            let take = (64 - buffered).min(input.len());
            self.data[buffered..buffered + take].copy_from_slice(&input[..take]);
            input = &input[take..];
            if buffered + take < 64 {
                self.datalen = (buffered + take) as u32;
                return;
            }
            transform(&mut self.state, std::slice::from_ref(&self.data));
            self.bitlen = self.bitlen.wrapping_add(512);
            self.datalen = 0;
        }
        let (blocks, tail) = input.as_chunks::<64>();
        if let Some(last) = blocks.last() {
            transform(&mut self.state, blocks);
            self.bitlen = self
                .bitlen
                .wrapping_add((blocks.len() as u64).wrapping_mul(512));
            // The byte loop leaves the last block in the buffer behind the tail; so do we, as
            // the exported struct carries all 64 bytes.
            self.data = *last;
        }
        self.data[..tail.len()].copy_from_slice(tail);
        self.datalen = tail.len() as u32;
    }

    /// The digest of everything fed so far (the hasher itself is unchanged).
    pub fn finish(&self) -> [u8; 32] {
        let mut state = self.state;
        let mut block = self.data;
        let n = self.datalen as usize;
        block[n] = 0x80;
        block[n + 1..].fill(0);
        if n >= 56 {
            transform(&mut state, std::slice::from_ref(&block));
            block = [0; 64];
        }
        let bits = self.bitlen.wrapping_add(u64::from(self.datalen) * 8);
        block[56..].copy_from_slice(&bits.to_be_bytes());
        transform(&mut state, std::slice::from_ref(&block));
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// The 112-byte C struct in the given byte order.
    pub fn to_c_struct(&self, order: ByteOrder) -> [u8; STATE_LEN] {
        let mut out = [0u8; STATE_LEN];
        out[..64].copy_from_slice(&self.data);
        put_u32(&mut out[64..68], self.datalen, order);
        out[72..80].copy_from_slice(&match order {
            ByteOrder::Little => self.bitlen.to_le_bytes(),
            ByteOrder::Big => self.bitlen.to_be_bytes(),
        });
        for (i, word) in self.state.iter().enumerate() {
            put_u32(&mut out[80 + 4 * i..84 + 4 * i], *word, order);
        }
        out
    }

    /// Reads the C struct; refuses impossible states (`datalen >= 64`, `bitlen` not a whole
    /// number of blocks), which is also what a wrong byte order produces.
    ///
    /// # Errors
    /// `InvalidState`.
    pub fn from_c_struct(raw: &[u8; STATE_LEN], order: ByteOrder) -> Result<Self, DigestError> {
        let mut data = [0u8; 64];
        data.copy_from_slice(&raw[..64]);
        let datalen = get_u32(&raw[64..68], order);
        let mut bitlen_bytes = [0u8; 8];
        bitlen_bytes.copy_from_slice(&raw[72..80]);
        let bitlen = match order {
            ByteOrder::Little => u64::from_le_bytes(bitlen_bytes),
            ByteOrder::Big => u64::from_be_bytes(bitlen_bytes),
        };
        if datalen >= 64 || bitlen % 512 != 0 {
            return Err(DigestError::InvalidState);
        }
        let mut state = [0u32; 8];
        for (i, word) in state.iter_mut().enumerate() {
            *word = get_u32(&raw[80 + 4 * i..84 + 4 * i], order);
        }
        Ok(Self {
            data,
            datalen,
            bitlen,
            state,
        })
    }
}
