//! Integration tests of the storage drivers: the port's conformance suite against real servers.

mod azure;
mod cdn;
mod credentials;
mod distributed;
mod fault;
mod gcs;
mod local;
mod memory;
mod s3;
mod support;
mod swift;
mod swift_keystone;
