use super::sha256::sha256;
use super::*;

const SCHEMA1: &[u8] =
    include_bytes!("../../../tests/fixtures/manifests/schema1_unsigned_hello.json");

#[test]
fn oci_hello_converts_to_the_captured_schema1() {
    // contract/registry/v2_manifest_get_no_accept.json: GET without Accept of an OCI manifest.
    let m = image(M::OciManifest, OCI_HELLO);
    let out = to_schema1(&m, CONFIG_HELLO, "testorg", "hello", "latest", &sha256)
        .unwrap()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(SCHEMA1)
    );
    assert_eq!(
        sha256(&out).as_str(),
        "sha256:f490e8127f9588a36f6abaa81f1bef7cf3dd756cd498c7954847b3856116460c"
    );
    // The Docker schema 2 twin of the image converts to the same document.
    let d = image(M::DockerSchema2, DOCKER_HELLO);
    assert_eq!(
        to_schema1(&d, CONFIG_HELLO, "testorg", "hello", "latest", &sha256)
            .unwrap()
            .unwrap(),
        out
    );
}

#[test]
fn conversion_edge_cases() {
    let artifact = image(M::OciManifest, OCI_ARTIFACT);
    assert_eq!(
        to_schema1(&artifact, b"{}", "a", "b", "c", &sha256),
        Ok(None)
    );
    let m = image(M::OciManifest, OCI_HELLO);
    assert!(
        to_schema1(&m, b"{}", "a", "b", "c", &sha256)
            .unwrap_err()
            .to_string()
            .starts_with("Size of config")
    );
    // No history: layers become v1 layers; the last gets the synthesized history.
    let mut config = br#"{"created":"2020-01-01T00:00:00Z","config":{"Cmd":["sh"]},"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    config.resize(331, b' ');
    let out = to_schema1(&m, &config, "", "busybox", "t", &sha256)
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["name"], "busybox");
    let v1: serde_json::Value =
        serde_json::from_str(doc["history"][0]["v1Compatibility"].as_str().unwrap()).unwrap();
    assert_eq!(v1["container_config"]["Cmd"], serde_json::json!([["sh"]]));
    assert_eq!(v1["Size"], 127);
    assert!(v1.get("rootfs").is_none());
    // Less history than layers.
    let mut short = br#"{"history":[],"rootfs":{"type":"layers"}}"#.to_vec();
    short.resize(331, b' ');
    let d = image(M::DockerSchema2, DOCKER_HELLO);
    assert_eq!(
        to_schema1(&d, &short, "a", "b", "c", &sha256)
            .unwrap_err()
            .to_string(),
        "Found less history than layer blobs"
    );
}

#[test]
fn empty_layers_use_the_docker_empty_blob() {
    let m = image(M::OciManifest, OCI_HELLO);
    let mut config = br#"{"architecture":"amd64","os":"linux","history":[{"created_by":"ENV x=1","empty_layer":true},{"created_by":"ADD f"}],"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    config.resize(331, b' ');
    let out = to_schema1(&m, &config, "a", "b", "c", &sha256)
        .unwrap()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["fsLayers"][0]["blobSum"], LAYER);
    assert_eq!(doc["fsLayers"][1]["blobSum"], mt::EMPTY_LAYER_BLOB_DIGEST);
    let base: serde_json::Value =
        serde_json::from_str(doc["history"][1]["v1Compatibility"].as_str().unwrap()).unwrap();
    assert_eq!(base["throwaway"], true);
    assert_eq!(base["Size"], 32);
    let leaf: serde_json::Value =
        serde_json::from_str(doc["history"][0]["v1Compatibility"].as_str().unwrap()).unwrap();
    assert_eq!(leaf["parent"], base["id"]);
}
