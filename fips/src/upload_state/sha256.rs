//! SHA-256 (FIPS 180-4) with the state layout of B-Con's `sha256.c`, so the state can be saved
//! and resumed. All word conversions name their byte order.

use quay_ports::crypto::DigestError;

use super::{ByteOrder, STATE_LEN};

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

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

fn transform(state: &mut [u32; 8], block: &[u8; 64]) {
    let mut w = [0u32; 64];
    for (i, chunk) in block.chunks_exact(4).enumerate() {
        w[i] = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
    }
    for i in 16..64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16]
            .wrapping_add(s0)
            .wrapping_add(w[i - 7])
            .wrapping_add(s1);
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for i in 0..64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(K[i])
            .wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
    }
    for (s, v) in state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *s = s.wrapping_add(v);
    }
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

    /// Feeds bytes.
    pub fn update(&mut self, input: &[u8]) {
        for byte in input {
            self.data[self.datalen as usize] = *byte;
            self.datalen += 1;
            if self.datalen == 64 {
                transform(&mut self.state, &self.data);
                self.bitlen = self.bitlen.wrapping_add(512);
                self.datalen = 0;
            }
        }
    }

    /// The digest of everything fed so far (the hasher itself is unchanged).
    pub fn finish(&self) -> [u8; 32] {
        let mut state = self.state;
        let mut block = self.data;
        let n = self.datalen as usize;
        block[n] = 0x80;
        block[n + 1..].fill(0);
        if n >= 56 {
            transform(&mut state, &block);
            block = [0; 64];
        }
        let bits = self.bitlen.wrapping_add(u64::from(self.datalen) * 8);
        block[56..].copy_from_slice(&bits.to_be_bytes());
        transform(&mut state, &block);
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
