//! Pure rules of Quay.
#![doc = include_str!("../README.md")]

pub mod digest;
pub mod immutability;
pub mod manifest;
pub mod media_type;
pub mod name;
pub mod permission;
pub mod quota;
pub mod reference;
pub mod registry_access;
pub mod registry_error;
pub mod repository;
pub mod scope;
pub mod storage_path;
pub mod tag;
pub mod upload;
pub mod user;
