//! Integration tests of quay-fips: the crypto vectors (public set plus every file in
//! `QUAY_CRYPTO_VECTORS_DIR`) and the FIPS-mode checks.

mod fips_mode;
mod robustness;
mod upload_state;
mod vectors;
