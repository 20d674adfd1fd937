//! Pure rules of Quay.
#![doc = include_str!("../README.md")]
