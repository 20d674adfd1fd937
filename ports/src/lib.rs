//! Port traits of quay-rs: what the application needs from the outside world.
#![doc = include_str!("../README.md")]

pub mod clock;
pub mod crypto;
pub mod health;
pub mod pull_metrics;
pub mod queue;
pub mod storage;
pub mod store;
