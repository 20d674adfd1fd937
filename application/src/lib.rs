//! See the crate README.
#![doc = include_str!("../README.md")]
pub mod features;
pub mod health;
pub mod initial_user;
pub mod quota_notify;
pub mod registry;
pub mod registry_auth;
pub mod storage_proxy;
pub mod workers;
