//! See the crate README.
#![doc = include_str!("../README.md")]

pub mod aes_cbc;
pub mod b64;
pub mod cdn;
pub mod civil;
pub mod digest;
pub mod error;
pub mod fernet;
pub mod field;
pub mod itsdangerous;
pub mod jwk;
pub mod jwt;
pub mod password;
pub mod provider;
pub mod pyjson;
pub mod random;
pub mod schema1;
pub mod secret_key;
pub mod smtp;
pub mod storage_signing;
pub mod tarsum;
pub mod tls;
pub mod upload_state;
pub mod x509;

pub use digest::OpenSslDigester;
pub use error::CryptoError;
pub use field::FieldEncrypterV0;
pub use jwt::RegistryTokens;
pub use password::BcryptHasher;
pub use provider::{FipsError, FipsStatus, enforce, status};
pub use random::OpenSslRandom;
