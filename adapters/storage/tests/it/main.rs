//! Integration tests of the storage drivers: the port's conformance suite against real servers.

mod local;
mod s3;
mod support;
