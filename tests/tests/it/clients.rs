//! Real registry clients against the real `quay` binary (mirror preset, SQLite, local storage,
//! plain HTTP, token auth): skopeo copies an OCI image and a multi-arch index in and out with
//! digests unchanged, podman (root, own storage root, no systemd) pushes and pulls, and the
//! `oci-client` crate does a push/pull round trip. Every test image is built on disk here; no
//! test touches a network registry.
//!
//! The clients come from Debian (`cargo xtask ci` installs them through
//! `xtask/src/clients.rs`); a missing client fails the test. The same scenarios run against
//! Debian's `docker-registry` (distribution) as a smoke run of the harness itself; that run is
//! ignored by default because it tests a peer, not our code: `cargo xtask bench clients` runs it.

mod layout;
mod oci;
mod podman;
mod skopeo;
mod target;

use target::Target;

/// Fails loudly when a client is not installed.
pub fn require_tool(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()));
    assert!(
        found,
        "`{tool}` is not installed: run `cargo xtask ci` (it installs skopeo, podman and \
         docker-registry from Debian) or `apt-get install -y skopeo podman docker-registry`"
    );
}

async fn quay(dir: &std::path::Path) -> Target {
    Target::quay(dir).await
}

#[tokio::test]
async fn skopeo_copies_an_oci_image_in_and_out() {
    let dir = tempfile::tempdir().unwrap();
    let target = quay(dir.path()).await;
    skopeo::image(&target, dir.path());
    target.stop();
}

#[tokio::test]
async fn skopeo_copies_a_multi_arch_index_with_all() {
    let dir = tempfile::tempdir().unwrap();
    let target = quay(dir.path()).await;
    skopeo::index(&target, dir.path());
    target.stop();
}

#[tokio::test]
async fn podman_pushes_and_pulls_back() {
    let dir = tempfile::tempdir().unwrap();
    let target = quay(dir.path()).await;
    podman::round_trip(&target, dir.path());
    target.stop();
}

#[tokio::test]
async fn oci_client_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let target = quay(dir.path()).await;
    oci::round_trip(&target, dir.path()).await;
    target.stop();
}

/// Every scenario against Debian's distribution registry: checks the harness, not quay.
#[tokio::test]
#[ignore = "tests the peer registry, not quay: run by `cargo xtask bench clients`"]
async fn peer_distribution_smoke() {
    let dir = tempfile::tempdir().unwrap();
    let target = Target::distribution(dir.path()).await;
    for (name, scenario) in [
        (
            "skopeo-image",
            skopeo::image as fn(&Target, &std::path::Path),
        ),
        ("skopeo-index", skopeo::index),
        ("podman", podman::round_trip),
    ] {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        scenario(&target, &sub);
    }
    let sub = dir.path().join("oci-client");
    std::fs::create_dir_all(&sub).unwrap();
    oci::round_trip(&target, &sub).await;
    target.stop();
}
