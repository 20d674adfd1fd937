//! Pure rules of Quay.
#![doc = include_str!("../README.md")]

pub mod name;
pub mod permission;
pub mod repository;
pub mod tag;
pub mod user;
